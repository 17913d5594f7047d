/**
 * The one DER writer (ITU-T X.690 §10), the counterpart of the bounded reader in ./der.ts, for every structure shelflife
 * emits: certificates and CSRs (RFC 5280, RFC 2986), PKCS#8 and PBES2 (RFC 5958, RFC 8018), CMS SignedData
 * (RFC 5652). Definite lengths only, SET OF sorted by encoding (X.690 §11.6), minimal INTEGERs (§8.3.2), BOOLEAN TRUE
 * as FF (§11.1).
 * @module
 */
import { encodeOid } from './der.js';

export function tlv(tag: number, content: Uint8Array): Uint8Array {
  const n = content.length;
  let header: number[];
  if (n < 0x80) header = [tag, n];
  else if (n < 0x100) header = [tag, 0x81, n];
  else if (n < 0x10000) header = [tag, 0x82, n >> 8, n & 0xff];
  else if (n < 0x1000000) header = [tag, 0x83, n >> 16, (n >> 8) & 0xff, n & 0xff];
  else header = [tag, 0x84, n >>> 24, (n >> 16) & 0xff, (n >> 8) & 0xff, n & 0xff];
  const out = new Uint8Array(header.length + n);
  out.set(header, 0);
  out.set(content, header.length);
  return out;
}

export function concat(parts: readonly Uint8Array[]): Uint8Array {
  const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  let off = 0;
  for (const p of parts) {
    out.set(p, off);
    off += p.length;
  }
  return out;
}

export const seq = (...parts: Uint8Array[]): Uint8Array => tlv(0x30, concat(parts));
/** SET (not SET OF): components in the order given. */
export const set = (...parts: Uint8Array[]): Uint8Array => tlv(0x31, concat(parts));
/** SET OF: DER requires the elements in ascending order of their encodings (X.690 §11.6). */
export function setOf(parts: Uint8Array[]): Uint8Array {
  return tlv(0x31, concat([...parts].sort(compareBytes)));
}
export const octets = (b: Uint8Array): Uint8Array => tlv(0x04, b);
export const bitString = (b: Uint8Array): Uint8Array => tlv(0x03, concat([Uint8Array.of(0), b]));
export const oid = (dotted: string): Uint8Array => tlv(0x06, encodeOid(dotted));
export const boolean = (v: boolean): Uint8Array => Uint8Array.of(0x01, 0x01, v ? 0xff : 0x00);
export const utf8 = (s: string): Uint8Array => tlv(0x0c, new TextEncoder().encode(s));
/** [n] EXPLICIT (constructed) or IMPLICIT over a constructed type. */
export const ctxCons = (n: number, ...parts: Uint8Array[]): Uint8Array => tlv(0xa0 | n, concat(parts));
/** [n] IMPLICIT over a primitive type. */
export const ctxPrim = (n: number, content: Uint8Array): Uint8Array => tlv(0x80 | n, content);

/** INTEGER from a non-negative number/bigint or unsigned big-endian bytes, minimally encoded. */
export function integer(v: number | bigint | Uint8Array): Uint8Array {
  let bytes: Uint8Array;
  if (v instanceof Uint8Array) bytes = v;
  else {
    let x = BigInt(v);
    if (x < 0n) throw new RangeError('integer: negative values are not used here');
    const tmp: number[] = [];
    do {
      tmp.unshift(Number(x & 0xffn));
      x >>= 8n;
    } while (x > 0n);
    bytes = Uint8Array.from(tmp);
  }
  let i = 0;
  while (i < bytes.length - 1 && bytes[i] === 0 && (bytes[i + 1] & 0x80) === 0) i++;
  bytes = bytes.subarray(i);
  if (bytes.length === 0) bytes = Uint8Array.of(0);
  if (bytes[0] & 0x80) bytes = concat([Uint8Array.of(0), bytes]);
  return tlv(0x02, bytes);
}

/** UTCTime through 2049, GeneralizedTime from 2050 on (RFC 5280 §4.1.2.5; RFC 5652 §11.3 signingTime). */
export function time(d: Date): Uint8Array {
  const iso = d.toISOString();
  const digits = iso.slice(0, 19).replace(/[-:T]/g, '');
  const year = d.getUTCFullYear();
  if (year >= 1950 && year < 2050) return tlv(0x17, new TextEncoder().encode(`${digits.slice(2)}Z`));
  return tlv(0x18, new TextEncoder().encode(`${digits}Z`));
}

/** AlgorithmIdentifier with parameters absent (RFC 9881 §2, composite draft, RFC 9882 digest rules). */
export const algorithmId = (dotted: string, params?: Uint8Array): Uint8Array => (params ? seq(oid(dotted), params) : seq(oid(dotted)));

export function compareBytes(a: Uint8Array, b: Uint8Array): number {
  const n = Math.min(a.length, b.length);
  for (let i = 0; i < n; i++) if (a[i] !== b[i]) return a[i] - b[i];
  return a.length - b.length;
}

export function equalBytes(a: Uint8Array, b: Uint8Array): boolean {
  return a.length === b.length && compareBytes(a, b) === 0;
}
