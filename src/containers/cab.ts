/**
 * Microsoft Cabinet (MS-CAB, [MS-CAB] "Cabinet File Format", §2): the container of LVFS/fwupd firmware releases
 * (gcab) and of Windows driver and update packages. Layout: CFHEADER ("MSCF", sizes, folder and file counts, optional
 * reserved areas when flags bit 2 is set), cFolders CFFOLDER records (first CFDATA offset, block count, compression),
 * cFiles CFFILE records (uncompressed size, offset in its folder's stream, folder index, NUL-terminated name), then
 * the CFDATA blocks of each folder (checksum, compressed and uncompressed sizes, data).
 * Compression: none (0) and MSZIP (1: each block is "CK" + an RFC 1951 deflate stream whose dictionary is the previous
 * block's 32 KiB of output, [MS-MCI] §2). Quantum (2) and LZX (3) folders are reported as unsupported members.
 * Every count and offset is checked against the input; the folder output counts against the expansion budget.
 * @module
 */
import { inflateRawSync } from 'node:zlib';
import { LimitError, ParseError } from '../errors.js';
import { MAX_CONTAINER_ENTRIES } from '../limits.js';
import { concat, joined } from './_reader.js';
import { checkRatio, type ContainerHandler, type ExpansionBudget, type Member } from './types.js';

const MAGIC = [0x4d, 0x53, 0x43, 0x46]; // "MSCF"
/** MS-CAB caps a folder's blocks at 65535 and a block's output at 32 KiB (§2.4: cbUncomp ≤ 0x8000). */
const MAX_BLOCK_OUTPUT = 0x8000;
/** Cabinets above this are not opened from memory (the engine holds at most this much for a member). */
export const MAX_CABINET_BYTES = 256 * 1024 * 1024;
const MSZIP_WINDOW = 32 * 1024;

export interface CabFile {
  name: string;
  size: number;
  folder: number;
  offset: number;
  attributes: number;
}

export interface CabFolder {
  dataOffset: number;
  blocks: number;
  /** Low 4 bits of typeCompress: 0 none, 1 MSZIP, 2 Quantum, 3 LZX. */
  compression: number;
}

export interface Cabinet {
  folders: CabFolder[];
  files: CabFile[];
  /** Per-CFDATA reserved bytes (cbCFData) when the header declares a reserve. */
  dataReserve: number;
}

export function isCabinet(head: Uint8Array): boolean {
  return head.length >= 36 && MAGIC.every((b, i) => head[i] === b) && head[4] === 0 && head[5] === 0 && head[24] === 3 && head[25] === 1;
}

/** CFHEADER, CFFOLDER and CFFILE records ([MS-CAB] §2.1–2.3). */
export function parseCabinet(bytes: Uint8Array): Cabinet {
  if (!isCabinet(bytes)) throw new ParseError('not a cabinet (no "MSCF" header of version 1.3)', 0);
  const dv = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const cbCabinet = dv.getUint32(8, true);
  if (cbCabinet > bytes.length) throw new ParseError(`cabinet declares ${cbCabinet} bytes, ${bytes.length} present`, 8, 'truncated');
  const coffFiles = dv.getUint32(16, true);
  const cFolders = dv.getUint16(26, true);
  const cFiles = dv.getUint16(28, true);
  const flags = dv.getUint16(30, true);
  if (cFiles > MAX_CONTAINER_ENTRIES) throw new LimitError('limit-entries', `cabinet lists ${cFiles} files`);
  let p = 36;
  let folderReserve = 0;
  let dataReserve = 0;
  if (flags & 0x0004) {
    // cfhdrRESERVE_PRESENT: cbCFHeader (u16), cbCFFolder (u8), cbCFData (u8), then the header's reserved bytes.
    if (p + 4 > bytes.length) throw new ParseError('truncated reserve sizes', p, 'truncated');
    const cbHeader = dv.getUint16(p, true);
    folderReserve = bytes[p + 2];
    dataReserve = bytes[p + 3];
    p += 4 + cbHeader;
  }
  // cfhdrPREV_CABINET / cfhdrNEXT_CABINET: two NUL-terminated strings each (a multi-cabinet set; names only skipped).
  for (const bit of [0x0001, 0x0002]) {
    if (!(flags & bit)) continue;
    for (let k = 0; k < 2; k++) {
      const z = bytes.indexOf(0, p);
      if (z < 0 || z - p > 255) throw new ParseError('unterminated cabinet set name', p);
      p = z + 1;
    }
  }
  const folders: CabFolder[] = [];
  for (let i = 0; i < cFolders; i++) {
    if (p + 8 > bytes.length) throw new ParseError(`truncated CFFOLDER ${i}`, p, 'truncated');
    folders.push({ dataOffset: dv.getUint32(p, true), blocks: dv.getUint16(p + 4, true), compression: dv.getUint16(p + 6, true) & 0x000f });
    p += 8 + folderReserve;
  }
  const files: CabFile[] = [];
  p = coffFiles;
  for (let i = 0; i < cFiles; i++) {
    if (p + 16 > bytes.length) throw new ParseError(`truncated CFFILE ${i}`, p, 'truncated');
    const z = bytes.indexOf(0, p + 16);
    if (z < 0 || z - (p + 16) > 1024) throw new ParseError(`CFFILE ${i}: unterminated name`, p + 16);
    const attributes = dv.getUint16(p + 14, true);
    // _A_NAME_IS_UTF (0x80): UTF-8 name; otherwise the spec leaves the code page open (Latin-1 is the safe reading).
    const name = Buffer.from(bytes.subarray(p + 16, z))
      .toString(attributes & 0x80 ? 'utf8' : 'latin1')
      .replace(/\\/g, '/');
    files.push({ size: dv.getUint32(p, true), offset: dv.getUint32(p + 4, true), folder: dv.getUint16(p + 8, true), attributes, name });
    p = z + 1;
  }
  return { folders, files, dataReserve };
}

/** The uncompressed stream of one folder, block by block ([MS-CAB] §2.4 CFDATA; MSZIP per [MS-MCI]). */
export function readFolder(bytes: Uint8Array, cab: Cabinet, index: number, budget: ExpansionBudget | undefined, uri: string): Uint8Array {
  const f = cab.folders[index];
  if (!f) throw new ParseError(`no folder ${index}`, 0, 'malformed', { uri });
  if (f.compression !== 0 && f.compression !== 1)
    throw new ParseError(
      `folder ${index} uses ${['none', 'MSZIP', 'Quantum', 'LZX'][f.compression] ?? `compression ${f.compression}`}, which is not supported`,
      f.dataOffset,
      'unsupported',
      { uri },
    );
  const dv = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const out: Uint8Array[] = [];
  let total = 0;
  let compressed = 0;
  let window: Uint8Array = new Uint8Array(0);
  let p = f.dataOffset;
  for (let b = 0; b < f.blocks; b++) {
    if (p + 8 > bytes.length) throw new ParseError(`truncated CFDATA ${b} of folder ${index}`, p, 'truncated', { uri });
    const cbData = dv.getUint16(p + 4, true);
    const cbUncomp = dv.getUint16(p + 6, true);
    const start = p + 8 + cab.dataReserve;
    if (start + cbData > bytes.length) throw new ParseError(`CFDATA ${b} of folder ${index} runs past the end`, p, 'truncated', { uri });
    if (cbUncomp > MAX_BLOCK_OUTPUT) throw new ParseError(`CFDATA ${b} claims ${cbUncomp} bytes of output (at most 32768)`, p, 'malformed', { uri });
    const data = bytes.subarray(start, start + cbData);
    let block: Uint8Array;
    if (f.compression === 0) block = data;
    else {
      if (data[0] !== 0x43 || data[1] !== 0x4b) throw new ParseError(`MSZIP block ${b} has no "CK" signature`, start, 'malformed', { uri });
      try {
        block = new Uint8Array(inflateRawSync(data.subarray(2), { ...(window.length ? { dictionary: window } : {}), maxOutputLength: MAX_BLOCK_OUTPUT }));
      } catch (e) {
        throw new ParseError(`MSZIP block ${b} does not inflate: ${(e as Error).message}`, start, 'malformed', { uri });
      }
      window = block.length >= MSZIP_WINDOW ? block.subarray(block.length - MSZIP_WINDOW) : concat(window, block).subarray(-MSZIP_WINDOW);
    }
    if (block.length !== cbUncomp) throw new ParseError(`CFDATA ${b} gave ${block.length} bytes, ${cbUncomp} declared`, p, 'malformed', { uri });
    total += block.length;
    compressed += cbData;
    budget?.addExpanded(block.length, uri);
    checkRatio(total, compressed, uri);
    out.push(block);
    p = start + cbData;
  }
  return joined(out);
}

/** Every file of a cabinet held in memory, with its bytes. */
export function cabinetFiles(bytes: Uint8Array, uri: string, budget?: ExpansionBudget): { name: string; bytes?: Uint8Array; problem?: Member['problem'] }[] {
  const cab = parseCabinet(bytes);
  const streams = new Map<number, Uint8Array | Error>();
  const out: { name: string; bytes?: Uint8Array; problem?: Member['problem'] }[] = [];
  for (const file of cab.files) {
    budget?.addEntry(uri);
    let s = streams.get(file.folder);
    if (!s) {
      try {
        s = readFolder(bytes, cab, file.folder, budget, uri);
      } catch (e) {
        if (e instanceof LimitError) throw e;
        s = e as Error;
      }
      streams.set(file.folder, s);
    }
    if (s instanceof Error) {
      out.push({ name: file.name, problem: { code: s instanceof ParseError && s.code === 'unsupported' ? 'unsupported' : 'malformed', message: s.message } });
      continue;
    }
    if (file.offset + file.size > s.length) {
      out.push({ name: file.name, problem: { code: 'malformed', message: "runs past its folder's data" } });
      continue;
    }
    out.push({ name: file.name, bytes: s.subarray(file.offset, file.offset + file.size) });
  }
  return out;
}

async function collect(input: { bytes?: Uint8Array; open(): AsyncIterable<Uint8Array> }, uri: string): Promise<Uint8Array> {
  if (input.bytes) return input.bytes;
  const parts: Uint8Array[] = [];
  let n = 0;
  for await (const c of input.open()) {
    n += c.length;
    if (n > MAX_CABINET_BYTES) throw new LimitError('limit-size', `cabinet larger than ${MAX_CABINET_BYTES} bytes; not opened`, { uri });
    parts.push(c);
  }
  return joined(parts);
}

export const cabHandler: ContainerHandler = {
  kind: 'cab',
  sniff: (head) => isCabinet(head),
  async *members(input, budget) {
    const bytes = await collect(input, input.uri);
    for (const f of cabinetFiles(bytes, input.uri, budget)) {
      yield f.bytes ? { path: f.name, size: f.bytes.length, bytes: f.bytes } : { path: f.name, problem: f.problem };
    }
  },
};
