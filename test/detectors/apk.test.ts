/**
 * APK Signature Scheme v2/v3/v3.1: apksigner output (EC P-256 v1+v2+v3, RSA-3072 v2 only), a v3.1 block (same
 * format as v3 under id 0x1b93ad61), an unsigned zip, and hostile signing blocks.
 */
import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { deflateRawSync } from 'node:zlib';
import { describe, expect, it } from 'vitest';
import { apkDetector } from '../../src/detectors/apk.js';
import { claims, runDetectors } from '../../src/detectors/index.js';
import { needPrograms, requirePrerequisite } from '../helpers/prerequisites.js';
import { ctxFor, FIXTURES, summary } from '../helpers/scan.js';

const path = (f: string) => join(FIXTURES, 'firmware', f);
const read = (f: string) => new Uint8Array(readFileSync(path(f)));
const detect = (name: string, b: Uint8Array) => runDetectors(b, ctxFor(name, b), { only: new Set(['apk']) });
const V3_ID = Buffer.from([0xc0, 0x68, 0x53, 0xf0]);
const V31_ID = Buffer.from([0x61, 0xad, 0x93, 0x1b]);

describe('apk', () => {
  it('claims *.apk by name, also on the raw bytes of the archive', () => {
    expect(claims(apkDetector, new Uint8Array(4), { name: 'app.apk', baseOffset: 0 })).toBe(true);
    expect(apkDetector.claims.containers).toBe(true);
    expect(claims(apkDetector, new Uint8Array(4), { name: 'app.zip', baseOffset: 0 })).toBe(false);
  });

  it('v2 + v3 with an EC P-256 key: signers, algorithm ids, certificates, SDK range', () => {
    const r = detect('app.apk', read('app-v1v2v3-ec.apk'));
    expect(r.errors).toEqual([]);
    expect(summary(r.findings)).toEqual([
      'certificate apk ECDSA-P256/SHA-256',
      'certificate apk ECDSA-P256/SHA-256',
      'signature apk ECDSA-P256/SHA-256',
      'signature apk ECDSA-P256/SHA-256',
    ]);
    const v3 = r.findings.find((f) => f.kind === 'signature' && f.details?.scheme === 'v3')!;
    expect(v3.details).toMatchObject({ signatureAlgorithmId: '0x0201', publicKey: 'ECDSA-P256', minSdk: 24 });
    expect(v3.subject).toBe('CN=shelflife apk ec');
    expect(r.annotations).toMatchObject({ 'apk.signingBlock': 'present', 'apk.schemes': 'v2,v3' });
  });

  it('RSA-3072 v2 signer: PKCS#1 v1.5 with SHA-256 (0x0103)', () => {
    const r = detect('rsa.apk', read('app-v2-rsa.apk'));
    const sig = r.findings.find((f) => f.kind === 'signature')!;
    expect(sig.algorithm).toMatchObject({ id: 'RSA-3072', hash: 'SHA-256', name: 'RSA_PKCS1_V1_5_WITH_SHA256' });
    expect(sig.details).toMatchObject({ scheme: 'v2', signatureLength: 384 });
  });

  it('agrees with apksigner verify --print-certs on the signer', (ctx) => {
    requirePrerequisite(ctx, needPrograms('the apksigner cross-check', 'apksigner'));
    const out = execFileSync('apksigner', ['verify', '--verbose', '--print-certs', '--min-sdk-version', '24', path('app-v2-rsa.apk')], {
      stdio: ['ignore', 'pipe', 'pipe'],
    }).toString();
    const digest = out.match(/Signer #1 certificate SHA-256 digest: ([0-9a-f]+)/)![1];
    const key = out.match(/Signer #1 key size \(bits\): (\d+)/)![1];
    const r = detect('rsa.apk', read('app-v2-rsa.apk'));
    expect(r.findings.find((f) => f.kind === 'certificate')!.fingerprint).toBe(digest);
    expect(r.findings.find((f) => f.kind === 'signature')!.algorithm.id).toBe(`RSA-${key}`);
  });

  it('v3.1 blocks are read like v3', () => {
    const b = Buffer.from(read('app-v1v2v3-ec.apk'));
    const magic = b.lastIndexOf(Buffer.from('APK Sig Block 42'));
    const at = b.lastIndexOf(V3_ID, magic);
    V31_ID.copy(b, at);
    const r = detect('app.apk', new Uint8Array(b));
    expect(r.annotations['apk.schemes']).toBe('v2,v3.1');
    expect(r.findings.filter((f) => f.details?.scheme === 'v3.1')).toHaveLength(1);
  });

  it('negative: a zip without a signing block, a non-zip named .apk', () => {
    const zip = minimalZip();
    expect(detect('plain.apk', zip)).toMatchObject({ findings: [], errors: [], annotations: { 'apk.signingBlock': 'absent' } });
    expect(detect('x.apk', new TextEncoder().encode('hello'))).toMatchObject({ findings: [], errors: [] });
  });

  it('malformed: block sizes that disagree, pair lengths past the block, truncated signer', () => {
    const b = Buffer.from(read('app-v2-rsa.apk'));
    const magic = b.lastIndexOf(Buffer.from('APK Sig Block 42'));
    const sizes = Buffer.from(b);
    sizes.writeBigUInt64LE(12345n, magic - 8);
    expect(detect('s.apk', new Uint8Array(sizes)).errors[0].message).toMatch(/^APK Signing Block size 12345 does not match/);
    const size = Number(b.readBigUInt64LE(magic - 8));
    const start = magic + 16 - size - 8; // size counts everything after the leading u64
    const pair = Buffer.from(b);
    pair.writeBigUInt64LE(1n << 40n, start + 8);
    expect(detect('p.apk', new Uint8Array(pair)).errors[0]).toMatchObject({ code: 'truncated' });
    const signer = Buffer.from(b);
    signer.writeUInt32LE(0xfffffff0, start + 8 + 12 + 4); // length of the first signer
    const r = detect('t.apk', new Uint8Array(signer));
    expect(r.findings).toEqual([]);
    expect(r.errors[0].message).toMatch(/^v2 block/);
  });
});

/** One stored entry, central directory, EOCD (APPNOTE 4.3). */
function minimalZip(): Uint8Array {
  const name = Buffer.from('a.txt');
  const data = deflateRawSync(Buffer.from('hi'));
  const local = Buffer.alloc(30);
  local.writeUInt32LE(0x04034b50, 0);
  local.writeUInt16LE(8, 8);
  local.writeUInt32LE(data.length, 18);
  local.writeUInt32LE(2, 22);
  local.writeUInt16LE(name.length, 26);
  const cd = Buffer.alloc(46);
  cd.writeUInt32LE(0x02014b50, 0);
  cd.writeUInt16LE(8, 10);
  cd.writeUInt32LE(data.length, 20);
  cd.writeUInt32LE(2, 24);
  cd.writeUInt16LE(name.length, 28);
  const cdOffset = local.length + name.length + data.length;
  const eocd = Buffer.alloc(22);
  eocd.writeUInt32LE(0x06054b50, 0);
  eocd.writeUInt16LE(1, 8);
  eocd.writeUInt16LE(1, 10);
  eocd.writeUInt32LE(cd.length + name.length, 12);
  eocd.writeUInt32LE(cdOffset, 16);
  return new Uint8Array(Buffer.concat([local, name, data, cd, name, eocd]));
}
