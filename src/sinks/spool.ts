/**
 * The on-disk spool: events wait here until their receiver acknowledges them, so a SIEM outage loses nothing.
 * Layout, one directory per sink under the spool root:
 *   sink.json           which sink the events are for: its URL and event format. Never a credential, nor where one
 *                       lives: `sinks flush` takes those only from its own flags or the config (docs/security.md)
 *   <seq>-<scan>.ndjson segments, one per spooled scan: append-only, fsync'd before the scan reports success
 *   state.json          delivery progress: the segment and byte offset acknowledged so far, and the last scan fully
 *                       delivered (for --only-changed); replaced atomically (write, fsync, rename, fsync dir)
 *   rejected.ndjson     events the receiver refused for good (bad data, not an outage), kept for a person to look at
 *   deliver.lock        pid of the process delivering for this sink (one at a time)
 * Reading streams a segment in chunks from the acknowledged offset: memory stays flat in the number of events.
 *
 * Who may write here. What is in the spool is sent: a spool root, sink directory or file that another user owns or
 * may write would let them plant a sink (events to their URL) or events. The root and every entry must belong to the
 * user and not be group- or world-writable, and nothing in a sink directory may be a symbolic link; otherwise the
 * spool is refused with the reason (`SpoolRefused`). Files are opened with O_NOFOLLOW and checked on the open
 * descriptor, so a check cannot be raced by swapping the file. (On platforms without POSIX owners, Windows, the
 * ownership checks are skipped.)
 * @module
 */
import { randomBytes } from 'node:crypto';
import {
  closeSync,
  constants,
  existsSync,
  fstatSync,
  fsyncSync,
  linkSync,
  lstatSync,
  mkdirSync,
  openSync,
  readdirSync,
  readSync,
  renameSync,
  rmSync,
  statSync,
  writeSync,
  type Stats,
} from 'node:fs';
import { makeDirectory } from '../directory.js';
import { homedir } from 'node:os';
import { join } from 'node:path';
import { ShelflifeError } from '../errors.js';
import type { SinkEvent } from '../report/event.js';

/** Longest serialized event accepted into the spool (a hostile artifact cannot make one event unbounded). */
export const MAX_EVENT_BYTES = 64 * 1024;

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

/** A spool (root, sink directory or file) another user could have written: refused, with the reason. */
export class SpoolRefused extends ShelflifeError {
  override readonly name = 'SpoolRefused';
  constructor(
    readonly path: string,
    readonly reason: string,
  ) {
    super(
      'config',
      `${reason}: refusing to use it, since another user could plant sinks or events there (make it yours and not group/world-writable: chown, chmod go-w; or choose another --sink-spool)`,
      { uri: path },
    );
  }
}

/** Why `st` is not private to this user, or undefined when it is. */
function notPrivate(st: Stats): string | undefined {
  const uid = process.getuid?.();
  if (uid === undefined) return undefined; // no POSIX owners here (Windows)
  if (st.uid !== uid) return `owned by uid ${st.uid}, not by you (uid ${uid})`;
  if (st.mode & 0o022) return `writable by ${st.mode & 0o002 ? 'everyone' : 'its group'} (mode ${(st.mode & 0o777).toString(8).padStart(3, '0')})`;
  return undefined;
}

/** Check a directory of the spool (lstat: a symbolic link is refused too, unless `follow` for the root the user named). */
export function checkSpoolDirectory(path: string, follow = false): void {
  const st = follow ? statSync(path) : lstatSync(path);
  if (st.isSymbolicLink()) throw new SpoolRefused(path, 'a symbolic link');
  if (!st.isDirectory()) throw new SpoolRefused(path, 'not a directory');
  const why = notPrivate(st);
  if (why) throw new SpoolRefused(path, why);
}

const NOFOLLOW = constants.O_NOFOLLOW ?? 0;

/** Open a file of the spool without following a link, and check it on the descriptor: a regular file, private. */
function openPrivate(path: string, flags: number, mode = 0o600): number {
  let fd: number;
  try {
    fd = openSync(path, flags | NOFOLLOW, mode);
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ELOOP') throw new SpoolRefused(path, 'a symbolic link');
    throw e;
  }
  const st = fstatSync(fd);
  const why = st.isFile() ? notPrivate(st) : 'not a regular file';
  if (why) {
    closeSync(fd);
    throw new SpoolRefused(path, why);
  }
  return fd;
}

/** Read a whole (small) spool file through openPrivate; undefined when it does not exist. */
export function readPrivateFile(path: string, maxBytes = 1024 * 1024): string | undefined {
  let fd: number;
  try {
    fd = openPrivate(path, constants.O_RDONLY);
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw e;
  }
  try {
    const size = fstatSync(fd).size;
    if (size > maxBytes) throw new ShelflifeError('sink', `larger than ${maxBytes} bytes; not a spool file`, { uri: path });
    const buf = Buffer.alloc(size);
    let n = 0;
    while (n < size) {
      const r = readSync(fd, buf, n, size - n, n);
      if (r === 0) break;
      n += r;
    }
    return buf.toString('utf8', 0, n);
  } finally {
    closeSync(fd);
  }
}

/**
 * The spool root, checked (and made, mode 0700, when `create`): false when it does not exist and need not. The root
 * the user names may be a symbolic link to a directory that is theirs.
 */
export function openSpoolRoot(root: string, create: boolean): boolean {
  if (!existsSync(root)) {
    if (!create) return false;
    makeDirectory(root, 0o700);
  }
  checkSpoolDirectory(root, true);
  return true;
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

function processAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (e) {
    return (e as NodeJS.ErrnoException).code === 'EPERM';
  }
}

export function writeFileDurably(path: string, text: string): void {
  const tmp = `${path}.tmp-${process.pid}-${randomBytes(4).toString('hex')}`;
  const fd = openSync(tmp, constants.O_WRONLY | constants.O_CREAT | constants.O_EXCL | NOFOLLOW, 0o600);
  try {
    writeSync(fd, text);
    fsyncSync(fd);
  } finally {
    closeSync(fd);
  }
  renameSync(tmp, path);
  fsyncDir(join(path, '..'));
}

/**
 * One spooled line and the byte offset just after it in its segment. `event` is parsed when a transport reads it
 * and not kept: a batch in flight holds only its lines, which keeps memory flat.
 */
export interface SpooledEvent {
  readonly line: string;
  readonly event: SinkEvent;
  readonly segment: string;
  readonly end: number;
}

function spooledEvent(line: string, segment: string, end: number, corrupt: () => ShelflifeError): SpooledEvent {
  return {
    line,
    segment,
    end,
    get event(): SinkEvent {
      try {
        return JSON.parse(line) as SinkEvent;
      } catch {
        throw corrupt();
      }
    },
  };
}

export class SinkSpool {
  private constructor(readonly dir: string) {}

  /** The spool of one sink under `root`, made if missing (mode 0700); the root and the directory are checked. */
  static open(dir: string): SinkSpool {
    openSpoolRoot(join(dir, '..'), true);
    try {
      mkdirSync(dir, { mode: 0o700 });
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== 'EEXIST') throw e;
    }
    checkSpoolDirectory(dir);
    return new SinkSpool(dir);
  }

  /**
   * An existing sink directory, checked with everything in it (its root is checked by whoever listed it): each entry
   * must be a regular file of this user that others cannot write. Reads check again on the open descriptor.
   */
  static existing(dir: string): SinkSpool {
    checkSpoolDirectory(dir);
    for (const name of readdirSync(dir)) {
      const path = join(dir, name);
      const st = lstatSync(path);
      if (st.isSymbolicLink()) throw new SpoolRefused(path, 'a symbolic link');
      const why = st.isFile() ? notPrivate(st) : 'not a regular file';
      if (why) throw new SpoolRefused(path, why);
    }
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
    const text = readPrivateFile(p);
    if (text === undefined) return empty;
    try {
      return { ...empty, ...(JSON.parse(text) as Partial<SpoolState>) };
    } catch (e) {
      throw new ShelflifeError('sink', `unreadable spool state: ${(e as Error).message}`, { uri: p, cause: e });
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
    const tmp = join(this.dir, `.partial-${process.pid}-${randomBytes(6).toString('hex')}`);
    const fd = openSync(tmp, 'wx', 0o600);
    let count = 0;
    try {
      let buf = '';
      for (const e of events) {
        const line = JSON.stringify(e);
        if (Buffer.byteLength(line) > MAX_EVENT_BYTES)
          throw new ShelflifeError('sink', `event ${e.id} is larger than ${MAX_EVENT_BYTES} bytes`, { uri: e.artifact.uri });
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
    // Publish under the next sequence number with link(2), which fails if the name exists: two shelflife processes
    // spooling for the same sink at once each get their own segment, and a reader never sees half a scan.
    // Sequence numbers only grow, also past deleted segments: a reused name would sort as already acknowledged.
    try {
      for (let attempt = 0; ; attempt++) {
        const committed = this.state().segment;
        const seq = Math.max(this.segments().at(-1)?.seq ?? 0, committed ? Number(SEGMENT_RE.exec(committed)?.[1] ?? 0) : 0) + 1;
        try {
          linkSync(tmp, join(this.dir, `${String(seq).padStart(12, '0')}-${safeScan}.ndjson`));
          break;
        } catch (e) {
          if ((e as NodeJS.ErrnoException).code !== 'EEXIST' || attempt >= 100) throw e;
        }
      }
    } finally {
      rmSync(tmp, { force: true });
    }
    fsyncDir(this.dir);
    return count;
  }

  /**
   * One delivering process per sink: a lock file holding our pid (a stale lock, whose process is gone, is taken
   * over). Returns a release function, or the pid of the process that holds it.
   */
  lock(): { release: () => void } | { heldBy: number } {
    const path = join(this.dir, 'deliver.lock');
    for (let attempt = 0; attempt < 3; attempt++) {
      try {
        const fd = openSync(path, constants.O_WRONLY | constants.O_CREAT | constants.O_EXCL | NOFOLLOW, 0o600);
        writeSync(fd, String(process.pid));
        closeSync(fd);
        return { release: () => rmSync(path, { force: true }) };
      } catch (e) {
        if ((e as NodeJS.ErrnoException).code !== 'EEXIST') throw e;
      }
      const pid = Number((readPrivateFile(path, 64) ?? '').trim());
      if (Number.isInteger(pid) && pid > 0 && pid !== process.pid && processAlive(pid)) return { heldBy: pid };
      rmSync(path, { force: true });
    }
    throw new ShelflifeError('sink', 'cannot take the delivery lock', { uri: path });
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
    const fd = openPrivate(path, constants.O_RDONLY);
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
          const at = dataStart + lineStart;
          lineStart = i + 1;
          yield spooledEvent(line, name, dataStart + lineStart, () => new ShelflifeError('sink', `corrupt spool line at byte ${at}`, { uri: path }));
        }
        carry = Buffer.from(data.subarray(lineStart));
        carryStart = dataStart + lineStart;
        if (carry.length > MAX_EVENT_BYTES * 2)
          throw new ShelflifeError('sink', `spool line longer than ${MAX_EVENT_BYTES * 2} bytes at byte ${carryStart}`, { uri: path });
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
      const size = lstatSync(join(this.dir, s.name)).size;
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
    const fd = openPrivate(join(this.dir, 'rejected.ndjson'), constants.O_WRONLY | constants.O_APPEND | constants.O_CREAT);
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
