/** The bounded BER/DER reader on hostile input: nesting, lengths, indefinite forms, truncation, trailing data. */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { decodeOid, encodeOid, parseDer, readNode, TAG } from '../../src/pkix/der.js';
import { ParseError } from '../../src/errors.js';
import { MAX_DER_CHILDREN, MAX_DER_DEPTH } from '../../src/limits.js';

const b = (...bytes: number[]) => Uint8Array.from(bytes);

function parseError(fn: () => unknown): ParseError {
  try {
    fn();
  } catch (e) {
    expect(e).toBeInstanceOf(ParseError);
    return e as ParseError;
  }
  throw new Error('expected a ParseError');
}

/** Walk every node depth-first (what a detector does), returning how many were read. */
function walk(node: ReturnType<typeof readNode>): number {
  let n = 1;
  if (node.constructed) for (const c of node.children()) n += walk(c);
  return n;
}

describe('readNode: well-formed input', () => {
  it('reads short and long definite lengths', () => {
    const n = readNode(b(0x04, 0x03, 1, 2, 3), 0);
    expect([n.tag, n.length, n.end]).toEqual([TAG.OCTET_STRING, 3, 5]);
    const long = new Uint8Array(4 + 300);
    long.set([0x04, 0x82, 0x01, 0x2c]);
    expect(readNode(long, 0).length).toBe(300);
  });

  it('reads high tag numbers', () => {
    const n = readNode(b(0x9f, 0x81, 0x00, 0x01, 0xaa), 0); // [128] IMPLICIT primitive
    expect(n.tagNumber).toBe(128);
    expect(n.content).toEqual(b(0xaa));
  });

  it('accepts BER indefinite lengths on constructed values and stops at end-of-contents', () => {
    // SEQUENCE (indefinite) { INTEGER 5, SEQUENCE (indefinite) { NULL } } + trailing byte
    const bytes = b(0x30, 0x80, 0x02, 0x01, 0x05, 0x30, 0x80, 0x05, 0x00, 0x00, 0x00, 0x00, 0x00, 0xff);
    const n = readNode(bytes, 0);
    expect([n.contentStart, n.contentEnd, n.end]).toEqual([2, 11, 13]);
    const [i, inner] = n.children();
    expect(i.int()).toBe(5);
    expect(inner.children().map((c) => c.tag)).toEqual([TAG.NULL]);
  });

  it('tolerates non-minimal length encodings (legal BER, written by some streaming encoders)', () => {
    // 0x81 0x03 and 0x82 0x00 0x03 both mean length 3 (DER would require 0x03).
    expect(readNode(b(0x04, 0x81, 0x03, 7, 8, 9), 0).content).toEqual(b(7, 8, 9));
    expect(readNode(b(0x04, 0x82, 0x00, 0x03, 7, 8, 9), 0).content).toEqual(b(7, 8, 9));
  });

  it('decodes OIDs, integers and times', () => {
    expect(decodeOid(encodeOid('1.2.840.113549.1.1.11'))).toBe('1.2.840.113549.1.1.11');
    expect(decodeOid(encodeOid('2.16.840.1.101.3.4.3.18'))).toBe('2.16.840.1.101.3.4.3.18');
    expect(readNode(b(0x02, 0x01, 0xff), 0).bigint()).toBe(-1n);
    expect(readNode(b(0x02, 0x03, 0x00, 0x80, 0x00), 0).integerBits()).toBe(16);
    const utc = new TextEncoder().encode('491231235959Z');
    expect(readNode(b(0x17, utc.length, ...utc), 0).time()).toBe('2049-12-31T23:59:59.000Z');
    const utc50 = new TextEncoder().encode('500101000000Z');
    expect(readNode(b(0x17, utc50.length, ...utc50), 0).time()).toBe('1950-01-01T00:00:00.000Z');
    const bad = new TextEncoder().encode('20251399');
    expect(readNode(b(0x18, bad.length, ...bad), 0).time()).toBeUndefined();
  });
});

describe('readNode: malformed input', () => {
  it('rejects nesting deeper than MAX_DER_DEPTH (indefinite form: while reading)', () => {
    const depth = MAX_DER_DEPTH + 5;
    const bytes = new Uint8Array(depth * 4);
    for (let i = 0; i < depth; i++) bytes.set([0x30, 0x80], i * 2);
    // then the end-of-contents octets (all zero) already fill the rest
    expect(parseError(() => readNode(bytes, 0)).message).toMatch(/nested deeper than/);
  });

  it('rejects nesting deeper than MAX_DER_DEPTH (definite form: while walking)', () => {
    const depth = MAX_DER_DEPTH + 5;
    let bytes = b(0x05, 0x00);
    for (let i = 0; i < depth; i++) bytes = Uint8Array.from([0x30, ...(bytes.length < 128 ? [bytes.length] : [0x81, bytes.length]), ...bytes]);
    expect(parseError(() => walk(readNode(bytes, 0))).message).toMatch(/nested deeper than/);
  });

  it('rejects lengths longer than 4 octets and lengths beyond the input', () => {
    expect(parseError(() => readNode(b(0x04, 0x85, 1, 0, 0, 0, 0, 0), 0)).message).toMatch(/length of 5 octets/);
    expect(parseError(() => readNode(b(0x04, 0xff, 0), 0)).message).toMatch(/length of 127 octets/);
    const huge = parseError(() => readNode(b(0x04, 0x84, 0xff, 0xff, 0xff, 0xff, 0), 0));
    expect(huge.code).toBe('truncated');
    expect(huge.message).toMatch(/claims 4294967295 bytes, only 1 remain/);
  });

  it('rejects a child that overruns its parent even when the buffer is long enough', () => {
    // SEQUENCE of length 3 containing an OCTET STRING that claims 5 bytes.
    const seq = readNode(b(0x30, 0x03, 0x04, 0x05, 0x01, 0x02, 0x03, 0x04, 0x05), 0);
    expect(parseError(() => seq.children()).code).toBe('truncated');
  });

  it('reports truncation at every stage: tag, length, length octets, contents', () => {
    expect(parseError(() => readNode(b(), 0)).code).toBe('truncated');
    expect(parseError(() => readNode(b(0x30), 0)).code).toBe('truncated');
    expect(parseError(() => readNode(b(0x1f, 0x81), 0)).code).toBe('truncated');
    expect(parseError(() => readNode(b(0x04, 0x82, 0x01), 0)).code).toBe('truncated');
    expect(parseError(() => readNode(b(0x04, 0x05, 1, 2), 0)).code).toBe('truncated');
  });

  it('rejects unterminated indefinite lengths and indefinite lengths on primitives', () => {
    expect(parseError(() => readNode(b(0x30, 0x80, 0x05, 0x00), 0)).code).toBe('truncated');
    expect(parseError(() => readNode(b(0x04, 0x80, 0x00, 0x00), 0)).message).toMatch(/indefinite length on a primitive/);
  });

  it('rejects over-long tag numbers', () => {
    expect(parseError(() => readNode(b(0x1f, 0x81, 0x81, 0x81, 0x81, 0x81, 0x01, 0x00), 0)).message).toMatch(/tag number too long/);
  });

  it('rejects trailing data unless asked to allow it', () => {
    const bytes = b(0x05, 0x00, 0xde, 0xad);
    expect(parseError(() => parseDer(bytes)).message).toMatch(/2 trailing bytes/);
    expect(parseDer(bytes, true).end).toBe(2);
  });

  it('caps the number of children of one value', () => {
    const n = MAX_DER_CHILDREN + 1;
    const body = new Uint8Array(n * 2).fill(0).map((_, i) => (i % 2 === 0 ? 0x05 : 0x00));
    const bytes = new Uint8Array(6 + body.length);
    bytes.set([0x30, 0x84, (body.length >>> 24) & 0xff, (body.length >>> 16) & 0xff, (body.length >>> 8) & 0xff, body.length & 0xff]);
    bytes.set(body, 6);
    expect(parseError(() => readNode(bytes, 0).children()).message).toMatch(/too many DER elements/);
  });

  it('rejects truncated and empty OIDs and typed reads of the wrong tag', () => {
    expect(parseError(() => decodeOid(b(0x2a, 0x86))).message).toMatch(/truncated OBJECT IDENTIFIER/);
    expect(parseError(() => decodeOid(b())).message).toMatch(/bad OBJECT IDENTIFIER length/);
    expect(parseError(() => readNode(b(0x05, 0x00), 0).oid()).message).toMatch(/expected OBJECT IDENTIFIER/);
    expect(parseError(() => readNode(b(0x03, 0x00), 0).bits()).message).toMatch(/empty BIT STRING/);
    expect(parseError(() => readNode(b(0x04, 0x00), 0).children()).message).toMatch(/expected a constructed value/);
  });

  it('throws nothing but ParseError on arbitrary bytes, whatever a walker asks of them', () => {
    fc.assert(
      fc.property(fc.uint8Array({ minLength: 0, maxLength: 200 }), (bytes) => {
        try {
          const n = parseDer(bytes, true);
          walk(n);
          if (n.tag === TAG.OID) n.oid();
          if (n.tag === TAG.INTEGER) n.bigint();
        } catch (e) {
          if (!(e instanceof ParseError)) throw e;
        }
      }),
      { numRuns: 3000 },
    );
  });
});
