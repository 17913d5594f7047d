/**
 * Unix `ar` archives (the common format of POSIX.1 `ar`, with GNU `//` long-name tables and BSD `#1/<len>` names),
 * read as a stream. A Debian binary package is an ar archive (deb(5): `debian-binary`, `control.tar.*`, `data.tar.*`,
 * optional debsig `_gpg<role>` members); its compressed tar members are undone and opened by the engine.
 * @module
 */
import { ParseError } from '../errors.js';
import { ChunkReader, emitMember } from './_reader.js';
import type { ContainerHandler, ContainerInput, ExpansionBudget, Member } from './types.js';

const GLOBAL_MAGIC = '!<arch>\n';
const HEADER = 60;
/** A GNU long-name table bigger than this is hostile, not a real archive index. */
const MAX_NAME_TABLE = 1024 * 1024;

export const arHandler: ContainerHandler = {
  kind: 'ar',
  sniff: (head) =>
    head.length >= 8 + HEADER && Buffer.from(head.subarray(0, 8)).toString('latin1') === GLOBAL_MAGIC && head[8 + 58] === 0x60 && head[8 + 59] === 0x0a,
  members: arMembers,
};

function field(h: Uint8Array, start: number, len: number): string {
  return Buffer.from(h.subarray(start, start + len))
    .toString('latin1')
    .trimEnd();
}

async function* arMembers(input: ContainerInput, budget: ExpansionBudget): AsyncIterable<Member> {
  const r = new ChunkReader(input.open());
  try {
    const magic = await r.read(8);
    if (Buffer.from(magic).toString('latin1') !== GLOBAL_MAGIC) throw new ParseError('not an ar archive', 0, 'malformed', { uri: input.uri });
    let longNames: Uint8Array | undefined;
    for (;;) {
      const at = r.position;
      const h = await r.read(HEADER);
      if (h.length === 0) return;
      if (h.length < HEADER) throw new ParseError(`truncated ar member header at offset ${at}`, at, 'truncated', { uri: input.uri });
      if (h[58] !== 0x60 || h[59] !== 0x0a)
        throw new ParseError(`bad ar member header at offset ${at} (no "\`\\n" terminator)`, at, 'malformed', { uri: input.uri });
      const sizeText = field(h, 48, 10);
      if (!/^\d+$/.test(sizeText)) throw new ParseError(`bad ar member size "${sizeText}" at offset ${at}`, at, 'malformed', { uri: input.uri });
      let size = Number(sizeText);
      const pad = size % 2; // members are aligned to 2 bytes (a "\n" pad byte)
      let name = field(h, 0, 16);
      const mtime = Number(field(h, 16, 12));
      // Symbol tables (GNU "/", "/SYM64/", BSD "__.SYMDEF") hold no content worth scanning.
      if (name === '/' || name === '/SYM64/' || name.startsWith('__.SYMDEF')) {
        await skipExactly(r, size + pad, input.uri, at);
        continue;
      }
      if (name === '//') {
        if (size > MAX_NAME_TABLE) throw new ParseError(`ar long-name table of ${size} bytes is too large`, at, 'malformed', { uri: input.uri });
        longNames = await r.read(size);
        if (longNames.length < size) throw new ParseError('truncated ar long-name table', at, 'truncated', { uri: input.uri });
        await r.discard(pad);
        continue;
      }
      if (/^#1\/\d+$/.test(name)) {
        // BSD: the name is the first <len> bytes of the member data.
        const n = Number(name.slice(3));
        if (n > size || n > 4096) throw new ParseError(`bad BSD ar name length ${n} at offset ${at}`, at, 'malformed', { uri: input.uri });
        const nb = await r.read(n);
        if (nb.length < n) throw new ParseError(`truncated ar member name at offset ${at}`, at, 'truncated', { uri: input.uri });
        name = Buffer.from(nb).toString('utf8').replace(/\0+$/, '');
        size -= n;
      } else if (/^\/\d+$/.test(name)) {
        // GNU: "/<offset>" into the "//" table, names end with "/\n".
        const off = Number(name.slice(1));
        if (!longNames || off >= longNames.length)
          throw new ParseError(`ar long name reference ${name} without a name table`, at, 'malformed', { uri: input.uri });
        let end = longNames.indexOf(0x0a, off);
        if (end < 0) end = longNames.length;
        name = Buffer.from(longNames.subarray(off, end)).toString('utf8').replace(/\/$/, '');
      } else if (name.endsWith('/')) {
        name = name.slice(0, -1); // GNU short names are "/"-terminated
      }
      budget.addEntry(input.uri);
      budget.addExpanded(size, input.uri);
      const base: Member = {
        path: name,
        size,
        ...(mtime > 0 ? { modified: new Date(mtime * 1000).toISOString() } : {}),
        ...(name === '' ? { problem: { code: 'malformed' as const, message: `ar member at offset ${at} has an empty name` } } : {}),
      };
      yield* emitMember(r, base, size, pad, input.uri, `ar member ${name}`);
    }
  } finally {
    await r.close();
  }
}

async function skipExactly(r: ChunkReader, n: number, uri: string, at: number): Promise<void> {
  if ((await r.discard(n)) < n) throw new ParseError(`ar member at offset ${at} is truncated`, at, 'truncated', { uri });
}
