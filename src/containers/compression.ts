/**
 * Transparent stream decompression (gzip RFC 1952, xz, zstd RFC 8878, bzip2 is not handled) under the expansion
 * budget and the ratio limit: a `.tar.gz` is opened as the tar it holds, a plain `.gz` as the one file it holds.
 * @module
 */
import { Readable } from 'node:stream';
import { createGunzip } from 'node:zlib';
import * as fzstd from 'fzstd';
import xz from 'xz-decompress';
import { ChunkReader } from './_reader.js';
import { reframeXzWithoutCheck, xzNeedsReframe } from './_xz-check.js';
import { checkRatio, type ExpansionBudget } from './types.js';

export type Compression = 'gzip' | 'xz' | 'zstd';

export function sniffCompression(head: Uint8Array): Compression | undefined {
  if (head.length >= 3 && head[0] === 0x1f && head[1] === 0x8b && head[2] === 0x08) return 'gzip';
  if (head.length >= 6 && head[0] === 0xfd && head[1] === 0x37 && head[2] === 0x7a && head[3] === 0x58 && head[4] === 0x5a && head[5] === 0x00) return 'xz';
  if (head.length >= 4 && head[0] === 0x28 && head[1] === 0xb5 && head[2] === 0x2f && head[3] === 0xfd) return 'zstd';
  return undefined;
}

/** The name a decompressed stream goes by: `a.tar.gz` → `a.tar`, `x.tgz` → `x.tar`, `fw.bin.zst` → `fw.bin`. */
export function decompressedName(name: string): string {
  if (/\.(tgz|txz|tzst)$/i.test(name)) return name.replace(/\.t(gz|xz|zst)$/i, '.tar');
  const stripped = name.replace(/\.(gz|gzip|xz|zst|zstd)$/i, '');
  return stripped === name ? `${name}.out` : stripped;
}

/** Decompress `source`, counting every expanded byte against the budget and checking the ratio as it goes. */
export async function* decompress(kind: Compression, source: AsyncIterable<Uint8Array>, budget: ExpansionBudget, uri: string): AsyncIterable<Uint8Array> {
  let compressed = 0;
  let expanded = 0;
  const counted = (async function* () {
    for await (const c of source) {
      compressed += c.length;
      yield c;
    }
  })();
  const inner = kind === 'gzip' ? gunzip(counted) : kind === 'xz' ? unxz(counted) : unzstd(counted);
  for await (const out of inner) {
    expanded += out.length;
    budget.addExpanded(out.length, uri);
    checkRatio(expanded, compressed, uri);
    yield out;
  }
}

async function* gunzip(source: AsyncIterable<Uint8Array>): AsyncIterable<Uint8Array> {
  const z = createGunzip({ chunkSize: 256 * 1024 });
  const input = Readable.from(source, { objectMode: false });
  input.on('error', (e) => z.destroy(e));
  input.pipe(z);
  try {
    for await (const chunk of z) yield chunk as Uint8Array;
  } finally {
    input.destroy();
    z.destroy();
  }
}

async function* unxz(input: AsyncIterable<Uint8Array>): AsyncIterable<Uint8Array> {
  // The WASM decoder verifies only CRC32/CRC64 checks: a SHA-256-checked stream (rpm's default) is re-framed first.
  const peek = new ChunkReader(input);
  const head = await peek.read(12);
  const rejoined = (async function* () {
    if (head.length) yield head;
    yield* peek.take(Number.MAX_SAFE_INTEGER);
  })();
  const source = xzNeedsReframe(head) ? reframeXzWithoutCheck(rejoined) : rejoined;
  const it = source[Symbol.asyncIterator]();
  const web = new ReadableStream<Uint8Array>({
    async pull(controller) {
      const r = await it.next();
      if (r.done) controller.close();
      else controller.enqueue(r.value);
    },
    async cancel() {
      await it.return?.();
    },
  });
  const reader = new xz.XzReadableStream(web).getReader();
  let done = false;
  try {
    for (;;) {
      const r = await reader.read();
      if (r.done) {
        done = true;
        return;
      }
      yield r.value;
    }
  } finally {
    // xz-decompress serialises every stream in the process behind one lock, freed only when a stream ends, fails or
    // is cancelled: a stream abandoned early (a bomb stopped by the ratio limit) must be cancelled, or the next .xz
    // anywhere in the process waits forever.
    if (!done) await reader.cancel().catch(() => undefined);
    reader.releaseLock();
  }
}

async function* unzstd(source: AsyncIterable<Uint8Array>): AsyncIterable<Uint8Array> {
  let out: Uint8Array[] = [];
  const d = new fzstd.Decompress((data) => {
    out.push(data);
  });
  for await (const c of source) {
    d.push(c);
    for (const o of out) yield o;
    out = [];
  }
  d.push(new Uint8Array(0), true);
  for (const o of out) yield o;
}
