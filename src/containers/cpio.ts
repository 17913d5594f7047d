/**
 * cpio archives, read as a stream: SVR4 "newc" (`070701`), its CRC variant (`070702`), POSIX.1 portable/odc
 * (`070707`, octal) and, inside RPM payloads only, rpm's stripped header (`07070X` + file index, rpm format_v6.md),
 * whose names and sizes come from the RPM header. Terminated by the `TRAILER!!!` entry.
 * @module
 */
import { ParseError } from '../errors.js';
import { ChunkReader, emitMember } from './_reader.js';
import type { ContainerHandler, ContainerInput, ExpansionBudget, Member } from './types.js';

const NEWC_HEADER = 110;
const ODC_HEADER = 76;
/** PATH_MAX-ish: a longer name is hostile. */
const MAX_NAME = 4096;
const S_IFMT = 0o170000;
const S_IFREG = 0o100000;

export const cpioHandler: ContainerHandler = {
  kind: 'cpio',
  sniff: (head) => {
    if (head.length < 6) return false;
    const m = Buffer.from(head.subarray(0, 6)).toString('latin1');
    return m === '070701' || m === '070702' || m === '070707';
  },
  members: (input, budget) => cpioMembers(input, budget),
};

/** Resolves rpm's stripped entries (`07070X` + index) to the file's path and size recorded in the RPM header. */
export type StrippedResolver = (index: number) => { path: string; size: number } | undefined;

function hex(b: Uint8Array, start: number, len: number, what: string, uri: string, at: number): number {
  const s = Buffer.from(b.subarray(start, start + len)).toString('latin1');
  if (!/^[0-9A-Fa-f]+$/.test(s)) throw new ParseError(`bad cpio ${what} field "${s}" at offset ${at}`, at, 'malformed', { uri });
  return parseInt(s, 16);
}

function octal(b: Uint8Array, start: number, len: number, what: string, uri: string, at: number): number {
  const s = Buffer.from(b.subarray(start, start + len)).toString('latin1');
  if (!/^[0-7]+$/.test(s)) throw new ParseError(`bad cpio ${what} field "${s}" at offset ${at}`, at, 'malformed', { uri });
  return parseInt(s, 8);
}

const pad4 = (n: number) => (4 - (n % 4)) % 4;

export async function* cpioMembers(input: ContainerInput, budget: ExpansionBudget, stripped?: StrippedResolver): AsyncIterable<Member> {
  const r = new ChunkReader(input.open());
  try {
    for (;;) {
      const at = r.position;
      const magicBytes = await r.read(6);
      if (magicBytes.length === 0) throw new ParseError('cpio archive ends without a TRAILER!!! entry', at, 'truncated', { uri: input.uri });
      if (magicBytes.length < 6) throw new ParseError(`truncated cpio header at offset ${at}`, at, 'truncated', { uri: input.uri });
      const magic = Buffer.from(magicBytes).toString('latin1');
      let name: string;
      let size: number;
      let mode: number;
      let mtime = 0;
      if (magic === '07070X') {
        if (!stripped) throw new ParseError(`rpm stripped cpio entry outside an RPM payload at offset ${at}`, at, 'malformed', { uri: input.uri });
        const h = await r.read(8);
        if (h.length < 8) throw new ParseError(`truncated cpio header at offset ${at}`, at, 'truncated', { uri: input.uri });
        const index = hex(h, 0, 8, 'file index', input.uri, at);
        await r.discard(pad4(14));
        const file = stripped(index);
        if (!file)
          throw new ParseError(`stripped cpio entry refers to file index ${index}, which the RPM header does not list`, at, 'malformed', { uri: input.uri });
        ({ path: name, size } = file);
        mode = S_IFREG;
      } else if (magic === '070701' || magic === '070702') {
        const h = await r.read(NEWC_HEADER - 6);
        if (h.length < NEWC_HEADER - 6) throw new ParseError(`truncated cpio header at offset ${at}`, at, 'truncated', { uri: input.uri });
        // Fields after the magic, 8 hex digits each: ino mode uid gid nlink mtime filesize devmajor devminor
        // rdevmajor rdevminor namesize check.
        mode = hex(h, 8, 8, 'mode', input.uri, at);
        mtime = hex(h, 40, 8, 'mtime', input.uri, at);
        size = hex(h, 48, 8, 'filesize', input.uri, at);
        const namesize = hex(h, 88, 8, 'namesize', input.uri, at);
        name = await readName(r, namesize, input.uri, at);
        await r.discard(pad4(NEWC_HEADER + namesize));
      } else if (magic === '070707') {
        const h = await r.read(ODC_HEADER - 6);
        if (h.length < ODC_HEADER - 6) throw new ParseError(`truncated cpio header at offset ${at}`, at, 'truncated', { uri: input.uri });
        // dev ino mode uid gid nlink rdev (6 octal digits each), mtime (11), namesize (6), filesize (11); no padding.
        mode = octal(h, 12, 6, 'mode', input.uri, at);
        mtime = octal(h, 42, 11, 'mtime', input.uri, at);
        const namesize = octal(h, 53, 6, 'namesize', input.uri, at);
        size = octal(h, 59, 11, 'filesize', input.uri, at);
        name = await readName(r, namesize, input.uri, at);
      } else {
        throw new ParseError(`bad cpio magic "${magic.replace(/[^\x20-\x7e]/g, '?')}" at offset ${at}`, at, 'malformed', { uri: input.uri });
      }
      const dataPad = magic === '070707' ? 0 : pad4(size);
      if (name === 'TRAILER!!!') return;
      if ((mode & S_IFMT) !== S_IFREG || size === 0) {
        // Directories, symlinks (their target is the data), devices, and hard-link entries without data.
        if ((await r.discard(size + dataPad)) < size) throw new ParseError(`cpio entry ${name} truncated`, at, 'truncated', { uri: input.uri });
        continue;
      }
      budget.addEntry(input.uri);
      budget.addExpanded(size, input.uri);
      const path = name.replace(/^\.\//, '');
      const base: Member = {
        path,
        size,
        ...(mtime > 0 ? { modified: new Date(mtime * 1000).toISOString() } : {}),
      };
      yield* emitMember(r, base, size, dataPad, input.uri, `cpio member ${name}`);
    }
  } finally {
    await r.close();
  }
}

async function readName(r: ChunkReader, namesize: number, uri: string, at: number): Promise<string> {
  if (namesize < 1 || namesize > MAX_NAME) throw new ParseError(`bad cpio name size ${namesize} at offset ${at}`, at, 'malformed', { uri });
  const nb = await r.read(namesize);
  if (nb.length < namesize) throw new ParseError(`truncated cpio name at offset ${at}`, at, 'truncated', { uri });
  return Buffer.from(nb.subarray(0, nb[namesize - 1] === 0 ? namesize - 1 : namesize)).toString('utf8');
}
