/**
 * Vitest global setup: an S3-compatible server (moto, from the image's python3) on 127.0.0.1. Tests create their own
 * buckets (unique names) and may `POST /moto-api/reset`. When moto cannot be run it provides `available: false` with
 * the reason, and the tests go through requirePrerequisite (test/helpers/prerequisites.ts).
 * @module
 */
import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import type { TestProject } from 'vitest/node';
import { findProgram } from '../helpers/prerequisites.js';
import { freePort } from './registry.js';

export interface S3Info {
  available: boolean;
  reason?: string;
  endpoint: string;
}

declare module 'vitest' {
  export interface ProvidedContext {
    s3: S3Info;
  }
}

export async function startMoto(port: number): Promise<ChildProcess> {
  // `python3` may be a pyenv shim that forks the interpreter: spawn the interpreter itself, so kill() stops moto.
  const python = execFileSync('python3', ['-c', 'import sys; print(sys.executable)'], { encoding: 'utf8' }).trim();
  const child = spawn(python, ['-m', 'moto.server', '-H', '127.0.0.1', '-p', String(port)], { stdio: ['ignore', 'ignore', 'pipe'] });
  let err = '';
  child.stderr?.on('data', (d: Buffer) => {
    if (err.length < 4000) err += d.toString();
  });
  const deadline = Date.now() + 20_000;
  while (Date.now() < deadline) {
    if (child.exitCode !== null) throw new Error(`moto exited (${child.exitCode}): ${err}`);
    try {
      const r = await fetch(`http://127.0.0.1:${port}/moto-api/`);
      if (r.ok) return child;
    } catch {
      /* not yet */
    }
    await new Promise((r) => setTimeout(r, 50));
  }
  child.kill();
  throw new Error(`moto not ready after 20 s: ${err}`);
}

export default async function setup(project: TestProject): Promise<() => Promise<void>> {
  const info: S3Info = { available: false, endpoint: '' };
  const unavailable = (reason: string) => {
    info.reason = `the S3 tests: ${reason}`;
    process.stderr.write(`\n*** test/setup/s3.ts: no S3 server started: ${info.reason}\n\n`);
    project.provide('s3', info);
    return async () => {};
  };
  if (!findProgram('python3')) return unavailable('python3 not installed (the S3 server is moto: python3 -m pip install "moto[server]")');
  try {
    execFileSync('python3', ['-c', 'import moto.server'], { stdio: 'ignore', timeout: 30_000 });
  } catch {
    return unavailable('python3 has no moto (python3 -m pip install "moto[server]")');
  }
  const port = await freePort();
  let child: ChildProcess;
  try {
    child = await startMoto(port);
  } catch (e) {
    return unavailable(`moto did not start: ${(e as Error).message.split('\n')[0]}`);
  }
  info.available = true;
  info.endpoint = `http://127.0.0.1:${port}`;
  project.provide('s3', info);
  return async () => {
    child.kill();
  };
}
