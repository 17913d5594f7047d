/**
 * The registry contains every throw (a scan never dies), and a detector never turns a failure into a verdict: bad
 * input (ParseError) becomes an error entry or "not this format", anything else (a bug) surfaces as `detector-crash`.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { catalogue } from '../../src/catalogue/index.js';
import { runDetectors, windowsClaimable } from '../../src/detectors/index.js';
import type { Detector } from '../../src/detectors/types.js';
import { ParseError, rethrowUnlessParseError } from '../../src/errors.js';
import { ctxFor, FIXTURES } from '../helpers/scan.js';

const read = (p: string) => new Uint8Array(readFileSync(join(FIXTURES, p)));

function fake(format: string, detect: Detector['detect']): Detector {
  return { format, description: format, claims: { anywhere: true }, detect };
}

afterEach(() => vi.restoreAllMocks());

describe('the detector registry', () => {
  it('records a ParseError as data: its code, the reason alone, the detector as source, the offset moved by the window base', () => {
    const bytes = new Uint8Array(8);
    const r = runDetectors(bytes, { ...ctxFor('x.bin', bytes), baseOffset: 1000 }, {}, [
      fake('bad', () => {
        throw new ParseError('length runs past the end', 4, 'truncated');
      }),
    ]);
    expect(r.errors).toEqual([{ code: 'truncated', message: 'length runs past the end', source: 'bad', offset: 1004 }]);
  });

  it('contains a bug as detector-crash and still runs the other detectors', () => {
    const bytes = new Uint8Array(8);
    const r = runDetectors(bytes, ctxFor('x.bin', bytes), {}, [
      fake('buggy', () => {
        throw new TypeError("Cannot read properties of undefined (reading 'children')");
      }),
      fake('fine', () => ({ findings: [], annotations: { seen: 'yes' } })),
    ]);
    expect(r.errors).toEqual([
      { code: 'detector-crash', message: "internal error: Cannot read properties of undefined (reading 'children')", source: 'buggy' },
    ]);
    expect(r.annotations).toEqual({ seen: 'yes' });
  });
});

describe('rethrowUnlessParseError', () => {
  it('lets a ParseError through and rethrows anything else', () => {
    const p = new ParseError('bad', 3);
    expect(() => rethrowUnlessParseError(p)).not.toThrow();
    const bug = new RangeError('offset out of range');
    expect(() => rethrowUnlessParseError(bug)).toThrow(bug);
    expect(() => rethrowUnlessParseError('a string')).toThrow();
  });
});

describe('a bug inside a detector is not read as bad input', () => {
  // Every detector below catches failures of its parsers (a PEM block that is not a certificate, a carved blob that
  // is not a key). A TypeError deep inside (here: the catalogue lookup every key description makes) must come out as
  // detector-crash, not as "malformed" or as a silent "not a certificate".
  const cases: [string, string, string][] = [
    ['x509', 'pki/certs/ec-P-256.pem', 'ec-P-256.pem'],
    ['keys', 'pki/keys/ec-spki.pem', 'ec-spki.pem'],
    ['cms', 'pki/cms/signed-attached-rsa.p7s', 'signed-attached-rsa.p7s'],
    ['kmod', 'firmware/rsa4096-sha256.ko', 'rsa4096-sha256.ko'],
    ['authenticode', 'firmware/app-sbsign.efi', 'app-sbsign.efi'],
    ['uefi-esl', 'firmware/db-mixed.esl', 'db-mixed.esl'],
    ['uefi-capsule', 'firmware/signed-capsule-rsa2048.cap', 'signed-capsule-rsa2048.cap'],
    ['apk', 'firmware/app-v2-rsa.apk', 'app-v2-rsa.apk'],
  ];
  it.each(cases)('%s', (format, fixture, name) => {
    const bytes = read(fixture);
    const ctx = ctxFor(name, bytes);
    // The detector finds something on the real file …
    const ok = runDetectors(bytes, ctx, { only: new Set([format]) });
    expect(ok.findings.length, `${format} finds nothing in ${fixture}`).toBeGreaterThan(0);
    expect(ok.errors.filter((e) => e.code === 'detector-crash')).toEqual([]);
    // … and with a bug planted under it, says so instead of calling the file malformed or empty.
    vi.spyOn(catalogue(), 'oid').mockImplementation(() => {
      throw new TypeError('planted bug');
    });
    const r = runDetectors(bytes, ctx, { only: new Set([format]) });
    expect(r.errors, JSON.stringify(r.errors)).toContainEqual(
      expect.objectContaining({ code: 'detector-crash', source: format, message: 'internal error: planted bug' }),
    );
    expect(r.errors.filter((e) => /planted bug/.test(e.message) && e.code !== 'detector-crash')).toEqual([]);
  });

  it('the carver does not skip a blob because of a bug', () => {
    // A DER SubjectPublicKeyInfo inside a firmware-like blob: found by carve, then a planted bug must surface.
    const spki = read('pki/keys/ec-spki.pem');
    const der = Buffer.from(
      new TextDecoder()
        .decode(spki)
        .replace(/-----[^-]+-----/g, '')
        .replace(/\s+/g, ''),
      'base64',
    );
    const blob = new Uint8Array([...new Uint8Array(64).fill(0xff), ...der, ...new Uint8Array(64).fill(0xff)]);
    const ctx = ctxFor('firmware.bin', blob);
    expect(runDetectors(blob, ctx, { only: new Set(['carve']) }).findings.length).toBeGreaterThan(0);
    vi.spyOn(catalogue(), 'oid').mockImplementation(() => {
      throw new TypeError('planted bug');
    });
    const r = runDetectors(blob, ctx, { only: new Set(['carve']) });
    expect(r.errors).toContainEqual(expect.objectContaining({ code: 'detector-crash', source: 'carve' }));
  });
});

describe('windowsClaimable: whether any detector could claim a window of an artifact', () => {
  const gzipHead = new Uint8Array([0x1f, 0x8b, 0x08, 0x00, ...new Array(60).fill(0)]);
  const rpmHead = new Uint8Array([0xed, 0xab, 0xee, 0xdb, ...new Array(60).fill(0)]);

  it('the raw bytes of an archive being opened: only the formats that read those, by their names and magic', () => {
    // A gzip layer: no container-reading format claims it (they claim by name or magic, and have no needles).
    expect(windowsClaimable(gzipHead, { name: 'layers[0]' }, { container: true })).toBe(false);
    expect(windowsClaimable(gzipHead, { name: 'app.apk' }, { container: true })).toBe(true);
    expect(windowsClaimable(rpmHead, { name: 'blob' }, { container: true })).toBe(true);
  });

  it('agrees with runDetectors: where it says no, every window comes back empty', () => {
    const bytes = new Uint8Array(readFileSync(join(FIXTURES, 'pki', 'certs', 'rsa2048.der')));
    const window = new Uint8Array([...gzipHead, ...bytes]);
    const ctx = { ...ctxFor('layers[0]', window), whole: false };
    expect(windowsClaimable(window.subarray(0, 64), ctx, { container: true })).toBe(false);
    expect(runDetectors(window, ctx, { container: true }).findings).toEqual([]);
    // Read as plain bytes, the carvers look everywhere, and find the certificate.
    expect(windowsClaimable(window.subarray(0, 64), ctx)).toBe(true);
    expect(runDetectors(window, ctx).findings.map((f) => f.kind)).toContain('certificate');
  });

  it('honours the detector selection', () => {
    expect(windowsClaimable(gzipHead, { name: 'x' }, { only: new Set(['rpm']) })).toBe(false);
    expect(windowsClaimable(gzipHead, { name: 'x' }, { only: new Set(['x509']) })).toBe(true);
    expect(windowsClaimable(gzipHead, { name: 'x' }, { skip: new Set(['carve', 'x509']) })).toBe(true);
  });
});
