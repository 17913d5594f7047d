/**
 * The bounded CBOR reader (RFC 8949) for everything that reads CBOR (the COSE detector, RFC 9052). It decodes one data
 * item into plain values and keeps, for every byte string, where its bytes sit in the input, so a certificate or CMS
 * object inside a COSE header is reported at its real offset. Definite lengths only: COSE envelopes are written with
 * them (RFC 9052 §9 asks for the core deterministic encoding, RFC 8949 §4.2.1), and an indefinite one is `unsupported`.
 * Depth and lengths are checked before anything is allocated. Pure.
 * @module
 */
import { ParseError } from '../errors.js';
import { MAX_DER_DEPTH } from '../limits.js';

/** A byte string and where its content starts in the input. */
export interface CborBytes {
  type: 'bytes';
  bytes: Uint8Array;
  start: number;
}

export interface CborTag {
  type: 'tag';
  tag: number;
  value: CborValue;
}

export type CborValue = number | bigint | string | boolean | null | undefined | CborBytes | CborTag | CborValue[] | Map<CborKey, CborValue>;

/** Map keys as COSE uses them: integers and text (other key types are kept out of the map). */
export type CborKey = number | string;

/** Decode the data item at `offset`; returns it and the offset just past it. */
export function decodeCbor(bytes: Uint8Array, offset = 0): { value: CborValue; end: number } {
  const r = new Reader(bytes, offset);
  const value = r.item(0);
  return { value, end: r.pos };
}

export function isCborBytes(v: CborValue): v is CborBytes {
  return typeof v === 'object' && v !== null && !Array.isArray(v) && !(v instanceof Map) && v.type === 'bytes';
}

export function isCborTag(v: CborValue): v is CborTag {
  return typeof v === 'object' && v !== null && !Array.isArray(v) && !(v instanceof Map) && v.type === 'tag';
}

class Reader {
  constructor(
    private readonly bytes: Uint8Array,
    public pos: number,
  ) {}

  private need(n: number): void {
    if (n > this.bytes.length - this.pos) throw new ParseError(`CBOR item at offset ${this.pos} runs past the end`, this.pos, 'truncated');
  }

  /** The argument of the head (RFC 8949 §3): the additional information or the 1/2/4/8 bytes after it. */
  private argument(info: number, at: number): number | bigint {
    if (info < 24) return info;
    const size = info === 24 ? 1 : info === 25 ? 2 : info === 26 ? 4 : info === 27 ? 8 : 0;
    if (size === 0) {
      if (info === 31) throw new ParseError(`indefinite-length CBOR item at offset ${at}`, at, 'unsupported');
      throw new ParseError(`reserved CBOR additional information ${info} at offset ${at}`, at);
    }
    this.need(size);
    const view = new DataView(this.bytes.buffer, this.bytes.byteOffset + this.pos, size);
    this.pos += size;
    if (size === 1) return view.getUint8(0);
    if (size === 2) return view.getUint16(0);
    if (size === 4) return view.getUint32(0);
    const big = view.getBigUint64(0);
    return big <= BigInt(Number.MAX_SAFE_INTEGER) ? Number(big) : big;
  }

  /** A length or count: it must fit in what is left of the input (every item takes at least one byte). */
  private count(info: number, at: number): number {
    const n = this.argument(info, at);
    if (typeof n === 'bigint' || n > this.bytes.length - this.pos) throw new ParseError(`CBOR length at offset ${at} runs past the end`, at, 'truncated');
    return n;
  }

  item(depth: number): CborValue {
    if (depth > MAX_DER_DEPTH) throw new ParseError(`CBOR nested deeper than ${MAX_DER_DEPTH} at offset ${this.pos}`, this.pos);
    this.need(1);
    const at = this.pos;
    const head = this.bytes[this.pos++];
    const major = head >> 5;
    const info = head & 0x1f;
    switch (major) {
      case 0:
        return this.argument(info, at);
      case 1: {
        const n = this.argument(info, at);
        return typeof n === 'bigint' || n >= Number.MAX_SAFE_INTEGER ? -1n - BigInt(n) : -1 - n;
      }
      case 2: {
        const n = this.count(info, at);
        const start = this.pos;
        this.pos += n;
        return { type: 'bytes', bytes: this.bytes.subarray(start, start + n), start };
      }
      case 3: {
        const n = this.count(info, at);
        const s = Buffer.from(this.bytes.buffer, this.bytes.byteOffset + this.pos, n).toString('utf8');
        this.pos += n;
        return s;
      }
      case 4: {
        const n = this.count(info, at);
        const out: CborValue[] = [];
        for (let i = 0; i < n; i++) out.push(this.item(depth + 1));
        return out;
      }
      case 5: {
        const n = this.count(info, at);
        const out = new Map<CborKey, CborValue>();
        for (let i = 0; i < n; i++) {
          const key = this.item(depth + 1);
          const value = this.item(depth + 1);
          // RFC 9052 §3: a duplicate label makes the header invalid; keeping either would be a guess.
          if (typeof key === 'number' || typeof key === 'string') {
            if (out.has(key)) throw new ParseError(`duplicate CBOR map key ${JSON.stringify(key)} at offset ${at}`, at);
            out.set(key, value);
          }
        }
        return out;
      }
      case 6: {
        const tag = this.argument(info, at);
        return { type: 'tag', tag: typeof tag === 'bigint' ? Number.MAX_SAFE_INTEGER : tag, value: this.item(depth + 1) };
      }
      default:
        return this.simple(info, at);
    }
  }

  /** Major type 7 (RFC 8949 §3.3): false, true, null, undefined, and half/single/double floats. */
  private simple(info: number, at: number): CborValue {
    if (info === 20) return false;
    if (info === 21) return true;
    if (info === 22) return null;
    if (info === 23) return undefined;
    if (info === 24) {
      this.need(1);
      this.pos++;
      return undefined;
    }
    if (info === 25 || info === 26 || info === 27) {
      const size = info === 25 ? 2 : info === 26 ? 4 : 8;
      this.need(size);
      const view = new DataView(this.bytes.buffer, this.bytes.byteOffset + this.pos, size);
      this.pos += size;
      return size === 2 ? halfFloat(view.getUint16(0)) : size === 4 ? view.getFloat32(0) : view.getFloat64(0);
    }
    if (info < 20) return undefined; // unassigned simple values
    throw new ParseError(info === 31 ? `unexpected CBOR break at offset ${at}` : `reserved CBOR simple value at offset ${at}`, at);
  }
}

/** IEEE 754 binary16 (RFC 8949 Appendix D). */
function halfFloat(h: number): number {
  const exp = (h >> 10) & 0x1f;
  const mant = h & 0x3ff;
  const sign = h & 0x8000 ? -1 : 1;
  if (exp === 0) return sign * mant * 2 ** -24;
  if (exp === 31) return mant ? NaN : sign * Infinity;
  return sign * (mant + 1024) * 2 ** (exp - 25);
}
