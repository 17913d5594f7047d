/**
 * CMS / PKCS#7 (RFC 5652): SignedData (§5), EnvelopedData (§6), EncryptedData (§8), AuthenticatedData (§9),
 * AuthEnvelopedData (RFC 5083), with the recipient kinds of RFC 5652 §6.2 plus KEMRecipientInfo (RFC 9629).
 * DER and BER (indefinite lengths, as `openssl cms -stream` writes), PEM (`PKCS7`, `CMS`, `PKCS #7 SIGNED DATA`).
 *
 * `parseCms` is the reusable entry point: JAR signature blocks, Authenticode, kernel-module signatures and APK v1
 * signatures are all SignedData and go through it with their own `format`.
 * @module
 */
import { DerNode, parseDer, readNode, TAG } from '../pkix/der.js';
import { catalogue, type Described } from '../catalogue/index.js';
import { ParseError, rethrowUnlessParseError } from '../errors.js';
import type { DetectContext, ErrorEntry, Finding } from '../model.js';
import { findPemBlocks } from '../pkix/pem.js';
import {
  describeSignatureAlgorithm,
  curveOfPoint,
  ecCurveFromParams,
  readAlgorithmIdentifier,
  type AlgorithmIdentifier,
  type KeyInfo,
} from '../pkix/algorithm.js';
import { certificateFinding, parseCertificate, readName, resolveIssuerKeys, sha256Hex, type ParsedCertificate } from '../pkix/certificate.js';
import { describeEncryptionScheme } from './keys.js';
import { rsaFromOctets, type ParameterFrom } from '../catalogue/infer.js';
import type { Detector, DetectResult } from './types.js';
import { readKdfParams } from '../pkix/pkcs8.js';
import {
  CONTENT_TYPE,
  attributeValues,
  readContentInfo,
  readSignedData,
  readSignerIdentifier,
  readSignerInfo,
  type CertificateReference,
} from '../pkix/cms.js';

const ATTR = {
  signingTime: '1.2.840.113549.1.9.5',
  countersignature: '1.2.840.113549.1.9.6',
  /** RFC 3161 Appendix A: id-aa-timeStampToken, an unsigned attribute holding a SignedData over TSTInfo. */
  timeStampToken: '1.2.840.113549.1.9.16.2.14',
  /** Authenticode: a nested SignedData (dual signing) and an RFC 3161 timestamp in Microsoft's attribute. */
  msNestedSignature: '1.3.6.1.4.1.311.2.4.1',
  msTimestamp: '1.3.6.1.4.1.311.3.3.1',
} as const;

/** RFC 9629 §3: id-ori-kem, the OtherRecipientInfo type of KEMRecipientInfo. */
const ORI_KEM = '1.2.840.113549.1.9.16.13.3';
/** RFC 3211 §2.3: the PWRI key-encryption algorithm; its parameter is the inner cipher. */
const PWRI_KEK = '1.2.840.113549.1.9.16.3.9';

/** SignedData nested inside SignedData (countersignatures, timestamp tokens, nested Authenticode) stops here. */
const MAX_CMS_NESTING = 4;
/** SignerInfos, certificates and recipients read from one CMS object. */
const MAX_CMS_ITEMS = 1_000;

export interface CmsOptions {
  /** Format id of the findings (`cms`, `jar`, `authenticode`, `kmod` …). Default `cms`. */
  format?: string;
  /**
   * Report every finding at this offset instead of the node's own (PEM: the offset of the BEGIN line, since the
   * DER lives in decoded base64). Leave unset for DER so certificate offsets equal the x509 carver's.
   */
  fixedOffset?: number;
  /** Extra certificates known to the caller (e.g. a PE's other signatures) used to size signer and recipient keys. */
  extraCertificates?: ParsedCertificate[];
}

/**
 * Every finding carries `fingerprint`: the SHA-256 of its structure's DER (Certificate, SignerInfo, RecipientInfo,
 * EncryptedContentInfo), like a certificate fingerprint. It identifies the object for de-duplication across windows
 * and detectors, and keeps apart distinct objects that share one offset (all findings of a PEM-armoured message).
 */
export interface CmsResult {
  /** Outer content type OID. */
  contentType: string;
  /** Certificates, signatures (one per SignerInfo, nested ones too) and encrypted-data findings. */
  findings: Finding[];
  /** Parts that did not parse while the rest did; messages name the structure, not the artifact. */
  errors: ErrorEntry[];
  /** Every certificate parsed from the object's certificate sets. */
  certificates: ParsedCertificate[];
}

/**
 * Parse a CMS ContentInfo (DER or BER).
 *
 * `input` is either the bytes of one ContentInfo (trailing bytes are ignored: signature blocks are often padded) or a
 * DerNode already located by the caller; offsets in the findings are relative to the buffer the node lives in.
 * Throws ParseError when the outer structure is not CMS; sub-structures that fail become `errors`.
 */
export function parseCms(input: Uint8Array | DerNode, options: CmsOptions = {}): CmsResult {
  const node = input instanceof DerNode ? input : readNode(input, 0, input.length);
  const walker = new CmsWalker(options);
  const contentType = walker.contentInfo(node, '', 0);
  return { contentType, findings: walker.findings, errors: walker.errors, certificates: walker.certs };
}

class CmsWalker {
  readonly findings: Finding[] = [];
  readonly errors: ErrorEntry[] = [];
  readonly certs: ParsedCertificate[] = [];
  private readonly format: string;

  constructor(private readonly options: CmsOptions) {
    this.format = options.format ?? 'cms';
    this.certs.push(...(options.extraCertificates ?? []));
  }

  private at(node: DerNode): number {
    return this.options.fixedOffset ?? node.start;
  }

  private problem(node: DerNode, what: string, e: unknown): void {
    rethrowUnlessParseError(e);
    this.errors.push({
      code: e.code === 'truncated' ? 'truncated' : 'malformed',
      message: `${what} at offset ${node.start}: ${e.message}`,
      offset: this.at(node),
    });
  }

  /** ContentInfo ::= SEQUENCE { contentType OBJECT IDENTIFIER, content [0] EXPLICIT ANY OPTIONAL } (RFC 5652 §3) */
  contentInfo(node: DerNode, path: string, nesting: number): string {
    const { contentType, content } = readContentInfo(node);
    if (!content) return contentType; // degenerate: type only
    switch (contentType) {
      case CONTENT_TYPE.signedData:
        this.signedData(content, path, nesting);
        break;
      case CONTENT_TYPE.envelopedData:
        this.envelopedData(content, path, 'EnvelopedData');
        break;
      case CONTENT_TYPE.authEnvelopedData:
        this.envelopedData(content, path, 'AuthEnvelopedData');
        break;
      case CONTENT_TYPE.authenticatedData:
        this.authenticatedData(content, path);
        break;
      case CONTENT_TYPE.encryptedData:
        this.encryptedData(content, path);
        break;
      case CONTENT_TYPE.signedAndEnvelopedData:
        // PKCS#7 v1.5 §11: recipients, then encrypted content, then signers; rare and obsolete, read the recipients.
        this.envelopedData(content, path, 'SignedAndEnvelopedData');
        break;
      case CONTENT_TYPE.data:
      case CONTENT_TYPE.digestedData:
      case CONTENT_TYPE.compressedData:
        break;
      default:
        throw new ParseError(`ContentInfo at offset ${node.start}: content type ${contentType} is not a CMS type`, node.start, 'unsupported');
    }
    return contentType;
  }

  /**
   * SignedData ::= SEQUENCE { version, digestAlgorithms SET, encapContentInfo, certificates [0] IMPLICIT OPTIONAL,
   *   crls [1] IMPLICIT OPTIONAL, signerInfos SET OF SignerInfo } (RFC 5652 §5.1)
   */
  private signedData(node: DerNode, path: string, nesting: number): void {
    const { eContentType, eContent, certificates, signerInfos } = readSignedData(node);
    if (certificates) this.certificateSet(certificates, `${path}certificates`);
    // RFC 3161 §2.4.2: a timestamp token's eContent is TSTInfo; its genTime is when the token was made.
    let genTime: string | undefined;
    if (eContentType === CONTENT_TYPE.tstInfo && eContent) genTime = this.tstGenTime(eContent);

    const infos = signerInfos.children();
    if (infos.length > MAX_CMS_ITEMS) throw new ParseError(`SignedData at offset ${node.start}: more than ${MAX_CMS_ITEMS} signers`, node.start);
    infos.forEach((si, i) => {
      try {
        this.signerInfo(si, `${path}signerInfos[${i}]`, nesting, {
          detached: !eContent,
          eContentType,
          ...(genTime ? { timestamp: genTime } : {}),
        });
      } catch (e) {
        this.problem(si, `SignerInfo ${i}`, e);
      }
    });
  }

  /** CertificateSet ::= SET OF CertificateChoices; only the plain Certificate choice (a SEQUENCE) names keys. */
  private certificateSet(set: DerNode, path: string): void {
    const items = set.children();
    if (items.length > MAX_CMS_ITEMS) throw new ParseError(`certificate set at offset ${set.start}: more than ${MAX_CMS_ITEMS} entries`, set.start);
    const parsed: { cert: ParsedCertificate; node: DerNode; i: number }[] = [];
    items.forEach((c, i) => {
      if (c.tag !== TAG.SEQUENCE) return; // [0] extendedCertificate, [1]/[2] attribute certificates, [3] other
      try {
        parsed.push({ cert: parseCertificate(c), node: c, i });
      } catch (e) {
        this.problem(c, `certificate ${i}`, e);
      }
    });
    resolveIssuerKeys([...this.certs, ...parsed.map((p) => p.cert)]);
    for (const { cert, node, i } of parsed) {
      this.certs.push(cert);
      this.findings.push(certificateFinding(cert, this.format, this.at(node), `${path}[${i}]`));
    }
  }

  /**
   * SignerInfo ::= SEQUENCE { version, sid, digestAlgorithm, signedAttrs [0] IMPLICIT OPTIONAL, signatureAlgorithm,
   *   signature OCTET STRING, unsignedAttrs [1] IMPLICIT OPTIONAL } (RFC 5652 §5.3)
   */
  private signerInfo(
    node: DerNode,
    path: string,
    nesting: number,
    facts: { detached?: boolean; eContentType?: string; timestamp?: string; countersignature?: boolean },
  ): void {
    const { sid, digestAlgorithm: digestAlg, signedAttrs, signatureAlgorithm: sigAlg, signature, unsignedAttrs } = readSignerInfo(node);

    const signer = this.findCertificate(sid);
    let described: Described = describeSignatureAlgorithm(sigAlg, signer?.key);
    let parameterFrom: ParameterFrom | undefined = signer && described.algorithm.parameterKnown !== false ? 'certificate' : undefined;
    if (described.algorithm.family === 'RSA' && described.algorithm.parameterKnown === false) {
      // No signer certificate: an RSA signature is exactly as long as the modulus (RFC 8017 §8.2.1).
      const inferred = rsaFromOctets(catalogue().oid(sigAlg.oid), signature.length, 'signature-length', { ...described.algorithm });
      described = inferred;
      parameterFrom = inferred.parameterFrom;
    }
    const digest = catalogue().hashName(digestAlg.oid);
    // rsaEncryption / id-ecPublicKey / Ed25519 / ML-DSA OIDs name no hash: the digestAlgorithm is the one that binds the content.
    if (!described.algorithm.hash && digest) described.algorithm.hash = digest;

    const finding: Finding = {
      kind: 'signature',
      format: this.format,
      algorithm: described.algorithm,
      quantum: described.quantum,
      location: { offset: this.at(node), path },
      fingerprint: sha256Hex(node.encoded),
      details: {
        digestAlgorithm: digest ?? digestAlg.oid,
        signerIdentifier: describeSid(sid),
        signerCertificateIncluded: !!signer,
        ...(parameterFrom ? { parameterFrom } : {}),
        signedAttributes: !!signedAttrs,
        ...(facts.detached !== undefined ? { detached: facts.detached } : {}),
        ...(facts.eContentType ? { contentType: facts.eContentType } : {}),
        ...(facts.timestamp ? { timestampToken: true } : {}),
        ...(facts.countersignature ? { countersignature: true } : {}),
      },
    };
    if (signer) {
      finding.subject = signer.subject;
      finding.issuer = signer.issuer;
      finding.serial = signer.serial;
      finding.notAfter = signer.notAfter;
    }
    if (facts.timestamp) finding.created = facts.timestamp;
    if (signedAttrs) {
      const t = attributeValues(signedAttrs, ATTR.signingTime)[0]?.time();
      if (t) finding.created ??= t;
    }
    this.findings.push(finding);

    if (!unsignedAttrs || nesting >= MAX_CMS_NESTING) return;
    // Countersignatures (RFC 5652 §11.4) are bare SignerInfos over this signature.
    attributeValues(unsignedAttrs, ATTR.countersignature).forEach((cs, j) => {
      try {
        this.signerInfo(cs, `${path}.countersignature[${j}]`, nesting + 1, { countersignature: true });
      } catch (e) {
        this.problem(cs, 'countersignature', e);
      }
    });
    // Timestamp tokens and nested signatures are whole ContentInfos holding SignedData.
    for (const [oid, label] of [
      [ATTR.timeStampToken, 'timeStampToken'],
      [ATTR.msTimestamp, 'msTimestamp'],
      [ATTR.msNestedSignature, 'nestedSignature'],
    ] as const) {
      attributeValues(unsignedAttrs, oid).forEach((ci, j) => {
        try {
          this.contentInfo(ci, `${path}.${label}[${j}].`, nesting + 1);
        } catch (e) {
          this.problem(ci, label, e);
        }
      });
    }
  }

  /** TSTInfo ::= SEQUENCE { version, policy, messageImprint, serialNumber, genTime GeneralizedTime, … } */
  private tstGenTime(eContent: DerNode): string | undefined {
    try {
      const octets = eContent.inner();
      if (octets.tag !== TAG.OCTET_STRING) return undefined; // BER constructed OCTET STRING: not worth reassembling
      const tst = octets.inner().children();
      return tst.find((k) => k.tag === TAG.GeneralizedTime)?.time();
    } catch (e) {
      rethrowUnlessParseError(e);
      return undefined;
    }
  }

  /** sid / rid: IssuerAndSerialNumber (SEQUENCE) or [0] SubjectKeyIdentifier. */
  private findCertificate(id: DerNode): ParsedCertificate | undefined {
    const ref = certificateReference(id);
    if (!ref) return undefined;
    if ('subjectKeyIdentifier' in ref) {
      const ski = Buffer.from(ref.subjectKeyIdentifier).toString('hex');
      return this.certs.find((c) => c.subjectKeyId === ski);
    }
    const issuerBytes = ref.issuer.encoded;
    return this.certs.find((c) => Buffer.compare(c.serialDer, ref.serialNumber.content) === 0 && Buffer.compare(c.issuerDer, issuerBytes) === 0);
  }

  /**
   * EnvelopedData ::= SEQUENCE { version, originatorInfo [0] IMPLICIT OPTIONAL, recipientInfos SET,
   *   encryptedContentInfo, unprotectedAttrs [1] IMPLICIT OPTIONAL } (RFC 5652 §6.1); AuthEnvelopedData (RFC 5083 §2.1)
   *   has the same head with authEncryptedContentInfo.
   */
  private envelopedData(node: DerNode, path: string, what: string): void {
    node.expect(TAG.SEQUENCE, what);
    const kids = node.children();
    let i = 1;
    const originator = kids[i]?.isContext(0) ? kids[i++] : undefined;
    if (originator) {
      // OriginatorInfo ::= SEQUENCE { certs [0] IMPLICIT CertificateSet OPTIONAL, crls [1] … }, here IMPLICIT [0].
      const certs = originator.children().find((k) => k.isContext(0));
      if (certs) this.certificateSet(certs, `${path}originatorInfo.certs`);
    }
    const recipients = kids[i++];
    const encrypted = kids[i];
    if (!recipients || recipients.tag !== TAG.SET || !encrypted) throw new ParseError(`${what} at offset ${node.start} is missing fields`, node.start);
    if (what === 'SignedAndEnvelopedData') {
      // version, recipientInfos, digestAlgorithms, encryptedContentInfo, … (no originatorInfo)
      this.recipientInfos(recipients, path);
      const eci = kids[3];
      if (eci?.tag === TAG.SEQUENCE) this.encryptedContentInfo(eci, path, what);
      return;
    }
    this.recipientInfos(recipients, path);
    this.encryptedContentInfo(encrypted, path, what);
  }

  /** AuthenticatedData (RFC 5652 §9.1): a MAC keyed per recipient; the recipients are what matters here. */
  private authenticatedData(node: DerNode, path: string): void {
    node.expect(TAG.SEQUENCE, 'AuthenticatedData');
    const kids = node.children();
    const recipients = kids.find((k, i) => i > 0 && k.tag === TAG.SET);
    if (!recipients) throw new ParseError(`AuthenticatedData at offset ${node.start} has no recipientInfos`, node.start);
    this.recipientInfos(recipients, path);
  }

  /** EncryptedData ::= SEQUENCE { version, encryptedContentInfo, unprotectedAttrs [1] IMPLICIT OPTIONAL } (RFC 5652 §8) */
  private encryptedData(node: DerNode, path: string): void {
    node.expect(TAG.SEQUENCE, 'EncryptedData');
    const eci = node.child(1, 'encryptedContentInfo');
    this.encryptedContentInfo(eci, path, 'EncryptedData');
  }

  /** EncryptedContentInfo ::= SEQUENCE { contentType, contentEncryptionAlgorithm, encryptedContent [0] IMPLICIT OPTIONAL } */
  private encryptedContentInfo(node: DerNode, path: string, what: string): void {
    node.expect(TAG.SEQUENCE, 'EncryptedContentInfo');
    const kids = node.children();
    if (kids.length < 2) throw new ParseError(`EncryptedContentInfo at offset ${node.start} is missing fields`, node.start);
    const alg = readAlgorithmIdentifier(kids[1]);
    const { described, details } = describeEncryptionScheme(alg);
    this.findings.push({
      kind: 'encrypted-data',
      format: this.format,
      algorithm: described.algorithm,
      quantum: described.quantum,
      location: { offset: this.at(kids[1]), path: `${path}encryptedContentInfo` },
      fingerprint: sha256Hex(node.encoded),
      details: {
        structure: what,
        role: 'content-encryption',
        contentType: kids[0].tag === TAG.OID ? kids[0].oid() : undefined,
        detached: !kids[2],
        ...details,
      },
    });
  }

  private recipientInfos(set: DerNode, path: string): void {
    const items = set.children();
    if (items.length > MAX_CMS_ITEMS) throw new ParseError(`recipientInfos at offset ${set.start}: more than ${MAX_CMS_ITEMS}`, set.start);
    items.forEach((ri, i) => {
      try {
        this.recipientInfo(ri, `${path}recipientInfos[${i}]`);
      } catch (e) {
        this.problem(ri, `RecipientInfo ${i}`, e);
      }
    });
  }

  /** RecipientInfo ::= CHOICE { ktri SEQUENCE, kari [1], kekri [2], pwri [3], ori [4] } (RFC 5652 §6.2) */
  private recipientInfo(ri: DerNode, path: string): void {
    const cat = catalogue();
    const push = (d: Described, recipient: string, details: Record<string, unknown>, extra: Partial<Finding> = {}) =>
      this.findings.push({
        kind: 'encrypted-data',
        format: this.format,
        algorithm: d.algorithm,
        quantum: d.quantum,
        location: { offset: this.at(ri), path },
        fingerprint: sha256Hex(ri.encoded),
        ...extra,
        details: { recipient, ...details },
      });

    if (ri.tag === TAG.SEQUENCE) {
      // KeyTransRecipientInfo ::= SEQUENCE { version, rid, keyEncryptionAlgorithm, encryptedKey }
      const [, rid, algNode, encryptedKey] = ri.children();
      if (!rid || !algNode) throw new ParseError('KeyTransRecipientInfo is missing fields', ri.start);
      const alg = readAlgorithmIdentifier(algNode);
      const cert = this.findCertificate(rid);
      let d: Described = describeKeyTransport(alg, cert?.key);
      let parameterFrom: ParameterFrom | undefined = cert && d.algorithm.parameterKnown !== false ? 'certificate' : undefined;
      if (d.algorithm.family === 'RSA' && d.algorithm.parameterKnown === false && encryptedKey?.tag === TAG.OCTET_STRING) {
        // An RSA key-transport ciphertext is exactly as long as the modulus (RFC 8017 §7.1.1, §7.2.1).
        // The family entry, not rsaEncryption's (whose catalogue row names the id "RSA" and so would ignore the size).
        const { id: _id, family: _family, parameterKnown: _unknown, ...named } = d.algorithm;
        const inferred = rsaFromOctets({ family: 'RSA' }, encryptedKey.length, 'ciphertext-length', named);
        d = inferred;
        parameterFrom = inferred.parameterFrom;
      }
      push(
        d,
        'KeyTransRecipientInfo',
        { role: 'key-transport', recipientIdentifier: describeSid(rid), recipientCertificateIncluded: !!cert, ...(parameterFrom ? { parameterFrom } : {}) },
        cert ? { subject: cert.subject } : {},
      );
      return;
    }
    if (ri.isContext(1)) {
      // KeyAgreeRecipientInfo ::= SEQUENCE { version, originator [0] EXPLICIT, ukm [1] EXPLICIT OPTIONAL,
      //   keyEncryptionAlgorithm, recipientEncryptedKeys } (RFC 5652 §6.2.2; ECDH per RFC 5753)
      const kids = ri.children();
      const originator = kids.find((k) => k.isContext(0));
      const algNode = kids.find((k, i) => i > 0 && k.tag === TAG.SEQUENCE);
      if (!originator || !algNode) throw new ParseError('KeyAgreeRecipientInfo is missing fields', ri.start);
      const alg = readAlgorithmIdentifier(algNode);
      const entry = cat.oid(alg.oid);
      const wrap = alg.params?.tag === TAG.SEQUENCE ? readAlgorithmIdentifier(alg.params) : undefined;
      const orig = originator.inner();
      // OriginatorPublicKey ::= SEQUENCE { algorithm, publicKey BIT STRING }, IMPLICIT [1]: an SPKI in all but tag;
      // the other choices name the originator's certificate, which may be in the bag.
      const key = orig.isContext(1) ? describeOriginatorKey(orig) : this.findCertificate(orig)?.key;
      const family = entry?.family === 'DH' || key?.algorithm.family === 'DH' ? 'DH' : 'ECDH';
      let d: Described;
      if (key?.curve) d = cat.forKey('ECDH', key.curve, { oid: alg.oid, ...(entry?.name ? { name: entry.name } : {}) });
      else if (key?.algorithm.id === 'X25519' || key?.algorithm.id === 'X448') d = cat.byId(key.algorithm.id, { oid: alg.oid });
      else if (family === 'DH' && key?.bits) d = cat.forKey('DH', key.bits, { oid: alg.oid });
      else d = cat.resolve(entry ?? cat.oid('1.3.132.1.12'), {}, { oid: alg.oid });
      if (entry?.hash) d.algorithm.hash = entry.hash; // the X9.63 KDF's hash
      push(d, 'KeyAgreeRecipientInfo', {
        role: 'key-agreement',
        keyEncryptionAlgorithm: entry?.name ?? alg.oid,
        ...(wrap ? { keyWrap: describeWrap(wrap) } : {}),
      });
      return;
    }
    if (ri.isContext(2)) {
      // KEKRecipientInfo ::= SEQUENCE { version, kekid, keyEncryptionAlgorithm, encryptedKey }: a pre-shared key.
      const [, , algNode] = ri.children();
      if (!algNode) throw new ParseError('KEKRecipientInfo is missing fields', ri.start);
      const alg = readAlgorithmIdentifier(algNode);
      push(cat.resolve(cat.oid(alg.oid), {}, { oid: alg.oid }), 'KEKRecipientInfo', { role: 'key-wrap' });
      return;
    }
    if (ri.isContext(3)) {
      // PasswordRecipientInfo ::= SEQUENCE { version, keyDerivationAlgorithm [0] OPTIONAL, keyEncryptionAlgorithm,
      //   encryptedKey } (RFC 5652 §6.2.4, RFC 3211)
      const kids = ri.children();
      const kdfNode = kids.find((k) => k.isContext(0));
      const algNode = kids.find((k, i) => i > 0 && k.tag === TAG.SEQUENCE);
      if (!algNode) throw new ParseError('PasswordRecipientInfo is missing fields', ri.start);
      const alg = readAlgorithmIdentifier(algNode);
      const inner = alg.oid === PWRI_KEK && alg.params?.tag === TAG.SEQUENCE ? readAlgorithmIdentifier(alg.params) : alg;
      const details: Record<string, unknown> = { role: 'password' };
      if (kdfNode) {
        // [0] IMPLICIT AlgorithmIdentifier: same contents as a SEQUENCE; reuse the PBES2 reader on a synthetic scheme.
        const kids0 = kdfNode.children();
        const kdf: AlgorithmIdentifier = { oid: kids0[0].oid(), params: kids0[1] };
        Object.assign(details, pbkdfDetails(kdf));
      }
      push(cat.resolve(cat.oid(inner.oid), {}, { oid: inner.oid }), 'PasswordRecipientInfo', details);
      return;
    }
    if (ri.isContext(4)) {
      // OtherRecipientInfo ::= SEQUENCE { oriType, oriValue }; RFC 9629 KEMRecipientInfo ::= SEQUENCE { version, rid,
      //   kem KEMAlgorithmIdentifier, kemct, kdf, kekLength, ukm [0] OPTIONAL, wrap, encryptedKey }
      const [typeNode, value] = ri.children();
      const oriType = typeNode?.oid();
      if (oriType !== ORI_KEM || value?.tag !== TAG.SEQUENCE) {
        push(cat.resolve(undefined, {}, { oid: oriType ?? 'unknown' }), 'OtherRecipientInfo', { role: 'other', oriType });
        return;
      }
      const k = value.children();
      const kem = readAlgorithmIdentifier(k[2]);
      const kdf = k[4]?.tag === TAG.SEQUENCE ? readAlgorithmIdentifier(k[4]) : undefined;
      const wrap = k.slice(6).find((x) => x.tag === TAG.SEQUENCE);
      const wrapAlg = wrap ? readAlgorithmIdentifier(wrap) : undefined;
      const d = cat.resolve(cat.oid(kem.oid), {}, { oid: kem.oid });
      push(d, 'KEMRecipientInfo', {
        role: 'kem',
        ...(kdf ? { kdf: cat.oid(kdf.oid)?.name ?? kdf.oid } : {}),
        ...(wrapAlg ? { keyWrap: describeWrap(wrapAlg) } : {}),
      });
      return;
    }
    throw new ParseError(`unknown RecipientInfo choice (tag 0x${ri.tag.toString(16)})`, ri.start);
  }
}

/** RSA key transport: size from the recipient certificate when the bag has it, else `RSA` with parameterKnown false. */
function describeKeyTransport(alg: AlgorithmIdentifier, key: KeyInfo | undefined): Described {
  const cat = catalogue();
  const entry = cat.oid(alg.oid);
  const extra = { oid: alg.oid, ...(alg.oid === '1.2.840.113549.1.1.7' ? { mode: 'OAEP' } : alg.oid === '1.2.840.113549.1.1.1' ? { mode: 'PKCS1-v1_5' } : {}) };
  if (entry?.family === 'RSA' && key?.algorithm.family === 'RSA' && key.bits) return cat.resolve(entry, { bits: key.bits }, extra);
  return cat.resolve(entry, {}, extra);
}

function describeOriginatorKey(node: DerNode): KeyInfo | undefined {
  const kids = node.children();
  if (kids.length !== 2) return undefined;
  const alg = readAlgorithmIdentifier(kids[0]);
  const point = kids[1].bits();
  const cat = catalogue();
  const curve = ecCurveFromParams(alg.params);
  if (curve) return { ...cat.forKey('ECDH', curve), curve };
  if (alg.oid === '1.3.101.110' || alg.oid === '1.3.101.111') return cat.byId(alg.oid === '1.3.101.110' ? 'X25519' : 'X448');
  // RFC 5753 §7.1.3: the originator key's parameters are absent (the recipient knows the curve); the point itself
  // tells which curve it lies on.
  const onCurve = curveOfPoint(point);
  if (onCurve) return { ...cat.forKey('ECDH', onCurve), curve: onCurve };
  return undefined;
}

/** A key-wrap AlgorithmIdentifier as `AES-128/KW`. */
function describeWrap(alg: AlgorithmIdentifier): string {
  const a = catalogue().resolve(catalogue().oid(alg.oid), {}, { oid: alg.oid }).algorithm;
  return a.mode ? `${a.id}/${a.mode}` : a.id;
}

function pbkdfDetails(kdf: AlgorithmIdentifier): Record<string, unknown> {
  const cat = catalogue();
  const out: Record<string, unknown> = { kdf: cat.oid(kdf.oid)?.name ?? kdf.oid };
  const { pbkdf2 } = readKdfParams(kdf);
  if (pbkdf2) {
    if (pbkdf2.iterations !== undefined) out.iterations = pbkdf2.iterations;
    out.prf = pbkdf2.prf ? (cat.oid(pbkdf2.prf)?.name ?? 'unknown') : 'hmacWithSHA1';
  }
  return out;
}

/** The certificate a sid / rid names, or undefined when the identifier does not parse (it is only a hint here). */
function certificateReference(id: DerNode): CertificateReference | undefined {
  try {
    return readSignerIdentifier(id);
  } catch (e) {
    rethrowUnlessParseError(e);
    return undefined;
  }
}

function describeSid(sid: DerNode): string {
  const ref = certificateReference(sid);
  if (!ref) return 'unparseable';
  if ('subjectKeyIdentifier' in ref) return `subjectKeyIdentifier:${Buffer.from(ref.subjectKeyIdentifier).toString('hex')}`;
  try {
    return `issuer:${readName(ref.issuer)};serial:${Buffer.from(ref.serialNumber.content).toString('hex')}`;
  } catch (e) {
    rethrowUnlessParseError(e);
    return 'unparseable';
  }
}

const PEM_LABELS = new Set(['PKCS7', 'CMS', 'PKCS #7 SIGNED DATA', 'PKCS7 SIGNATURE']);

/** JAR/APK v1 signature blocks: the jar detector reports these (format `jar`), so this detector leaves them alone. */
export function isJarSignatureBlock(name: string): boolean {
  return /(^|\/)META-INF\/[^/]+\.(RSA|DSA|EC)$/i.test(name) || /(^|\/)META-INF\/SIG-[^/]+$/i.test(name);
}

// ContentInfo starts 30 <len> 06 09 2a 86 48 86 f7 0d 01 07 (pkcs-7 arc) or 06 0b … 01 09 10 01 (id-ct arc).
const PKCS7_OID = [0x06, 0x09, 0x2a, 0x86, 0x48, 0x86, 0xf7, 0x0d, 0x01, 0x07];
const CT_OID = [0x06, 0x0b, 0x2a, 0x86, 0x48, 0x86, 0xf7, 0x0d, 0x01, 0x09, 0x10, 0x01];
const MAGIC = [2, 3, 4, 5].flatMap((offset) => [
  { offset, bytes: PKCS7_OID },
  { offset, bytes: CT_OID },
]);

export const cmsDetector: Detector = {
  format: 'cms',
  description: 'CMS / PKCS#7: SignedData (signers, certificates, timestamps), EnvelopedData recipients and ciphers, EncryptedData',
  claims: {
    magic: MAGIC,
    names: ['*.p7s', '*.p7m', '*.p7b', '*.p7c', '*.p7', '*.pkcs7', '*.cms', '*.spc'],
    contains: ['-----BEGIN PKCS7-----', '-----BEGIN CMS-----', '-----BEGIN PKCS #7 SIGNED DATA-----', '-----BEGIN PKCS7 SIGNATURE-----'],
  },
  detect: detectCms,
};

export function detectCms(bytes: Uint8Array, ctx: DetectContext): DetectResult {
  if (isJarSignatureBlock(ctx.name)) return { findings: [] };
  const findings: Finding[] = [];
  const errors: ErrorEntry[] = [];
  const blocks = findPemBlocks(bytes, (l) => PEM_LABELS.has(l));
  for (const block of blocks) {
    if (block.error) {
      errors.push({ code: 'malformed', message: `${block.error} at offset ${block.offset}`, offset: block.offset });
      continue;
    }
    try {
      const r = parseCms(parseDer(block.der, true), { fixedOffset: block.offset });
      findings.push(...r.findings);
      errors.push(...r.errors.map((e) => ({ ...e, message: `PEM block at offset ${block.offset}: ${e.message}` })));
    } catch (e) {
      errors.push(toEntry(e, `PEM block at offset ${block.offset}`, block.offset));
    }
  }
  if (blocks.length === 0 && ctx.baseOffset === 0 && bytes[0] === TAG.SEQUENCE) {
    try {
      const r = parseCms(bytes);
      findings.push(...r.findings);
      errors.push(...r.errors);
    } catch (e) {
      errors.push(toEntry(e, 'ContentInfo', 0));
    }
  } else if (blocks.length === 0 && ctx.whole && bytes.length > 0) {
    errors.push({ code: 'malformed', message: 'named like CMS/PKCS#7 but is neither DER nor PEM' });
  }
  return { findings, errors };
}

function toEntry(e: unknown, what: string, offset: number): ErrorEntry {
  rethrowUnlessParseError(e);
  return { code: e.code, message: `${what}: ${e.message}`, offset: e.offset ?? offset };
}
