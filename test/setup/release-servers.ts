/**
 * Release-store trees for the tests: built once per test file by fixtures/gen/release-stores.sh with Debian's tools
 * (reprepro, apt-ftparchive, rpmbuild/rpmsign, createrepo_c, signify-openbsd, minisign), served by an HTTP and an
 * HTTPS fault server on 127.0.0.1 (the HTTPS one with a test CA made here with openssl).
 * @module
 */
import { execFileSync, spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, expect } from 'vitest';
import { missingPrograms, needPrograms } from '../helpers/prerequisites.js';
import { installLoopbackGuard, startFaultServer, type FaultServer } from '../helpers/http-faults.js';

export const RELEASE_TOOLS = [
  'reprepro',
  'python3',
  'apt-ftparchive',
  'dpkg-deb',
  'dpkg-source',
  'ar',
  'rpmbuild',
  'rpmsign',
  'createrepo_c',
  'signify-openbsd',
  'minisign',
  'gpg',
  'openssl',
  'gcab',
  'jcat-tool',
  'xz',
  'mkeficapsule',
];

export function missingReleaseTools(): string[] {
  return missingPrograms(...RELEASE_TOOLS);
}

export interface ReleaseStores {
  root: string;
  http: FaultServer;
  https: FaultServer;
  caFile: string;
  close(): Promise<void>;
}

export async function startReleaseStores(): Promise<ReleaseStores> {
  const dir = mkdtempSync(join(tmpdir(), 'shelflife-release-'));
  const root = join(dir, 'tree');
  execFileSync('bash', [join(import.meta.dirname, '..', '..', 'fixtures', 'gen', 'release-stores.sh'), root], { stdio: ['ignore', 'ignore', 'pipe'] });
  // Test CA and a server certificate for 127.0.0.1 (RFC 5280 §4.2.1.6 iPAddress SAN).
  const ssl = (args: string[]) => execFileSync('openssl', args, { cwd: dir, stdio: ['ignore', 'ignore', 'pipe'] });
  ssl([
    'req',
    '-x509',
    '-newkey',
    'ec',
    '-pkeyopt',
    'ec_paramgen_curve:P-256',
    '-nodes',
    '-keyout',
    'ca.key',
    '-out',
    'ca.pem',
    '-days',
    '2',
    '-subj',
    '/CN=shelflife test CA',
  ]);
  ssl(['req', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256', '-nodes', '-keyout', 'srv.key', '-out', 'srv.csr', '-subj', '/CN=127.0.0.1']);
  writeFileSync(join(dir, 'ext.cnf'), 'subjectAltName=IP:127.0.0.1\nbasicConstraints=CA:FALSE\n');
  ssl(['x509', '-req', '-in', 'srv.csr', '-CA', 'ca.pem', '-CAkey', 'ca.key', '-CAcreateserial', '-out', 'srv.pem', '-days', '2', '-extfile', 'ext.cnf']);
  const http = await startFaultServer(root);
  const https = await startFaultServer(root, { key: readFileSync(join(dir, 'srv.key'), 'utf8'), cert: readFileSync(join(dir, 'srv.pem'), 'utf8') });
  return {
    root,
    http,
    https,
    caFile: join(dir, 'ca.pem'),
    close: async () => {
      await http.close();
      await https.close();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

/**
 * One release-store test file's fixture: the trees built and served over HTTP and HTTPS for the file, a guard that
 * fails the file if anything but 127.0.0.1 was contacted, and the check that the Debian tools are there (in CI their
 * absence fails the file; elsewhere its tests are left out, loudly). `stores` is filled in before the first test.
 */
export function useReleaseStores(
  label: string,
  extraTools: string[] = [],
): { missing: string | false; stores: ReleaseStores; guard: { violations: string[] } } {
  const missing = needPrograms(`[${label}] the release-store tests`, ...new Set([...RELEASE_TOOLS, ...extraTools]));
  const stores = {} as ReleaseStores;
  let installed: ReturnType<typeof installLoopbackGuard> | undefined;
  const guard = { violations: [] as string[] };
  beforeAll(async () => {
    if (missing) return;
    Object.assign(stores, await startReleaseStores());
    installed = installLoopbackGuard();
    guard.violations = installed.violations;
  });
  afterAll(async () => {
    installed?.uninstall();
    await stores.close?.();
    expect(guard.violations).toEqual([]);
  });
  return { missing, stores, guard };
}

/**
 * Python's `http.server` serving `root` on 127.0.0.1: a real server that ignores Range (it answers every GET with 200
 * and the whole file), as some mirrors and proxies do. Needs python3 (in the image; add it to the release tools).
 */
export async function startPythonHttpServer(root: string): Promise<{ url: string; close(): Promise<void> }> {
  const child = spawn('python3', ['-u', '-m', 'http.server', '0', '--bind', '127.0.0.1', '--directory', root], { stdio: ['ignore', 'pipe', 'pipe'] });
  const port = await new Promise<number>((resolve, reject) => {
    let out = '';
    const timer = setTimeout(() => reject(new Error(`python3 -m http.server did not start: ${out}`)), 20_000);
    child.stdout.on('data', (d: Buffer) => {
      out += d.toString();
      const m = out.match(/port (\d+)/);
      if (m) {
        clearTimeout(timer);
        resolve(Number(m[1]));
      }
    });
    child.stderr.resume();
    child.on('exit', (code) => reject(new Error(`python3 -m http.server exited (${code}): ${out}`)));
  });
  return {
    url: `http://127.0.0.1:${port}`,
    close: () =>
      new Promise<void>((r) => {
        if (child.exitCode !== null) return r();
        child.once('exit', () => r());
        child.kill();
      }),
  };
}
