/**
 * Vitest global setup: an S3-compatible server (moto, from the image's python3) on 127.0.0.1. Tests create their own
 * buckets (unique names) and may `POST /moto-api/reset`. Skips loudly when moto cannot be run.
 * @module
 */
import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import type { TestProject } from 'vitest/node';
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
  try {
    execFileSync('python3', ['-c', 'import moto.server'], { stdio: 'ignore' });
  } catch {
    info.reason = 'python3 with moto is not available (pip install "moto[server]")';
    process.stderr.write(`\n*** test/setup/s3.ts: SKIPPING S3 tests: ${info.reason}\n\n`);
    project.provide('s3', info);
    return async () => {};
  }
  const port = await freePort();
  const child = await startMoto(port);
  info.available = true;
  info.endpoint = `http://127.0.0.1:${port}`;
  project.provide('s3', info);
  return async () => {
    child.kill();
  };
}
