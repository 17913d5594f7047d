/**
 * UEFI firmware-management capsules made by U-Boot's mkeficapsule (fixtures/gen/firmware.sh): the payload's
 * EFI_FIRMWARE_IMAGE_AUTHENTICATION PKCS#7, checked against openssl over the same bytes; an unsigned capsule; and
 * hostile headers (offsets and lengths past the end).
 */
import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { claims, runDetectors } from '../../src/detectors/index.js';
import { uefiCapsuleDetector } from '../../src/detectors/uefi-capsule.js';
import { needPrograms, requirePrerequisite } from '../helpers/prerequisites.js';
import { ctxFor, FIXTURES, summary } from '../helpers/scan.js';

const read = (f: string) => new Uint8Array(readFileSync(join(FIXTURES, 'firmware', f)));
const detect = (name: string, b: Uint8Array) => runDetectors(b, ctxFor(name, b), { only: new Set(['uefi-capsule']) });
/** mkeficapsule's layout: capsule header (28), FMP header with one item (16), v3 image header (48), MonotonicCount (8). */
const AUTH = 28 + 16 + 48 + 8;

describe('uefi-capsule', () => {
  it('claims an FMP capsule by its GUID, not other bytes', () => {
    expect(claims(uefiCapsuleDetector, read('signed-capsule-rsa2048.cap'), { name: 'firmware.bin', baseOffset: 0 })).toBe(true);
    expect(claims(uefiCapsuleDetector, new Uint8Array(64), { name: 'firmware.bin', baseOffset: 0 })).toBe(false);
  });

  it('a signed payload: its PKCS#7 signature and certificate, as openssl reads them', (ctx) => {
    const bytes = read('signed-capsule-rsa2048.cap');
    const r = detect('signed-capsule-rsa2048.cap', bytes);
    expect(r.errors).toEqual([]);
    expect(summary(r.findings)).toEqual(['certificate uefi-capsule RSA-2048/SHA-256', 'signature uefi-capsule RSA-2048/SHA-256']);
    const sig = r.findings.find((f) => f.kind === 'signature')!;
    expect(sig.location.path).toBe('payload[0].authentication.signerInfos[0]');
    expect(sig.details).toMatchObject({
      role: 'capsule-authentication',
      updateImageTypeId: '058b7d83-50d5-4c47-a195-60d86ad341c4',
      updateImageIndex: 1,
      monotonicCount: '7',
    });
    requirePrerequisite(ctx, needPrograms('uefi-capsule', 'openssl'));
    const length = new DataView(bytes.buffer).getUint32(AUTH, true);
    const text = execFileSync('openssl', ['pkcs7', '-inform', 'DER', '-print_certs', '-text', '-noout'], {
      input: bytes.subarray(AUTH + 24, AUTH + length),
    }).toString();
    expect(text).toMatch(/Public-Key: \(2048 bit\)/);
    const cert = r.findings.find((f) => f.kind === 'certificate')!;
    expect(cert.subject).toBe('O=shelflife fixtures,CN=capsule');
    expect(text).toMatch(/Subject: CN ?= ?capsule, O ?= ?shelflife fixtures/);
  });

  it('an unsigned capsule yields nothing; hostile offsets and lengths are errors, not throws or reads past the end', () => {
    expect(detect('unsigned-capsule.cap', read('unsigned-capsule.cap'))).toMatchObject({ findings: [], errors: [] });
    const signed = read('signed-capsule-rsa2048.cap');
    const longCert = signed.slice();
    new DataView(longCert.buffer).setUint32(AUTH, 0x7fffffff, true);
    expect(detect('x.cap', longCert).errors).toEqual([
      expect.objectContaining({ code: 'truncated', message: expect.stringMatching(/dwLength .* runs past the payload/) }),
    ]);
    const farItem = signed.slice();
    new DataView(farItem.buffer).setBigUint64(28 + 8, 1n << 40n, true);
    expect(detect('x.cap', farItem).errors).toEqual([expect.objectContaining({ code: 'truncated', message: expect.stringMatching(/payload\[0\] header/) })]);
    const cut = signed.slice(0, AUTH + 200);
    expect(detect('x.cap', cut).findings).toEqual([]);
    expect(detect('x.cap', cut).errors.length).toBe(1);
    const badVersion = signed.slice();
    new DataView(badVersion.buffer).setUint32(28 + 16, 9, true);
    expect(detect('x.cap', badVersion).errors).toEqual([expect.objectContaining({ code: 'unsupported' })]);
  });
});
