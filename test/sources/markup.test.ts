/** The streaming tokenizer behind listings and XML indexes: same tokens however the input is cut, linear time on hostile input. */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { MarkupTokenizer, tokenize, type MarkupToken } from '../../src/sources/markup.js';
import { parseListing } from '../../src/sources/checksums.js';
import { parseFirmwareXml } from '../../src/sources/lvfs.js';
import { parsePrimary, parseRepomd } from '../../src/sources/yum.js';

function best(f: () => unknown): number {
  let min = Infinity;
  for (let i = 0; i < 5; i++) {
    const t = performance.now();
    f();
    min = Math.min(min, performance.now() - t);
  }
  return min;
}

/** 10× the input may cost ~10× the time, never ~100× (quadratic); a generous factor keeps CI noise out. */
function expectLinear(label: string, f: (s: string) => unknown, unit: string, n: number): void {
  const small = unit.repeat(n);
  const big = unit.repeat(n * 10);
  const ts = best(() => f(small));
  const tb = best(() => f(big));
  // The floor keeps a loaded machine's pauses out; quadratic work at 10× the input (100× the time) takes far longer.
  expect(tb, `${label}: ${n} units took ${ts.toFixed(1)} ms, ${n * 10} took ${tb.toFixed(1)} ms`).toBeLessThan(Math.max(1000, 40 * ts));
}

function merge(tokens: MarkupToken[]): MarkupToken[] {
  // Text may come in several runs when the input is cut: compare with adjacent runs joined.
  const out: MarkupToken[] = [];
  for (const t of tokens) {
    const last = out[out.length - 1];
    if (t.type === 'text' && last?.type === 'text') out[out.length - 1] = { type: 'text', text: last.text + t.text };
    else out.push(t);
  }
  return out;
}

describe('markup tokenizer', () => {
  it('gives the same tokens however the document is cut into chunks', () => {
    const doc =
      '<?xml version="1.0"?><!DOCTYPE x><metadata xmlns="http://linux.duke.edu/metadata/common" packages="2">\n' +
      '<package type="rpm"><name>a&amp;b</name><checksum type="sha256" pkgid="YES">ab12</checksum><location href="P/a.rpm"/>' +
      '<!-- a <comment> --><format><rpm:header-range start="1" end="2"/></format></package><x a=\'>\' b="<"/>tail</metadata>';
    const whole = merge(tokenize(doc));
    fc.assert(
      fc.property(fc.array(fc.nat(doc.length), { maxLength: 12 }), (cuts) => {
        const points = [...new Set(cuts)].sort((a, b) => a - b);
        const t = new MarkupTokenizer();
        const got: MarkupToken[] = [];
        let at = 0;
        for (const p of [...points, doc.length]) {
          got.push(...t.push(doc.slice(at, p)));
          at = p;
        }
        got.push(...t.end());
        expect(merge(got)).toEqual(whole);
      }),
      { numRuns: 300 },
    );
  });

  it('treats what never closes as text and keeps going', () => {
    expect(tokenize('<a href="x.bin">x</a><a href="never')).toEqual([
      { type: 'open', name: 'a', attrs: { href: 'x.bin' }, selfClosing: false },
      { type: 'text', text: 'x' },
      { type: 'close', name: 'a' },
      { type: 'text', text: '<a href="never' },
    ]);
    expect(tokenize('1 < 2 <b>x</b>').map((t) => t.type)).toEqual(['text', 'open', 'text', 'close']);
  });

  // Issue 14 item 6: a 300 KB listing of `<a ` repeated took 31 s, an 865-byte primary.xml.gz 13 s.
  it('is linear on the patterns that made the old regexes quadratic', () => {
    expectLinear('listing of "<a "', parseListing, '<a ', 20_000);
    expectLinear('listing of unterminated hrefs', parseListing, '<a href="x', 20_000);
    expectLinear('listing of quoted tags', parseListing, '<a x="<a x="', 20_000);
    expectLinear('primary of <checksum', (s) => [...parsePrimary(`<package>${s}</package>`)], '<checksum ', 20_000);
    expectLinear('primary of open packages', (s) => [...parsePrimary(s)], '<package><location href="', 20_000);
    expectLinear('repomd of <data', parseRepomd, '<data type="primary"><checksum type="x">', 20_000);
    expectLinear('firmware of open releases', parseFirmwareXml, '<component><release version="1"><location>', 20_000);
    expectLinear('comments that never end', (s) => tokenize(s), '<!--<!--', 20_000);
  });
});
