/**
 * The JSON form of a hybrid signature, for tools that prefer JSON to CMS: a DSSE envelope (secure-systems-lab/dsse
 * v1.0, `envelope.md` and `protocol.md`) whose payload is an in-toto Statement v1 naming the artifact by its SHA-256
 * and SHA-512, signed over PAE(payloadType, payload) with the composite (or ML-DSA) key, plus the certificate.
 * Documented in docs/resign.md. Parsing is strict and bounded: the bundle is hostile input like any other.
 * @module
 */
import { createHash } from 'node:crypto';
import { ShelflifeError } from '../errors.js';
import { concat } from '../pkix/der-writer.js';
import { readSigningCertificate, type SigningCertificate } from './cert.js';
import { verify, type SignatureAlgorithm, type VerifyResult } from './composite.js';

export const BUNDLE_MEDIA_TYPE = 'application/vnd.shelflife.hybrid-signature.v1+json';
export const DSSE_PAYLOAD_TYPE = 'application/vnd.in-toto+json';
export const STATEMENT_TYPE = 'https://in-toto.io/Statement/v1';
export const PREDICATE_TYPE = 'https://shelflife.dev/hybrid-resign/v1';
const MAX_BUNDLE_BYTES = 1024 * 1024;

export interface ArtifactDigests {
  sha256: string;
  sha512: string;
}

export interface HybridBundle {
  mediaType: typeof BUNDLE_MEDIA_TYPE;
  /** The signature algorithm: draft/RFC name, OID, canonical id. */
  algorithm: { name: string; oid: string; id: string };
  /** The signer certificate, DER, base64. */
  certificate: string;
  dsseEnvelope: { payloadType: string; payload: string; signatures: { keyid: string; sig: string }[] };
}

/** PAE(type, body) = "DSSEv1" SP LEN(type) SP type SP LEN(body) SP body (DSSE protocol.md). */
export function pae(payloadType: string, payload: Uint8Array): Uint8Array {
  const t = new TextEncoder().encode(payloadType);
  return concat([new TextEncoder().encode(`DSSEv1 ${t.length} `), t, new TextEncoder().encode(` ${payload.length} `), payload]);
}

/** The key id is the certificate's SHA-256 fingerprint, as `openssl x509 -fingerprint -sha256` prints it. */
export function keyId(cert: SigningCertificate): string {
  return `sha256:${createHash('sha256').update(cert.der).digest('hex')}`;
}

/** The in-toto Statement the envelope carries, serialized: the bytes that PAE wraps. */
export function statementPayload(alg: SignatureAlgorithm, name: string, digests: ArtifactDigests, signedAt = new Date()): Uint8Array {
  const statement = {
    _type: STATEMENT_TYPE,
    subject: [{ name, digest: { sha256: digests.sha256, sha512: digests.sha512 } }],
    predicateType: PREDICATE_TYPE,
    predicate: { algorithm: alg.name, oid: alg.oid, signedAt: signedAt.toISOString() },
  };
  return new TextEncoder().encode(JSON.stringify(statement));
}

export function assembleBundle(alg: SignatureAlgorithm, cert: SigningCertificate, payload: Uint8Array, sig: Uint8Array): string {
  const bundle: HybridBundle = {
    mediaType: BUNDLE_MEDIA_TYPE,
    algorithm: { name: alg.name, oid: alg.oid, id: alg.id },
    certificate: Buffer.from(cert.der).toString('base64'),
    dsseEnvelope: {
      payloadType: DSSE_PAYLOAD_TYPE,
      payload: Buffer.from(payload).toString('base64'),
      signatures: [{ keyid: keyId(cert), sig: Buffer.from(sig).toString('base64') }],
    },
  };
  return `${JSON.stringify(bundle, null, 2)}\n`;
}

export interface ParsedBundle {
  certificate: SigningCertificate;
  payload: Uint8Array;
  signature: Uint8Array;
  subjectDigests: Partial<ArtifactDigests>;
}

export function parseBundle(bytes: Uint8Array, what: string): ParsedBundle {
  if (bytes.length > MAX_BUNDLE_BYTES) throw new ShelflifeError('limit-size', `bundle larger than ${MAX_BUNDLE_BYTES} bytes`, { uri: what });
  let b: HybridBundle;
  try {
    b = JSON.parse(new TextDecoder('utf-8', { fatal: true }).decode(bytes));
  } catch (e) {
    throw new ShelflifeError('malformed', `not a JSON bundle: ${(e as Error).message}`, { uri: what });
  }
  const env = b?.dsseEnvelope;
  if (
    b?.mediaType !== BUNDLE_MEDIA_TYPE ||
    typeof b.certificate !== 'string' ||
    !env ||
    env.payloadType !== DSSE_PAYLOAD_TYPE ||
    typeof env.payload !== 'string' ||
    !Array.isArray(env.signatures) ||
    env.signatures.length !== 1 ||
    typeof env.signatures[0]?.sig !== 'string'
  ) {
    throw new ShelflifeError('malformed', `not a ${BUNDLE_MEDIA_TYPE} bundle with one DSSE signature`, { uri: what });
  }
  const payload = Buffer.from(env.payload, 'base64');
  let statement: { _type?: string; subject?: { digest?: Record<string, unknown> }[] };
  try {
    statement = JSON.parse(payload.toString('utf8'));
  } catch {
    throw new ShelflifeError('malformed', 'the DSSE payload is not JSON', { uri: what });
  }
  const digest = statement?.subject?.[0]?.digest;
  if (statement?._type !== STATEMENT_TYPE || !digest || typeof digest.sha256 !== 'string')
    throw new ShelflifeError('malformed', 'the payload is not an in-toto Statement with a sha256 subject', { uri: what });
  return {
    certificate: readSigningCertificate(Buffer.from(b.certificate, 'base64'), what),
    payload,
    signature: Buffer.from(env.signatures[0].sig, 'base64'),
    subjectDigests: { sha256: digest.sha256, ...(typeof digest.sha512 === 'string' ? { sha512: digest.sha512 } : {}) },
  };
}

export interface BundleVerification extends VerifyResult {
  digestMatches: boolean;
}

/** Verify with a given certificate's key (never the bundle's own certificate, unless the caller chose to trust it). */
export function verifyBundle(bundle: ParsedBundle, cert: SigningCertificate, digests: ArtifactDigests): BundleVerification {
  const r = verify(cert.publicKey, pae(DSSE_PAYLOAD_TYPE, bundle.payload), bundle.signature);
  const digestMatches =
    bundle.subjectDigests.sha256 === digests.sha256 && (bundle.subjectDigests.sha512 === undefined || bundle.subjectDigests.sha512 === digests.sha512);
  if (!digestMatches)
    return { ...r, valid: false, digestMatches, reason: 'the artifact digest does not match the signed statement: the artifact changed after signing' };
  return { ...r, digestMatches };
}
