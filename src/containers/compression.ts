/**
 * Transparent stream decompression (gzip RFC 1952, xz, zstd RFC 8878, bzip2 is not handled) under the expansion
 * budget and the ratio limit: a `.tar.gz` is opened as the tar it holds, a plain `.gz` as the one file it holds.
 * @module
 */
import { createRequire } from 'node:module';
import { Readable } from 'node:stream';
import { createGunzip } from 'node:zlib';
import * as fzstd from 'fzstd';
import { ChunkReader } from './_reader.js';
import { reframeXzWithoutCheck, xzNeedsReframe } from './_xz-check.js';
import { LimitError } from '../errors.js';
import { MAX_ZSTD_WINDOW } from '../limits.js';
import { checkRatio, type ExpansionBudget } from './types.js';

export type Compression = 'gzip' | 'xz' | 'zstd';

export function sniffCompression(head: Uint8Array): Compression | undefined {
  if (head.length >= 3 && head[0] === 0x1f && head[1] === 0x8b && head[2] === 0x08) return 'gzip';
  if (head.length >= 6 && head[0] === 0xfd && head[1] === 0x37 && head[2] === 0x7a && head[3] === 0x58 && head[4] === 0x5a && head[5] === 0x00) return 'xz';
  if (head.length >= 4 && head[0] === 0x28 && head[1] === 0xb5 && head[2] === 0x2f && head[3] === 0xfd) return 'zstd';
  return undefined;
}

/**
 * The compression a media type declares: OCI image-spec layer types (`application/vnd.oci.image.layer.v1.tar+gzip`,
 * `+zstd`, image-spec media-types.md) and Docker's (`application/vnd.docker.image.rootfs.diff.tar.gzip`), and plain
 * `application/gzip`, `application/zstd`, `application/x-xz`.
 */
export function compressionOfMediaType(mediaType: string | undefined): Compression | undefined {
  const mt = (mediaType ?? '').toLowerCase().split(';')[0].trim();
  if (/[+.]gzip$|^application\/(x-)?gzip$/.test(mt)) return 'gzip';
  if (/\+zstd$|^application\/zstd$/.test(mt)) return 'zstd';
  if (/\+xz$|^application\/x-xz$/.test(mt)) return 'xz';
  return undefined;
}

/** The name a decompressed stream goes by: `a.tar.gz` → `a.tar`, `x.tgz` → `x.tar`, `fw.bin.zst` → `fw.bin`. */
export function decompressedName(name: string): string {
  if (/\.(tgz|txz|tzst)$/i.test(name)) return name.replace(/\.t(gz|xz|zst)$/i, '.tar');
  const stripped = name.replace(/\.(gz|gzip|xz|zst|zstd)$/i, '');
  return stripped === name ? `${name}.out` : stripped;
}

/**
 * Decompress `source`, counting every expanded byte against the budget and checking the ratio as output is produced.
 * Every decoder works in bounded steps, so a bomb is stopped after at most one step of output, never after the whole
 * expansion of an input chunk: gzip through zlib's stream (chunkSize output steps, with backpressure inside a chunk),
 * xz through xz-embedded (one output buffer per pull), zstd fed INPUT_STEP bytes at a time with the budget checked on
 * every decoded block (see unzstd). This is the one decompressor for files, archive members and HTTP bodies alike:
 * give it an ExpansionBudget sized to what the caller will hold (an index body, not 4 GiB).
 */
export async function* decompress(kind: Compression, source: AsyncIterable<Uint8Array>, budget: ExpansionBudget, what: string): AsyncIterable<Uint8Array> {
  const count = { compressed: 0, expanded: 0 };
  const account = (n: number) => {
    count.expanded += n;
    budget.addExpanded(n, what);
    checkRatio(count.expanded, count.compressed, what);
  };
  const counted = (async function* () {
    for await (const c of source) {
      // Fed in steps, so the ratio is judged against what the decoder has actually been given.
      for (let i = 0; i < c.length; i += INPUT_STEP) {
        const piece = c.subarray(i, i + INPUT_STEP);
        count.compressed += piece.length;
        yield piece;
      }
    }
  })();
  if (kind === 'zstd') {
    yield* unzstd(counted, account, what);
    return;
  }
  const inner = kind === 'gzip' ? gunzip(counted) : unxz(counted);
  for await (const out of inner) {
    account(out.length);
    yield out;
  }
}

/** Compressed bytes handed to a decoder at once. */
const INPUT_STEP = 64 * 1024;
/** gzip output step (zlib chunkSize). */
const GZIP_STEP = 256 * 1024;
/** Decompressed bytes gunzip may run ahead of its reader. */
const GZIP_READ_AHEAD = 4 * 1024 * 1024;

async function* gunzip(source: AsyncIterable<Uint8Array>): AsyncIterable<Uint8Array> {
  // zlib inflates on the libuv thread pool: with room for GZIP_READ_AHEAD bytes of output it goes on while the engine
  // detects what it already gave (bounded: it pauses when that much is waiting).
  // Transform's own option, passed through by zlib (Node's ZlibOptions type does not list it).
  const z = createGunzip({ chunkSize: GZIP_STEP, ...{ readableHighWaterMark: GZIP_READ_AHEAD } });
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

/**
 * xz-decompress serialises every stream in the process behind one lock held until the stream ends: a member being
 * scanned while its container's xz stream is still open (an .xz inside a .tar.xz) would wait for that lock forever.
 * Each stream therefore gets a module copy of its own (its own WASM instance and lock), taken from a pool of idle
 * copies and returned when the stream closes, so at most as many copies exist as xz streams are open at once.
 */
const require = createRequire(import.meta.url);
const xzPath = require.resolve('xz-decompress');
type XzModule = typeof import('xz-decompress');
const idleXz: XzModule[] = [];

function takeXz(): XzModule {
  const idle = idleXz.pop();
  if (idle) return idle;
  // A fresh evaluation of the package: its classes, WASM instance and lock are its own.
  const cached = require.cache[xzPath];
  delete require.cache[xzPath];
  try {
    return require(xzPath) as XzModule;
  } finally {
    if (cached) require.cache[xzPath] = cached;
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
  const mod = takeXz();
  const reader = new mod.XzReadableStream(web).getReader();
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
    // A stream abandoned early (a bomb stopped by the ratio limit) must be cancelled to free its module's lock.
    if (!done) await reader.cancel().catch(() => undefined);
    reader.releaseLock();
    idleXz.push(mod);
  }
}

/**
 * zstd (RFC 8878) through fzstd, which decodes every complete block of what it is given in one call and allocates the
 * window the frame header asks for (up to 2 GiB), shifting all of it on every block. So: each frame header is read
 * here first and a window (or single-segment content size) above MAX_ZSTD_WINDOW is refused, as zstd itself refuses
 * windows past 2^27 by default; input goes in INPUT_STEP pieces; and the budget and ratio are checked on every decoded
 * block from inside fzstd's callback, whose throw stops the decoder there.
 */
async function* unzstd(source: AsyncIterable<Uint8Array>, account: (n: number) => void, what: string): AsyncIterable<Uint8Array> {
  let out: Uint8Array[] = [];
  const d = new fzstd.Decompress((data) => {
    account(data.length);
    out.push(data);
  });
  const frames = new ZstdFrameGuard(what);
  for await (const c of source) {
    frames.check(c);
    d.push(c);
    for (const o of out) yield o;
    out = [];
  }
  d.push(new Uint8Array(0), true);
  for (const o of out) yield o;
}

/**
 * Follows zstd frame boundaries over the compressed stream without decoding (RFC 8878 §3.1.1: frame header, then
 * blocks whose 3-byte headers give their compressed sizes, then an optional 4-byte checksum; skippable frames carry
 * their length), to judge each frame header before the decoder sees it.
 */
class ZstdFrameGuard {
  private pending = new Uint8Array(0);
  /** Bytes of the current frame's block content (or skippable frame) still to pass before the next header. */
  private skip = 0;
  private state: 'frame' | 'block' | 'checksum' = 'frame';
  private checksum = false;
  /** Lost track (not a zstd frame where one should start): the decoder reports that, nothing more is judged here. */
  private lost = false;

  constructor(private readonly what: string) {}

  check(chunk: Uint8Array): void {
    if (this.lost) return;
    const buf = this.pending.length ? Buffer.concat([this.pending, chunk]) : chunk;
    let p = 0;
    for (;;) {
      if (this.skip > 0) {
        const n = Math.min(this.skip, buf.length - p);
        this.skip -= n;
        p += n;
        if (this.skip > 0) break;
      }
      if (this.state === 'checksum') {
        this.skip = this.checksum ? 4 : 0;
        this.state = 'frame';
        continue;
      }
      if (this.state === 'frame') {
        if (buf.length - p < 5) break;
        const magic = (buf[p] | (buf[p + 1] << 8) | (buf[p + 2] << 16) | (buf[p + 3] << 24)) >>> 0;
        if (magic >>> 4 === 0x184d2a5) {
          // Skippable frame: 4-byte magic, 4-byte length, content.
          if (buf.length - p < 8) break;
          this.skip = (buf[p + 4] | (buf[p + 5] << 8) | (buf[p + 6] << 16) | (buf[p + 7] << 24)) >>> 0;
          p += 8;
          continue;
        }
        if (magic !== 0xfd2fb528) {
          this.lost = true; // not a frame: the decoder says so
          return;
        }
        const fhd = buf[p + 4];
        const singleSegment = (fhd >> 5) & 1;
        const fcsFlag = fhd >> 6;
        const dictBytes = [0, 1, 2, 4][fhd & 3];
        const fcsBytes = fcsFlag ? 1 << fcsFlag : singleSegment;
        const headerLength = 5 + (singleSegment ? 0 : 1) + dictBytes + fcsBytes;
        if (buf.length - p < headerLength) break;
        let window: number;
        if (!singleSegment) {
          const wd = buf[p + 5];
          const base = 2 ** (10 + (wd >> 3));
          window = base + (base / 8) * (wd & 7);
        } else {
          // Single segment: the buffer is the frame content size (§3.1.1.1.4).
          const at = p + 5 + dictBytes;
          window = fcsBytes === 2 ? 256 : 0;
          for (let i = 0; i < fcsBytes; i++) window += buf[at + i] * 2 ** (8 * i);
        }
        if (window > MAX_ZSTD_WINDOW)
          throw new LimitError(
            'limit-size',
            `zstd frame asks for a ${window}-byte ${singleSegment ? 'single-segment buffer' : 'window'}, more than the ${MAX_ZSTD_WINDOW} bytes allowed; not decompressed`,
            { uri: this.what },
          );
        this.checksum = ((fhd >> 2) & 1) === 1;
        p += headerLength;
        this.state = 'block';
        continue;
      }
      // A block header: last flag, type (RLE blocks hold one byte), size.
      if (buf.length - p < 3) break;
      const h = buf[p] | (buf[p + 1] << 8) | (buf[p + 2] << 16);
      const type = (h >> 1) & 3;
      const size = h >>> 3;
      p += 3;
      this.skip = type === 1 ? 1 : size;
      if (h & 1) this.state = 'checksum';
    }
    this.pending = p < buf.length ? new Uint8Array(buf.subarray(p)) : new Uint8Array(0);
  }
}
