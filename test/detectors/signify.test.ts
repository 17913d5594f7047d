import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { signifyDetector } from '../../src/detectors/signify.js';
import { ctxFor, detectAll, FIXTURES, summary } from '../helpers/scan.js';

const PKG = join(FIXTURES, 'packages');
const read = (f: string) => new Uint8Array(readFileSync(join(PKG, f)));
const run = (name: string, bytes: Uint8Array | string) => {
  const b = typeof bytes === 'string' ? new TextEncoder().encode(bytes) : bytes;
  const r = signifyDetector.detect(b, ctxFor(name, b));
  return Array.isArray(r) ? r : r.findings;
};

describe('signify detector', () => {
  it('signature, public key and secret key made by signify-openbsd, with matching key ids', () => {
    const sig = run('artefact.txt.sig', read('artefact.txt.sig'));
    const pub = run('signify.pub', read('signify.pub'));
    const sec = run('signify.sec', read('signify.sec'));
    expect(summary([...sig, ...pub, ...sec])).toEqual(['private-key signify Ed25519', 'public-key signify Ed25519', 'signature signify Ed25519']);
    expect(new Set([sig[0].fingerprint, pub[0].fingerprint, sec[0].fingerprint]).size).toBe(1);
    expect(sec[0].details).toMatchObject({ encrypted: false });
  });

  it('a bcrypt_pbkdf-encrypted secret key', () => {
    const raw = Buffer.alloc(104);
    raw.write('EdBK', 0, 'latin1');
    raw.writeUInt32BE(42, 4);
    const f = run('k.sec', `untrusted comment: signify secret key\n${raw.toString('base64')}\n`);
    expect(f[0].details).toMatchObject({ encrypted: true, kdf: 'bcrypt_pbkdf', rounds: 42 });
  });

  it('an embedded signature (signify -e) and a minisign file are told apart', () => {
    const embedded = `${readFileSync(join(PKG, 'artefact.txt.sig'), 'utf8')}release artefact\n`;
    expect(summary(run('artefact.txt.sig', embedded))).toEqual(['signature signify Ed25519']);
    expect(run('artefact.txt.minisig', read('artefact.txt.minisig'))).toEqual([]);
    expect(summary(detectAll('artefact.txt.sig', read('artefact.txt.sig')).findings)).toEqual(['signature signify Ed25519']);
  });
});
