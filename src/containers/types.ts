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

/** A member path that would escape an extraction root if anyone ever wrote it out. */
export function isTraversal(path: string): boolean {
  if (path.startsWith('/') || path.startsWith('\\') || /^[A-Za-z]:/.test(path)) return true;
  return path.split(/[\\/]/).some((seg) => seg === '..');
}

/** Member path made safe to embed in a URI: `..` segments and leading slashes are percent-encoded, not dropped. */
export function safeMemberPath(path: string): string {
  return path
    .split('/')
    .map((seg, i) => (seg === '..' ? '%2E%2E' : i === 0 && seg === '' ? '%2F' : seg))
    .join('/')
    .replace(/\\/g, '%5C');
}
