/**
 * Compressed HTTP bodies (index files: `Packages.xz`, `primary.xml.gz`, `firmware.xml.zst`) go through the one
 * decompressor the containers use (src/containers/compression.ts), under its expansion budget and ratio limit, so a
 * body cannot expand past what a file on disk could, and an xz stream that the container path opens opens here too.
 * @module
 */
import { decompress, sniffCompression } from '../containers/compression.js';
import { ExpansionBudget } from '../containers/index.js';
import { ShelflifeError } from '../errors.js';

/** Expanded index documents larger than this are refused. */
export const MAX_INFLATED_BYTES = 512 * 1024 * 1024;

function isBzip2(head: Uint8Array): boolean {
  return head[0] === 0x42 && head[1] === 0x5a && head[2] === 0x68;
}

/**
 * The decompressed chunks of `bytes` (sniffed by magic: gzip, xz, zstd), or `bytes` itself when it is not
 * compressed. bzip2 has no decoder here: an `unsupported` error naming the object.
 */
export function inflateChunks(bytes: Uint8Array, what: string, maxExpanded = MAX_INFLATED_BYTES): AsyncIterable<Uint8Array> {
  const kind = sniffCompression(bytes.subarray(0, 8));
  if (!kind) {
    if (isBzip2(bytes)) throw new ShelflifeError('unsupported', 'bzip2-compressed; no bzip2 decoder (use the .xz/.gz variant)', { uri: what });
    return (async function* () {
      if (bytes.length > maxExpanded) throw new ShelflifeError('limit-size', `${bytes.length} bytes is more than the ${maxExpanded}-byte limit`, { uri: what });
      yield bytes;
    })();
  }
  const inner = decompress(
    kind,
    (async function* () {
      yield bytes;
    })(),
    new ExpansionBudget(maxExpanded),
    what,
  );
  return (async function* () {
    try {
      yield* inner;
    } catch (e) {
      // The decoders' own errors (zlib, xz, zstd) mean the bytes do not decompress: the index is malformed.
      if (e instanceof ShelflifeError) throw e;
      throw new ShelflifeError('malformed', `${kind} data does not decompress: ${(e as Error)?.message ?? String(e)}`, { uri: what, cause: e });
    }
  })();
}

/** The whole decompressed document (see inflateChunks). */
export async function inflate(bytes: Uint8Array, what: string, maxExpanded = MAX_INFLATED_BYTES): Promise<Uint8Array> {
  const parts: Uint8Array[] = [];
  for await (const c of inflateChunks(bytes, what, maxExpanded)) parts.push(c);
  return parts.length === 1 ? parts[0] : new Uint8Array(Buffer.concat(parts));
}
