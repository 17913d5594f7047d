/**
 * Raw public keys carved out of firmware and other binary images, at any offset, with offsets reported:
 *  - DER SubjectPublicKeyInfo (RFC 5280 §4.1.2.7) for RSA, EC, EdDSA/XDH, DSA and ML-DSA keys;
 *  - PKCS#1 RSAPublicKey (RFC 8017 §A.1.1);
 *  - the pre-computed Montgomery layouts verified-boot code stores: mincrypt / U-Boot `struct rsa_public_key`
 *    (little-endian u32 len-in-words, n0inv, n[len], rr[len], exponent) and libavb's AvbRSAPublicKeyHeader
 *    (big-endian u32 key_num_bits, n0inv, n, rr);
 *  - a big-endian modulus with a u32 length prefix (bytes or bits) and a u32 exponent right after it.
 * Certificates are the x509 carver's; PEM keys are the keys detector's. A layout alone proves nothing, so every
 * candidate must pass what a real key passes (src/detectors/_key-soundness.ts): DER that parses exactly, to the last
 * byte, with a known key OID; an RSA modulus of >= 512 bits that is odd, has no small prime factor, is no perfect
 * power and whose bytes look random, with exponent 3, 17 or 65537; an EC point on its curve; for the Montgomery layouts
 * their own markers, n0inv·n ≡ -1 (mod 2^32) and rr = (2^(32·len))² mod n. And only where the surrounding format can
 * hold a key (src/detectors/_carve-scope.ts): never in a Java class file, only in the data sections of an ELF file,
 * never in an archive member that a trust format's detector reads whole (`claims.defersTo`).
 * Every finding says `details.carved: true`: a lead, scored as such until another finding confirms the same key
 * (docs/scoring.md).
 * @module
 */
import { createPublicKey } from 'node:crypto';
import { readNode, TAG } from '../pkix/der.js';
import { catalogue } from '../catalogue/index.js';
import { MAX_OBJECTS_PER_ARTIFACT } from '../limits.js';
import type { DetectContext, Finding } from '../model.js';
import { describeSpki, type KeyInfo } from '../pkix/algorithm.js';
import { parseCertificate, sha256Hex } from '../pkix/certificate.js';
import { carveScope, type Range } from './_carve-scope.js';
import { CertificateHeads } from './_certificate-heads.js';
import { RSA_EXPONENTS, soundEcSpki, soundRsa } from './_key-soundness.js';
import type { Detector, DetectResult } from './types.js';
import { rethrowUnlessParseError } from '../errors.js';

export const carveDetector: Detector = {
  format: 'carve',
  description: 'Raw public keys at any offset of binary images: DER SPKI, PKCS#1, mincrypt/U-Boot and AVB RSA layouts',
  claims: {
    anywhere: true,
    // Formats that are trust material through and through; not executables and images (authenticode, kmod, fit, avb),
    // which hold data of any kind, nor containers (their members are searched on their own).
    defersTo: [
      'age',
      'cms',
      'cosign',
      'debian',
      'dsse',
      'jar',
      'jose',
      'keys',
      'minisign',
      'npm',
      'openpgp',
      'openssl-enc',
      'pkcs12',
      'sigstore',
      'signify',
      'ssh',
      'uefi-capsule',
      'uefi-esl',
      'x509',
    ],
  },
  detect: detectCarve,
};

/** AlgorithmIdentifier TLVs that open an SPKI (OID of the key type). */
const SPKI_ALG_OIDS = [
  '06092a864886f70d010101', // rsaEncryption
  '06072a8648ce3d0201', // id-ecPublicKey
  '06032b6570', // Ed25519
  '06032b6571', // Ed448
  '06032b656e', // X25519
  '06032b656f', // X448
  '06072a8648ce380401', // id-dsa
  '06096086480165030403', // ML-DSA-44/65/87 (… 03 04 03 11|12|13): the 11-byte TLV without its last byte
].map((h) => Buffer.from(h, 'hex'));
function detectCarve(bytes: Uint8Array, ctx: DetectContext): DetectResult {
  const scope = carveScope(bytes, ctx);
  if (scope && scope.length === 0) return { findings: [] };
  const buf = Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  // Every candidate lies whole in one scope range, so its anchor does too: anchors are only looked for there.
  const ranges = scope ? mergeRanges(scope) : [{ start: 0, end: bytes.length }];
  const findings: Finding[] = [];
  const taken: Range[] = [];
  let certs: Range[] | undefined;
  const inCert = (at: number) => (certs ??= certificateRanges(bytes)).some((r) => at >= r.start && at < r.end);
  const inTaken = (at: number) => taken.some((r) => at >= r.start && at < r.end);
  // The whole candidate must lie in one range the format can hold data in.
  const inScope = (r: Range) => !scope || scope.some((s) => r.start >= s.start && r.end <= s.end);
  const push = (f: Finding, range: Range) => {
    if (!inScope(range)) return;
    if (findings.length < MAX_OBJECTS_PER_ARTIFACT) findings.push(f);
    taken.push(range);
  };
  for (const alg of SPKI_ALG_OIDS) {
    const oidLen = alg[1] + 2;
    for (const p of occurrencesIn(buf, alg, ranges)) {
      // Candidates inside a certificate belong to x509: skip them before the costly soundness checks.
      const spki = spkiAround(bytes, p, oidLen, (at) => inTaken(at) || inCert(at));
      if (!spki || inTaken(spki.start) || inCert(spki.start)) continue;
      push(keyFinding(spki.key, spki.start, 'spki', sha256Hex(bytes.subarray(spki.start, spki.end))), spki);
    }
  }
  for (const k of carvePkcs1(buf, ranges, (at) => inTaken(at) || inCert(at)))
    if (!inTaken(k.start) && !inCert(k.start)) push(keyFinding(k.key, k.start, 'pkcs1', rsaFingerprint(k.n, k.e), { exponent: k.e.toString() }), k);
  const words = wordHits(bytes, ranges);
  let vbmeta: Range[] | undefined;
  const inVbmeta = (at: number) => (vbmeta ??= vbmetaRanges(buf)).some((r) => at >= r.start && at < r.end);
  for (const k of carveMontgomery(buf, words))
    if (!inTaken(k.start) && !(k.layout === 'avb' && inVbmeta(k.start)))
      push(
        keyFinding(k.key, k.start, k.layout, k.e ? rsaFingerprint(k.n, k.e) : undefined, k.e && k.layout === 'mincrypt' ? { exponent: k.e.toString() } : {}),
        k,
      );
  for (const k of carveLengthPrefixed(buf, words))
    if (!inTaken(k.start)) push(keyFinding(k.key, k.start, 'length-prefixed', rsaFingerprint(k.n, k.e), { exponent: k.e.toString() }), k);
  return { findings };
}

/** Sorted, overlapping or touching ranges joined: anchors are searched once each, in increasing order. */
function mergeRanges(scope: readonly Range[]): Range[] {
  const out: Range[] = [];
  for (const r of [...scope].sort((a, b) => a.start - b.start)) {
    const last = out[out.length - 1];
    if (last && r.start <= last.end) last.end = Math.max(last.end, r.end);
    else out.push({ start: r.start, end: r.end });
  }
  return out;
}

/** Every offset at which `needle` lies whole inside one of the (sorted, disjoint) ranges, in increasing order. */
function* occurrencesIn(buf: Buffer, needle: Uint8Array, ranges: readonly Range[]): Iterable<number> {
  for (const r of ranges) {
    const part = r.start === 0 && r.end >= buf.length ? buf : buf.subarray(r.start, r.end);
    for (let p = part.indexOf(needle); p >= 0; p = part.indexOf(needle, p + 1)) yield r.start + p;
  }
}

/** Modulus sizes in 32-bit words of the Montgomery layouts (1024 to 4096 bits). */
const MONTGOMERY_WORDS = [32, 64, 96, 128];
/** Modulus sizes in bytes of the length-prefixed layout, its u32 prefix being the bytes or the bits. */
const PREFIXED_BYTES = [128, 256, 384, 512];

/**
 * Where the u32 values that open the Montgomery and length-prefixed layouts sit: little-endian `words` (mincrypt) and
 * big-endian bits or bytes (AVB, length-prefixed), each value's offsets in increasing order. One pass over the bytes
 * for all of them: these values are common in binaries, and one native search per value cost a call per occurrence.
 */
interface WordHits {
  le: Map<number, number[]>;
  be: Map<number, number[]>;
}

/** The big-endian values of interest are all below 2^16, after two zero bytes: a table by the low 16 bits. */
const BE_VALUES = new Uint8Array(1 << 16);
for (const w of MONTGOMERY_WORDS) BE_VALUES[w * 32] = 1;
for (const b of PREFIXED_BYTES) BE_VALUES[b] = BE_VALUES[b * 8] = 1;
/** The values BE_VALUES marks, listed once: a call per file must not walk the 65,536 entries of the table. */
const BE_LIST: number[] = [];
for (let v = 0; v < BE_VALUES.length; v++) if (BE_VALUES[v]) BE_LIST.push(v);

function wordHits(b: Uint8Array, ranges: readonly Range[]): WordHits {
  const le = new Map<number, number[]>(MONTGOMERY_WORDS.map((w) => [w, []]));
  const be = new Map<number, number[]>(BE_LIST.map((v) => [v, []]));
  for (const r of ranges) {
    const end = Math.min(r.end, b.length) - 3;
    for (let p = r.start; p < end; p++) {
      const x = b[p];
      if (x === 0) {
        if (b[p + 1] === 0 && BE_VALUES[(b[p + 2] << 8) | b[p + 3]] === 1) be.get((b[p + 2] << 8) | b[p + 3])!.push(p);
      } else if ((x & 0x1f) === 0 && x <= 0x80 && b[p + 1] === 0 && b[p + 2] === 0 && b[p + 3] === 0) le.get(x)!.push(p);
    }
  }
  return { le, be };
}

function keyFinding(key: KeyInfo, offset: number, layout: string, fingerprint?: string, details: Record<string, unknown> = {}): Finding {
  return {
    kind: 'public-key',
    format: 'carve',
    algorithm: key.algorithm,
    quantum: key.quantum,
    location: { offset },
    ...(fingerprint ? { fingerprint } : {}),
    details: { carved: true, layout, ...details },
  };
}

/**
 * SHA-256 of the key's SubjectPublicKeyInfo DER, as a key file of the same key would give (the keys detector's
 * fingerprint): OpenSSL writes the canonical encoding from (n, e).
 */
function rsaFingerprint(n: bigint, e: bigint): string {
  const b64 = (v: bigint) => {
    const hex = v.toString(16);
    return Buffer.from(hex.length % 2 ? `0${hex}` : hex, 'hex').toString('base64url');
  };
  return sha256Hex(createPublicKey({ key: { kty: 'RSA', n: b64(n), e: b64(e) }, format: 'jwk' }).export({ type: 'spki', format: 'der' }));
}

/** The SPKI whose AlgorithmIdentifier OID TLV sits at `oidAt`, if it parses exactly and is a sound key. */
function spkiAround(bytes: Uint8Array, oidAt: number, oidLen: number, skip: (at: number) => boolean = () => false): (Range & { key: KeyInfo }) | undefined {
  const algAt = oidAt - 2;
  if (algAt < 2 || bytes[algAt] !== TAG.SEQUENCE || bytes[algAt + 1] < oidLen) return undefined;
  // SPKI header: 30 LL, 30 81 LL or 30 82 LL LL right before the AlgorithmIdentifier.
  for (const hdr of [2, 3, 4]) {
    const start = algAt - hdr;
    if (start < 0 || bytes[start] !== TAG.SEQUENCE) continue;
    const l1 = bytes[start + 1];
    const len =
      hdr === 2 ? (l1 < 0x80 ? l1 : -1) : hdr === 3 ? (l1 === 0x81 ? bytes[start + 2] : -1) : l1 === 0x82 ? (bytes[start + 2] << 8) | bytes[start + 3] : -1;
    if (len < 0 || start + hdr + len > bytes.length) continue;
    if (skip(start)) return undefined;
    try {
      const node = readNode(bytes, start, start + hdr + len);
      const kids = node.children();
      // No slack: exactly AlgorithmIdentifier and a BIT STRING with no unused bits.
      if (kids.length !== 2 || kids[0].start !== algAt || kids[1].tag !== TAG.BIT_STRING || kids[1].content[0] !== 0) continue;
      const key = describeSpki(node);
      if (key.algorithm.family === 'RSA') {
        // RSAPublicKey fills the BIT STRING to its last byte: two INTEGERs and nothing after them.
        const bits = kids[1].bits();
        const rsa = readNode(bits, 0);
        const parts = rsa.children();
        if (rsa.end !== bits.length || parts.length !== 2 || parts.some((x) => x.tag !== TAG.INTEGER)) continue;
        if (!soundRsa(parts[0].bigint(), parts[1].bigint())) continue;
      } else if (key.algorithm.family === 'unknown' || key.algorithm.parameterKnown === false) continue;
      else if ((key.algorithm.family === 'ECDSA' || key.algorithm.family === 'ECDH') && !soundEcSpki(node.encoded)) continue;
      return { start, end: node.end, key };
    } catch (e) {
      rethrowUnlessParseError(e);
      // not an SPKI
    }
  }
  return undefined;
}

/** RSAPublicKey ::= SEQUENCE { modulus INTEGER, publicExponent INTEGER }, found by the modulus header of common sizes. */
function* carvePkcs1(
  buf: Buffer,
  ranges: readonly Range[],
  skip: (at: number) => boolean = () => false,
): Iterable<Range & { key: KeyInfo; n: bigint; e: bigint }> {
  for (const h of PKCS1_HEADS) {
    for (const p of occurrencesIn(buf, h, ranges)) {
      for (const hdr of [2, 3, 4]) {
        const start = p - hdr;
        if (start < 0 || buf[start] !== TAG.SEQUENCE) continue;
        if (skip(start)) break;
        try {
          const node = readNode(buf, start);
          const kids = node.children();
          if (kids.length !== 2 || kids[0].start !== p || kids[1].tag !== TAG.INTEGER) continue;
          const n = kids[0].bigint();
          const e = kids[1].bigint();
          if (!soundRsa(n, e)) continue;
          const bits = kids[0].integerBits();
          yield { start, end: node.end, key: { ...catalogue().forKey('RSA', bits), bits }, n, e };
          break;
        } catch (e) {
          rethrowUnlessParseError(e);
          // not a key
        }
      }
    }
  }
}

/** 02 LL 00 <top bit set>: an INTEGER of k+1 bytes with a leading zero. k = 64, 128, 192, 256, 384, 512, 1024. */
const PKCS1_HEADS = [
  [0x02, 0x41, 0x00],
  [0x02, 0x81, 0x81, 0x00],
  [0x02, 0x81, 0xc1, 0x00],
  [0x02, 0x82, 0x01, 0x01, 0x00],
  [0x02, 0x82, 0x01, 0x81, 0x00],
  [0x02, 0x82, 0x02, 0x01, 0x00],
  [0x02, 0x82, 0x04, 0x01, 0x00],
].map((h) => Buffer.from(h));

/** mincrypt / U-Boot (LE words) and libavb (BE) RSA keys with their Montgomery constants, both checked. */
function* carveMontgomery(buf: Buffer, hits: WordHits): Iterable<Range & { key: KeyInfo; layout: string; n: bigint; e?: bigint }> {
  for (const words of MONTGOMERY_WORDS) {
    for (const p of hits.le.get(words)!) {
      const end = p + 8 + words * 8;
      if (end > buf.length) break;
      const n0inv = buf.readUInt32LE(p + 4);
      // Cheap test first (zero-filled flash is full of these length patterns): n0inv · n[0] ≡ -1 (mod 2^32).
      if (Math.imul(buf.readUInt32LE(p + 8), n0inv) >>> 0 !== 0xffffffff) continue;
      const n = leWords(buf, p + 8, words);
      if (!montgomeryOk(n, n0inv, words * 32, leWords(buf, p + 8 + words * 4, words))) continue;
      const e = end + 4 <= buf.length ? BigInt(buf.readUInt32LE(end)) : 0n;
      yield {
        start: p,
        end: RSA_EXPONENTS.has(e) ? end + 4 : end,
        key: { ...catalogue().forKey('RSA', words * 32), bits: words * 32 },
        layout: 'mincrypt',
        n,
        ...(RSA_EXPONENTS.has(e) ? { e } : {}),
      };
    }
    for (const p of hits.be.get(words * 32)!) {
      const bytesLen = words * 4;
      const end = p + 8 + bytesLen * 2;
      if (end > buf.length) break;
      const n0inv = buf.readUInt32BE(p + 4);
      if (Math.imul(buf.readUInt32BE(p + 8 + bytesLen - 4), n0inv) >>> 0 !== 0xffffffff) continue;
      const n = BigInt(`0x${buf.toString('hex', p + 8, p + 8 + bytesLen)}`);
      const rr = BigInt(`0x${buf.toString('hex', p + 8 + bytesLen, end)}`);
      if (!montgomeryOk(n, n0inv, words * 32, rr)) continue;
      // libavb verifies with the fixed exponent 65537 (avb_rsa.c): the key is (n, 65537).
      yield { start: p, end, key: { ...catalogue().forKey('RSA', words * 32), bits: words * 32 }, layout: 'avb', n, e: 65537n };
    }
  }
}

function leWords(buf: Buffer, at: number, words: number): bigint {
  return BigInt(
    `0x${Buffer.from(buf.subarray(at, at + words * 4))
      .reverse()
      .toString('hex')}`,
  );
}

/** n0inv = -n⁻¹ mod 2^32 and rr = R² mod n with R = 2^bits: what the verifier's Montgomery code precomputes. */
function montgomeryOk(n: bigint, n0inv: number, bits: number, rr: bigint): boolean {
  if ((n & 1n) === 0n || n >> BigInt(bits - 1) !== 1n) return false;
  const n0 = Number(n & 0xffffffffn);
  if (Math.imul(n0, n0inv) >>> 0 !== 0xffffffff) return false;
  return rr === (1n << BigInt(2 * bits)) % n;
}

/** u32 BE length (modulus bytes or bits) ‖ big-endian modulus ‖ u32 BE exponent (3, 17 or 65537). */
function* carveLengthPrefixed(buf: Buffer, hits: WordHits): Iterable<Range & { key: KeyInfo; n: bigint; e: bigint }> {
  for (const modBytes of PREFIXED_BYTES) {
    for (const prefix of [modBytes, modBytes * 8]) {
      for (const p of hits.be.get(prefix)!) {
        const end = p + 4 + modBytes + 4;
        if (end > buf.length) break;
        // Cheap tests before any bigint: the exponent, the modulus's top bit and its parity.
        const e = buf.readUInt32BE(p + 4 + modBytes);
        if ((e !== 3 && e !== 17 && e !== 65537) || (buf[p + 4] & 0x80) === 0 || (buf[p + 3 + modBytes] & 1) === 0) continue;
        const n = BigInt(`0x${buf.toString('hex', p + 4, p + 4 + modBytes)}`);
        if (!soundRsa(n, BigInt(e))) continue;
        yield { start: p, end, key: { ...catalogue().forKey('RSA', modBytes * 8), bits: modBytes * 8 }, n, e: BigInt(e) };
      }
    }
  }
}

/**
 * vbmeta images (libavb avb_vbmeta_image.h: magic "AVB0", then big-endian u64 authentication and auxiliary block
 * sizes at offsets 12 and 20 after a 256-byte header): their keys are the avb detector's, reported with their role.
 */
function vbmetaRanges(buf: Buffer): Range[] {
  const out: Range[] = [];
  for (let at = buf.indexOf('AVB0'); at >= 0 && at + 28 <= buf.length && out.length < MAX_OBJECTS_PER_ARTIFACT; at = buf.indexOf('AVB0', at + 4)) {
    const size = 256 + Number(buf.readBigUInt64BE(at + 12)) + Number(buf.readBigUInt64BE(at + 20));
    if (size <= buf.length - at) out.push({ start: at, end: at + size });
  }
  return out;
}

/** Byte ranges of DER certificates (their SPKIs are the x509 carver's findings, not ours). */
function certificateRanges(bytes: Uint8Array): Range[] {
  const out: Range[] = [];
  const heads = new CertificateHeads(bytes);
  for (let at = heads.next(0); at >= 0 && at + 8 < bytes.length && out.length < MAX_OBJECTS_PER_ARTIFACT; at = heads.next(at + 1)) {
    if (bytes[at + (bytes[at + 1] === 0x82 ? 4 : 5)] !== TAG.SEQUENCE) continue;
    try {
      const node = readNode(bytes, at);
      if (node.children().length !== 3) continue;
      parseCertificate(node);
      out.push({ start: at, end: node.end });
      at = node.end - 1;
    } catch (e) {
      rethrowUnlessParseError(e);
      // not a certificate
    }
  }
  return out;
}
