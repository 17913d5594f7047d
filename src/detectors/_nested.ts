/**
 * Nested encodings followed to a bounded depth: a JSON string value that is base64 of JSON, of PEM or of DER (Rekor
 * entry bodies hold base64 JSON whose fields hold base64 PEM keys and certificates; DSSE verifiers, in-toto envelopes
 * and bundles do the same). One decoder for every detector that meets such values, so the depth bound and the size
 * bound are the same everywhere.
 * @module
 */
import { ParseError } from '../errors.js';
import { MAX_TEXT_PARSE_BYTES } from '../limits.js';
import { findPemBlocks, type PemBlock } from '../pkix/pem.js';
import { base64Bytes, isObject, type Json, type JsonObject } from './_json.js';

/** How many base64 layers are unwrapped before giving up (Rekor: body → PEM is 2; a DSSE inside it 3). */
export const MAX_NESTED_DEPTH = 4;

export type Nested =
  { kind: 'json'; value: JsonObject; depth: number } | { kind: 'pem'; blocks: PemBlock[]; depth: number } | { kind: 'der'; bytes: Uint8Array; depth: number };

/**
 * What a base64 string holds, unwrapping base64 layers (a PEM written as base64 of base64 is still a PEM) up to
 * MAX_NESTED_DEPTH: a JSON object, PEM blocks, or DER (a SEQUENCE). Undefined when it is none of these.
 */
export function decodeNested(value: string | undefined, depth = 1): Nested | undefined {
  if (value === undefined || depth > MAX_NESTED_DEPTH || value.length > MAX_TEXT_PARSE_BYTES || value.length < 8) return undefined;
  const bytes = base64Bytes(value);
  if (!bytes || bytes.length === 0) return undefined;
  if (bytes[0] === 0x30) return { kind: 'der', bytes, depth };
  const text = Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).toString('utf8');
  if (text.includes('-----BEGIN ')) {
    const blocks = findPemBlocks(bytes);
    return blocks.length ? { kind: 'pem', blocks, depth } : undefined;
  }
  const trimmed = text.trimStart();
  if (trimmed.startsWith('{')) {
    try {
      const v = JSON.parse(trimmed) as Json;
      return isObject(v) ? { kind: 'json', value: v, depth } : undefined;
    } catch (e) {
      if (!(e instanceof SyntaxError)) throw e;
      throw new ParseError(`base64 value holds broken JSON: ${e.message}`);
    }
  }
  // Another layer of base64.
  if (/^[A-Za-z0-9+/_=\s-]+$/.test(text)) return decodeNested(text, depth + 1);
  return undefined;
}
