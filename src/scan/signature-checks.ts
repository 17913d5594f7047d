/**
 * Checking a detached signature over the bytes it covers (docs/coverage.md): what each format needs from the signed
 * artifact (a digest, or a digest with a prefix or suffix: `DigestRequest`) and how the check ends once that is known.
 * The artifact's bytes are never held here: the caller satisfies the requests from the digest the scan already has,
 * or by one streamed second read of a local file (src/scan/digests.ts). Keys come from the signature itself (a CMS
 * certificate, a Sigstore or shelflife bundle's certificate) or from the scan (`KeyRing`: OpenPGP keys, minisign and
 * signify public keys, PEM keys and certificates found among its artifacts).
 *
 * Formats, by content (never by name):
 * - OpenPGP v3/v4/v6 binary and text signatures (RFC 9580 §5.2.4: the hash over the data, then the hashed part of
 *   the signature and its trailer; v6 salts the hash first), RSA, ECDSA (P-256/384/521, secp256k1), EdDSA; cleartext
 *   signatures (§7) over their own text;
 * - minisign (`ED`: Ed25519 over BLAKE2b-512 of the file, plus the global signature over the trusted comment; `Ed`:
 *   over the file itself) and signify (Ed25519 over the file), pure Ed25519 checked streaming (RFC 8032 §5.1.7 with
 *   k = SHA-512(R ‖ A ‖ M) computed over the stream);
 * - CMS SignedData, detached (RFC 5652 §5.4: message-digest attribute, signature over the DER signed attributes), with
 *   classical signers (RSA PKCS#1 v1.5 and PSS, ECDSA, Ed25519) and shelflife's composite ML-DSA signers (src/resign);
 * - Sigstore bundles (message signatures: the digest and a signature over the file; DSSE: subjects' digests and the
 *   signature over PAE), bare DSSE envelopes and in-toto JSON Lines, cosign blob bundles and cosign's base64 `.sig`
 *   with a certificate or key beside it, shelflife's hybrid DSSE bundles.
 * `verified`: the signature verifies over these bytes with the key named; it says nothing about trusting the signer
 * (that is `provenance --trust`). `failed`: it does not (or its digest names other bytes). `unverifiable`: the key is
 * not in the scan, the algorithm is not checked here, or the bytes could not be read again.
 * @module
 */
import { constants, createHash, createPublicKey, publicDecrypt, verify as nodeVerify, X509Certificate, type KeyObject } from 'node:crypto';
import { ed25519 } from '@noble/curves/ed25519.js';
import { p256, p384, p521 } from '@noble/curves/nist.js';
import { secp256k1 } from '@noble/curves/secp256k1.js';
import { parseDer, TAG, type DerNode } from '../pkix/der.js';
import { catalogue, type Described } from '../catalogue/index.js';
import { readOpenPgpRaw, type RawOpenPgpKey, type RawOpenPgpSignature } from '../detectors/openpgp.js';
import { parseEd25519Blobs } from '../detectors/minisign.js';
import { errorMessage, ShelflifeError } from '../errors.js';
import { MAX_SIGNER_CANDIDATES, MAX_TEXT_PARSE_BYTES } from '../limits.js';
import type { ArtifactResult, SignatureVerification } from '../model.js';
import { parseSigstoreBundle, isSigstoreBundle, type SigstoreBundle } from '../provenance/sigstore-bundle.js';
import { describeKey, verifyWithKey } from '../provenance/verify.js';
import { checkDigestRule, parseSignedData, signerMatches, verifySigner } from '../resign/cms.js';
import { algorithmByOid } from '../resign/composite.js';
import { BUNDLE_MEDIA_TYPE, pae, parseBundle, verifyBundle } from '../resign/dsse.js';

/** What a check needs from the signed artifact: a digest of its bytes, with what comes before and after them. */
export interface DigestRequest {
  /** node:crypto hash name: `sha256`, `sha512`, `blake2b512`, `shake256` … */
  hash: string;
  /** Output length in bytes for an XOF (`shake256`). */
  outputLength?: number;
  /** Hashed before the artifact's bytes (v6 OpenPGP salt; R ‖ A of a pure Ed25519 signature). */
  prefix?: Uint8Array;
  /** Hashed after them (an OpenPGP signature's hashed part and trailer). */
  suffix?: Uint8Array;
  /** Canonical text: every line ending as CR LF (an OpenPGP text signature, RFC 9580 §5.2.1.2). */
  text?: boolean;
  /** Only these bytes of the artifact, [start, end) (a model signature's shards). */
  range?: [number, number];
}

export interface CheckOutcome {
  verification: SignatureVerification;
  /** Why, in words, for `failed` and `unverifiable`. */
  reason?: string;
  /** A hybrid or post-quantum signature (composite ML-DSA, ML-DSA). */
  postQuantum?: boolean;
  /** The algorithm of the key that verified it, when the signature file alone does not name it (cosign's base64 `.sig`). */
  algorithm?: Described;
  /** Where the key that verified it was found in the scan (the signer join, src/scan/signers.ts joinVerifiedSigner). */
  signer?: KeySource;
}

/** The artifact a key of the ring was read from, and the key's fingerprint as its finding carries it. */
export interface KeySource {
  artifact: ArtifactResult;
  /** SHA-256 of the SubjectPublicKeyInfo DER (a key) or of the certificate DER (a certificate), lower-case hex. */
  fingerprint: string;
}

/** A check waiting for digests of the signed artifact, one per request, in order. */
export interface PlannedCheck {
  requests: DigestRequest[];
  finish(digests: readonly Uint8Array[]): CheckOutcome;
}

export type Planned = PlannedCheck | CheckOutcome;

export function isPlanned(p: Planned): p is PlannedCheck {
  return (p as PlannedCheck).requests !== undefined;
}

const unverifiable = (reason: string): CheckOutcome => ({ verification: 'unverifiable', reason });
const failed = (reason: string): CheckOutcome => ({ verification: 'failed', reason });
const verified = (postQuantum = false): CheckOutcome => ({ verification: 'verified', ...(postQuantum ? { postQuantum } : {}) });

/** node:crypto names of the hashes signatures use (DESIGN.md hash ids → OpenSSL names). */
const NODE_HASH: Record<string, string> = {
  MD5: 'md5',
  'SHA-1': 'sha1',
  'SHA-224': 'sha224',
  'SHA-256': 'sha256',
  'SHA-384': 'sha384',
  'SHA-512': 'sha512',
  'SHA3-256': 'sha3-256',
  'SHA3-512': 'sha3-512',
};

export function nodeHashName(hash: string): string | undefined {
  return NODE_HASH[hash];
}

// ───────────────────────────── keys in the scan ─────────────────────────────

/** Public keys and certificates found among a scan's artifacts, for signatures that name a key but do not carry it. */
export class KeyRing {
  /** OpenPGP keys (primary and subkeys) by fingerprint and by key id, lower-case hex. */
  readonly openpgp = new Map<string, RawOpenPgpKey>();
  /** minisign / signify public keys (32 bytes) by their 8-byte key number (as the files store it, hex). */
  readonly ed25519 = new Map<string, Uint8Array>();
  /** PEM/DER public keys and certificates' keys. */
  readonly keys: KeyObject[] = [];
  readonly certificates: X509Certificate[] = [];
  /** Where each of `keys` was found, when the caller said (the scan's artifacts). */
  private readonly sources = new Map<KeyObject, KeySource>();

  /** Read every key the bytes hold (`from`: the artifact they are); anything unparseable is simply not a key. */
  add(bytes: Uint8Array, from?: ArtifactResult): void {
    if (bytes.length > MAX_TEXT_PARSE_BYTES) return;
    for (const k of readOpenPgpRaw(bytes).keys) {
      this.openpgp.set(k.fingerprint.toLowerCase(), k);
      if (!this.openpgp.has(k.keyId.toLowerCase())) this.openpgp.set(k.keyId.toLowerCase(), k);
    }
    for (const b of parseEd25519Blobs(bytes, { name: '' })) if (b.kind === 'public-key') this.ed25519.set(hex(b.raw.subarray(2, 10)), b.raw.subarray(10, 42));
    for (const block of pemBlocks(bytes)) this.addDer(block.label, block.der, from);
    if (bytes[0] === 0x30 && bytes.length < 64 * 1024) this.addDer('', bytes, from);
  }

  private addDer(label: string, der: Uint8Array, from: ArtifactResult | undefined): void {
    if (label === 'CERTIFICATE' || label === '') {
      const cert = tryCertificate(der);
      if (cert) {
        this.certificates.push(cert);
        const key = certKey(cert);
        if (key) this.push(key, der, from);
        return;
      }
    }
    if (label === 'PUBLIC KEY' || label === '') {
      const key = tryKey(() => createPublicKey({ key: Buffer.from(der), format: 'der', type: 'spki' }));
      if (key) this.push(key, der, from);
    }
  }

  private push(key: KeyObject, der: Uint8Array, from: ArtifactResult | undefined): void {
    this.keys.push(key);
    if (from) this.sources.set(key, { artifact: from, fingerprint: createHash('sha256').update(der).digest('hex') });
  }

  /** Where a key of the ring was found, if the caller said. */
  sourceOf(key: KeyObject): KeySource | undefined {
    return this.sources.get(key);
  }

  /**
   * The keys that can have made a signature of this algorithm (its family; an RSA one's modulus when the signature's
   * length fixed it), at most MAX_SIGNER_CANDIDATES of them: the candidates of a signature that names no key.
   */
  candidates(alg: { family: string; id: string; parameterKnown?: boolean }): KeyObject[] {
    const types = KEY_TYPES[alg.family];
    const bits = alg.family === 'RSA' && alg.parameterKnown !== false ? Number(alg.id.match(/^RSA-(\d+)$/)?.[1]) : undefined;
    const out: KeyObject[] = [];
    for (const k of this.keys) {
      if (out.length >= MAX_SIGNER_CANDIDATES) break;
      if (types && !types.includes(k.asymmetricKeyType ?? '')) continue;
      if (bits && k.asymmetricKeyDetails?.modulusLength !== bits) continue;
      out.push(k);
    }
    return out;
  }
}

/** node:crypto key types by signature family (an unknown family: any key). */
const KEY_TYPES: Record<string, string[]> = { RSA: ['rsa', 'rsa-pss'], ECDSA: ['ec'], EdDSA: ['ed25519', 'ed448'], Ed25519: ['ed25519'] };

function tryCertificate(der: Uint8Array): X509Certificate | undefined {
  try {
    return new X509Certificate(Buffer.from(der));
  } catch {
    return undefined; // not a certificate OpenSSL reads: not a key for checking signatures
  }
}

/** A certificate's key, when OpenSSL can use it (not a post-quantum or malformed key). */
function certKey(cert: X509Certificate | undefined): KeyObject | undefined {
  return cert ? tryKey(() => cert.publicKey) : undefined;
}

function tryKey(f: () => KeyObject): KeyObject | undefined {
  try {
    return f();
  } catch {
    return undefined; // key material OpenSSL does not accept: not usable for a check
  }
}

/** PEM blocks, found with indexOf (linear on hostile input). */
export function pemBlocks(bytes: Uint8Array): { label: string; der: Uint8Array }[] {
  const text = Buffer.from(bytes.buffer, bytes.byteOffset, Math.min(bytes.byteLength, MAX_TEXT_PARSE_BYTES)).toString('latin1');
  const out: { label: string; der: Uint8Array }[] = [];
  let pos = 0;
  while (out.length < 256) {
    const begin = text.indexOf('-----BEGIN ', pos);
    if (begin < 0) break;
    const labelEnd = text.indexOf('-----', begin + 11);
    if (labelEnd < 0 || labelEnd - begin > 80) break;
    const label = text.slice(begin + 11, labelEnd);
    const endMarker = `-----END ${label}-----`;
    const end = text.indexOf(endMarker, labelEnd + 5);
    if (end < 0) break;
    const body = text
      .slice(labelEnd + 5, end)
      .split(/\r?\n/)
      .filter((l) => l && !l.includes(':'))
      .join('');
    if (/^[A-Za-z0-9+/=\s]*$/.test(body)) out.push({ label, der: new Uint8Array(Buffer.from(body, 'base64')) });
    pos = end + endMarker.length;
  }
  return out;
}

// ───────────────────────────── entry point ─────────────────────────────

export interface PlanContext {
  keys: KeyRing;
  /** Certificates and keys in a sibling that belongs to this signature (cosign's `X.pem` / `X.crt` beside `X.sig`). */
  siblingKeys?: Uint8Array[];
  /** The signed artifact's name, for messages. */
  subject: string;
}

/**
 * The checks one detached signature file calls for, one per signature it holds, in the order its detector reports
 * them. An empty list: not a signature format checked here (the link is then `unverifiable`).
 */
export function planDetachedChecks(sig: Uint8Array, uri: string, ctx: PlanContext): Planned[] {
  if (sig.length > MAX_TEXT_PARSE_BYTES) return [unverifiable(`larger than ${MAX_TEXT_PARSE_BYTES} bytes; not read as a signature`)];
  const first = sig.find((b) => b !== 0x20 && b !== 0x0a && b !== 0x0d && b !== 0x09 && b !== 0xef && b !== 0xbb && b !== 0xbf);
  try {
    if (first === 0x7b /* { */) return planJson(sig, uri, ctx);
    const text = Buffer.from(sig.buffer, sig.byteOffset, Math.min(sig.byteLength, 4096)).toString('latin1');
    if (text.includes('untrusted comment:')) return planEd25519Blobs(sig, ctx);
    const cms = cmsDer(sig);
    if (cms) return planCms(cms, uri, ctx);
    const pgp = readOpenPgpRaw(sig);
    if (pgp.signatures.length) return pgp.signatures.map((s) => planOpenPgp(s, ctx.keys));
    const raw = base64Signature(sig);
    if (raw) return [planRawSignature(raw, ctx)];
  } catch (e) {
    if (!(e instanceof ShelflifeError)) throw e;
    return [unverifiable(`cannot be read as a signature: ${errorMessage(e)}`)];
  }
  return [];
}

// ───────────────────────────── OpenPGP (RFC 9580 §5.2) ─────────────────────────────

/** A cleartext-signed file (§7): its own text is what the signatures in it sign. Checked in memory. */
export function checkCleartext(bytes: Uint8Array, uri: string, keys: KeyRing): CheckOutcome[] {
  const text = cleartextSignedText(bytes);
  if (!text) return [];
  return readOpenPgpRaw(bytes)
    .signatures.filter((s) => s.cleartext)
    .map((s) => {
      const p = planOpenPgp({ ...s, type: 0x01 }, keys);
      if (!isPlanned(p)) return p;
      return p.finish(p.requests.map((r) => digestOf(text, r)));
    });
}

/** The signed text of a cleartext message: dash-unescaped, trailing blanks removed, CR LF line ends, no final break. */
function cleartextSignedText(bytes: Uint8Array): Uint8Array | undefined {
  const s = Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).toString('latin1');
  const begin = s.indexOf('-----BEGIN PGP SIGNED MESSAGE-----');
  if (begin < 0) return undefined;
  const lines = s.slice(begin).split(/\r?\n/);
  let i = 1;
  while (i < lines.length && lines[i] !== '') i++; // armor headers ("Hash: SHA256") end at an empty line
  const body: string[] = [];
  for (i++; i < lines.length && !lines[i].startsWith('-----BEGIN PGP SIGNATURE-----'); i++) {
    const l = lines[i].startsWith('- ') ? lines[i].slice(2) : lines[i];
    body.push(l.replace(/[ \t]+$/, ''));
  }
  return new Uint8Array(Buffer.from(body.join('\r\n'), 'latin1'));
}

function planOpenPgp(s: RawOpenPgpSignature, keys: KeyRing): Planned {
  if (s.type !== 0x00 && s.type !== 0x01) return unverifiable(`OpenPGP signature type 0x${s.type.toString(16)} does not sign a document`);
  const hash = nodeHashName(s.hash);
  if (!hash) return unverifiable(`OpenPGP hash ${s.hash} is not checked here`);
  const layout = signatureLayout(s);
  if (typeof layout === 'string') return unverifiable(layout);
  const issuer = (s.issuerFingerprint ?? s.issuerKeyId ?? '').toLowerCase();
  const key = issuer ? (keys.openpgp.get(issuer) ?? keys.openpgp.get(issuer.slice(-16))) : undefined;
  if (!key) return unverifiable(issuer ? `signed by OpenPGP key ${issuer.toUpperCase()}, which is not in the scan` : 'names no issuer key');
  if (key.algo !== s.algo) return failed(`the key ${key.fingerprint.toUpperCase()} is not of the signature's algorithm`);
  const verifyDigest = openPgpVerifier(key, s.algo, layout.values);
  if (typeof verifyDigest === 'string') return unverifiable(verifyDigest);
  return {
    requests: [{ hash, ...(layout.salt ? { prefix: layout.salt } : {}), suffix: layout.trailer, ...(s.type === 0x01 ? { text: true } : {}) }],
    finish: ([digest]) => {
      // §5.2.3: the left 16 bits of the hash are stored in the signature; a mismatch is a wrong file (or a wrong key).
      if (digest[0] !== layout.left16[0] || digest[1] !== layout.left16[1])
        return failed('the OpenPGP signature is not over these bytes (hash prefix differs)');
      if (!verifyDigest(digest, s.hash)) return failed(`the OpenPGP signature does not verify with key ${key.fingerprint.toUpperCase()}`);
      const d = describeOpenPgpKey(key);
      return { ...verified(), ...(d ? { algorithm: { algorithm: { ...d.algorithm, hash: s.hash }, quantum: d.quantum } } : {}) };
    },
  };
}

/** Where a signature packet's hashed part, trailer, left-16 bits, salt and values are (§5.2.2, §5.2.3, §5.2.4). */
function signatureLayout(s: RawOpenPgpSignature): { trailer: Uint8Array; left16: Uint8Array; salt?: Uint8Array; values: Uint8Array } | string {
  const b = s.body;
  if (s.version === 3 || s.version === 2) {
    // v3: hashed material is the signature type and creation time (5 octets), no trailer.
    if (b.length < 19) return 'truncated v3 signature';
    return { trailer: b.subarray(2, 7), left16: b.subarray(17, 19), values: b.subarray(19) };
  }
  if (s.version === 4 || s.version === 6) {
    const wide = s.version === 6;
    const hl = wide ? readU32(b, 4) : (b[4] << 8) | b[5];
    const hashedEnd = (wide ? 8 : 6) + hl;
    if (hashedEnd + (wide ? 4 : 2) > b.length) return 'truncated signature';
    const ul = wide ? readU32(b, hashedEnd) : (b[hashedEnd] << 8) | b[hashedEnd + 1];
    let p = hashedEnd + (wide ? 4 : 2) + ul;
    if (p + 2 > b.length) return 'truncated signature';
    const left16 = b.subarray(p, p + 2);
    p += 2;
    let salt: Uint8Array | undefined;
    if (wide) {
      const n = b[p];
      salt = b.subarray(p + 1, p + 1 + n);
      p += 1 + n;
    }
    const hashed = b.subarray(0, hashedEnd);
    const trailer = new Uint8Array(hashed.length + 6);
    trailer.set(hashed);
    trailer[hashed.length] = s.version;
    trailer[hashed.length + 1] = 0xff;
    new DataView(trailer.buffer).setUint32(hashed.length + 2, hashed.length);
    return { trailer, left16, ...(salt ? { salt } : {}), values: b.subarray(p) };
  }
  return `OpenPGP v${s.version} signatures are not checked here`;
}

function readU32(b: Uint8Array, at: number): number {
  return ((b[at] << 24) | (b[at + 1] << 16) | (b[at + 2] << 8) | b[at + 3]) >>> 0;
}

/** Multiprecision integers (§3.2): a two-octet bit count, then the octets. */
function readMpis(b: Uint8Array, n: number): Uint8Array[] | undefined {
  const out: Uint8Array[] = [];
  let p = 0;
  for (let i = 0; i < n; i++) {
    if (p + 2 > b.length) return undefined;
    const len = (((b[p] << 8) | b[p + 1]) + 7) >> 3;
    if (p + 2 + len > b.length) return undefined;
    out.push(b.subarray(p + 2, p + 2 + len));
    p += 2 + len;
  }
  return out;
}

/** Curves by their OpenPGP OID (DER contents, hex). */
const PGP_CURVES: Record<string, 'P256' | 'P384' | 'P521' | 'secp256k1' | 'Ed25519'> = {
  '2a8648ce3d030107': 'P256',
  '2b81040022': 'P384',
  '2b81040023': 'P521',
  '2b8104000a': 'secp256k1',
  '2b06010401da470f01': 'Ed25519',
};

/** A key's public material (§5.5.5) after its version-dependent header. */
function keyMaterial(k: RawOpenPgpKey): Uint8Array {
  if (k.version <= 3) return k.body.subarray(8);
  if (k.version >= 5) return k.body.subarray(10);
  return k.body.subarray(6);
}

/** (digest, hash name) → does the signature verify? Or why it cannot be checked. */
function openPgpVerifier(k: RawOpenPgpKey, algo: number, values: Uint8Array): ((digest: Uint8Array, hash: string) => boolean) | string {
  const m = keyMaterial(k);
  if (algo === 1 || algo === 3) {
    const [n, e] = readMpis(m, 2) ?? [];
    const [sig] = readMpis(values, 1) ?? [];
    if (!n || !e || !sig) return 'malformed RSA key or signature';
    const key = tryKey(() => createPublicKey({ key: { kty: 'RSA', n: b64url(n), e: b64url(e) }, format: 'jwk' }));
    if (!key) return 'the RSA key is not usable';
    const padded = leftPad(sig, n.length);
    return (digest, hash) => rsaPkcs1Verify(key, padded, digest, hash);
  }
  if (algo === 19 || algo === 22) {
    const oidLen = m[0];
    const curve = PGP_CURVES[hex(m.subarray(1, 1 + oidLen))];
    const [point] = readMpis(m.subarray(1 + oidLen), 1) ?? [];
    const [r, s] = readMpis(values, 2) ?? [];
    if (!curve || !point || !r || !s) return curve ? 'malformed EC key or signature' : 'the key is on a curve not checked here';
    if (curve === 'Ed25519') {
      if (algo !== 22 || point[0] !== 0x40) return 'malformed EdDSA key';
      const key = ed25519Key(point.subarray(1));
      if (!key) return 'the Ed25519 key is not usable';
      const sig = concatBytes([leftPad(r, 32), leftPad(s, 32)]);
      // EdDSA in OpenPGP signs the digest (RFC 9580 §5.2.3.4).
      return (digest) => safeVerify(() => nodeVerify(null, digest, key, sig));
    }
    return (digest) => ecdsaPrehashVerify(curve, point, r, s, digest);
  }
  if (algo === 27) {
    const key = ed25519Key(m.subarray(0, 32));
    if (!key || values.length < 64) return 'malformed Ed25519 key or signature';
    const sig = values.subarray(0, 64);
    return (digest) => safeVerify(() => nodeVerify(null, digest, key, sig));
  }
  return `OpenPGP public-key algorithm ${algo} is not checked here`;
}

/** The signing key's algorithm with its parameters (DESIGN.md: a signature whose key is in the scan takes its size). */
function describeOpenPgpKey(k: RawOpenPgpKey): Described | undefined {
  const cat = catalogue();
  const m = keyMaterial(k);
  if (k.algo === 1 || k.algo === 3) {
    const [n] = readMpis(m, 1) ?? [];
    return n ? cat.forKey('RSA', ((m[0] << 8) | m[1]) >>> 0) : undefined;
  }
  if (k.algo === 19) {
    const curve = PGP_CURVES[hex(m.subarray(1, 1 + m[0]))];
    return curve && curve !== 'Ed25519' ? cat.forKey('ECDSA', curve) : undefined;
  }
  if (k.algo === 22 || k.algo === 27) return cat.byId('Ed25519');
  return undefined;
}

// ───────────────────────────── minisign and signify ─────────────────────────────

function planEd25519Blobs(sig: Uint8Array, ctx: PlanContext): Planned[] {
  const out: Planned[] = [];
  for (const b of parseEd25519Blobs(sig, { name: '' })) {
    if (b.kind !== 'signature') continue;
    const keyNum = hex(b.raw.subarray(2, 10));
    const signature = b.raw.subarray(10, 74);
    const pub = ctx.keys.ed25519.get(keyNum);
    if (!pub) {
      out.push(unverifiable(`signed by ${b.tool} key ${b.keyId}, which is not in the scan`));
      continue;
    }
    const key = ed25519Key(pub);
    if (!key) {
      out.push(unverifiable(`the ${b.tool} key ${b.keyId} is not usable`));
      continue;
    }
    if (b.prehashed) {
      // minisign "ED": Ed25519 over BLAKE2b-512 of the file; the global signature covers signature ‖ trusted comment.
      const trusted = b.trusted;
      out.push({
        requests: [{ hash: 'blake2b512' }],
        finish: ([digest]) => {
          if (!safeVerify(() => nodeVerify(null, digest, key, signature))) return failed(`the minisign signature does not verify with key ${b.keyId}`);
          if (trusted && !safeVerify(() => nodeVerify(null, concatBytes([signature, Buffer.from(trusted.comment, 'utf8')]), key, trusted.signature)))
            return failed('the minisign trusted comment is not signed by the same key (global signature does not verify)');
          return verified();
        },
      });
    } else out.push(planPureEd25519(pub, signature, `${b.tool} key ${b.keyId}`));
  }
  return out;
}

/**
 * Pure Ed25519 over a stream (RFC 8032 §5.1.7): k = SHA-512(R ‖ A ‖ M) is the only pass over M; then
 * [S]B = R + [k]A is checked on the curve. Nothing of M is held.
 */
function planPureEd25519(pub: Uint8Array, signature: Uint8Array, who: string): Planned {
  const R = signature.subarray(0, 32);
  return {
    requests: [{ hash: 'sha512', prefix: concatBytes([R, pub]) }],
    finish: ([digest]) => {
      try {
        const P = ed25519.Point;
        const L = P.Fn.ORDER;
        const S = leBigint(signature.subarray(32, 64));
        if (S >= L) return failed(`the Ed25519 signature by ${who} is not canonical`);
        const k = leBigint(digest) % L;
        const A = P.fromBytes(pub);
        const r = P.fromBytes(R);
        const ok = P.BASE.multiplyUnsafe(S).equals(r.add(A.multiplyUnsafe(k)));
        return ok ? verified() : failed(`the Ed25519 signature does not verify with ${who}`);
      } catch (e) {
        if (e instanceof Error && !(e instanceof TypeError)) return failed(`the Ed25519 signature or key is malformed: ${e.message}`);
        throw e;
      }
    },
  };
}

// ───────────────────────────── CMS (RFC 5652) ─────────────────────────────

const SIGNED_DATA = '1.2.840.113549.1.7.2';
const MESSAGE_DIGEST = '1.2.840.113549.1.9.4';

function cmsDer(sig: Uint8Array): Uint8Array | undefined {
  let der = sig;
  if (sig[0] !== 0x30) {
    const pem = pemBlocks(sig).find((b) => b.label === 'PKCS7' || b.label === 'CMS');
    if (!pem) return undefined;
    der = pem.der;
  }
  try {
    const ci = parseDer(der);
    return ci.tag === TAG.SEQUENCE && ci.child(0).tag === TAG.OID && ci.child(0).oid() === SIGNED_DATA ? der : undefined;
  } catch (e) {
    if (e instanceof ShelflifeError) return undefined;
    throw e;
  }
}

interface ClassicalSigner {
  sid: DerNode;
  digestOid: string;
  signedAttrs?: Uint8Array;
  messageDigest?: Uint8Array;
  sigOid: string;
  sigParams?: DerNode;
  signature: Uint8Array;
}

function planCms(der: Uint8Array, uri: string, ctx: PlanContext): Planned[] {
  const sd = parseDer(der).child(1).inner();
  const kids = sd.children();
  const encap = kids[2];
  if (encap && encap.children().length > 1) return [unverifiable('the CMS signature carries its own content: it is not detached')];
  const certNodes: DerNode[] = [];
  let i = 3;
  if (kids[i]?.isContext(0)) certNodes.push(...kids[i++].children());
  if (kids[i]?.isContext(1)) i++;
  const signerInfos = kids[i]?.children() ?? [];
  const certs = certNodes.map((c) => ({ node: c, x509: tryCertificate(c.encoded) })).filter((c) => c.x509);
  const out: Planned[] = [];
  let composite: ReturnType<typeof parseSignedData> | undefined;
  for (const si of signerInfos) {
    const s = readSignerInfo(si);
    if (algorithmByOid(s.sigOid)) {
      composite ??= parseSignedData(der, uri);
      out.push(...planCompositeSigners(composite, out.length));
      continue;
    }
    out.push(planClassicalSigner(s, certs, ctx));
  }
  return out;
}

function readSignerInfo(si: DerNode): ClassicalSigner {
  const f = si.children();
  let j = 2;
  const digestOid = f[j++].child(0).oid();
  let signedAttrs: Uint8Array | undefined;
  let messageDigest: Uint8Array | undefined;
  if (f[j]?.isContext(0)) {
    const attrs = f[j++];
    signedAttrs = concatBytes([Uint8Array.of(TAG.SET), attrs.encoded.subarray(1)]);
    for (const a of attrs.children())
      if (a.child(0).oid() === MESSAGE_DIGEST) messageDigest = a.child(1).child(0).expect(TAG.OCTET_STRING, 'messageDigest').content;
  }
  const alg = f[j++];
  const sigOid = alg.child(0).oid();
  const sigParams = alg.children()[1];
  const signature = f[j].expect(TAG.OCTET_STRING, 'signature').content;
  return {
    sid: f[1],
    digestOid,
    ...(signedAttrs ? { signedAttrs } : {}),
    ...(messageDigest ? { messageDigest } : {}),
    sigOid,
    ...(sigParams ? { sigParams } : {}),
    signature,
  };
}

/** shelflife's composite ML-DSA signers, checked with src/resign's verifier (each once, the first time one is met). */
function planCompositeSigners(sd: ReturnType<typeof parseSignedData>, done: number): Planned[] {
  if (done > 0) return [];
  return sd.signers.map((s): Planned => {
    const cert = sd.certificates.find((c) => signerMatches(s, c));
    if (!cert) return unverifiable("the signer's certificate is not in the signature");
    const rule = checkDigestRule(s);
    if (rule) return failed(rule);
    const request: DigestRequest = s.digest === 'SHAKE256' ? { hash: 'shake256', outputLength: 64 } : { hash: s.digest === 'SHA-256' ? 'sha256' : 'sha512' };
    return {
      requests: [request],
      finish: ([digest]) => {
        const r = verifySigner(s, cert, digest);
        return r.valid ? verified(true) : failed(r.reason ?? `the ${s.alg.id} signature does not verify`);
      },
    };
  });
}

function planClassicalSigner(s: ClassicalSigner, certs: { node: DerNode; x509?: X509Certificate }[], ctx: PlanContext): Planned {
  const hashName = catalogue().hashName(s.digestOid);
  const hash = hashName ? nodeHashName(hashName) : undefined;
  if (!hash || !hashName) return unverifiable(`CMS digest algorithm ${s.digestOid} is not checked here`);
  // The signer's certificate: by issuer and serial (RFC 5652 §5.3 sid), else any certificate of the signature or scan.
  const bySid = certKey(certs.find((c) => s.sid.tag === TAG.SEQUENCE && certMatchesSid(c.node, s.sid))?.x509);
  const candidates = bySid ? [bySid] : [...certs.map((c) => certKey(c.x509)).filter((k): k is KeyObject => !!k), ...ctx.keys.keys];
  if (!candidates.length) return unverifiable("the signer's certificate is neither in the signature nor in the scan");
  const sigAlg = catalogue().oid(s.sigOid);
  const pss = s.sigOid === '1.2.840.113549.1.1.10';
  return {
    requests: [{ hash }],
    finish: ([digest]) => {
      if (s.signedAttrs) {
        if (!s.messageDigest) return failed('signed attributes without a message-digest (RFC 5652 §5.3)');
        if (!equalBytes(s.messageDigest, digest)) return failed(`the CMS message-digest is not the ${hashName} of these bytes: they changed after signing`);
        const attrs = s.signedAttrs;
        const ok = candidates.some((key) => cmsVerify(key, attrs, s.signature, hash, pss, sigAlg?.family));
        return ok ? verified() : failed('the CMS signature over its signed attributes does not verify with the signer certificate');
      }
      // No signed attributes: the signature is over the content digest itself.
      const ok = candidates.some((key) => prehashVerify(key, s.signature, digest, hashName));
      return ok ? verified() : failed('the CMS signature does not verify over these bytes');
    },
  };
}

function certMatchesSid(cert: DerNode, sid: DerNode): boolean {
  try {
    const t = cert.child(0).children();
    const o = t[0]?.isContext(0) ? 1 : 0;
    return equalBytes(t[o].content, sid.child(1).content) && equalBytes(t[o + 2].encoded, sid.child(0).encoded);
  } catch (e) {
    if (e instanceof ShelflifeError) return false;
    throw e;
  }
}

function cmsVerify(key: KeyObject, data: Uint8Array, sig: Uint8Array, hash: string, pss: boolean, family?: string): boolean {
  const type = key.asymmetricKeyType;
  if (type === 'ed25519') return safeVerify(() => nodeVerify(null, data, key, sig));
  if (type === 'rsa' || type === 'rsa-pss') {
    if (pss)
      return safeVerify(() => nodeVerify(hash, data, { key, padding: constants.RSA_PKCS1_PSS_PADDING, saltLength: constants.RSA_PSS_SALTLEN_AUTO }, sig));
    return safeVerify(() => nodeVerify(hash, data, key, sig));
  }
  if (type === 'ec' && (family === undefined || family === 'ECDSA')) return safeVerify(() => nodeVerify(hash, data, { key, dsaEncoding: 'der' }, sig));
  return false;
}

// ───────────────────────────── JSON: Sigstore, DSSE, in-toto, cosign, shelflife hybrid ─────────────────────────────

function jsonDocuments(sig: Uint8Array): Record<string, unknown>[] {
  const text = new TextDecoder('utf-8', { fatal: false }).decode(sig);
  try {
    const v = JSON.parse(text) as unknown;
    return isObject(v) ? [v] : [];
  } catch {
    // JSON Lines (`*.intoto.jsonl`): one document per line.
    const out: Record<string, unknown>[] = [];
    for (const line of text.split('\n').slice(0, 1000)) {
      if (!line.trim()) continue;
      try {
        const v = JSON.parse(line) as unknown;
        if (isObject(v)) out.push(v);
      } catch {
        continue; // a line that is not JSON holds no signature
      }
    }
    return out;
  }
}

function planJson(sig: Uint8Array, uri: string, ctx: PlanContext): Planned[] {
  const out: Planned[] = [];
  for (const doc of jsonDocuments(sig)) {
    if (doc.mediaType === BUNDLE_MEDIA_TYPE) out.push(planHybridBundle(Buffer.from(JSON.stringify(doc)), uri));
    else if (isSigstoreBundle(doc)) out.push(...planSigstore(parseSigstoreBundle(doc, uri), ctx));
    else if (typeof doc.payloadType === 'string' && Array.isArray(doc.signatures)) out.push(...planDsse(doc, [], ctx));
    else if (typeof doc.base64Signature === 'string') {
      const certPem = typeof doc.cert === 'string' ? Buffer.from(doc.cert, 'base64') : undefined;
      const keys = certPem ? pemBlocks(certPem).flatMap((b) => (b.label === 'CERTIFICATE' ? [certKey(tryCertificate(b.der))] : [])) : [];
      out.push(
        planPrehashed(
          Buffer.from(doc.base64Signature, 'base64'),
          keys.filter((k): k is KeyObject => !!k),
          ctx,
          'SHA-256',
        ),
      );
    }
  }
  return out;
}

function planHybridBundle(bytes: Uint8Array, uri: string): Planned {
  const bundle = parseBundle(bytes, uri);
  return {
    requests: [{ hash: 'sha256' }, { hash: 'sha512' }],
    finish: ([sha256, sha512]) => {
      const r = verifyBundle(bundle, bundle.certificate, { sha256: hex(sha256), sha512: hex(sha512) });
      return r.valid ? verified(true) : failed(r.reason ?? `the ${bundle.certificate.publicKey.alg.id} signature does not verify`);
    },
  };
}

function bundleKeys(b: SigstoreBundle): KeyObject[] {
  const m = b.material;
  const der = m.kind === 'certificate' ? [m.certificate] : m.kind === 'certificate-chain' ? m.certificates.slice(0, 1) : [];
  const keys = der.map((d) => certKey(tryCertificate(d))).filter((k): k is KeyObject => !!k);
  if (m.kind === 'public-key' && m.rawKey) {
    // model-signing wrote a PEM key (base64) into rawBytes; others a DER SPKI.
    const pem = pemBlocks(m.rawKey).find((p) => p.label === 'PUBLIC KEY');
    const k = tryKey(() => createPublicKey({ key: Buffer.from(pem?.der ?? m.rawKey!), format: 'der', type: 'spki' }));
    if (k) keys.push(k);
  }
  return keys;
}

function planSigstore(b: SigstoreBundle, ctx: PlanContext): Planned[] {
  const own = bundleKeys(b);
  if (b.messageSignature) {
    const md = isObject(b.messageSignature.messageDigest) ? b.messageSignature.messageDigest : undefined;
    const alg = typeof md?.algorithm === 'string' ? md.algorithm : '';
    const hashName = ({ SHA2_256: 'SHA-256', SHA2_384: 'SHA-384', SHA2_512: 'SHA-512' } as Record<string, string>)[alg];
    const sig = typeof b.messageSignature.signature === 'string' ? Buffer.from(b.messageSignature.signature, 'base64') : undefined;
    const expected = typeof md?.digest === 'string' ? Buffer.from(md.digest, 'base64') : undefined;
    if (!hashName || !sig || !expected) return [unverifiable(`Sigstore message digest ${alg || '(none)'} is not checked here`)];
    const p = planPrehashed(sig, own, ctx, hashName);
    if (!isPlanned(p)) return [p];
    return [
      {
        requests: p.requests,
        finish: (d) => (equalBytes(d[0], expected) ? p.finish(d) : failed(`the bundle's ${hashName} message digest is not that of these bytes`)),
      },
    ];
  }
  return planDsse(b.dsseEnvelope!, own, ctx);
}

/** A DSSE envelope: its statement's subjects must name these bytes' digest, and its signature verify over PAE. */
function planDsse(env: Record<string, unknown>, own: KeyObject[], ctx: PlanContext): Planned[] {
  const payloadType = typeof env.payloadType === 'string' ? env.payloadType : '';
  const payload = typeof env.payload === 'string' ? Buffer.from(env.payload, 'base64') : undefined;
  if (!payload) return [unverifiable('the DSSE envelope has no payload')];
  let subjects: { sha256?: string; sha512?: string }[] = [];
  try {
    const st = JSON.parse(payload.toString('utf8')) as { subject?: { digest?: Record<string, unknown> }[] };
    subjects = (Array.isArray(st.subject) ? st.subject : []).slice(0, 10_000).map((s) => ({
      ...(typeof s?.digest?.sha256 === 'string' ? { sha256: s.digest.sha256.toLowerCase() } : {}),
      ...(typeof s?.digest?.sha512 === 'string' ? { sha512: s.digest.sha512.toLowerCase() } : {}),
    }));
  } catch {
    return [unverifiable('the DSSE payload is not an in-toto statement')];
  }
  const message = pae(payloadType, payload);
  const sigs = (Array.isArray(env.signatures) ? env.signatures : []).filter(isObject);
  const keys = [...own, ...ctx.keys.keys];
  return sigs.map((s): Planned => {
    const sig = typeof s.sig === 'string' ? Buffer.from(s.sig, 'base64') : new Uint8Array();
    return {
      requests: [{ hash: 'sha256' }, { hash: 'sha512' }],
      finish: ([sha256, sha512]) => {
        const h256 = hex(sha256);
        const h512 = hex(sha512);
        if (!subjects.some((x) => x.sha256 === h256 || x.sha512 === h512)) return failed("its statement's subjects do not include these bytes' digest");
        if (!keys.length) return unverifiable('the envelope names its key by hint only, and no key in the scan fits');
        const key = keys.find((k) => verifyWithKey(k, message, sig));
        const signer = key && ctx.keys.sourceOf(key);
        if (key) return { ...verified(), algorithm: describeKey(key), ...(signer ? { signer } : {}) };
        return own.length ? failed('the DSSE signature does not verify with its certificate') : unverifiable('no key in the scan verifies the DSSE signature');
      },
    };
  });
}

/**
 * A cosign signature attached to an OCI image (sigstore/cosign specs/SIGNATURE_SPEC.md): made over the simple-signing
 * payload blob of its signature layer, with a key it does not name (no key id, no certificate). It signs the image
 * only if that payload names the image's digest (`critical.image.docker-manifest-digest`). It is checked with the
 * scan's keys of its family (KeyRing.candidates): ECDSA and RSA (PKCS #1 v1.5, or PSS) over SHA-256 of the payload,
 * cosign's hash for every key type, and an ECDSA P-384/P-521 key also with its curve's hash; Ed25519 over the payload
 * itself (RFC 8032, as sigstore's ED25519 verifier does).
 */
export function checkCosignPayload(
  sig: Uint8Array,
  payload: Uint8Array,
  subjectDigest: string,
  keys: KeyRing,
  alg: { family: string; id: string; parameterKnown?: boolean },
): CheckOutcome {
  let named: unknown;
  try {
    const doc = JSON.parse(new TextDecoder().decode(payload)) as { critical?: { image?: Record<string, unknown> } };
    named = doc?.critical?.image?.['docker-manifest-digest'];
  } catch (e) {
    if (!(e instanceof SyntaxError)) throw e;
    return failed('its payload is not a simple-signing JSON document');
  }
  if (named !== subjectDigest) return failed(`its payload names another image (${typeof named === 'string' ? named.slice(0, 80) : 'none'})`);
  const candidates = keys.candidates(alg);
  if (!candidates.length)
    return unverifiable(`signed with a key it does not name, and the scan holds no ${alg.family === 'unknown' ? '' : `${alg.family} `}key`);
  for (const key of candidates) {
    const curveHash =
      key.asymmetricKeyType === 'ec'
        ? ({ secp384r1: 'SHA-384', secp521r1: 'SHA-512' } as Record<string, string>)[key.asymmetricKeyDetails?.namedCurve ?? '']
        : undefined;
    const hash = verifyWithKey(key, payload, sig, 'sha256')
      ? 'SHA-256'
      : curveHash && verifyWithKey(key, payload, sig, nodeHashName(curveHash))
        ? curveHash
        : undefined;
    if (!hash) continue;
    const d = describeKey(key);
    const signer = keys.sourceOf(key);
    const eddsa = key.asymmetricKeyType === 'ed25519' || key.asymmetricKeyType === 'ed448';
    return {
      ...verified(),
      algorithm: { algorithm: { ...d.algorithm, ...(eddsa ? {} : { hash }) }, quantum: d.quantum },
      ...(signer ? { signer } : {}),
    };
  }
  return unverifiable(`none of the ${candidates.length} ${alg.family === 'unknown' ? '' : `${alg.family} `}key(s) in the scan verifies it over its payload`);
}

/** cosign `sign-blob` output: a base64 signature, with the certificate (base64 PEM) or key beside it. */
export function base64Signature(sig: Uint8Array): Uint8Array | undefined {
  if (sig.length > 2048) return undefined;
  const text = Buffer.from(sig).toString('latin1').trim();
  if (!/^[A-Za-z0-9+/]+={0,2}$/.test(text)) return undefined;
  const raw = new Uint8Array(Buffer.from(text, 'base64'));
  return raw[0] === 0x30 || raw.length >= 64 ? raw : undefined;
}

function planRawSignature(raw: Uint8Array, ctx: PlanContext): Planned {
  const sibling: KeyObject[] = [];
  for (const bytes of ctx.siblingKeys ?? []) {
    // cosign writes the certificate as base64 of its PEM (`--output-certificate`); accept plain PEM too.
    const text = Buffer.from(bytes).toString('latin1').trim();
    const pem = /^[A-Za-z0-9+/=\s]+$/.test(text) ? Buffer.from(text, 'base64') : bytes;
    for (const b of pemBlocks(pem)) {
      const k =
        b.label === 'CERTIFICATE'
          ? certKey(tryCertificate(b.der))
          : b.label === 'PUBLIC KEY'
            ? tryKey(() => createPublicKey({ key: Buffer.from(b.der), format: 'der', type: 'spki' }))
            : undefined;
      if (k) sibling.push(k);
    }
  }
  return planPrehashed(raw, sibling, ctx, 'SHA-256');
}

/** A signature over the digest of the file (ECDSA, RSA PKCS#1 v1.5): checked with the keys given, else the scan's. */
function planPrehashed(sig: Uint8Array, own: KeyObject[], ctx: PlanContext, hashName: string): Planned {
  const keys = own.length ? own : ctx.keys.keys;
  if (!keys.length) return unverifiable('signed with a key that is neither beside it nor in the scan');
  return {
    requests: [{ hash: nodeHashName(hashName)! }],
    finish: ([digest]) => {
      const key = keys.find((k) => prehashVerify(k, sig, digest, hashName));
      if (key) {
        const d = describeKey(key);
        const signer = ctx.keys.sourceOf(key);
        return { ...verified(), algorithm: { algorithm: { ...d.algorithm, hash: hashName }, quantum: d.quantum }, ...(signer ? { signer } : {}) };
      }
      return own.length ? failed('the signature does not verify over these bytes with its certificate') : unverifiable('no key in the scan verifies it');
    },
  };
}

// ───────────────────────────── primitives over a digest ─────────────────────────────

/** Verify a signature made over `digest` (computed by the caller) with a key of any classical type. */
export function prehashVerify(key: KeyObject, sig: Uint8Array, digest: Uint8Array, hashName: string): boolean {
  const type = key.asymmetricKeyType;
  if (type === 'rsa') return rsaPkcs1Verify(key, sig, digest, hashName);
  if (type === 'ec') {
    const jwk = key.export({ format: 'jwk' });
    const curve = ({ 'P-256': 'P256', 'P-384': 'P384', 'P-521': 'P521', secp256k1: 'secp256k1' } as Record<string, 'P256' | 'P384' | 'P521' | 'secp256k1'>)[
      jwk.crv ?? ''
    ];
    if (!curve || !jwk.x || !jwk.y) return false;
    const point = concatBytes([Uint8Array.of(4), Buffer.from(jwk.x, 'base64url'), Buffer.from(jwk.y, 'base64url')]);
    return ecdsaPrehashVerify(curve, point, undefined, undefined, digest, sig);
  }
  return false;
}

/** RSA PKCS#1 v1.5 (RFC 8017 §8.2.2) over a digest: the DigestInfo inside the signature names the hash and holds it. */
function rsaPkcs1Verify(key: KeyObject, sig: Uint8Array, digest: Uint8Array, hashName: string): boolean {
  let em: Buffer;
  try {
    em = publicDecrypt({ key, padding: constants.RSA_PKCS1_PADDING }, sig);
  } catch {
    return false; // not a PKCS#1 v1.5 block for this key: the signature does not verify
  }
  try {
    const di = parseDer(new Uint8Array(em));
    const oid = di.child(0).child(0).oid();
    return catalogue().hashName(oid) === hashName && equalBytes(di.child(1).expect(TAG.OCTET_STRING, 'digest').content, digest);
  } catch (e) {
    if (e instanceof ShelflifeError) return false;
    throw e;
  }
}

function ecdsaPrehashVerify(
  curve: 'P256' | 'P384' | 'P521' | 'secp256k1',
  point: Uint8Array,
  r: Uint8Array | undefined,
  s: Uint8Array | undefined,
  digest: Uint8Array,
  der?: Uint8Array,
): boolean {
  const c = { P256: p256, P384: p384, P521: p521, secp256k1 }[curve];
  const size = { P256: 32, P384: 48, P521: 66, secp256k1: 32 }[curve];
  try {
    const sig = der ?? concatBytes([leftPad(r!, size), leftPad(s!, size)]);
    return c.verify(sig, digest, point, { prehash: false, lowS: false, format: der ? 'der' : 'compact' });
  } catch {
    return false; // malformed point or signature: does not verify
  }
}

function ed25519Key(pub: Uint8Array): KeyObject | undefined {
  if (pub.length !== 32) return undefined;
  return tryKey(() => createPublicKey({ key: { kty: 'OKP', crv: 'Ed25519', x: b64url(pub) }, format: 'jwk' }));
}

function safeVerify(f: () => boolean): boolean {
  try {
    return f();
  } catch {
    return false; // OpenSSL rejects the signature's encoding: it does not verify
  }
}

// ───────────────────────────── small helpers ─────────────────────────────

/** The digest a request asks for, over bytes held in memory (small signed objects, tests). */
export function digestOf(bytes: Uint8Array, r: DigestRequest): Uint8Array {
  const h = createHash(r.hash, r.outputLength ? { outputLength: r.outputLength } : {});
  if (r.prefix) h.update(r.prefix);
  const body = r.range ? bytes.subarray(r.range[0], r.range[1]) : bytes;
  if (r.text) {
    const t = new CanonicalText();
    h.update(t.push(body));
    h.update(t.end());
  } else h.update(body);
  if (r.suffix) h.update(r.suffix);
  return new Uint8Array(h.digest());
}

/**
 * Line ends as CR LF (a lone CR or LF becomes CR LF), for OpenPGP text signatures (RFC 9580 §5.2.1.2), fed chunk by
 * chunk: a CR at the end of one chunk is completed by what the next one starts with.
 */
export class CanonicalText {
  private cr = false;

  push(b: Uint8Array): Uint8Array {
    const out = new Uint8Array(b.length * 2 + 1);
    let n = 0;
    for (const c of b) {
      if (c === 0x0a) {
        if (!this.cr) out[n++] = 0x0d;
        out[n++] = 0x0a;
        this.cr = false;
        continue;
      }
      if (this.cr) out[n++] = 0x0a;
      out[n++] = c;
      this.cr = c === 0x0d;
    }
    return out.subarray(0, n);
  }

  end(): Uint8Array {
    const tail = this.cr ? Uint8Array.of(0x0a) : new Uint8Array(0);
    this.cr = false;
    return tail;
  }
}

function isObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

export function hex(b: Uint8Array): string {
  return Buffer.from(b.buffer, b.byteOffset, b.byteLength).toString('hex');
}

function b64url(b: Uint8Array): string {
  return Buffer.from(b.buffer, b.byteOffset, b.byteLength).toString('base64url');
}

function leftPad(b: Uint8Array, n: number): Uint8Array {
  if (b.length >= n) return b.subarray(b.length - n);
  const out = new Uint8Array(n);
  out.set(b, n - b.length);
  return out;
}

function leBigint(b: Uint8Array): bigint {
  let v = 0n;
  for (let i = b.length - 1; i >= 0; i--) v = (v << 8n) | BigInt(b[i]);
  return v;
}

function concatBytes(parts: readonly Uint8Array[]): Uint8Array {
  return new Uint8Array(Buffer.concat(parts));
}

function equalBytes(a: Uint8Array, b: Uint8Array): boolean {
  return a.length === b.length && Buffer.compare(Buffer.from(a.buffer, a.byteOffset, a.length), Buffer.from(b.buffer, b.byteOffset, b.length)) === 0;
}
