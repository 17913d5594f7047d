/** Streaming decompression under the expansion budget and ratio limit, and recovery after a stream is abandoned. */
import { execFileSync } from 'node:child_process';
import { describe, expect, it } from 'vitest';
import { decompress, decompressedName, sniffCompression } from '../../src/containers/compression.js';
import { ExpansionBudget } from '../../src/containers/types.js';

const xz = (data: Buffer) => execFileSync('xz', ['-1', '-c'], { input: data, maxBuffer: 1 << 26 });
const gz = (data: Buffer) => execFileSync('gzip', ['-1', '-c'], { input: data, maxBuffer: 1 << 26 });

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
    expect(sniffCompression(xz(Buffer.from('x')))).toBe('xz');
    expect(sniffCompression(Uint8Array.from([0x28, 0xb5, 0x2f, 0xfd]))).toBe('zstd');
    expect(sniffCompression(Buffer.from('plain text'))).toBeUndefined();
    expect(decompressedName('a.tar.gz')).toBe('a.tar');
    expect(decompressedName('fw.tgz')).toBe('fw.tar');
    expect(decompressedName('mod.ko.xz')).toBe('mod.ko');
  });

  it('stops a bomb at the ratio limit', async () => {
    await expect(drain(decompress('gzip', once(gz(Buffer.alloc(32 << 20))), new ExpansionBudget(), 'file:///bomb.gz'))).rejects.toThrow(/compression ratio above/);
  });

  it('stops at the expansion budget', async () => {
    const budget = new ExpansionBudget(1 << 20);
    const random = Buffer.from(Array.from({ length: 2 << 20 }, (_, i) => (i * 2654435761) >>> 24));
    await expect(drain(decompress('gzip', once(gz(random)), budget, 'file:///big.gz'))).rejects.toThrow(/expanded past/);
  });

  it('decompresses the next xz stream after one was abandoned mid-way (no process-wide lock left held)', async () => {
    await expect(drain(decompress('xz', once(xz(Buffer.alloc(32 << 20))), new ExpansionBudget(), 'file:///bomb.xz'))).rejects.toThrow(/compression ratio/);
    const small = xz(Buffer.from('hello, after the bomb\n'));
    const n = await Promise.race([drain(decompress('xz', once(small), new ExpansionBudget(), 'file:///small.xz')), new Promise<number>((_, rej) => setTimeout(() => rej(new Error('xz hung')), 5000))]);
    expect(n).toBe(22);
  });
});
