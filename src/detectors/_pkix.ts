/**
 * Shared PKIX building blocks (RFC 5280, RFC 5480, RFC 8410, RFC 9881): AlgorithmIdentifier, SubjectPublicKeyInfo,
 * Name and Certificate, read with the bounded DER reader and named through the catalogue. Every detector that meets
 * these structures (x509, keys, CMS, PKCS#12, Authenticode, …) calls these instead of parsing them again.
 * @module
 */
import { createHash } from 'node:crypto';
import { DerNode, readNode, TAG } from '../asn1/der.js';
import { catalogue, type Described } from '../catalogue/index.js';
import { ParseError } from '../errors.js';
import type { Algorithm, Finding } from '../model.js';

export interface AlgorithmIdentifier {
  oid: string;
  params?: DerNode;
}

export function readAlgorithmIdentifier(node: DerNode): AlgorithmIdentifier {
  node.expect(TAG.SEQUENCE, 'AlgorithmIdentifier');
  const kids = node.children();
  if (kids.length === 0) throw new ParseError(`empty AlgorithmIdentifier at offset ${node.start}`, node.start);
  return { oid: kids[0].oid(), params: kids[1] };
}

/** What a public key is: canonical algorithm plus the facts that decided it. */
export interface KeyInfo extends Described {
  bits?: number;
  curve?: string;
}

/** Describe a SubjectPublicKeyInfo: RSA modulus size, EC curve, DSA/DH prime size, Ed/X curves, ML-DSA, composites. */
export function describeSpki(spki: DerNode): KeyInfo {
  spki.expect(TAG.SEQUENCE, 'SubjectPublicKeyInfo');
  const [algNode, keyNode] = [spki.child(0, 'algorithm'), spki.child(1, 'subjectPublicKey')];
  const alg = readAlgorithmIdentifier(algNode);
  const cat = catalogue();
  const entry = cat.oid(alg.oid);
  const keyBits = keyNode.bits();
  const family = entry?.family;
  if (family === 'RSA') {
    // RSAPublicKey ::= SEQUENCE { modulus INTEGER, publicExponent INTEGER }
    const rsa = readNode(keyBits, 0, keyBits.length, spki.depth + 2);
    const bits = rsa.child(0, 'modulus').integerBits();
    return { ...cat.resolve(entry, { bits }, { oid: alg.oid }), bits };
  }
  if (family === 'ECDSA' || family === 'ECDH') {
    const curve = ecCurveFromParams(alg.params);
    if (curve) return { ...cat.resolve(entry, { curve }, { oid: alg.oid }), curve };
    // Explicit or implicit curve parameters: size from the point encoding, name unknown.
    const fieldBytes = keyBits[0] === 0x04 ? (keyBits.length - 1) / 2 : keyBits.length - 1;
    const d = cat.resolve(entry, {}, { oid: alg.oid });
    d.algorithm.id = `${family}-explicit-${fieldBytes * 8}`;
    d.algorithm.parameterKnown = false;
    d.quantum.classicalBits = fieldBytes * 4;
    return d;
  }
  if (family === 'DSA' || family === 'DH') {
    // Dss-Parms / DomainParameters ::= SEQUENCE { p INTEGER, … }: the size is the prime's.
    if (alg.params && alg.params.tag === TAG.SEQUENCE) {
      const bits = alg.params.child(0, 'p').integerBits();
      return { ...cat.resolve(entry, { bits }, { oid: alg.oid }), bits };
    }
    return cat.resolve(entry, {}, { oid: alg.oid });
  }
  return cat.resolve(entry, {}, { oid: alg.oid });
}

export function ecCurveFromParams(params: DerNode | undefined): string | undefined {
  if (!params || params.tag !== TAG.OID) return undefined;
  return catalogue().curve(params.oid());
}

/**
 * Describe a signature AlgorithmIdentifier, using the signer's key (when known) to fill the size or curve:
 * `sha256WithRSAEncryption` + a 2048-bit key → RSA-2048 / SHA-256. RSASSA-PSS reads its hash from the parameters.
 */
export function describeSignatureAlgorithm(alg: AlgorithmIdentifier, signerKey?: KeyInfo): Described {
  const cat = catalogue();
  const entry = cat.oid(alg.oid);
  const extra: Partial<Algorithm> = { oid: alg.oid };
  if (alg.oid === '1.2.840.113549.1.1.10') {
    const h = pssHash(alg.params);
    extra.hash = h ?? 'SHA-1'; // RFC 4055: an absent hashAlgorithm defaults to SHA-1.
  }
  if (!entry) return cat.resolve(undefined, {}, extra);
  // ECDSA signature OIDs carry no curve: take it from the signer key when it is an EC key.
  if (signerKey && entry.family && signerKey.algorithm.family === entry.family) {
    return cat.resolve(entry, { bits: signerKey.bits, curve: signerKey.curve }, extra);
  }
  if (signerKey && entry.family === 'ECDSA' && signerKey.curve) return cat.resolve(entry, { curve: signerKey.curve }, extra);
  return cat.resolve(entry, {}, extra);
}

function pssHash(params: DerNode | undefined): string | undefined {
  // RSASSA-PSS-params ::= SEQUENCE { hashAlgorithm [0] … , maskGenAlgorithm [1] …, saltLength [2] …, trailerField [3] … }
  if (!params || params.tag !== TAG.SEQUENCE) return undefined;
  for (const p of params.children()) {
    if (p.isContext(0)) return catalogue().hashName(readAlgorithmIdentifier(p.inner()).oid);
  }
  return undefined;
}

const ATTR_NAMES: Record<string, string> = {
  '2.5.4.3': 'CN',
  '2.5.4.5': 'serialNumber',
  '2.5.4.6': 'C',
  '2.5.4.7': 'L',
  '2.5.4.8': 'ST',
  '2.5.4.9': 'street',
  '2.5.4.10': 'O',
  '2.5.4.11': 'OU',
  '2.5.4.12': 'title',
  '2.5.4.42': 'GN',
  '2.5.4.4': 'SN',
  '2.5.4.97': 'organizationIdentifier',
  '0.9.2342.19200300.100.1.25': 'DC',
  '0.9.2342.19200300.100.1.1': 'UID',
  '1.2.840.113549.1.9.1': 'emailAddress',
};

/** Name → RFC 4514-style string, most significant RDN last (as OpenSSL's -nameopt RFC2253 prints). */
export function readName(node: DerNode): string {
  node.expect(TAG.SEQUENCE, 'Name');
  const rdns: string[] = [];
  for (const rdn of node.children()) {
    const parts: string[] = [];
    for (const atv of rdn.children()) {
      const [t, v] = atv.children();
      if (!t || !v) continue;
      const oid = t.oid();
      const value = v.text().replace(/([,+"\\<>;])/g, '\\$1');
      parts.push(`${ATTR_NAMES[oid] ?? oid}=${value}`);
    }
    rdns.push(parts.join('+'));
  }
  return rdns.reverse().join(',');
}

export function sha256Hex(bytes: Uint8Array): string {
  return createHash('sha256').update(bytes).digest('hex');
}

export interface ParsedCertificate {
  node: DerNode;
  key: KeyInfo;
  signature: Described;
  subject: string;
  issuer: string;
  serial: string;
  notBefore?: string;
  notAfter?: string;
  selfIssued: boolean;
  isCA?: boolean;
}

/** Certificate ::= SEQUENCE { tbsCertificate, signatureAlgorithm, signatureValue } (RFC 5280 §4.1). */
export function parseCertificate(node: DerNode): ParsedCertificate {
  node.expect(TAG.SEQUENCE, 'Certificate');
  const [tbs, sigAlgNode, sigValue] = node.children();
  if (!tbs || !sigAlgNode || !sigValue) throw new ParseError(`certificate at offset ${node.start} has fewer than 3 parts`, node.start);
  tbs.expect(TAG.SEQUENCE, 'TBSCertificate');
  sigValue.expect(TAG.BIT_STRING, 'signatureValue');
  const f = tbs.children();
  let i = 0;
  if (f[i]?.isContext(0)) i++; // version [0] EXPLICIT
  const serialNode = f[i++];
  if (!serialNode || serialNode.tag !== TAG.INTEGER) throw new ParseError(`certificate at offset ${node.start}: bad serialNumber`, node.start);
  const innerSig = f[i++];
  const issuerNode = f[i++];
  const validity = f[i++];
  const subjectNode = f[i++];
  const spki = f[i++];
  if (!innerSig || !issuerNode || !validity || !subjectNode || !spki) {
    throw new ParseError(`certificate at offset ${node.start}: TBSCertificate is missing fields`, node.start);
  }
  validity.expect(TAG.SEQUENCE, 'Validity');
  const [nb, na] = validity.children();
  const key = describeSpki(spki);
  const subject = readName(subjectNode);
  const issuer = readName(issuerNode);
  const selfIssued = subject === issuer;
  const sigAlg = readAlgorithmIdentifier(sigAlgNode);
  // The issuer's key size is unknown unless self-issued: then the subject key is the signer.
  const signature = describeSignatureAlgorithm(sigAlg, selfIssued ? key : undefined);
  let isCA: boolean | undefined;
  for (const ext of f.slice(i)) {
    if (!ext.isContext(3)) continue;
    for (const e of ext.inner().children()) {
      const kids = e.children();
      if (kids[0]?.oid() === '2.5.29.19') {
        const value = kids[kids.length - 1].inner();
        const bc = value.children();
        isCA = bc[0]?.tag === TAG.BOOLEAN ? bc[0].content[0] !== 0 : false;
      }
    }
  }
  return {
    node,
    key,
    signature,
    subject,
    issuer,
    serial: Buffer.from(serialNode.content).toString('hex'),
    notBefore: nb?.time(),
    notAfter: na?.time(),
    selfIssued,
    isCA,
  };
}

/**
 * The finding for a certificate: its subject key's algorithm (what an attacker must break to impersonate it), with
 * the signature algorithm that binds it in `details.signature`.
 */
export function certificateFinding(cert: ParsedCertificate, format: string, offset: number, path?: string): Finding {
  const finding: Finding = {
    kind: 'certificate',
    format,
    algorithm: cert.key.algorithm,
    quantum: cert.key.quantum,
    location: path ? { offset, path } : { offset },
    subject: cert.subject,
    issuer: cert.issuer,
    serial: cert.serial,
    notBefore: cert.notBefore,
    notAfter: cert.notAfter,
    fingerprint: sha256Hex(cert.node.encoded),
    details: {
      signatureAlgorithm: cert.signature.algorithm,
      signatureQuantum: cert.signature.quantum,
      selfSigned: cert.selfIssued,
      ...(cert.isCA !== undefined ? { ca: cert.isCA } : {}),
    },
  };
  if (cert.signature.algorithm.hash) finding.algorithm = { ...finding.algorithm, hash: cert.signature.algorithm.hash };
  return finding;
}
