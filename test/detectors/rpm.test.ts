import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { claims } from '../../src/detectors/index.js';
import { rpmDetector } from '../../src/detectors/rpm.js';
import { parseRpmHeaders, rpmBin } from '../../src/formats/rpm.js';
import { ctxFor, detectAll, FIXTURES, summary } from '../helpers/scan.js';

const PKG = join(FIXTURES, 'packages');
const read = (f: string) => new Uint8Array(readFileSync(join(PKG, f)));
const detect = (name: string, bytes: Uint8Array) => {
  const r = rpmDetector.detect(bytes, ctxFor(name, bytes));
  return Array.isArray(r) ? { findings: r, errors: [], annotations: {} } : { errors: [], annotations: {}, ...r };
};

/** A header structure (magic, nindex, hsize, index, data) from tag values, as rpm's headerExport lays it out. */
function header(entries: { tag: number; type: number; count: number; data: Buffer }[]): Buffer {
  const index: Buffer[] = [];
  const store: Buffer[] = [];
  let off = 0;
  for (const e of entries) {
    const ie = Buffer.alloc(16);
    ie.writeUInt32BE(e.tag, 0);
    ie.writeUInt32BE(e.type, 4);
    ie.writeUInt32BE(off, 8);
    ie.writeUInt32BE(e.count, 12);
    index.push(ie);
    store.push(e.data);
    off += e.data.length;
  }
  const intro = Buffer.from([0x8e, 0xad, 0xe8, 0x01, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0]);
  intro.writeUInt32BE(entries.length, 8);
  intro.writeUInt32BE(off, 12);
  return Buffer.concat([intro, ...index, ...store]);
}

function pkg(sig: Buffer, main = header([{ tag: 1000, type: 6, count: 1, data: Buffer.from('v6pkg\0') }])): Uint8Array {
  const lead = Buffer.alloc(96);
  lead.set([0xed, 0xab, 0xee, 0xdb], 0);
  const pad = Buffer.alloc((8 - (sig.length % 8)) % 8);
  return new Uint8Array(Buffer.concat([lead, sig, pad, main]));
}

describe('rpm detector', () => {
  it('claims packages by magic and by name', () => {
    const bytes = read('shelflife-fixture-1.0-1.noarch.rsa.rpm');
    expect(claims(rpmDetector, bytes, { name: 'anything.bin', baseOffset: 0 })).toBe(true);
    expect(claims(rpmDetector, new Uint8Array(64), { name: 'x.bin', baseOffset: 0 })).toBe(false);
  });

  it('reads the RSAHEADER signature made by rpmsign (algorithm from the OpenPGP packet) and the digests', () => {
    const r = detect('a.rpm', read('shelflife-fixture-1.0-1.noarch.rsa.rpm'));
    expect(summary(r.findings)).toEqual(['signature rpm RSA-3072/SHA-512']);
    expect(r.findings[0].location.path).toBe('signature header/RSAHEADER');
    expect(r.findings[0].details).toMatchObject({ rpmTag: 'RSAHEADER', covers: 'header' });
    expect(r.annotations).toEqual({
      'rpm.signed': 'true',
      'rpm.headerDigests': 'SHA-1,SHA-256,MD5',
      'rpm.payloadDigest': 'SHA-256',
      'rpm.fileDigest': 'SHA-256',
      'rpm.nevra': 'shelflife-fixture-1.0-1.noarch',
      'rpm.payloadCompressor': 'zstd',
    });
  });

  it('reads an EdDSA signature from DSAHEADER as Ed25519, not as DSA', () => {
    const r = detect('e.rpm', read('shelflife-fixture-1.0-1.noarch.eddsa.rpm'));
    expect(summary(r.findings)).toEqual(['signature rpm Ed25519/SHA-256']);
    expect(r.findings[0].details).toMatchObject({ rpmTag: 'DSAHEADER' });
  });

  it('says an unsigned package is unsigned', () => {
    const r = detect('u.rpm', read('shelflife-fixture-1.0-1.noarch.unsigned.rpm'));
    expect(r.findings).toEqual([]);
    expect(r.annotations['rpm.signed']).toBe('false');
  });

  it("reads rpm 6's OPENPGP tag (278): several base64 signature packets", () => {
    const rsa = parseRpmHeaders(read('shelflife-fixture-1.0-1.noarch.rsa.rpm'));
    const ed = parseRpmHeaders(read('shelflife-fixture-1.0-1.noarch.eddsa.rpm'));
    const packets = [rpmBin(rsa.signature, 268)!, rpmBin(ed.signature, 267)!].map((p) => `${Buffer.from(p).toString('base64')}\0`);
    const sig = header([
      { tag: 62, type: 7, count: 16, data: Buffer.alloc(16) },
      { tag: 273, type: 6, count: 1, data: Buffer.from(`${'ab'.repeat(32)}\0`) },
      { tag: 278, type: 8, count: 2, data: Buffer.from(packets.join('')) },
      { tag: 279, type: 6, count: 1, data: Buffer.from(`${'cd'.repeat(32)}\0`) },
    ]);
    const r = detect('v6.rpm', pkg(sig));
    expect(summary(r.findings)).toEqual(['signature rpm Ed25519/SHA-256', 'signature rpm RSA-3072/SHA-512']);
    expect(r.findings.every((f) => f.location.path === 'signature header/OPENPGP')).toBe(true);
    expect(r.annotations).toMatchObject({ 'rpm.signed': 'true', 'rpm.headerDigests': 'SHA-256,SHA3-256', 'rpm.nevra': 'v6pkg-?-?' });
  });

  it('reports a signature tag that holds no OpenPGP signature, and non-base64 OPENPGP values', () => {
    const sig = header([
      { tag: 268, type: 7, count: 8, data: Buffer.from('notasig!') },
      { tag: 278, type: 8, count: 1, data: Buffer.from('***\0') },
    ]);
    const r = detect('bad.rpm', pkg(sig));
    expect(r.findings).toEqual([]);
    expect(r.errors.map((e) => e.message)).toEqual([
      // The OpenPGP reason is reported, not hidden.
      expect.stringMatching(/^RSAHEADER tag at offset \d+ holds no parseable OpenPGP signature: .+/),
      expect.stringMatching(/OPENPGP tag value at offset \d+ is not base64/),
    ]);
    // A tag holding garbage does not make the package signed.
    expect(r.annotations['rpm.signed']).toBe('false');
  });

  it('reports a cut signature packet with the OpenPGP reason and does not call the package signed', () => {
    const real = rpmBin(parseRpmHeaders(read('shelflife-fixture-1.0-1.noarch.rsa.rpm')).signature, 268)!;
    const cut = real.subarray(0, 40);
    const r = detect('cut.rpm', pkg(header([{ tag: 268, type: 7, count: cut.length, data: Buffer.from(cut) }])));
    expect(r.findings).toEqual([]);
    expect(r.errors).toEqual([
      expect.objectContaining({
        code: 'truncated',
        message: expect.stringMatching(/^RSAHEADER tag at offset \d+ holds no parseable OpenPGP signature: .*(runs past|declares|remain)/),
      }),
    ]);
    expect(r.annotations['rpm.signed']).toBe('false');
  });

  it('rejects hostile headers: huge counts, entries past the store, truncation', () => {
    const huge = header([{ tag: 268, type: 7, count: 8, data: Buffer.alloc(8) }]);
    huge.writeUInt32BE(0x7fffffff, 8);
    expect(() => detect('h.rpm', pkg(huge))).toThrow(/claims 2147483647 tags/);
    const past = header([{ tag: 268, type: 7, count: 8, data: Buffer.alloc(8) }]);
    past.writeUInt32BE(1000, 16 + 8);
    expect(() => detect('p.rpm', pkg(past))).toThrow(/points past the data store/);
    const longBin = header([{ tag: 268, type: 7, count: 99999, data: Buffer.alloc(8) }]);
    expect(() => detect('l.rpm', pkg(longBin))).toThrow(/runs past the header data/);
    expect(() => detect('t.rpm', read('truncated.rpm'))).toThrow(/truncated/);
  });

  it('runs through the registry with the error naming the artifact', () => {
    const r = detectAll('truncated.rpm', read('truncated.rpm'));
    expect(r.errors[0]).toMatchObject({ code: 'truncated', source: 'rpm' });
    expect(r.errors[0].message).toMatch(/^signature header at offset 96 is truncated/);
  });
});
