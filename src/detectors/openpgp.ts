/**
 * OpenPGP (RFC 9580; RFC 4880 for v3/v4 and legacy packets; LibrePGP v5 keys; draft-ietf-openpgp-pqc-17 ids 30–36):
 * keys and subkeys (public and secret, v3–v6), signatures (v3–v6), PKESK/SKESK session keys, encrypted data
 * (SED, SEIPD v1/v2, LibrePGP AEAD) and compressed data (zlib/zip inflated under a cap and walked; bzip2 reported).
 * Encodings: binary packet sequences (strictly validated before anything is reported), ASCII armor (§6.2, with or
 * without CRC24 and headers, CRLF, several blocks per file), the cleartext signature framework (§7, Debian
 * InRelease/.dsc/.changes) and GnuPG keybox files (pubring.kbx).
 * @module
 */
import { createHash } from 'node:crypto';
import { constants as zlibConstants, inflateRawSync, inflateSync } from 'node:zlib';
import { decodeOid, unsignedBitLength } from '../pkix/der.js';
import { catalogue, type CatalogueEntry, type Described } from '../catalogue/index.js';
import { ParseError } from '../errors.js';
import {
  MAX_OBJECTS_PER_ARTIFACT,
  MAX_OPENPGP_INFLATED_BYTES,
  MAX_OPENPGP_NESTING,
  MAX_OPENPGP_PACKET_BYTES,
  MAX_OPENPGP_PARTIAL_CHUNKS,
  MAX_TEXT_PARSE_BYTES,
} from '../limits.js';
import type { DetectContext, ErrorEntry, Finding, FindingKind, FindingLocation } from '../model.js';
import { dsaSubgroupBitsFromMpi, modulusBitsFromMpi, openPgpEcdsaCurveFromMpi, sizedFamily, type Inferred } from '../catalogue/infer.js';
import type { Detector, DetectResult } from './types.js';

/** Packet tags (RFC 9580 §5). */
const TAG = {
  PKESK: 1,
  SIGNATURE: 2,
  SKESK: 3,
  ONE_PASS: 4,
  SECRET_KEY: 5,
  PUBLIC_KEY: 6,
  SECRET_SUBKEY: 7,
  COMPRESSED: 8,
  SED: 9,
  MARKER: 10,
  LITERAL: 11,
  TRUST: 12,
  USER_ID: 13,
  PUBLIC_SUBKEY: 14,
  USER_ATTRIBUTE: 17,
  SEIPD: 18,
  MDC: 19,
  AEAD: 20,
  PADDING: 21,
} as const;

/** Only these may use partial body lengths (§4.2.1.4) or the legacy indeterminate length (§4.2.2). */
const DATA_TAGS = new Set<number>([TAG.COMPRESSED, TAG.SED, TAG.LITERAL, TAG.SEIPD, TAG.AEAD]);
/**
 * What a binary OpenPGP file can start with: a key, a signature, a message's first packet, or a marker; and a bare
 * subkey (a subkey exported or stored without its primary, as GnuPG's `--export 'KEYID!'` of a subkey or a card
 * stub writes it, and as the public suites exercise packet orders).
 */
const FIRST_TAGS = new Set<number>([
  TAG.PKESK,
  TAG.SIGNATURE,
  TAG.SKESK,
  TAG.ONE_PASS,
  TAG.SECRET_KEY,
  TAG.PUBLIC_KEY,
  TAG.PUBLIC_SUBKEY,
  TAG.SECRET_SUBKEY,
  TAG.COMPRESSED,
  TAG.MARKER,
]);

/** First octets of such packets in both header formats: the cheap magic claim. */
const FIRST_OCTETS: number[] = [];
for (const t of FIRST_TAGS) {
  FIRST_OCTETS.push(0xc0 | t);
  if (t < 16) for (let lt = 0; lt < 4; lt++) FIRST_OCTETS.push(0x80 | (t << 2) | lt);
}

const SIGNATURE_TYPES: Record<number, string> = {
  0x00: 'binary',
  0x01: 'text',
  0x02: 'standalone',
  0x10: 'generic certification',
  0x11: 'persona certification',
  0x12: 'casual certification',
  0x13: 'positive certification',
  0x18: 'subkey binding',
  0x19: 'primary key binding',
  0x1f: 'direct key',
  0x20: 'key revocation',
  0x28: 'subkey revocation',
  0x30: 'certification revocation',
  0x40: 'timestamp',
  0x50: 'third-party confirmation',
};

const COMPRESSION: Record<number, string> = { 0: 'uncompressed', 1: 'ZIP', 2: 'ZLIB', 3: 'BZip2' };

/** Fixed-size key material (octets) of the RFC 9580 native and draft-ietf-openpgp-pqc-17 algorithms. */
const FIXED_PUBLIC: Record<number, number> = {
  25: 32,
  26: 56,
  27: 32,
  28: 57,
  30: 32 + 1952,
  31: 57 + 2592,
  32: 32,
  33: 32,
  34: 64,
  35: 32 + 1184,
  36: 56 + 1568,
};
/** Fixed-size signatures: Ed25519 64, Ed448 114, composites = EdDSA ‖ ML-DSA (3309 / 4627), SLH-DSA-SHAKE 128s/128f/256s. */
const FIXED_SIGNATURE: Record<number, number> = { 27: 64, 28: 114, 30: 64 + 3309, 31: 114 + 4627, 32: 7856, 33: 17088, 34: 29792 };
/** PKESK ephemeral parts before the wrapped key: X25519/X448 ephemeral keys, ML-KEM ciphertext after the ECC one. */
const FIXED_PKESK: Record<number, number> = { 25: 32, 26: 56, 35: 32 + 1088, 36: 56 + 1568 };

export const openpgpDetector: Detector = {
  format: 'openpgp',
  description: 'OpenPGP keys, signatures and messages: binary packets, ASCII armor, cleartext signatures, keybox',
  claims: {
    magic: [...FIRST_OCTETS.map((b) => ({ offset: 0, bytes: [b] })), { offset: 8, bytes: [0x4b, 0x42, 0x58, 0x66] }],
    names: ['*.gpg', '*.pgp', '*.asc', '*.sig', '*.kbx', '*.dsc', '*.changes', '**/InRelease', '*.pubring', '*.secring', '*.skr', '*.pkr'],
    contains: ['-----BEGIN PGP '],
  },
  detect: detectOpenPgp,
};

/** Names whose owner promised OpenPGP: for these an unparseable file is an error, not silence. */
const OPENPGP_NAME = /\.(gpg|pgp|asc|kbx)$/i;

// ───────────────────────────── detector entry points ─────────────────────────────

export function detectOpenPgp(bytes: Uint8Array, ctx: DetectContext): DetectResult {
  const state = new WalkState();
  // Binary: only from the start of the artifact, and only when the whole sequence parses (a strict claim). Tried
  // first, so that armored text inside a literal data packet is not mistaken for the file's own encoding.
  const probe = new WalkState();
  if (ctx.baseOffset === 0) {
    if (isKeybox(bytes)) {
      walkKeybox(bytes, state);
      return state.finish();
    }
    if (FIRST_TAGS.has(firstTag(bytes)) && probe.walkSequence(bytes, binaryOrigin(), 0, true, !ctx.whole)) return probe.finish();
  }
  const armored = findArmorBlocks(bytes, state, ctx.whole);
  if (armored) {
    for (const block of armored) state.walkSequence(block.data, block.origin, 0, false);
    return state.finish();
  }
  if (ctx.baseOffset !== 0) return { findings: [] };
  if (OPENPGP_NAME.test(ctx.name) && bytes.length > 0) {
    const why = probe.errors[0]?.message ?? 'no OpenPGP packet at offset 0';
    return {
      findings: [],
      errors: [
        {
          code: probe.errors[0]?.code ?? 'malformed',
          message: `named like OpenPGP data but does not parse: ${why}`,
          offset: probe.errors[0]?.offset ?? 0,
        },
      ],
    };
  }
  return { findings: [] };
}

/**
 * Parse raw binary OpenPGP packets (e.g. an RPM header's RSAHEADER/PGP signature tag) and report every key,
 * signature and message packet. Never throws: malformed input comes back as `errors`.
 * `offset` is added to every reported location (the packets' position inside the caller's artifact).
 */
export function parseOpenPgpPackets(bytes: Uint8Array, options: { offset?: number; path?: string } = {}): OpenPgpParseResult {
  const state = new WalkState();
  state.walkSequence(bytes, binaryOrigin(options.offset ?? 0, options.path), 0, false);
  return state.finish();
}

export interface OpenPgpParseResult {
  findings: Finding[];
  errors: ErrorEntry[];
}

function firstTag(bytes: Uint8Array): number {
  if (bytes.length === 0 || (bytes[0] & 0x80) === 0) return -1;
  return bytes[0] & 0x40 ? bytes[0] & 0x3f : (bytes[0] >> 2) & 0x0f;
}

// ───────────────────────────── packet framing (§4.2) ─────────────────────────────

interface Packet {
  tag: number;
  /** Offset of the packet header in its sequence. */
  offset: number;
  body: Uint8Array;
  /** The body was cut short by the end of a window (only for data packets when that is allowed), or by `capped`. */
  cut?: boolean;
  /** The body's real length when it was longer than MAX_OPENPGP_PACKET_BYTES and only its head was kept. */
  capped?: number;
}

/** Where a packet sequence came from, to turn in-sequence offsets into artifact locations. */
interface Origin {
  /** Artifact offset of a packet that starts at `k` in the sequence. */
  at(k: number): number;
  path: string;
  /** Set for the signature block of a cleartext-signed message (§7): its "Hash:" header. */
  cleartextHash?: string;
}

function binaryOrigin(base = 0, path = ''): Origin {
  return { at: (k) => base + k, path };
}

type Problem = { code: 'malformed' | 'truncated' | 'unsupported' | 'limit-entries'; message: string; offset: number };

function readPackets(buf: Uint8Array, allowCut: boolean): { packets: Packet[]; problem?: Problem } {
  const packets: Packet[] = [];
  let pos = 0;
  const fail = (code: Problem['code'], message: string, offset = pos) => ({ packets, problem: { code, message, offset } });
  while (pos < buf.length) {
    if (packets.length >= MAX_OBJECTS_PER_ARTIFACT) return fail('limit-entries', `more than ${MAX_OBJECTS_PER_ARTIFACT} packets; the rest is not read`);
    const start = pos;
    const h = buf[pos];
    if ((h & 0x80) === 0) return fail('malformed', `octet 0x${hex2(h)} at offset ${pos} is not a packet header (bit 7 clear)`);
    let tag: number;
    let len: number;
    let partial = false;
    let indeterminate = false;
    if (h & 0x40) {
      // New format (§4.2.1): one, two or five length octets, or a partial body length.
      tag = h & 0x3f;
      const l = readNewLength(buf, pos + 1);
      if (!l) return fail('truncated', `packet header at offset ${pos} is truncated`);
      ({ len, partial } = l);
      pos += 1 + l.size;
    } else {
      // Legacy format (§4.2.2): tag in bits 5–2, length type in bits 1–0.
      tag = (h >> 2) & 0x0f;
      const lt = h & 3;
      const size = [1, 2, 4, 0][lt];
      if (pos + 1 + size > buf.length) return fail('truncated', `packet header at offset ${pos} is truncated`);
      len = lt === 0 ? buf[pos + 1] : lt === 1 ? (buf[pos + 1] << 8) | buf[pos + 2] : lt === 2 ? readU32(buf, pos + 1) : buf.length - (pos + 1);
      indeterminate = lt === 3;
      pos += 1 + size;
    }
    if (tag === 0) return fail('malformed', `packet tag 0 (reserved) at offset ${start}`, start);
    if ((partial || indeterminate) && !DATA_TAGS.has(tag)) {
      return fail(
        'malformed',
        `packet tag ${tag} at offset ${start} uses a ${partial ? 'partial' : 'indeterminate'} length, allowed only for data packets`,
        start,
      );
    }
    if (!partial) {
      if (pos + len > buf.length) {
        if (allowCut && DATA_TAGS.has(tag)) {
          packets.push({ tag, offset: start, body: buf.subarray(pos), cut: true });
          return { packets };
        }
        return fail('truncated', `packet tag ${tag} at offset ${start} declares ${len} body octets but only ${buf.length - pos} remain`, start);
      }
      packets.push({ tag, offset: start, body: buf.subarray(pos, pos + len) });
      pos += len;
      continue;
    }
    // Partial body lengths (§4.2.1.4): chunks until one with a definite length; the first is at least 512 octets.
    if (len < 512) return fail('malformed', `first partial body chunk of packet tag ${tag} at offset ${start} is ${len} octets (< 512)`, start);
    const body = readPartialBody(buf, pos, len, tag, start, allowCut);
    if ('problem' in body) return { packets, problem: body.problem };
    packets.push({ tag, offset: start, body: body.body, ...(body.cut ? { cut: true } : {}), ...(body.capped ? { capped: body.capped } : {}) });
    if (body.end === undefined) return { packets };
    pos = body.end;
  }
  return { packets };
}

/**
 * The body of a packet sent in partial lengths (§4.2.1.4), read in two passes so that memory is one buffer of at most
 * MAX_OPENPGP_PACKET_BYTES whatever the chunking: the first pass walks the chunk headers (at most
 * MAX_OPENPGP_PARTIAL_CHUNKS of them: after the first 512 octets a chunk may be a single octet, so 30 MB of one-octet
 * chunks would otherwise be 30 million views), the second copies the chunks' bytes. `end` is where the next packet
 * starts, undefined when the body runs to the end of `buf` (a window cut, allowed only with `allowCut`).
 */
function readPartialBody(
  buf: Uint8Array,
  first: number,
  firstLen: number,
  tag: number,
  start: number,
  allowCut: boolean,
): { body: Uint8Array; end?: number; cut?: boolean; capped?: number } | { problem: Problem } {
  const spans: number[] = []; // [from, to) pairs, flattened
  let pos = first;
  let len = firstLen;
  let partial = true;
  let end: number | undefined;
  for (;;) {
    if (spans.length / 2 >= MAX_OPENPGP_PARTIAL_CHUNKS)
      return {
        problem: {
          code: 'limit-entries',
          message: `partial body of packet tag ${tag} at offset ${start} has more than ${MAX_OPENPGP_PARTIAL_CHUNKS} chunks; the rest is not read`,
          offset: start,
        },
      };
    if (pos + len > buf.length) {
      if (!allowCut)
        return { problem: { code: 'truncated', message: `partial body of packet tag ${tag} at offset ${start} runs past the end of the data`, offset: start } };
      spans.push(pos, buf.length);
      break;
    }
    spans.push(pos, pos + len);
    pos += len;
    if (!partial) {
      end = pos;
      break;
    }
    const l = readNewLength(buf, pos);
    if (!l)
      return { problem: { code: 'truncated', message: `partial body of packet tag ${tag} at offset ${start} ends without a final chunk`, offset: start } };
    ({ len, partial } = l);
    pos += l.size;
  }
  let total = 0;
  for (let i = 0; i < spans.length; i += 2) total += spans[i + 1] - spans[i];
  const keep = Math.min(total, MAX_OPENPGP_PACKET_BYTES);
  const capped = keep < total ? total : undefined;
  const cut = end === undefined || capped !== undefined;
  if (spans.length === 2) return { body: buf.subarray(spans[0], spans[0] + keep), end, cut, capped };
  const body = new Uint8Array(keep);
  for (let i = 0, k = 0; i < spans.length && k < keep; i += 2) {
    const n = Math.min(spans[i + 1] - spans[i], keep - k);
    body.set(buf.subarray(spans[i], spans[i] + n), k);
    k += n;
  }
  return { body, end, cut, capped };
}

function readNewLength(buf: Uint8Array, p: number): { len: number; partial: boolean; size: number } | undefined {
  if (p >= buf.length) return undefined;
  const o = buf[p];
  if (o < 192) return { len: o, partial: false, size: 1 };
  if (o < 224) return p + 1 < buf.length ? { len: ((o - 192) << 8) + buf[p + 1] + 192, partial: false, size: 2 } : undefined;
  if (o === 255) return p + 4 < buf.length ? { len: readU32(buf, p + 1), partial: false, size: 5 } : undefined;
  return { len: 1 << (o & 0x1f), partial: true, size: 1 };
}

// ───────────────────────────── field readers ─────────────────────────────

/** A bounded cursor over one packet body; every read checks the length first. */
class Cursor {
  pos: number;
  constructor(
    readonly buf: Uint8Array,
    readonly what: string,
    pos = 0,
    readonly end = buf.length,
  ) {
    this.pos = pos;
  }
  need(n: number, field: string): void {
    if (n < 0 || this.pos + n > this.end) throw new ParseError(`${this.what}: ${field} runs past the end of the packet`, this.pos, 'truncated');
  }
  u8(field: string): number {
    this.need(1, field);
    return this.buf[this.pos++];
  }
  u16(field: string): number {
    this.need(2, field);
    const v = (this.buf[this.pos] << 8) | this.buf[this.pos + 1];
    this.pos += 2;
    return v;
  }
  u32(field: string): number {
    this.need(4, field);
    const v = readU32(this.buf, this.pos);
    this.pos += 4;
    return v;
  }
  bytes(n: number, field: string): Uint8Array {
    this.need(n, field);
    const v = this.buf.subarray(this.pos, this.pos + n);
    this.pos += n;
    return v;
  }
  /** Multiprecision integer (§3.2): two-octet bit count, then the big-endian value. Returns its real bit length. */
  mpi(field: string): { bits: number; value: Uint8Array } {
    const declared = this.u16(`${field} length`);
    const value = this.bytes((declared + 7) >> 3, field);
    return { bits: unsignedBitLength(value), value };
  }
  /** Curve OID (§5.5.5.5): one length octet (0 and 0xFF reserved), then the DER OID contents without tag/length. */
  oid(field: string): string {
    const n = this.u8(`${field} length`);
    if (n === 0 || n === 0xff) throw new ParseError(`${this.what}: ${field} length ${n} is reserved`, this.pos - 1);
    return decodeOid(this.bytes(n, field), this.pos);
  }
  get left(): number {
    return this.end - this.pos;
  }
}

function readU32(buf: Uint8Array, p: number): number {
  return ((buf[p] << 24) >>> 0) + (buf[p + 1] << 16) + (buf[p + 2] << 8) + buf[p + 3];
}

function hex(b: Uint8Array): string {
  return Buffer.from(b.buffer, b.byteOffset, b.byteLength).toString('hex');
}

function hex2(n: number): string {
  return n.toString(16).padStart(2, '0');
}

function isoTime(seconds: number): string {
  return new Date(seconds * 1000).toISOString();
}

function symmetricName(id: number): string {
  return catalogue().data.openpgp.symmetric[String(id)] ?? `unknown symmetric algorithm ${id}`;
}

function hashName(id: number): string {
  return catalogue().data.openpgp.hash[String(id)] ?? `unknown hash algorithm ${id}`;
}

function aeadName(id: number): string {
  return catalogue().data.openpgp.aead[String(id)] ?? `unknown AEAD algorithm ${id}`;
}

function publicKeyEntry(algo: number): CatalogueEntry | undefined {
  return catalogue().data.openpgp.publicKey[String(algo)];
}

/** A symmetric cipher as a finding's algorithm; an id the catalogue does not know stays `unknown`. */
function describeCipher(id: number | undefined, extra: { mode?: string } = {}): Described {
  const cat = catalogue();
  if (id === undefined) return cat.resolve(undefined, {}, { name: 'session-key cipher not visible (encrypted inside the session key packet)', ...extra });
  const name = symmetricName(id);
  const d = cat.describeId(name);
  if (d.quantum.status === 'unknown') return cat.resolve(undefined, {}, { name, ...extra });
  return cat.byId(name, { name, ...extra });
}

/** String-to-key specifier (§3.7.1). Returns what it says about the passphrase protection. */
function readS2k(c: Cursor): Record<string, unknown> {
  const type = c.u8('S2K type');
  switch (type) {
    case 0:
      return { s2k: 'simple', s2kHash: hashName(c.u8('S2K hash')) };
    case 1: {
      const s2kHash = hashName(c.u8('S2K hash'));
      c.bytes(8, 'S2K salt');
      return { s2k: 'salted', s2kHash };
    }
    case 3: {
      const s2kHash = hashName(c.u8('S2K hash'));
      c.bytes(8, 'S2K salt');
      const coded = c.u8('S2K count');
      // §3.7.1.3: count = (16 + (c & 15)) << ((c >> 4) + 6)
      return { s2k: 'iterated-salted', s2kHash, s2kCount: (16 + (coded & 15)) * 2 ** ((coded >> 4) + 6) };
    }
    case 4: {
      // §3.7.1.4 Argon2: 16-octet salt, passes t, parallelism p, memory exponent (2^m KiB).
      c.bytes(16, 'Argon2 salt');
      const t = c.u8('Argon2 passes');
      const p = c.u8('Argon2 parallelism');
      const m = c.u8('Argon2 memory exponent');
      return { s2k: 'argon2', argon2: { passes: t, parallelism: p, memoryKiB: 2 ** m } };
    }
    case 101: {
      // GnuPG extension: hash octet, "GNU", mode 1 = no secret (gnu-dummy stub), 2 = divert to smartcard.
      c.u8('S2K hash');
      const magic = c.bytes(3, 'GNU S2K marker');
      if (magic[0] !== 0x47 || magic[1] !== 0x4e || magic[2] !== 0x55) return { s2k: 'private/experimental (101)' };
      const mode = c.u8('GNU S2K mode');
      return { s2k: mode === 1 ? 'gnu-dummy' : mode === 2 ? 'gnu-divert-to-card' : `gnu-${mode}` };
    }
    default:
      return { s2k: `unknown S2K type ${type}` };
  }
}

// ───────────────────────────── parsed records ─────────────────────────────

interface KeyRecord {
  packet: Packet;
  origin: Origin;
  path: string;
  secret: boolean;
  subkey: boolean;
  version: number;
  created: number;
  algo: number;
  described: Described;
  fingerprint: string;
  keyId: string;
  details: Record<string, unknown>;
  /** Secret-key protection facts (secret packets only). */
  protection?: Record<string, unknown>;
  primary?: KeyRecord;
  userIds: string[];
  /** From the most recent self-signature carrying a key-expiration subpacket: [signature time, seconds]. */
  expiry?: [number, number];
  /** v3 keys carry a validity period in days in the key packet itself. */
  v3ValidDays?: number;
}

interface SignatureRecord {
  packet: Packet;
  origin: Origin;
  path: string;
  version: number;
  type: number;
  algo: number;
  hashId: number;
  created?: number;
  expires?: number;
  keyExpiry?: number;
  issuerKeyId?: string;
  issuerFingerprint?: string;
  /** Size facts about the signature values, for inferring a curve without the key. */
  valueBits: number[];
  /** The key or user ID this signature follows in a transferable key. */
  target?: KeyRecord;
  userId?: string;
  primary?: KeyRecord;
  cleartextHash?: string;
}

interface SessionKeyRecord {
  kind: 'pkesk' | 'skesk';
  packet: Packet;
  origin: Origin;
  path: string;
  version: number;
  algo?: number;
  recipientKeyId?: string;
  recipientFingerprint?: string;
  /** ECDH ephemeral point octets (hints the curve) */
  ephemeral?: Uint8Array;
  /** Bit counts of the RSA or ElGamal MPIs (RFC 9580 §5.1.3, §5.1.4): they give the modulus size. */
  valueBits?: number[];
  cipherId?: number;
  details: Record<string, unknown>;
}

interface DataRecord {
  packet: Packet;
  origin: Origin;
  path: string;
  kind: 'SED' | 'SEIPD' | 'AEAD';
  version: number;
  cipherId?: number;
  aeadId?: number;
  sessionKeys: SessionKeyRecord[];
  details: Record<string, unknown>;
}

// ───────────────────────────── the walk ─────────────────────────────

class WalkState {
  readonly errors: ErrorEntry[] = [];
  readonly keys: KeyRecord[] = [];
  readonly signatures: SignatureRecord[] = [];
  readonly sessionKeys: SessionKeyRecord[] = [];
  readonly data: DataRecord[] = [];
  inflated = 0;

  error(code: ErrorEntry['code'], message: string, offset?: number): void {
    this.errors.push({ code, message, ...(offset !== undefined ? { offset } : {}) });
  }

  /**
   * Read one packet sequence and every packet in it. With `strict`, the first problem aborts and nothing from this
   * sequence is kept (binary files claimed by magic must parse whole). Returns whether the sequence parsed cleanly.
   */
  walkSequence(buf: Uint8Array, origin: Origin, depth: number, strict: boolean, allowCut = false): boolean {
    const { packets, problem } = readPackets(buf, allowCut);
    // Reaching the packet cap is not a parse failure: what was framed so far is sound.
    if (problem && strict && problem.code !== 'limit-entries') {
      this.error(problem.code, problem.message, origin.at(problem.offset));
      return false;
    }
    const mark = [this.keys.length, this.signatures.length, this.sessionKeys.length, this.data.length];
    let primary: KeyRecord | undefined;
    let target: KeyRecord | undefined;
    let userId: string | undefined;
    let pendingEsks: SessionKeyRecord[] = [];
    for (let i = 0; i < packets.length; i++) {
      if (this.objects() >= MAX_OBJECTS_PER_ARTIFACT) {
        this.error('limit-entries', `more than ${MAX_OBJECTS_PER_ARTIFACT} OpenPGP objects; the rest is not read`, origin.at(packets[i].offset));
        return true;
      }
      const p = packets[i];
      const path = `${origin.path}${origin.path ? '/' : ''}packet[${i}]`;
      const what = `packet tag ${p.tag} at offset ${origin.at(p.offset)}`;
      try {
        switch (p.tag) {
          case TAG.PUBLIC_KEY:
          case TAG.SECRET_KEY:
          case TAG.PUBLIC_SUBKEY:
          case TAG.SECRET_SUBKEY: {
            const subkey = p.tag === TAG.PUBLIC_SUBKEY || p.tag === TAG.SECRET_SUBKEY;
            const k = parseKey(p, origin, path, what);
            if (subkey) {
              k.primary = primary;
              target = k;
            } else {
              primary = k;
              target = k;
            }
            userId = undefined;
            this.keys.push(k);
            break;
          }
          case TAG.USER_ID:
            userId = Buffer.from(p.body.subarray(0, 1024)).toString('utf8');
            if (primary && target === primary) primary.userIds.push(userId);
            break;
          case TAG.USER_ATTRIBUTE:
            userId = '[user attribute]';
            break;
          case TAG.SIGNATURE: {
            const s = parseSignature(p, origin, path, what);
            s.target = target;
            s.userId = userId;
            s.primary = primary;
            if (origin.cleartextHash) s.cleartextHash = origin.cleartextHash;
            this.signatures.push(s);
            break;
          }
          case TAG.PKESK:
          case TAG.SKESK: {
            const e = p.tag === TAG.PKESK ? parsePkesk(p, origin, path, what) : parseSkesk(p, origin, path, what);
            pendingEsks.push(e);
            this.sessionKeys.push(e);
            break;
          }
          case TAG.SED:
          case TAG.SEIPD:
          case TAG.AEAD:
            this.data.push(parseEncryptedData(p, origin, path, what, pendingEsks));
            pendingEsks = [];
            break;
          case TAG.COMPRESSED:
            if (!this.walkCompressed(p, origin, path, what, depth, strict)) {
              if (strict) return this.rollback(mark);
            }
            break;
          case TAG.ONE_PASS:
            // §5.4: a one-pass header announcing the Signature packet that follows the data; that packet is reported.
            if (p.body.length < 13 || ![3, 6].includes(p.body[0])) throw new ParseError(`${what}: one-pass signature version ${p.body[0]} is not 3 or 6`, 0);
            break;
          case TAG.MARKER:
            if (p.body.length !== 3 || p.body[0] !== 0x50 || p.body[1] !== 0x47 || p.body[2] !== 0x50)
              throw new ParseError(`${what}: marker packet is not "PGP"`, 0);
            break;
          case TAG.LITERAL:
            if (p.body.length < 1 || !'btuml1'.includes(String.fromCharCode(p.body[0]))) {
              if (!p.cut) throw new ParseError(`${what}: literal data format 0x${hex2(p.body[0] ?? 0)} is unknown`, 0);
            }
            break;
          case TAG.TRUST:
          case TAG.MDC:
          case TAG.PADDING:
            break;
          default:
            // §4.3: unknown tags 0–39 are critical (the sequence cannot be trusted); 40–63 are skipped.
            if (p.tag < 40) throw new ParseError(`${what}: unknown critical packet tag ${p.tag}`, 0, 'unsupported');
        }
      } catch (e) {
        if (!(e instanceof ParseError)) throw e;
        if (strict) {
          this.error(e.code, e.message, origin.at(p.offset));
          return this.rollback(mark);
        }
        this.error(e.code, e.message, origin.at(p.offset));
      }
    }
    if (problem) this.error(problem.code, problem.message, origin.at(problem.offset));
    return !problem;
  }

  private objects(): number {
    return this.keys.length + this.signatures.length + this.sessionKeys.length + this.data.length;
  }

  private rollback(mark: number[]): false {
    this.keys.length = mark[0];
    this.signatures.length = mark[1];
    this.sessionKeys.length = mark[2];
    this.data.length = mark[3];
    return false;
  }

  /** Compressed data (§5.6): inflate ZIP/ZLIB under the artifact's budget and walk what it holds; BZip2 is named only. */
  private walkCompressed(p: Packet, origin: Origin, path: string, what: string, depth: number, strict: boolean): boolean {
    const algo = p.body[0];
    if (algo === undefined) throw new ParseError(`${what}: empty compressed data packet`, 0);
    const name = COMPRESSION[algo];
    if (!name) throw new ParseError(`${what}: compression algorithm ${algo} is unknown`, 0);
    if (depth + 1 > MAX_OPENPGP_NESTING) {
      this.error('limit-depth', `${what}: compressed packets nested deeper than ${MAX_OPENPGP_NESTING}; not opened`, origin.at(p.offset));
      return true;
    }
    if (algo === 3) {
      this.error('unsupported', `${what}: BZip2-compressed data is not decompressed; packets inside it are not inspected`, origin.at(p.offset));
      return true;
    }
    if (p.capped !== undefined)
      this.error(
        'limit-size',
        `${what}: compressed data of ${p.capped} bytes in partial lengths; only the first ${MAX_OPENPGP_PACKET_BYTES} are inflated`,
        origin.at(p.offset),
      );
    const raw = p.body.subarray(1);
    const budget = MAX_OPENPGP_INFLATED_BYTES - this.inflated;
    let inner: Uint8Array;
    if (algo === 0) inner = raw;
    else {
      try {
        // Z_SYNC_FLUSH: keep what a truncated stream gives; the inner walk then says where it stops.
        const opts = { maxOutputLength: Math.max(1, budget), finishFlush: zlibConstants.Z_SYNC_FLUSH };
        inner = new Uint8Array(algo === 1 ? inflateRawSync(raw, opts) : inflateSync(raw, opts));
      } catch (e) {
        const code = (e as NodeJS.ErrnoException).code;
        // zlib reports bad input with Z_* codes and the cap with ERR_BUFFER_TOO_LARGE; anything else is a bug.
        if (typeof code !== 'string' || !(code === 'ERR_BUFFER_TOO_LARGE' || code.startsWith('Z_'))) throw e;
        if (code === 'ERR_BUFFER_TOO_LARGE') {
          this.error('limit-expanded-bytes', `${what}: ${name} data inflates past ${MAX_OPENPGP_INFLATED_BYTES} bytes; not inspected`, origin.at(p.offset));
          return true;
        }
        throw new ParseError(`${what}: ${name} data does not inflate: ${(e as Error).message}`, 0);
      }
    }
    this.inflated += inner.length;
    const at = origin.at(p.offset);
    // Inner packets have no offset of their own in the artifact: they sit at the compressed packet's offset.
    return this.walkSequence(inner, { at: () => at, path: `${path}/${name.toLowerCase()}` }, depth + 1, strict, p.cut === true);
  }

  /** Turn the records into findings: keys first, so signatures and session keys can use their issuers' sizes. */
  finish(): OpenPgpParseResult {
    const byId = new Map<string, KeyRecord>();
    for (const k of this.keys) {
      byId.set(k.fingerprint, k);
      if (!byId.has(k.keyId)) byId.set(k.keyId, k);
    }
    // Self-signatures: key expiration (§5.2.3.13) from the newest one that carries it.
    for (const s of this.signatures) {
      if (s.keyExpiry === undefined || s.created === undefined || !s.target) continue;
      const key = s.target;
      if (![0x10, 0x11, 0x12, 0x13, 0x18, 0x1f].includes(s.type)) continue;
      // Self-signatures only: made by the key itself, or by its primary for a subkey binding (§5.2.3.13, §10.1).
      const signer = s.type === 0x18 ? key.primary : key;
      if (!signer) continue;
      if (s.issuerFingerprint && s.issuerFingerprint !== signer.fingerprint) continue;
      if (s.issuerKeyId && s.issuerKeyId !== signer.keyId && s.issuerKeyId !== signer.fingerprint.slice(-16)) continue;
      if (!key.expiry || key.expiry[0] <= s.created) key.expiry = [s.created, s.keyExpiry];
    }
    const findings: Finding[] = [];
    for (const k of this.keys) findings.push(keyFinding(k));
    for (const s of this.signatures) findings.push(signatureFinding(s, byId));
    for (const e of this.sessionKeys) findings.push(sessionKeyFinding(e, byId));
    for (const d of this.data) findings.push(dataFinding(d));
    return { findings, errors: this.errors };
  }
}

function location(origin: Origin, p: Packet, path: string): FindingLocation {
  return { offset: origin.at(p.offset), path };
}

// ───────────────────────────── keys (§5.5) ─────────────────────────────

function parseKey(p: Packet, origin: Origin, path: string, what: string): KeyRecord {
  const secret = p.tag === TAG.SECRET_KEY || p.tag === TAG.SECRET_SUBKEY;
  const subkey = p.tag === TAG.PUBLIC_SUBKEY || p.tag === TAG.SECRET_SUBKEY;
  const c = new Cursor(p.body, what);
  const version = c.u8('version');
  if (version < 2 || version > 6) throw new ParseError(`${what}: key version ${version} is not 2–6`, 0, 'unsupported');
  const created = c.u32('creation time');
  let v3ValidDays: number | undefined;
  if (version <= 3) v3ValidDays = c.u16('validity days');
  const algo = c.u8('public-key algorithm');
  let materialEnd: number | undefined;
  if (version >= 5) {
    // v5/v6 (§5.5.2.3): a four-octet count of the public key material follows the algorithm.
    const n = c.u32('key material length');
    c.need(n, 'key material');
    materialEnd = c.pos + n;
  }
  const key = readPublicMaterial(c, algo, version, materialEnd);
  if (materialEnd !== undefined) c.pos = materialEnd;
  const publicEnd = c.pos;
  const publicBody = p.body.subarray(0, publicEnd);
  // Fingerprints (§5.5.4): v3 MD5(n ‖ e); v4 SHA-1(0x99 ‖ len16 ‖ body); v5 SHA-256(0x9A ‖ len32 ‖ body); v6 SHA-256(0x9B ‖ len32 ‖ body).
  let fingerprint: string;
  let keyId: string;
  if (version <= 3) {
    fingerprint = createHash('md5')
      .update(key.rsaN ?? new Uint8Array(0))
      .update(key.rsaE ?? new Uint8Array(0))
      .digest('hex');
    const n = key.rsaN ?? new Uint8Array(8);
    keyId = hex(n.subarray(Math.max(0, n.length - 8)));
  } else if (version === 4) {
    const prefix = Uint8Array.of(0x99, publicEnd >> 8, publicEnd & 0xff);
    fingerprint = createHash('sha1').update(prefix).update(publicBody).digest('hex');
    keyId = fingerprint.slice(-16);
  } else {
    const prefix = Uint8Array.of(version === 5 ? 0x9a : 0x9b, (publicEnd >>> 24) & 0xff, (publicEnd >> 16) & 0xff, (publicEnd >> 8) & 0xff, publicEnd & 0xff);
    fingerprint = createHash('sha256').update(prefix).update(publicBody).digest('hex');
    keyId = fingerprint.slice(0, 16);
  }
  const rec: KeyRecord = {
    packet: p,
    origin,
    path,
    secret,
    subkey,
    version,
    created,
    algo,
    described: key.described,
    fingerprint,
    keyId,
    details: { version, keyId, subkey, ...key.details },
    userIds: [],
    ...(v3ValidDays ? { v3ValidDays } : {}),
  };
  if (secret) rec.protection = key.opaque ? { protection: 'not readable (unknown public-key algorithm)' } : readSecretProtection(c, version);
  return rec;
}

interface Material {
  described: Described;
  details: Record<string, unknown>;
  rsaN?: Uint8Array;
  rsaE?: Uint8Array;
  /** The material's end is unknown (unknown algorithm in a v2–v4 key). */
  opaque?: boolean;
}

/** Algorithm-specific public key material (§5.5.5), named through the catalogue. */
function readPublicMaterial(c: Cursor, algo: number, version: number, end: number | undefined): Material {
  const cat = catalogue();
  const entry = publicKeyEntry(algo);
  const family = entry?.family;
  if (algo === 1 || algo === 2 || algo === 3) {
    const n = c.mpi('RSA n');
    const e = c.mpi('RSA e');
    return { described: cat.resolve(entry, { bits: n.bits }), details: { bits: n.bits }, rsaN: n.value, rsaE: e.value };
  }
  if (family === 'DSA' || family === 'ElGamal') {
    const p = c.mpi('p');
    if (family === 'DSA') c.mpi('q');
    c.mpi('g');
    c.mpi('y');
    return { described: cat.resolve(entry, { bits: p.bits }), details: { bits: p.bits } };
  }
  if (algo === 18 || algo === 19 || algo === 22) {
    const oid = c.oid('curve OID');
    c.mpi('EC point');
    const details: Record<string, unknown> = { curveOid: oid };
    if (algo === 18) {
      // ECDH KDF parameters (§5.5.5.6): length, reserved 0x01, KDF hash, key-wrap cipher.
      const n = c.u8('KDF parameters length');
      const kdf = c.bytes(n, 'KDF parameters');
      if (n >= 3) {
        details.kdfHash = hashName(kdf[1]);
        details.keyWrapCipher = symmetricName(kdf[2]);
      }
    }
    return { described: describeCurveKey(algo, entry, oid), details };
  }
  const fixed = FIXED_PUBLIC[algo];
  if (fixed !== undefined) {
    c.bytes(fixed, 'key material');
    // draft-ietf-openpgp-pqc-17 §9: PQ algorithms belong in v6 keys (ML-KEM-768+X25519 also in v4 subkeys); say so.
    const misplaced = algo >= 30 && version < 6 && !(algo === 35 && version === 4);
    return { described: cat.resolve(entry), details: misplaced ? { note: `algorithm ${algo} in a v${version} key is outside draft-ietf-openpgp-pqc` } : {} };
  }
  // Unknown algorithm: v5/v6 say how long the material is; older versions leave its end (and the secret part) unknown.
  if (end === undefined) c.pos = c.end;
  return {
    described: cat.resolve(entry, {}, { name: entry?.name ?? `OpenPGP public-key algorithm ${algo}` }),
    details: { publicKeyAlgorithm: algo },
    opaque: end === undefined,
  };
}

/** ECDSA/ECDH/EdDSALegacy keys: curve OID → `ECDSA-P256`, `ECDH-brainpoolP384r1`, `Ed25519`, `X25519` … */
function describeCurveKey(algo: number, entry: CatalogueEntry | undefined, oid: string): Described {
  const cat = catalogue();
  const special = cat.data.openpgp.curves[oid];
  if (special) {
    // The OpenPGP-specific OIDs name Curve25519/448 keys: EdDSALegacy → Ed25519/Ed448, ECDH → X25519/X448.
    const fits = (algo === 22 && special.startsWith('Ed')) || (algo === 18 && special.startsWith('X'));
    if (fits) return cat.byId(special, { name: entry?.name, oid });
    return cat.resolve(entry, {}, { name: `${entry?.name ?? algo} on ${special}`, oid });
  }
  const token = cat.curve(oid);
  if (token && (algo === 18 || algo === 19)) return cat.resolve(entry, { curve: token }, { oid });
  return cat.resolve(entry, {}, { oid });
}

/** Secret-key protection (§5.5.3): S2K usage, cipher, AEAD mode and S2K specifier. */
function readSecretProtection(c: Cursor, version: number): Record<string, unknown> {
  const usage = c.u8('S2K usage');
  if (usage === 0) return { protected: false, s2kUsage: 'none', warning: 'secret key material is stored unprotected (no passphrase)' };
  // v5 and v6 carry a count of the optional fields that follow.
  if (version >= 5) c.u8('optional fields count');
  const out: Record<string, unknown> = { protected: true };
  if (usage === 253 || usage === 254 || usage === 255) {
    out.s2kUsage = usage === 253 ? 'AEAD' : usage === 254 ? 'CFB, SHA-1 checksum' : 'CFB, 16-bit checksum (malleable)';
    out.cipher = symmetricName(c.u8('cipher'));
    if (usage === 253) out.aead = aeadName(c.u8('AEAD algorithm'));
    if (version === 6) c.u8('S2K specifier length');
    Object.assign(out, readS2k(c));
    if (out.s2k === 'gnu-dummy') {
      out.protected = false;
      out.secretMaterial = 'absent (GnuPG stub, gnu-dummy S2K)';
    } else if (out.s2k === 'gnu-divert-to-card') out.secretMaterial = 'on a smartcard (GnuPG divert-to-card)';
  } else {
    // Any other value is a cipher id with the legacy MD5 simple S2K (RFC 4880 §5.5.3).
    out.s2kUsage = 'legacy cipher id (MD5 simple S2K)';
    out.cipher = symmetricName(usage);
    out.s2k = 'simple';
    out.s2kHash = 'MD5';
  }
  return out;
}

function keyFinding(k: KeyRecord): Finding {
  const stub = k.protection?.s2k === 'gnu-dummy';
  const kind: FindingKind = k.secret && !stub ? 'private-key' : 'public-key';
  const f: Finding = {
    kind,
    format: 'openpgp',
    algorithm: k.described.algorithm,
    quantum: k.described.quantum,
    location: location(k.origin, k.packet, k.path),
    notBefore: isoTime(k.created),
    created: isoTime(k.created),
    fingerprint: k.fingerprint,
    details: { ...k.details, ...(k.secret ? { secretKey: true, ...k.protection } : {}), ...(k.primary ? { primaryFingerprint: k.primary.fingerprint } : {}) },
  };
  const uid = (k.primary ?? k).userIds[0];
  if (uid !== undefined) f.subject = uid;
  if (k.expiry && k.expiry[1] > 0) f.notAfter = isoTime(k.created + k.expiry[1]);
  else if (k.v3ValidDays) f.notAfter = isoTime(k.created + k.v3ValidDays * 86400);
  return f;
}

// ───────────────────────────── signatures (§5.2) ─────────────────────────────

function parseSignature(p: Packet, origin: Origin, path: string, what: string): SignatureRecord {
  const c = new Cursor(p.body, what);
  const version = c.u8('signature version');
  const rec: SignatureRecord = { packet: p, origin, path, version, type: 0, algo: 0, hashId: 0, valueBits: [] };
  if (version === 2 || version === 3) {
    // §5.2.2: hashed length 5, type, creation time, issuer key id, algorithms, left 16 bits, values.
    if (c.u8('hashed length') !== 5) throw new ParseError(`${what}: v3 signature hashed length is not 5`, 1);
    rec.type = c.u8('signature type');
    rec.created = c.u32('creation time');
    rec.issuerKeyId = hex(c.bytes(8, 'issuer key id'));
    rec.algo = c.u8('public-key algorithm');
    rec.hashId = c.u8('hash algorithm');
    c.bytes(2, 'left 16 bits');
  } else if (version === 4 || version === 5 || version === 6) {
    rec.type = c.u8('signature type');
    rec.algo = c.u8('public-key algorithm');
    rec.hashId = c.u8('hash algorithm');
    // §5.2.3: v6 uses four-octet subpacket area lengths, v4 (and LibrePGP v5) two.
    const hashedLen = version === 6 ? c.u32('hashed subpackets length') : c.u16('hashed subpackets length');
    c.need(hashedLen, 'hashed subpackets');
    readSubpackets(p.body, c.pos, c.pos + hashedLen, true, rec, what);
    c.pos += hashedLen;
    const unhashedLen = version === 6 ? c.u32('unhashed subpackets length') : c.u16('unhashed subpackets length');
    c.need(unhashedLen, 'unhashed subpackets');
    readSubpackets(p.body, c.pos, c.pos + unhashedLen, false, rec, what);
    c.pos += unhashedLen;
    c.bytes(2, 'left 16 bits');
    if (version === 6) c.bytes(c.u8('salt length'), 'salt');
  } else {
    throw new ParseError(`${what}: signature version ${version} is not 3, 4, 5 or 6`, 0, 'unsupported');
  }
  // Signature values (§5.2.3 algorithm-specific fields).
  const fixed = FIXED_SIGNATURE[rec.algo];
  if (rec.algo === 1 || rec.algo === 3) rec.valueBits.push(c.mpi('RSA signature').bits);
  else if ([16, 17, 19, 20, 22].includes(rec.algo)) rec.valueBits.push(c.mpi('r').bits, c.mpi('s').bits);
  else if (fixed !== undefined) c.bytes(fixed, 'signature value');
  return rec;
}

/** Signature subpackets (§5.2.3.7): creation/expiration times are trusted only from the hashed area. */
function readSubpackets(buf: Uint8Array, start: number, end: number, hashed: boolean, rec: SignatureRecord, what: string): void {
  let pos = start;
  let count = 0;
  while (pos < end) {
    if (++count > 4096) throw new ParseError(`${what}: more than 4096 signature subpackets`, pos);
    const o = buf[pos];
    let len: number;
    if (o < 192) {
      len = o;
      pos += 1;
    } else if (o < 255) {
      if (pos + 1 >= end) throw new ParseError(`${what}: subpacket length truncated`, pos, 'truncated');
      len = ((o - 192) << 8) + buf[pos + 1] + 192;
      pos += 2;
    } else {
      if (pos + 4 >= end) throw new ParseError(`${what}: subpacket length truncated`, pos, 'truncated');
      len = readU32(buf, pos + 1);
      pos += 5;
    }
    if (len < 1 || pos + len > end) throw new ParseError(`${what}: subpacket of ${len} octets overruns its area`, pos, 'malformed');
    const type = buf[pos] & 0x7f;
    const data = buf.subarray(pos + 1, pos + len);
    pos += len;
    switch (type) {
      case 2:
        if (hashed && data.length === 4) rec.created = readU32(data, 0);
        break;
      case 3:
        if (hashed && data.length === 4) rec.expires = readU32(data, 0);
        break;
      case 9:
        if (hashed && data.length === 4) rec.keyExpiry = readU32(data, 0);
        break;
      case 16:
        if (data.length === 8) rec.issuerKeyId ??= hex(data);
        break;
      case 33:
        // Issuer fingerprint: key version octet, then 20 (v4) or 32 (v5/v6) octets.
        if (data.length === 21 || data.length === 33) rec.issuerFingerprint ??= hex(data.subarray(1));
        break;
    }
  }
}

function findIssuer(s: SignatureRecord, byId: Map<string, KeyRecord>): KeyRecord | undefined {
  if (s.issuerFingerprint) {
    const k = byId.get(s.issuerFingerprint);
    if (k) return k;
  }
  if (s.issuerKeyId) {
    const k = byId.get(s.issuerKeyId);
    if (k) return k;
  }
  if (s.issuerFingerprint || s.issuerKeyId) return undefined;
  // No issuer subpacket: in a transferable key, certifications and bindings are made by the primary key.
  if (s.primary && s.type >= 0x10 && s.type <= 0x30) return s.primary;
  return undefined;
}

function signatureFinding(s: SignatureRecord, byId: Map<string, KeyRecord>): Finding {
  const cat = catalogue();
  const hash = hashName(s.hashId);
  const entry = publicKeyEntry(s.algo);
  const issuer = findIssuer(s, byId);
  let d: Described;
  const details: Record<string, unknown> = {
    version: s.version,
    signatureType: SIGNATURE_TYPES[s.type] ?? `unknown (0x${hex2(s.type)})`,
  };
  if (issuer && issuer.algo === s.algo) {
    // The issuing key is in this artifact: its size is the signature's.
    d = { algorithm: { ...issuer.described.algorithm, hash }, quantum: issuer.described.quantum };
    details.issuerInArtifact = true;
    if (issuer.described.algorithm.parameterKnown !== false) details.parameterFrom = 'key';
  } else {
    const inferred = signatureAlgorithmWithoutKey(s, entry, hash);
    d = inferred;
    if (inferred.parameterFrom) details.parameterFrom = inferred.parameterFrom;
    if (s.algo === 17 && s.valueBits.length) {
      // DSA r and s are below q: they give the subgroup size only (FIPS 186-5 §4.6); p stays unknown without the key.
      const q = dsaSubgroupBitsFromMpi(Math.max(...s.valueBits));
      if (q) details.subgroupBits = q;
    }
  }
  if (!entry) d = cat.resolve(undefined, {}, { name: `OpenPGP public-key algorithm ${s.algo}`, hash });
  if (s.issuerKeyId) details.issuerKeyId = s.issuerKeyId;
  if (s.issuerFingerprint) details.issuerFingerprint = s.issuerFingerprint;
  if (s.cleartextHash) {
    details.cleartext = true;
    if (s.cleartextHash !== '(none)') details.cleartextHashHeader = s.cleartextHash;
  }
  const f: Finding = {
    kind: 'signature',
    format: 'openpgp',
    algorithm: d.algorithm,
    quantum: d.quantum,
    location: location(s.origin, s.packet, s.path),
    details,
  };
  if (s.created !== undefined) f.created = isoTime(s.created);
  if (s.created !== undefined && s.expires) f.notAfter = isoTime(s.created + s.expires);
  const issuerName = s.issuerFingerprint ?? issuer?.fingerprint ?? s.issuerKeyId;
  if (issuerName) f.issuer = issuerName;
  const certified = s.type >= 0x10 && s.type <= 0x13 ? s.userId : undefined;
  const subject = certified ?? (issuer ? (issuer.primary ?? issuer).userIds[0] : undefined) ?? s.target?.userIds[0];
  if (subject !== undefined) f.subject = subject;
  return f;
}

/**
 * Without the issuing key: an RSA signature's MPI gives the modulus (rounded up over dropped leading zero bits, see
 * catalogue/infer.ts); EdDSALegacy values of at most 256 bits are Ed25519 (Ed448's are 57-octet values); ECDSA values over 512
 * bits can only come from P-521. Otherwise the family with `parameterKnown: false`: DSA r/s give q, never p, and
 * 256- or 384-bit ECDSA values fit a NIST, a brainpool or (256) secp256k1 curve alike.
 */
function signatureAlgorithmWithoutKey(s: SignatureRecord, entry: CatalogueEntry | undefined, hash: string): Inferred {
  const cat = catalogue();
  const maxBits = Math.max(0, ...s.valueBits);
  if ((s.algo === 1 || s.algo === 3) && maxBits > 0) return sizedFamily(entry, modulusBitsFromMpi(maxBits), 'mpi-length', { hash });
  if (s.algo === 22 && maxBits > 0) return { ...cat.byId(maxBits <= 256 ? 'Ed25519' : 'Ed448', { name: entry?.name, hash }), parameterFrom: 'mpi-length' };
  const curve = s.algo === 19 ? openPgpEcdsaCurveFromMpi(maxBits) : undefined;
  if (curve) return { ...cat.resolve(entry, { curve }, { hash }), parameterFrom: 'mpi-length' };
  return cat.resolve(entry, {}, { hash });
}

// ───────────────────────────── session keys and encrypted data (§5.1, §5.3, §5.7, §5.13) ─────────────────────────────

function parsePkesk(p: Packet, origin: Origin, path: string, what: string): SessionKeyRecord {
  const c = new Cursor(p.body, what);
  const version = c.u8('PKESK version');
  const rec: SessionKeyRecord = { kind: 'pkesk', packet: p, origin, path, version, details: { version } };
  if (version === 3) {
    rec.recipientKeyId = hex(c.bytes(8, 'recipient key id'));
  } else if (version === 6) {
    // §5.1.1: length octet, then key version ‖ fingerprint (length 0 = anonymous recipient).
    const n = c.u8('recipient length');
    if (n > 0) {
      c.u8('recipient key version');
      rec.recipientFingerprint = hex(c.bytes(n - 1, 'recipient fingerprint'));
    }
  } else throw new ParseError(`${what}: PKESK version ${version} is not 3 or 6`, 0, 'unsupported');
  rec.algo = c.u8('public-key algorithm');
  const fixed = FIXED_PKESK[rec.algo];
  if (rec.algo === 1 || rec.algo === 2) rec.valueBits = [c.mpi('RSA m^e').bits];
  else if (rec.algo === 16 || rec.algo === 20) {
    rec.valueBits = [c.mpi('ElGamal g^k').bits, c.mpi('ElGamal m*y^k').bits];
  } else if (rec.algo === 18) {
    rec.ephemeral = c.mpi('ECDH ephemeral point').value;
    c.bytes(c.u8('wrapped key length'), 'wrapped session key');
  } else if (fixed !== undefined) {
    c.bytes(fixed, 'ephemeral key / KEM ciphertext');
    const n = c.u8('wrapped key length');
    // In a v3 PKESK for X25519/X448 (RFC 9580 §5.1.6, §5.1.7) and the ML-KEM composites (draft-ietf-openpgp-pqc-17,
    // same layout) the session-key cipher id travels in the clear, counted in the size octet before the wrapped key.
    if (version === 3 && n > 0) rec.cipherId = c.u8('session key cipher');
    c.bytes(version === 3 && n > 0 ? n - 1 : n, 'wrapped session key');
  }
  if (rec.recipientKeyId === '0000000000000000') rec.details.anonymousRecipient = true;
  return rec;
}

function parseSkesk(p: Packet, origin: Origin, path: string, what: string): SessionKeyRecord {
  const c = new Cursor(p.body, what);
  const version = c.u8('SKESK version');
  const rec: SessionKeyRecord = { kind: 'skesk', packet: p, origin, path, version, details: { version, passphrase: true } };
  if (version === 4) {
    rec.cipherId = c.u8('cipher');
    Object.assign(rec.details, readS2k(c));
    rec.details.mode = 'CFB';
    rec.details.encryptedSessionKey = c.left > 0;
  } else if (version === 5 || version === 6) {
    if (version === 6) c.u8('fields count');
    rec.cipherId = c.u8('cipher');
    rec.details.mode = aeadName(c.u8('AEAD algorithm'));
    if (version === 6) c.u8('S2K length');
    Object.assign(rec.details, readS2k(c));
  } else throw new ParseError(`${what}: SKESK version ${version} is not 4, 5 or 6`, 0, 'unsupported');
  return rec;
}

function parseEncryptedData(p: Packet, origin: Origin, path: string, what: string, esks: SessionKeyRecord[]): DataRecord {
  const c = new Cursor(p.body, what);
  if (p.tag === TAG.SED) {
    return {
      packet: p,
      origin,
      path,
      kind: 'SED',
      version: 0,
      sessionKeys: esks,
      details: { integrityProtected: false, mode: 'CFB (no integrity protection)' },
    };
  }
  const version = c.u8('version');
  if (p.tag === TAG.SEIPD) {
    if (version === 1) return { packet: p, origin, path, kind: 'SEIPD', version, sessionKeys: esks, details: { integrityProtected: true, mode: 'CFB+MDC' } };
    if (version !== 2) throw new ParseError(`${what}: SEIPD version ${version} is not 1 or 2`, 0, 'unsupported');
    // §5.13.2: cipher, AEAD algorithm, chunk size octet, 32-octet salt.
    const cipherId = c.u8('cipher');
    const aeadId = c.u8('AEAD algorithm');
    const chunk = c.u8('chunk size');
    c.bytes(32, 'salt');
    return {
      packet: p,
      origin,
      path,
      kind: 'SEIPD',
      version,
      cipherId,
      aeadId,
      sessionKeys: esks,
      details: { integrityProtected: true, mode: aeadName(aeadId), chunkSize: 2 ** (chunk + 6) },
    };
  }
  // LibrePGP / rfc4880bis AEAD Encrypted Data (tag 20): version 1, cipher, AEAD, chunk size, IV.
  if (version !== 1) throw new ParseError(`${what}: AEAD encrypted data version ${version} is not 1`, 0, 'unsupported');
  const cipherId = c.u8('cipher');
  const aeadId = c.u8('AEAD algorithm');
  const chunk = c.u8('chunk size');
  return {
    packet: p,
    origin,
    path,
    kind: 'AEAD',
    version,
    cipherId,
    aeadId,
    sessionKeys: esks,
    details: { integrityProtected: true, mode: aeadName(aeadId), chunkSize: 2 ** (chunk + 6) },
  };
}

/**
 * The recipient's algorithm: exact when the recipient key is in the artifact; otherwise the family, or the curve when
 * the ephemeral point pins it: a 0x40-prefixed 33-octet point is Curve25519 (X25519), a 133-octet uncompressed
 * point is P-521 and a 129-octet one brainpoolP512r1; 65/97-octet points fit several 256/384-bit curves.
 */
function sessionKeyFinding(e: SessionKeyRecord, byId: Map<string, KeyRecord>): Finding {
  const cat = catalogue();
  const details: Record<string, unknown> = { ...e.details };
  let d: Described;
  if (e.kind === 'skesk') {
    d = describeCipher(e.cipherId, { mode: String(e.details.mode) });
  } else {
    const entry = publicKeyEntry(e.algo ?? -1);
    const recipient = (e.recipientFingerprint && byId.get(e.recipientFingerprint)) || (e.recipientKeyId && byId.get(e.recipientKeyId)) || undefined;
    if (recipient && recipient.algo === e.algo) {
      d = recipient.described;
      details.recipientInArtifact = true;
      if (recipient.described.algorithm.parameterKnown !== false) details.parameterFrom = 'key';
    } else if (e.valueBits?.length && entry) {
      // RSA m^e and ElGamal g^k, m·y^k are values modulo n or p (RFC 9580 §5.1.3, §5.1.4): their MPIs give its size.
      const inferred = sizedFamily(entry, modulusBitsFromMpi(Math.max(...e.valueBits)), 'mpi-length');
      d = inferred;
      if (inferred.parameterFrom) details.parameterFrom = inferred.parameterFrom;
      else details.valueBits = Math.max(...e.valueBits);
    } else if (e.algo === 18 && e.ephemeral) {
      const pt = e.ephemeral;
      if (pt[0] === 0x40 && pt.length === 33) d = cat.byId('X25519', { name: entry?.name });
      else if (pt[0] === 0x04 && pt.length === 133) d = cat.resolve(entry, { curve: 'P521' });
      else if (pt[0] === 0x04 && pt.length === 129) d = cat.resolve(entry, { curve: 'brainpoolP512r1' });
      else d = cat.resolve(entry);
    } else d = entry ? cat.resolve(entry) : cat.resolve(undefined, {}, { name: `OpenPGP public-key algorithm ${e.algo}` });
    details.role = e.algo === 1 || e.algo === 2 || e.algo === 16 || e.algo === 20 ? 'key-transport' : 'key-agreement';
    if (e.recipientKeyId) details.recipientKeyId = e.recipientKeyId;
    if (e.recipientFingerprint) details.recipientFingerprint = e.recipientFingerprint;
    if (e.cipherId !== undefined) details.sessionKeyCipher = symmetricName(e.cipherId);
  }
  const f: Finding = {
    kind: 'encrypted-data',
    format: 'openpgp',
    algorithm: d.algorithm,
    quantum: d.quantum,
    location: location(e.origin, e.packet, e.path),
    details,
  };
  const recipient = e.recipientFingerprint ?? e.recipientKeyId;
  if (recipient) f.subject = recipient;
  return f;
}

function dataFinding(r: DataRecord): Finding {
  const details: Record<string, unknown> = { packet: r.kind, version: r.version, ...r.details };
  // The data cipher: SEIPD v2/AEAD name it; for v1/SED it is the SKESK v4 cipher or the cleartext one of an X25519/X448 PKESK.
  let cipherId = r.cipherId;
  if (cipherId === undefined) {
    for (const e of r.sessionKeys) {
      // A SKESK v4 with an encrypted session key hides the data cipher inside it (§5.3.1).
      if (e.cipherId !== undefined && (e.kind === 'pkesk' || (e.version === 4 && e.details.encryptedSessionKey === false))) {
        cipherId = e.cipherId;
        break;
      }
    }
  }
  if (cipherId === undefined) details.cipherKnown = false;
  if (r.sessionKeys.length)
    details.sessionKeys = r.sessionKeys.map((e) => (e.kind === 'skesk' ? 'passphrase' : `public key (${publicKeyEntry(e.algo ?? -1)?.name ?? e.algo})`));
  const d = describeCipher(cipherId, { mode: String(r.details.mode) });
  return { kind: 'encrypted-data', format: 'openpgp', algorithm: d.algorithm, quantum: d.quantum, location: location(r.origin, r.packet, r.path), details };
}

// ───────────────────────────── ASCII armor (§6) and the cleartext framework (§7) ─────────────────────────────

interface ArmorBlock {
  data: Uint8Array;
  origin: Origin;
}

const BEGIN = Buffer.from('-----BEGIN PGP ');

/**
 * Every armored block, decoded. Returns undefined when the bytes hold no armor at all (then binary is tried).
 * A block that does not decode is reported on `state` and skipped.
 */
function findArmorBlocks(bytes: Uint8Array, state: WalkState, whole: boolean): ArmorBlock[] | undefined {
  const buf = Buffer.from(bytes.buffer, bytes.byteOffset, Math.min(bytes.byteLength, MAX_TEXT_PARSE_BYTES));
  let pos = buf.indexOf(BEGIN);
  if (pos < 0) return undefined;
  const blocks: ArmorBlock[] = [];
  let cleartextHash: string | undefined;
  let found = 0;
  while (pos >= 0 && found++ < MAX_OBJECTS_PER_ARTIFACT) {
    // The BEGIN line starts a line (after optional indentation or a quote, as in YAML and JSON files).
    // Inside a cleartext message only a BEGIN at the very start of a line counts (§7.1 dash-escapes the rest).
    const lineStart = pos === 0 ? 0 : buf.lastIndexOf(0x0a, pos - 1) + 1;
    const lead = pos - lineStart <= 256 ? buf.toString('latin1', lineStart, pos) : 'x';
    const labelEnd = buf.indexOf('-----', pos + BEGIN.length);
    const eol = nextLineEnd(buf, pos);
    const leadOk = cleartextHash ? lead === '' : /^[\s"'|>]*$/.test(lead);
    if (!leadOk || labelEnd < 0 || labelEnd > eol) {
      pos = buf.indexOf(BEGIN, pos + BEGIN.length);
      continue;
    }
    const label = buf.toString('latin1', pos + BEGIN.length, labelEnd);
    const bodyStart = eol + 1;
    if (label === 'SIGNED MESSAGE') {
      // §7: "Hash:" headers, a blank line, dash-escaped text, then an armored signature (which the loop meets next).
      // (v6 signatures need no "Hash:" header; RFC 4880 readers assumed MD5 without one, which we do not repeat.)
      const { headers } = readHeaders(buf, bodyStart);
      cleartextHash = headers.Hash ?? '(none)';
      pos = buf.indexOf(BEGIN, bodyStart);
      // Dash-escaped text cannot hold a line-start BEGIN, so the next one at a line start is the signature.
      continue;
    }
    const endMarker = `-----END PGP ${label}-----`;
    const endAt = buf.indexOf(endMarker, bodyStart);
    if (endAt < 0) {
      // In a window of a larger artifact the END line may lie in the next window, which overlaps this one.
      if (!whole) break;
      state.error('truncated', `armored "PGP ${label}" at offset ${pos} has no END line`, pos);
      // GnuPG reads such a block to the end of the file and lists its packets: so do we, the error beside them.
      const rest = decodeArmorBody(buf, bodyStart, buf.length);
      if (typeof rest !== 'string') blocks.push({ data: rest.data, origin: { at: rest.at, path: `armor[${blocks.length}]` } });
      break;
    }
    const decoded = decodeArmorBody(buf, bodyStart, endAt);
    if (typeof decoded === 'string') {
      state.error('malformed', `armored "PGP ${label}" at offset ${pos}: ${decoded}`, pos);
    } else if (/^MESSAGE, PART \d+/.test(label)) {
      state.error('unsupported', `armored "PGP ${label}" at offset ${pos}: multi-part messages are not reassembled`, pos);
    } else {
      if (decoded.crcMismatch) state.error('malformed', `armored "PGP ${label}" at offset ${pos}: CRC24 checksum does not match the data`, pos);
      const cleartext = label === 'SIGNATURE' ? cleartextHash : undefined;
      blocks.push({ data: decoded.data, origin: { at: decoded.at, path: `armor[${blocks.length}]`, ...(cleartext ? { cleartextHash: cleartext } : {}) } });
    }
    if (label === 'SIGNATURE') cleartextHash = undefined;
    pos = buf.indexOf(BEGIN, endAt + endMarker.length);
  }
  return blocks;
}

function nextLineEnd(buf: Buffer, from: number): number {
  const n = buf.indexOf(0x0a, from);
  return n < 0 ? buf.length : n;
}

/** Armor headers (§6.2.2): "Key: Value" lines up to the first blank line. */
function readHeaders(buf: Buffer, from: number): { headers: Record<string, string>; next: number } {
  const headers: Record<string, string> = {};
  let pos = from;
  for (let i = 0; i < 64 && pos < buf.length; i++) {
    const eol = nextLineEnd(buf, pos);
    const line = buf.toString('latin1', pos, eol).trim();
    if (line === '') return { headers, next: eol + 1 };
    const m = line.match(/^([A-Za-z][A-Za-z0-9-]*):\s?(.*)$/);
    if (!m) return { headers, next: pos }; // no blank line: the body starts here (lenient)
    headers[m[1]] = m[2];
    pos = eol + 1;
  }
  return { headers, next: pos };
}

/** Decode the base64 body, check the optional CRC24, and keep a map from decoded offsets back to the text. */
function decodeArmorBody(buf: Buffer, from: number, to: number): { data: Uint8Array; at: (k: number) => number; crcMismatch: boolean } | string {
  const { next } = readHeaders(buf, from);
  const segments: [number, number][] = []; // [index in clean base64, offset in the text]
  let clean = '';
  let checksum: string | undefined;
  let pos = next;
  while (pos < to) {
    const eol = Math.min(nextLineEnd(buf, pos), to);
    const raw = buf.toString('latin1', pos, eol);
    const lead = raw.length - raw.trimStart().length;
    const line = raw.trim();
    if (line.length > 0) {
      if (/^=[A-Za-z0-9+/]{4}$/.test(line)) checksum = line.slice(1);
      else if (checksum !== undefined) return 'data after the CRC24 checksum line';
      else {
        if (!/^[A-Za-z0-9+/=]+$/.test(line)) return `line at offset ${pos} has characters outside base64`;
        segments.push([clean.length, pos + lead]);
        clean += line;
      }
    }
    pos = eol + 1;
  }
  if (!/^[A-Za-z0-9+/]*={0,2}$/.test(clean) || clean.length % 4 === 1) return 'base64 body is malformed';
  const data = new Uint8Array(Buffer.from(clean, 'base64'));
  if (data.length === 0) return 'empty body';
  let crcMismatch = false;
  if (checksum !== undefined) {
    const want = Buffer.from(checksum, 'base64');
    const got = crc24(data);
    crcMismatch = want.length !== 3 || ((want[0] << 16) | (want[1] << 8) | want[2]) !== got;
  }
  const at = (k: number): number => {
    const ci = Math.floor(k / 3) * 4;
    let lo = 0;
    let hi = segments.length - 1;
    while (lo < hi) {
      const mid = (lo + hi + 1) >> 1;
      if (segments[mid][0] <= ci) lo = mid;
      else hi = mid - 1;
    }
    const seg = segments[lo];
    return seg ? seg[1] + (ci - seg[0]) : from;
  };
  return { data, at, crcMismatch };
}

/** CRC24 (§6.1): init 0xB704CE, generator 0x1864CFB. */
function crc24(data: Uint8Array): number {
  let crc = 0xb704ce;
  for (const b of data) {
    crc ^= b << 16;
    for (let i = 0; i < 8; i++) {
      crc <<= 1;
      if (crc & 0x1000000) crc ^= 0x1864cfb;
    }
  }
  return crc & 0xffffff;
}

// ───────────────────────────── GnuPG keybox (pubring.kbx) ─────────────────────────────

/** Keybox: a first blob of type 1 with "KBXf" at offset 8 (GnuPG kbx/keybox-blob.c layout). */
function isKeybox(bytes: Uint8Array): boolean {
  return bytes.length >= 32 && bytes[4] === 1 && bytes[8] === 0x4b && bytes[9] === 0x42 && bytes[10] === 0x58 && bytes[11] === 0x66;
}

/** Each blob: u32 length, type (2 = OpenPGP), version; OpenPGP blobs hold the keyblock's offset and length at 8 and 12. */
function walkKeybox(bytes: Uint8Array, state: WalkState): void {
  let pos = 0;
  let n = 0;
  while (pos + 16 <= bytes.length) {
    if (++n > MAX_OBJECTS_PER_ARTIFACT) {
      state.error('limit-entries', `keybox holds more than ${MAX_OBJECTS_PER_ARTIFACT} blobs; the rest is not read`, pos);
      return;
    }
    const len = readU32(bytes, pos);
    if (len < 16 || pos + len > bytes.length) {
      state.error('malformed', `keybox blob at offset ${pos} declares ${len} octets`, pos);
      return;
    }
    const type = bytes[pos + 4];
    if (type === 2) {
      const off = readU32(bytes, pos + 8);
      const size = readU32(bytes, pos + 12);
      if (off + size > len || off < 16) state.error('malformed', `keybox OpenPGP blob at offset ${pos}: keyblock ${off}+${size} lies outside the blob`, pos);
      else {
        const start = pos + off;
        state.walkSequence(bytes.subarray(start, start + size), binaryOrigin(start, `keybox[${n - 1}]`), 0, false);
      }
    }
    pos += len;
  }
}

// ───────────────────────────── raw packets for verifiers ─────────────────────────────

/** A signature packet as framed here, for verifiers that need its bytes (src/scan/signature-checks.ts). */
export interface RawOpenPgpSignature {
  /** The packet body (§5.2): version, type, algorithms, subpacket areas, left 16 bits, values. */
  body: Uint8Array;
  version: number;
  type: number;
  algo: number;
  hashId: number;
  /** The hash's name (`SHA-256`), or `unknown hash algorithm N`. */
  hash: string;
  issuerKeyId?: string;
  issuerFingerprint?: string;
  /** Made over a cleartext-signed message (§7) in the same bytes. */
  cleartext: boolean;
}

/** A key packet as framed here: its body holds the public material after the version-dependent header (§5.5.2). */
export interface RawOpenPgpKey {
  body: Uint8Array;
  version: number;
  algo: number;
  fingerprint: string;
  keyId: string;
  subkey: boolean;
}

/**
 * The signature and key packets in OpenPGP bytes (binary or armored), framed by the same bounded reader the detector
 * uses. The detector describes what it finds; a verifier needs the packets themselves. Never throws for bad input.
 */
export function readOpenPgpRaw(bytes: Uint8Array): { signatures: RawOpenPgpSignature[]; keys: RawOpenPgpKey[] } {
  const state = new WalkState();
  if (!(FIRST_TAGS.has(firstTag(bytes)) && state.walkSequence(bytes, binaryOrigin(), 0, true))) {
    for (const block of findArmorBlocks(bytes, state, true) ?? []) state.walkSequence(block.data, block.origin, 0, false);
  }
  return {
    signatures: state.signatures.map((s) => ({
      body: s.packet.body,
      version: s.version,
      type: s.type,
      algo: s.algo,
      hashId: s.hashId,
      hash: hashName(s.hashId),
      ...(s.issuerKeyId ? { issuerKeyId: s.issuerKeyId } : {}),
      ...(s.issuerFingerprint ? { issuerFingerprint: s.issuerFingerprint } : {}),
      cleartext: s.cleartextHash !== undefined,
    })),
    keys: state.keys.map((k) => ({ body: k.packet.body, version: k.version, algo: k.algo, fingerprint: k.fingerprint, keyId: k.keyId, subkey: k.subkey })),
  };
}
