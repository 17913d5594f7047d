/**
 * One error class with a literal-union code. Parsers throw ParseError on hostile bytes; the detector registry
 * turns it into an ErrorEntry on the artifact and the scan goes on. Usage/config errors stop a run.
 * @module
 */
import type { ErrorCode } from './model.js';

export type ShelflifeErrorCode = ErrorCode | 'usage' | 'config' | 'rules' | 'verify' | 'resign' | 'inventory' | 'sink';

export class ShelflifeError extends Error {
  readonly code: ShelflifeErrorCode;
  override readonly name: string = 'ShelflifeError';
  constructor(code: ShelflifeErrorCode, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.code = code;
  }
}

/** Malformed or truncated input bytes. `offset` is where the parser gave up, when known. */
export class ParseError extends ShelflifeError {
  override readonly name = 'ParseError';
  readonly offset?: number;
  constructor(message: string, offset?: number, code: 'malformed' | 'truncated' | 'unsupported' = 'malformed') {
    super(code, message);
    this.offset = offset;
  }
}

/** A hard limit (depth, entries, expanded bytes, ratio, size) was reached: recorded as a finding-like error. */
export class LimitError extends ShelflifeError {
  override readonly name = 'LimitError';
}

export class UsageError extends ShelflifeError {
  override readonly name = 'UsageError';
  constructor(message: string) {
    super('usage', message);
  }
}

export function errorMessage(e: unknown): string {
  return e instanceof Error ? e.message : String(e);
}
