/**
 * Detached CMS SignedData (RFC 5652) with one composite ML-DSA (draft-ietf-lamps-cms-composite-sigs-01) or pure
 * ML-DSA (RFC 9882) signer, DER, for `.p7s` sidecars.
 * - digestAlgorithm: the composite's pre-hash (id-sha256 / id-sha512 / id-shake256, parameters omitted); SHA-512 for
 *   pure ML-DSA (RFC 9882 §3.3 MUST). The artifact is hashed once, streamed, by the caller; CMS only sees the digest.
 * - signedAttrs (RFC 5652 §5.3): content-type, message-digest, signing-time, and CMSAlgorithmProtection (RFC 6211),
 *   signed as a DER SET OF (tag 0x31, RFC 5652 §5.4); ctx = "" for both the composite and pure ML-DSA.
 * - sid: issuerAndSerialNumber of the signer certificate, which is also carried in `certificates`.
 * Parsing uses the bounded DER reader: a `.p7s` found next to an artifact is hostile input like any other.
 * @module
 */
import { parseDer, TAG, type DerNode } from '../pkix/der.js';
import { catalogue } from '../catalogue/index.js';
import { parsing, ShelflifeError } from '../errors.js';
import { algorithmId, concat, ctxCons, equalBytes, integer, octets, oid, seq, set, setOf, time } from '../pkix/der-writer.js';
import { readSigningCertificate, type SigningCertificate } from './cert.js';
import { algorithmByOid, verify, type PreHash, type SignatureAlgorithm, type VerifyResult } from './composite.js';
import { readContentInfo, readSignedData, readSignerIdentifier, readSignerInfo } from '../pkix/cms.js';

const OID = {
  data: '1.2.840.113549.1.7.1',
  signedData: '1.2.840.113549.1.7.2',
  contentType: '1.2.840.113549.1.9.3',
  messageDigest: '1.2.840.113549.1.9.4',
  signingTime: '1.2.840.113549.1.9.5',
  algorithmProtection: '1.2.840.113549.1.9.52',
} as const;

/** Digest OID from the catalogue (rules/algorithms.yaml `role: digest`) by its hash name. */
export function digestOid(hash: string): string {
  const hit = Object.entries(catalogue().data.oids).find(([, e]) => e.role === 'digest' && !e.id && e.hash === hash);
  if (!hit) throw new ShelflifeError('unsupported', `no digest OID for ${hash} in the catalogue`);
  return hit[0];
}

/** The CMS digest for a signer: the composite's PH (composite CMS draft §3), SHA-512 for pure ML-DSA (RFC 9882). */
export function cmsDigest(alg: SignatureAlgorithm): PreHash {
  return alg.prehash;
}

export interface SignOptions {
  signingTime?: Date;
}

/** The signedAttrs, DER SET OF (tag 0x31) as signed (RFC 5652 §5.4). */
export function signedAttributes(alg: SignatureAlgorithm, contentDigest: Uint8Array, options: SignOptions = {}): Uint8Array {
  const digestAlg = algorithmId(digestOid(cmsDigest(alg)));
  return setOf([
    seq(oid(OID.contentType), set(oid(OID.data))),
    seq(oid(OID.signingTime), set(time(options.signingTime ?? new Date()))),
    seq(oid(OID.messageDigest), set(octets(contentDigest))),
    // CMSAlgorithmProtection ::= SEQUENCE { digestAlgorithm, signatureAlgorithm [1] IMPLICIT, … } (RFC 6211 §2)
    seq(oid(OID.algorithmProtection), set(seq(digestAlg, ctxCons(1, oid(alg.oid))))),
  ]);
}

/** ContentInfo { id-signedData, SignedData } around signedAttrs and their signature (detached: no eContent). */
export function assembleSignedData(alg: SignatureAlgorithm, certificate: SigningCertificate, attrs: Uint8Array, signature: Uint8Array): Uint8Array {
  const digestAlg = algorithmId(digestOid(cmsDigest(alg)));
  const signedAttrs = concat([Uint8Array.of(0xa0), attrs.subarray(1)]); // [0] IMPLICIT SET OF Attribute
  const signerInfo = seq(
    integer(1),
    seq(certificate.issuerDer, certificate.serialNumber.encoded),
    digestAlg,
    signedAttrs,
    algorithmId(alg.oid),
    octets(signature),
  );
  const signedData = seq(integer(1), set(digestAlg), seq(oid(OID.data)), ctxCons(0, certificate.der), set(signerInfo));
  return seq(oid(OID.signedData), ctxCons(0, signedData));
}

export interface CmsSigner {
  alg: SignatureAlgorithm;
  digestOid: string;
  digest: PreHash;
  issuer: Uint8Array;
  serial: Uint8Array;
  /** The DER SET OF (0x31) that was signed. */
  signedAttrs: Uint8Array;
  messageDigest: Uint8Array;
  signature: Uint8Array;
  signingTime?: string;
}

export interface ParsedSignedData {
  certificates: SigningCertificate[];
  signers: CmsSigner[];
  /** Signers whose algorithm shelflife does not verify (classical originals): named, not failed. */
  otherSigners: string[];
}

const DIGESTS: Record<string, PreHash> = {};

function digestName(oidStr: string): PreHash | undefined {
  if (!DIGESTS[oidStr]) {
    const h = catalogue().hashName(oidStr);
    if (h === 'SHA-256' || h === 'SHA-512' || h === 'SHAKE256') DIGESTS[oidStr] = h;
  }
  return DIGESTS[oidStr];
}

/** A detached SignedData as resign verifies it; `uri` names the signature file in errors. */
export function parseSignedData(der: Uint8Array, uri: string): ParsedSignedData {
  const ci = parsing(uri, () => readContentInfo(parseDer(der)), 'not a CMS SignedData');
  if (ci.contentType !== OID.signedData || !ci.content)
    throw new ShelflifeError('malformed', 'not a CMS SignedData: ContentInfo is not id-signedData', { uri });
  const content = ci.content;
  const sd = parsing(uri, () => readSignedData(content), 'not a CMS SignedData');
  if (parsing(uri, () => sd.encapContentInfo.children()).length > 1)
    throw new ShelflifeError('unsupported', 'the SignedData carries its content; shelflife writes and verifies detached signatures', { uri });
  const certificates: SigningCertificate[] = [];
  for (const c of sd.certificates ? parsing(uri, () => sd.certificates!.children()) : []) {
    try {
      certificates.push(readSigningCertificate(c.encoded, uri));
    } catch (e) {
      // A classical or unparseable extra certificate is not ours to judge here: only a bug goes on up.
      if (!(e instanceof ShelflifeError)) throw e;
    }
  }
  const signers: CmsSigner[] = [];
  const otherSigners: string[] = [];
  for (const node of parsing(uri, () => sd.signerInfos.children())) {
    const si = parsing(uri, () => readSignerInfo(node));
    const alg = algorithmByOid(si.signatureAlgorithm.oid);
    if (!alg) {
      otherSigners.push(catalogue().oid(si.signatureAlgorithm.oid)?.name ?? si.signatureAlgorithm.oid);
      continue;
    }
    if (!si.signedAttrs) throw new ShelflifeError('unsupported', `${alg.name} signer without signedAttrs is not supported`, { uri });
    const sid = parsing(uri, () => readSignerIdentifier(si.sid));
    if (!('issuer' in sid)) throw new ShelflifeError('unsupported', 'subjectKeyIdentifier signer ids are not supported', { uri });
    const digest = digestName(si.digestAlgorithm.oid);
    if (!digest) throw new ShelflifeError('unsupported', `digest ${si.digestAlgorithm.oid} is not SHA-256, SHA-512 or SHAKE256`, { uri });
    const signedAttrs = si.signedAttrs;
    const attrs = readAttributes(signedAttrs, uri);
    const md = parsing(uri, () => attrs.get(OID.messageDigest)?.expect(TAG.OCTET_STRING, 'messageDigest').content);
    const ct = parsing(uri, () => attrs.get(OID.contentType)?.oid());
    if (!md || ct !== OID.data) throw new ShelflifeError('malformed', 'signedAttrs need content-type id-data and message-digest (RFC 5652 §5.3)', { uri });
    signers.push({
      alg,
      digestOid: si.digestAlgorithm.oid,
      digest,
      issuer: sid.issuer.encoded,
      serial: sid.serialNumber.encoded,
      // What was signed is the SET OF (0x31), not the [0] IMPLICIT encoding (RFC 5652 §5.4).
      signedAttrs: concat([Uint8Array.of(TAG.SET), signedAttrs.encoded.subarray(1)]),
      messageDigest: md,
      signature: si.signature,
      signingTime: attrs.get(OID.signingTime)?.time(),
    });
  }
  return { certificates, signers, otherSigners };
}

/** signedAttrs as a verifier must see them: each type once, each with exactly one value (RFC 5652 §5.3). */
function readAttributes(node: DerNode, uri: string): Map<string, DerNode> {
  const out = new Map<string, DerNode>();
  for (const a of parsing(uri, () => node.children())) {
    const [type, values] = parsing(uri, () => [a.child(0, 'attrType').oid(), a.child(1, 'attrValues').expect(TAG.SET, 'attrValues').children()] as const);
    if (out.has(type)) throw new ShelflifeError('malformed', `attribute ${type} appears twice in signedAttrs`, { uri });
    if (values.length !== 1) throw new ShelflifeError('malformed', `attribute ${type} must have one value`, { uri });
    out.set(type, values[0]);
  }
  return out;
}

export interface SignerVerification extends VerifyResult {
  /** False when the artifact digest differs from the signed message-digest. */
  digestMatches: boolean;
  signer: CmsSigner;
}

/** The rules a verifier applies to the digest algorithm before anything else. */
export function checkDigestRule(signer: CmsSigner): string | undefined {
  if (signer.alg.traditional && signer.digest !== signer.alg.prehash) {
    return `${signer.alg.name}: digestAlgorithm is ${signer.digest}, the composite CMS draft requires its pre-hash ${signer.alg.prehash}`;
  }
  // RFC 9882 §3.3: ML-DSA-65 needs ≥ 192-bit, ML-DSA-87 ≥ 256-bit collision strength; of ours only SHA-256 falls short.
  if (!signer.alg.traditional && signer.digest === 'SHA-256' && signer.alg.mldsaId !== 'ML-DSA-44')
    return `${signer.alg.name}: SHA-256 is too weak a digest for ${signer.alg.mldsaId} (RFC 9882 §3.3)`;
  return undefined;
}

/** Does this signer's sid name this certificate? */
export function signerMatches(signer: CmsSigner, cert: SigningCertificate): boolean {
  return equalBytes(signer.issuer, cert.issuerDer) && equalBytes(signer.serial, cert.serialNumber.encoded);
}

/** Verify one signer against the artifact digest (computed with signer.digest) and a certificate's key. */
export function verifySigner(signer: CmsSigner, cert: SigningCertificate, contentDigest: Uint8Array): SignerVerification {
  if (cert.publicKey.alg.oid !== signer.alg.oid) {
    return {
      valid: false,
      mldsa: false,
      traditional: false,
      digestMatches: false,
      signer,
      reason: `the certificate's key is ${cert.publicKey.alg.name}, the signature is ${signer.alg.name}`,
    };
  }
  const digestMatches = equalBytes(signer.messageDigest, contentDigest);
  const r = verify(cert.publicKey, signer.signedAttrs, signer.signature);
  if (!digestMatches)
    return {
      ...r,
      valid: false,
      digestMatches,
      signer,
      reason: `the artifact's ${signer.digest} digest does not match the signed message-digest: the artifact changed after signing`,
    };
  return { ...r, digestMatches, signer };
}
