/**
 * Authenticode detector: sbsign and osslsigncode signatures (single, nested, RFC 3161 timestamp, two WIN_CERTIFICATE
 * entries as shim has), the unsigned image, and hostile PE headers and certificate tables.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { authenticodeDetector, readPeHeaders } from '../../src/detectors/authenticode.js';
import { claims, runDetectors } from '../../src/detectors/index.js';
import type { Finding } from '../../src/model.js';
import { ctxFor, FIXTURES, summary } from '../helpers/scan.js';

const read = (f: string) => new Uint8Array(readFileSync(join(FIXTURES, 'firmware', f)));
const detect = (name: string, b: Uint8Array) => runDetectors(b, ctxFor(name, b), { only: new Set(['authenticode']) });
const sigs = (fs: Finding[]) => fs.filter((f) => f.kind === 'signature');

describe('authenticode', () => {
  it('claims PE images by magic and EFI binaries by name', () => {
    expect(claims(authenticodeDetector, read('app-sbsign.efi'), { name: 'x.bin', baseOffset: 0 })).toBe(true);
    expect(claims(authenticodeDetector, new Uint8Array([1, 2, 3]), { name: 'grubx64.efi.signed', baseOffset: 0 })).toBe(true);
    expect(claims(authenticodeDetector, new Uint8Array([1, 2, 3]), { name: 'notes.txt', baseOffset: 0 })).toBe(false);
  });

  it('reads the PE headers: machine, PE32+ magic, EFI subsystem, security directory as a file offset', () => {
    const pe = readPeHeaders(read('app-sbsign.efi'));
    expect(pe).toMatchObject({ peOffset: 0x40, machine: 0x8664, magic: 0x20b, subsystem: 10 });
    expect(pe.security.offset).toBe(0x400); // right after the 1 KiB image: a file offset, not an RVA
    expect(readPeHeaders(read('app-unsigned.efi')).security).toEqual({ offset: 0, size: 0 });
  });

  it('sbsign: one signer, its certificate, the SpcIndirectDataContent digest', () => {
    const r = detect('app-sbsign.efi', read('app-sbsign.efi'));
    expect(r.errors).toEqual([]);
    expect(summary(r.findings)).toEqual(['certificate authenticode RSA-2048/SHA-256', 'signature authenticode RSA-2048/SHA-256']);
    const [sig] = sigs(r.findings);
    expect(sig.subject).toBe('O=shelflife fixtures,CN=sb-signer');
    expect(sig.details).toMatchObject({ imageDigestAlgorithm: 'SHA-256', role: 'image', winCertificate: { index: 0, revision: '0x200' } });
    expect(r.annotations).toMatchObject({ 'authenticode.signed': 'true', 'authenticode.signatures': '1' });
  });

  it('osslsigncode: RFC 3161 timestamp and a nested ECDSA signature with its own digest', () => {
    const r = detect('app-nested.efi', read('app-nested.efi'));
    expect(r.errors).toEqual([]);
    const s = sigs(r.findings);
    const nested = s.find((f) => f.location.path!.includes('nestedSignature'))!;
    expect(nested.algorithm).toMatchObject({ id: 'ECDSA-P256', hash: 'SHA-384' });
    expect(nested.details).toMatchObject({ role: 'image', imageDigestAlgorithm: 'SHA-384' });
    const outer = s.find((f) => f.location.path === 'certificateTable[0].signerInfos[0]')!;
    expect(outer.details).toMatchObject({ role: 'image', imageDigestAlgorithm: 'SHA-256' });
    const ts = s.find((f) => f.details?.role === 'timestamp')!;
    expect(ts.subject).toBe('O=shelflife fixtures,CN=tsa');
    expect(ts.created).toBe('2026-01-01T00:00:00.000Z'); // -TSA-time 1767225600
    expect(r.annotations['authenticode.signatures']).toBe('2');
  });

  it('walks every 8-byte-aligned WIN_CERTIFICATE entry (shim carries two)', () => {
    const r = detect('app-two-entries.efi', read('app-two-entries.efi'));
    expect(r.errors).toEqual([]);
    expect(sigs(r.findings).map((f) => [(f.details!.winCertificate as { index: number }).index, f.algorithm.id])).toEqual([
      [0, 'RSA-2048'],
      [1, 'RSA-3072'],
    ]);
  });

  it('certificates carry absolute offsets, so the x509 carver copies merge into them', () => {
    const b = read('app-nested.efi');
    const all = runDetectors(b, ctxFor('app-nested.efi', b));
    const x509Only = runDetectors(b, ctxFor('app-nested.efi', b), { only: new Set(['x509']) });
    const certOffsets = all.findings
      .filter((f) => f.kind === 'certificate')
      .map((f) => f.location.offset)
      .sort();
    expect(x509Only.findings.map((f) => f.location.offset).sort()).toEqual(certOffsets);
    expect(all.findings.filter((f) => f.kind === 'certificate').every((f) => f.format === 'authenticode')).toBe(true);
  });

  it('unsigned image: no findings, signed=false', () => {
    const r = detect('app-unsigned.efi', read('app-unsigned.efi'));
    expect(r.findings).toEqual([]);
    expect(r.annotations['authenticode.signed']).toBe('false');
    expect(detect('vmlinuz-arm', new TextEncoder().encode('not a PE at all')).findings).toEqual([]);
  });

  it('malformed: truncated image, directory past the end, bad dwLength, other certificate types, broken PKCS#7', () => {
    expect(detect('t.efi', read('truncated-pe.efi')).errors.map((e) => e.code)).toEqual(['truncated']);
    const bad = detect('bad-security-dir.efi', read('bad-security-dir.efi')).errors;
    expect(bad[0]).toMatchObject({ source: 'authenticode', message: expect.stringMatching(/^security directory/) });
    expect(bad[0].uri).toBeUndefined();
    const b = read('app-sbsign.efi');
    const zeroLen = b.slice();
    new DataView(zeroLen.buffer).setUint32(0x400, 4, true);
    expect(detect('z.efi', zeroLen).errors[0]).toMatchObject({ code: 'malformed', offset: 0x400 });
    const x509Type = b.slice();
    new DataView(x509Type.buffer).setUint16(0x406, 0x0001, true);
    expect(detect('x.efi', x509Type).errors[0]).toMatchObject({ code: 'unsupported' });
    const broken = b.slice();
    broken[0x408 + 1] = 0x84; // an impossible DER length on the ContentInfo
    const r = detect('b.efi', broken);
    expect(r.findings).toEqual([]);
    expect(r.errors[0].code).toMatch(/malformed|truncated/);
    const noPe = b.slice(0, 0x80);
    noPe[0x40] = 0;
    expect(detect('n.efi', noPe).errors[0].message).toMatch(/no PE signature/);
  });
});
