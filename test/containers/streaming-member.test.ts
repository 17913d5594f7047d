/**
 * Members bigger than the in-memory limit are handed over as one-pass streams (src/containers/_reader.ts emitMember):
 * they are hashed and scanned, and the member after them still lines up; a truncated one is an error, not a hang.
 */
import { createHash } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { MEMBER_BUFFER_LIMIT } from '../../src/limits.js';
import { ScanEngine } from '../../src/scan/engine.js';
import { bytesRef } from '../../src/sources/types.js';

function tarHeader(name: string, size: number): Uint8Array {
  const h = Buffer.alloc(512);
  h.write(name, 0, 'latin1');
  h.write('0000644\0', 100);
  h.write('0000000\0', 108);
  h.write('0000000\0', 116);
  h.write(`${size.toString(8).padStart(11, '0')}\0`, 124);
  h.write('00000000000\0', 136);
  h.write('        ', 148);
  h[156] = 0x30;
  h.write('ustar\x0000', 257, 'latin1');
  let sum = 0;
  for (const b of h) sum += b;
  h.write(`${sum.toString(8).padStart(6, '0')}\0 `, 148, 'latin1');
  return h;
}

function tar(members: [string, Uint8Array][]): Uint8Array {
  const parts: Uint8Array[] = [];
  for (const [name, data] of members) {
    parts.push(tarHeader(name, data.length), data, new Uint8Array((512 - (data.length % 512)) % 512));
  }
  parts.push(new Uint8Array(1024));
  return new Uint8Array(Buffer.concat(parts));
}

describe('streamed archive members', () => {
  const big = new Uint8Array(MEMBER_BUFFER_LIMIT + 4096);
  big.set(Buffer.from('-----BEGIN CERTIFICATE-----\nnot base64 !!\n-----END CERTIFICATE-----\n'), 1000);
  const small = Buffer.from('after the big one\n');

  it('hashes a member larger than the buffer limit and finds the member after it', async () => {
    const engine = new ScanEngine();
    await engine.scan(
      bytesRef(
        'file:///t.tar',
        't.tar',
        tar([
          ['big.bin', big],
          ['next.txt', small],
        ]),
      ),
    );
    const bigRes = engine.results.find((r) => r.uri.endsWith('!/big.bin'))!;
    expect(bigRes.sha256).toBe(createHash('sha256').update(big).digest('hex'));
    expect(bigRes.errors.map((e) => e.code)).toContain('malformed'); // the bad PEM block was seen inside the stream
    const next = engine.results.find((r) => r.uri.endsWith('!/next.txt'))!;
    expect(next.sha256).toBe(createHash('sha256').update(small).digest('hex'));
  });

  it('reports a streamed member cut short as truncated', async () => {
    const whole = tar([['big.bin', big]]);
    const engine = new ScanEngine();
    await engine.scan(bytesRef('file:///cut.tar', 'cut.tar', whole.subarray(0, 512 + MEMBER_BUFFER_LIMIT - 10)));
    const top = engine.results.find((r) => r.uri === 'file:///cut.tar')!;
    expect(top.errors.map((e) => e.code)).toContain('truncated');
  });
});
