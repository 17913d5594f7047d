/**
 * A model on local disk, as OpenSSF Model Signing sees it: every regular file under the model directory (or the one
 * file of a single-file model, named `.`), by POSIX path relative to the root. Symbolic links are never followed
 * (the signing tool refuses them unless `allow_symlinks`; here they are listed so the answer can say so), special
 * files are skipped and named. Bounded in count and depth. Files are streamed, never held in memory.
 * @module
 */
import { createReadStream } from 'node:fs';
import { lstat, readdir, readFile, stat } from 'node:fs/promises';
import { basename, join, resolve } from 'node:path';
import { ShelflifeError, UsageError } from '../errors.js';
import { fileUri } from '../sources/fs.js';

/** Files listed in one model; a model directory with more is refused rather than half-read. */
export const MAX_MODEL_FILES = 200_000;
const MAX_DEPTH = 64;
const READ_CHUNK = 1024 * 1024;

export interface ModelFile {
  /** Relative POSIX path (`.` for a single-file model). */
  path: string;
  size: number;
  /** mtime in ms, for change detection (`provenance serve`). */
  mtimeMs: number;
  /** Where the file is when it is not `<model uri><path>` (an OCI layer, an S3 object). */
  uri?: string;
  /**
   * The file's SHA-256 when a digest already pins it (an OCI layer's descriptor, which every read of the blob is
   * held to) or the scan that found the model just read it: SHA-256 manifests then need not read the file again.
   */
  sha256?: string;
  /** The bytes in [start, end), streamed. */
  open(start?: number, end?: number): AsyncIterable<Uint8Array>;
  /** Small files whole (cards, configs); refuses above `limit`. */
  readSmall(limit: number): Promise<Uint8Array>;
}

export interface ModelTree {
  /** The model's URI (file:///… for local models). */
  uri: string;
  /** The model's name: the directory's (or the single file's) base name. */
  name: string;
  /** Directory holding the model's files (the file's directory for a single-file model). */
  dir: string;
  single: boolean;
  files: ModelFile[];
  /** Paths that are symbolic links (not followed) or special files (not read). */
  skipped: { path: string; reason: string }[];
}

export async function readModelTree(target: string): Promise<ModelTree> {
  const abs = resolve(target);
  let st;
  try {
    st = await stat(abs);
  } catch (e) {
    throw new UsageError(`cannot read the model: ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}`, { uri: target });
  }
  if (st.isFile()) {
    const f = localFile(abs, '.', st.size, st.mtimeMs);
    return { uri: fileUri(abs), name: basename(abs), dir: resolve(abs, '..'), single: true, files: [f], skipped: [] };
  }
  if (!st.isDirectory()) throw new UsageError('neither a file nor a directory', { uri: target });
  const files: ModelFile[] = [];
  const skipped: ModelTree['skipped'] = [];
  const walk = async (dir: string, rel: string, depth: number): Promise<void> => {
    if (depth > MAX_DEPTH) {
      skipped.push({ path: rel, reason: `deeper than ${MAX_DEPTH} directories; not read` });
      return;
    }
    const entries = await readdir(dir, { withFileTypes: true });
    entries.sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
    for (const e of entries) {
      const path = rel ? `${rel}/${e.name}` : e.name;
      const full = join(dir, e.name);
      if (e.isSymbolicLink()) skipped.push({ path, reason: 'symbolic link (not followed)' });
      else if (e.isDirectory()) await walk(full, path, depth + 1);
      else if (e.isFile()) {
        if (files.length >= MAX_MODEL_FILES)
          throw new ShelflifeError('limit-entries', `${fileUri(abs)}: more than ${MAX_MODEL_FILES} files; not a model directory shelflife reads`);
        const s = await lstat(full);
        files.push(localFile(full, path, s.size, s.mtimeMs));
      } else skipped.push({ path, reason: 'not a regular file' });
    }
  };
  await walk(abs, '', 0);
  return { uri: fileUri(abs.endsWith('/') ? abs : `${abs}/`), name: basename(abs), dir: abs, single: false, files, skipped };
}

function localFile(full: string, path: string, size: number, mtimeMs: number): ModelFile {
  return {
    path,
    size,
    mtimeMs,
    open: (start = 0, end = size) =>
      end <= start ? (async function* () {})() : (createReadStream(full, { start, end: end - 1, highWaterMark: READ_CHUNK }) as AsyncIterable<Uint8Array>),
    readSmall: async (limit) => {
      if (size > limit) throw new ShelflifeError('limit-size', `${fileUri(full)}: larger than ${limit} bytes; not read as metadata`);
      return new Uint8Array(await readFile(full));
    },
  };
}
