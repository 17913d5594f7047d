/**
 * The local-filesystem writer: sidecars next to files, written so that nothing is ever lost and nothing lands
 * anywhere but the directory that held the scanned file.
 *
 * Where: the artifact is located from what the scan recorded (`local` on the top-level file, `member` and `parent`
 * for archive members), never by decoding its URI, which a member name like `%2e%2e/%2e%2e/victim` would turn into a
 * path elsewhere. A member whose name is absolute or climbs (`..`, also percent-encoded) is never a write target. A
 * member's sidecar is one path component beside its top-level archive (`fw.tar!etc%2Fca.pem.p7s`).
 *
 * How: Node has no openat(2), so the directory is opened (O_DIRECTORY) and its device and inode compared, on the open
 * descriptor, with those the scan recorded; a directory swapped (for a symlink or another directory) since the scan is
 * refused. Every file operation then goes through `/proc/self/fd/<dirfd>/<name>`, which the kernel resolves through
 * the descriptor, not the path: temp file (O_CREAT|O_EXCL|O_NOFOLLOW) → write → fsync → link(2) to the final name
 * (atomic, and fails if the name exists, so an original is never replaced) → unlink the temp → fsync the directory;
 * and the result is checked again on the descriptor. A crash leaves the final name absent or complete; a leftover temp
 * from a killed run is swept by the next write.
 *
 * Residual race (documented in docs/security.md): where /proc is not mounted (not Linux, or a container without it)
 * the writer falls back to the path, re-checking the directory's identity just before and after each operation; a
 * swap inside that window is not detected.
 * @module
 */
import {
  closeSync,
  constants,
  existsSync,
  fstatSync,
  fsyncSync,
  linkSync,
  lstatSync,
  openSync,
  read,
  readdirSync,
  readSync,
  renameSync,
  statSync,
  unlinkSync,
  writeSync,
} from 'node:fs';
import { open } from 'node:fs/promises';
import { randomBytes } from 'node:crypto';
import { basename, dirname, join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { ExpansionBudget, type ContainerInput } from '../../containers/index.js';
import { openContainer } from '../../containers/open.js';
import { isTraversal } from '../../containers/types.js';
import { ShelflifeError, UsageError } from '../../errors.js';
import { MAX_CONTAINER_DEPTH, MEMBER_BUFFER_LIMIT } from '../../limits.js';
import { MAX_SIDECAR_BYTES, SIDECAR_SUFFIX, type SignatureFormat, type SignatureLocation, type SignatureSubject, type SignatureWriter } from './types.js';

const TEMP_MARK = '.shelflife-tmp-';
/** NAME_MAX on Linux and macOS file systems. */
const MAX_NAME_BYTES = 255;

export interface FileTarget {
  /** The file on disk: the artifact itself, or the outermost archive holding it. */
  path: string;
  /** Member chain inside `path`, outermost first (empty for a plain file). */
  members: string[];
  /** `<device>:<inode>` of the directory holding `path` when it was scanned; absent for a user-typed URI (verify). */
  dirId?: string;
}

/** The file and member chain of a scanned artifact, from the scan's records (see SignatureSubject). */
export function targetFromScan(subject: SignatureSubject): FileTarget {
  const top = subject.records[subject.records.length - 1];
  if (!top.local)
    throw new ShelflifeError(
      'resign',
      top.uri === subject.records[0].uri
        ? 'the scan recorded no local file identity for it (reached through a symlink out of the scan root, or scanned by an older shelflife): rescan it'
        : `the scan recorded no local file identity for its archive ${top.uri}: rescan it`,
    );
  const members: string[] = [];
  for (let i = subject.records.length - 2; i >= 0; i--) {
    const r = subject.records[i];
    if (r.member === undefined) throw new ShelflifeError('resign', `the scan recorded no member path for ${r.uri}: rescan it`);
    if (isTraversal(r.member)) throw new ShelflifeError('path-traversal', `member name ${JSON.stringify(r.member)} escapes its archive; never a write target`);
    members.push(r.member);
  }
  return { path: top.local.path, members, dirId: top.local.dirId };
}

/** A `file://` URI a person typed (`shelflife verify file:///a.tar!/dir/x`): the file and its member chain. */
export function parseUserFileUri(uri: string): FileTarget {
  if (!uri.startsWith('file://')) throw new UsageError('not a file:// URI', { uri });
  const parts = uri.split('!/');
  // The file is the longest prefix that exists as a file: a directory may itself contain "!/" in its name.
  for (let i = parts.length; i >= 1; i--) {
    let path: string;
    try {
      path = fileURLToPath(parts.slice(0, i).join('!/'));
    } catch {
      continue;
    }
    if (i === 1 || existsSync(path)) return { path, members: parts.slice(i).map(decodeMemberUriPath) };
  }
  return { path: fileURLToPath(parts[0]), members: parts.slice(1).map(decodeMemberUriPath) };
}

/** The inverse of memberUriPath (src/containers/types.ts). */
function decodeMemberUriPath(s: string): string {
  return s.replace(/%(25|21|5C|2E|2F)/gi, (_, h: string) => String.fromCharCode(parseInt(h, 16)));
}

/**
 * One path component naming a member sidecar: `<archive>!<member chain>` with every character outside
 * [A-Za-z0-9._~-] percent-encoded. `/` and `\` become %2F/%5C, so a member path can never climb out of the
 * archive's directory, whatever it holds (`../../etc/passwd` → `fw.tar!..%2F..%2Fetc%2Fpasswd.p7s`).
 */
export function memberSidecarName(archive: string, members: string[], suffix: string): string {
  const chain = members
    .map((m) => m.replace(/[^A-Za-z0-9._~-]/g, (c) => [...Buffer.from(c, 'utf8')].map((b) => `%${b.toString(16).toUpperCase().padStart(2, '0')}`).join('')))
    .join('!');
  return `${basename(archive)}!${chain}${suffix}`;
}

function sidecarLocations(target: FileTarget, format: SignatureFormat): SignatureLocation[] {
  const suffix = SIDECAR_SUFFIX[format];
  const dir = dirname(target.path);
  const base = target.members.length ? memberSidecarName(target.path, target.members, '') : basename(target.path);
  const names = [`${base}${suffix}`, `${base}.hybrid${suffix === '.p7s' ? '.p7s' : '-2.json'}`];
  return names.map((n) => {
    if (Buffer.byteLength(n) > MAX_NAME_BYTES)
      throw new ShelflifeError('resign', `the sidecar name for member ${target.members.join('!/')} would exceed ${MAX_NAME_BYTES} bytes; not signed`, {
        uri: target.path,
      });
    const p = join(dir, n);
    // Defence in depth: the sidecar is always a direct child of the artifact's directory.
    if (dirname(p) !== dir || basename(p) !== n || n === '.' || n === '..')
      throw new ShelflifeError('path-traversal', `refusing sidecar name ${JSON.stringify(n)}`, { uri: target.path });
    return { uri: pathToFileURL(p).href, address: p, directory: { path: dir, ...(target.dirId ? { id: target.dirId } : {}) } };
  });
}

export class FsWriter implements SignatureWriter {
  readonly kind = 'fs';

  handles(uri: string): boolean {
    return uri.startsWith('file://');
  }

  locate(uri: string, format: SignatureFormat, subject?: SignatureSubject): SignatureLocation[] {
    return sidecarLocations(subject ? targetFromScan(subject) : parseUserFileUri(uri), format);
  }

  openArtifact(uri: string, subject?: SignatureSubject): AsyncIterable<Uint8Array> {
    const target = subject ? targetFromScan(subject) : parseUserFileUri(uri);
    return target.members.length === 0 ? fileChunks(target.path, target.dirId) : memberStream(uri, target);
  }

  async readExisting(location: SignatureLocation): Promise<Uint8Array | undefined> {
    return withDirectory(location, (at) => {
      // Every resign of a target passes here first: clear temps a killed run left beside it.
      sweepTemps(at, basename(location.address));
      let fd: number;
      try {
        // O_NOFOLLOW: a symlink planted at the sidecar's name is "something that is not ours", never followed.
        fd = openSync(at(basename(location.address)), constants.O_RDONLY | constants.O_NOFOLLOW | constants.O_NONBLOCK);
      } catch (e) {
        const code = (e as NodeJS.ErrnoException).code;
        if (code === 'ENOENT') return undefined;
        if (code === 'ELOOP') return Uint8Array.of();
        throw e;
      }
      try {
        const st = fstatSync(fd);
        if (!st.isFile() || st.size > MAX_SIDECAR_BYTES) return Uint8Array.of(); // occupied by something that is not ours
        const buf = Buffer.allocUnsafe(st.size);
        let n = 0;
        for (let r; n < buf.length && (r = readSync(fd, buf, n, buf.length - n, null)) > 0;) n += r;
        return new Uint8Array(buf.subarray(0, n));
      } finally {
        closeSync(fd);
      }
    });
  }

  async write(location: SignatureLocation, bytes: Uint8Array): Promise<void> {
    if (!location.directory?.id)
      throw new ShelflifeError('resign', 'no record of the directory the scan saw; not written (resign writes only beside what it scanned)', {
        uri: location.address,
      });
    withDirectory(location, (at, fd) => writeInDirectory(at, fd, basename(location.address), bytes, 0o644, location.address));
  }
}

/**
 * Open `location`'s directory, check it is the one scanned (device and inode, on the descriptor), and run `fn` with a
 * resolver that names entries through that descriptor.
 */
function withDirectory<T>(location: SignatureLocation, fn: (at: (name: string) => string, fd: number) => T): T {
  const dir = location.directory?.path ?? dirname(location.address);
  const fd = openSync(dir, constants.O_RDONLY | constants.O_DIRECTORY);
  try {
    const id = location.directory?.id;
    if (id) {
      const st = fstatSync(fd, { bigint: true });
      if (`${st.dev}:${st.ino}` !== id)
        throw new ShelflifeError(
          'resign',
          `not the directory the scan saw (device:inode ${st.dev}:${st.ino} now, ${id} then: moved, replaced or swapped for a symlink); nothing written`,
          { uri: dir },
        );
    }
    return fn(resolverFor(dir, fd, id), fd);
  } finally {
    closeSync(fd);
  }
}

/** Names inside the directory held open as `fd`: through /proc/self/fd where it exists, else by path, re-checked. */
function resolverFor(dir: string, fd: number, id: string | undefined): (name: string) => string {
  const viaFd = `/proc/self/fd/${fd}`;
  if (existsSync(viaFd)) return (name) => `${viaFd}/${name}`;
  return (name) => {
    if (id) {
      const st = statSync(dir, { bigint: true });
      if (`${st.dev}:${st.ino}` !== id) throw new ShelflifeError('resign', 'changed while being written to; stopped', { uri: dir });
    }
    return join(dir, name);
  };
}

const CHUNK = 1024 * 1024;
/** Files up to this size are read in one synchronous call: ~10 µs, against ~150 µs of thread-pool round trips. */
const SYNC_READ_LIMIT = 64 * 1024;

/**
 * A file's bytes, read through its directory checked as above when `dirId` is known: a small file in synchronous
 * reads (~10 µs, against ~150 µs of thread-pool round trips), a larger one in 1 MiB chunks with one read ahead (the
 * thread pool reads the next while the caller hashes this one). Read to its end, even if it grew since listed.
 */
export async function* fileChunks(path: string, dirId?: string): AsyncIterable<Uint8Array> {
  const name = basename(path);
  const fd = withDirectory({ uri: '', address: path, directory: { path: dirname(path), ...(dirId ? { id: dirId } : {}) } }, (at) =>
    openSync(at(name), constants.O_RDONLY | constants.O_NONBLOCK),
  );
  let pending: Promise<{ bytesRead: number; buffer: Buffer }> | undefined;
  try {
    const st = fstatSync(fd);
    if (!st.isFile()) throw new ShelflifeError('resign', 'not a regular file any more; not read', { uri: path });
    if (st.size <= SYNC_READ_LIMIT) {
      for (;;) {
        const buf = Buffer.allocUnsafe(st.size + 1);
        const n = readSync(fd, buf, 0, buf.length, null);
        if (n === 0) return;
        yield buf.subarray(0, n);
      }
    }
    const next = () => readAsync(fd, CHUNK);
    pending = next();
    for (;;) {
      const { bytesRead, buffer } = await pending;
      pending = undefined;
      if (bytesRead === 0) return;
      pending = next();
      yield buffer.subarray(0, bytesRead);
    }
  } finally {
    await pending?.catch(() => undefined);
    closeSync(fd);
  }
}

function readAsync(fd: number, n: number): Promise<{ bytesRead: number; buffer: Buffer }> {
  return new Promise((resolve, reject) =>
    read(fd, Buffer.allocUnsafe(n), 0, n, null, (err, bytesRead, buffer) => (err ? reject(err) : resolve({ bytesRead, buffer }))),
  );
}

/** The atomic, no-overwrite, durable write described in the module comment, for a path the user named (key files). */
export function writeDurably(path: string, bytes: Uint8Array, mode = 0o644): void {
  withDirectory({ uri: '', address: path }, (at, fd) => writeInDirectory(at, fd, basename(path), bytes, mode, path));
}

function writeInDirectory(at: (name: string) => string, dirFd: number, name: string, bytes: Uint8Array, mode: number, shown: string): void {
  sweepTemps(at, name);
  const temp = `.${name}${TEMP_MARK}${randomBytes(6).toString('hex')}`;
  const fd = openSync(at(temp), constants.O_WRONLY | constants.O_CREAT | constants.O_EXCL | constants.O_NOFOLLOW, mode);
  try {
    let off = 0;
    while (off < bytes.length) off += writeSync(fd, bytes, off, bytes.length - off);
    fsyncSync(fd);
  } catch (e) {
    closeSync(fd);
    unlinkSync(at(temp));
    throw e;
  }
  closeSync(fd);
  try {
    linkSync(at(temp), at(name));
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    if (code === 'EEXIST') {
      unlinkSync(at(temp));
      throw new ShelflifeError('resign', 'already exists; not overwritten', { uri: shown });
    }
    if (code === 'EPERM' || code === 'ENOTSUP' || code === 'EOPNOTSUPP') {
      // File systems without hard links: check-then-rename (the window is ours alone within one resign run).
      if (existsSync(at(name))) {
        unlinkSync(at(temp));
        throw new ShelflifeError('resign', 'already exists; not overwritten', { uri: shown });
      }
      renameSync(at(temp), at(name));
      fsyncSync(dirFd);
      return;
    }
    unlinkSync(at(temp));
    throw e;
  }
  unlinkSync(at(temp));
  fsyncSync(dirFd);
  // Checked again after the fact, on the descriptor: the sidecar is a regular file on the directory's device.
  const made = lstatSync(at(name));
  if (!made.isFile() || made.dev !== fstatSync(dirFd).dev)
    throw new ShelflifeError('resign', 'not the file just written; check this directory', { uri: shown });
}

/** Remove temps a killed run left for this name (they were never linked, so nothing is lost). */
function sweepTemps(at: (name: string) => string, name: string): void {
  const prefix = `.${name}${TEMP_MARK}`;
  for (const entry of readdirSync(at('.'))) if (entry.startsWith(prefix)) unlinkSync(at(entry));
}

// ---------------------------------------------------------------------------------------------------------------
// Members: open the same containers the scan opened (src/containers/open.ts) and stream the one member asked for.

async function* memberStream(uri: string, target: FileTarget): AsyncIterable<Uint8Array> {
  if (target.members.length > MAX_CONTAINER_DEPTH) throw new ShelflifeError('limit-depth', `nested deeper than ${MAX_CONTAINER_DEPTH}`, { uri });
  const budget = new ExpansionBudget();
  const size = statSync(target.path).size;
  let input: ContainerInput = {
    uri: pathToFileURL(target.path).href,
    name: basename(target.path),
    size,
    open: () => fileChunks(target.path, target.dirId),
    read: async (start, end) => {
      const fh = await open(target.path, 'r');
      try {
        const buf = Buffer.allocUnsafe(Math.max(0, end - start));
        const { bytesRead } = await fh.read(buf, 0, buf.length, start);
        return buf.subarray(0, bytesRead);
      } finally {
        await fh.close();
      }
    },
  };
  for (let level = 0; level < target.members.length; level++) {
    const wanted = target.members[level];
    if (level === target.members.length - 1) {
      yield* memberChunks(input, wanted, budget, uri);
      return;
    }
    const chunks: Uint8Array[] = [];
    let n = 0;
    for await (const c of memberChunks(input, wanted, budget, uri)) {
      n += c.length;
      if (n > MEMBER_BUFFER_LIMIT)
        throw new ShelflifeError('limit-size', `member ${wanted} is larger than ${MEMBER_BUFFER_LIMIT} bytes and cannot be opened as a container`, { uri });
      chunks.push(c);
    }
    const bytes = new Uint8Array(Buffer.concat(chunks));
    input = {
      uri: `${input.uri}!/${wanted}`,
      name: wanted,
      size: bytes.length,
      bytes,
      open: async function* () {
        yield bytes;
      },
      read: async (s, e) => bytes.subarray(s, e),
    };
  }
}

/** The chunks of one member, matched by its recorded path. A generator, so a streaming handler stays open meanwhile. */
async function* memberChunks(input: ContainerInput, wanted: string, budget: ExpansionBudget, uri: string): AsyncIterable<Uint8Array> {
  const head = await readHead(input);
  const opened = openContainer(input, head, budget);
  if (!opened) throw new ShelflifeError('io', `${input.uri} is not a container shelflife can open`, { uri });
  for await (const m of opened.members) {
    if (m.path !== wanted) {
      if (m.stream) for await (const _ of m.stream) void _; // a one-pass stream must be drained before the next member
      continue;
    }
    if (m.bytes) yield m.bytes;
    else if (m.stream) yield* m.stream;
    else throw new ShelflifeError('unsupported', m.problem?.message ?? 'member has no readable bytes', { uri });
    return;
  }
  throw new ShelflifeError('io', `member ${wanted} not found in ${input.uri}`, { uri });
}

async function readHead(input: ContainerInput): Promise<Uint8Array> {
  if (input.bytes) return input.bytes.subarray(0, 4096);
  if (input.read) return input.read(0, 4096);
  for await (const c of input.open()) return c.subarray(0, 4096);
  return new Uint8Array(0);
}
