/**
 * The one way to open a container, used by the scan engine and by resign's file writer alike: undo compression first
 * and sniff what it held (a `.tar.gz` is the tar inside it, a plain `.gz` is one member named by decompressedName),
 * then let the container's handler yield its members. Every member name is judged here for traversal, whatever the
 * handler, so no container format can slip one through.
 * @module
 */
import { ChunkReader, joined } from './_reader.js';
import { decompress, decompressedName, sniffCompression, type Compression } from './compression.js';
import { sniffContainer } from './index.js';
import { isTraversal, type ContainerHandler, type ContainerInput, type ExpansionBudget, type Member } from './types.js';
import { ShelflifeError } from '../errors.js';
import { MEMBER_BUFFER_LIMIT } from '../limits.js';

export interface OpenedContainer {
  /** `gzip`, `xz`, `zstd` for a compressed stream, else the handler's kind (`tar`, `zip` …). */
  kind: string;
  /** Random access needed (zip, cab): the input must have `bytes` or `read`. */
  randomAccess: boolean;
  members: AsyncIterable<Member>;
}

/** What opening would do, from the head alone: a compression, a container kind, or nothing. */
export function containerKind(head: Uint8Array, name: string): { compression?: Compression; handler?: ContainerHandler } | undefined {
  const compression = sniffCompression(head);
  if (compression) return { compression };
  const handler = sniffContainer(head, name);
  return handler ? { handler } : undefined;
}

/** Handlers that need random access (they read a central directory or tables first). */
const RANDOM_ACCESS = new Set(['zip', 'cab']);

/**
 * Open `input` (whose first bytes are `head`) as a container, or undefined when it is none. The members' one-pass
 * streams must be consumed in order (see Member). Names that would climb out of an extraction root get a
 * `path-traversal` problem.
 */
export function openContainer(input: ContainerInput, head: Uint8Array, budget: ExpansionBudget): OpenedContainer | undefined {
  const k = containerKind(head, input.name);
  if (!k) return undefined;
  if (k.handler) {
    return { kind: k.handler.kind, randomAccess: RANDOM_ACCESS.has(k.handler.kind), members: judged(k.handler.members(input, budget)) };
  }
  return { kind: k.compression!, randomAccess: false, members: judged(decompressedMembers(input, k.compression!, budget)) };
}

async function* decompressedMembers(input: ContainerInput, compression: Compression, budget: ExpansionBudget): AsyncIterable<Member> {
  const stream = decompress(compression, input.open(), budget, input.uri);
  const peek = await peekStream(stream, 512);
  const innerName = decompressedName(input.name);
  const inner = sniffContainer(peek.head, innerName);
  if (!inner || RANDOM_ACCESS.has(inner.kind)) {
    // Not an archive, or one that needs random access: the decompressed bytes are one member.
    const bytes = await collectOrStream(peek.stream, MEMBER_BUFFER_LIMIT);
    yield { path: innerName, ...(bytes instanceof Uint8Array ? { bytes, size: bytes.length } : { stream: bytes }) };
    return;
  }
  let used = false;
  yield* inner.members(
    {
      uri: input.uri,
      name: innerName,
      open: () => {
        if (used) throw new ShelflifeError('unsupported', 'decompressed stream read twice', { uri: input.uri });
        used = true;
        return peek.stream;
      },
    },
    budget,
  );
}

/** Members with a `path-traversal` problem when their names would climb out of an extraction root. */
export async function* judged(members: AsyncIterable<Member>): AsyncIterable<Member> {
  for await (const m of members) {
    if (!m.problem && isTraversal(m.path))
      yield { ...m, problem: { code: 'path-traversal', message: `member name ${JSON.stringify(m.path)} escapes the archive root; recorded, never extracted` } };
    else yield m;
  }
}

async function peekStream(stream: AsyncIterable<Uint8Array>, n: number): Promise<{ head: Uint8Array; stream: AsyncIterable<Uint8Array> }> {
  const r = new ChunkReader(stream);
  const head = await r.read(n);
  const rest = (async function* () {
    if (head.length) yield head;
    for await (const c of r.take(Number.MAX_SAFE_INTEGER)) yield c;
  })();
  return { head, stream: rest };
}

/** Hold the stream in memory when it fits, else hand it on as a stream. */
async function collectOrStream(stream: AsyncIterable<Uint8Array>, limit: number): Promise<Uint8Array | AsyncIterable<Uint8Array>> {
  const it = stream[Symbol.asyncIterator]();
  const parts: Uint8Array[] = [];
  let n = 0;
  for (;;) {
    const r = await it.next();
    if (r.done) return joined(parts);
    parts.push(r.value);
    n += r.value.length;
    if (n > limit) {
      return (async function* () {
        for (const p of parts) yield p;
        for (;;) {
          const x = await it.next();
          if (x.done) return;
          yield x.value;
        }
      })();
    }
  }
}
