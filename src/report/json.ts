/**
 * The schema-versioned JSON inventory (docs/architecture.md "Scan output contract"; schema/scan-output.schema.json).
 * `render` makes the report as one string; `chunks` makes the same text piece by piece, one artifact at a time, so a
 * report of a large image (tens of thousands of artifacts, tens of megabytes of JSON) is written without a second
 * copy of it in memory (src/report/write.ts; test/report/json-stream.test.ts proves the two equal).
 * @module
 */
import type { ScanResult } from '../model.js';
import { safeJson } from './text.js';
import type { Reporter } from './types.js';

export const jsonReporter: Reporter = {
  id: 'json',
  description: 'schema-versioned JSON inventory (schema/scan-output.schema.json)',
  extension: 'json',
  // Lossless, but with no character that acts on a terminal when the file is shown (safeJson).
  render: (result) => `${safeJson(result, 2)}\n`,
  chunks: (result) => jsonChunks(result),
};

/**
 * `safeJson(result, 2)` and a newline, in pieces: each top-level member as JSON.stringify would indent it, and the
 * `artifacts` array one element at a time (read from the iterable as it is written, never collected). JSON text has
 * no raw line break inside a string, so indenting a member's lines is a replacement of "\n"; and safeJson's escapes
 * are of single characters (or an astral pair) inside strings, so escaping piece by piece escapes the same ones.
 */
export function* jsonChunks(result: ScanResult | (Omit<ScanResult, 'artifacts'> & { artifacts: Iterable<ScanResult['artifacts'][number]> })): Iterable<string> {
  // JSON.stringify leaves out members whose value is undefined, a function or a symbol.
  const keys = Object.keys(result).filter((k) => {
    const v = (result as Record<string, unknown>)[k];
    return v !== undefined && typeof v !== 'function' && typeof v !== 'symbol';
  });
  if (!keys.length) {
    yield '{}\n';
    return;
  }
  yield '{\n';
  for (const [i, k] of keys.entries()) {
    const v = (result as Record<string, unknown>)[k];
    const tail = i === keys.length - 1 ? '\n' : ',\n';
    if (k === 'artifacts' && v && typeof v === 'object' && Symbol.iterator in v && typeof (v as { toJSON?: unknown }).toJSON !== 'function') {
      let first = true;
      for (const a of v as Iterable<unknown>) {
        yield `${first ? `  ${JSON.stringify(k)}: [\n` : ',\n'}    ${indent(safeJson(a ?? null, 2), '    ')}`;
        first = false;
      }
      yield first ? `  ${JSON.stringify(k)}: []${tail}` : `\n  ]${tail}`;
      continue;
    }
    yield `  ${JSON.stringify(k)}: ${indent(safeJson(v, 2), '  ')}${tail}`;
  }
  yield '}\n';
}

function indent(json: string, by: string): string {
  return json.includes('\n') ? json.replaceAll('\n', `\n${by}`) : json;
}
