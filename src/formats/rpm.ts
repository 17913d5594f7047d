/**
 * The RPM package structure (rpm.org docs/manual/format.md, format_v6.md; rpmtag.h), read with bounds on every count
 * and offset: a 96-byte lead (magic ED AB EE DB), the Signature header (padded to 8 bytes), the main Header, then the
 * payload. Both headers share one structure: magic 8E AD E8 01, 4 reserved bytes, nindex and hsize (big-endian u32),
 * nindex 16-byte index entries {tag, type, offset, count}, then hsize bytes of data.
 *
 * A format reader, not a detector: the rpm detector (signatures and digests) and the rpm container (the cpio payload)
 * both read packages through it. Malformed input throws ParseError.
 * @module
 */
import { ParseError } from '../errors.js';

export const RPM_LEAD_MAGIC = [0xed, 0xab, 0xee, 0xdb] as const;
export const RPM_LEAD_SIZE = 96;
const HEADER_MAGIC = [0x8e, 0xad, 0xe8, 0x01];
/** rpm's own limits (header.c: hdrchkTags / hdrchkData): 64 Ki tags, 256 MiB of data. Ours are tighter. */
export const MAX_HEADER_TAGS = 0x10000;
export const MAX_HEADER_DATA = 64 * 1024 * 1024;
export const RPM_TYPE = { NULL: 0, CHAR: 1, INT8: 2, INT16: 3, INT32: 4, INT64: 5, STRING: 6, BIN: 7, STRING_ARRAY: 8, I18NSTRING: 9 } as const;

export interface RpmIndexEntry {
  tag: number;
  type: number;
  /** Absolute offset of the value within the bytes the header was parsed from. */
  offset: number;
  count: number;
}

export interface RpmHeader {
  /** Offset of the header's magic. */
  start: number;
  /** Offset one past the header's data. */
  end: number;
  entries: Map<number, RpmIndexEntry>;
  bytes: Uint8Array;
}

/** Size of a header structure from its 16-byte intro, or throw: what a streaming reader needs before reading it. */
export function rpmHeaderSize(intro: Uint8Array, at: number, what: string): number {
  if (intro.length < 16) throw new ParseError(`truncated ${what} at offset ${at}`, at, 'truncated');
  if (!HEADER_MAGIC.every((b, i) => intro[i] === b)) throw new ParseError(`${what} at offset ${at} has no header magic 8E AD E8 01`, at);
  const dv = new DataView(intro.buffer, intro.byteOffset, 16);
  const nindex = dv.getUint32(8);
  const hsize = dv.getUint32(12);
  if (nindex === 0 || nindex > MAX_HEADER_TAGS) throw new ParseError(`${what} at offset ${at} claims ${nindex} tags`, at);
  if (hsize > MAX_HEADER_DATA) throw new ParseError(`${what} at offset ${at} claims ${hsize} bytes of data`, at);
  return 16 + nindex * 16 + hsize;
}

/** Parse one header structure at `at`, checking every index entry against the data store. */
export function parseRpmHeader(bytes: Uint8Array, at: number, what: string): RpmHeader {
  const size = rpmHeaderSize(bytes.subarray(at, at + 16), at, what);
  if (at + size > bytes.length)
    throw new ParseError(`${what} at offset ${at} is truncated (${size} bytes needed, ${bytes.length - at} present)`, at, 'truncated');
  const dv = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const nindex = dv.getUint32(at + 8);
  const hsize = dv.getUint32(at + 12);
  const dataStart = at + 16 + nindex * 16;
  const entries = new Map<number, RpmIndexEntry>();
  for (let i = 0; i < nindex; i++) {
    const e = at + 16 + i * 16;
    const tag = dv.getUint32(e);
    const type = dv.getUint32(e + 4);
    const offset = dv.getUint32(e + 8);
    const count = dv.getUint32(e + 12);
    if (type > RPM_TYPE.I18NSTRING) throw new ParseError(`${what}: tag ${tag} has unknown type ${type}`, e);
    if (offset > hsize) throw new ParseError(`${what}: tag ${tag} points past the data store`, e);
    if (!entries.has(tag)) entries.set(tag, { tag, type, offset: dataStart + offset, count });
  }
  return { start: at, end: dataStart + hsize, entries, bytes };
}

/** Value readers: each bounded by the header's data end; undefined when the tag is absent or of another type. */
export function rpmBin(h: RpmHeader, tag: number): Uint8Array | undefined {
  const e = h.entries.get(tag);
  if (!e || e.type !== RPM_TYPE.BIN) return undefined;
  if (e.offset + e.count > h.end) throw new ParseError(`tag ${tag} runs past the header data`, e.offset);
  return h.bytes.subarray(e.offset, e.offset + e.count);
}

export function rpmStrings(h: RpmHeader, tag: number): { value: string; offset: number }[] | undefined {
  const e = h.entries.get(tag);
  if (!e || (e.type !== RPM_TYPE.STRING && e.type !== RPM_TYPE.STRING_ARRAY && e.type !== RPM_TYPE.I18NSTRING)) return undefined;
  const out: { value: string; offset: number }[] = [];
  let p = e.offset;
  const n = e.type === RPM_TYPE.STRING ? 1 : e.count;
  for (let i = 0; i < n; i++) {
    const z = h.bytes.indexOf(0, p);
    if (z < 0 || z >= h.end) throw new ParseError(`tag ${tag}: unterminated string`, p);
    out.push({ value: Buffer.from(h.bytes.subarray(p, z)).toString('utf8'), offset: p });
    p = z + 1;
  }
  return out;
}

export function rpmInts(h: RpmHeader, tag: number): number[] | undefined {
  const e = h.entries.get(tag);
  if (!e) return undefined;
  const width = e.type === RPM_TYPE.INT32 ? 4 : e.type === RPM_TYPE.INT64 ? 8 : e.type === RPM_TYPE.INT16 ? 2 : 0;
  if (!width) return undefined;
  if (e.count > MAX_HEADER_DATA / width || e.offset + e.count * width > h.end) throw new ParseError(`tag ${tag} runs past the header data`, e.offset);
  const dv = new DataView(h.bytes.buffer, h.bytes.byteOffset, h.bytes.byteLength);
  const out: number[] = [];
  for (let i = 0; i < e.count; i++) {
    const o = e.offset + i * width;
    out.push(width === 4 ? dv.getUint32(o) : width === 2 ? dv.getUint16(o) : Number(dv.getBigUint64(o)));
  }
  return out;
}

/** The signature header and the main header of a package whose first bytes are `bytes`. */
export function parseRpmHeaders(bytes: Uint8Array): { signature: RpmHeader; header: RpmHeader; payloadOffset: number } {
  if (bytes.length < RPM_LEAD_SIZE) throw new ParseError(`truncated RPM lead (${bytes.length} of ${RPM_LEAD_SIZE} bytes)`, 0, 'truncated');
  if (!RPM_LEAD_MAGIC.every((b, i) => bytes[i] === b)) throw new ParseError('not an RPM package (no lead magic ED AB EE DB)', 0);
  const signature = parseRpmHeader(bytes, RPM_LEAD_SIZE, 'signature header');
  const headerAt = signature.end + ((8 - (signature.end % 8)) % 8);
  const header = parseRpmHeader(bytes, headerAt, 'main header');
  return { signature, header, payloadOffset: header.end };
}
