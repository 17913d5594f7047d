/**
 * RPM packages as containers (rpm.org format.md / format_v6.md): lead, signature header (padded to 8 bytes), main
 * header, then the payload, a cpio archive (newc, or rpm's stripped `07070X` form) compressed with gzip, xz or zstd.
 * The payload is decompressed here under the shared budget and its files become members (`pkg.rpm!/usr/bin/x`).
 * The header signatures themselves are read by the `rpm` detector.
 * @module
 */
import { ParseError, ShelflifeError, errorMessage } from '../errors.js';
import { MEMBER_BUFFER_LIMIT } from '../limits.js';
import { parseRpmHeader, rpmHeaderSize, rpmInts, rpmStrings, RPM_LEAD_MAGIC, RPM_LEAD_SIZE, type RpmHeader } from '../formats/rpm.js';
import { ChunkReader, concat } from './_reader.js';
import { decompress, sniffCompression } from './compression.js';
import { cpioMembers, type StrippedResolver } from './cpio.js';
import type { ContainerHandler, ContainerInput, ExpansionBudget, Member } from './types.js';

export const rpmHandler: ContainerHandler = {
  kind: 'rpm',
  sniff: (head) => head.length >= 4 && RPM_LEAD_MAGIC.every((b, i) => head[i] === b),
  members: rpmMembers,
};

async function readHeader(r: ChunkReader, uri: string, what: string): Promise<RpmHeader> {
  const at = r.position;
  const intro = await r.read(16);
  const size = rpmHeaderSize(intro, at, what);
  if (size > MEMBER_BUFFER_LIMIT) throw new ParseError(`${what} of ${size} bytes is too large`, at, 'malformed', { uri });
  const rest = await r.read(size - 16);
  if (rest.length < size - 16) throw new ParseError(`${what} at offset ${at} is truncated`, at, 'truncated', { uri });
  return parseRpmHeader(concat(intro, rest), 0, what);
}

async function* rpmMembers(input: ContainerInput, budget: ExpansionBudget): AsyncIterable<Member> {
  const r = new ChunkReader(input.open());
  try {
    const lead = await r.read(RPM_LEAD_SIZE);
    if (lead.length < RPM_LEAD_SIZE) throw new ParseError('truncated RPM lead', 0, 'truncated', { uri: input.uri });
    const signature = await readHeader(r, input.uri, 'signature header');
    await r.discard((8 - ((signature.end + RPM_LEAD_SIZE) % 8)) % 8);
    const header = await readHeader(r, input.uri, 'main header');
    const format = rpmStrings(header, 1124)?.[0]?.value ?? 'cpio';
    if (format !== 'cpio') throw new ParseError(`RPM payload format "${format}" is not supported`, r.position, 'unsupported', { uri: input.uri });
    const payloadAt = r.position;
    const head = await r.read(8);
    if (head.length === 0) return; // a header-only package (e.g. rpm --nopayload): nothing to open
    const raw = (async function* () {
      yield head;
      for await (const c of r.take(Number.MAX_SAFE_INTEGER)) yield c;
    })();
    const compression = sniffCompression(head);
    const cpioHead = Buffer.from(head).toString('latin1');
    if (!compression && !cpioHead.startsWith('07070')) {
      const claimed = rpmStrings(header, 1125)?.[0]?.value ?? 'unknown';
      const seen = cpioHead.startsWith('BZh') ? 'bzip2' : head[0] === 0x5d && head[1] === 0x00 ? 'lzma' : undefined;
      throw new ParseError(
        `RPM payload at offset ${payloadAt} is ${seen ? `${seen}-compressed, which is not supported` : `in an unrecognised encoding (the header says "${claimed}")`}`,
        payloadAt,
        'unsupported',
        { uri: input.uri },
      );
    }
    const stream = compression ? decompress(compression, raw, budget, input.uri) : raw;
    // Decompressor failures (zlib, fzstd, xz) are corrupt payloads: say so, naming the compressor and the offset.
    const guarded = (async function* () {
      try {
        yield* stream;
      } catch (e) {
        if (e instanceof ShelflifeError) throw e;
        throw new ParseError(`RPM payload at offset ${payloadAt} (${compression ?? 'uncompressed'}) is corrupt: ${errorMessage(e)}`, payloadAt, 'malformed', {
          uri: input.uri,
        });
      }
    })();
    const payload: ContainerInput = { uri: input.uri, name: `${input.name}.cpio`, open: () => guarded };
    yield* cpioMembers(payload, budget, strippedResolver(header));
  } finally {
    await r.close();
  }
}

/** rpm 6 / large-file payloads name files by header index: BASENAMES (1117), DIRNAMES (1118), DIRINDEXES (1116), sizes. */
function strippedResolver(h: RpmHeader): StrippedResolver {
  let cache: { names: string[]; sizes: number[] } | undefined;
  return (index) => {
    cache ??= {
      names: (() => {
        const base = rpmStrings(h, 1117) ?? [];
        const dirs = rpmStrings(h, 1118) ?? [];
        const idx = rpmInts(h, 1116) ?? [];
        return base.map((b, i) => `${dirs[idx[i]]?.value ?? ''}${b.value}`);
      })(),
      sizes: rpmInts(h, 5008) ?? rpmInts(h, 1028) ?? [],
    };
    const name = cache.names[index];
    const size = cache.sizes[index];
    return name === undefined || size === undefined ? undefined : { path: name.replace(/^\//, ''), size };
  };
}
