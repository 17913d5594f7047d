/**
 * Kernel module signatures: sign-file-style PKCS#7 (RSA-4096/SHA-256 without certificates, ECDSA P-384/SHA-384),
 * the pre-4.3 key-id layout, a compressed module through the engine, and hostile trailers.
 */
import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { claims, runDetectors } from '../../src/detectors/index.js';
import { kmodDetector } from '../../src/detectors/kmod.js';
import { needPrograms, requirePrerequisite } from '../helpers/prerequisites.js';
import { ctxFor, FIXTURES, findingsUnder, scanPaths, summary } from '../helpers/scan.js';
import { pathToFileURL } from 'node:url';

const path = (f: string) => join(FIXTURES, 'firmware', f);
const read = (f: string) => new Uint8Array(readFileSync(path(f)));
const detect = (name: string, b: Uint8Array) => runDetectors(b, ctxFor(name, b), { only: new Set(['kmod']) });
const TRAILER = '~Module signature appended~\n';

describe('kmod', () => {
  it('claims *.ko by name (a decompressed .ko.xz keeps the .ko name)', () => {
    expect(claims(kmodDetector, new Uint8Array(4), { name: 'ext4.ko', baseOffset: 0 })).toBe(true);
    expect(claims(kmodDetector, new Uint8Array(4), { name: 'lib/modules/6.1/kernel/fs/ext4/ext4.ko', baseOffset: 0 })).toBe(true);
    expect(claims(kmodDetector, new TextEncoder().encode(`x${TRAILER}`), { name: 'blob', baseOffset: 0 })).toBe(false);
  });

  it('PKCS#7 without certificates: RSA size from the signature length, signer from the sid', () => {
    const r = detect('rsa4096-sha256.ko', read('rsa4096-sha256.ko'));
    expect(r.errors).toEqual([]);
    expect(summary(r.findings)).toEqual(['signature kmod RSA-4096/SHA-256']);
    const [f] = r.findings;
    expect(f.issuer).toBe('O=shelflife fixtures,CN=kmod-rsa');
    expect(f.quantum).toMatchObject({ status: 'vulnerable', classicalBits: 128 });
    expect(f.details).toMatchObject({ idType: 'PKCS#7', parameterFrom: 'signature-length', detached: true });
    expect(r.annotations).toMatchObject({ 'kmod.signed': 'true', 'kmod.id_type': 'PKCS#7' });
  });

  it('the sid serial is what openssl cms prints for the SignerInfo', (ctx) => {
    requirePrerequisite(ctx, needPrograms('the openssl cms cross-check', 'openssl'));
    const r = detect('rsa4096-sha256.ko', read('rsa4096-sha256.ko'));
    const printed = execFileSync('openssl', ['cms', '-cmsout', '-print', '-inform', 'DER'], { input: sigBytes(read('rsa4096-sha256.ko')) }).toString();
    const serialHex = BigInt(`0x${r.findings[0].serial}`).toString(16).toUpperCase();
    expect(printed.replace(/[:\s]/g, '').toUpperCase()).toContain(serialHex);
    expect(printed).toContain('sha256');
  });

  it('ECDSA without a certificate: the curve cannot be known, and says so', () => {
    const [f] = detect('ecdsa-p384-sha384.ko', read('ecdsa-p384-sha384.ko')).findings;
    expect(f.algorithm).toMatchObject({ id: 'ECDSA', hash: 'SHA-384', parameterKnown: false });
  });

  it('pre-4.3 key-id signature: algo/hash bytes, signer name, key id, MPI size', () => {
    const [f] = detect('legacy-x509-id.ko', read('legacy-x509-id.ko')).findings;
    expect(f.algorithm).toMatchObject({ id: 'RSA-2048', hash: 'SHA-256' });
    expect(f.subject).toBe('Legacy module signing key');
    expect(f.fingerprint).toBe('000102030405060708090a0b0c0d0e0f10111213');
  });

  it('a .ko.xz reaches the detector decompressed through the engine', async () => {
    const p = path('rsa4096-sha256.ko.xz');
    const { findings, errors } = findingsUnder(await scanPaths(p), pathToFileURL(p).href);
    expect(errors).toEqual([]);
    expect(summary(findings)).toEqual(['signature kmod RSA-4096/SHA-256']);
  });

  it('unsigned module: signed=false, nothing else', () => {
    const r = detect('unsigned.ko', read('unsigned.ko'));
    expect(r.findings).toEqual([]);
    expect(r.annotations['kmod.signed']).toBe('false');
  });

  it('malformed trailers give clear errors', () => {
    const e = detect('bad-siglen.ko', read('bad-siglen.ko')).errors;
    expect(e).toHaveLength(1);
    expect(e[0]).toMatchObject({ code: 'truncated', source: 'kmod' });
    expect(e[0].message).toMatch(/sig_len 99999/);
    expect(detect('t.ko', new TextEncoder().encode(TRAILER)).errors[0].code).toBe('truncated');
    const unknown = read('rsa4096-sha256.ko').slice();
    unknown[unknown.length - TRAILER.length - 12 + 2] = 7; // id_type 7
    expect(detect('u.ko', unknown).errors[0]).toMatchObject({ code: 'unsupported' });
    const garbled = read('rsa4096-sha256.ko').slice();
    const sigLen = Buffer.from(garbled).readUInt32BE(garbled.length - TRAILER.length - 4);
    garbled[garbled.length - TRAILER.length - 12 - sigLen] = 0x04; // PKCS#7 no longer a SEQUENCE
    expect(detect('g.ko', garbled).errors[0].code).toBe('malformed');
  });
});

/** The PKCS#7 between the module and the 12-byte struct module_signature. */
function sigBytes(b: Uint8Array): Buffer {
  const buf = Buffer.from(b);
  const info = buf.length - TRAILER.length - 12;
  const len = buf.readUInt32BE(info + 8);
  return buf.subarray(info - len, info);
}
