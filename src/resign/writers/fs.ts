/**
 * The local-filesystem writer: sidecars next to files, written so that nothing is ever lost:
 * temp file (O_EXCL) → write → fsync → link(2) to the final name (atomic, and fails if the name exists, so an
 * original is never replaced, unlike rename(2)) → unlink the temp → fsync the directory. A crash at any point
 * leaves the final name absent or complete; a leftover temp from a killed run is swept by the next write.
 * @module
 */
import {
  closeSync,
  fsyncSync,
  linkSync,
  openSync,
  readdirSync,
  readFileSync,
  renameSync,
  statSync,
  unlinkSync,
  writeSync,
  constants,
  existsSync,
} from 'node:fs';
import { open, stat } from 'node:fs/promises';
import { createReadStream } from 'node:fs';
import { basename, dirname, join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { randomBytes } from 'node:crypto';
import { decompress, decompressedName, sniffCompression } from '../../containers/compression.js';
import { ExpansionBudget, sniffContainer, type ContainerInput } from '../../containers/index.js';
import { safeMemberPath } from '../../containers/types.js';
import { ShelflifeError, UsageError } from '../../errors.js';
import { MAX_CONTAINER_DEPTH, MEMBER_BUFFER_LIMIT } from '../../limits.js';
import { MAX_SIDECAR_BYTES, SIDECAR_SUFFIX, type SignatureFormat, type SignatureLocation, type SignatureWriter } from './types.js';

const TEMP_MARK = '.shelflife-tmp-';
/** NAME_MAX on Linux and macOS file systems. */
const MAX_NAME_BYTES = 255;

export interface FileTarget {
  /** The file on disk: the artifact itself, or the outermost archive holding it. */
  path: string;
  /** Member chain inside `path`, outermost first (empty for a plain file). */
  members: string[];
}

/** Split `file:///a/b.tar!/dir/x.pem!/inner` into the file and its member chain. */
export function parseFileUri(uri: string): FileTarget {
  if (!uri.startsWith('file://')) throw new UsageError('not a file:// URI', { uri });
  const parts = uri.split('!/');
  // The file is the longest prefix that exists as a file: a directory may itself contain "!/" in its name.
  for (let i = parts.length; i >= 1; i--) {
    const candidate = parts.slice(0, i).join('!/');
    let path: string;
    try {
      path = fileURLToPath(candidate);
    } catch {
      continue;
    }
    if (i === 1 || existsSync(path)) return { path, members: parts.slice(i) };
  }
  return { path: fileURLToPath(parts[0]), members: parts.slice(1) };
}

/**
 * One path component naming a member sidecar: `<archive>!<member chain>` with every character outside
 * [A-Za-z0-9._~!-] percent-encoded. `/` and `\` become %2F/%5C, so a member path can never climb out of the
 * archive's directory, whatever it holds (`../../etc/passwd` → `fw.tar!..%2F..%2Fetc%2Fpasswd.p7s`).
 */
export function memberSidecarName(archive: string, members: string[], suffix: string): string {
  const chain = members
    .map((m) => m.replace(/[^A-Za-z0-9._~-]/g, (c) => [...Buffer.from(c, 'utf8')].map((b) => `%${b.toString(16).toUpperCase().padStart(2, '0')}`).join('')))
    .join('!');
  return `${basename(archive)}!${chain}${suffix}`;
}

function sidecarPaths(target: FileTarget, format: SignatureFormat): string[] {
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
    if (dirname(p) !== dir || basename(p) !== n) throw new ShelflifeError('path-traversal', `refusing sidecar name ${JSON.stringify(n)}`, { uri: target.path });
    return p;
  });
}

export class FsWriter implements SignatureWriter {
  readonly kind = 'fs';

  handles(uri: string): boolean {
    return uri.startsWith('file://');
  }

  locate(uri: string, format: SignatureFormat): SignatureLocation[] {
    return sidecarPaths(parseFileUri(uri), format).map((p) => ({ uri: pathToFileURL(p).href, address: p }));
  }

  openArtifact(uri: string): AsyncIterable<Uint8Array> {
    const target = parseFileUri(uri);
    if (target.members.length === 0) return fileChunks(target.path);
    return memberStream(uri, target);
  }

  async readExisting(location: SignatureLocation): Promise<Uint8Array | undefined> {
    // Every resign of a target passes here first: clear temps a killed run left beside it.
    sweepTemps(dirname(location.address), basename(location.address));
    let st;
    try {
      st = await stat(location.address);
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
      throw e;
    }
    if (!st.isFile() || st.size > MAX_SIDECAR_BYTES) return Uint8Array.of(); // occupied by something that is not ours
    const fh = await open(location.address, 'r');
    try {
      return new Uint8Array(await fh.readFile());
    } finally {
      await fh.close();
    }
  }

  async write(location: SignatureLocation, bytes: Uint8Array): Promise<void> {
    writeDurably(location.address, bytes);
  }
}

const CHUNK = 1024 * 1024;

/**
 * A file's bytes in 1 MiB chunks through one FileHandle: less per-file overhead than a ReadStream for the many small
 * artifacts of a release tree, and the same one sequential pass for large ones.
 */
/** Files up to this size are read in one synchronous call: ~10 µs, against ~150 µs of thread-pool round trips. */
const SYNC_READ_LIMIT = 64 * 1024;

export async function* fileChunks(path: string): AsyncIterable<Uint8Array> {
  const small = statSync(path);
  if (small.isFile() && small.size <= SYNC_READ_LIMIT) {
    const bytes = readFileSync(path);
    // A file that grew past the limit between stat and read is still returned whole (it is small by construction).
    yield bytes;
    return;
  }
  const fh = await open(path, 'r');
  let pending: Promise<{ bytesRead: number; buffer: Buffer }> | undefined;
  try {
    // Buffers sized to the file (most artifacts in a tree are small: one read, no big allocation), then CHUNK at a
    // time, one read ahead: the next chunk is read by the thread pool while the caller hashes this one.
    let left = (await fh.stat()).size;
    const next = () => {
      // One byte more than expected, so a file that grew since stat() is still read to its end.
      const n = Math.min(CHUNK, left + 1);
      return fh.read(Buffer.allocUnsafe(n), 0, n, null);
    };
    pending = next();
    for (;;) {
      const { bytesRead, buffer } = await pending;
      pending = undefined;
      if (bytesRead === 0) return;
      left = Math.max(0, left - bytesRead);
      pending = next();
      yield buffer.subarray(0, bytesRead);
    }
  } finally {
    await pending?.catch(() => undefined);
    await fh.close();
  }
}

/** The atomic, no-overwrite, durable write described in the module comment. */
export function writeDurably(path: string, bytes: Uint8Array, mode = 0o644): void {
  const dir = dirname(path);
  const name = basename(path);
  sweepTemps(dir, name);
  const temp = join(dir, `.${name}${TEMP_MARK}${randomBytes(6).toString('hex')}`);
  const fd = openSync(temp, constants.O_WRONLY | constants.O_CREAT | constants.O_EXCL, mode);
  try {
    let off = 0;
    while (off < bytes.length) off += writeSync(fd, bytes, off, bytes.length - off);
    fsyncSync(fd);
  } catch (e) {
    closeSync(fd);
    unlinkSync(temp);
    throw e;
  }
  closeSync(fd);
  try {
    linkSync(temp, path);
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    if (code === 'EEXIST') {
      unlinkSync(temp);
      throw new ShelflifeError('resign', 'already exists; not overwritten', { uri: path });
    }
    if (code === 'EPERM' || code === 'ENOTSUP' || code === 'EOPNOTSUPP') {
      // File systems without hard links: check-then-rename (the window is ours alone within one resign run).
      if (existsSync(path)) {
        unlinkSync(temp);
        throw new ShelflifeError('resign', 'already exists; not overwritten', { uri: path });
      }
      renameSync(temp, path);
      fsyncDir(dir);
      return;
    }
    unlinkSync(temp);
    throw e;
  }
  unlinkSync(temp);
  fsyncDir(dir);
}

function fsyncDir(dir: string): void {
  const fd = openSync(dir, 'r');
  try {
    fsyncSync(fd);
  } finally {
    closeSync(fd);
  }
}

/** Remove temps a killed run left for this name (they were never linked, so nothing is lost). */
function sweepTemps(dir: string, name: string): void {
  const prefix = `.${name}${TEMP_MARK}`;
  for (const entry of readdirSync(dir)) if (entry.startsWith(prefix)) unlinkSync(join(dir, entry));
}

// ---------------------------------------------------------------------------------------------------------------
// Members: walk the same container handlers the scan used, and stream the one member asked for.

async function* memberStream(uri: string, target: FileTarget): AsyncIterable<Uint8Array> {
  if (target.members.length > MAX_CONTAINER_DEPTH) throw new ShelflifeError('limit-depth', `nested deeper than ${MAX_CONTAINER_DEPTH}`, { uri });
  const budget = new ExpansionBudget();
  const st = await stat(target.path);
  let input: ContainerInput = {
    uri: pathToFileURL(target.path).href,
    name: basename(target.path),
    size: st.size,
    // Large chunks: per-chunk overhead, not SHA-512 itself, is what separates a streamed hash from openssl dgst.
    open: () => createReadStream(target.path, { highWaterMark: 4 * 1024 * 1024 }) as AsyncIterable<Uint8Array>,
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
    let size = 0;
    for await (const c of memberChunks(input, wanted, budget, uri)) {
      size += c.length;
      if (size > MEMBER_BUFFER_LIMIT)
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

function inMemory(uri: string, name: string, bytes: Uint8Array): ContainerInput {
  return {
    uri,
    name,
    size: bytes.length,
    bytes,
    open: async function* () {
      yield bytes;
    },
    read: async (s, e) => bytes.subarray(s, e),
  };
}

/** The chunks of one member. A generator, so a streaming handler (tar) stays open while the member is consumed. */
async function* memberChunks(input: ContainerInput, wanted: string, budget: ExpansionBudget, uri: string): AsyncIterable<Uint8Array> {
  const head = await readHead(input);
  const compression = sniffCompression(head);
  if (compression) {
    // As the engine does: undo compression, then a tar inside is the container; anything else is one member.
    const chunks: Uint8Array[] = [];
    let size = 0;
    for await (const c of decompress(compression, input.open(), budget, input.uri)) {
      size += c.length;
      if (size > MEMBER_BUFFER_LIMIT) throw new ShelflifeError('limit-size', `decompressed stream larger than ${MEMBER_BUFFER_LIMIT} bytes`, { uri });
      chunks.push(c);
    }
    const bytes = new Uint8Array(Buffer.concat(chunks));
    const innerName = decompressedName(input.name);
    const inner = sniffContainer(bytes.subarray(0, 512), innerName);
    if (!inner || inner.kind === 'zip') {
      if (safeMemberPath(innerName) !== wanted) throw new ShelflifeError('io', `member ${wanted} not found in ${input.uri}`, { uri });
      yield bytes;
      return;
    }
    yield* memberChunks(inMemory(input.uri, innerName, bytes), wanted, budget, uri);
    return;
  }
  const handler = sniffContainer(head, input.name);
  if (!handler) throw new ShelflifeError('io', `${input.uri} is not a container shelflife can open`, { uri });
  for await (const m of handler.members(input, budget)) {
    if (safeMemberPath(m.path) !== wanted) {
      if (m.stream) for await (const _ of m.stream) void _; // a one-pass stream must be drained before the next member
      continue;
    }
    if (m.bytes) yield m.bytes;
    else if (m.stream) yield* m.stream;
    else throw new ShelflifeError('unsupported', `${m.problem?.message ?? 'member has no readable bytes'}`, { uri });
    return;
  }
  throw new ShelflifeError('io', `member ${wanted} not found in ${input.uri}`, { uri });
}

async function readHead(input: ContainerInput): Promise<Uint8Array> {
  if (input.bytes) return input.bytes.subarray(0, 512);
  if (input.read) return input.read(0, 512);
  for await (const c of input.open()) return c.subarray(0, 512);
  return new Uint8Array(0);
}
