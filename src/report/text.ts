/**
 * Text that people and consoles read. Artifact names, subjects, URIs and messages come from hostile artifacts and
 * servers: a member name can hold ESC (terminal escape sequences), CR/LF (fake lines in a table or a log), NUL, or
 * Unicode bidi and invisible format characters (text shown in another order than it is stored, "Trojan Source",
 * CVE-2021-42574). Every human format passes its text through `displayText`, which makes such characters visible as
 * escapes instead of letting them act; machine formats stay lossless and write them as JSON `\u` escapes (`safeJson`).
 * Each format still escapes its own markup (HTML, Markdown, CSV, CEF) on top of this.
 * @module
 */
import { fileURLToPath } from 'node:url';
import { relative } from 'node:path';

/**
 * Characters that act instead of being shown: controls (C0, DEL, C1), format characters (bidi embeddings, overrides
 * and isolates, marks, zero-width characters, soft hyphen, BOM, interlinear annotations, tag characters) and the
 * Unicode line and paragraph separators.
 */
const ACTING = /[\p{Cc}\p{Cf}\p{Zl}\p{Zp}]/gu;

/**
 * What JSON.stringify leaves raw and a console would act on: DEL, C1 controls, format characters and the line and
 * paragraph separators (it escapes C0 controls itself; its own structural newlines must stay).
 */
const JSON_RAW = /[\x7f-\x9f\p{Cf}\p{Zl}\p{Zp}]/gu;

const NAMED: Record<string, string> = { '\t': '\\t', '\n': '\\n', '\r': '\\r' };

function visible(c: string): string {
  const named = NAMED[c];
  if (named) return named;
  const cp = c.codePointAt(0)!;
  if (cp < 0x80) return `\\x${cp.toString(16).toUpperCase().padStart(2, '0')}`;
  const hex = cp.toString(16).toUpperCase();
  return cp > 0xffff ? `\\u{${hex}}` : `\\u${hex.padStart(4, '0')}`;
}

/** The text with every control, bidi and invisible format character shown as an escape (`\x1B`, `\r`, `\u202E`). */
export function displayText(s: unknown): string {
  return String(s ?? '').replace(ACTING, visible);
}

/** Text for an HTML text node or quoted attribute value: displayText, then the markup characters escaped. */
export function htmlText(s: unknown): string {
  return displayText(s).replace(/[&<>"']/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' })[c]!);
}

/** Like displayText for a block of lines: line breaks stay, everything else that acts is shown. */
export function displayLines(s: unknown): string {
  return String(s ?? '')
    .split('\n')
    .map((l) => displayText(l))
    .join('\n');
}

/**
 * JSON.stringify whose output carries no character that acts on a terminal or console: the ones JSON leaves raw (DEL,
 * C1 controls, bidi and other format characters, U+2028/U+2029) are written as `\uXXXX` escapes. Lossless: any JSON
 * parser reads back the same value.
 */
export function safeJson(value: unknown, space?: number): string {
  return JSON.stringify(value, null, space).replace(JSON_RAW, (c) => {
    // One UTF-16 code unit, or an astral pair (tag characters): each unit as its own \u escape.
    let out = '';
    for (let i = 0; i < c.length; i++) out += `\\u${c.charCodeAt(i).toString(16).padStart(4, '0')}`;
    return out;
  });
}

/**
 * Percent-escapes decoded where they form valid UTF-8 (reserved characters stay encoded, as decodeURI leaves them);
 * anything else, a bare `%` included, is kept as it is. decodeURI itself throws on a bare `%` (URIError).
 */
export function decodeLeniently(s: string): string {
  return s.replace(/(?:%[0-9A-Fa-f]{2})+/g, (run) => {
    try {
      return decodeURI(run);
    } catch {
      return run;
    }
  });
}

/**
 * A URI as people read it: local files as paths (relative to `cwd` when below it), members after `!/` with their
 * percent-escapes decoded where valid, and everything passed through displayText. Never throws on a malformed URI.
 */
export function displayUri(uri: string, cwd?: string): string {
  if (!uri.startsWith('file://')) return displayText(decodeLeniently(uri));
  const bang = uri.indexOf('!/');
  let path: string;
  try {
    path = fileURLToPath(bang < 0 ? uri : uri.slice(0, bang));
  } catch {
    return displayText(decodeLeniently(uri));
  }
  const rel = cwd ? relative(cwd, path) : path;
  const shown = rel && !rel.startsWith('..') ? rel : path;
  return displayText(bang < 0 ? shown : shown + decodeLeniently(uri.slice(bang)));
}
