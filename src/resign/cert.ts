/**
 * Certificates and CSRs for resign keys, built with pkijs and signed externally (pkijs 4 knows no ML-DSA: set the
 * OIDs, sign the DER of the TBS ourselves; pq-standards.md §7). RFC 9881 §2 / composite draft: AlgorithmIdentifier
 * parameters absent, the raw key in subjectPublicKey, the raw signature in signatureValue; keyUsage
 * digitalSignature only (RFC 9881 §5 forbids the encipherment usages). The signature over the TBS uses ctx = "".
 * @module
 */
import { createHash, randomBytes } from 'node:crypto';
import * as asn1js from 'asn1js';
import * as pkijs from 'pkijs';
import { parseDer, TAG, type DerNode } from '../asn1/der.js';
import { readName } from '../detectors/_pkix.js';
import { ShelflifeError } from '../errors.js';
import { sign, verify, type PrivateKey, type PublicKey } from './composite.js';
import { decodeSpki } from './keys.js';

const OID_CN = '2.5.4.3';
const OID_KEY_USAGE = '2.5.29.15';
const OID_BASIC_CONSTRAINTS = '2.5.29.19';
const OID_SKI = '2.5.29.14';
const OID_EKU = '2.5.29.37';
const OID_CODE_SIGNING = '1.3.6.1.5.5.7.3.3';
const OID_EXTENSION_REQUEST = '1.2.840.113549.1.9.14';

export interface CertificateOptions {
  subject: string;
  days: number;
  now?: Date;
}

function ab(b: Uint8Array): ArrayBuffer {
  return b.buffer.slice(b.byteOffset, b.byteOffset + b.byteLength) as ArrayBuffer;
}

function name(cn: string): pkijs.RelativeDistinguishedNames {
  return new pkijs.RelativeDistinguishedNames({
    typesAndValues: [new pkijs.AttributeTypeAndValue({ type: OID_CN, value: new asn1js.Utf8String({ value: cn }) })],
  });
}

function extensions(key: PrivateKey): pkijs.Extension[] {
  // keyUsage digitalSignature (bit 0): BIT STRING 03 02 07 80.
  const keyUsage = new asn1js.BitString({ valueHex: ab(Uint8Array.of(0x80)), unusedBits: 7 });
  const ski = createHash('sha1').update(key.publicKey.bytes).digest();
  return [
    new pkijs.Extension({ extnID: OID_BASIC_CONSTRAINTS, critical: true, extnValue: new pkijs.BasicConstraints({ cA: false }).toSchema().toBER(false) }),
    new pkijs.Extension({ extnID: OID_KEY_USAGE, critical: true, extnValue: keyUsage.toBER(false) }),
    new pkijs.Extension({ extnID: OID_EKU, critical: false, extnValue: new pkijs.ExtKeyUsage({ keyPurposes: [OID_CODE_SIGNING] }).toSchema().toBER(false) }),
    new pkijs.Extension({ extnID: OID_SKI, critical: false, extnValue: new asn1js.OctetString({ valueHex: ab(ski) }).toBER(false) }),
  ];
}

function spki(key: PrivateKey): pkijs.PublicKeyInfo {
  return new pkijs.PublicKeyInfo({
    algorithm: new pkijs.AlgorithmIdentifier({ algorithmId: key.alg.oid }),
    subjectPublicKey: new asn1js.BitString({ valueHex: ab(key.publicKey.bytes) }),
  });
}

/** A self-signed end-entity certificate (code signing) for the key. DER. */
export function selfSignedCertificate(key: PrivateKey, options: CertificateOptions): Uint8Array {
  const now = options.now ?? new Date();
  const cert = new pkijs.Certificate();
  cert.version = 2;
  const serial = randomBytes(16);
  serial[0] &= 0x7f; // positive (RFC 5280 §4.1.2.2)
  serial[0] |= 0x01;
  cert.serialNumber = new asn1js.Integer({ valueHex: ab(serial) });
  cert.issuer = name(options.subject);
  cert.subject = name(options.subject);
  cert.notBefore.value = new Date(Math.floor(now.getTime() / 1000) * 1000);
  cert.notAfter.value = new Date(cert.notBefore.value.getTime() + options.days * 86_400_000);
  cert.subjectPublicKeyInfo = spki(key);
  cert.extensions = extensions(key);
  cert.signature = new pkijs.AlgorithmIdentifier({ algorithmId: key.alg.oid });
  cert.signatureAlgorithm = new pkijs.AlgorithmIdentifier({ algorithmId: key.alg.oid });
  const tbs = new Uint8Array(cert.encodeTBS().toBER(false));
  cert.signatureValue = new asn1js.BitString({ valueHex: ab(sign(key, tbs)) });
  return new Uint8Array(cert.toSchema(true).toBER(false));
}

/** A PKCS#10 request (RFC 2986) carrying the same extensions as an extensionRequest attribute. DER. */
export function certificationRequest(key: PrivateKey, subject: string): Uint8Array {
  const csr = new pkijs.CertificationRequest();
  csr.version = 0;
  csr.subject = name(subject);
  csr.subjectPublicKeyInfo = spki(key);
  csr.attributes = [new pkijs.Attribute({ type: OID_EXTENSION_REQUEST, values: [new pkijs.Extensions({ extensions: extensions(key) }).toSchema()] })];
  csr.signatureAlgorithm = new pkijs.AlgorithmIdentifier({ algorithmId: key.alg.oid });
  // encodeTBS is protected on CertificationRequest in pkijs 4's typings but is the documented way to get the TBS.
  const tbs = new Uint8Array((csr as unknown as { encodeTBS(): asn1js.Sequence }).encodeTBS().toBER(false));
  csr.signatureValue = new asn1js.BitString({ valueHex: ab(sign(key, tbs)) });
  return new Uint8Array(csr.toSchema(true).toBER(false));
}

export interface ParsedCert {
  der: Uint8Array;
  publicKey: PublicKey;
  issuer: DerNode;
  serial: DerNode;
  subject: string;
  signatureOid: string;
  tbs: Uint8Array;
  signature: Uint8Array;
}

/** Read a certificate with the bounded DER reader (never pkijs on hostile input) and import its key. */
export function parseCertificate(der: Uint8Array, what: string): ParsedCert {
  const cert = parseDer(der).expect(TAG.SEQUENCE, 'Certificate');
  const [tbs, sigAlg, sigValue] = cert.children();
  if (!tbs || !sigAlg || !sigValue)
    throw new ShelflifeError('malformed', 'a Certificate needs tbsCertificate, signatureAlgorithm and signatureValue', { uri: what });
  const t = tbs.children();
  const o = t[0]?.isContext(0) ? 1 : 0; // version [0] EXPLICIT is optional
  if (t.length < o + 6) throw new ShelflifeError('malformed', 'tbsCertificate is too short', { uri: what });
  return {
    der,
    serial: t[o].expect(TAG.INTEGER, 'serialNumber'),
    issuer: t[o + 2].expect(TAG.SEQUENCE, 'issuer'),
    subject: readName(t[o + 4]),
    publicKey: decodeSpki(t[o + 5], what),
    signatureOid: sigAlg.child(0).oid(),
    tbs: tbs.encoded,
    signature: sigValue.bits(),
  };
}

/** Is this certificate signed by its own key (a self-signed resign certificate)? */
export function isSelfSigned(cert: ParsedCert): boolean {
  return cert.signatureOid === cert.publicKey.alg.oid && verify(cert.publicKey, cert.tbs, cert.signature).valid;
}
