import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { claims } from '../../src/detectors/index.js';
import { opensslEncDetector } from '../../src/detectors/openssl-enc.js';
import { ctxFor, FIXTURES, summary } from '../helpers/scan.js';

const run = (bytes: Uint8Array) => {
  const r = opensslEncDetector.detect(bytes, ctxFor('blob.enc', bytes));
  return Array.isArray(r) ? r : r.findings;
};

describe('openssl-enc detector', () => {
  it('"Salted__" blob from openssl enc: symmetric, cipher unknown (parameterKnown false), salt recorded', () => {
    const bytes = new Uint8Array(readFileSync(join(FIXTURES, 'packages', 'secret.txt.enc')));
    expect(claims(opensslEncDetector, bytes, { name: 'anything', baseOffset: 0 })).toBe(true);
    const f = run(bytes);
    expect(summary(f)).toEqual(['encrypted-data openssl-enc Symmetric']);
    expect(f[0].algorithm.parameterKnown).toBe(false);
    expect(f[0].quantum.status).toBe('weakened');
    expect(f[0].details).toMatchObject({ salt: Buffer.from(bytes.subarray(8, 16)).toString('hex'), ciphertextBytes: 16 });
  });

  it('notes a ciphertext length that rules out a 16-byte block mode', () => {
    const f = run(new Uint8Array(Buffer.concat([Buffer.from('Salted__'), Buffer.alloc(8), Buffer.alloc(21)])));
    expect(f[0].details?.note).toMatch(/not a multiple of 16/);
  });

  it('ignores text that merely starts with the word, and bytes without the magic', () => {
    expect(run(new TextEncoder().encode('Salted__ peanuts'))).toEqual([]);
    expect(claims(opensslEncDetector, new Uint8Array(32), { name: 'x', baseOffset: 0 })).toBe(false);
  });
});
