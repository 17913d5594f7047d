/**
 * JSON as registries' clients read it, with what JSON.parse hides: a key that repeats, or two keys that differ only in
 * case. RFC 8259 §4 leaves duplicate names to the implementation; Go's encoding/json (the registry and most OCI
 * clients) matches field names case-insensitively and keeps the last, JavaScript keeps the last exact match. A manifest
 * with `"layers": [a]` and `"Layers": [b]` is therefore two manifests to two readers: the scanner reports it and reads
 * every candidate. Bounded: depth, members per object and collisions recorded.
 * @module
 */

const MAX_DEPTH = 64;
const MAX_COLLISIONS = 16;

export interface KeyCollision {
  /** Where, as a JSONPath-like string (`$`, `$.layers[2]`). */
  path: string;
  /** The member names that collide, as written. */
  keys: string[];
}

export interface StrictJson {
  /** What JSON.parse would give (the last of an exact duplicate wins). */
  value: unknown;
  collisions: KeyCollision[];
  /** Top-level members by lower-case name, every value in document order (duplicates and case variants included). */
  members: Map<string, unknown[]>;
}

export class JsonSyntaxError extends Error {
  constructor(
    message: string,
    readonly at: number,
  ) {
    super(`${message} at offset ${at}`);
  }
}

const NUMBER = /-?(?:0|[1-9]\d*)(?:\.\d+)?(?:[eE][+-]?\d+)?/y;

export function parseJsonStrict(text: string): StrictJson {
  let i = 0;
  const collisions: KeyCollision[] = [];
  const members = new Map<string, unknown[]>();
  const ws = () => {
    while (i < text.length) {
      const c = text.charCodeAt(i);
      if (c !== 0x20 && c !== 0x0a && c !== 0x0d && c !== 0x09) break;
      i++;
    }
  };
  const string = (): string => {
    const start = i;
    i++; // opening quote
    for (;;) {
      const q = text.indexOf('"', i);
      if (q < 0) throw new JsonSyntaxError('unterminated string', start);
      let bs = 0;
      for (let k = q - 1; k > start && text[k] === '\\'; k--) bs++;
      i = q + 1;
      if (bs % 2 === 0) break;
    }
    try {
      return JSON.parse(text.slice(start, i)) as string;
    } catch {
      throw new JsonSyntaxError('bad string', start);
    }
  };
  const value = (depth: number, path: string): unknown => {
    if (depth > MAX_DEPTH) throw new JsonSyntaxError(`nested deeper than ${MAX_DEPTH}`, i);
    ws();
    const c = text[i];
    if (c === '{') {
      i++;
      const obj: Record<string, unknown> = {};
      const seen = new Map<string, string[]>();
      ws();
      if (text[i] === '}') {
        i++;
        return obj;
      }
      for (;;) {
        ws();
        if (text[i] !== '"') throw new JsonSyntaxError('expected a member name', i);
        const key = string();
        ws();
        if (text[i] !== ':') throw new JsonSyntaxError("expected ':'", i);
        i++;
        const v = value(depth + 1, `${path}.${key}`);
        // defineProperty: a member named "__proto__" is data, as with JSON.parse, never the object's prototype.
        Object.defineProperty(obj, key, { value: v, enumerable: true, writable: true, configurable: true });
        const lower = key.toLowerCase();
        const names = seen.get(lower) ?? [];
        names.push(key);
        seen.set(lower, names);
        if (depth === 0) members.set(lower, [...(members.get(lower) ?? []), v]);
        ws();
        if (text[i] === ',') {
          i++;
          continue;
        }
        if (text[i] === '}') {
          i++;
          break;
        }
        throw new JsonSyntaxError("expected ',' or '}'", i);
      }
      for (const names of seen.values()) if (names.length > 1 && collisions.length < MAX_COLLISIONS) collisions.push({ path, keys: names });
      return obj;
    }
    if (c === '[') {
      i++;
      const arr: unknown[] = [];
      ws();
      if (text[i] === ']') {
        i++;
        return arr;
      }
      for (;;) {
        arr.push(value(depth + 1, `${path}[${arr.length}]`));
        ws();
        if (text[i] === ',') {
          i++;
          continue;
        }
        if (text[i] === ']') {
          i++;
          return arr;
        }
        throw new JsonSyntaxError("expected ',' or ']'", i);
      }
    }
    if (c === '"') return string();
    if (text.startsWith('true', i)) return ((i += 4), true);
    if (text.startsWith('false', i)) return ((i += 5), false);
    if (text.startsWith('null', i)) return ((i += 4), null);
    NUMBER.lastIndex = i;
    const m = NUMBER.exec(text);
    if (!m) throw new JsonSyntaxError('unexpected character', i);
    i += m[0].length;
    return Number(m[0]);
  };
  const v = value(0, '$');
  ws();
  if (i !== text.length) throw new JsonSyntaxError('trailing data', i);
  return { value: v, collisions, members };
}
