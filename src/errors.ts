/**
 * Errors as data. One error class with a literal-union code and the fields that say what went wrong where: `uri` (the
 * object it is about), `offset`, `source`. The message is the reason alone and never starts with a URI; people see an
 * error through `renderError`, which puts the URI in front, in every human format, the CLI and the sinks.
 *
 * Parsers throw ParseError on hostile bytes; the detector registry and the engine turn it into an ErrorEntry on the
 * artifact (`toErrorEntry`) and the scan goes on. Usage/config errors stop a run.
 * @module
 */
import { ERROR_CODES, type ErrorCode, type ErrorEntry } from './model.js';

/** Codes that belong to a command run, never recorded on an artifact. */
export type RunErrorCode = 'usage' | 'config' | 'rules' | 'verify' | 'resign' | 'inventory' | 'sink';

export type ShelflifeErrorCode = ErrorCode | RunErrorCode;

/** What an error is about, besides its reason. */
export interface ErrorDetails {
  /** The object the error is about: an artifact or member URI, a file path, a URL, a sink. */
  uri?: string;
  /** Byte offset in that object where the parser gave up, when known. */
  offset?: number;
  /** Which detector, container or stage produced it. */
  source?: string;
  cause?: unknown;
}

export class ShelflifeError extends Error {
  readonly code: ShelflifeErrorCode;
  readonly uri?: string;
  readonly offset?: number;
  readonly source?: string;
  override readonly name: string = 'ShelflifeError';
  constructor(code: ShelflifeErrorCode, message: string, details: ErrorDetails = {}) {
    super(message, details.cause === undefined ? undefined : { cause: details.cause });
    this.code = code;
    this.uri = details.uri;
    this.offset = details.offset;
    this.source = details.source;
  }
}

export type ParseCode = Extract<ErrorCode, 'malformed' | 'truncated' | 'unsupported'>;

/** Malformed or truncated input bytes. `offset` is where the parser gave up, when known. */
export class ParseError extends ShelflifeError {
  declare readonly code: ParseCode;
  override readonly name = 'ParseError';
  constructor(message: string, offset?: number, code: ParseCode = 'malformed', details: Omit<ErrorDetails, 'offset'> = {}) {
    super(code, message, { ...details, offset });
  }
}

export type LimitCode = Extract<ErrorCode, `limit-${string}`>;

/** A hard limit (depth, entries, expanded bytes, ratio, size) was reached: recorded as a finding-like error. */
export class LimitError extends ShelflifeError {
  declare readonly code: LimitCode;
  override readonly name = 'LimitError';
  constructor(code: LimitCode, message: string, details: ErrorDetails = {}) {
    super(code, message, details);
  }
}

/** A bad flag, target or input file named by the user: the one way to make a `usage` error (exit code 2). */
export class UsageError extends ShelflifeError {
  declare readonly code: 'usage';
  override readonly name = 'UsageError';
  constructor(message: string, details: Pick<ErrorDetails, 'uri' | 'cause'> = {}) {
    super('usage', message, details);
  }
}

/**
 * For a parser's or detector's `catch`: a ParseError is the input's fault and may become data or a verdict ("not a
 * certificate"); anything else is a bug and goes on up, where the detector registry records it as `detector-crash`
 * (and the mutation property test sees it) instead of it reading as bad input.
 */
export function rethrowUnlessParseError(e: unknown): asserts e is ParseError {
  if (!(e instanceof ParseError)) throw e;
}

/**
 * Parse the object at `uri` with readers that do not know its name: a ParseError they throw comes out naming `uri`
 * (unless it names another object already), its reason prefixed with `what` when given ("not a certificate").
 * Anything else goes on up unchanged.
 */
export function parsing<T>(uri: string, parse: () => T, what?: string): T {
  try {
    return parse();
  } catch (e) {
    rethrowUnlessParseError(e);
    if (e.uri !== undefined) throw e;
    throw new ParseError(what ? `${what}: ${e.message}` : e.message, e.offset, e.code, { uri, cause: e });
  }
}

export function isErrorCode(code: string): code is ErrorCode {
  return (ERROR_CODES as readonly string[]).includes(code);
}

/**
 * An error for people: `<uri>: <message>`. `where` is the URI to name when the error carries none (the artifact an
 * ErrorEntry is recorded on). The one renderer: human reports, the CLI and the sinks all go through it.
 */
export function renderError(e: { uri?: string; message: string }, where?: string): string {
  const uri = e.uri ?? where;
  return uri ? `${uri}: ${e.message}` : e.message;
}

/** Any thrown value as text for people, naming what a ShelflifeError is about (to print it, or to quote it in another message). */
export function errorMessage(e: unknown): string {
  if (e instanceof ShelflifeError) return renderError(e);
  return e instanceof Error ? e.message : String(e);
}

/**
 * A caught error's text as the reason for a problem recorded about `uri`: the error's own URI is named only when it is
 * another object's (a failed index fetch reported on the package it lists), so no URI is written twice.
 */
export function reasonAt(e: unknown, uri: string): string {
  if (e instanceof ShelflifeError) return e.uri !== undefined && e.uri !== uri ? renderError(e) : e.message;
  return errorMessage(e);
}

/**
 * An ErrorEntry about the object at `uri` (an index, a signature file, a blob) from the failure reading it, to be
 * recorded on an artifact (the engine drops `uri` when it is that artifact's own). `code` forces the code; without it a
 * ShelflifeError keeps its own when an artifact can carry it, else `remote`. The reason names the error's own URI only
 * when that is another object (a redirect target, the registry's HTTP URL).
 */
export function errorAbout(uri: string, e: unknown, code?: ErrorCode): Omit<ErrorEntry, 'source'> {
  const own = code ?? (e instanceof ShelflifeError && isErrorCode(e.code) ? e.code : 'remote');
  return { code: own, message: reasonAt(e, uri), uri };
}

/** Where an error was caught: the artifact it is recorded on, the stage, and the offset of the bytes the stage saw. */
export interface ErrorSite {
  uri: string;
  source: string;
  baseOffset?: number;
}

/**
 * The ErrorEntry for an error caught while working on the artifact at `site.uri`. A ShelflifeError keeps its code
 * (when it is one an artifact can carry), reason, offset and source, and its URI when it is about another object;
 * anything else, and a run-level code, becomes `otherwise` (the caller says what an unexpected failure means there).
 */
export function toErrorEntry(e: unknown, site: ErrorSite, otherwise: Pick<ErrorEntry, 'code' | 'message'>): ErrorEntry {
  if (!(e instanceof ShelflifeError)) return { ...otherwise, source: site.source };
  const elsewhere = e.uri !== undefined && e.uri !== site.uri;
  return {
    code: isErrorCode(e.code) ? e.code : otherwise.code,
    message: e.message,
    ...(elsewhere ? { uri: e.uri } : {}),
    source: e.source ?? site.source,
    // An offset into another object is that object's; only offsets into the bytes seen here move by the window's base.
    ...(e.offset !== undefined ? { offset: e.offset + (elsewhere ? 0 : (site.baseOffset ?? 0)) } : {}),
  };
}
