/**
 * U-Boot FIT: mkimage-signed images (sha256,rsa2048 and sha256,ecdsa256), an unsigned SHA-1 FIT, control FDTs with
 * the public keys mkimage -K wrote, a control FDT appended to a binary, and hostile FDT headers and tokens.
 */
import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { describeFitAlgo, fitDetector, parseFdt } from '../../src/detectors/fit.js';
import { claims, runDetectors } from '../../src/detectors/index.js';
import { needPrograms, requirePrerequisite } from '../helpers/prerequisites.js';
import { ctxFor, FIXTURES, summary } from '../helpers/scan.js';

const path = (f: string) => join(FIXTURES, 'firmware', f);
const read = (f: string) => new Uint8Array(readFileSync(path(f)));
const detect = (name: string, b: Uint8Array) => runDetectors(b, ctxFor(name, b), { only: new Set(['fit']) });

describe('fit', () => {
  it('claims FDTs by magic and by name', () => {
    expect(claims(fitDetector, read('signed-rsa2048.itb'), { name: 'x', baseOffset: 0 })).toBe(true);
    expect(claims(fitDetector, new Uint8Array(8), { name: 'image.itb', baseOffset: 0 })).toBe(true);
    expect(claims(fitDetector, new Uint8Array(8), { name: 'x', baseOffset: 0 })).toBe(false);
  });

  it('names FIT algorithms: rsa<bits>, ecdsa<bits>, hash, PSS padding', () => {
    expect(describeFitAlgo('sha256,rsa2048').algorithm).toMatchObject({ id: 'RSA-2048', hash: 'SHA-256' });
    expect(describeFitAlgo('sha384,rsa4096', 'pss').algorithm).toMatchObject({ id: 'RSA-4096', hash: 'SHA-384', mode: 'PSS' });
    expect(describeFitAlgo('sha256,ecdsa256').algorithm).toMatchObject({ id: 'ECDSA-P256', hash: 'SHA-256' });
    expect(describeFitAlgo('sha384,ecdsa384').algorithm.id).toBe('ECDSA-P384');
    expect(describeFitAlgo('sha256,foo').quantum.status).toBe('unknown');
  });

  it('signed configuration: algorithm, key hint, signed images, value length', () => {
    const r = detect('signed-rsa2048.itb', read('signed-rsa2048.itb'));
    expect(r.errors).toEqual([]);
    expect(summary(r.findings)).toEqual(['signature fit RSA-2048/SHA-256']);
    const [f] = r.findings;
    expect(f.location.path).toBe('/configurations/conf-1/signature-1');
    expect(f.subject).toBe('dev');
    expect(f.details).toMatchObject({ scope: 'configuration', keyNameHint: 'dev', signedImages: ['fdt', 'kernel'], signed: true, valueLength: 256 });
    expect(r.annotations['fit.hashes']).toBe('kernel-1:SHA-256 fdt-1:SHA-256');
    expect(r.annotations['fit.weakHashOnly']).toBeUndefined();
  });

  it('ECDSA-P256 signature; an image hashed only with CRC32 is flagged', () => {
    const r = detect('signed-ecdsa256.itb', read('signed-ecdsa256.itb'));
    expect(summary(r.findings)).toEqual(['signature fit ECDSA-P256/SHA-256']);
    expect(r.findings[0].details).toMatchObject({ valueLength: 64 });
    expect(r.annotations['fit.weakHashOnly']).toBe('kernel-1 (CRC32)');
  });

  it('unsigned FIT: no finding, the SHA-1-only image noted', () => {
    const r = detect('unsigned-sha1.itb', read('unsigned-sha1.itb'));
    expect(r.findings).toEqual([]);
    expect(r.annotations['fit.weakHashOnly']).toBe('kernel-1 (SHA-1)');
  });

  it('control FDT keys: rsa,num-bits and ecdsa,curve', () => {
    expect(summary(detect('u-boot.dtb', read('u-boot-control-rsa.dtb')).findings)).toEqual(['public-key fit RSA-2048/SHA-256']);
    const [ec] = detect('u-boot.dtb', read('u-boot-control-ec.dtb')).findings;
    expect(ec).toMatchObject({ kind: 'public-key', algorithm: { id: 'ECDSA-P256' }, subject: 'ec' });
  });

  it('finds a control FDT appended to a binary (u-boot-dtb.bin) at its offset', () => {
    const dtb = read('u-boot-control-rsa.dtb');
    const blob = new Uint8Array(3000 + dtb.length);
    blob.set(dtb, 3000);
    const r = detect('u-boot-dtb.bin', blob);
    expect(r.findings.map((f) => [f.algorithm.id, f.location.offset])).toEqual([['RSA-2048', 3000 + 112]]);
  });

  it('node paths agree with dtc', (ctx) => {
    requirePrerequisite(ctx, needPrograms('the dtc cross-check', 'dtc'));
    const dts = execFileSync('dtc', ['-I', 'dtb', '-O', 'dts', path('signed-rsa2048.itb')], { stdio: ['ignore', 'pipe', 'ignore'] }).toString();
    const { root } = parseFdt(read('signed-rsa2048.itb'), 0);
    const names: string[] = [];
    const walk = (n: typeof root) => {
      names.push(n.name);
      n.children.forEach(walk);
    };
    walk(root);
    const fromDtc = [...dts.matchAll(/^\s*([\w@,.-]+) \{$/gm)].map((m) => m[1]);
    expect(names.slice(1)).toEqual(fromDtc);
  });

  it('malformed: truncated FDT, bad token, totalsize past the end', () => {
    const b = read('signed-rsa2048.itb');
    expect(detect('t.itb', b.subarray(0, 200)).errors[0]).toMatchObject({ code: 'truncated', source: 'fit' });
    const badToken = b.slice();
    const offStruct = new DataView(badToken.buffer).getUint32(8);
    new DataView(badToken.buffer).setUint32(offStruct, 0x77);
    expect(detect('b.itb', badToken).errors[0].message).toMatch(/unknown FDT token 119/);
  });
});
