import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { ageDetector } from '../../src/detectors/age.js';
import { ctxFor, detectAll, FIXTURES, summary } from '../helpers/scan.js';

const PKG = join(FIXTURES, 'packages');
const read = (f: string) => new Uint8Array(readFileSync(join(PKG, f)));
const run = (name: string, bytes: Uint8Array | string) => {
  const b = typeof bytes === 'string' ? new TextEncoder().encode(bytes) : bytes;
  const r = ageDetector.detect(b, ctxFor(name, b));
  return Array.isArray(r) ? r : r.findings;
};
const header = (...stanzas: string[]) => `age-encryption.org/v1\n${stanzas.join('\n')}\n--- ${'A'.repeat(43)}\n\u0000payload`;

describe('age detector', () => {
  it('X25519 recipient (age -r): one stanza finding and the ChaCha20-Poly1305 payload', () => {
    const f = run('x25519.age', read('x25519.age'));
    expect(summary(f)).toEqual(['encrypted-data age ChaCha20-Poly1305', 'encrypted-data age X25519']);
    expect(f.map((x) => x.location.offset)).toEqual([22, 120]);
  });

  it('several recipients: X25519, ssh-ed25519 (X25519 on the converted key) and ssh-rsa (OAEP, size from the body)', () => {
    const f = run('multi-recipient.age', read('multi-recipient.age'));
    expect(f.map((x) => [x.details?.stanza, x.algorithm.id])).toEqual([
      ['X25519', 'X25519'],
      ['ssh-ed25519', 'X25519'],
      ['ssh-rsa', 'RSA-3072'],
      [undefined, 'ChaCha20-Poly1305'],
    ]);
    expect(f[2].algorithm).toMatchObject({ mode: 'OAEP', hash: 'SHA-256' });
    expect(f[1].details).toMatchObject({ recipientKey: 'Ed25519' });
  });

  it('passphrase (age -p): scrypt with its work factor', () => {
    const f = run('scrypt.age', read('scrypt.age'));
    expect(f[0]).toMatchObject({ algorithm: { id: 'Password', name: 'scrypt' }, details: { kdf: 'scrypt', workFactor: 18 } });
  });

  it('armored age (age -a), found by the registry by its armor', () => {
    expect(summary(detectAll('notes.txt', read('x25519-armored.age')).findings)).toEqual(['encrypted-data age ChaCha20-Poly1305', 'encrypted-data age X25519']);
  });

  it('post-quantum hybrid and unknown plugin stanzas', () => {
    const f = run('pq.age', header(`-> mlkem768x25519 ${'A'.repeat(20)}`, 'AAAA', '-> piv-p256 abcd', 'AAAA', '-> frobnicate x', ''));
    expect(f.map((x) => `${x.algorithm.id}:${x.quantum.status}`)).toEqual([
      'ML-KEM-768+X25519:hybrid',
      'ECDH-P256:vulnerable',
      'unknown:unknown',
      'ChaCha20-Poly1305:resistant',
    ]);
  });

  it('malformed and truncated headers are errors that say what is wrong', () => {
    expect(() => run('t.age', read('truncated.age'))).toThrow(/no "---" MAC line/);
    expect(() => run('t.age', 'age-encryption.org/v1\nnot a stanza\n--- x\n')).toThrow(/expected a "-> " stanza line/);
    expect(() => run('t.age', 'age-encryption.org/v1\n--- x\n')).toThrow(/no recipient stanza/);
    expect(() => run('t.age', 'hello')).toThrow(/named like an age file/);
    expect(run('notes.txt', 'hello')).toEqual([]);
  });
});
