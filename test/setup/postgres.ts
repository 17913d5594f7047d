/**
 * Global setup: a real PostgreSQL 15 (Debian's, in the machine image; `postgresql` in .ci/apt-packages.txt) on
 * 127.0.0.1 for the shared-inventory tests. Runs as the `postgres` user (the server refuses root) in a throwaway data
 * directory. Provides `postgres.url` to tests, or `postgres.reason` when PostgreSQL is not installed or does not start
 * (the tests then go through requirePrerequisite, test/helpers/prerequisites.ts).
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { chmodSync, chownSync, existsSync, mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { TestProject } from 'vitest/node';
import { findProgram } from '../helpers/prerequisites.js';

function pgBin(name: string): string | undefined {
  const root = '/usr/lib/postgresql';
  if (existsSync(root)) {
    for (const v of readdirSync(root).sort().reverse()) if (existsSync(join(root, v, 'bin', name))) return join(root, v, 'bin', name);
  }
  return findProgram(name);
}

async function freePort(): Promise<number> {
  return new Promise((resolve) => {
    const s = createServer().listen(0, '127.0.0.1', () => {
      const port = (s.address() as { port: number }).port;
      s.close(() => resolve(port));
    });
  });
}

let server: ChildProcess | undefined;
let dataDir: string | undefined;

export default async function setup(project: TestProject): Promise<() => Promise<void>> {
  const unavailable = (why: string) => {
    const reason = `the PostgreSQL inventory tests: ${why}`;
    process.stderr.write(`\n*** test/setup/postgres.ts: no PostgreSQL started: ${reason}\n\n`);
    project.provide('postgres', { reason });
    return async () => {};
  };
  const initdb = pgBin('initdb');
  const postgres = pgBin('postgres');
  if (!initdb || !postgres) return unavailable('PostgreSQL is not installed (apt-get install postgresql)');
  const id = spawnSync('id', ['-u', 'postgres'], { encoding: 'utf8' });
  if (id.status !== 0) return unavailable('there is no `postgres` user to run the server as (apt-get install postgresql creates it)');
  const uid = Number(id.stdout.trim());
  const gid = Number(spawnSync('id', ['-g', 'postgres'], { encoding: 'utf8' }).stdout.trim());
  dataDir = mkdtempSync(join(tmpdir(), 'shelflife-pg-'));
  chmodSync(dataDir, 0o700);
  chownSync(dataDir, uid, gid);
  const asPostgres = (cmd: string, args: string[]) =>
    (process.getuid?.() === 0 ? ['runuser', ['-u', 'postgres', '--', cmd, ...args]] : [cmd, args]) as [string, string[]];
  const [c1, a1] = asPostgres(initdb, ['-D', join(dataDir, 'data'), '-A', 'trust', '-U', 'shelflife', '--no-sync']);
  const init = spawnSync(c1, a1, { encoding: 'utf8' });
  if (init.status !== 0) {
    rmSync(dataDir, { recursive: true, force: true });
    return unavailable(
      `initdb failed: ${
        String(init.stderr ?? init.error?.message)
          .trim()
          .split('\n')[0]
      }`,
    );
  }
  const port = await freePort();
  const [c2, a2] = asPostgres(postgres, ['-D', join(dataDir, 'data'), '-h', '127.0.0.1', '-p', String(port), '-k', dataDir, '-c', 'fsync=off']);
  // Its own process group: runuser does not pass signals on, so teardown signals the whole group.
  server = spawn(c2, a2, { stdio: 'ignore', detached: true });
  const { default: pg } = await import('pg');
  const url = `postgres://shelflife@127.0.0.1:${port}/postgres`;
  let ready = false;
  for (let i = 0; i < 100 && !ready; i++) {
    const client = new pg.Client({ connectionString: url });
    try {
      await client.connect();
      await client.end();
      ready = true;
    } catch {
      await new Promise((r) => setTimeout(r, 100));
    }
  }
  project.provide('postgres', ready ? { url } : { reason: 'the PostgreSQL inventory tests: the server did not accept connections within 10 s' });
  return async () => {
    if (server?.pid) {
      const exited = new Promise((r) => server!.once('exit', r));
      try {
        process.kill(-server.pid, 'SIGINT'); // postgres: "fast shutdown"
      } catch {
        // already gone
      }
      await Promise.race([exited, new Promise((r) => setTimeout(r, 5000))]);
      server.unref();
    }
    if (dataDir) rmSync(dataDir, { recursive: true, force: true });
  };
}

declare module 'vitest' {
  export interface ProvidedContext {
    /** `url` when the server runs; otherwise `reason` says why not. */
    postgres: { url?: string; reason?: string };
  }
}
