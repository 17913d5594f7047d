/**
 * Making the directory a file will go in. Node's `mkdirSync(dir, { recursive: true })` never returns on a path under
 * a pseudo file system that refuses `mkdir` with ENOENT although the parent exists (`/proc/nope/x.db`): it takes
 * ENOENT to mean "the parent is missing", makes the parent (EEXIST), and tries the child again, forever. Here each
 * missing component is made once, oldest first, and the first refusal is thrown with its path.
 * @module
 */
import { mkdirSync, statSync } from 'node:fs';
import { dirname, resolve } from 'node:path';

/** Components above a path we look at before giving up (a path deeper than this is not one a person typed). */
const MAX_MISSING_COMPONENTS = 256;

/** Make `dir` and its missing parents (with `mode`); throws the file system's error (`code`, `path`) on a refusal. */
export function makeDirectory(dir: string, mode?: number): void {
  const missing: string[] = [];
  let p = resolve(dir);
  for (;;) {
    try {
      if (statSync(p).isDirectory()) break;
      throw Object.assign(new Error(`ENOTDIR: not a directory, mkdir '${p}'`), { code: 'ENOTDIR', path: p, syscall: 'mkdir' });
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== 'ENOENT') throw e;
    }
    missing.push(p);
    const parent = dirname(p);
    if (parent === p || missing.length > MAX_MISSING_COMPONENTS) break;
    p = parent;
  }
  for (const d of missing.reverse()) {
    try {
      mkdirSync(d, mode === undefined ? undefined : { mode });
    } catch (e) {
      // Made meanwhile by another process (two scans starting together): fine if it is a directory now.
      if ((e as NodeJS.ErrnoException).code !== 'EEXIST' || !statSync(d).isDirectory()) throw e;
    }
  }
}
