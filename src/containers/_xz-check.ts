/**
 * Re-frame an .xz stream whose integrity check the WASM decoder cannot verify (SHA-256, rpm's default; any check
 * other than None/CRC32/CRC64) as the same stream with check type None, on the fly, so it can be decompressed.
 * Nothing is decoded here: the LZMA2 chunk headers (xz format 1.1.0 §3.3, LZMA2 chunk layout) give each block's
 * compressed length, the check field after it is dropped, and the Index and Stream Footer are rewritten with the new
 * sizes and CRC32s. Integrity is then only what LZMA2 itself detects; scanning does not depend on the check (the
 * sha256 of the artifact is computed over its real bytes, and detectors validate what they parse).
 * @module
 */
import { crc32 } from 'node:zlib';
import { ParseError } from '../errors.js';
import { ChunkReader } from './_reader.js';

const MAGIC = [0xfd, 0x37, 0x7a, 0x58, 0x5a, 0x00];
const CHECK_SIZE = [0, 4, 4, 4, 8, 8, 8, 16, 16, 16, 32, 32, 32, 64, 64, 64];
const MAX_INDEX_RECORDS = 1_000_000;

/** Check types the decoder verifies itself (None, CRC32, CRC64): such streams pass through untouched. */
export function xzNeedsReframe(head: Uint8Array): boolean {
  if (head.length < 12 || MAGIC.some((b, i) => head[i] !== b)) return false;
  const check = head[7] & 0x0f;
  return check !== 0 && check !== 1 && check !== 4;
}

function le32(n: number): Uint8Array {
  const b = new Uint8Array(4);
  new DataView(b.buffer).setUint32(0, n >>> 0, true);
  return b;
}

function crc(bytes: Uint8Array): Uint8Array {
  return le32(crc32(bytes));
}

function varint(n: number): number[] {
  const out: number[] = [];
  while (n >= 0x80) {
    out.push((n % 0x80) | 0x80);
    n = Math.floor(n / 0x80);
  }
  out.push(n);
  return out;
}

async function readVarint(r: ChunkReader, raw: number[]): Promise<number> {
  let n = 0;
  for (let i = 0; i < 9; i++) {
    const b = await r.read(1);
    if (b.length === 0) throw new ParseError('xz: truncated index', r.position, 'truncated');
    raw.push(b[0]);
    n += (b[0] & 0x7f) * 2 ** (7 * i);
    if ((b[0] & 0x80) === 0) return n;
  }
  throw new ParseError('xz: index number too long', r.position);
}

async function exact(r: ChunkReader, n: number, what: string): Promise<Uint8Array> {
  const b = await r.read(n);
  if (b.length < n) throw new ParseError(`xz: truncated ${what}`, r.position, 'truncated');
  return b;
}

export async function* reframeXzWithoutCheck(source: AsyncIterable<Uint8Array>): AsyncIterable<Uint8Array> {
  const r = new ChunkReader(source);
  try {
    for (let streams = 0; ; streams++) {
      // Stream padding (multiples of four zero bytes) may separate concatenated streams.
      let header = await r.read(12);
      while (header.length === 12 && header.every((b) => b === 0)) header = await r.read(12);
      if (header.length === 0 || (streams > 0 && header.every((b) => b === 0))) return;
      if (header.length < 12 || MAGIC.some((b, i) => header[i] !== b)) throw new ParseError('xz: bad stream header', r.position);
      const checkSize = CHECK_SIZE[header[7] & 0x0f];
      const flags = new Uint8Array([0x00, 0x00]);
      yield new Uint8Array([...MAGIC, ...flags, ...crc(flags)]);
      const newUnpadded: number[] = [];
      // Blocks, until the Index indicator (a zero byte where a block header would start).
      for (;;) {
        const first = await exact(r, 1, 'block header');
        if (first[0] === 0x00) break;
        const headerSize = (first[0] + 1) * 4;
        const rest = await exact(r, headerSize - 1, 'block header');
        yield new Uint8Array([first[0], ...rest]);
        let compressed = 0;
        for (;;) {
          const c = (await exact(r, 1, 'LZMA2 chunk'))[0];
          yield new Uint8Array([c]);
          compressed += 1;
          if (c === 0x00) break;
          let hdr: Uint8Array;
          let payload: number;
          if (c === 0x01 || c === 0x02) {
            hdr = await exact(r, 2, 'LZMA2 chunk');
            payload = ((hdr[0] << 8) | hdr[1]) + 1;
          } else if (c >= 0x80) {
            const props = (c >> 5) & 3;
            hdr = await exact(r, props >= 2 ? 5 : 4, 'LZMA2 chunk');
            payload = ((hdr[2] << 8) | hdr[3]) + 1;
          } else {
            throw new ParseError(`xz: invalid LZMA2 control byte 0x${c.toString(16)}`, r.position);
          }
          yield hdr;
          compressed += hdr.length;
          for await (const part of r.take(payload)) yield part;
          compressed += payload;
        }
        const padding = (4 - ((headerSize + compressed) % 4)) % 4;
        yield await exact(r, padding, 'block padding');
        await exact(r, checkSize, 'block check');
        newUnpadded.push(headerSize + compressed);
      }
      // Index: indicator (already read), record count, records, padding, CRC32 — rewritten with the new sizes.
      const raw: number[] = [0x00];
      const count = await readVarint(r, raw);
      if (count !== newUnpadded.length || count > MAX_INDEX_RECORDS) throw new ParseError('xz: index does not match the blocks', r.position);
      const index: number[] = [0x00, ...varint(count)];
      for (let i = 0; i < count; i++) {
        const oldUnpadded = await readVarint(r, raw);
        const uncompressed = await readVarint(r, raw);
        if (oldUnpadded !== newUnpadded[i] + checkSize) throw new ParseError('xz: index does not match the blocks', r.position);
        index.push(...varint(newUnpadded[i]), ...varint(uncompressed));
      }
      raw.push(...(await exact(r, (4 - (raw.length % 4)) % 4, 'index padding')));
      // The Index is rewritten, so its CRC32 is checked here rather than by the decoder.
      const storedCrc = await exact(r, 4, 'index CRC32');
      if (crc32(Uint8Array.from(raw)) !== new DataView(storedCrc.buffer, storedCrc.byteOffset, 4).getUint32(0, true)) {
        throw new ParseError('xz: index CRC32 mismatch', r.position);
      }
      while (index.length % 4) index.push(0);
      const indexBytes = new Uint8Array(index);
      yield indexBytes;
      yield crc(indexBytes);
      await exact(r, 12, 'stream footer');
      // Footer: CRC32, Backward Size = (index size incl. its CRC32) / 4 - 1, stream flags (check None), "YZ".
      const footerBody = new Uint8Array(6);
      footerBody.set(le32((indexBytes.length + 4) / 4 - 1), 0);
      yield new Uint8Array([...crc(footerBody), ...footerBody, 0x59, 0x5a]);
    }
  } finally {
    await r.close();
  }
}
