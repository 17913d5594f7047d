/**
 * Bounded JSON intake for the envelope detectors (DSSE, Sigstore, cosign, npm): only whole artifacts under the text
 * limit, only documents that open with `{`, and JSON Lines (one envelope per line, as in `*.intoto.jsonl`).
 * @module
 */
import { ParseError } from '../errors.js';
import { MAX_OBJECTS_PER_ARTIFACT, MAX_TEXT_PARSE_BYTES } from '../limits.js';
import type { DetectContext } from '../model.js';

export type Json = null | boolean | number | string | Json[] | { [k: string]: Json };
export type JsonObject = { [k: string]: Json };

/** The JSON objects in the artifact with the offset of each, or [] when it is not JSON. Throws on broken JSON. */
export function readJsonDocuments(bytes: Uint8Array, ctx: DetectContext): { value: JsonObject; offset: number }[] {
  if (!ctx.whole || ctx.baseOffset !== 0 || bytes.length > MAX_TEXT_PARSE_BYTES) return [];
  let i = 0;
  while (
    i < bytes.length &&
    (bytes[i] === 0x20 || bytes[i] === 0x0a || bytes[i] === 0x0d || bytes[i] === 0x09 || bytes[i] === 0xef || bytes[i] === 0xbb || bytes[i] === 0xbf)
  )
    i++;
  if (bytes[i] !== 0x7b) return [];
  const text = Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).toString('utf8');
  try {
    const v = JSON.parse(text) as Json;
    return isObject(v) ? [{ value: v, offset: 0 }] : [];
  } catch (e) {
    if (!(e instanceof SyntaxError)) throw e;
    // JSON Lines: every non-empty line a document.
    const out: { value: JsonObject; offset: number }[] = [];
    let at = 0;
    for (const line of text.split('\n')) {
      if (out.length >= MAX_OBJECTS_PER_ARTIFACT) break;
      if (line.trim()) {
        try {
          const v = JSON.parse(line) as Json;
          if (isObject(v)) out.push({ value: v, offset: Buffer.byteLength(text.slice(0, at)) });
        } catch (lineError) {
          if (!(lineError instanceof SyntaxError)) throw lineError;
          throw new ParseError(`not valid JSON: ${e.message}`, 0);
        }
      }
      at += line.length + 1;
    }
    return out;
  }
}

export function isObject(v: Json | undefined): v is JsonObject {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

export function str(v: Json | undefined): string | undefined {
  return typeof v === 'string' ? v : undefined;
}

export function arr(v: Json | undefined): Json[] {
  return Array.isArray(v) ? v : [];
}

/** Standard or URL-safe base64 to bytes; undefined when the text is not base64. */
export function base64Bytes(s: string | undefined): Uint8Array | undefined {
  if (s === undefined) return undefined;
  const t = s.replace(/\s+/g, '');
  if (!/^[A-Za-z0-9+/_-]*={0,2}$/.test(t)) return undefined;
  return new Uint8Array(Buffer.from(t.replace(/-/g, '+').replace(/_/g, '/'), 'base64'));
}

/**
 * Where a string value sits in the document's bytes (base64 and key ids are ASCII, so a byte search is exact), or
 * `fallback`. Gives every signature and key its own offset, so findings stay distinct and point at their data.
 */
export function locator(bytes: Uint8Array): (value: string | undefined, fallback: number) => number {
  const buf = Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  return (value, fallback) => {
    if (!value || value.length < 8) return fallback;
    const at = buf.indexOf(value.slice(0, 256), fallback);
    return at >= 0 ? at : fallback;
  };
}
