/**
 * Certificates and CSRs for resign keys, written with the one DER writer (src/pkix/der-writer.ts) and signed with the
 * key itself. RFC 9881 §2 / composite draft: AlgorithmIdentifier parameters absent, the raw key in subjectPublicKey,
 * the raw signature in signatureValue; keyUsage digitalSignature only (RFC 9881 §5 forbids the encipherment usages).
 * The signature over the TBS uses ctx = "". Certificates are read back with the one certificate reader
 * (src/pkix/certificate.ts), never trusting a file's bytes.
 * @module
 */
import { createHash, randomBytes } from 'node:crypto';
import { parsing } from '../errors.js';
import { parseCertificate, type ParsedCertificate } from '../pkix/certificate.js';
import { parseDer } from '../pkix/der.js';
import { algorithmId, bitString, boolean, ctxCons, integer, octets, oid, seq, set, setOf, time, utf8 } from '../pkix/der-writer.js';
import { sign, type PrivateKey, type PublicKey } from './composite.js';
import { decodeSpki } from './keys.js';

const OID = {
  commonName: '2.5.4.3',
  keyUsage: '2.5.29.15',
  basicConstraints: '2.5.29.19',
  subjectKeyIdentifier: '2.5.29.14',
  extKeyUsage: '2.5.29.37',
  codeSigning: '1.3.6.1.5.5.7.3.3',
  extensionRequest: '1.2.840.113549.1.9.14',
} as const;

export interface CertificateOptions {
  subject: string;
  days: number;
  now?: Date;
}

/** Name ::= SEQUENCE OF RelativeDistinguishedName, here one RDN holding CN as a UTF8String (RFC 5280 §4.1.2.4). */
function name(cn: string): Uint8Array {
  return seq(setOf([seq(oid(OID.commonName), utf8(cn))]));
}

/** Extension ::= SEQUENCE { extnID, critical BOOLEAN DEFAULT FALSE, extnValue OCTET STRING } (RFC 5280 §4.1). */
function extension(id: string, critical: boolean, value: Uint8Array): Uint8Array {
  return critical ? seq(oid(id), boolean(true), octets(value)) : seq(oid(id), octets(value));
}

/** The end-entity code-signing extensions, in the order certificates and CSRs carry them. */
function extensions(key: PrivateKey): Uint8Array[] {
  const ski = createHash('sha1').update(key.publicKey.bytes).digest();
  return [
    // BasicConstraints ::= SEQUENCE { cA BOOLEAN DEFAULT FALSE, … }: cA false is the default, so the SEQUENCE is empty.
    extension(OID.basicConstraints, true, seq()),
    // KeyUsage digitalSignature (bit 0): BIT STRING 03 02 07 80.
    extension(OID.keyUsage, true, Uint8Array.of(0x03, 0x02, 0x07, 0x80)),
    extension(OID.extKeyUsage, false, seq(oid(OID.codeSigning))),
    extension(OID.subjectKeyIdentifier, false, octets(ski)),
  ];
}

function subjectPublicKeyInfo(key: PrivateKey): Uint8Array {
  return seq(algorithmId(key.alg.oid), bitString(key.publicKey.bytes));
}

/** TBS, its AlgorithmIdentifier and the signature over it: Certificate and CertificationRequest alike. */
function signed(key: PrivateKey, tbs: Uint8Array): Uint8Array {
  return seq(tbs, algorithmId(key.alg.oid), bitString(sign(key, tbs)));
}

/** A self-signed end-entity certificate (code signing) for the key. DER. */
export function selfSignedCertificate(key: PrivateKey, options: CertificateOptions): Uint8Array {
  const notBefore = new Date(Math.floor((options.now ?? new Date()).getTime() / 1000) * 1000);
  const notAfter = new Date(notBefore.getTime() + options.days * 86_400_000);
  const serial = randomBytes(16);
  serial[0] &= 0x7f; // positive (RFC 5280 §4.1.2.2)
  serial[0] |= 0x01;
  const subject = name(options.subject);
  const tbs = seq(
    ctxCons(0, integer(2)), // version v3
    integer(serial),
    algorithmId(key.alg.oid),
    subject, // issuer: self-signed
    seq(time(notBefore), time(notAfter)),
    subject,
    subjectPublicKeyInfo(key),
    ctxCons(3, seq(...extensions(key))),
  );
  return signed(key, tbs);
}

/** A PKCS#10 request (RFC 2986 §4) carrying the same extensions as an extensionRequest attribute (RFC 2985 §5.4.2). DER. */
export function certificationRequest(key: PrivateKey, subject: string): Uint8Array {
  const attributes = ctxCons(0, seq(oid(OID.extensionRequest), set(seq(...extensions(key)))));
  return signed(key, seq(integer(0), name(subject), subjectPublicKeyInfo(key), attributes));
}

/** A certificate resign signs or verifies with: what the certificate reader read, and its ML-DSA / composite key. */
export interface SigningCertificate extends ParsedCertificate {
  der: Uint8Array;
  publicKey: PublicKey;
}

/** Read a certificate (hostile input: the bounded reader) and import its key; `uri` names the file in errors. */
export function readSigningCertificate(der: Uint8Array, uri: string): SigningCertificate {
  const cert = parsing(uri, () => parseCertificate(parseDer(der)), 'not a certificate');
  return { ...cert, der, publicKey: decodeSpki(cert.subjectPublicKeyInfo, uri) };
}
