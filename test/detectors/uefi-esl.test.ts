/**
 * UEFI signature lists: efitools' cert-to-efi-sig-list / sign-efi-sig-list / hash-to-efi-sig-list output, a raw
 * EFI_CERT_RSA2048 list, lists carved out of a variable-store-like blob, and hostile list headers.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { claims, runDetectors } from '../../src/detectors/index.js';
import { uefiEslDetector } from '../../src/detectors/uefi-esl.js';
import { ctxFor, FIXTURES, summary } from '../helpers/scan.js';

const read = (f: string) => new Uint8Array(readFileSync(join(FIXTURES, 'firmware', f)));
const detect = (name: string, b: Uint8Array) => runDetectors(b, ctxFor(name, b), { only: new Set(['uefi-esl']) });

describe('uefi-esl', () => {
  it('claims .esl/.auth by name and blobs holding an EFI_CERT_X509_GUID list header', () => {
    expect(claims(uefiEslDetector, new Uint8Array(4), { name: 'db.esl', baseOffset: 0 })).toBe(true);
    expect(claims(uefiEslDetector, read('db-mixed.esl'), { name: 'OVMF_VARS.fd', baseOffset: 0 })).toBe(true);
    expect(claims(uefiEslDetector, new Uint8Array(64), { name: 'OVMF_VARS.fd', baseOffset: 0 })).toBe(false);
  });

  it('a chain of X.509, SHA-256 and RSA-2048 lists: certificate, key, hashes counted', () => {
    const r = detect('db-mixed.esl', read('db-mixed.esl'));
    expect(r.errors).toEqual([]);
    expect(summary(r.findings)).toEqual(['certificate uefi-esl RSA-4096/SHA-256', 'public-key uefi-esl RSA-2048']);
    const cert = r.findings.find((f) => f.kind === 'certificate')!;
    expect(cert.subject).toBe('O=shelflife fixtures,CN=db');
    expect(cert.location.offset).toBe(44); // 28-byte list header + 16-byte SignatureOwner
    expect(cert.details).toMatchObject({ signatureType: 'EFI_CERT_X509_GUID', owner: '11111111-2222-3333-4444-555555555555' });
    expect(r.annotations).toMatchObject({ 'uefi.esl.lists': '3', 'uefi.esl.hashes.EFI_CERT_SHA256_GUID': '2' });
  });

  it('dbx-style hash lists: counted in annotations, no finding per hash', () => {
    const r = detect('dbx.esl', read('dbx.esl'));
    expect(r.findings).toEqual([]);
    expect(r.annotations['uefi.esl.hashes.EFI_CERT_SHA256_GUID']).toBe('2');
  });

  it('.auth: the EFI_VARIABLE_AUTHENTICATION_2 PKCS#7, then the lists', () => {
    const r = detect('db.auth', read('db.auth'));
    expect(r.errors).toEqual([]);
    expect(summary(r.findings)).toEqual([
      'certificate uefi-esl RSA-2048/SHA-256',
      'certificate uefi-esl RSA-4096/SHA-256',
      'signature uefi-esl RSA-2048/SHA-256',
    ]);
    const sig = r.findings.find((f) => f.kind === 'signature')!;
    expect(sig.subject).toBe('O=shelflife fixtures,CN=KEK');
    expect(sig.details).toMatchObject({ role: 'variable-authentication' });
    // Offsets are those of the DER in the file: the x509 carver finds the same two certificates there.
    const carved = runDetectors(read('db.auth'), ctxFor('db.auth', read('db.auth')), { only: new Set(['x509']) });
    expect(carved.findings.map((f) => f.location.offset).sort()).toEqual(
      r.findings
        .filter((f) => f.kind === 'certificate')
        .map((f) => f.location.offset)
        .sort(),
    );
  });

  it('carves lists out of a larger blob (a variable store) at their offsets', () => {
    const esl = read('db-mixed.esl');
    const blob = new Uint8Array(4096 + esl.length + 512).fill(0xff);
    blob.set(esl, 4096);
    const r = detect('OVMF_VARS.fd', blob);
    expect(r.errors).toEqual([]);
    const direct = detect('db-mixed.esl', esl).findings.map((f) => [f.kind, 4096 + f.location.offset!]);
    expect(r.findings.map((f) => [f.kind, f.location.offset])).toEqual(direct);
    expect(r.annotations['uefi.esl.lists']).toBe('3');
  });

  it('malformed: list size past the end, bad .auth header, trailing bytes', () => {
    const e = detect('bad-list.esl', read('bad-list.esl')).errors;
    expect(e[0]).toMatchObject({ code: 'truncated', offset: 0 });
    expect(e[0].message).toMatch(/^EFI_SIGNATURE_LIST at offset 0/);
    expect(detect('x.auth', read('db-mixed.esl')).errors[0].message).toMatch(/EFI_VARIABLE_AUTHENTICATION_2/);
    const trailing = new Uint8Array([...read('dbx.esl'), 1, 2, 3]);
    expect(detect('t.esl', trailing).errors[0]).toMatchObject({ code: 'malformed', message: expect.stringMatching(/3 trailing bytes/) });
    // A random blob without list headers yields nothing and no error.
    expect(
      detect(
        'random.bin',
        new Uint8Array(1000).map((_, i) => (i * 131) & 0xff),
      ),
    ).toMatchObject({ findings: [], errors: [] });
  });
});
