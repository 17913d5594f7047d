/**
 * User-supplied globs (`--include`, `--exclude`, `resign --uri`, class rules and target globs in the config), compiled
 * with a bound on their complexity and matched without regular-expression backtracking.
 *
 * A glob turned into a regular expression (picomatch, micromatch) matches in time that grows as (name length)^(number
 * of `*`): `*a*a*a*a*a*b` against a 255-character name took 9 s, and `@(*a)*(*a)b` did not finish; fast-glob also
 * expands braces into one pattern per alternative. Here a pattern is checked first (length, brace alternatives,
 * no extglobs) and then matched by the classic wildcard algorithm with one backtrack point per level (segments for
 * `**`, characters for `*`), whose cost is at most (pattern length) × (subject length) whatever either holds.
 *
 * Syntax, as in bash/picomatch: `*` (any run of characters within a path segment), `?` (one character), `[abc]`,
 * `[a-z]`, `[!x]`/`[^x]` (one character of / not of a set), `**` as a whole segment (any number of segments),
 * `{a,b}` and `{1..5}` (alternatives, nested), `\` escapes the next character, a leading `!` negates. Dotfiles match
 * like any other name. Extglobs (`@(…)`, `*(…)`, `+(…)`, `?(…)`, `!(…)`) are refused: braces say the same thing.
 *
 * Pure (it imports only errors and limits), so detectors match their `claims.names` with it too
 * (src/detectors/index.ts): one matcher, compiled once, with the literal prefilter, for every glob in the tool.
 * @module
 */
import { UsageError } from './errors.js';
import { MAX_GLOB_ALTERNATIVES, MAX_GLOB_LENGTH } from './limits.js';

export interface GlobOptions {
  /** Compare without regard to case. */
  nocase?: boolean;
  /** A pattern without `/` is matched against the last segment only (`*.pem` matches `a/b/c.pem`). */
  basename?: boolean;
}

export type GlobMatcher = (subject: string) => boolean;

type Token = { t: 'char'; c: string } | { t: 'any' } | { t: 'star' } | { t: 'set'; negated: boolean; items: [string, string][] };
type Segment = { globstar: true } | { globstar: false; tokens: Token[] };

interface Alternative {
  segments: Segment[];
  basename: boolean;
  /** A literal every match contains (longestLiteral), '' when the pattern has none. */
  literal: string;
}

interface CompiledGlob {
  negated: boolean;
  alternatives: Alternative[];
}

/** Compile one glob; throws a UsageError naming `what` (the flag or config key) and the pattern when it is refused. */
export function compileGlob(pattern: string, what: string, options: GlobOptions = {}): GlobMatcher {
  const compiled = compilePattern(pattern, what, options);
  const nocase = options.nocase === true;
  return (subject: string) => matchCompiled(compiled, new Subject(nocase ? subject.toLowerCase() : subject));
}

/**
 * Several globs: matches when any of them does (an empty list matches nothing). Compiled once and matched with the
 * subject folded and split once for all of them (class rules are matched against every artifact of a scan).
 */
export function compileGlobs(patterns: readonly string[], what: string, options: GlobOptions = {}): GlobMatcher {
  const compiled = patterns.map((p) => compilePattern(p, what, options));
  const nocase = options.nocase === true;
  return (subject: string) => {
    const s = new Subject(nocase ? subject.toLowerCase() : subject);
    return compiled.some((c) => matchCompiled(c, s));
  };
}

function compilePattern(pattern: string, what: string, options: GlobOptions): CompiledGlob {
  if (pattern.length > MAX_GLOB_LENGTH) throw new UsageError(`${what}: glob of ${pattern.length} characters is longer than the limit of ${MAX_GLOB_LENGTH}`);
  let negated = false;
  let body = pattern;
  if (body.startsWith('!') && !body.startsWith('!(')) {
    negated = true;
    body = body.slice(1);
  }
  const refuse = (why: string) => new UsageError(`${what}: glob ${JSON.stringify(pattern)}: ${why}`);
  const nocase = options.nocase === true;
  const alternatives = expandBraces(body, refuse).map((alt) => {
    const segments = splitSegments(nocase ? alt.toLowerCase() : alt, refuse);
    return { segments, basename: options.basename === true && !alt.includes('/'), literal: longestLiteral(segments) };
  });
  return { negated, alternatives };
}

/** A subject (already case-folded when the globs are), split into segments at most once. */
class Subject {
  private segments?: string[];
  constructor(readonly text: string) {}
  parts(): string[] {
    return (this.segments ??= this.text.split('/'));
  }
}

function matchCompiled(c: CompiledGlob, subject: Subject): boolean {
  const s = subject.text;
  let hit = false;
  for (const alt of c.alternatives) {
    // Most subjects miss most alternatives (`**/*.{deb,rpm,…}` is thirty of them): a literal the pattern needs that
    // the subject lacks rejects it without splitting or matching.
    if (alt.literal && !s.includes(alt.literal)) continue;
    hit = alt.basename ? matchSegments(alt.segments, [s.slice(s.lastIndexOf('/') + 1)]) : matchSegments(alt.segments, subject.parts());
    if (hit) break;
  }
  return hit !== c.negated;
}

/**
 * The leading segments of a glob that hold no wildcard (`etc/ssl/**\/*.pem` → `['etc', 'ssl']`): a directory walk
 * need not enter a directory outside every include's static prefix. Braces make the prefix empty (a safe answer).
 */
export function staticPrefix(pattern: string): string[] {
  const out: string[] = [];
  if (pattern.startsWith('!')) return out;
  for (const seg of pattern.split('/')) {
    if (/[*?[\]{}\\()!]/.test(seg)) break;
    out.push(seg);
  }
  // The last segment names files, not a directory to enter.
  if (out.length === pattern.split('/').length) out.pop();
  return out;
}

// ───────────────────────────── compiling ─────────────────────────────

/** `{a,b}` and `{1..3}`, nested, expanded up to MAX_GLOB_ALTERNATIVES patterns (counted before anything is built). */
function expandBraces(pattern: string, refuse: (why: string) => UsageError): string[] {
  let results = [''];
  let i = 0;
  const push = (suffixes: string[]) => {
    if (results.length * suffixes.length > MAX_GLOB_ALTERNATIVES) throw refuse(`braces expand to more than ${MAX_GLOB_ALTERNATIVES} patterns`);
    results = results.flatMap((r) => suffixes.map((s) => r + s));
  };
  while (i < pattern.length) {
    const ch = pattern[i];
    if (ch === '\\' && i + 1 < pattern.length) {
      push([pattern.slice(i, i + 2)]);
      i += 2;
      continue;
    }
    if (ch === '{') {
      const end = matchingBrace(pattern, i);
      if (end < 0) {
        push(['\\{']); // an unmatched brace is a literal, as in bash
        i++;
        continue;
      }
      const inner = pattern.slice(i + 1, end);
      const range = /^(-?\d+)\.\.(-?\d+)$/.exec(inner) ?? /^([a-zA-Z])\.\.([a-zA-Z])$/.exec(inner);
      let options: string[];
      if (range) options = expandRange(range[1], range[2], refuse);
      else {
        const parts = splitTopLevel(inner);
        // `{x}` with no comma is literal text in bash.
        options = parts.length < 2 ? [`\\{${inner}\\}`] : parts.flatMap((p) => expandBraces(p, refuse));
      }
      push(options);
      i = end + 1;
      continue;
    }
    push([ch]);
    i++;
  }
  return results;
}

function matchingBrace(s: string, open: number): number {
  let depth = 0;
  for (let i = open; i < s.length; i++) {
    if (s[i] === '\\') i++;
    else if (s[i] === '{') depth++;
    else if (s[i] === '}' && --depth === 0) return i;
  }
  return -1;
}

function splitTopLevel(s: string): string[] {
  const out: string[] = [];
  let depth = 0;
  let start = 0;
  for (let i = 0; i < s.length; i++) {
    if (s[i] === '\\') i++;
    else if (s[i] === '{') depth++;
    else if (s[i] === '}') depth--;
    else if (s[i] === ',' && depth === 0) {
      out.push(s.slice(start, i));
      start = i + 1;
    }
  }
  out.push(s.slice(start));
  return out;
}

function expandRange(a: string, b: string, refuse: (why: string) => UsageError): string[] {
  const numeric = /\d/.test(a);
  const from = numeric ? Number(a) : a.charCodeAt(0);
  const to = numeric ? Number(b) : b.charCodeAt(0);
  const n = Math.abs(to - from) + 1;
  if (n > MAX_GLOB_ALTERNATIVES) throw refuse(`range {${a}..${b}} has more than ${MAX_GLOB_ALTERNATIVES} values`);
  const step = to >= from ? 1 : -1;
  return Array.from({ length: n }, (_, k) => (numeric ? String(from + k * step) : String.fromCharCode(from + k * step)));
}

function splitSegments(alt: string, refuse: (why: string) => UsageError): Segment[] {
  const segments: Segment[] = [];
  let current = '';
  const flush = () => {
    if (current === '**') {
      // Consecutive globstars mean the same as one.
      if (!segments.length || !segments[segments.length - 1].globstar) segments.push({ globstar: true });
    } else segments.push({ globstar: false, tokens: tokenize(current, refuse) });
    current = '';
  };
  for (let i = 0; i < alt.length; i++) {
    if (alt[i] === '\\' && i + 1 < alt.length) {
      current += alt.slice(i, i + 2);
      i++;
    } else if (alt[i] === '/') flush();
    else current += alt[i];
  }
  flush();
  return segments;
}

function tokenize(seg: string, refuse: (why: string) => UsageError): Token[] {
  const out: Token[] = [];
  for (let i = 0; i < seg.length; i++) {
    const ch = seg[i];
    if (ch === '\\') {
      out.push({ t: 'char', c: seg[++i] ?? '\\' });
    } else if ('@*+?!'.includes(ch) && seg[i + 1] === '(') {
      throw refuse(`extglob "${ch}(…)" is not supported; write alternatives with braces {a,b}, or \\( for a literal parenthesis`);
    } else if (ch === '*') {
      // Runs of stars inside a segment (`a**b`) are one star.
      if (out[out.length - 1]?.t !== 'star') out.push({ t: 'star' });
    } else if (ch === '?') out.push({ t: 'any' });
    else if (ch === '[') {
      const set = readSet(seg, i);
      if (!set) out.push({ t: 'char', c: '[' });
      else {
        out.push(set.token);
        i = set.end;
      }
    } else out.push({ t: 'char', c: ch });
  }
  return out;
}

/** `[...]` at `start`: the set and the index of its `]`, or undefined when unterminated (then `[` is literal). */
function readSet(seg: string, start: number): { token: Token; end: number } | undefined {
  let i = start + 1;
  let negated = false;
  if (seg[i] === '!' || seg[i] === '^') {
    negated = true;
    i++;
  }
  const items: [string, string][] = [];
  let first = true;
  for (; i < seg.length; i++) {
    let ch = seg[i];
    if (ch === ']' && !first) return { token: { t: 'set', negated, items }, end: i };
    first = false;
    if (ch === '\\' && i + 1 < seg.length) ch = seg[++i];
    if (seg[i + 1] === '-' && i + 2 < seg.length && seg[i + 2] !== ']') {
      let hi = seg[i + 2];
      i += 2;
      if (hi === '\\' && i + 1 < seg.length) hi = seg[++i];
      items.push([ch, hi]);
    } else items.push([ch, ch]);
  }
  return undefined;
}

/**
 * The longest run of literal characters within one segment of a pattern. Every path that matches contains it (a segment
 * matches exactly one path segment, and literal characters match themselves, in order, with nothing between them), so
 * a subject without it cannot match: a test that costs one substring search.
 */
function longestLiteral(segments: Segment[]): string {
  let best = '';
  for (const seg of segments) {
    if (seg.globstar) continue;
    let run = '';
    for (const tok of seg.tokens) {
      run = tok.t === 'char' ? run + tok.c : '';
      if (run.length > best.length) best = run;
    }
  }
  return best;
}

// ───────────────────────────── matching ─────────────────────────────

function matchOne(tok: Token, ch: string): boolean {
  switch (tok.t) {
    case 'char':
      return tok.c === ch;
    case 'any':
      return true;
    case 'set': {
      const inSet = tok.items.some(([lo, hi]) => ch >= lo && ch <= hi);
      return inSet !== tok.negated;
    }
    default:
      return false;
  }
}

/**
 * Wildcard matching with one backtrack point: on a mismatch only the last `*` is extended, never an earlier one, so
 * the cost is at most tokens × characters.
 */
function matchSegment(tokens: Token[], s: string): boolean {
  let p = 0;
  let i = 0;
  let starP = -1;
  let starI = 0;
  while (i < s.length) {
    const tok = tokens[p];
    if (p < tokens.length && tok.t !== 'star' && matchOne(tok, s[i])) {
      p++;
      i++;
    } else if (p < tokens.length && tok.t === 'star') {
      starP = p++;
      starI = i;
    } else if (starP >= 0) {
      p = starP + 1;
      i = ++starI;
    } else return false;
  }
  while (p < tokens.length && tokens[p].t === 'star') p++;
  return p === tokens.length;
}

/** The same algorithm one level up: `**` is the star, each other pattern segment matches exactly one path segment. */
function matchSegments(segments: Segment[], parts: string[]): boolean {
  let p = 0;
  let i = 0;
  let starP = -1;
  let starI = 0;
  while (i < parts.length) {
    const seg = segments[p];
    if (p < segments.length && !seg.globstar && matchSegment(seg.tokens, parts[i])) {
      p++;
      i++;
    } else if (p < segments.length && seg.globstar) {
      starP = p++;
      starI = i;
    } else if (starP >= 0) {
      p = starP + 1;
      i = ++starI;
    } else return false;
  }
  while (p < segments.length && segments[p].globstar) p++;
  return p === segments.length;
}
