/**
 * TUF metadata (src/detectors/tuf.ts) on python-tuf's test repository (fixtures/supply-chain/realworld/python-tuf),
 * with key sizes checked against pyca/cryptography when python3 has it, plus negative and malformed input.
 */
import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { claims } from '../../src/detectors/index.js';
import { tufDetector } from '../../src/detectors/tuf.js';
import { needPrograms, requirePrerequisite } from '../helpers/prerequisites.js';
import { detectAll, FIXTURES, summary } from '../helpers/scan.js';

const DIR = join(FIXTURES, 'supply-chain', 'realworld', 'python-tuf');
const read = (f: string) => new Uint8Array(readFileSync(join(DIR, f)));
const tuf = (name: string, bytes: Uint8Array | string) => {
  const r = detectAll(name, bytes);
  return { ...r, findings: r.findings.filter((f) => f.format === 'tuf'), errors: r.errors.filter((e) => e.source === 'tuf') };
};

describe('tuf detector', () => {
  it('claims metadata by name and by its key ids', () => {
    expect(claims(tufDetector, new Uint8Array(8), { name: 'root.json', baseOffset: 0 })).toBe(true);
    expect(claims(tufDetector, new Uint8Array(8), { name: '3.targets.json', baseOffset: 0 })).toBe(true);
  });

  it('root.json: every key with the roles it serves, and the root signature sized by its own root key', () => {
    const r = tuf('root.json', read('root.json'));
    expect(r.errors).toEqual([]);
    expect(summary(r.findings)).toEqual([
      'public-key tuf Ed25519',
      'public-key tuf Ed25519',
      'public-key tuf Ed25519',
      'public-key tuf RSA-3072',
      'signature tuf RSA-3072/SHA-256',
    ]);
    const rootKey = r.findings.find((f) => f.algorithm.id === 'RSA-3072' && f.kind === 'public-key')!;
    expect(rootKey.details).toMatchObject({
      keyid: '4e777de0d275f9d28588dd9a1606cc748e548f9e22b6795b7cb3f63f98035fcb',
      keytype: 'rsa',
      scheme: 'rsassa-pss-sha256',
      roles: ['root (threshold 1)'],
      metadataExpires: '2030-01-01T00:00:00Z',
    });
    const sig = r.findings.find((f) => f.kind === 'signature')!;
    expect(sig).toMatchObject({
      fingerprint: rootKey.details?.keyid,
      notAfter: '2030-01-01T00:00:00Z',
      algorithm: { mode: 'PSS' },
      details: { parameterFrom: 'key', metadata: 'root' },
    });
    expect(r.annotations).toMatchObject({ 'tuf.role': 'root', 'tuf.version': '1', 'tuf.expires': '2030-01-01T00:00:00Z' });
    // The PEM key is one object: the keys detector's finding of the same PEM is folded into the TUF one.
    expect(detectAll('root.json', read('root.json')).findings.filter((f) => f.kind === 'public-key')).toHaveLength(4);
  });

  it('matches pyca/cryptography on the PEM key size', (ctx) => {
    requirePrerequisite(ctx, needPrograms('the pyca/cryptography cross-check', 'python3'));
    const pem = JSON.parse(readFileSync(join(DIR, 'root.json'), 'utf8')).signed.keys['4e777de0d275f9d28588dd9a1606cc748e548f9e22b6795b7cb3f63f98035fcb'].keyval
      .public;
    const bits = execFileSync(
      'python3',
      ['-c', 'import sys; from cryptography.hazmat.primitives.serialization import load_pem_public_key as l; print(l(sys.stdin.buffer.read()).key_size)'],
      {
        input: pem,
      },
    )
      .toString()
      .trim();
    expect(`RSA-${bits}`).toBe('RSA-3072');
  });

  it('targets: delegated keys, and a signature whose key lives in root.json stays for the join step', () => {
    const r = tuf('targets.json', read('targets.json'));
    expect(summary(r.findings)).toEqual(['public-key tuf Ed25519', 'signature tuf unknown']);
    const sig = r.findings.find((f) => f.kind === 'signature')!;
    expect(sig.fingerprint).toBe('65171251a9aff5a8b3143a813481cb07f6e0de4eb197c767837fe4491b739093');
    expect(r.findings[0].details).toMatchObject({ roles: ['role1 (threshold 1)'] });
  });

  it('is not TUF: a DSSE envelope, a plain JSON object, an in-toto layout', () => {
    expect(tuf('x.json', '{"keyid": "ab", "signed": {"_type": "layout"}, "signatures": []}').findings).toEqual([]);
    expect(tuf('root.json', '{"signed": {"_type": "root"}}').findings).toEqual([]);
    expect(tuf('root.json', '{"a": 1}').findings).toEqual([]);
  });

  it('malformed: a key whose PEM does not parse is an error, the rest is still read', () => {
    const doc = JSON.parse(readFileSync(join(DIR, 'root.json'), 'utf8'));
    const id = '4e777de0d275f9d28588dd9a1606cc748e548f9e22b6795b7cb3f63f98035fcb';
    doc.signed.keys[id].keyval.public = '-----BEGIN PUBLIC KEY-----\nMIIBIjANBgkqhkiG9w0BAQEFAAOC\n-----END PUBLIC KEY-----';
    const r = tuf('root.json', JSON.stringify(doc));
    expect(r.errors.map((e) => e.code)).toEqual(['malformed']);
    expect(r.errors[0].message).toMatch(/signed\.keys\.4e777de0.*public key does not parse/);
    expect(summary(r.findings).filter((s) => s.startsWith('public-key'))).toEqual([
      'public-key tuf Ed25519',
      'public-key tuf Ed25519',
      'public-key tuf Ed25519',
    ]);
    expect(
      tuf(
        'root.json',
        '{"signed": {"_type": "root", "keys": {"k": {"keytype": "ed25519", "scheme": "ed25519", "keyval": {"public": "zz"}}}}, "signatures": [{"keyid": "k", "sig": "00"}]}',
      ).findings.map((f) => f.algorithm.id),
    ).toEqual(['Ed25519', 'Ed25519']);
  });
});
