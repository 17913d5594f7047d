/**
 * Local files and directories. Directories are walked with fast-glob (include/exclude globs relative to the root);
 * symlinks are never followed out of the root; only regular files become artifacts.
 * @module
 */
import { createReadStream } from 'node:fs';
import { lstat, open, readFile, realpath, stat } from 'node:fs/promises';
import { basename, relative, resolve, sep } from 'node:path';
import { pathToFileURL } from 'node:url';
import fg from 'fast-glob';
import type { ArtifactRef, Source, SourceProblem } from './types.js';

export interface FsSourceOptions {
  include?: string[];
  exclude?: string[];
}

const READ_CHUNK = 4 * 1024 * 1024;

export function fileUri(path: string): string {
  return pathToFileURL(path).href;
}

export function fileRef(path: string, name: string, size: number, mtime: Date, uriPath = path): ArtifactRef {
  return {
    uri: fileUri(uriPath),
    name,
    size,
    modified: mtime.toISOString(),
    annotations: {},
    reopenable: true,
    // Small files in one read (most artifacts are certificates and keys); large ones streamed in big chunks.
    open: () =>
      size <= READ_CHUNK
        ? (async function* () {
            yield await readFile(path);
          })()
        : (createReadStream(path, { highWaterMark: READ_CHUNK }) as AsyncIterable<Uint8Array>),
    read: async (start, end) => {
      const fh = await open(path, 'r');
      try {
        const len = Math.max(0, end - start);
        const buf = Buffer.allocUnsafe(len);
        const { bytesRead } = await fh.read(buf, 0, len, start);
        return buf.subarray(0, bytesRead);
      } finally {
        await fh.close();
      }
    },
  };
}

export class FsSource implements Source {
  constructor(
    readonly target: string,
    private readonly options: FsSourceOptions = {},
  ) {}

  /** Nothing held open between reads. */
  async close(): Promise<void> {}

  async *walk(): AsyncIterable<ArtifactRef | SourceProblem> {
    const root = resolve(this.target);
    let st;
    try {
      st = await stat(root);
    } catch (e) {
      yield { uri: fileUri(root), code: 'io', message: `${(e as NodeJS.ErrnoException).code ?? (e as Error).message}: cannot read` };
      return;
    }
    if (st.isFile()) {
      // A file named on the command line is scanned even if include globs would not match it.
      yield fileRef(root, basename(root), st.size, st.mtime);
      return;
    }
    const realRoot = await realpath(root);
    const stream = fg.stream(this.options.include?.length ? this.options.include : ['**/*'], {
      cwd: root,
      ignore: this.options.exclude ?? [],
      dot: true,
      onlyFiles: false,
      followSymbolicLinks: false,
      suppressErrors: true,
      absolute: false,
      // fast-glob lstat()s every entry anyway: take its stats instead of asking again.
      stats: true,
    });
    for await (const item of stream as AsyncIterable<{ path: string; stats?: import('node:fs').Stats }>) {
      const entry = item.path;
      const abs = resolve(root, entry);
      let l = item.stats;
      if (!l) {
        try {
          l = await lstat(abs);
        } catch (e) {
          yield { uri: fileUri(abs), code: 'io', message: `${(e as NodeJS.ErrnoException).code}: cannot stat` };
          continue;
        }
      }
      if (l.isSymbolicLink()) {
        let target: string;
        try {
          target = await realpath(abs);
        } catch {
          continue; // dangling link: nothing to scan
        }
        if (target !== realRoot && !target.startsWith(realRoot + sep)) {
          yield { uri: fileUri(abs), code: 'path-traversal', message: `symlink to ${target} points outside the scan root; not followed` };
          continue;
        }
        const t = await stat(target).catch(() => undefined);
        // In-root links to files are scanned under the link's name; directories are reached by the walk itself.
        if (t?.isFile()) yield fileRef(target, entry, t.size, t.mtime, abs);
        continue;
      }
      if (!l.isFile()) continue;
      yield fileRef(abs, relative(root, abs), l.size, l.mtime);
    }
  }
}
