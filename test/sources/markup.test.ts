/** The streaming tokenizer behind listings and XML indexes: same tokens however the input is cut, linear work on hostile input. */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { MarkupTokenizer, tokenize, tokenizerWork, type MarkupToken } from '../../src/sources/markup.js';
import { parseListing } from '../../src/sources/checksums.js';
import { parseFirmwareXml } from '../../src/sources/lvfs.js';
import { parsePrimary, parseRepomd } from '../../src/sources/yum.js';

/** Characters the tokenizer looked at while `f` ran (a count: the same on any machine, however loaded). */
function work(f: () => unknown): number {
  const before = tokenizerWork.chars;
  f();
  return tokenizerWork.chars - before;
}

/**
 * Linear means a bounded number of looks per input character, whatever the input: measured at 20,000 and 200,000
 * repetitions of a hostile unit, each must stay under `perChar` looks per character. A quadratic tokenizer looks at
 * each character once per tag before it (thousands of looks per character at this size); this one stays under 7.
 */
function expectLinear(label: string, f: (s: string) => unknown, unit: string, perChar = 8): void {
  for (const n of [20_000, 200_000]) {
    const input = unit.repeat(n);
    const looks = work(() => f(input));
    expect(looks, `${label}: ${input.length} characters`).toBeGreaterThanOrEqual(input.length); // the counter is live
    expect(looks / input.length, `${label}: looks per character at ${n} units`).toBeLessThan(perChar);
  }
}

/** The tokenizer fed the way a network body arrives: 16 KiB at a time. */
function streamed(s: string): void {
  const t = new MarkupTokenizer(true);
  for (let at = 0; at < s.length; at += 16 * 1024) t.push(s.slice(at, at + 16 * 1024));
  t.end();
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
  it('is linear on the patterns that made the old regexes quadratic (looks counted, not timed)', () => {
    expectLinear('listing of "<a "', parseListing, '<a ');
    expectLinear('listing of unterminated hrefs', parseListing, '<a href="x');
    expectLinear('listing of quoted tags', parseListing, '<a x="<a x="');
    expectLinear('primary of <checksum', (s) => [...parsePrimary(`<package>${s}</package>`)], '<checksum ');
    expectLinear('primary of open packages', (s) => [...parsePrimary(s)], '<package><location href="');
    expectLinear('repomd of <data', parseRepomd, '<data type="primary"><checksum type="x">');
    expectLinear('firmware of open releases', parseFirmwareXml, '<component><release version="1"><location>');
    expectLinear('comments that never end', (s) => tokenize(s), '<!--<!--');
    // Streamed, an unfinished tag is held (up to MAX_TAG_CHARS) and joined to each chunk: a bounded multiple, not a square.
    expectLinear('streamed comments that never end', streamed, '<!--<!--', 16);
    expectLinear('streamed unterminated hrefs', streamed, '<a href="x', 16);
    expectLinear('streamed quotes that never close', streamed, '<a x="', 16);
  });

  it('the counter sees quadratic work: a tokenizer made to rescan from the start of its buffer on every chunk', () => {
    // The same tokenizer, but every push starts over on everything it holds: what a naive "buffer += chunk; parse
    // it all" does. 64 KiB of unfinished tag re-read per 1 KiB chunk is 64 looks per character and more.
    const input = '<a x="'.repeat(20_000);
    const looks = work(() => {
      let held = '';
      for (let at = 0; at < input.length; at += 1024) {
        held = (held + input.slice(at, at + 1024)).slice(-64 * 1024);
        tokenize(held);
      }
    });
    expect(looks / input.length).toBeGreaterThan(16);
  });
});
