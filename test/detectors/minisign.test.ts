import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { minisignDetector, parseEd25519Blobs } from '../../src/detectors/minisign.js';
import { ctxFor, detectAll, FIXTURES, summary } from '../helpers/scan.js';

const PKG = join(FIXTURES, 'packages');
const read = (f: string) => new Uint8Array(readFileSync(join(PKG, f)));
const run = (name: string, bytes: Uint8Array | string) => {
  const b = typeof bytes === 'string' ? new TextEncoder().encode(bytes) : bytes;
  const r = minisignDetector.detect(b, ctxFor(name, b));
  return Array.isArray(r) ? r : r.findings;
};

describe('minisign detector', () => {
  it('prehashed "ED" signature (BLAKE2b-512), key id as fingerprint', () => {
    const f = run('artefact.txt.minisig', read('artefact.txt.minisig'));
    expect(summary(f)).toEqual(['signature minisign Ed25519/BLAKE2b-512']);
    const pub = readFileSync(join(PKG, 'minisign.pub'), 'utf8');
    expect(pub).toContain(`minisign public key ${f[0].fingerprint}`);
  });

  it('legacy "Ed" signature (minisign -l): pure Ed25519, no prehash', () => {
    const f = run('artefact-legacy.txt.minisig', read('artefact-legacy.txt.minisig'));
    expect(summary(f)).toEqual(['signature minisign Ed25519']);
    expect(f[0].algorithm.name).toBe('Ed (legacy)');
  });

  it('public key; the registry does not also call it a signify key', () => {
    const r = detectAll('minisign.pub', read('minisign.pub'));
    expect(summary(r.findings)).toEqual(['public-key minisign Ed25519']);
  });

  it('secret keys: scrypt-encrypted and plain', () => {
    const sk = (kdf: string) => {
      const raw = Buffer.alloc(158);
      raw.write('Ed', 0, 'latin1');
      raw.write(kdf, 2, 'latin1');
      raw.write('B2', 4, 'latin1');
      raw.writeBigUInt64LE(33554432n, 38);
      raw.writeBigUInt64LE(1073741824n, 46);
      return `untrusted comment: minisign encrypted secret key\n${raw.toString('base64')}\n`;
    };
    const enc = run('minisign.key', sk('Sc'));
    expect(summary(enc)).toEqual(['private-key minisign Ed25519']);
    expect(enc[0].details).toMatchObject({ encrypted: true, kdf: 'scrypt', opslimit: 33554432, memlimit: 1073741824 });
    expect(run('minisign.key', sk('\0\0'))[0].details).toMatchObject({ encrypted: false });
  });

  it('ignores comment lines not followed by a key or signature', () => {
    expect(run('x.txt', 'untrusted comment: hello\nnot base64 at all!\n')).toEqual([]);
    expect(run('x.txt', `untrusted comment: x\n${Buffer.alloc(50).toString('base64')}\n`)).toEqual([]);
    expect(parseEd25519Blobs(new TextEncoder().encode('untrusted comment: x'), { name: 'x' })).toEqual([]);
  });
});
