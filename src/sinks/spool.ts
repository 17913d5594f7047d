/**
 * The on-disk spool: events wait here until their receiver acknowledges them, so a SIEM outage loses nothing.
 * Layout, one directory per sink under the spool root:
 *   sink.json           what `sinks flush` needs to reach the sink again (URL, format, where the secret lives; never
 *                       the secret itself)
 *   <seq>-<scan>.ndjson segments, one per spooled scan: append-only, fsync'd before the scan reports success
 *   state.json          delivery progress: the segment and byte offset acknowledged so far, and the last scan fully
 *                       delivered (for --only-changed); replaced atomically (write, fsync, rename, fsync dir)
 *   rejected.ndjson     events the receiver refused for good (bad data, not an outage), kept for a person to look at
 * Reading streams a segment in chunks from the acknowledged offset: memory stays flat in the number of events.
 * @module
 */
import { closeSync, existsSync, fsyncSync, mkdirSync, openSync, readdirSync, readFileSync, readSync, renameSync, rmSync, statSync, writeSync } from 'node:fs';
import { homedir } from 'node:os';
import { join } from 'node:path';
import { ShelflifeError } from '../errors.js';
import { MAX_EVENT_BYTES, type SinkEvent } from './event.js';

export function defaultSpoolRoot(): string {
  if (process.env.SHELFLIFE_SPOOL) return process.env.SHELFLIFE_SPOOL;
  const base = process.env.XDG_DATA_HOME || join(homedir(), '.local', 'share');
  return join(base, 'shelflife', 'spool');
}

export interface SpoolState {
  /** Segment file name and byte offset up to which the receiver has acknowledged. */
  segment: string | null;
  offset: number;
  /** The last scan every event of which was acknowledged (the baseline of --only-changed). */
  lastDeliveredScan: string | null;
  lastDeliveredAt: string | null;
  delivered: number;
  rejected: number;
}

const SEGMENT_RE = /^(\d{12})-([A-Za-z0-9._-]{1,128})\.ndjson$/;
const WRITE_CHUNK = 1024 * 1024;
const READ_CHUNK = 1024 * 1024;

function fsyncDir(dir: string): void {
  // Directory fsync makes a new or renamed entry durable (POSIX; a no-op error on platforms that refuse it).
  let fd: number | undefined;
  try {
    fd = openSync(dir, 'r');
    fsyncSync(fd);
  } catch {
    /* not supported here (e.g. Windows) */
  } finally {
    if (fd !== undefined) closeSync(fd);
  }
}

export function writeFileDurably(path: string, text: string): void {
  const tmp = `${path}.tmp-${process.pid}`;
  const fd = openSync(tmp, 'w', 0o600);
  try {
    writeSync(fd, text);
    fsyncSync(fd);
  } finally {
    closeSync(fd);
  }
  renameSync(tmp, path);
  fsyncDir(join(path, '..'));
}

/** One spooled line: the event and the byte offset just after it in its segment. */
export interface SpooledEvent {
  line: string;
  event: SinkEvent;
  segment: string;
  end: number;
}

export class SinkSpool {
  constructor(readonly dir: string) {}

  static open(dir: string): SinkSpool {
    mkdirSync(dir, { recursive: true, mode: 0o700 });
    return new SinkSpool(dir);
  }

  segments(): { name: string; seq: number; scanId: string }[] {
    if (!existsSync(this.dir)) return [];
    return readdirSync(this.dir)
      .map((name) => ({ name, m: SEGMENT_RE.exec(name) }))
      .filter((x): x is { name: string; m: RegExpExecArray } => !!x.m)
      .map(({ name, m }) => ({ name, seq: Number(m[1]), scanId: m[2] }))
      .sort((a, b) => a.seq - b.seq);
  }

  state(): SpoolState {
    const p = join(this.dir, 'state.json');
    const empty: SpoolState = { segment: null, offset: 0, lastDeliveredScan: null, lastDeliveredAt: null, delivered: 0, rejected: 0 };
    if (!existsSync(p)) return empty;
    try {
      return { ...empty, ...(JSON.parse(readFileSync(p, 'utf8')) as Partial<SpoolState>) };
    } catch (e) {
      throw new ShelflifeError('sink', `${p}: unreadable spool state: ${(e as Error).message}`, { cause: e });
    }
  }

  saveState(s: SpoolState): void {
    writeFileDurably(join(this.dir, 'state.json'), `${JSON.stringify(s)}\n`);
  }

  /**
   * Append one scan's events as a new segment and fsync it (and the directory) before returning: once this returns,
   * a crash or an outage cannot lose them. Returns how many events were spooled.
   */
  append(scanId: string, events: Iterable<SinkEvent>): number {
    const safeScan = scanId.replace(/[^A-Za-z0-9._-]/g, '_').slice(0, 128) || 'scan';
    // Sequence numbers only grow, also past deleted segments: a reused name would sort as already acknowledged.
    const committed = this.state().segment;
    const seq = Math.max(this.segments().at(-1)?.seq ?? 0, committed ? Number(SEGMENT_RE.exec(committed)?.[1] ?? 0) : 0) + 1;
    const name = `${String(seq).padStart(12, '0')}-${safeScan}.ndjson`;
    const tmp = join(this.dir, `${name}.partial`);
    const fd = openSync(tmp, 'wx', 0o600);
    let count = 0;
    try {
      let buf = '';
      for (const e of events) {
        const line = JSON.stringify(e);
        if (Buffer.byteLength(line) > MAX_EVENT_BYTES) throw new ShelflifeError('sink', `${e.artifact.uri}: event ${e.id} is larger than ${MAX_EVENT_BYTES} bytes`);
        buf += `${line}\n`;
        count++;
        if (buf.length >= WRITE_CHUNK) {
          writeSync(fd, buf);
          buf = '';
        }
      }
      if (buf) writeSync(fd, buf);
      fsyncSync(fd);
    } catch (e) {
      closeSync(fd);
      rmSync(tmp, { force: true });
      throw e;
    }
    closeSync(fd);
    // The segment appears under its final name only when complete: a reader never sees half a scan.
    renameSync(tmp, join(this.dir, name));
    fsyncDir(this.dir);
    return count;
  }

  /** Events not yet acknowledged, in order, streamed from disk. */
  *pending(): Generator<SpooledEvent> {
    const st = this.state();
    for (const seg of this.segments()) {
      const start = st.segment === seg.name ? st.offset : st.segment !== null && seg.name < st.segment ? Infinity : 0;
      if (start === Infinity) continue;
      yield* this.readSegment(seg.name, start);
    }
  }

  private *readSegment(name: string, start: number): Generator<SpooledEvent> {
    const path = join(this.dir, name);
    const fd = openSync(path, 'r');
    try {
      const buf = Buffer.allocUnsafe(READ_CHUNK);
      let pos = start;
      let carry = Buffer.alloc(0);
      let carryStart = start;
      for (;;) {
        const n = readSync(fd, buf, 0, READ_CHUNK, pos);
        if (n === 0) break;
        pos += n;
        const data = carry.length ? Buffer.concat([carry, buf.subarray(0, n)]) : buf.subarray(0, n);
        const dataStart = carryStart;
        let lineStart = 0;
        for (let i = data.indexOf(10); i >= 0; i = data.indexOf(10, lineStart)) {
          const line = data.toString('utf8', lineStart, i);
          let event: SinkEvent;
          try {
            event = JSON.parse(line) as SinkEvent;
          } catch {
            throw new ShelflifeError('sink', `${path}: corrupt spool line at byte ${dataStart + lineStart}`);
          }
          lineStart = i + 1;
          yield { line, event, segment: name, end: dataStart + lineStart };
        }
        carry = Buffer.from(data.subarray(lineStart));
        carryStart = dataStart + lineStart;
        if (carry.length > MAX_EVENT_BYTES * 2) throw new ShelflifeError('sink', `${path}: spool line longer than ${MAX_EVENT_BYTES * 2} bytes at byte ${carryStart}`);
      }
    } finally {
      closeSync(fd);
    }
  }

  /** Record that everything up to `end` in `segment` was acknowledged, then settle. */
  commit(segment: string, end: number, delivered: number): void {
    const st = this.state();
    st.segment = segment;
    st.offset = end;
    st.delivered += delivered;
    this.saveState(st);
    this.settle();
  }

  /**
   * Walk segments in order and retire the ones fully acknowledged (or empty: a scan with nothing to send still
   * becomes the --only-changed baseline once everything before it is delivered). Stops at the first pending one.
   * The state is made durable before files are removed, so a crash in between only leaves a file that reads as done.
   */
  settle(): void {
    const st = this.state();
    const done: string[] = [];
    for (const s of this.segments()) {
      const size = statSync(join(this.dir, s.name)).size;
      const acknowledged = st.segment !== null && (s.name < st.segment || (s.name === st.segment && st.offset >= size));
      if (!acknowledged && size > 0) break;
      st.lastDeliveredScan = s.scanId;
      st.lastDeliveredAt = new Date().toISOString();
      done.push(s.name);
    }
    if (!done.length) return;
    if (st.segment === null || done[done.length - 1] >= st.segment) {
      st.segment = done[done.length - 1];
      st.offset = Number.MAX_SAFE_INTEGER;
    }
    this.saveState(st);
    for (const name of done) rmSync(join(this.dir, name), { force: true });
  }

  /** Keep events the receiver refused permanently, with the reason, for a person to inspect. */
  reject(items: { line: string; reason: string }[]): void {
    if (!items.length) return;
    const fd = openSync(join(this.dir, 'rejected.ndjson'), 'a', 0o600);
    try {
      writeSync(fd, items.map((r) => `${JSON.stringify({ reason: r.reason.slice(0, 2048), event: JSON.parse(r.line) })}\n`).join(''));
      fsyncSync(fd);
    } finally {
      closeSync(fd);
    }
    const st = this.state();
    st.rejected += items.length;
    this.saveState(st);
  }

  pendingCount(): number {
    let n = 0;
    for (const _ of this.pending()) n++;
    return n;
  }
}
