/**
 * The one loader for everything under rules/ (and user rule files): YAML parsed with source positions, validated by
 * a strict zod schema. Unknown keys and bad values are rejected with the file and line, because an ignored rule
 * is a silent downgrade.
 * @module
 */
import { closeSync, openSync, readFileSync, readSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { isNode, LineCounter, parseDocument, type Document } from 'yaml';
import type { z } from 'zod';
import { ShelflifeError } from '../errors.js';
import { MAX_RULES_FILE_BYTES, MAX_YAML_ALIASES } from '../limits.js';

/** The bundled rules/ directory (works from src/ under vitest and from dist/src/ after the build). */
export function bundledRulesDir(): string {
  let dir = dirname(fileURLToPath(import.meta.url));
  for (let i = 0; i < 5; i++) {
    const candidate = join(dir, 'rules');
    try {
      readFileSync(join(candidate, 'algorithms.yaml'));
      return candidate;
    } catch {
      dir = dirname(dir);
    }
  }
  throw new ShelflifeError('rules', 'cannot find the bundled rules/ directory');
}

/** Parse YAML text and validate it; errors name `file:line` as their `uri`. */
export function parseRules<S extends z.ZodType>(text: string, file: string, schema: S): z.infer<S> {
  const lineCounter = new LineCounter();
  const doc = parseDocument(text, { lineCounter, uniqueKeys: true, prettyErrors: false });
  if (doc.errors.length > 0) {
    const e = doc.errors[0];
    const line = e.linePos?.[0]?.line ?? lineCounter.linePos(e.pos[0]).line;
    throw new ShelflifeError('rules', e.message.split('\n')[0], { uri: `${file}:${line}` });
  }
  const data = toData(doc, file);
  const result = schema.safeParse(data);
  if (!result.success) {
    const issue = result.error.issues[0];
    const path = issue.path as (string | number)[];
    // Walk to the deepest node that exists, to point at the offending line.
    let line = 1;
    for (let n = path.length; n >= 0; n--) {
      const node = n === 0 ? doc.contents : doc.getIn(path.slice(0, n), true);
      if (isNode(node) && node.range) {
        line = lineCounter.linePos(node.range[0]).line;
        break;
      }
      // A key that is itself unknown: find the key node in the parent map.
      if (n > 0 && issue.code === 'unrecognized_keys') break;
    }
    if (issue.code === 'unrecognized_keys') {
      const keys = (issue as { keys: string[] }).keys;
      const parent = path.length === 0 ? doc.contents : doc.getIn(path, true);
      const pair =
        isNode(parent) && 'items' in parent
          ? (parent.items as { key?: { value?: unknown; range?: [number, number, number] } }[]).find((p) => keys.includes(String(p.key?.value)))
          : undefined;
      if (pair?.key?.range) line = lineCounter.linePos(pair.key.range[0]).line;
      throw new ShelflifeError(
        'rules',
        `unknown key${keys.length > 1 ? 's' : ''} ${keys.map((k) => `"${k}"`).join(', ')}${path.length ? ` in ${path.join('.')}` : ''}`,
        {
          uri: `${file}:${line}`,
        },
      );
    }
    const where = path.length ? ` at ${path.join('.')}` : '';
    throw new ShelflifeError('rules', `${issue.message}${where}`, { uri: `${file}:${line}` });
  }
  return result.data;
}

/**
 * The document as plain data, with aliases expanded at most MAX_YAML_ALIASES times: a "billion laughs" file (aliases
 * of aliases, each level multiplying the size) is refused as a bad file instead of exhausting memory. yaml reports it
 * as a ReferenceError; anything else it throws is not about the file and goes on up.
 */
function toData(doc: Document, file: string): unknown {
  try {
    return doc.toJS({ maxAliasCount: MAX_YAML_ALIASES });
  } catch (e) {
    if (e instanceof ReferenceError && /alias/i.test(e.message))
      throw new ShelflifeError('rules', `aliases expand past ${MAX_YAML_ALIASES} nodes (a YAML alias bomb?); not loaded`, { uri: file, cause: e });
    throw e;
  }
}

export function loadRulesFile<S extends z.ZodType>(file: string, schema: S): z.infer<S> {
  return parseRules(readBounded(file), file, schema);
}

/**
 * A rules or config file is a few KB: read at most MAX_RULES_FILE_BYTES + 1 bytes, whatever the file is (a FIFO from
 * `--config <(…)` is fine, `/dev/zero` is not), and refuse a larger one before the parser sees it.
 */
function readBounded(file: string): string {
  let fd: number | undefined;
  try {
    fd = openSync(file, 'r');
    const buf = Buffer.allocUnsafe(MAX_RULES_FILE_BYTES + 1);
    let n = 0;
    for (let r; n < buf.length && (r = readSync(fd, buf, n, buf.length - n, null)) > 0;) n += r;
    if (n > MAX_RULES_FILE_BYTES)
      throw new ShelflifeError('rules', `larger than the ${MAX_RULES_FILE_BYTES}-byte limit for a rules or config file; not loaded`, { uri: file });
    return buf.toString('utf8', 0, n);
  } catch (e) {
    if (e instanceof ShelflifeError) throw e;
    throw new ShelflifeError('rules', `cannot read (${(e as Error).message})`, { uri: file, cause: e });
  } finally {
    if (fd !== undefined) closeSync(fd);
  }
}
