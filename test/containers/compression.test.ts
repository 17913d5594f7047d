/** Streaming decompression under the expansion budget and ratio limit, and recovery after a stream is abandoned. */
import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
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
