/** The release-store index parsers on hostile input: no throw past their contract, linear work, bounded output. */
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import fc from 'fast-check';
import { gzipSync } from 'node:zlib';
import { describe, expect, it } from 'vitest';
import { cabinetFiles } from '../../src/containers/cab.js';
import { ShelflifeError } from '../../src/errors.js';
import { inflate } from '../../src/net/inflate.js';
import { tokenize, tokenizerWork } from '../../src/sources/markup.js';
import { cleartextPayload, parseStanzas } from '../../src/sources/apt.js';
import { parseChecksums, parseListing } from '../../src/sources/checksums.js';
import { parseFirmwareXml, parseJcat } from '../../src/sources/lvfs.js';
import { parsePrimary, parseRepomd } from '../../src/sources/yum.js';
import { needPrograms, requirePrerequisite } from '../helpers/prerequisites.js';
import { FIXTURES } from '../helpers/scan.js';

/** Characters the markup tokenizer looked at while `f` ran: a count, the same on any machine however loaded. */
function looks(f: () => unknown): number {
  const before = tokenizerWork.chars;
  f();
  return tokenizerWork.chars - before;
}

/**
 * Characters `String.prototype.indexOf` scanned while `f` ran, and those handed to any regular expression: the
 * work of a function written with indexOf, counted. (Only for `f`'s own calls: nothing else runs meanwhile.)
 */
function scanned(f: () => unknown): { indexOf: number; regex: number } {
  const counts = { indexOf: 0, regex: 0 };
  const indexOf = String.prototype.indexOf;
  const exec = RegExp.prototype.exec;
  String.prototype.indexOf = function (this: string, search: string, from = 0) {
    const at = indexOf.call(this, search, from);
    counts.indexOf += (at < 0 ? this.length : at + search.length) - Math.max(0, from);
    return at;
  };
  RegExp.prototype.exec = function (this: RegExp, s: string) {
    counts.regex += s.length;
    return exec.call(this, s);
  };
  try {
    f();
  } finally {
    String.prototype.indexOf = indexOf;
    RegExp.prototype.exec = exec;
  }
  return counts;
}

describe('release index parsers on hostile input', () => {
  it('never throw anything but a ShelflifeError on random text', () => {
    fc.assert(
      fc.property(fc.string({ maxLength: 2000 }), (t) => {
        for (const f of [
          () => parseStanzas(t),
          () => cleartextPayload(t),
          () => [...parsePrimary(t)],
          () => parseRepomd(t),
          () => parseFirmwareXml(t),
          () => parseChecksums(t),
          () => parseListing(t),
        ]) {
          try {
            f();
          } catch (e) {
            expect(e).toBeInstanceOf(ShelflifeError);
          }
        }
      }),
      { numRuns: 300 },
    );
  });

  it('stay linear on many openings without a closing tag, and on a huge cleartext header (work counted, not timed)', () => {
    for (const n of [20_000, 200_000]) {
      const open = '<package type="rpm">'.repeat(n);
      let out: unknown[] = [];
      // A bounded number of looks per character (a quadratic parser makes thousands at this size).
      expect(looks(() => (out = [...parsePrimary(open)])) / open.length).toBeLessThan(8);
      expect(out).toEqual([]);
      const releases = '<component><release>'.repeat(n);
      expect(looks(() => (out = parseFirmwareXml(releases))) / releases.length).toBeLessThan(8);
      expect(out).toEqual([]);
    }
    const header = `-----BEGIN PGP SIGNED MESSAGE-----\n${'Hash: SHA256 '.repeat(400_000)}`;
    let payload = '';
    const work = scanned(() => (payload = cleartextPayload(header)));
    expect(payload).toBe(header);
    // Each character scanned once or twice by indexOf, and the header never given to a regular expression (where a
    // backtracking pattern would be quadratic with no call to count).
    expect(work.indexOf / header.length).toBeLessThan(3);
    expect(work.regex).toBe(0);
    expect(cleartextPayload('-----BEGIN PGP SIGNED MESSAGE-----\nHash: SHA256\n\nSuite: x\n- -dash\n-----BEGIN PGP SIGNATURE-----\n')).toBe('Suite: x\n-dash');
    expect(cleartextPayload('-----BEGIN PGP SIGNED MESSAGE-----\r\nHash: SHA256\r\n\r\nSuite: y\r\n-----BEGIN PGP SIGNATURE-----\r\n')).toBe('Suite: y');
  });

  it('the tokenizer does not take <packages> for <package>, and handles empty elements', () => {
    expect([...parsePrimary('<packages n="1"><package type="rpm"><name>a</name><location href="a.rpm"/></package><package/></packages>')]).toEqual([
      { name: 'a', href: 'a.rpm' },
    ]);
    expect(tokenize('<a x="1" y=\'2\' z=3 w>t&amp;u</a><!-- <no> --><![CDATA[<c>]]>')).toEqual([
      { type: 'open', name: 'a', attrs: { x: '1', y: '2', z: '3', w: '' }, selfClosing: false },
      { type: 'text', text: 't&u' },
      { type: 'close', name: 'a' },
      { type: 'text', text: '<c>' },
    ]);
  });

  it('an xz bomb stopped by the ratio cap does not leave later xz decompressions waiting (xz-decompress mutex)', async (ctx) => {
    requirePrerequisite(ctx, needPrograms('the xz bomb test (made with xz)', 'xz'));
    const bomb = execFileSync('xz', ['-9', '-c'], { input: Buffer.alloc(16 << 20), maxBuffer: 1 << 26 });
    const small = execFileSync('xz', ['-9', '-c'], { input: 'Package: a\n' });
    await expect(inflate(new Uint8Array(bomb), 'bomb.xz')).rejects.toThrow(/compression ratio/);
    await expect(inflate(new Uint8Array(bomb), 'bomb.xz')).rejects.toThrow(/compression ratio/);
    const out = await Promise.race([inflate(new Uint8Array(small), 'small.xz'), new Promise((r) => setTimeout(() => r('HUNG'), 5000))]);
    expect(Buffer.from(out as Uint8Array).toString()).toBe('Package: a\n');
    await expect(inflate(new Uint8Array(Buffer.from('BZh91AY')), 'x.bz2')).rejects.toThrow(/bzip2/);
  });

  it('jcat: gzip bombs, non-JSON and missing items are clear errors', () => {
    const dir = mkdtempSync(join(tmpdir(), 'jcat-'));
    writeFileSync(join(dir, 'bomb.jcat'), gzipSync(Buffer.alloc(32 << 20), { level: 9 }));
    expect(() => parseJcat(new Uint8Array(readFileSync(join(dir, 'bomb.jcat'))), 'bomb.jcat')).toThrow(
      expect.objectContaining({ uri: 'bomb.jcat', message: expect.stringMatching(/^not a gzip-compressed jcat file|^jcat is not JSON/) }),
    );
    expect(() => parseJcat(new Uint8Array(Buffer.from('{"x":1}')), 'x.jcat')).toThrow(/no Items/);
    writeFileSync(
      join(dir, 'ok.json'),
      JSON.stringify({ JcatVersionMajor: 0, Items: [{ Id: 'a', Blobs: [{ Kind: 3, Flags: 1, Data: 'x' }, { Kind: 'bad' }] }] }),
    );
    expect(
      parseJcat(new Uint8Array(readFileSync(join(dir, 'ok.json'))), 'ok')
        .get('a')
        ?.map((b) => b.kind),
    ).toEqual(['pkcs7']);
  });

  it('cabinets: random mutations of a real gcab cabinet never throw past cabinetFiles except typed errors', () => {
    // gcab -c -z of a.bin and b.bin (fixtures/release-stores/cabinets/README.md).
    const cab = new Uint8Array(readFileSync(join(FIXTURES, 'release-stores', 'cabinets', 'two-files.cab')));
    expect(cabinetFiles(cab, 'x.cab').map((f) => [f.name, f.bytes?.length])).toEqual([
      ['a.bin', 40_000],
      ['b.bin', 5],
    ]);
    fc.assert(
      fc.property(fc.array(fc.tuple(fc.nat(cab.length - 1), fc.integer({ min: 0, max: 255 })), { minLength: 1, maxLength: 8 }), (muts) => {
        const b = cab.slice();
        for (const [i, v] of muts) b[i] = v;
        try {
          const files = cabinetFiles(b, 'x.cab');
          expect(files.length).toBeLessThanOrEqual(65535);
        } catch (e) {
          expect(e).toBeInstanceOf(ShelflifeError);
        }
      }),
      { numRuns: 400 },
    );
  });
});
