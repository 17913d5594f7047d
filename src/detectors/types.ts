/**
 * The detector contract: a format id, the bytes/names it claims, and a pure parse function.
 * @module
 */
import type { DetectContext, ErrorEntry, Finding } from '../model.js';

export interface MagicClaim {
  offset: number;
  bytes: readonly number[];
}

export interface Claims {
  /** Byte signatures at fixed offsets of the artifact (checked on the first window only). */
  magic?: readonly MagicClaim[];
  /** Globs matched against the artifact name or member path (e.g. `**\/*.pem`, `**\/META-INF/*.RSA`). */
  names?: readonly string[];
  /** Byte strings found anywhere in the window (PEM labels, JSON keys, armor headers). */
  contains?: readonly string[];
  /** Runs on every window of every artifact (carvers); must be cheap on bytes that hold nothing. */
  anywhere?: boolean;
  /**
   * With `anywhere`: not on a container member that one of these formats claims by its name or by a magic of 4 bytes
   * or more. They are formats whose files are trust material through and through (a JAR's signature block, a key or
   * certificate file): their own detector reads every byte, a carver would only guess.
   */
  defersTo?: readonly string[];
  /**
   * Also run on the raw bytes of an archive the engine is about to open (e.g. the APK signing block lives between a
   * zip's entries). Off by default: an uncompressed tar holds its members' bytes verbatim, and scanning both would
   * report every member twice.
   */
  containers?: boolean;
}

export interface DetectResult {
  findings: Finding[];
  /** Partial failures: the detector recognised its format but part of it is malformed. */
  errors?: ErrorEntry[];
  /** Facts about the whole artifact (e.g. in-toto subject digests), merged into its annotations. */
  annotations?: Record<string, string>;
}

export interface Detector {
  format: string;
  description: string;
  claims: Claims;
  /** Pure: no I/O, no clock, no globals beyond the loaded catalogue. Throw ParseError on malformed input. */
  detect(bytes: Uint8Array, ctx: DetectContext): Finding[] | DetectResult;
}
