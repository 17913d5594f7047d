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
import { parseDer, TAG, type DerNode } from '../asn1/der.js';
import { catalogue } from '../catalogue/index.js';
import { ShelflifeError } from '../errors.js';
import { algorithmId, concat, ctxCons, equalBytes, integer, octets, oid, seq, set, setOf, time } from './_der-writer.js';
import { parseCertificate, type ParsedCert } from './cert.js';
import { algorithmByOid, sign, verify, type PreHash, type PrivateKey, type SignatureAlgorithm, type VerifyResult } from './composite.js';

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
export function assembleSignedData(alg: SignatureAlgorithm, certificate: ParsedCert, attrs: Uint8Array, signature: Uint8Array): Uint8Array {
  const digestAlg = algorithmId(digestOid(cmsDigest(alg)));
  const signedAttrs = concat([Uint8Array.of(0xa0), attrs.subarray(1)]); // [0] IMPLICIT SET OF Attribute
  const signerInfo = seq(
    integer(1),
    seq(certificate.issuer.encoded, certificate.serial.encoded),
    digestAlg,
    signedAttrs,
    algorithmId(alg.oid),
    octets(signature),
  );
  const signedData = seq(integer(1), set(digestAlg), seq(oid(OID.data)), ctxCons(0, certificate.der), set(signerInfo));
  return seq(oid(OID.signedData), ctxCons(0, signedData));
}

/** Build a detached SignedData over an artifact whose digest (cmsDigest(alg)) the caller computed. */
export function signDetached(key: PrivateKey, certificate: ParsedCert, contentDigest: Uint8Array, options: SignOptions = {}): Uint8Array {
  const attrs = signedAttributes(key.alg, contentDigest, options);
  return assembleSignedData(key.alg, certificate, attrs, sign(key, attrs));
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
  certificates: ParsedCert[];
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

export function parseSignedData(der: Uint8Array, what: string): ParsedSignedData {
  try {
    return parseSignedDataUnsafe(der, what);
  } catch (e) {
    if (e instanceof ShelflifeError && e.uri === what) throw e;
    throw new ShelflifeError('malformed', `not a CMS SignedData: ${(e as Error).message}`, { uri: what });
  }
}

function parseSignedDataUnsafe(der: Uint8Array, what: string): ParsedSignedData {
  const ci = parseDer(der).expect(TAG.SEQUENCE, 'ContentInfo');
  if (ci.child(0, 'contentType').oid() !== OID.signedData) throw new ShelflifeError('malformed', 'ContentInfo is not id-signedData', { uri: what });
  const sd = ci.child(1, 'content').inner().expect(TAG.SEQUENCE, 'SignedData');
  const kids = sd.children();
  const encap = kids[2]?.expect(TAG.SEQUENCE, 'encapContentInfo');
  if (!encap) throw new ShelflifeError('malformed', 'SignedData is too short', { uri: what });
  if (encap.children().length > 1)
    throw new ShelflifeError('unsupported', 'the SignedData carries its content; shelflife writes and verifies detached signatures', { uri: what });
  const certificates: ParsedCert[] = [];
  let i = 3;
  if (kids[i]?.isContext(0)) {
    for (const c of kids[i].children()) {
      try {
        certificates.push(parseCertificate(c.encoded, what));
      } catch {
        /* a classical or unparseable extra certificate is not ours to judge here */
      }
    }
    i++;
  }
  if (kids[i]?.isContext(1)) i++; // crls
  const signerSet = kids[i]?.expect(TAG.SET, 'signerInfos');
  if (!signerSet) throw new ShelflifeError('malformed', 'SignedData has no signerInfos', { uri: what });
  const signers: CmsSigner[] = [];
  const otherSigners: string[] = [];
  for (const si of signerSet.children()) {
    const f = si.children();
    if (f.length < 5) throw new ShelflifeError('malformed', 'SignerInfo is too short', { uri: what });
    let j = 2;
    const digestAlgOid = f[j++].child(0).oid();
    const attrsNode = f[j]?.isContext(0) ? f[j++] : undefined;
    const sigOid = f[j++].child(0).oid();
    const signature = f[j].expect(TAG.OCTET_STRING, 'signature').content;
    const alg = algorithmByOid(sigOid);
    if (!alg) {
      otherSigners.push(catalogue().oid(sigOid)?.name ?? sigOid);
      continue;
    }
    if (!attrsNode) throw new ShelflifeError('unsupported', `${alg.name} signer without signedAttrs is not supported`, { uri: what });
    const sid = f[1];
    if (sid.tag !== TAG.SEQUENCE) throw new ShelflifeError('unsupported', 'subjectKeyIdentifier signer ids are not supported', { uri: what });
    const digest = digestName(digestAlgOid);
    if (!digest) throw new ShelflifeError('unsupported', `digest ${digestAlgOid} is not SHA-256, SHA-512 or SHAKE256`, { uri: what });
    const attrs = readAttributes(attrsNode, what);
    const md = attrs.get(OID.messageDigest)?.expect(TAG.OCTET_STRING, 'messageDigest').content;
    const ct = attrs.get(OID.contentType)?.oid();
    if (!md || ct !== OID.data)
      throw new ShelflifeError('malformed', 'signedAttrs need content-type id-data and message-digest (RFC 5652 §5.3)', { uri: what });
    signers.push({
      alg,
      digestOid: digestAlgOid,
      digest,
      issuer: sid.child(0, 'issuer').encoded,
      serial: sid.child(1, 'serialNumber').encoded,
      signedAttrs: concat([Uint8Array.of(TAG.SET), attrsNode.encoded.subarray(1)]),
      messageDigest: md,
      signature,
      signingTime: attrs.get(OID.signingTime)?.time(),
    });
  }
  return { certificates, signers, otherSigners };
}

function readAttributes(node: DerNode, what: string): Map<string, DerNode> {
  const out = new Map<string, DerNode>();
  for (const a of node.children()) {
    const type = a.child(0, 'attrType').oid();
    // RFC 5652 §5.3: content-type and message-digest MUST have exactly one value, and appear once.
    if (out.has(type)) throw new ShelflifeError('malformed', `attribute ${type} appears twice in signedAttrs`, { uri: what });
    const values = a.child(1, 'attrValues').expect(TAG.SET, 'attrValues').children();
    if (values.length !== 1) throw new ShelflifeError('malformed', `attribute ${type} must have one value`, { uri: what });
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
export function signerMatches(signer: CmsSigner, cert: ParsedCert): boolean {
  return equalBytes(signer.issuer, cert.issuer.encoded) && equalBytes(signer.serial, cert.serial.encoded);
}

/** Verify one signer against the artifact digest (computed with signer.digest) and a certificate's key. */
export function verifySigner(signer: CmsSigner, cert: ParsedCert, contentDigest: Uint8Array): SignerVerification {
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
