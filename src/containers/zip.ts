/**
 * ZIP (PKWARE APPNOTE 6.3.10) and its kin: jar, apk, whl, ipa, docx … Read through the central directory with random
 * access (so data prepended by self-extractors or APK signing blocks does not matter), ZIP64 included.
 * Stored and deflated entries are expanded under the budget; encrypted entries are reported, not opened.
 * @module
 */
import { inflateRawSync, createInflateRaw } from 'node:zlib';
import { Readable } from 'node:stream';
import { ParseError, LimitError } from '../errors.js';
import { MAX_COMPRESSION_RATIO, MEMBER_BUFFER_LIMIT, RATIO_GRACE_BYTES } from '../limits.js';
import type { ContainerHandler, ContainerInput, ExpansionBudget, Member } from './types.js';
import { checkRatio } from './types.js';

const EOCD_SIG = 0x06054b50;
const ZIP64_LOCATOR_SIG = 0x07064b50;
const ZIP64_EOCD_SIG = 0x06064b50;
const CEN_SIG = 0x02014b50;
const LOC_SIG = 0x04034b50;

export const zipHandler: ContainerHandler = {
  kind: 'zip',
  sniff: (head) => head.length >= 4 && head[0] === 0x50 && head[1] === 0x4b && ((head[2] === 3 && head[3] === 4) || (head[2] === 5 && head[3] === 6)),
  members: zipMembers,
};

export interface ZipEntry {
  name: string;
  method: number;
  flags: number;
  compressedSize: number;
  size: number;
  localOffset: number;
  modified?: string;
  /** WinZip AES strength from extra field 0x9901 (1=128, 2=192, 3=256). */
  aesStrength?: number;
}

type RangeRead = (start: number, end: number) => Promise<Uint8Array>;

function rangeReader(input: ContainerInput): RangeRead {
  if (input.bytes) {
    const b = input.bytes;
    return async (s, e) => b.subarray(s, Math.min(e, b.length));
  }
  if (input.read) return input.read;
  throw new LimitError('limit-size', 'zip needs random access and is too large to hold in memory; not opened', { uri: input.uri });
}

const dv = (b: Uint8Array) => new DataView(b.buffer, b.byteOffset, b.byteLength);

/** Parse the central directory. Exported for detectors that need the entry table (APK signing block). */
export async function readCentralDirectory(
  read: RangeRead,
  size: number,
  uri: string,
  maxEntries: number,
): Promise<{ entries: ZipEntry[]; cdOffset: number; shift: number }> {
  const tailLen = Math.min(size, 65535 + 22);
  const tail = await read(size - tailLen, size);
  let eocd = -1;
  for (let i = tail.length - 22; i >= 0; i--) {
    if (tail[i] === 0x50 && tail[i + 1] === 0x4b && tail[i + 2] === 5 && tail[i + 3] === 6) {
      eocd = i;
      break;
    }
  }
  if (eocd < 0) throw new ParseError('no zip end-of-central-directory record', size, 'malformed', { uri });
  const e = dv(tail.subarray(eocd));
  if (e.getUint32(0, true) !== EOCD_SIG) throw new ParseError('bad zip end record', size - tailLen + eocd, 'malformed', { uri });
  let total = e.getUint16(10, true);
  let cdSize = e.getUint32(12, true);
  let cdOffset = e.getUint32(16, true);
  const eocdAbs = size - tailLen + eocd;
  if (total === 0xffff || cdSize === 0xffffffff || cdOffset === 0xffffffff) {
    // ZIP64: the locator sits 20 bytes before the EOCD.
    const loc = await read(eocdAbs - 20, eocdAbs);
    if (loc.length === 20 && dv(loc).getUint32(0, true) === ZIP64_LOCATOR_SIG) {
      const z64off = Number(dv(loc).getBigUint64(8, true));
      const z = await read(z64off, z64off + 56);
      if (z.length < 56 || dv(z).getUint32(0, true) !== ZIP64_EOCD_SIG) throw new ParseError('bad ZIP64 end record', z64off, 'malformed', { uri });
      total = Number(dv(z).getBigUint64(32, true));
      cdSize = Number(dv(z).getBigUint64(40, true));
      cdOffset = Number(dv(z).getBigUint64(48, true));
    }
  }
  // Data prepended to the archive (self-extractors) shifts every offset by the same amount.
  const shift = Math.max(0, eocdAbs - (cdOffset + cdSize));
  if (total > maxEntries) throw new LimitError('limit-entries', `zip declares ${total} entries, more than the limit of ${maxEntries}`, { uri });
  if (cdSize > 64 * 1024 * 1024) throw new LimitError('limit-size', `zip central directory of ${cdSize} bytes`, { uri });
  const cd = await read(cdOffset + shift, cdOffset + shift + cdSize);
  const entries: ZipEntry[] = [];
  let p = 0;
  const v = dv(cd);
  while (p + 46 <= cd.length && entries.length < total) {
    if (v.getUint32(p, true) !== CEN_SIG)
      throw new ParseError(`bad central directory entry at offset ${cdOffset + shift + p}`, cdOffset + shift + p, 'malformed', { uri });
    const flags = v.getUint16(p + 8, true);
    const method = v.getUint16(p + 10, true);
    const time = v.getUint16(p + 12, true);
    const date = v.getUint16(p + 14, true);
    let compressedSize = v.getUint32(p + 20, true);
    let usize = v.getUint32(p + 24, true);
    const nameLen = v.getUint16(p + 28, true);
    const extraLen = v.getUint16(p + 30, true);
    const commentLen = v.getUint16(p + 32, true);
    let localOffset = v.getUint32(p + 42, true);
    if (p + 46 + nameLen + extraLen > cd.length) throw new ParseError('truncated central directory', cdOffset + shift + p, 'truncated', { uri });
    const nameBytes = cd.subarray(p + 46, p + 46 + nameLen);
    const name = new TextDecoder(flags & 0x800 ? 'utf-8' : 'latin1').decode(nameBytes);
    const extra = cd.subarray(p + 46 + nameLen, p + 46 + nameLen + extraLen);
    let aesStrength: number | undefined;
    for (let q = 0; q + 4 <= extra.length;) {
      const id = extra[q] | (extra[q + 1] << 8);
      const len = extra[q + 2] | (extra[q + 3] << 8);
      const body = extra.subarray(q + 4, q + 4 + len);
      if (id === 0x0001) {
        // ZIP64 extended information: only the fields that were 0xFFFFFFFF, in order.
        const bv = dv(body);
        let o = 0;
        if (usize === 0xffffffff && o + 8 <= body.length) {
          usize = Number(bv.getBigUint64(o, true));
          o += 8;
        }
        if (compressedSize === 0xffffffff && o + 8 <= body.length) {
          compressedSize = Number(bv.getBigUint64(o, true));
          o += 8;
        }
        if (localOffset === 0xffffffff && o + 8 <= body.length) localOffset = Number(bv.getBigUint64(o, true));
      } else if (id === 0x9901 && body.length >= 7) {
        aesStrength = body[4];
      }
      q += 4 + len;
    }
    const modified = dosTime(date, time);
    entries.push({
      name,
      method,
      flags,
      compressedSize,
      size: usize,
      localOffset: localOffset + shift,
      ...(modified ? { modified } : {}),
      ...(aesStrength ? { aesStrength } : {}),
    });
    p += 46 + nameLen + extraLen + commentLen;
  }
  return { entries, cdOffset: cdOffset + shift, shift };
}

function dosTime(date: number, time: number): string | undefined {
  if (date === 0) return undefined;
  const d = new Date(Date.UTC(1980 + (date >> 9), ((date >> 5) & 15) - 1, date & 31, time >> 11, (time >> 5) & 63, (time & 31) * 2));
  return Number.isNaN(d.getTime()) ? undefined : d.toISOString();
}

async function* zipMembers(input: ContainerInput, budget: ExpansionBudget): AsyncIterable<Member> {
  const read = rangeReader(input);
  const size = input.size ?? input.bytes?.length;
  if (size === undefined) throw new LimitError('limit-size', 'zip of unknown size; not opened', { uri: input.uri });
  const { entries } = await readCentralDirectory(read, size, input.uri, budget.maxEntries - budget.entries);
  for (const entry of entries) {
    if (entry.name.endsWith('/')) continue;
    budget.addEntry(input.uri);
    const base: Member = { path: entry.name, size: entry.size, ...(entry.modified ? { modified: entry.modified } : {}) };
    if (entry.flags & 1) {
      // Encrypted entry: its protection is a finding (recorded by the engine from these annotations).
      yield {
        ...base,
        annotations: { 'zip.encryption': entry.method === 99 ? `AES-${[0, 128, 192, 256][entry.aesStrength ?? 0] ?? 'unknown'}` : 'ZipCrypto' },
        problem: { code: 'unsupported', message: `member ${entry.name} is encrypted; contents not scanned` },
      };
      continue;
    }
    if (entry.method !== 0 && entry.method !== 8) {
      yield { ...base, problem: { code: 'unsupported', message: `member ${entry.name} uses compression method ${entry.method}; contents not scanned` } };
      continue;
    }
    const lh = await read(entry.localOffset, entry.localOffset + 30);
    if (lh.length < 30 || dv(lh).getUint32(0, true) !== LOC_SIG) {
      yield { ...base, problem: { code: 'malformed', message: `member ${entry.name}: bad local header at offset ${entry.localOffset}` } };
      continue;
    }
    const dataStart = entry.localOffset + 30 + dv(lh).getUint16(26, true) + dv(lh).getUint16(28, true);
    if (dataStart + entry.compressedSize > size) {
      yield { ...base, problem: { code: 'malformed', message: `member ${entry.name}: data runs past the end of the archive` } };
      continue;
    }
    // Declared sizes are attacker-controlled: check the ratio on what is declared, then enforce it on what inflates.
    if (entry.size > RATIO_GRACE_BYTES && entry.size > entry.compressedSize * MAX_COMPRESSION_RATIO) {
      throw new LimitError(
        'limit-ratio',
        `member ${entry.name} declares ${entry.size} bytes from ${entry.compressedSize} (ratio above ${MAX_COMPRESSION_RATIO}:1); treated as a bomb, archive not read further`,
        { uri: input.uri },
      );
    }
    if (entry.compressedSize <= MEMBER_BUFFER_LIMIT && entry.size <= MEMBER_BUFFER_LIMIT) {
      const raw = await read(dataStart, dataStart + entry.compressedSize);
      let bytes: Uint8Array;
      if (entry.method === 0) bytes = raw;
      else {
        try {
          bytes = inflateRawSync(raw, { maxOutputLength: Math.max(entry.size, 1) + 1 });
        } catch (e) {
          yield { ...base, problem: { code: 'malformed', message: `member ${entry.name}: cannot inflate (${(e as Error).message})` } };
          continue;
        }
      }
      if (bytes.length !== entry.size) {
        yield {
          ...base,
          problem: { code: 'malformed', message: `member ${entry.name}: expanded to ${bytes.length} bytes, central directory says ${entry.size}` },
        };
        continue;
      }
      budget.addExpanded(bytes.length, input.uri);
      checkRatio(bytes.length, entry.compressedSize, `${input.uri}!/${entry.name}`);
      yield { ...base, bytes };
    } else {
      yield { ...base, stream: streamEntry(read, dataStart, entry, budget, input.uri) };
    }
  }
}

async function* streamEntry(read: RangeRead, start: number, entry: ZipEntry, budget: ExpansionBudget, uri: string): AsyncIterable<Uint8Array> {
  const STEP = 1024 * 1024;
  let compressedRead = 0;
  const raw = (async function* () {
    for (let off = 0; off < entry.compressedSize; off += STEP) {
      const chunk = await read(start + off, start + Math.min(off + STEP, entry.compressedSize));
      compressedRead += chunk.length;
      yield chunk;
    }
  })();
  if (entry.method === 0) {
    for await (const c of raw) {
      budget.addExpanded(c.length, uri);
      yield c;
    }
    return;
  }
  const inflate = createInflateRaw();
  const src = Readable.from(raw);
  src.pipe(inflate);
  let expanded = 0;
  try {
    for await (const c of inflate) {
      expanded += (c as Uint8Array).length;
      budget.addExpanded((c as Uint8Array).length, uri);
      checkRatio(expanded, compressedRead, `${uri}!/${entry.name}`);
      yield c as Uint8Array;
    }
  } finally {
    src.destroy();
    inflate.destroy();
  }
}
