/**
 * Global setup: a real PostgreSQL 15 (Debian's, in the machine image; `postgresql` in .ci/apt-packages.txt) on
 * 127.0.0.1 for the shared-inventory tests. Runs as the `postgres` user (the server refuses root) in a throwaway data
 * directory. Provides `postgresUrl` to tests, or nothing (with a loud message) when PostgreSQL is not installed.
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { chmodSync, chownSync, existsSync, mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { TestProject } from 'vitest/node';

function pgBin(name: string): string | undefined {
  const root = '/usr/lib/postgresql';
  if (existsSync(root)) {
    for (const v of readdirSync(root).sort().reverse()) if (existsSync(join(root, v, 'bin', name))) return join(root, v, 'bin', name);
  }
  const w = spawnSync('which', [name], { encoding: 'utf8' });
  return w.status === 0 ? w.stdout.trim() : undefined;
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
  const initdb = pgBin('initdb');
  const postgres = pgBin('postgres');
  const id = spawnSync('id', ['-u', 'postgres'], { encoding: 'utf8' });
  if (!initdb || !postgres || id.status !== 0) {
    console.warn('\n*** PostgreSQL is not installed (apt-get install postgresql): the PostgreSQL inventory tests will SKIP ***\n');
    return async () => {};
  }
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
    console.warn(`\n*** initdb failed, PostgreSQL inventory tests will SKIP: ${init.stderr} ***\n`);
    return async () => {};
  }
  const port = await freePort();
  const [c2, a2] = asPostgres(postgres, ['-D', join(dataDir, 'data'), '-h', '127.0.0.1', '-p', String(port), '-k', dataDir, '-c', 'fsync=off']);
  // Its own process group: runuser does not pass signals on, so teardown signals the whole group.
  server = spawn(c2, a2, { stdio: 'ignore', detached: true });
  const { default: pg } = await import('pg');
  const url = `postgres://shelflife@127.0.0.1:${port}/postgres`;
  for (let i = 0; i < 100; i++) {
    const client = new pg.Client({ connectionString: url });
    try {
      await client.connect();
      await client.end();
      project.provide('postgresUrl', url);
      break;
    } catch {
      await new Promise((r) => setTimeout(r, 100));
    }
  }
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
    postgresUrl?: string;
  }
}
