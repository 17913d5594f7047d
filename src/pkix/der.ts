/**
 * A bounded BER/DER reader (ITU-T X.690) over a Uint8Array, with no copies: nodes are offsets into the input.
 * Hostile input is the normal case: every length is checked against its parent before use, nesting is limited
 * (MAX_DER_DEPTH), indefinite lengths (BER, common in CMS and PKCS#12 written by streaming encoders) are walked
 * with the same limits, and anything wrong throws ParseError with the offset.
 * @module
 */
import { ParseError } from '../errors.js';
import { MAX_DER_CHILDREN, MAX_DER_DEPTH } from '../limits.js';

export const TAG = {
  BOOLEAN: 0x01,
  INTEGER: 0x02,
  BIT_STRING: 0x03,
  OCTET_STRING: 0x04,
  NULL: 0x05,
  OID: 0x06,
  UTF8String: 0x0c,
  SEQUENCE: 0x30,
  SET: 0x31,
  PrintableString: 0x13,
  T61String: 0x14,
  IA5String: 0x16,
  UTCTime: 0x17,
  GeneralizedTime: 0x18,
  BMPString: 0x1e,
  UniversalString: 0x1c,
} as const;

export class DerNode {
  constructor(
    readonly buf: Uint8Array,
    /** Offset of the identifier octet. */
    readonly start: number,
    /** First identifier octet (class, constructed bit, low tag number). */
    readonly tag: number,
    /** Full tag number (for high-tag-number form). */
    readonly tagNumber: number,
    /** Offset of the contents. */
    readonly contentStart: number,
    /** Offset one past the contents (for indefinite length: before the end-of-contents octets). */
    readonly contentEnd: number,
    /** Offset one past the whole TLV (including end-of-contents octets). */
    readonly end: number,
    readonly depth: number,
  ) {}

  get constructed(): boolean {
    return (this.tag & 0x20) !== 0;
  }
  get tagClass(): 'universal' | 'application' | 'context' | 'private' {
    return (['universal', 'application', 'context', 'private'] as const)[this.tag >> 6];
  }
  /** True for a context-specific tag [n]. */
  isContext(n: number): boolean {
    return this.tagClass === 'context' && this.tagNumber === n;
  }
  get length(): number {
    return this.contentEnd - this.contentStart;
  }
  /** The contents octets (a view, not a copy). */
  get content(): Uint8Array {
    return this.buf.subarray(this.contentStart, this.contentEnd);
  }
  /** The whole encoding, header included. */
  get encoded(): Uint8Array {
    return this.buf.subarray(this.start, this.end);
  }

  children(): DerNode[] {
    if (!this.constructed) throw new ParseError(`expected a constructed value at offset ${this.start}`, this.start);
    const out: DerNode[] = [];
    let off = this.contentStart;
    while (off < this.contentEnd) {
      if (out.length >= MAX_DER_CHILDREN) throw new ParseError('too many DER elements', off);
      const child = readNode(this.buf, off, this.contentEnd, this.depth + 1);
      out.push(child);
      off = child.end;
    }
    return out;
  }

  /** The i-th child, or throw naming what was expected. */
  child(i: number, what = `element ${i}`): DerNode {
    const c = this.children();
    if (i >= c.length) throw new ParseError(`missing ${what} at offset ${this.start}`, this.start);
    return c[i];
  }

  expect(tag: number, what: string): this {
    if (this.tag !== tag) {
      throw new ParseError(`expected ${what} (tag 0x${tag.toString(16)}) at offset ${this.start}, got 0x${this.tag.toString(16)}`, this.start);
    }
    return this;
  }

  /** Re-read the contents of a primitive OCTET STRING or an EXPLICIT wrapper as one nested TLV. */
  inner(): DerNode {
    return readNode(this.buf, this.contentStart, this.contentEnd, this.depth + 1);
  }

  oid(): string {
    this.expect(TAG.OID, 'OBJECT IDENTIFIER');
    return decodeOid(this.content, this.start);
  }

  /** INTEGER as a bigint (sign handled). */
  bigint(): bigint {
    this.expect(TAG.INTEGER, 'INTEGER');
    return decodeInteger(this.content);
  }

  /** INTEGER as a number; throws when it does not fit safely. */
  int(): number {
    const v = this.bigint();
    if (v > BigInt(Number.MAX_SAFE_INTEGER) || v < -BigInt(Number.MAX_SAFE_INTEGER)) {
      throw new ParseError(`integer too large at offset ${this.start}`, this.start);
    }
    return Number(v);
  }

  /** Bit length of a non-negative INTEGER (an RSA modulus, a DH prime). */
  integerBits(): number {
    this.expect(TAG.INTEGER, 'INTEGER');
    return unsignedBitLength(this.content);
  }

  /** BIT STRING contents without the unused-bits octet. */
  bits(): Uint8Array {
    this.expect(TAG.BIT_STRING, 'BIT STRING');
    if (this.length < 1) throw new ParseError(`empty BIT STRING at offset ${this.start}`, this.start);
    return this.content.subarray(1);
  }

  /** Any of the ASN.1 string types, decoded; other types give ''. */
  text(): string {
    const c = this.content;
    switch (this.tag) {
      case TAG.UTF8String:
        return new TextDecoder('utf-8', { fatal: false }).decode(c);
      case TAG.BMPString: {
        let s = '';
        for (let i = 0; i + 1 < c.length; i += 2) s += String.fromCharCode((c[i] << 8) | c[i + 1]);
        return s;
      }
      case TAG.UniversalString: {
        let s = '';
        for (let i = 0; i + 3 < c.length; i += 4) s += String.fromCodePoint((((c[i] << 24) | (c[i + 1] << 16) | (c[i + 2] << 8) | c[i + 3]) >>> 0) & 0x10ffff);
        return s;
      }
      default:
        return latin1(c);
    }
  }

  /** UTCTime / GeneralizedTime → ISO-8601, or undefined when unparseable. */
  time(): string | undefined {
    return decodeTime(this.tag, latin1(this.content));
  }
}

/** Read one TLV at `offset`, which must end at or before `limit`. */
export function readNode(buf: Uint8Array, offset: number, limit = buf.length, depth = 0): DerNode {
  if (depth > MAX_DER_DEPTH) throw new ParseError(`DER nested deeper than ${MAX_DER_DEPTH}`, offset);
  let p = offset;
  if (p >= limit) throw new ParseError(`truncated DER at offset ${p}`, p, 'truncated');
  const tag = buf[p++];
  let tagNumber = tag & 0x1f;
  if (tagNumber === 0x1f) {
    tagNumber = 0;
    for (let i = 0; ; i++) {
      if (p >= limit) throw new ParseError(`truncated DER tag at offset ${offset}`, offset, 'truncated');
      if (i >= 4) throw new ParseError(`DER tag number too long at offset ${offset}`, offset);
      const b = buf[p++];
      tagNumber = tagNumber * 128 + (b & 0x7f);
      if ((b & 0x80) === 0) break;
    }
  }
  if (p >= limit) throw new ParseError(`truncated DER length at offset ${offset}`, offset, 'truncated');
  const first = buf[p++];
  if (first === 0x80) {
    // Indefinite length (BER): only for constructed values; contents end at the matching end-of-contents octets.
    if ((tag & 0x20) === 0) throw new ParseError(`indefinite length on a primitive value at offset ${offset}`, offset);
    const contentStart = p;
    let q = p;
    let count = 0;
    for (;;) {
      if (q + 2 > limit) throw new ParseError(`unterminated indefinite-length value at offset ${offset}`, offset, 'truncated');
      if (buf[q] === 0 && buf[q + 1] === 0) break;
      if (++count > MAX_DER_CHILDREN) throw new ParseError('too many DER elements', q);
      q = readNode(buf, q, limit, depth + 1).end;
    }
    return new DerNode(buf, offset, tag, tagNumber, contentStart, q, q + 2, depth);
  }
  let len: number;
  if (first < 0x80) {
    len = first;
  } else {
    const n = first & 0x7f;
    if (n > 4) throw new ParseError(`DER length of ${n} octets at offset ${offset}`, offset);
    if (p + n > limit) throw new ParseError(`truncated DER length at offset ${offset}`, offset, 'truncated');
    len = 0;
    for (let i = 0; i < n; i++) len = len * 256 + buf[p++];
  }
  if (p + len > limit) {
    throw new ParseError(`DER value at offset ${offset} claims ${len} bytes, only ${limit - p} remain`, offset, 'truncated');
  }
  return new DerNode(buf, offset, tag, tagNumber, p, p + len, p + len, depth);
}

/** Parse a whole buffer as exactly one TLV (trailing bytes are an error unless allowed). */
export function parseDer(buf: Uint8Array, allowTrailing = false): DerNode {
  const node = readNode(buf, 0, buf.length);
  if (!allowTrailing && node.end !== buf.length) {
    throw new ParseError(`${buf.length - node.end} trailing bytes after DER value`, node.end);
  }
  return node;
}

export function decodeOid(c: Uint8Array, at = 0): string {
  if (c.length === 0 || c.length > 128) throw new ParseError(`bad OBJECT IDENTIFIER length at offset ${at}`, at);
  const arcs: string[] = [];
  let v = 0n;
  let first = true;
  for (let i = 0; i < c.length; i++) {
    v = (v << 7n) | BigInt(c[i] & 0x7f);
    if ((c[i] & 0x80) === 0) {
      if (first) {
        const a = v < 40n ? 0n : v < 80n ? 1n : 2n;
        arcs.push(a.toString(), (v - a * 40n).toString());
        first = false;
      } else arcs.push(v.toString());
      v = 0n;
    } else if (i === c.length - 1) {
      throw new ParseError(`truncated OBJECT IDENTIFIER at offset ${at}`, at);
    }
  }
  return arcs.join('.');
}

export function encodeOid(oid: string): Uint8Array {
  const arcs = oid.split('.').map((a) => BigInt(a));
  const out: number[] = [];
  const push = (v: bigint) => {
    const tmp: number[] = [Number(v & 0x7fn)];
    v >>= 7n;
    while (v > 0n) {
      tmp.unshift(Number(v & 0x7fn) | 0x80);
      v >>= 7n;
    }
    out.push(...tmp);
  };
  push(arcs[0] * 40n + arcs[1]);
  for (const a of arcs.slice(2)) push(a);
  return Uint8Array.from(out);
}

export function decodeInteger(c: Uint8Array): bigint {
  if (c.length === 0) return 0n;
  let v = 0n;
  for (const b of c) v = (v << 8n) | BigInt(b);
  if (c[0] & 0x80) v -= 1n << BigInt(c.length * 8);
  return v;
}

/** Bit length of big-endian unsigned bytes, ignoring leading zero octets. */
export function unsignedBitLength(c: Uint8Array): number {
  let i = 0;
  while (i < c.length && c[i] === 0) i++;
  if (i === c.length) return 0;
  return (c.length - i - 1) * 8 + (32 - Math.clz32(c[i]));
}

function decodeTime(tag: number, s: string): string | undefined {
  let m: RegExpMatchArray | null;
  if (tag === TAG.UTCTime) {
    m = s.match(/^(\d\d)(\d\d)(\d\d)(\d\d)(\d\d)(\d\d)?(Z|[+-]\d{4})$/);
    if (!m) return undefined;
    const yy = Number(m[1]);
    // RFC 5280 4.1.2.5.1: YY >= 50 is 19YY, else 20YY.
    const year = yy >= 50 ? 1900 + yy : 2000 + yy;
    return iso(year, m[2], m[3], m[4], m[5], m[6] ?? '00', m[7]);
  }
  if (tag === TAG.GeneralizedTime) {
    m = s.match(/^(\d{4})(\d\d)(\d\d)(\d\d)(\d\d)?(\d\d)?(?:[.,]\d+)?(Z|[+-]\d{4})?$/);
    if (!m) return undefined;
    return iso(Number(m[1]), m[2], m[3], m[4], m[5] ?? '00', m[6] ?? '00', m[7] ?? 'Z');
  }
  return undefined;
}

function iso(year: number, mo: string, d: string, h: string, mi: string, se: string, zone: string): string | undefined {
  const z = zone === 'Z' ? 'Z' : `${zone.slice(0, 3)}:${zone.slice(3)}`;
  const t = Date.parse(`${String(year).padStart(4, '0')}-${mo}-${d}T${h}:${mi}:${se}${z}`);
  return Number.isNaN(t) ? undefined : new Date(t).toISOString();
}

export function latin1(c: Uint8Array): string {
  let s = '';
  for (let i = 0; i < c.length; i += 8192) s += String.fromCharCode(...c.subarray(i, i + 8192));
  return s;
}
