/**
 * The one loader for everything under rules/ (and user rule files): YAML parsed with source positions, validated by
 * a strict zod schema. Unknown keys and bad values are rejected with the file and line, because an ignored rule
 * is a silent downgrade.
 * @module
 */
import { createHash } from 'node:crypto';
import { closeSync, openSync, readFileSync, readSync } from 'node:fs';
import { basename, dirname, join, relative, sep } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Document } from 'yaml';
import type { z } from 'zod';
import { ShelflifeError } from '../errors.js';
import { MAX_RULES_FILE_BYTES, MAX_YAML_ALIASES } from '../limits.js';
import { yaml } from './libraries.js';

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
  const { isNode, LineCounter, parseDocument } = yaml();
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

/**
 * Read and validate a rules or config file. `schema` may be a function that makes it: a bundled file that the build
 * compiled is then taken without making the schema at all (zod is not even loaded).
 */
export function loadRulesFile<S extends z.ZodType>(file: string, schema: S | (() => S)): z.infer<S> {
  const text = readBounded(file);
  const compiled = compiledEntry(file, text);
  if (compiled !== undefined) return compiled as z.infer<S>;
  return parseRules(text, file, typeof schema === 'function' ? schema() : schema);
}

/** The file a build writes next to its output: every bundled rules file, validated, with the digest of its text. */
export const COMPILED_RULES_FILE = 'rules.compiled.json';

/**
 * The compiled rules module (`tools/build.mjs`): each bundled rules file already parsed and validated by the same
 * schemas at build time, keyed by its path under rules/. Parsing YAML and validating it costs most of a start-up;
 * the build did both once. An entry is used only for the bundled file it was made from and only while that file's
 * text has the digest recorded (a rules file edited after the build is parsed again), and only from a build (dist/):
 * code run from src/ always parses, so the schemas and the compiled data cannot drift apart unseen.
 */
export interface CompiledRules {
  format: 1;
  files: Record<string, { sha256: string; data: unknown }>;
}

let compiled: CompiledRules | null | undefined;

function compiledEntry(file: string, text: string): unknown {
  compiled ??= readCompiled();
  if (!compiled) return undefined;
  const rel = relative(bundledRulesDir(), file).split(sep).join('/');
  const entry = compiled.files[rel];
  if (!entry) return undefined;
  return createHash('sha256').update(text).digest('hex') === entry.sha256 ? entry.data : undefined;
}

/** The build's compiled rules, when this module runs from a build (a `dist` folder above it) that wrote them. */
function readCompiled(): CompiledRules | null {
  let dir = dirname(fileURLToPath(import.meta.url));
  for (let i = 0; i < 4 && basename(dir) !== 'dist'; i++) dir = dirname(dir);
  if (basename(dir) !== 'dist') return null;
  let text: string;
  try {
    text = readFileSync(join(dir, COMPILED_RULES_FILE), 'utf8');
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') return null; // a build without it (`tsc` alone): parse
    throw e;
  }
  const data = JSON.parse(text) as CompiledRules;
  if (data.format !== 1 || typeof data.files !== 'object' || data.files === null)
    throw new ShelflifeError('rules', 'not a compiled rules module of this version; rebuild (npm run build)', { uri: join(dir, COMPILED_RULES_FILE) });
  return data;
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
