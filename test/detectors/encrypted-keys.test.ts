/**
 * Issue 16 item 4: an encrypted private key is a private key. Fresh keys of every common type, encrypted by OpenSSL
 * (node:crypto's PKCS#8 writer, PBES2 with AES-256-CBC and 3DES-CBC), must come back as the key they hold (or, when the
 * ciphertext's length fits several key types, as their family or `unknown` with the true key among the candidates,
 * never as another key), with the wrapping cipher as a second finding; and a scan scores the key, not the cipher.
 */
import { execFileSync } from 'node:child_process';
import { generateKeyPairSync, type KeyObject } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { detectKeys } from '../../src/detectors/keys.js';
import { detectPkcs12 } from '../../src/detectors/pkcs12.js';
import { scan } from '../../src/scan/scan.js';
import { needPrograms, requirePrerequisite } from '../helpers/prerequisites.js';
import { ctxFor } from '../helpers/scan.js';

const KEYS: [id: string, make: () => KeyObject][] = [
  ['RSA-1024', () => generateKeyPairSync('rsa', { modulusLength: 1024 }).privateKey],
  ['RSA-2048', () => generateKeyPairSync('rsa', { modulusLength: 2048 }).privateKey],
  ['RSA-3072', () => generateKeyPairSync('rsa', { modulusLength: 3072 }).privateKey],
  ['RSA-4096', () => generateKeyPairSync('rsa', { modulusLength: 4096 }).privateKey],
  ['ECDSA-P256', () => generateKeyPairSync('ec', { namedCurve: 'P-256' }).privateKey],
  ['ECDSA-P384', () => generateKeyPairSync('ec', { namedCurve: 'P-384' }).privateKey],
  ['ECDSA-P521', () => generateKeyPairSync('ec', { namedCurve: 'P-521' }).privateKey],
  ['ECDSA-secp256k1', () => generateKeyPairSync('ec', { namedCurve: 'secp256k1' }).privateKey],
  ['Ed25519', () => generateKeyPairSync('ed25519').privateKey],
  ['Ed448', () => generateKeyPairSync('ed448').privateKey],
  ['X25519', () => generateKeyPairSync('x25519').privateKey],
  ['X448', () => generateKeyPairSync('x448').privateKey],
  ['DSA-2048', () => generateKeyPairSync('dsa', { modulusLength: 2048, divisorLength: 256 }).privateKey],
];

/** Each key made once, encrypted under both ciphers (RSA-4096 generation takes a while). */
const made = new Map<string, KeyObject>();
const keyFor = (id: string, make: () => KeyObject) => made.get(id) ?? made.set(id, make()).get(id)!;

describe('encrypted PKCS#8 keys written by OpenSSL', () => {
  for (const cipher of ['aes-256-cbc', 'des-ede3-cbc']) {
    it(`${cipher}: each key is named, or narrowed to candidates that include it, never mistaken for another`, () => {
      const named: string[] = [];
      for (const [id, make] of KEYS) {
        const pem = keyFor(id, make).export({ type: 'pkcs8', format: 'pem', cipher, passphrase: 'test' }) as string;
        const bytes = new TextEncoder().encode(pem);
        const r = detectKeys(bytes, ctxFor('k.pem', bytes));
        expect(r.errors ?? [], id).toEqual([]);
        const [key, wrap] = r.findings;
        expect([key.kind, wrap.kind], id).toEqual(['private-key', 'encrypted-data']);
        expect(wrap.algorithm.id, id).toBe(cipher.startsWith('aes') ? 'AES-256' : '3DES');
        const candidates = (key.details?.keyAlgorithmCandidates as string[] | undefined) ?? [];
        if (key.algorithm.parameterKnown === false || key.algorithm.id === 'unknown') expect(candidates, id).toContain(id);
        else {
          expect(key.algorithm.id, id).toBe(id);
          named.push(id);
        }
      }
      // The sizes that matter most are told apart exactly.
      expect(named).toEqual(expect.arrayContaining(['RSA-1024', 'RSA-2048', 'RSA-3072', 'RSA-4096', 'ECDSA-P384', 'ECDSA-P521', 'DSA-2048']));
    });
  }

  it('a scan scores the key inside (RSA-2048 is exposed), and the wrapping cipher separately', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'shelflife-enckey-'));
    try {
      const pem = generateKeyPairSync('rsa', { modulusLength: 2048 }).privateKey.export({
        type: 'pkcs8',
        format: 'pem',
        cipher: 'aes-256-cbc',
        passphrase: 'test',
      });
      writeFileSync(join(dir, 'server.pem'), pem);
      const result = await scan({ targets: [dir], now: () => new Date('2026-01-01T00:00:00Z') });
      const a = result.artifacts.find((x) => x.uri.endsWith('/server.pem'))!;
      expect(a.class).toBe('key-material');
      const key = a.findings.find((f) => f.kind === 'private-key')!;
      const wrap = a.findings.find((f) => f.kind === 'encrypted-data')!;
      expect([key.algorithm.id, key.quantum.status]).toEqual(['RSA-2048', 'vulnerable']);
      expect(key.exposure?.severity).not.toBe('none');
      expect([wrap.algorithm.id, wrap.exposure?.severity]).toEqual(['AES-256', 'none']);
      expect(a.exposure?.severity).toBe(key.exposure?.severity);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe('PKCS#12 holding a P-256 key (openssl pkcs12 -export, its defaults)', () => {
  it('reports an ECDSA private key (the curve among the 256-bit ones), not only AES-256', (ctx) => {
    requirePrerequisite(ctx, needPrograms('PKCS#12 stores made by openssl', 'openssl'));
    const dir = mkdtempSync(join(tmpdir(), 'shelflife-p12-p256-'));
    try {
      const run = (...args: string[]) => execFileSync('openssl', args, { stdio: 'ignore' });
      run(
        'req',
        '-x509',
        '-nodes',
        '-newkey',
        'ec',
        '-pkeyopt',
        'ec_paramgen_curve:P-256',
        '-subj',
        '/CN=p256',
        '-keyout',
        join(dir, 'k.pem'),
        '-out',
        join(dir, 'c.pem'),
      );
      run('pkcs12', '-export', '-in', join(dir, 'c.pem'), '-inkey', join(dir, 'k.pem'), '-passout', 'pass:test', '-out', join(dir, 's.p12'));
      const bytes = new Uint8Array(readFileSync(join(dir, 's.p12')));
      const r = detectPkcs12(bytes, ctxFor('s.p12', bytes));
      const key = r.findings.find((f) => f.kind === 'private-key')!;
      expect([key.algorithm.family, key.quantum.status]).toEqual(['ECDSA', 'vulnerable']);
      expect(key.details?.keyAlgorithmCandidates).toContain('ECDSA-P256');
      expect(r.findings.filter((f) => f.kind === 'encrypted-data').map((f) => f.details?.role)).toEqual(['safe-contents', 'key-protection']);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
