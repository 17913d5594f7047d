/**
 * JOSE: JWS (RFC 7515) and JWE (RFC 7516) in compact form anywhere in text (tokens in configs, logs, `.jwt`) and in
 * JSON form (general and flattened), JWK and JWK Sets (RFC 7517), with the algorithms of RFC 7518, RFC 8037 (OKP),
 * RFC 9864 (fully-specified Ed25519/Ed448) and RFC 9964 (ML-DSA, kty "AKP"). Names come from the catalogue's `jose`
 * table; sizes come from the key when the object carries one (`jwk`, `x5c`, `epk`), else the finding says the
 * parameter is unknown. Key material is never copied into a finding: only sizes, curves and RFC 7638 thumbprints.
 * @module
 */
import { createHash } from 'node:crypto';
import { readNode, unsignedBitLength } from '../pkix/der.js';
import { catalogue, type CatalogueEntry, type Described, type KeyParams } from '../catalogue/index.js';
import { ParseError } from '../errors.js';
import { MAX_DER_DEPTH, MAX_OBJECTS_PER_ARTIFACT, MAX_TEXT_PARSE_BYTES } from '../limits.js';
import type { Algorithm, DetectContext, ErrorEntry, Finding, FindingKind, FindingLocation } from '../model.js';
import { rsaFromOctets } from '../catalogue/infer.js';
import { type KeyInfo } from '../pkix/algorithm.js';
import { certificateFinding, parseCertificate } from '../pkix/certificate.js';
import { parseCms } from './cms.js';
import type { Detector, DetectResult } from './types.js';

export const joseDetector: Detector = {
  format: 'jose',
  description: 'JOSE: JWS and JWE (compact and JSON serializations), JWK and JWK Sets',
  claims: {
    names: ['*.jwt', '*.jws', '*.jwe', '*.jwk', '*.jwks', 'jwks.json'],
    // "eyJ" is base64url of '{"', the start of every compact header; the JSON forms name "kty" or "alg".
    contains: ['eyJ', '"kty"', '"alg"'],
  },
  detect: detectJose,
};

type Json = null | boolean | number | string | Json[] | { [k: string]: Json };
type JsonObject = { [k: string]: Json };

/** Where a JOSE object sits: a byte offset (compact tokens) or a path in a JSON document. */
type Where = { offset: number; path?: string } | { offset?: undefined; path: string };

class Collector {
  readonly findings: Finding[] = [];
  readonly errors: ErrorEntry[] = [];
  constructor(readonly ctx: DetectContext) {}
  fail(where: Where, what: string, e: unknown): void {
    // Only bad input is recorded here; anything else is a bug and goes to the registry as a detector crash.
    if (!(e instanceof ParseError)) throw e;
    const at = where.offset !== undefined ? `offset ${where.offset}` : where.path;
    this.errors.push({
      code: e.code,
      message: `${what} at ${at}: ${e.message}`,
      ...(where.offset !== undefined ? { offset: where.offset } : {}),
    });
  }
}

export function detectJose(bytes: Uint8Array, ctx: DetectContext): DetectResult {
  const out = new Collector(ctx);
  const buf = Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const text = buf.toString('latin1');
  scanCompact(text, out);
  if (ctx.whole && ctx.baseOffset === 0 && bytes.length <= MAX_TEXT_PARSE_BYTES) scanJsonDocument(buf, out);
  return { findings: out.findings, errors: out.errors };
}

// ───────────────────────────── base64url and JSON helpers ─────────────────────────────

const B64URL = /^[A-Za-z0-9_-]*$/;

/** RFC 7515 §2: base64url without padding. Rejects other characters and impossible lengths. */
function b64url(s: string, what: string): Buffer {
  if (!B64URL.test(s) || s.length % 4 === 1) throw new ParseError(`${what} is not base64url`);
  return Buffer.from(s, 'base64url');
}

function parseJsonObject(bytes: Uint8Array, what: string): JsonObject {
  let v: unknown;
  try {
    v = JSON.parse(Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).toString('utf8'));
  } catch (e) {
    if (!(e instanceof SyntaxError)) throw e;
    throw new ParseError(`${what} is not JSON`);
  }
  if (!isObject(v)) throw new ParseError(`${what} is not a JSON object`);
  return v;
}

function isObject(v: unknown): v is JsonObject {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

function str(o: JsonObject, k: string): string | undefined {
  const v = o[k];
  return typeof v === 'string' ? v : undefined;
}

const cat = () => catalogue();

// ───────────────────────────── compact serialization ─────────────────────────────

/**
 * Compact JWS (3 parts) and JWE (5 parts), RFC 7515 §7.1 / RFC 7516 §7.1. A token starts at a boundary with "eyJ"
 * and must not run on into more base64url (a 4-part string is neither). Parts may be empty (detached payload,
 * unsecured JWS, JWE with "dir").
 */
const COMPACT = /(?<![A-Za-z0-9_.-])eyJ[A-Za-z0-9_-]*\.[A-Za-z0-9_-]*\.[A-Za-z0-9_-]*(?:\.[A-Za-z0-9_-]*\.[A-Za-z0-9_-]*)?(?!\.?[A-Za-z0-9_-])/g;

function scanCompact(text: string, out: Collector): void {
  COMPACT.lastIndex = 0;
  let n = 0;
  for (let m = COMPACT.exec(text); m && n < MAX_OBJECTS_PER_ARTIFACT; m = COMPACT.exec(text)) {
    const parts = m[0].split('.');
    if (parts[0].length > MAX_TEXT_PARSE_BYTES) continue;
    // Junk that merely starts with "eyJ" is skipped silently (and without exceptions, which are slow in bulk):
    // only a JSON object header with "alg" is JOSE.
    const header = looseJsonObject(parts[0]);
    if (!header || typeof header.alg !== 'string') continue;
    if (parts.length === 5 && typeof header.enc !== 'string') continue;
    n++;
    const where = { offset: m.index };
    try {
      if (parts.length === 3) {
        const signature = b64url(parts[2], 'signature');
        const claims = header.b64 === false ? undefined : tryJson(parts[1]);
        out.findings.push(...describeJws(header, signature, where, claims, out, COMPACT_PLACE));
      } else {
        const encryptedKey = b64url(parts[1], 'encrypted key');
        // The content cipher is reported at the ciphertext's own offset, so it never collides with the key wrap.
        const ctOffset = m.index + parts[0].length + parts[1].length + parts[2].length + 3;
        out.findings.push(
          ...describeJwe(header, [{ header: {}, where, encryptedKeyBytes: encryptedKey.length, place: COMPACT_PLACE }], { offset: ctOffset }, out),
        );
      }
    } catch (e) {
      out.fail(where, parts.length === 3 ? 'JWS' : 'JWE', e);
    }
  }
}

/**
 * Where a header member sits, as a location path: `protected` (in the decoded protected header: all of a compact
 * token's header), `header` (a JSON serialization's per-signature or per-recipient unprotected header) or
 * `unprotected` (a JWE's shared unprotected header), under the path of the object that holds it (RFC 7515 §7.2,
 * RFC 7516 §7.2). Certificates of an `x5c` are located there, not at the top of the document.
 */
type HeaderPlace = (member: string) => string;

const COMPACT_PLACE: HeaderPlace = () => 'protected';

/** A JSON serialization's headers, as [path, header] in the order their union takes a member (a member should be in one only). */
function jsonPlace(layers: [string, JsonObject][]): HeaderPlace {
  return (m) => (layers.find(([, h]) => Object.hasOwn(h, m)) ?? layers[0])[0];
}

/** A base64url part that decodes to a JSON object, or undefined; cheap checks first so junk costs no exception. */
function looseJsonObject(part: string): JsonObject | undefined {
  if (part.length % 4 === 1) return undefined;
  const bytes = Buffer.from(part, 'base64url');
  let end = bytes.length - 1;
  while (end > 0 && (bytes[end] === 0x20 || bytes[end] === 0x0a || bytes[end] === 0x0d || bytes[end] === 0x09)) end--;
  if (bytes[0] !== 0x7b || bytes[end] !== 0x7d) return undefined;
  try {
    const v: unknown = JSON.parse(bytes.toString('utf8'));
    return isObject(v) ? v : undefined;
  } catch (e) {
    if (!(e instanceof SyntaxError)) throw e;
    return undefined;
  }
}

const tryJson = looseJsonObject;

// ───────────────────────────── JWS ─────────────────────────────

/** Signature lengths fixed by the algorithm (RFC 7518 §3.2, §3.4; RFC 8032; FIPS 204 Table 2). */
const SIGNATURE_BYTES: Record<string, number> = {
  HS256: 32,
  HS384: 48,
  HS512: 64,
  ES256: 64,
  ES256K: 64,
  ES384: 96,
  ES512: 132,
  Ed25519: 64,
  Ed448: 114,
  'ML-DSA-44': 2420,
  'ML-DSA-65': 3309,
  'ML-DSA-87': 4627,
};

/**
 * One JWS signature. `header` is the union of the protected and unprotected headers (RFC 7515 §4).
 * `alg: "none"` (RFC 7515 §A.5, RFC 7519 §6) is an unsecured JWS: reported as a signature finding with algorithm id
 * "none", quantum status "unknown" and 0 classical bits, because nothing protects it against anyone, quantum or not.
 */
function describeJws(header: JsonObject, signature: Uint8Array, where: Where, claims: JsonObject | undefined, out: Collector, place: HeaderPlace): Finding[] {
  const alg = str(header, 'alg');
  if (!alg) throw new ParseError('header has no "alg"');
  const details: Record<string, unknown> = { signatureBytes: signature.length };
  for (const k of ['kid', 'typ', 'cty', 'jku', 'x5u'] as const) if (typeof header[k] === 'string') details[k] = header[k];
  const extra = findingTimes(claims);
  if (alg === 'none') {
    if (signature.length !== 0) throw new ParseError('alg "none" with a non-empty signature');
    return [
      {
        kind: 'signature',
        format: 'jws',
        algorithm: { id: 'none', family: 'none', name: 'none' },
        quantum: { status: 'unknown', classicalBits: 0, nistLevel: null },
        location: loc(where),
        ...extra,
        details: { ...details, unsecured: true },
      },
    ];
  }
  const entry = cat().data.jose[alg];
  if (entry && entry.role !== 'signature') throw new ParseError(`"${alg}" is not a signature algorithm`);
  const certs: Finding[] = [];
  const key = signerKey(header, where, certs, out, place);
  let d: Described;
  if (!entry) {
    d = cat().resolve(undefined, {}, { name: alg });
  } else if (key) {
    d = resolveWithKey(entry, alg, key);
    details.keyFrom = key.source;
    if (d.algorithm.parameterKnown !== false) details.parameterFrom = key.source === 'x5c' ? 'certificate' : 'key';
  } else {
    d = cat().resolve(entry, {}, { name: alg });
    // RFC 8037 EdDSA names no curve; the signature length does (RFC 8032: 64 bytes Ed25519, 114 bytes Ed448).
    if (entry.family === 'EdDSA' && (signature.length === 64 || signature.length === 114)) {
      d = cat().byId(signature.length === 64 ? 'Ed25519' : 'Ed448', { name: alg });
    }
    // An RSA signature is exactly as long as the modulus (RFC 8017 §8.2.1; RFC 7518 §3.3, §3.5): its length sizes the key.
    if (entry.family === 'RSA') {
      const inferred = rsaFromOctets(entry, signature.length, 'signature-length', { name: alg });
      d = inferred;
      if (inferred.parameterFrom) details.parameterFrom = inferred.parameterFrom;
    }
  }
  const want = SIGNATURE_BYTES[alg] ?? (d.algorithm.family === 'EdDSA' ? SIGNATURE_BYTES[d.algorithm.id] : undefined);
  if (want !== undefined && signature.length !== want) throw new ParseError(`${alg} signature is ${signature.length} bytes, not ${want}`);
  if (entry?.family === 'RSA' && key?.bits && signature.length !== Math.ceil(key.bits / 8)) {
    throw new ParseError(`${alg} signature is ${signature.length} bytes for a ${key.bits}-bit key`);
  }
  // The leaf of x5c signed it (RFC 7515 §4.1.6): the scan's signer join links the signature to that certificate.
  const leaf = key?.source === 'x5c' ? certs.find((c) => c.location.path?.endsWith('x5c[0]')) : undefined;
  if (leaf?.fingerprint) details.signerCertificate = leaf.fingerprint;
  const finding: Finding = { kind: 'signature', format: 'jws', algorithm: d.algorithm, quantum: d.quantum, location: loc(where), ...extra, details };
  return [finding, ...certs, ...notaryTimestamp(header, where, out)];
}

/** Notary Project JWS envelopes carry an RFC 3161 countersignature in the unprotected header (signature spec §JWS). */
const NOTARY_TIMESTAMP = 'io.cncf.notary.timestampSignature';

/**
 * The Notary Project timestamp countersignature: standard base64 of a TimeStampToken, a CMS SignedData over TSTInfo
 * (RFC 3161 §2.4.2) with the TSA's chain in its certificate set. Read by the CMS walker; its findings sit under the
 * header member's path (the DER lives in decoded base64, so a byte offset would point nowhere).
 */
function notaryTimestamp(header: JsonObject, where: Where, out: Collector): Finding[] {
  const value = header[NOTARY_TIMESTAMP];
  if (value === undefined) return [];
  const at = where.path !== undefined ? `${where.path}.header["${NOTARY_TIMESTAMP}"]` : `header["${NOTARY_TIMESTAMP}"]`;
  try {
    if (typeof value !== 'string' || !/^[A-Za-z0-9+/]+={0,2}$/.test(value)) throw new ParseError('timestamp signature is not base64');
    const cms = parseCms(new Uint8Array(Buffer.from(value, 'base64')), { format: 'jws' });
    for (const { offset: _inDer, ...e } of cms.errors) {
      out.errors.push({ ...e, message: `${NOTARY_TIMESTAMP}: ${e.message}`, ...(where.offset !== undefined ? { offset: where.offset } : {}) });
    }
    return cms.findings.map((f) => {
      const location: FindingLocation = { path: f.location.path ? `${at}.${f.location.path}` : at };
      if (where.offset !== undefined) location.offset = where.offset;
      return { ...f, location, details: { ...f.details, countersignatureOf: 'jws' } };
    });
  } catch (e) {
    out.fail(where, NOTARY_TIMESTAMP, e);
    return [];
  }
}

/** JWT claims (RFC 7519 §4.1) that date the token: iat → created, exp → notAfter, iss → issuer. */
function findingTimes(claims: JsonObject | undefined): Partial<Finding> {
  if (!claims) return {};
  const out: Partial<Finding> = {};
  const time = (v: Json | undefined): string | undefined =>
    typeof v === 'number' && Number.isFinite(v) && v >= 0 && v < 253402300800 ? new Date(Math.floor(v) * 1000).toISOString() : undefined;
  const iat = time(claims.iat);
  const exp = time(claims.exp);
  if (iat) out.created = iat;
  if (exp) out.notAfter = exp;
  if (typeof claims.iss === 'string') out.issuer = claims.iss.slice(0, 256);
  return out;
}

function loc(where: Where, suffix?: string): FindingLocation {
  const path = where.path !== undefined ? (suffix ? `${where.path}.${suffix}` : where.path) : suffix;
  const l: FindingLocation = {};
  if (where.offset !== undefined) l.offset = where.offset;
  if (path) l.path = path;
  return l;
}

interface JoseKey extends KeyInfo {
  /** `jwk` header, `x5c` leaf certificate, or `epk`. */
  source: string;
  kty: string;
}

/** The signer's key when the header carries it: `jwk` (RFC 7515 §4.1.3) or `x5c` (§4.1.6, leaf first). */
function signerKey(header: JsonObject, where: Where, certs: Finding[], out: Collector, place: HeaderPlace): JoseKey | undefined {
  if (isObject(header.jwk)) return { ...describeJwkKey(header.jwk), source: 'jwk' };
  if (Array.isArray(header.x5c) && header.x5c.length > 0) return x5cKey(header.x5c, where, certs, out, 'jws', place('x5c'));
  return undefined;
}

/** The certificates of an `x5c` (leaf first), located at `at` (the header that holds it, HeaderPlace). */
function x5cKey(x5c: Json[], where: Where, certs: Finding[], out: Collector, format: string, at: string): JoseKey | undefined {
  let leaf: JoseKey | undefined;
  for (let i = 0; i < x5c.length && i < 16; i++) {
    const s = x5c[i];
    try {
      // x5c entries are standard base64 (not base64url) DER (RFC 7515 §4.1.6).
      if (typeof s !== 'string' || !/^[A-Za-z0-9+/]+={0,2}$/.test(s)) throw new ParseError('x5c entry is not base64');
      const der = new Uint8Array(Buffer.from(s, 'base64'));
      const cert = parseCertificate(readNode(der, 0, der.length));
      const f = certificateFinding(cert, format, where.offset ?? 0, `${at}.x5c[${i}]`);
      if (where.offset === undefined) delete f.location.offset;
      certs.push(f);
      if (i === 0) leaf = { ...cert.key, source: 'x5c', kty: cert.key.algorithm.family };
    } catch (e) {
      out.fail(where, `x5c[${i}]`, e);
    }
  }
  return leaf;
}

/** Size a family-only `alg` (RS256, PS384, EdDSA, ECDH-ES …) from the key, checking that they agree. */
function resolveWithKey(entry: CatalogueEntry, alg: string, key: JoseKey): Described {
  const params: KeyParams = {};
  const keyFamily = key.algorithm.family;
  if (entry.family === 'RSA') {
    if (keyFamily !== 'RSA') throw new ParseError(`${alg} with a ${key.algorithm.id} key`);
    params.bits = key.bits;
  } else if (entry.family === 'EdDSA') {
    if (keyFamily !== 'EdDSA') throw new ParseError(`${alg} with a ${key.algorithm.id} key`);
    params.id = key.algorithm.id;
  } else if (entry.family === 'ECDH') {
    if (key.curve) params.curve = key.curve;
    else if (key.algorithm.family === 'XDH') params.id = key.algorithm.id;
    else throw new ParseError(`${alg} with a ${key.algorithm.id} key`);
  } else if (entry.id && key.kty !== 'oct' && entry.id !== key.algorithm.id) {
    // A fully specified alg (ES256, Ed25519, ML-DSA-65 …) names the key exactly: any other key contradicts it.
    throw new ParseError(`${alg} with a ${key.algorithm.id} key`);
  }
  return cat().resolve(entry, params, { name: alg });
}

// ───────────────────────────── JWE ─────────────────────────────

/**
 * A JWE: one key-management finding per recipient (its `alg`, sized from `epk`/`jwk`/`x5c` when present) and one
 * content-encryption finding (`enc`). "dir" (RFC 7518 §4.5) has no key management: only `enc` is reported.
 */
function describeJwe(
  shared: JsonObject,
  recipients: { header: JsonObject; where: Where; encryptedKeyBytes?: number; place: HeaderPlace }[],
  contentWhere: Where,
  out: Collector,
): Finding[] {
  const findings: Finding[] = [];
  const encName = str(shared, 'enc');
  if (!encName) throw new ParseError('JWE header has no "enc"');
  const encEntry = cat().data.jose[encName];
  if (encEntry && encEntry.role !== 'cipher') throw new ParseError(`"${encName}" is not a content encryption algorithm`);
  for (const r of recipients) {
    const header = { ...shared, ...r.header };
    const alg = str(header, 'alg');
    if (!alg) throw new ParseError('JWE recipient has no "alg"');
    if (alg === 'dir') continue;
    const entry = cat().data.jose[alg];
    if (entry?.role === 'signature') throw new ParseError(`"${alg}" is a signature algorithm, not key management`);
    const details: Record<string, unknown> = { enc: encName };
    if (typeof header.kid === 'string') details.kid = header.kid;
    if (typeof header.p2c === 'number') details.iterations = header.p2c;
    let key: JoseKey | undefined;
    if (isObject(header.epk)) key = { ...describeJwkKey(header.epk), source: 'epk' };
    else key = signerKey(header, r.where, findings, out, r.place);
    let d: Described;
    if (!entry) d = cat().resolve(undefined, {}, { name: alg });
    else if (key && entry.family) {
      d = resolveWithKey(entry, alg, key);
      if (d.algorithm.parameterKnown !== false) details.parameterFrom = key.source === 'x5c' ? 'certificate' : 'key';
    } else if (entry.family === 'RSA' && r.encryptedKeyBytes) {
      // RSA1_5 and RSA-OAEP* encrypted keys are exactly as long as the modulus (RFC 8017 §7.1.1, §7.2.1; RFC 7518 §4.2, §4.3).
      const inferred = rsaFromOctets(entry, r.encryptedKeyBytes, 'ciphertext-length', { name: alg });
      d = inferred;
      if (inferred.parameterFrom) details.parameterFrom = inferred.parameterFrom;
    } else d = cat().resolve(entry, {}, { name: alg });
    if (key) details.keyFrom = key.source;
    findings.push({ kind: 'encrypted-data', format: 'jwe', algorithm: d.algorithm, quantum: d.quantum, location: loc(r.where), details });
  }
  const c = cat().resolve(encEntry, {}, { name: encName });
  findings.push({
    kind: 'encrypted-data',
    format: 'jwe',
    algorithm: c.algorithm,
    quantum: c.quantum,
    location: loc(contentWhere),
    details: { role: 'content-encryption', recipients: recipients.length },
  });
  return findings;
}

// ───────────────────────────── JWK ─────────────────────────────

/** Decoded sizes of a JWK's public part. Throws on a JWK that misses what its kty requires (RFC 7518 §6, RFC 8037 §2). */
function describeJwkKey(jwk: JsonObject): { algorithm: Algorithm; quantum: Described['quantum']; bits?: number; curve?: string; kty: string } {
  const kty = str(jwk, 'kty');
  const alg = str(jwk, 'alg');
  const need = (k: string): Buffer => {
    const v = str(jwk, k);
    if (v === undefined) throw new ParseError(`${kty} JWK has no "${k}"`);
    const b = b64url(v, `"${k}"`);
    if (b.length === 0) throw new ParseError(`${kty} JWK has an empty "${k}"`);
    return b;
  };
  switch (kty) {
    case 'RSA': {
      const bits = unsignedBitLength(need('n'));
      if (bits < 256) throw new ParseError(`RSA JWK modulus of ${bits} bits`);
      need('e');
      return { ...cat().forKey('RSA', bits), bits, kty };
    }
    case 'EC': {
      const crv = str(jwk, 'crv');
      const token = crv ? cat().curve(crv) : undefined;
      if (!crv || !token) throw new ParseError(`EC JWK with unknown curve ${JSON.stringify(crv ?? null)}`, undefined, 'unsupported');
      const fieldBytes = token === 'P521' ? 66 : Math.ceil((cat().curveBits(token) ?? 0) / 4);
      for (const c of ['x', 'y']) if (need(c).length !== fieldBytes) throw new ParseError(`EC JWK "${c}" is not ${fieldBytes} bytes for ${crv}`);
      // RFC 7518 §6.2: the same key type serves ECDSA and ECDH-ES; "alg" or "use" says which.
      const family = alg?.startsWith('ECDH-ES') || str(jwk, 'use') === 'enc' ? 'ECDH' : 'ECDSA';
      return { ...cat().forKey(family, token), curve: token, kty };
    }
    case 'OKP': {
      // RFC 8037 §2: crv names the algorithm; x is the raw public key.
      const sizes: Record<string, number> = { Ed25519: 32, Ed448: 57, X25519: 32, X448: 56 };
      const crv = str(jwk, 'crv');
      if (!crv || !(crv in sizes)) throw new ParseError(`OKP JWK with unknown curve ${JSON.stringify(crv ?? null)}`, undefined, 'unsupported');
      if (need('x').length !== sizes[crv]) throw new ParseError(`OKP JWK "x" is not ${sizes[crv]} bytes for ${crv}`);
      return { ...cat().byId(crv), kty };
    }
    case 'AKP': {
      // RFC 9964 §4: kty "AKP" requires "alg"; "pub" is the FIPS 204 public key of that parameter set.
      const sizes: Record<string, number> = { 'ML-DSA-44': 1312, 'ML-DSA-65': 1952, 'ML-DSA-87': 2592 };
      if (!alg || !(alg in sizes)) throw new ParseError(`AKP JWK with unsupported alg ${JSON.stringify(alg ?? null)}`, undefined, 'unsupported');
      if (need('pub').length !== sizes[alg]) throw new ParseError(`AKP JWK "pub" is not ${sizes[alg]} bytes for ${alg}`);
      return { ...cat().resolve(cat().data.jose[alg], {}, { name: alg }), kty };
    }
    case 'oct':
      return { ...describeOctKey(jwk, need('k').length * 8), kty };
    default:
      throw new ParseError(`unsupported kty ${JSON.stringify(kty ?? null)}`, undefined, 'unsupported');
  }
}

/**
 * A symmetric JWK (RFC 7518 §6.4): named by its "alg" when present, checked against the key length; without "alg",
 * a 128/192/256-bit key is reported as AES of that size (details.algorithmInferred), anything else as HMAC.
 */
function describeOctKey(jwk: JsonObject, bits: number): Described & { bits: number } {
  const alg = str(jwk, 'alg');
  const entry = alg ? cat().data.jose[alg] : undefined;
  if (alg && entry) {
    const d = cat().resolve(entry, {}, { name: alg });
    if (d.algorithm.family === 'AES') {
      const aesBits = Number(d.algorithm.id.slice(4));
      const wantBits = entry.mode === 'CBC-HMAC' ? aesBits * 2 : aesBits;
      if (bits !== wantBits) throw new ParseError(`oct JWK for ${alg} has a ${bits}-bit key, not ${wantBits}`);
    }
    return { ...d, bits };
  }
  if (str(jwk, 'use') !== 'sig' && (bits === 128 || bits === 192 || bits === 256)) return { ...cat().byId(`AES-${bits}`), bits };
  return { ...cat().byId('HMAC'), bits };
}

/** RFC 7638 §3.2: thumbprint over the required public members, in lexicographic order. Not for oct keys (secret). */
function jwkThumbprint(jwk: JsonObject): string | undefined {
  const members: Record<string, string[]> = { RSA: ['e', 'kty', 'n'], EC: ['crv', 'kty', 'x', 'y'], OKP: ['crv', 'kty', 'x'], AKP: ['alg', 'kty', 'pub'] };
  const names = members[str(jwk, 'kty') ?? ''];
  if (!names) return undefined;
  const obj: Record<string, Json> = {};
  for (const n of names) obj[n] = jwk[n];
  return createHash('sha256').update(JSON.stringify(obj)).digest('base64url');
}

function jwkFinding(jwk: JsonObject, where: Where): Finding {
  const key = describeJwkKey(jwk);
  const kty = key.kty;
  const isPrivate = kty === 'oct' || (kty === 'AKP' ? 'priv' in jwk : 'd' in jwk);
  const kind: FindingKind = isPrivate ? 'private-key' : 'public-key';
  const details: Record<string, unknown> = { kty };
  for (const k of ['kid', 'use', 'alg', 'crv'] as const) if (typeof jwk[k] === 'string') details[k] = jwk[k];
  if (Array.isArray(jwk.key_ops)) details.keyOps = jwk.key_ops.filter((x) => typeof x === 'string');
  if (kty === 'oct') {
    details.keyBits = key.bits;
    if (!str(jwk, 'alg')) details.algorithmInferred = true;
  }
  if (Array.isArray(jwk.x5c)) details.x5c = jwk.x5c.length;
  const f: Finding = { kind, format: 'jwk', algorithm: key.algorithm, quantum: key.quantum, location: loc(where) };
  const tp = jwkThumbprint(jwk);
  if (tp) f.fingerprint = tp;
  if (typeof jwk.kid === 'string') f.subject = jwk.kid.slice(0, 256);
  f.details = details;
  return f;
}

// ───────────────────────────── JSON documents ─────────────────────────────

const MAX_JSON_DEPTH = MAX_DER_DEPTH;

/** A whole-file JSON document: JWK, JWKS, JWS/JWE JSON serializations, anywhere in its tree. */
function scanJsonDocument(buf: Buffer, out: Collector): void {
  let i = 0;
  while (i < buf.length && (buf[i] === 0x20 || buf[i] === 0x0a || buf[i] === 0x0d || buf[i] === 0x09)) i++;
  if (buf[i] === 0xef && buf[i + 1] === 0xbb && buf[i + 2] === 0xbf) i += 3; // UTF-8 BOM
  if (buf[i] !== 0x7b && buf[i] !== 0x5b) return; // '{' or '['
  let doc: unknown;
  try {
    doc = JSON.parse(buf.toString('utf8', i));
  } catch (e) {
    if (!(e instanceof SyntaxError)) throw e;
    // Only a file that says it is a JWK/JWKS owes us JSON; other JSON-looking text is someone else's business.
    if (/\.(jwk|jwks)$/i.test(out.ctx.name)) out.fail({ offset: i }, 'JWK file', new ParseError(`not valid JSON (${e.message})`));
    return;
  }
  const budget = { nodes: 0 };
  walk(doc as Json, '$', 0, out, budget);
}

function walk(node: Json, path: string, depth: number, out: Collector, budget: { nodes: number }): void {
  if (depth > MAX_JSON_DEPTH || ++budget.nodes > MAX_OBJECTS_PER_ARTIFACT * 10) return;
  if (Array.isArray(node)) {
    node.forEach((v, i) => walk(v, `${path}[${i}]`, depth + 1, out, budget));
    return;
  }
  if (!isObject(node)) return;
  const where = { path };
  if (typeof node.kty === 'string') {
    try {
      out.findings.push(jwkFinding(node, where));
    } catch (e) {
      out.fail(where, 'JWK', e);
    }
    return;
  }
  // RFC 7515 §7.2.1: every member of "signatures" has "signature" and a header (DSSE envelopes, with "sig", do not).
  if (Array.isArray(node.signatures) && node.signatures.length > 0 && node.signatures.every(isJwsSignatureObject)) {
    jwsJson(node, node.signatures as JsonObject[], where, out);
    return;
  }
  if (typeof node.signature === 'string' && (typeof node.protected === 'string' || isObject(node.header))) {
    jwsJson(node, [node], where, out, true);
    return;
  }
  if (
    typeof node.ciphertext === 'string' &&
    (typeof node.protected === 'string' || isObject(node.unprotected) || isObject(node.header) || Array.isArray(node.recipients))
  ) {
    jweJson(node, where, out);
    return;
  }
  for (const [k, v] of Object.entries(node)) walk(v, `${path}.${k}`, depth + 1, out, budget);
}

function isJwsSignatureObject(v: Json): boolean {
  return isObject(v) && typeof v.signature === 'string' && (typeof v.protected === 'string' || isObject(v.header));
}

function protectedHeader(o: JsonObject): JsonObject {
  const p = str(o, 'protected');
  return p === undefined || p === '' ? {} : parseJsonObject(b64url(p, 'protected header'), 'protected header');
}

/** RFC 7515 §7.2.1 (general: every signature) and §7.2.2 (flattened). */
function jwsJson(doc: JsonObject, sigs: JsonObject[], where: { path: string }, out: Collector, flattened = false): void {
  const payload = str(doc, 'payload');
  sigs.slice(0, MAX_OBJECTS_PER_ARTIFACT).forEach((s, i) => {
    const w = { path: flattened ? where.path : `${where.path}.signatures[${i}]` };
    try {
      const prot = protectedHeader(s);
      const own = isObject(s.header) ? s.header : {};
      const header = { ...own, ...prot };
      const sig = b64url(str(s, 'signature') ?? '', 'signature');
      const claims = payload !== undefined && header.b64 !== false ? tryJson(payload) : undefined;
      out.findings.push(
        ...describeJws(
          header,
          sig,
          w,
          claims,
          out,
          jsonPlace([
            [`${w.path}.protected`, prot],
            [`${w.path}.header`, own],
          ]),
        ),
      );
    } catch (e) {
      out.fail(w, 'JWS', e);
    }
  });
}

/** RFC 7516 §7.2.1 (general: every recipient) and §7.2.2 (flattened). */
function jweJson(doc: JsonObject, where: { path: string }, out: Collector): void {
  try {
    const unprotected = isObject(doc.unprotected) ? doc.unprotected : {};
    const prot = protectedHeader(doc);
    const shared = { ...unprotected, ...prot };
    const list = Array.isArray(doc.recipients) ? doc.recipients : [doc];
    const recipients = list.slice(0, MAX_OBJECTS_PER_ARTIFACT).map((r, i) => {
      const encryptedKey = isObject(r) && typeof r.encrypted_key === 'string' ? b64url(r.encrypted_key, 'encrypted key') : undefined;
      const header = isObject(r) && isObject(r.header) ? r.header : {};
      const path = Array.isArray(doc.recipients) ? `${where.path}.recipients[${i}]` : where.path;
      return {
        header,
        where: { path },
        place: jsonPlace([
          [`${path}.header`, header],
          [`${where.path}.protected`, prot],
          [`${where.path}.unprotected`, unprotected],
        ]),
        ...(encryptedKey ? { encryptedKeyBytes: encryptedKey.length } : {}),
      };
    });
    if (recipients.length === 0) throw new ParseError('JWE with no recipients');
    out.findings.push(...describeJwe(shared, recipients, { path: `${where.path}.ciphertext` }, out));
  } catch (e) {
    out.fail(where, 'JWE', e);
  }
}
