/**
 * X.509 certificates (RFC 5280 §4.1): Name, Certificate, issuer-key sizing within a set, and the finding a certificate
 * makes. The one certificate reader: detectors report what it reads, resign signs and verifies with what it reads.
 * Hostile input throws ParseError.
 * @module
 */
import { createHash } from 'node:crypto';
import { ParseError } from '../errors.js';
import type { Finding } from '../model.js';
import { describeSignatureAlgorithm, describeSpki, readAlgorithmIdentifier, type AlgorithmIdentifier, type KeyInfo } from './algorithm.js';
import { DerNode, TAG } from './der.js';
import { catalogue, type Described } from '../catalogue/index.js';
import { rsaFromOctets } from '../catalogue/infer.js';

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
  /** The whole Certificate; `node.encoded` is its DER. */
  node: DerNode;
  /** TBSCertificate: what the issuer signed. */
  tbs: DerNode;
  /** The serialNumber INTEGER as encoded (what a CMS IssuerAndSerialNumber carries). */
  serialNumber: DerNode;
  subjectPublicKeyInfo: DerNode;
  /** signatureValue's bits. */
  signatureValue: Uint8Array;
  key: KeyInfo;
  signature: Described;
  subject: string;
  issuer: string;
  serial: string;
  notBefore?: string;
  notAfter?: string;
  selfIssued: boolean;
  /**
   * Self-issued and signed by its own key, as far as the structure tells (RFC 5280 §3.2, §4.2.1.1): an authority key
   * identifier, when both it and the subject key identifier are present, names the subject key. A self-issued link
   * certificate of a CA key rollover names the old key, and its signature is one relying parties verify.
   */
  selfSigned: boolean;
  isCA?: boolean;
  /** The Name DER of the issuer and the serial's INTEGER contents: what a CMS IssuerAndSerialNumber matches. */
  issuerDer: Uint8Array;
  subjectDer: Uint8Array;
  signatureAlgorithm: AlgorithmIdentifier;
  serialDer: Uint8Array;
  /** subjectKeyIdentifier extension (RFC 5280 §4.2.1.2) as hex, when present: what a CMS [0] SubjectKeyIdentifier matches. */
  subjectKeyId?: string;
  /** authorityKeyIdentifier keyIdentifier (RFC 5280 §4.2.1.1) as hex, when present: the issuer's subjectKeyId. */
  authorityKeyId?: string;
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
  let subjectKeyId: string | undefined;
  let authorityKeyId: string | undefined;
  for (const ext of f.slice(i)) {
    if (!ext.isContext(3)) continue;
    for (const e of ext.inner().children()) {
      const kids = e.children();
      const extnId = kids[0]?.oid();
      const extnValue = kids[kids.length - 1];
      if (extnValue?.tag !== TAG.OCTET_STRING) continue;
      if (extnId === '2.5.29.19') {
        const bc = extnValue.inner().children();
        isCA = bc[0]?.tag === TAG.BOOLEAN ? bc[0].content[0] !== 0 : false;
      } else if (extnId === '2.5.29.14') {
        // SubjectKeyIdentifier ::= KeyIdentifier (OCTET STRING), wrapped in the extnValue OCTET STRING.
        const ski = extnValue.inner();
        if (ski.tag === TAG.OCTET_STRING) subjectKeyId = Buffer.from(ski.content).toString('hex');
      } else if (extnId === '2.5.29.35') {
        // AuthorityKeyIdentifier ::= SEQUENCE { keyIdentifier [0] IMPLICIT KeyIdentifier OPTIONAL, … }
        const kid = extnValue
          .inner()
          .children()
          .find((k) => k.isContext(0));
        if (kid) authorityKeyId = Buffer.from(kid.content).toString('hex');
      }
    }
  }
  return {
    node,
    tbs,
    serialNumber: serialNode,
    subjectPublicKeyInfo: spki,
    signatureValue: sigValue.bits(),
    key,
    signature,
    subject,
    issuer,
    serial: Buffer.from(serialNode.content).toString('hex'),
    notBefore: nb?.time(),
    notAfter: na?.time(),
    selfIssued,
    selfSigned: selfIssued && (authorityKeyId === undefined || subjectKeyId === undefined || authorityKeyId === subjectKeyId),
    isCA,
    issuerDer: issuerNode.encoded,
    subjectDer: subjectNode.encoded,
    signatureAlgorithm: sigAlg,
    serialDer: serialNode.content,
    ...(subjectKeyId ? { subjectKeyId } : {}),
    ...(authorityKeyId ? { authorityKeyId } : {}),
  };
}

/**
 * Within one set of certificates (a PEM chain, a CMS certificate bag), size each certificate's signature with its
 * issuer's key when the issuer is in the set: `sha384WithRSAEncryption` by a 4096-bit CA → RSA-4096 / SHA-384.
 */
export function resolveIssuerKeys(certs: readonly ParsedCertificate[]): void {
  if (certs.length < 2 || certs.length > 1000) return;
  for (const c of certs) {
    if (c.selfIssued || c.signature.algorithm.parameterKnown !== false) continue;
    const issuer = certs.find((i) => i !== c && Buffer.compare(i.subjectDer, c.issuerDer) === 0);
    if (issuer) c.signature = describeSignatureAlgorithm(c.signatureAlgorithm, issuer.key);
  }
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
      ...(cert.key.explicitParameters ? { explicitCurveParameters: true } : {}),
      ...signatureDetails(cert),
      selfSigned: cert.selfSigned,
      ...(cert.isCA !== undefined ? { ca: cert.isCA } : {}),
      ...(cert.subjectKeyId ? { subjectKeyId: cert.subjectKeyId } : {}),
      ...(cert.authorityKeyId ? { authorityKeyId: cert.authorityKeyId } : {}),
    },
  };
  if (cert.signature.algorithm.hash) finding.algorithm = { ...finding.algorithm, hash: cert.signature.algorithm.hash };
  return finding;
}

/**
 * The certificate's signature algorithm. Without the issuer's key in the set, an RSA signatureValue still gives the
 * issuer's modulus size: it is exactly as long (RFC 8017 §8.2.1); `signatureParameterFrom` says so.
 */
function signatureDetails(cert: ParsedCertificate): Record<string, unknown> {
  const sig = cert.signature;
  if (sig.algorithm.family === 'RSA' && sig.algorithm.parameterKnown === false) {
    const inferred = rsaFromOctets(catalogue().oid(cert.signatureAlgorithm.oid), cert.signatureValue.length, 'signature-length', { ...sig.algorithm });
    if (inferred.parameterFrom)
      return { signatureAlgorithm: inferred.algorithm, signatureQuantum: inferred.quantum, signatureParameterFrom: inferred.parameterFrom };
  }
  return { signatureAlgorithm: sig.algorithm, signatureQuantum: sig.quantum };
}
