/**
 * Local files and directories. A directory is walked by our own walker (readdir + lstat), because the walk decides
 * things a glob library does not:
 * - only regular files are read; FIFOs, sockets and devices are listed as skipped (reading one blocks or never ends);
 * - a file whose size does not tell the truth (procfs, sysfs and the like report 0 or terabytes) is read up to
 *   PSEUDO_FILE_READ_LIMIT, a regular file up to the size it had when listed, never "until EOF";
 * - `/proc`, `/sys`, `/dev` and any other pseudo file system are not entered unless the target itself is on it;
 * - a symlink that points outside the scan root is listed as skipped, not read, unless `followSymlinks`;
 * - `--include`/`--exclude` globs are compiled with bounded complexity (src/glob.ts) and prune the walk;
 * - a directory that cannot be read is an error on that path, and the walk goes on.
 * Files are opened with O_NONBLOCK (a file swapped for a FIFO after listing cannot block the scan) and O_NOFOLLOW
 * (nor for a symlink), then checked to be a regular file on the open descriptor.
 * Each top-level file records the device and inode of the directory that held it (`local`), which resign checks
 * before writing a signature beside it (src/resign/writers/fs.ts).
 * @module
 */
import { closeSync, constants, fstatSync, openSync, readSync, type Dirent, type Stats } from 'node:fs';
import { lstat, open, readdir, realpath, stat, statfs } from 'node:fs/promises';
import { basename, dirname, join, resolve, sep } from 'node:path';
import { pathToFileURL } from 'node:url';
import { ShelflifeError, UsageError } from '../errors.js';
import { compileGlobs, staticPrefix, type GlobMatcher } from '../glob.js';
import { PSEUDO_FILE_READ_LIMIT } from '../limits.js';
import type { ArtifactResult } from '../model.js';
import type { ArtifactRef, LocalFile, RelatedInfo, SkippedLocation, Source, SourceProblem, WorkUnit } from './types.js';

export interface FsSourceOptions {
  include?: string[];
  exclude?: string[];
  /** Read what symlinks pointing outside the scan root lead to (files, and directories walked in turn). */
  followSymlinks?: boolean;
  /** Directory entries per work unit (units()); FS_UNIT_ENTRIES by default. */
  unitEntries?: number;
}

/** A slice of one directory's entries (sorted by name), walked by a worker without descending (units()). */
interface DirSlice {
  abs: string;
  rel: string;
  outside: boolean;
  from: number;
  /** Exclusive; null: to the end. */
  to: number | null;
}

const READ_CHUNK = 4 * 1024 * 1024;
const PSEUDO_READ_CHUNK = 64 * 1024;
/**
 * Files up to this size (by their lstat) are read with synchronous calls: for a small file the four asynchronous steps
 * (open, fstat, read, close: each a thread-pool round trip and a promise) cost many times the read itself, and a scan
 * of many certificates, keys and signatures is mostly such files. A local read of 64 KiB holds the event loop for
 * microseconds.
 */
const SMALL_FILE = 64 * 1024;
/** lstat calls in flight per directory. */
const STAT_BATCH = 64;
/** Directory entries per work unit of a distributed scan (units()): a few hundred files, tens of ms to seconds. */
export const FS_UNIT_ENTRIES = 256;

/**
 * File systems whose files do not hold stored bytes (statfs(2) f_type, linux/magic.h): their sizes are not the
 * truth and some reads never end or block. Not entered unless the scan target is on one.
 */
const PSEUDO_FS: Record<number, string> = {
  0x9fa0: 'proc',
  0x62656572: 'sysfs',
  0x64626720: 'debugfs',
  0x74726163: 'tracefs',
  0x73636673: 'securityfs',
  0x27e0eb: 'cgroup',
  0x63677270: 'cgroup2',
  0x1cd1: 'devpts',
  0xcafe4a11: 'bpf',
  0x62656570: 'configfs',
  0x6165676c: 'pstore',
  0xde5e81e4: 'efivarfs',
  0x65735543: 'fusectl',
  0x19800202: 'mqueue',
  0xf97cff8c: 'selinuxfs',
  0x42494e4d: 'binfmt_misc',
  0x6e736673: 'nsfs',
};
/** Mount points not entered unless named as the target, whatever file system they hold (/dev is a tmpfs). */
const SYSTEM_DIRS = ['/proc', '/sys', '/dev'];

export function fileUri(path: string): string {
  return pathToFileURL(path).href;
}

/** `<dev>:<ino>` of a directory: what resign compares with the directory it opens before writing into it. */
async function directoryId(path: string): Promise<string> {
  const st = await stat(path, { bigint: true });
  return `${st.dev}:${st.ino}`;
}

interface ReadPlan {
  /** Bytes read at most. */
  cap: number;
  /** A pseudo file system: the size is not the truth, reaching `cap` is reported. */
  pseudo?: string;
}

/**
 * The bytes of a local file, opened so that it cannot block or redirect the read, and read to at most `plan.cap`.
 * `onCap` is told when a pseudo file had more to give.
 */
async function* readLocal(path: string, plan: ReadPlan, follow: boolean, onCap: () => void): AsyncIterable<Uint8Array> {
  if (!plan.pseudo && plan.cap <= SMALL_FILE) {
    const bytes = readSmall(path, plan.cap, follow);
    if (bytes.length) yield bytes;
    return;
  }
  const fh = await openRegular(path, follow);
  try {
    let left = plan.cap;
    for (;;) {
      // Pseudo files get fixed, 8-byte-aligned reads (procfs pagemap refuses others) and one read past the cap, which
      // tells a file that had more from one that ended exactly there.
      const want = plan.pseudo ? PSEUDO_READ_CHUNK : Math.min(READ_CHUNK, left);
      if (want === 0) return;
      const { bytesRead, buffer } = await fh.read(Buffer.allocUnsafe(want), 0, want, null);
      if (bytesRead === 0) return;
      if (bytesRead > left) {
        if (left > 0) yield buffer.subarray(0, left);
        onCap();
        return;
      }
      left -= bytesRead;
      yield buffer.subarray(0, bytesRead);
    }
  } finally {
    await fh.close();
  }
}

/** readLocal for a small file of a real file system: the same checks and the same cut at `cap`, in synchronous calls. */
function readSmall(path: string, cap: number, follow: boolean): Uint8Array {
  const fd = openSync(path, constants.O_RDONLY | constants.O_NONBLOCK | (follow ? 0 : constants.O_NOFOLLOW));
  try {
    const st = fstatSync(fd);
    if (!st.isFile()) throw new ShelflifeError('unsupported', `no longer a regular file (${kindOf(st)}); not read`, { uri: fileUri(path) });
    // The size the walk saw is the cap (a file that grew since is cut there, as readLocal does).
    const buf = Buffer.allocUnsafe(cap);
    let n = 0;
    for (let r; n < cap && (r = readSync(fd, buf, n, cap - n, null)) > 0;) n += r;
    return buf.subarray(0, n);
  } finally {
    closeSync(fd);
  }
}

async function openRegular(path: string, follow: boolean) {
  const fh = await open(path, constants.O_RDONLY | constants.O_NONBLOCK | (follow ? 0 : constants.O_NOFOLLOW));
  const st = await fh.stat().catch(async (e: unknown) => {
    await fh.close();
    throw e;
  });
  if (!st.isFile()) {
    await fh.close();
    throw new ShelflifeError('unsupported', `no longer a regular file (${kindOf(st)}); not read`, { uri: fileUri(path) });
  }
  return fh;
}

/**
 * A second read of a top-level local file the scan listed (a detached signature naming it needs another digest of its
 * bytes: src/scan/coverage.ts), with the safeguards of the first: no symlink, no FIFO, at most one byte more than it
 * had (the caller compares the SHA-256 with the scan's, so a file that changed is never checked as the one scanned).
 */
export function rereadLocal(file: LocalFile, size: number): AsyncIterable<Uint8Array> {
  return readLocal(file.path, { cap: size + 1 }, false, () => {});
}

export function localRef(
  readPath: string,
  name: string,
  st: Stats,
  options: { uriPath?: string; pseudo?: string; local?: LocalFile; follow?: boolean },
): ArtifactRef {
  const plan: ReadPlan = options.pseudo ? { cap: PSEUDO_FILE_READ_LIMIT, pseudo: options.pseudo } : { cap: st.size };
  const follow = options.follow ?? false;
  let capped = false;
  const uri = fileUri(options.uriPath ?? readPath);
  return {
    uri,
    name,
    ...(options.pseudo ? {} : { size: st.size }),
    modified: st.mtime.toISOString(),
    annotations: {},
    reopenable: true,
    ...(options.local ? { local: options.local } : {}),
    open: () =>
      readLocal(readPath, plan, follow, () => {
        capped = true;
      }),
    read: async (start, end) => {
      const fh = await openRegular(readPath, follow);
      try {
        const len = Math.max(0, Math.min(end, plan.cap) - start);
        const buf = Buffer.allocUnsafe(len);
        const { bytesRead } = await fh.read(buf, 0, len, start);
        return buf.subarray(0, bytesRead);
      } finally {
        await fh.close();
      }
    },
    ...(options.pseudo
      ? {
          related: async (): Promise<RelatedInfo> =>
            capped
              ? {
                  errors: [
                    {
                      code: 'limit-size',
                      message: `a file on ${options.pseudo}, whose size is not known in advance: read stopped at ${PSEUDO_FILE_READ_LIMIT} bytes`,
                    },
                  ],
                }
              : {},
        }
      : {}),
  };
}

function kindOf(st: Stats | Dirent): string {
  if (st.isFIFO()) return 'a FIFO';
  if (st.isSocket()) return 'a socket';
  if (st.isCharacterDevice()) return 'a character device';
  if (st.isBlockDevice()) return 'a block device';
  if (st.isDirectory()) return 'a directory';
  if (st.isSymbolicLink()) return 'a symlink';
  return 'not a regular file';
}

function within(root: string, path: string): boolean {
  return path === root || path.startsWith(root === sep ? root : root + sep);
}

interface DirToWalk {
  /** Path as reached from the target (through followed symlinks, if any). */
  abs: string;
  /** Relative to the target, `/`-separated: what globs match. */
  rel: string;
  id: string;
  dev: bigint;
  /** Reached through a symlink out of the root (`followSymlinks`): its files get no `local` (resign will not write there). */
  outside: boolean;
}

export class FsSource implements Source {
  private readonly include?: GlobMatcher;
  private readonly exclude?: GlobMatcher;
  private readonly prefixes?: string[][];
  private readonly fsTypes = new Map<bigint, string | undefined>();

  constructor(
    readonly target: string,
    private readonly options: FsSourceOptions = {},
  ) {
    if (options.include?.length) {
      this.include = compileGlobs(options.include, '--include');
      const prefixes = options.include.map(staticPrefix);
      if (!prefixes.some((p) => p.length === 0)) this.prefixes = prefixes;
    }
    if (options.exclude?.length) this.exclude = compileGlobs(options.exclude, '--exclude');
  }

  /** Nothing held between reads: each file is opened and closed by its own read. */
  async close(): Promise<void> {}

  /** A top-level local file, read again with the safeguards of the first read (rereadLocal). */
  reread(a: ArtifactResult): AsyncIterable<Uint8Array> | undefined {
    return a.local && a.parent === null && a.sha256 ? rereadLocal(a.local, a.size) : undefined;
  }

  async *walk(unit?: WorkUnit): AsyncIterable<ArtifactRef | SourceProblem | SkippedLocation> {
    if (Array.isArray(unit?.part.dirs)) {
      yield* this.walkSlices(unit.part.dirs as DirSlice[]);
      return;
    }
    const root = resolve(this.target);
    let st: Stats;
    try {
      st = await stat(root);
    } catch (e) {
      yield { uri: fileUri(root), code: 'io', message: `${(e as NodeJS.ErrnoException).code ?? (e as Error).message}: cannot read` };
      return;
    }
    if (!st.isFile() && !st.isDirectory()) {
      yield { uri: fileUri(root), skipped: `${kindOf(st)}; not read` };
      return;
    }
    const realRoot = await realpath(root);
    const rootDev = (await stat(root, { bigint: true })).dev;
    if (st.isFile()) {
      // A file named on the command line is scanned even if include globs would not match it.
      const pseudo = await this.pseudoFs(rootDev, root);
      yield localRef(root, basename(root), st, { pseudo, local: { path: root, dirId: await directoryId(dirname(root)) }, follow: true });
      return;
    }
    const rootId = await directoryId(root);
    const stack: DirToWalk[] = [{ abs: root, rel: '', id: rootId, dev: rootDev, outside: false }];
    // Directories entered, by identity: a followed symlink cannot lead the walk round in a loop.
    const entered = new Set<string>([rootId]);
    while (stack.length) {
      const dir = stack.pop()!;
      let entries: Dirent[];
      try {
        entries = await readdir(dir.abs, { withFileTypes: true });
      } catch (e) {
        yield {
          uri: fileUri(dir.abs),
          code: 'io',
          message: `${(e as NodeJS.ErrnoException).code ?? (e as Error).message}: cannot read this directory`,
        };
        continue;
      }
      for (let i = 0; i < entries.length; i += STAT_BATCH) {
        const batch = entries.slice(i, i + STAT_BATCH);
        const visits = await Promise.all(batch.map((ent) => this.visit(dir, ent, { realRoot, rootDev, entered })));
        for (const v of visits) {
          if (!v) continue;
          if ('walk' in v) stack.push(v.walk);
          else yield v;
        }
      }
    }
  }

  /**
   * Distributed scans: the directories the walk would enter (the same decisions: excludes, system and pseudo file
   * systems, symlinks, loops), their entries cut into slices of about `unitEntries`, several small directories to a
   * unit. Each worker lists its slices again and reads their files without descending (walkSlices); a directory walked
   * here only to be planned is not read twice by anyone. A target that is not a directory is one unit.
   */
  async *units(): AsyncIterable<WorkUnit> {
    const root = resolve(this.target);
    const st = await stat(root).catch(() => undefined);
    if (!st?.isDirectory()) {
      yield { uri: fileUri(root), part: {} };
      return;
    }
    const size = this.options.unitEntries ?? FS_UNIT_ENTRIES;
    const realRoot = await realpath(root);
    const rootDev = (await stat(root, { bigint: true })).dev;
    const rootId = await directoryId(root);
    const stack: DirToWalk[] = [{ abs: root, rel: '', id: rootId, dev: rootDev, outside: false }];
    const entered = new Set<string>([rootId]);
    let batch: DirSlice[] = [];
    let count = 0;
    const flush = (): WorkUnit => {
      const unit = { uri: fileUri(batch[0].abs), part: { dirs: batch } };
      batch = [];
      count = 0;
      return unit;
    };
    while (stack.length) {
      const dir = stack.pop()!;
      const slice = { abs: dir.abs, rel: dir.rel, outside: dir.outside };
      let entries: Dirent[];
      try {
        entries = await readdir(dir.abs, { withFileTypes: true });
      } catch {
        // The worker lists it again and reports why it cannot.
        batch.push({ ...slice, from: 0, to: null });
        if (++count >= size) yield flush();
        continue;
      }
      entries.sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
      for (let i = 0; i < entries.length; i += STAT_BATCH) {
        const visits = await Promise.all(entries.slice(i, i + STAT_BATCH).map((ent) => this.visit(dir, ent, { realRoot, rootDev, entered })));
        for (const v of visits) if (v && 'walk' in v) stack.push(v.walk);
      }
      for (let from = 0; from < Math.max(entries.length, 1);) {
        const to = Math.min(entries.length, from + size - count);
        batch.push({ ...slice, from, to: to >= entries.length ? null : to });
        count += Math.max(to - from, 1);
        from = Math.max(to, from + 1);
        if (count >= size) yield flush();
      }
    }
    if (batch.length) yield flush();
  }

  /** One unit: the entries of each slice, visited as the walk visits them, subdirectories not entered (other units). */
  private async *walkSlices(slices: DirSlice[]): AsyncIterable<ArtifactRef | SourceProblem | SkippedLocation> {
    const root = resolve(this.target);
    const realRoot = await realpath(root);
    const rootDev = (await stat(root, { bigint: true })).dev;
    for (const s of slices) {
      const abs = resolve(s.abs);
      // A unit names directories under its own target only, whatever the queue handed over.
      if (!s.outside && !within(root, abs)) throw new UsageError('work unit names a directory outside the scan target', { uri: fileUri(abs) });
      let entries: Dirent[];
      let st;
      try {
        st = await stat(abs, { bigint: true });
        entries = await readdir(abs, { withFileTypes: true });
      } catch (e) {
        yield { uri: fileUri(abs), code: 'io', message: `${(e as NodeJS.ErrnoException).code ?? (e as Error).message}: cannot read this directory` };
        continue;
      }
      entries.sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
      const dir: DirToWalk = { abs, rel: s.rel, id: `${st.dev}:${st.ino}`, dev: st.dev, outside: s.outside };
      const mine = entries.slice(s.from, s.to ?? undefined);
      for (let i = 0; i < mine.length; i += STAT_BATCH) {
        const visits = await Promise.all(mine.slice(i, i + STAT_BATCH).map((ent) => this.visit(dir, ent, { realRoot, rootDev, entered: new Set() })));
        for (const v of visits) if (v && !('walk' in v)) yield v;
      }
    }
  }

  /** One directory entry: something to yield, a directory to walk, or nothing. */
  private async visit(
    dir: DirToWalk,
    ent: Dirent,
    ctx: { realRoot: string; rootDev: bigint; entered: Set<string> },
  ): Promise<ArtifactRef | SourceProblem | SkippedLocation | { walk: DirToWalk } | undefined> {
    const rel = dir.rel ? `${dir.rel}/${ent.name}` : ent.name;
    const abs = join(dir.abs, ent.name);
    if (this.exclude?.(rel)) return undefined;
    let st: Stats;
    try {
      st = await lstat(abs);
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code === 'ENOENT') return undefined; // gone since readdir
      return { uri: fileUri(abs), code: 'io', message: `${(e as NodeJS.ErrnoException).code ?? (e as Error).message}: cannot stat` };
    }
    if (st.isDirectory()) return this.enter(abs, rel, dir.outside, ctx);
    if (st.isSymbolicLink()) return this.visitLink(dir, abs, rel, ctx);
    if (this.include && !this.include(rel)) return undefined;
    if (!st.isFile()) return { uri: fileUri(abs), skipped: `${kindOf(st)}; not read` };
    const pseudo = await this.pseudoFs(BigInt(st.dev), abs);
    return localRef(abs, rel, st, { pseudo, ...(dir.outside ? {} : { local: { path: abs, dirId: dir.id } }) });
  }

  private async enter(
    abs: string,
    rel: string,
    outside: boolean,
    ctx: { realRoot: string; rootDev: bigint; entered: Set<string> },
  ): Promise<SourceProblem | SkippedLocation | { walk: DirToWalk } | undefined> {
    if (this.exclude?.(`${rel}/`)) return undefined;
    if (this.prefixes && !this.prefixes.some((p) => isPrefixOrUnder(p, rel.split('/')))) return undefined;
    let st;
    try {
      st = await stat(abs, { bigint: true });
    } catch (e) {
      return { uri: fileUri(abs), code: 'io', message: `${(e as NodeJS.ErrnoException).code ?? (e as Error).message}: cannot stat` };
    }
    const id = `${st.dev}:${st.ino}`;
    if (ctx.entered.has(id)) return undefined;
    const real = await realpath(abs).catch(() => abs);
    if (SYSTEM_DIRS.includes(real) && !within(real, ctx.realRoot))
      return { uri: fileUri(abs), skipped: `${real} is a system directory; not entered unless named as the target` };
    if (st.dev !== ctx.rootDev) {
      const pseudo = await this.pseudoFs(st.dev, abs);
      if (pseudo) return { uri: fileUri(abs), skipped: `a ${pseudo} file system; not entered unless named as the target` };
    }
    ctx.entered.add(id);
    return { walk: { abs, rel, id, dev: st.dev, outside } };
  }

  private async visitLink(
    dir: DirToWalk,
    abs: string,
    rel: string,
    ctx: { realRoot: string; rootDev: bigint; entered: Set<string> },
  ): Promise<ArtifactRef | SourceProblem | SkippedLocation | { walk: DirToWalk } | undefined> {
    let target: string;
    try {
      target = await realpath(abs);
    } catch {
      return undefined; // dangling link: nothing to scan
    }
    const inRoot = within(ctx.realRoot, target);
    let t: Stats;
    try {
      t = await stat(target);
    } catch {
      return undefined;
    }
    if (t.isDirectory()) {
      // In-root directories are reached by the walk itself; outside ones only when asked to follow.
      if (inRoot) return undefined;
      if (!this.options.followSymlinks)
        return { uri: fileUri(abs), skipped: `symlink outside the root (to ${target}); not followed (--follow-symlinks reads it)` };
      return this.enter(abs, rel, true, ctx);
    }
    if (this.include && !this.include(rel)) return undefined;
    if (!inRoot && !this.options.followSymlinks)
      return { uri: fileUri(abs), skipped: `symlink outside the root (to ${target}); not followed (--follow-symlinks reads it)` };
    if (!t.isFile()) return { uri: fileUri(abs), skipped: `symlink to ${kindOf(t)} (${target}); not read` };
    const pseudo = await this.pseudoFs(BigInt(t.dev), target);
    // Read from the resolved target (the link cannot be re-pointed between listing and reading), named as the link.
    return localRef(target, rel, t, {
      uriPath: abs,
      pseudo,
      ...(inRoot && !dir.outside ? { local: { path: abs, dirId: dir.id } } : {}),
    });
  }

  /** The pseudo file system a device holds, if any (one statfs per device). */
  private async pseudoFs(dev: bigint, path: string): Promise<string | undefined> {
    if (this.fsTypes.has(dev)) return this.fsTypes.get(dev);
    let type: string | undefined;
    try {
      type = PSEUDO_FS[Number((await statfs(path)).type)];
    } catch (e) {
      // statfs unsupported here, or the entry went away: sizes are believed, as on any regular file system.
      if (!['ENOSYS', 'ENOTSUP', 'EOPNOTSUPP', 'ENOENT', 'EACCES'].includes((e as NodeJS.ErrnoException).code ?? '')) throw e;
      type = undefined;
    }
    this.fsTypes.set(dev, type);
    return type;
  }
}

/** Is `dir` on the way to `prefix` or inside it? (`['etc','ssl']` vs `etc` → on the way; vs `etc/ssl/certs` → inside.) */
function isPrefixOrUnder(prefix: string[], dir: string[]): boolean {
  const n = Math.min(prefix.length, dir.length);
  for (let i = 0; i < n; i++) if (prefix[i] !== dir[i]) return false;
  return true;
}
