/** Streaming decompression under the expansion budget and ratio limit, and recovery after a stream is abandoned. */
import { execFileSync } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import { gzipSync } from 'node:zlib';
import { describe, expect, it } from 'vitest';
import { decompress, decompressedName, sniffCompression } from '../../src/containers/compression.js';
import { ExpansionBudget } from '../../src/containers/types.js';
import { needPrograms, requirePrerequisite, requirePrerequisiteForAll } from '../helpers/prerequisites.js';

/** The xz streams are made by xz itself (xz-utils), as a second implementation of the format. */
const XZ_MISSING = needPrograms('the xz decompression tests', 'xz');
const xz = (data: Buffer) => execFileSync('xz', ['-1', '-c'], { input: data, maxBuffer: 1 << 26 });
const gz = (data: Buffer) => gzipSync(data, { level: 1 });

async function drain(it: AsyncIterable<Uint8Array>): Promise<number> {
  let n = 0;
  for await (const c of it) n += c.length;
  return n;
}

async function* once(b: Uint8Array) {
  yield b;
}

describe('compression', () => {
  it('sniffs gzip, xz and zstd and names what they hold', () => {
    expect(sniffCompression(gz(Buffer.from('x')))).toBe('gzip');
    expect(sniffCompression(Uint8Array.from([0xfd, 0x37, 0x7a, 0x58, 0x5a, 0x00, 0x00, 0x04]))).toBe('xz'); // xz file format §2.1.1.1
    expect(sniffCompression(Uint8Array.from([0x28, 0xb5, 0x2f, 0xfd]))).toBe('zstd');
    expect(sniffCompression(Buffer.from('plain text'))).toBeUndefined();
    expect(decompressedName('a.tar.gz')).toBe('a.tar');
    expect(decompressedName('fw.tgz')).toBe('fw.tar');
    expect(decompressedName('mod.ko.xz')).toBe('mod.ko');
  });

  it('stops a bomb at the ratio limit', async () => {
    await expect(drain(decompress('gzip', once(gz(Buffer.alloc(32 << 20))), new ExpansionBudget(), 'file:///bomb.gz'))).rejects.toThrow(
      /compression ratio above/,
    );
  });

  it('stops at the expansion budget', async () => {
    const budget = new ExpansionBudget(1 << 20);
    const random = Buffer.from(Array.from({ length: 2 << 20 }, (_, i) => (i * 2654435761) >>> 24));
    await expect(drain(decompress('gzip', once(gz(random)), budget, 'file:///big.gz'))).rejects.toThrow(/expanded past/);
  });

  it('decompresses the next xz stream after one was abandoned mid-way (no process-wide lock left held)', async (ctx) => {
    requirePrerequisite(ctx, XZ_MISSING);
    await expect(drain(decompress('xz', once(xz(Buffer.alloc(32 << 20))), new ExpansionBudget(), 'file:///bomb.xz'))).rejects.toThrow(/compression ratio/);
    const small = xz(Buffer.from('hello, after the bomb\n'));
    const n = await Promise.race([
      drain(decompress('xz', once(small), new ExpansionBudget(), 'file:///small.xz')),
      new Promise<number>((_, rej) => setTimeout(() => rej(new Error('xz hung')), 5000)),
    ]);
    expect(n).toBe(22);
  });
});

describe('xz streams with a check the WASM decoder cannot verify (SHA-256, as rpm writes them)', () => {
  requirePrerequisiteForAll(XZ_MISSING);
  const text = Buffer.from(Array.from({ length: 200_000 }, (_, i) => String.fromCharCode(97 + ((i * 7919) % 26))).join(''));
  const sha = (b: Uint8Array) => createHash('sha256').update(b).digest('hex');
  async function all(it: AsyncIterable<Uint8Array>): Promise<Buffer> {
    const parts: Buffer[] = [];
    for await (const c of it) parts.push(Buffer.from(c));
    return Buffer.concat(parts);
  }
  const variants: [string, string[]][] = [
    ['single block', ['--check=sha256']],
    ['several blocks', ['--check=sha256', '-T2', '--block-size=32768']],
    ['SHA-256 made by rpm-style preset', ['--check=sha256', '-2']],
  ];
  it.each(variants)('%s', async (_name, args) => {
    const compressed = execFileSync('xz', ['-c', ...args], { input: text, maxBuffer: 1 << 26 });
    expect(compressed[7] & 0x0f).toBe(0x0a);
    const out = await all(decompress('xz', once(compressed), new ExpansionBudget(), 'file:///x.xz'));
    expect(sha(out)).toBe(sha(text));
  });

  it('concatenated streams, and a corrupted one fails cleanly', async () => {
    const a = execFileSync('xz', ['-c', '--check=sha256'], { input: Buffer.from('first\n') });
    const b = execFileSync('xz', ['-c', '--check=sha256'], { input: Buffer.from('second\n') });
    expect((await all(decompress('xz', once(Buffer.concat([a, b])), new ExpansionBudget(), 'file:///c.xz'))).toString()).toBe('first\nsecond\n');
    const badIndex = Buffer.from(b);
    badIndex[badIndex.length - 14] ^= 0xff; // the Index (just before the 12-byte footer)
    await expect(all(decompress('xz', once(badIndex), new ExpansionBudget(), 'file:///bad.xz'))).rejects.toThrow(/index/);
    // Without the check, flipped payload bytes are only caught where LZMA2 itself notices; framing damage always is.
    const badFrame = Buffer.from(b);
    badFrame[12 + (badFrame[12] + 1) * 4] = 0x05; // the first LZMA2 control byte: 0x03–0x7f are invalid
    await expect(all(decompress('xz', once(badFrame), new ExpansionBudget(), 'file:///bad2.xz'))).rejects.toThrow();
    const truncated = b.subarray(0, b.length - 20);
    await expect(all(decompress('xz', once(truncated), new ExpansionBudget(), 'file:///t.xz'))).rejects.toThrow();
  });
});

/**
 * Bombs handed over as one input chunk (a whole file read at once): the decoder must stop after one bounded step of
 * output, not after expanding the whole chunk. Memory is watched on every chunk the decompressor yields.
 */
describe('bombs in one chunk stay bounded', () => {
  const MB = 1 << 20;
  /** Drain, and return the error and the most ArrayBuffer memory seen above where it started. */
  async function watch(it: AsyncIterable<Uint8Array>): Promise<{ error: unknown; peak: number }> {
    const base = process.memoryUsage().arrayBuffers;
    let peak = 0;
    try {
      for await (const _ of it) peak = Math.max(peak, process.memoryUsage().arrayBuffers - base);
    } catch (e) {
      peak = Math.max(peak, process.memoryUsage().arrayBuffers - base);
      return { error: e, peak };
    }
    return { error: undefined, peak };
  }

  /** A zstd frame of RLE blocks (RFC 8878 §3.1.1.2: 3-byte header, one byte of content, 128 KiB of output each). */
  function zstdRleBomb(blocks: number, windowDescriptor = 0x38): Uint8Array {
    const out = Buffer.alloc(6 + 4 * blocks);
    out.writeUInt32LE(0xfd2fb528, 0);
    out[4] = 0x00; // no single segment, no checksum, no dictionary, no content size
    out[5] = windowDescriptor; // 0x38: 2^(10+7) = 128 KiB window
    for (let i = 0; i < blocks; i++) {
      const header = ((128 * 1024) << 3) | (1 << 1) | (i === blocks - 1 ? 1 : 0);
      out.writeUIntLE(header, 6 + 4 * i, 3);
      out[6 + 4 * i + 3] = 0x41;
    }
    return out;
  }

  it('zstd: a 120 KB frame of RLE blocks that would expand to 3.75 GiB stops at the ratio limit', async () => {
    const bomb = zstdRleBomb(30_000);
    expect(bomb.length).toBeLessThan(125_000);
    const { error, peak } = await watch(decompress('zstd', once(bomb), new ExpansionBudget(), 'file:///bomb.zst'));
    expect((error as Error)?.message).toMatch(/compression ratio above 200:1/);
    expect(peak).toBeLessThan(256 * MB);
  });

  it('zstd: a frame asking for a 1 GiB window is refused before anything is allocated', async () => {
    const { error, peak } = await watch(decompress('zstd', once(zstdRleBomb(2, (30 - 10) << 3)), new ExpansionBudget(), 'file:///w.zst'));
    expect(error).toMatchObject({ code: 'limit-size' });
    expect((error as Error).message).toMatch(/asks for a 1073741824-byte window, more than the 134217728 bytes allowed/);
    expect(peak).toBeLessThan(64 * MB);
  });

  it('zstd: real zstd output still decompresses (zstd itself as the second implementation)', async (ctx) => {
    requirePrerequisite(ctx, needPrograms('the zstd cross-check', 'zstd'));
    const text = Buffer.from(Array.from({ length: 300_000 }, (_, i) => String.fromCharCode(97 + ((i * 7919) % 26))).join(''));
    const z = Buffer.concat([
      execFileSync('zstd', ['-19', '-c'], { input: text }),
      execFileSync('zstd', ['-1', '--no-check', '-c'], { input: Buffer.from('tail\n') }),
    ]);
    const parts: Buffer[] = [];
    for await (const c of decompress('zstd', once(z), new ExpansionBudget(), 'file:///real.zst')) parts.push(Buffer.from(c));
    expect(Buffer.concat(parts).toString()).toBe(`${text.toString()}tail\n`);
  });

  it('gzip: 256 MiB of zeros in one chunk stops at the ratio limit within one output step', async () => {
    const bomb = gzipSync(Buffer.alloc(256 * MB), { level: 9 });
    const { error, peak } = await watch(decompress('gzip', once(bomb), new ExpansionBudget(), 'file:///bomb.gz'));
    expect((error as Error)?.message).toMatch(/compression ratio above/);
    expect(peak).toBeLessThan(128 * MB);
  });

  it('xz: 512 MiB of zeros in one chunk stops at the ratio limit within one output step', async (ctx) => {
    requirePrerequisite(ctx, XZ_MISSING);
    const bomb = execFileSync('sh', ['-c', 'head -c 536870912 /dev/zero | xz -1 -c'], { maxBuffer: 1 << 26 });
    const { error, peak } = await watch(decompress('xz', once(bomb), new ExpansionBudget(), 'file:///bomb.xz'));
    expect((error as Error)?.message).toMatch(/compression ratio above/);
    expect(peak).toBeLessThan(128 * MB);
  });

  it('xz inside xz: a member opened while its container’s xz stream is still open does not wait for it forever', async (ctx) => {
    requirePrerequisite(ctx, XZ_MISSING);
    const inner = xz(Buffer.from('inner payload\n'));
    // The outer stream is read only partly (one chunk), then the inner one is read whole, then the outer to its end.
    const outer = xz(Buffer.concat([randomBytes(4 * MB), Buffer.from('end')]));
    const outerIt = decompress('xz', once(outer), new ExpansionBudget(), 'file:///outer.xz')[Symbol.asyncIterator]();
    expect((await outerIt.next()).done).toBe(false);
    const n = await Promise.race([
      drain(decompress('xz', once(inner), new ExpansionBudget(), 'file:///outer.xz!/inner.xz')),
      new Promise<number>((_, rej) => setTimeout(() => rej(new Error('inner xz waited on the outer stream')), 10_000)),
    ]);
    expect(n).toBe(14);
    let rest = 0;
    for (let r = await outerIt.next(); !r.done; r = await outerIt.next()) rest += r.value.length;
    expect(rest).toBeGreaterThan(0);
  });
});
