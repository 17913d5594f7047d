/**
 * The registry's claim tests are shortcuts, and must answer exactly what the slow way answers: the anchored one-pass
 * needle search (src/detectors/needles.ts) what `Buffer.indexOf(needle) >= 0` answers for every `contains` needle,
 * and the name globs what picomatch answers with `basename: true`.
 */
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import fc from 'fast-check';
import picomatch from 'picomatch';
import { describe, expect, it } from 'vitest';
import { NeedleSet } from '../../src/detectors/needles.js';
import { claims, DETECTORS } from '../../src/detectors/index.js';
import { FIXTURES } from '../helpers/scan.js';

const NEEDLES = [...new Set(DETECTORS.flatMap((d) => d.claims.contains ?? []))].map((s) => Buffer.from(s, 'latin1'));
const set = new NeedleSet(NEEDLES);
const slow = (bytes: Uint8Array) => NEEDLES.map((n) => Buffer.from(bytes).indexOf(n) >= 0);

function fixtureFiles(dir: string, out: string[] = []): string[] {
  for (const n of readdirSync(dir).sort()) {
    const p = join(dir, n);
    const st = statSync(p);
    if (st.isDirectory()) fixtureFiles(p, out);
    else if (st.size < 4 * 1024 * 1024) out.push(p);
  }
  return out;
}

describe('NeedleSet', () => {
  it('finds what indexOf finds in every fixture file', () => {
    const files = fixtureFiles(FIXTURES);
    expect(files.length).toBeGreaterThan(100);
    let hits = 0;
    for (const f of files) {
      const bytes = new Uint8Array(readFileSync(f));
      const want = slow(bytes);
      hits += want.filter(Boolean).length;
      expect(set.find(bytes), f).toEqual(want);
    }
    // The fixtures hold PEM, OpenPGP armour, SSH keys and JSON documents: the comparison saw both answers.
    expect(hits).toBeGreaterThan(200);
  });

  it('finds what indexOf finds with needles planted at the edges, overlapping, cut short and next to anchor bytes', () => {
    const planted = fc.tuple(fc.nat(NEEDLES.length - 1), fc.nat(64), fc.nat(40));
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 256 }), fc.array(planted, { maxLength: 4 }), (noise, plants) => {
        const bytes = new Uint8Array(noise);
        const parts: Uint8Array[] = [bytes];
        for (const [i, at, cut] of plants) {
          const n = NEEDLES[i];
          // Whole, or all but the last few bytes (a near miss that shares the anchor byte).
          parts.splice(Math.min(at, parts.length), 0, cut < 20 ? n.subarray(0, Math.max(1, n.length - 1 - (cut % 3))) : n);
        }
        const buf = new Uint8Array(Buffer.concat(parts));
        expect(set.find(buf)).toEqual(slow(buf));
        // A window that starts or ends inside a needle.
        const mid = buf.subarray(1, Math.max(1, buf.length - 1));
        expect(set.find(mid)).toEqual(slow(mid));
      }),
      { numRuns: 400 },
    );
  });

  it('answers for an empty needle and an empty buffer as indexOf does', () => {
    const s = new NeedleSet([new Uint8Array(0), Buffer.from('ab')]);
    expect(s.find(new Uint8Array(0))).toEqual([true, false]);
    expect(s.find(Buffer.from('xxab'))).toEqual([true, true]);
  });
});

describe('name claims', () => {
  // Bytes no detector claims by magic or by a needle: what is left is the name.
  const NOTHING = new Uint8Array(16).fill(0x7a);
  const named = DETECTORS.filter((d) => d.claims.names?.length && !d.claims.anywhere);
  const names = [
    'x.pem',
    'X.PEM',
    'dir/x.pem',
    'dir/sub/',
    'a/b/x.pem/',
    '.pem',
    '',
    'InRelease',
    'dists/stable/InRelease',
    'META-INF/CERT.RSA',
    'lib/META-INF/CERT.RSA',
    'root.json',
    'x/1.root.json',
    'vbmeta_a.img',
    'authorized_keys',
    '*.pem',
    '.hidden.key',
    'a\\b.crt',
  ];

  it('match as picomatch with basename: true matched them', () => {
    expect(named.length).toBeGreaterThan(10);
    for (const d of named) {
      const globs = (d.claims.names ?? []).map((g) => picomatch(g, { nocase: true, dot: true, basename: !g.includes('/') }));
      for (const name of names) expect(claims(d, NOTHING, { name, baseOffset: 0 }), `${d.format} ${JSON.stringify(name)}`).toBe(globs.some((m) => m(name)));
    }
  });

  it('match random names as picomatch did', () => {
    const segment = fc.stringMatching(/^[A-Za-z0-9._*-]{0,12}$/);
    fc.assert(
      fc.property(fc.array(segment, { minLength: 1, maxLength: 4 }), (segs) => {
        const name = segs.join('/');
        for (const d of named) {
          const globs = (d.claims.names ?? []).map((g) => picomatch(g, { nocase: true, dot: true, basename: !g.includes('/') }));
          expect(claims(d, NOTHING, { name, baseOffset: 0 })).toBe(globs.some((m) => m(name)));
        }
      }),
      { numRuns: 300 },
    );
  });
});
