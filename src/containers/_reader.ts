/**
 * Pull exact byte counts out of a chunk stream, without buffering more than one chunk ahead. Used by streaming
 * container parsers (tar, ar, cpio) so that members can be handed on as streams and memory stays flat.
 * @module
 */
import { LimitError, ParseError } from '../errors.js';
import { MEMBER_BUFFER_LIMIT } from '../limits.js';
import type { Member } from './types.js';
export class ChunkReader {
  private readonly it: AsyncIterator<Uint8Array>;
  private pending: Uint8Array = new Uint8Array(0);
  private done = false;
  /** Bytes consumed from the underlying stream so far. */
  position = 0;

  constructor(source: AsyncIterable<Uint8Array>) {
    this.it = source[Symbol.asyncIterator]();
  }

  private async fill(): Promise<boolean> {
    if (this.done) return false;
    const r = await this.it.next();
    if (r.done) {
      this.done = true;
      return false;
    }
    this.pending = this.pending.length ? concat(this.pending, r.value) : r.value;
    return true;
  }

  /** Exactly n bytes, or fewer at end of stream. */
  async read(n: number): Promise<Uint8Array> {
    while (this.pending.length < n && (await this.fill()));
    const out = this.pending.subarray(0, Math.min(n, this.pending.length));
    this.pending = this.pending.subarray(out.length);
    this.position += out.length;
    return out;
  }

  /** Discard the next n bytes; returns how many there were. */
  async discard(n: number): Promise<number> {
    let left = n;
    while (left > 0) {
      if (this.pending.length === 0 && !(await this.fill())) break;
      const k = Math.min(left, this.pending.length);
      this.pending = this.pending.subarray(k);
      this.position += k;
      left -= k;
    }
    return n - left;
  }

  /** Stream the next n bytes as chunks (the caller must drain it before reading on). */
  async *take(n: number): AsyncIterable<Uint8Array> {
    let left = n;
    while (left > 0) {
      if (this.pending.length === 0 && !(await this.fill())) return;
      const k = Math.min(left, this.pending.length);
      const chunk = this.pending.subarray(0, k);
      this.pending = this.pending.subarray(k);
      this.position += k;
      left -= k;
      yield chunk;
    }
  }

  async close(): Promise<void> {
    await this.it.return?.();
  }
}

export function concat(a: Uint8Array, b: Uint8Array): Uint8Array {
  const out = new Uint8Array(a.length + b.length);
  out.set(a, 0);
  out.set(b, a.length);
  return out;
}

export async function collect(source: AsyncIterable<Uint8Array>, limit: number, uri: string): Promise<Uint8Array> {
  const parts: Uint8Array[] = [];
  let n = 0;
  for await (const c of source) {
    n += c.length;
    if (n > limit) throw new LimitError('limit-size', `more than ${limit} bytes`, { uri });
    parts.push(c);
  }
  return parts.length === 1 ? parts[0] : joined(parts);
}

/**
 * The parts in one buffer of its own, copied once (`new Uint8Array(Buffer.concat(parts))` copies twice; a bare
 * Buffer.concat may hand out a slice of Node's shared pool, which a transfer to a worker would take with it).
 */
export function joined(parts: readonly Uint8Array[]): Uint8Array {
  let n = 0;
  for (const p of parts) n += p.length;
  const out = new Uint8Array(n);
  let at = 0;
  for (const p of parts) {
    out.set(p, at);
    at += p.length;
  }
  return out;
}

/**
 * Hand the next `size` bytes of a streaming archive (tar, ar, cpio) over as a member: held as bytes when small
 * enough, else as a one-pass stream the engine drains before asking for the next member. Afterwards whatever was not
 * read, plus `pad` bytes of alignment, is discarded so the next header lines up; an archive that ends early is a
 * truncation error naming the member (`what`).
 */
export async function* emitMember(r: ChunkReader, base: Member, size: number, pad: number, uri: string, what: string): AsyncGenerator<Member> {
  const at = r.position;
  const truncated = (got: number) => new ParseError(`${what} truncated (${got} of ${size} bytes)`, at, 'truncated', { uri });
  if (size <= MEMBER_BUFFER_LIMIT) {
    const bytes = await collect(r.take(size), size, uri);
    if (bytes.length < size) throw truncated(bytes.length);
    await r.discard(pad);
    yield { ...base, bytes };
    return;
  }
  let consumed = 0;
  const stream = (async function* () {
    for await (const c of r.take(size)) {
      consumed += c.length;
      yield c;
    }
  })();
  yield { ...base, stream };
  const rest = size - consumed;
  if ((await r.discard(rest)) < rest) throw truncated(size - rest);
  await r.discard(pad);
}
