/**
 * The container contract: a handler sniffs a container by its first bytes (and name), then yields its members.
 * Members are consumed one at a time: a streaming handler (tar) waits for the engine to finish each member.
 * @module
 */
import { LimitError } from '../errors.js';
import { MAX_COMPRESSION_RATIO, MAX_CONTAINER_ENTRIES, MAX_EXPANDED_BYTES, RATIO_GRACE_BYTES } from '../limits.js';

export interface ContainerInput {
  uri: string;
  name: string;
  size?: number;
  /** Whole bytes when they are in memory. */
  bytes?: Uint8Array;
  /** A fresh stream of the container's bytes (decompressed already, when it was compressed). */
  open(): AsyncIterable<Uint8Array>;
  /** Random access, when the container's bytes are addressable (files, ranges, memory). */
  read?(start: number, end: number): Promise<Uint8Array>;
}

export interface Member {
  /** Path inside the container as recorded (never used to write anywhere). */
  path: string;
  size?: number;
  modified?: string;
  /** Member bytes when small enough to hold. */
  bytes?: Uint8Array;
  /** Otherwise a one-pass stream, which must be consumed before the next member is asked for. */
  stream?: AsyncIterable<Uint8Array>;
  /** Something about the member the engine must record (an encrypted entry, an unsupported method). */
  problem?: { code: 'unsupported' | 'malformed' | 'path-traversal'; message: string };
  annotations?: Record<string, string>;
}

export interface ContainerHandler {
  kind: string;
  /** `head` is at least the first 512 bytes (fewer only when the whole input is shorter). */
  sniff(head: Uint8Array, name: string): boolean;
  members(input: ContainerInput, budget: ExpansionBudget): AsyncIterable<Member>;
}

/**
 * Shared across one top-level artifact and everything nested in it: the expanded-bytes and entry limits, so a
 * zip of zips cannot multiply its way past them.
 */
export class ExpansionBudget {
  expanded = 0;
  entries = 0;
  constructor(
    readonly maxExpanded = MAX_EXPANDED_BYTES,
    readonly maxEntries = MAX_CONTAINER_ENTRIES,
  ) {}

  addEntry(container: string): void {
    if (++this.entries > this.maxEntries) {
      throw new LimitError('limit-entries', `more than ${this.maxEntries} members; the rest were not read`, { uri: container });
    }
  }

  addExpanded(n: number, container: string): void {
    this.expanded += n;
    if (this.expanded > this.maxExpanded) {
      throw new LimitError('limit-expanded-bytes', `expanded past ${this.maxExpanded} bytes; the rest was not read`, { uri: container });
    }
  }
}

/** Enforce the compression-ratio limit on a running pair of counts. */
export function checkRatio(expanded: number, compressed: number, container: string): void {
  if (expanded > RATIO_GRACE_BYTES && expanded > compressed * MAX_COMPRESSION_RATIO) {
    throw new LimitError(
      'limit-ratio',
      `compression ratio above ${MAX_COMPRESSION_RATIO}:1 (${expanded} bytes from ${compressed}); treated as a bomb and not read further`,
      { uri: container },
    );
  }
}

/**
 * A member path that would escape an extraction root if anyone ever wrote it out: absolute (`/x`, `\\x`, `C:`), with a
 * `..` segment, or one that percent-decoding turns into either (`%2e%2e/`, `..%2f`, `%252e%252e` decoded twice), since
 * anything that ever treats the name as part of a URI decodes it.
 */
export function isTraversal(path: string): boolean {
  let p = path;
  for (let round = 0; round < 4; round++) {
    if (p.startsWith('/') || p.startsWith('\\') || /^[A-Za-z]:/.test(p)) return true;
    if (p.split(/[\\/]/).some((seg) => seg === '..')) return true;
    const decoded = percentDecode(p);
    if (decoded === p) return false;
    p = decoded;
  }
  return true; // still decoding after four rounds: nothing honest is encoded that deep
}

/** Decode `%XX` escapes leniently (a bare `%` stays), the bytes read as UTF-8. */
function percentDecode(s: string): string {
  if (!s.includes('%')) return s;
  const bytes: number[] = [];
  for (let i = 0; i < s.length; i++) {
    if (s[i] === '%' && /^[0-9A-Fa-f]{2}$/.test(s.slice(i + 1, i + 3))) {
      bytes.push(parseInt(s.slice(i + 1, i + 3), 16));
      i += 2;
    } else {
      const cp = s.codePointAt(i)!;
      const ch = String.fromCodePoint(cp);
      bytes.push(...Buffer.from(ch, 'utf8'));
      i += ch.length - 1;
    }
  }
  return Buffer.from(bytes).toString('utf8');
}

/**
 * A member path as it appears after `!/` in a URI. Injective, so a URI names one member: `%` becomes `%25`, `!`
 * (the nesting mark) `%21`, `\\` `%5C`, a `..` segment `%2E%2E` and a leading `/` `%2F`; everything else is kept, so
 * ordinary names read as they are. The URI is for people and reports: nothing is ever located by decoding it
 * (resign uses the recorded `member` and `parent`).
 */
export function memberUriPath(path: string): string {
  return path
    .replace(/[%!\\]/g, (c) => ({ '%': '%25', '!': '%21', '\\': '%5C' })[c]!)
    .split('/')
    .map((seg, i) => (seg === '..' ? '%2E%2E' : i === 0 && seg === '' ? '%2F' : seg))
    .join('/');
}
