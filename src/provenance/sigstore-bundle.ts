/**
 * Sigstore bundles (sigstore/protobuf-specs sigstore_bundle.proto; media types
 * `application/vnd.dev.sigstore.bundle+json;version=0.1|0.2` and `application/vnd.dev.sigstore.bundle.v0.3+json`),
 * read for what provenance needs: the verification material (a public-key hint, a certificate chain, a single
 * certificate), the transparency-log entries' integrated times, and the DSSE envelope. Pure and bounded; the
 * cryptographic checks live in verify.ts.
 * @module
 */
import { ParseError } from '../errors.js';
import { MAX_TEXT_PARSE_BYTES } from '../limits.js';

const MEDIA_TYPE = /^application\/vnd\.dev\.sigstore\.bundle(\+json;version=(0\.\d+)|\.v(0\.\d+)\+json)$/;
const MAX_CERTS = 16;
const MAX_TLOG_ENTRIES = 64;

export type VerificationMaterial =
  /** `publicKey.hint`; model-signing v0.3–v1.0 wrote a base64 PEM key into `publicKey.rawBytes` instead. */
  | { kind: 'public-key'; hint?: string; rawKey?: Uint8Array }
  /** `x509CertificateChain.certificates[]` (DER), leaf first. */
  | { kind: 'certificate-chain'; certificates: Uint8Array[] }
  /** v0.3 `certificate` (DER): a Fulcio leaf when tlog entries are present. */
  | { kind: 'certificate'; certificate: Uint8Array };

export interface SigstoreBundle {
  mediaType: string;
  version: string;
  material: VerificationMaterial;
  /** Rekor `integratedTime` of each entry (ISO-8601), when present. Trusted only after verification. */
  tlogTimes: string[];
  tlogEntries: number;
  /** RFC 3161 timestamp tokens (DER) over the signature; trusted only once checked (verify.ts). */
  rfc3161Timestamps: Uint8Array[];
  dsseEnvelope?: Record<string, unknown>;
  messageSignature?: Record<string, unknown>;
  /** The parsed JSON, for the Sigstore libraries. */
  json: Record<string, unknown>;
}

export function isSigstoreBundle(v: unknown): boolean {
  return (
    typeof v === 'object' &&
    v !== null &&
    typeof (v as { mediaType?: unknown }).mediaType === 'string' &&
    MEDIA_TYPE.test((v as { mediaType: string }).mediaType)
  );
}

export function parseSigstoreBundle(bytes: Uint8Array | Record<string, unknown>, what: string): SigstoreBundle {
  let json: Record<string, unknown>;
  if (bytes instanceof Uint8Array) {
    if (bytes.length > MAX_TEXT_PARSE_BYTES) throw new ParseError(`${what}: larger than ${MAX_TEXT_PARSE_BYTES} bytes`);
    let v: unknown;
    try {
      v = JSON.parse(new TextDecoder('utf-8', { fatal: true }).decode(bytes));
    } catch (e) {
      throw new ParseError(`${what}: not JSON: ${(e as Error).message}`);
    }
    if (typeof v !== 'object' || v === null || Array.isArray(v)) throw new ParseError(`${what}: not a JSON object`);
    json = v as Record<string, unknown>;
  } else json = bytes;
  const mediaType = typeof json.mediaType === 'string' ? json.mediaType : '';
  const m = MEDIA_TYPE.exec(mediaType);
  if (!m) throw new ParseError(`${what}: not a Sigstore bundle (mediaType "${mediaType.slice(0, 80)}")`);
  const vm = asObject(json.verificationMaterial);
  if (!vm) throw new ParseError(`${what}: the bundle has no verificationMaterial`);
  const material = readMaterial(vm, what);
  const tlog = Array.isArray(vm.tlogEntries) ? vm.tlogEntries : [];
  if (tlog.length > MAX_TLOG_ENTRIES) throw new ParseError(`${what}: more than ${MAX_TLOG_ENTRIES} transparency-log entries`);
  const tlogTimes: string[] = [];
  for (const e of tlog) {
    const t = asObject(e)?.integratedTime;
    const secs = typeof t === 'string' || typeof t === 'number' ? Number(t) : NaN;
    if (Number.isSafeInteger(secs) && secs > 0) tlogTimes.push(new Date(secs * 1000).toISOString());
  }
  const tsd = asObject(vm.timestampVerificationData);
  const tokens = tsd && Array.isArray(tsd.rfc3161Timestamps) ? tsd.rfc3161Timestamps.slice(0, MAX_TLOG_ENTRIES) : [];
  const rfc3161 = tokens.map((t, i) => decodeBase64(asObject(t)?.signedTimestamp, `${what}: rfc3161Timestamps[${i}].signedTimestamp`));
  const dsse = asObject(json.dsseEnvelope);
  const message = asObject(json.messageSignature);
  if (!dsse && !message) throw new ParseError(`${what}: the bundle has neither a dsseEnvelope nor a messageSignature`);
  return {
    mediaType,
    version: m[2] ?? m[3],
    material,
    tlogTimes,
    tlogEntries: tlog.length,
    rfc3161Timestamps: rfc3161,
    ...(dsse ? { dsseEnvelope: dsse } : {}),
    ...(message ? { messageSignature: message } : {}),
    json,
  };
}

function readMaterial(vm: Record<string, unknown>, what: string): VerificationMaterial {
  const pk = asObject(vm.publicKey);
  if (pk) {
    const hint = typeof pk.hint === 'string' && pk.hint ? pk.hint : undefined;
    const raw = typeof pk.rawBytes === 'string' ? decodeBase64(pk.rawBytes, `${what}: verificationMaterial.publicKey.rawBytes`) : undefined;
    return { kind: 'public-key', ...(hint ? { hint } : {}), ...(raw ? { rawKey: raw } : {}) };
  }
  const chain = asObject(vm.x509CertificateChain);
  if (chain) {
    const certs = Array.isArray(chain.certificates) ? chain.certificates : [];
    if (!certs.length || certs.length > MAX_CERTS) throw new ParseError(`${what}: x509CertificateChain holds ${certs.length} certificates (1 to ${MAX_CERTS})`);
    return {
      kind: 'certificate-chain',
      certificates: certs.map((c, i) => decodeBase64(asObject(c)?.rawBytes, `${what}: x509CertificateChain.certificates[${i}]`)),
    };
  }
  const cert = asObject(vm.certificate);
  if (cert) return { kind: 'certificate', certificate: decodeBase64(cert.rawBytes, `${what}: verificationMaterial.certificate`) };
  throw new ParseError(`${what}: verificationMaterial has no publicKey, x509CertificateChain or certificate`);
}

export function decodeBase64(v: unknown, what: string): Uint8Array {
  if (typeof v !== 'string' || !/^[A-Za-z0-9+/_-]*={0,2}$/.test(v.replace(/\s+/g, ''))) throw new ParseError(`${what} is not base64`);
  return new Uint8Array(Buffer.from(v.replace(/\s+/g, '').replace(/-/g, '+').replace(/_/g, '/'), 'base64'));
}

export function asObject(v: unknown): Record<string, unknown> | undefined {
  return typeof v === 'object' && v !== null && !Array.isArray(v) ? (v as Record<string, unknown>) : undefined;
}
