/**
 * tar (POSIX.1-2001 ustar + pax extended headers, GNU long names and base-256 sizes, and old v7 headers), read as a
 * stream: members up to the buffer limit are handed over as bytes, larger ones as one-pass streams.
 * @module
 */
import { ParseError } from '../errors.js';
import { ChunkReader, emitMember } from './_reader.js';
import type { ContainerHandler, ContainerInput, ExpansionBudget, Member } from './types.js';

const BLOCK = 512;

export const tarHandler: ContainerHandler = {
  kind: 'tar',
  sniff: (head) => head.length >= BLOCK && validHeader(head.subarray(0, BLOCK)),
  members: tarMembers,
};

/** A header is a tar header when its checksum verifies (ustar magic alone is not enough for v7 archives). */
function validHeader(h: Uint8Array): boolean {
  if (h.every((b) => b === 0)) return false;
  const stored = parseOctal(h.subarray(148, 156));
  if (stored === undefined) return false;
  let sum = 0;
  for (let i = 0; i < BLOCK; i++) sum += i >= 148 && i < 156 ? 0x20 : h[i];
  return sum === stored;
}

function parseOctal(field: Uint8Array): number | undefined {
  const s = Buffer.from(field).toString('latin1').replace(/\0.*$/s, '').trim();
  if (s === '') return 0;
  if (!/^[0-7]+$/.test(s)) return undefined;
  return parseInt(s, 8);
}

/** Sizes: octal, or GNU base-256 (high bit of the first byte set) for members over 8 GiB. */
function parseSize(field: Uint8Array): number | undefined {
  if (field[0] & 0x80) {
    let v = 0;
    for (let i = 1; i < field.length; i++) v = v * 256 + field[i];
    return v;
  }
  return parseOctal(field);
}

function cstring(b: Uint8Array): string {
  const end = b.indexOf(0);
  return Buffer.from(end < 0 ? b : b.subarray(0, end)).toString('utf8');
}

function parsePax(data: Uint8Array): Record<string, string> {
  const out: Record<string, string> = {};
  const s = Buffer.from(data).toString('utf8');
  let i = 0;
  while (i < s.length) {
    const sp = s.indexOf(' ', i);
    if (sp < 0) break;
    const len = parseInt(s.slice(i, sp), 10);
    if (!(len > 0)) break;
    const rec = s.slice(sp + 1, i + len - 1);
    const eq = rec.indexOf('=');
    if (eq > 0) out[rec.slice(0, eq)] = rec.slice(eq + 1);
    i += len;
  }
  return out;
}

async function* tarMembers(input: ContainerInput, budget: ExpansionBudget): AsyncIterable<Member> {
  const r = new ChunkReader(input.open());
  let longName: string | undefined;
  let pax: Record<string, string> = {};
  let globalPax: Record<string, string> = {};
  try {
    for (;;) {
      const h = await r.read(BLOCK);
      if (h.length === 0) return;
      if (h.length < BLOCK)
        throw new ParseError(`truncated tar header at offset ${r.position - h.length}`, r.position - h.length, 'truncated', { uri: input.uri });
      if (h.every((b) => b === 0)) return; // end-of-archive marker
      if (!validHeader(h)) throw new ParseError(`bad tar header checksum at offset ${r.position - BLOCK}`, r.position - BLOCK, 'malformed', { uri: input.uri });
      const size = parseSize(h.subarray(124, 136));
      if (size === undefined) throw new ParseError(`bad tar size field at offset ${r.position - BLOCK}`, r.position - BLOCK, 'malformed', { uri: input.uri });
      const type = String.fromCharCode(h[156] || 0x30);
      const padded = Math.ceil(size / BLOCK) * BLOCK;
      if (type === 'L' || type === 'x' || type === 'g') {
        if (size > 1024 * 1024) throw new ParseError(`oversized tar extended header (${size} bytes)`, r.position, 'malformed', { uri: input.uri });
        const data = await r.read(size);
        await r.discard(padded - size);
        if (type === 'L') longName = cstring(data);
        else if (type === 'x') pax = parsePax(data);
        else globalPax = { ...globalPax, ...parsePax(data) };
        continue;
      }
      const magic = Buffer.from(h.subarray(257, 263)).toString('latin1');
      const prefix = magic.startsWith('ustar') ? cstring(h.subarray(345, 500)) : '';
      const rawName = pax.path ?? globalPax.path ?? longName ?? (prefix ? `${prefix}/${cstring(h.subarray(0, 100))}` : cstring(h.subarray(0, 100)));
      const realSize = pax.size !== undefined ? Number(pax.size) : size;
      const mtime = parseOctal(h.subarray(136, 148));
      longName = undefined;
      pax = {};
      if (type !== '0' && type !== '7') {
        await r.discard(padded); // directories, links, devices: no content to scan
        continue;
      }
      budget.addEntry(input.uri);
      budget.addExpanded(realSize, input.uri);
      const base: Member = {
        path: rawName,
        size: realSize,
        ...(mtime ? { modified: new Date(mtime * 1000).toISOString() } : {}),
      };
      yield* emitMember(r, base, realSize, padded - realSize, input.uri, `member ${rawName}`);
    }
  } finally {
    await r.close();
  }
}
