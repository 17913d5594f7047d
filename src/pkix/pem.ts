/**
 * PEM framing (RFC 7468, and RFC 1421's Proc-Type/DEK-Info headers that OpenSSL still writes for legacy keys), read
 * and written.
 * Finds `-----BEGIN X-----` … `-----END X-----` blocks at any offset, tolerating CRLF, leading whitespace and the
 * stray characters real tools leave around, and decodes the base64 body. Never throws on junk: a block that does
 * not decode is returned with `error` set so the caller can report it.
 * @module
 */
import { MAX_OBJECTS_PER_ARTIFACT } from '../limits.js';

export interface PemBlock {
  label: string;
  /** Offset of the `-----BEGIN` line in the input. */
  offset: number;
  /** Offset one past the END line. */
  end: number;
  headers: Record<string, string>;
  der: Uint8Array;
  error?: string;
}

const BEGIN = Buffer.from('-----BEGIN ');

/**
 * Every PEM block whose label passes `accept` (all when omitted).
 * Labels are matched exactly as written, e.g. `CERTIFICATE`, `PRIVATE KEY`, `PGP SIGNATURE` is left to OpenPGP.
 */
export function findPemBlocks(bytes: Uint8Array, accept?: (label: string) => boolean): PemBlock[] {
  const b = Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const out: PemBlock[] = [];
  let pos = 0;
  while (out.length < MAX_OBJECTS_PER_ARTIFACT) {
    const start = b.indexOf(BEGIN, pos);
    if (start < 0) break;
    const labelEnd = b.indexOf('-----', start + BEGIN.length);
    const lineEnd = b.indexOf(0x0a, start);
    if (labelEnd < 0 || (lineEnd >= 0 && labelEnd > lineEnd) || labelEnd - start > 80) {
      pos = start + BEGIN.length;
      continue;
    }
    const label = b.toString('latin1', start + BEGIN.length, labelEnd);
    const endMarker = `-----END ${label}-----`;
    const endAt = b.indexOf(endMarker, labelEnd + 5);
    if (endAt < 0) {
      if (!accept || accept(label)) {
        out.push({ label, offset: start, end: b.length, headers: {}, der: new Uint8Array(0), error: `PEM block "${label}" has no END line` });
      }
      break;
    }
    const blockEnd = endAt + endMarker.length;
    pos = blockEnd;
    if (accept && !accept(label)) continue;
    const body = b.toString('latin1', labelEnd + 5, endAt);
    out.push(decodeBody(label, start, blockEnd, body));
  }
  return out;
}

function decodeBody(label: string, offset: number, end: number, body: string): PemBlock {
  const headers: Record<string, string> = {};
  let text = body;
  // RFC 1421 headers: "Name: value" lines before a blank line.
  if (/^\s*[A-Za-z-]+:/.test(text)) {
    const sep = text.search(/\r?\n\s*\r?\n/);
    if (sep >= 0) {
      for (const line of text.slice(0, sep).split(/\r?\n/)) {
        const m = line.match(/^\s*([A-Za-z-]+):\s*(.*)$/);
        if (m) headers[m[1]] = m[2].trim();
      }
      text = text.slice(sep);
    }
  }
  // JSON and YAML often carry PEM with escaped newlines ("\\n"): strip those escapes along with whitespace.
  const clean = text.replace(/\\[rn]/g, '').replace(/\s+/g, '');
  if (!/^[A-Za-z0-9+/]*={0,2}$/.test(clean)) {
    return { label, offset, end, headers, der: new Uint8Array(0), error: `PEM block "${label}" has characters outside base64` };
  }
  const der = new Uint8Array(Buffer.from(clean, 'base64'));
  if (der.length === 0) return { label, offset, end, headers, der, error: `PEM block "${label}" is empty` };
  return { label, offset, end, headers, der };
}

/** One PEM block (RFC 7468 §2): base64 in 64-character lines between BEGIN and END lines. */
export function pem(label: string, der: Uint8Array): string {
  const b64 = Buffer.from(der).toString('base64');
  return `-----BEGIN ${label}-----\n${b64.replace(/.{1,64}/g, '$&\n')}-----END ${label}-----\n`;
}
