/**
 * Global setup: a real `redis-server` (Debian's; `redis-server` in .ci/apt-packages.txt) on 127.0.0.1 for the
 * distributed-scan tests on BullMQ's Redis backend. No persistence (`--save ''`, no AOF): the queue lives for the run.
 * Provides `redis.url`, or `redis.reason` when the program is missing or does not start (the tests then go through
 * requirePrerequisite, test/helpers/prerequisites.ts). Stopped by PID at teardown.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { connect } from 'node:net';
import type { TestProject } from 'vitest/node';
import { findProgram } from '../helpers/prerequisites.js';
import { freePort } from './registry.js';

/** One PING over RESP: true when the server answers PONG. */
function ping(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const s = connect(port, '127.0.0.1');
    const done = (ok: boolean) => {
      s.destroy();
      resolve(ok);
    };
    s.setTimeout(500, () => done(false));
    s.on('error', () => done(false));
    s.on('connect', () => s.write('PING\r\n'));
    s.on('data', (d) => done(d.toString().startsWith('+PONG')));
  });
}

let server: ChildProcess | undefined;

export default async function setup(project: TestProject): Promise<() => Promise<void>> {
  const unavailable = (why: string) => {
    const reason = `the Redis queue tests: ${why}`;
    process.stderr.write(`\n*** test/setup/redis.ts: no Redis started: ${reason}\n\n`);
    project.provide('redis', { reason });
    return async () => {};
  };
  const program = findProgram('redis-server');
  if (!program) return unavailable('redis-server is not installed (apt-get install redis-server)');
  const port = await freePort();
  server = spawn(program, ['--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no', '--maxmemory-policy', 'noeviction'], {
    stdio: 'ignore',
  });
  let ready = false;
  for (let i = 0; i < 100 && !ready && server.exitCode === null; i++) {
    ready = await ping(port);
    if (!ready) await new Promise((r) => setTimeout(r, 100));
  }
  if (!ready) {
    server.kill('SIGKILL');
    return unavailable('redis-server did not answer PING within 10 s');
  }
  project.provide('redis', { url: `redis://127.0.0.1:${port}` });
  return async () => {
    if (server?.pid && server.exitCode === null) {
      const exited = new Promise((r) => server!.once('exit', r));
      server.kill('SIGTERM');
      await Promise.race([exited, new Promise((r) => setTimeout(r, 5000))]);
    }
  };
}

declare module 'vitest' {
  export interface ProvidedContext {
    /** `url` when the server runs; otherwise `reason` says why not. */
    redis: { url?: string; reason?: string };
  }
}
