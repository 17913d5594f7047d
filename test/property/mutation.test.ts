/**
 * Property: no mutation of any fixture makes a detector throw past the registry, or the engine throw at all.
 * Every bundled fixture (all families, each detector's positives and negatives) is flipped, truncated, spliced and
 * length-corrupted by fast-check; every error that comes back must be data: a code, the reason and its source.
 */
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join, relative } from 'node:path';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { DETECTORS, runDetectors } from '../../src/detectors/index.js';
import { ScanEngine } from '../../src/scan/engine.js';
import { bytesRef } from '../../src/sources/types.js';
import { ctxFor, FIXTURES } from '../helpers/scan.js';

function listFiles(dir: string): string[] {
  const out: string[] = [];
  for (const e of readdirSync(dir, { withFileTypes: true })) {
    const p = join(dir, e.name);
    if (e.isDirectory()) out.push(...listFiles(p));
    else if (e.isFile() && !e.name.endsWith('.json') && statSync(p).size <= 256 * 1024) out.push(p);
  }
  return out;
}

const files = listFiles(FIXTURES);
const RUNS = Number(process.env.SHELFLIFE_FUZZ_RUNS ?? 25);

/** A mutation: flip bytes, truncate, duplicate a slice, or overwrite a 1–4 byte field with an extreme value. */
const mutation = fc.oneof(
  fc.record({ op: fc.constant('flip' as const), at: fc.nat(), xor: fc.integer({ min: 1, max: 255 }) }),
  fc.record({ op: fc.constant('truncate' as const), at: fc.nat() }),
  fc.record({ op: fc.constant('splice' as const), at: fc.nat(), len: fc.integer({ min: 1, max: 64 }), to: fc.nat() }),
  fc.record({ op: fc.constant('extreme' as const), at: fc.nat(), value: fc.constantFrom(0x00, 0x7f, 0x80, 0xff), width: fc.integer({ min: 1, max: 4 }) }),
);
type Mutation = typeof mutation extends fc.Arbitrary<infer T> ? T : never;

function apply(bytes: Uint8Array, muts: Mutation[]): Uint8Array {
  let b = new Uint8Array(bytes);
  for (const m of muts) {
    if (b.length === 0) break;
    const at = m.at % b.length;
    if (m.op === 'flip') b[at] ^= m.xor;
    else if (m.op === 'truncate') b = b.subarray(0, at);
    else if (m.op === 'splice') {
      const slice = b.slice(at, at + m.len);
      const to = m.to % b.length;
      b = new Uint8Array([...b.subarray(0, to), ...slice, ...b.subarray(to)]);
    } else for (let i = 0; i < m.width && at + i < b.length; i++) b[at + i] = m.value;
  }
  return b;
}

describe('mutated fixtures never crash a detector or the engine', () => {
  it('has fixtures to mutate', () => expect(files.length).toBeGreaterThan(10));

  it.each(files.map((f) => relative(FIXTURES, f)))('%s', async (rel) => {
    const original = new Uint8Array(readFileSync(join(FIXTURES, rel)));
    const name = rel.split('/').pop()!;
    await fc.assert(
      fc.asyncProperty(fc.array(mutation, { minLength: 1, maxLength: 4 }), async (muts) => {
        const bytes = apply(original, muts);
        const ctx = ctxFor(name, bytes);
        // Every detector on its own, even those that would not claim the bytes: no throw may escape the registry.
        for (const d of DETECTORS) {
          const r = runDetectors(bytes, ctx, { only: new Set([d.format]) }, [{ ...d, claims: { anywhere: true } }]);
          for (const e of r.errors) {
            expect(e.code).toBeTruthy();
            // Errors as data: the reason alone, the detector as source, no URI (the error is about this artifact).
            expect(e.message.length).toBeGreaterThan(0);
            expect(e.message.startsWith(ctx.uri), e.message).toBe(false);
            expect(e.uri).toBeUndefined();
            expect(e.source).toBe(d.format);
            expect(e.code, e.message).not.toBe('detector-crash');
          }
        }
        const engine = new ScanEngine();
        await engine.scan(bytesRef(ctx.uri, name, bytes));
        expect(engine.results[0].uri).toBe(ctx.uri);
      }),
      { numRuns: RUNS, seed: 20261128 },
    );
  });
});
