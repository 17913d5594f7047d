/**
 * Vitest global setup: three real CNCF distribution registries (Debian's `docker-registry` 2.8) on 127.0.0.1 —
 * anonymous, htpasswd basic auth, and token auth backed by a small local token issuer (Docker token spec: ES256
 * JWTs with an `x5c` header chaining to the registry's `rootcertbundle`). Tests push their own content through the
 * registry API (test/helpers/registry.ts). When the programs are missing or the registry does not start, it provides
 * `available: false` with the reason, and the tests go through requirePrerequisite (test/helpers/prerequisites.ts).
 * @module
 */
import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { createPrivateKey, randomUUID, sign, type KeyObject } from 'node:crypto';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import { connect, createServer as netServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { TestProject } from 'vitest/node';
import { missingPrograms } from '../helpers/prerequisites.js';

export interface RegistryInfo {
  available: boolean;
  reason?: string;
  anonymous: string;
  basic: string;
  token: string;
  /** host:port of the token issuer the `token` registry names as its realm (another origin than the registry). */
  tokenIssuer: string;
  /** HTTPS registry whose certificate chains to `tlsCa` (a private CA), for --registry-ca. */
  tls: string;
  tlsCa: string;
  user: string;
  password: string;
}

declare module 'vitest' {
  export interface ProvidedContext {
    registry: RegistryInfo;
  }
}

export const REGISTRY_USER = 'shelflife';
export const REGISTRY_PASSWORD = 'correct horse battery staple';

export async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = netServer();
    s.once('error', reject);
    s.listen(0, '127.0.0.1', () => {
      const port = (s.address() as { port: number }).port;
      s.close(() => resolve(port));
    });
  });
}

function tcpOpen(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const s = connect(port, '127.0.0.1', () => {
      s.destroy();
      resolve(true);
    });
    s.on('error', () => resolve(false));
  });
}

/** Wait until the registry at `url` answers (or its process exits). Also used by bench/image.ts. */
export async function waitReady(url: string, child: ChildProcess, log: string): Promise<void> {
  const deadline = Date.now() + 15_000;
  while (Date.now() < deadline) {
    if (child.exitCode !== null) throw new Error(`registry exited (${child.exitCode}): ${existsSync(log) ? readFileSync(log, 'utf8').slice(-2000) : ''}`);
    try {
      if (url.startsWith('https:')) {
        if (await tcpOpen(Number(new URL(url).port))) return;
      } else {
        const r = await fetch(url);
        if (r.status === 200 || r.status === 401) return;
      }
    } catch {
      /* not listening yet */
    }
    await new Promise((r) => setTimeout(r, 50));
  }
  throw new Error(`registry at ${url} not ready after 15 s`);
}

/** Start one `docker-registry` under `dir` (config, storage and log named `name`). Also used by bench/image.ts. */
export function startRegistry(dir: string, name: string, port: number, auth: string, tls = ''): ChildProcess {
  const root = join(dir, name);
  const config = join(dir, `${name}.yml`);
  writeFileSync(
    config,
    [
      'version: 0.1',
      'log: { level: warn }',
      'storage:',
      '  cache: { blobdescriptor: inmemory }',
      `  filesystem: { rootdirectory: ${JSON.stringify(root)} }`,
      '  delete: { enabled: true }',
      `http: { addr: "127.0.0.1:${port}"${tls} }`,
      auth,
    ].join('\n'),
  );
  const log = join(dir, `${name}.log`);
  // Spawned directly (no shell), so the PID is the registry's own and kill() stops it.
  const child = spawn('docker-registry', ['serve', config], { stdio: ['ignore', 'ignore', 'pipe'] });
  child.stderr?.on('data', (d: Buffer) => writeFileSync(log, d, { flag: 'a' }));
  return child;
}

/** base64url without padding (RFC 7515 §2). */
function b64u(b: Buffer | string): string {
  return Buffer.from(b).toString('base64url');
}

/** The token issuer: answers GET /token?service=&scope= with a JWT granting the requested actions to a valid user. */
function startTokenIssuer(port: number, key: KeyObject, certDer: Buffer, issuer: string, service: string): Server {
  const server = createServer((req, res) => {
    const url = new URL(req.url ?? '/', `http://127.0.0.1:${port}`);
    const auth = req.headers.authorization ?? '';
    const [user, ...rest] = Buffer.from(auth.replace(/^Basic /, ''), 'base64')
      .toString('utf8')
      .split(':');
    if (!auth.startsWith('Basic ') || user !== REGISTRY_USER || rest.join(':') !== REGISTRY_PASSWORD) {
      res.writeHead(401, { 'content-type': 'application/json', 'www-authenticate': 'Basic realm="token"' }).end('{"errors":[{"code":"UNAUTHORIZED"}]}');
      return;
    }
    const access = url.searchParams.getAll('scope').flatMap((s) => {
      const m = s.match(/^([a-z]+):(.+):([a-z*,]+)$/);
      return m ? [{ type: m[1], name: m[2], actions: m[3].split(',') }] : [];
    });
    const now = Math.floor(Date.now() / 1000);
    const header = { typ: 'JWT', alg: 'ES256', x5c: [certDer.toString('base64')] };
    const claims = {
      iss: issuer,
      sub: user,
      aud: url.searchParams.get('service') ?? service,
      exp: now + 300,
      nbf: now - 10,
      iat: now,
      jti: randomUUID(),
      access,
    };
    const input = `${b64u(JSON.stringify(header))}.${b64u(JSON.stringify(claims))}`;
    // JWS ES256 signatures are r||s (RFC 7518 §3.4), not DER.
    const sig = sign('sha256', Buffer.from(input), { key, dsaEncoding: 'ieee-p1363' });
    const token = `${input}.${b64u(sig)}`;
    res
      .writeHead(200, { 'content-type': 'application/json' })
      .end(JSON.stringify({ token, access_token: token, expires_in: 300, issued_at: new Date().toISOString() }));
  });
  server.listen(port, '127.0.0.1');
  return server;
}

export default async function setup(project: TestProject): Promise<() => Promise<void>> {
  const info: RegistryInfo = {
    available: false,
    anonymous: '',
    basic: '',
    token: '',
    tokenIssuer: '',
    tls: '',
    tlsCa: '',
    user: REGISTRY_USER,
    password: REGISTRY_PASSWORD,
  };
  const missing = missingPrograms('docker-registry', 'htpasswd', 'openssl');
  if (missing.length) {
    info.reason = `the OCI registry tests: ${missing.join(', ')} not installed (apt-get install docker-registry apache2-utils openssl)`;
    process.stderr.write(`\n*** test/setup/registry.ts: no registry started: ${info.reason}\n\n`);
    project.provide('registry', info);
    return async () => {};
  }
  const dir = mkdtempSync(join(tmpdir(), 'shelflife-registry-'));
  const children: ChildProcess[] = [];
  let issuer: Server | undefined;
  try {
    const [pa, pb, pt, pi, ps] = [await freePort(), await freePort(), await freePort(), await freePort(), await freePort()];
    // A private CA and a server certificate for 127.0.0.1 (subjectAltName IP), for the HTTPS registry.
    const ossl = (...args: string[]) => execFileSync('openssl', args, { stdio: 'ignore', cwd: dir });
    ossl(
      'req',
      '-x509',
      '-newkey',
      'ec',
      '-pkeyopt',
      'ec_paramgen_curve:P-256',
      '-nodes',
      '-days',
      '2',
      '-subj',
      '/CN=shelflife test private CA',
      '-keyout',
      'ca.key',
      '-out',
      'ca.crt',
    );
    ossl('req', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256', '-nodes', '-subj', '/CN=127.0.0.1', '-keyout', 'srv.key', '-out', 'srv.csr');
    writeFileSync(join(dir, 'san.ext'), 'subjectAltName=IP:127.0.0.1\n');
    ossl('x509', '-req', '-in', 'srv.csr', '-CA', 'ca.crt', '-CAkey', 'ca.key', '-CAcreateserial', '-days', '2', '-extfile', 'san.ext', '-out', 'srv.crt');
    execFileSync('htpasswd', ['-Bbc', join(dir, 'htpasswd'), REGISTRY_USER, REGISTRY_PASSWORD], { stdio: 'ignore' });
    execFileSync(
      'openssl',
      [
        'req',
        '-x509',
        '-newkey',
        'ec',
        '-pkeyopt',
        'ec_paramgen_curve:P-256',
        '-nodes',
        '-days',
        '2',
        '-subj',
        '/CN=shelflife test token issuer',
        '-keyout',
        join(dir, 'token.key'),
        '-out',
        join(dir, 'token.crt'),
      ],
      { stdio: 'ignore' },
    );
    const certDer = Buffer.from(readFileSync(join(dir, 'token.crt'), 'utf8').replace(/-----[^-]+-----|\s/g, ''), 'base64');
    const key = createPrivateKey(readFileSync(join(dir, 'token.key')));
    issuer = startTokenIssuer(pi, key, certDer, 'shelflife-test-issuer', 'shelflife-test');
    children.push(startRegistry(dir, 'anonymous', pa, ''));
    children.push(startRegistry(dir, 'basic', pb, `auth: { htpasswd: { realm: shelflife, path: ${JSON.stringify(join(dir, 'htpasswd'))} } }`));
    children.push(
      startRegistry(
        dir,
        'token',
        pt,
        `auth: { token: { realm: "http://127.0.0.1:${pi}/token", service: shelflife-test, issuer: shelflife-test-issuer, rootcertbundle: ${JSON.stringify(join(dir, 'token.crt'))} } }`,
      ),
    );
    children.push(
      startRegistry(dir, 'tls', ps, '', `, tls: { certificate: ${JSON.stringify(join(dir, 'srv.crt'))}, key: ${JSON.stringify(join(dir, 'srv.key'))} }`),
    );
    const urls = [pa, pb, pt, ps].map((p) => `127.0.0.1:${p}`);
    await Promise.all(
      urls.map((u, i) => waitReady(`${i === 3 ? 'https' : 'http'}://${u}/v2/`, children[i], join(dir, `${['anonymous', 'basic', 'token', 'tls'][i]}.log`))),
    );
    Object.assign(info, {
      available: true,
      anonymous: urls[0],
      basic: urls[1],
      token: urls[2],
      tokenIssuer: `127.0.0.1:${pi}`,
      tls: urls[3],
      tlsCa: join(dir, 'ca.crt'),
    });
  } catch (e) {
    // Installed but not startable (a broken package, a port taken): the tests say so through requirePrerequisite,
    // failing in CI, instead of the whole run dying here.
    for (const c of children) c.kill();
    issuer?.close();
    rmSync(dir, { recursive: true, force: true });
    info.reason = `the OCI registry tests: the registry did not start: ${(e as Error).message.split('\n')[0]}`;
    process.stderr.write(`\n*** test/setup/registry.ts: ${info.reason}\n\n`);
    project.provide('registry', info);
    return async () => {};
  }
  project.provide('registry', info);
  return async () => {
    for (const c of children) c.kill();
    issuer?.closeAllConnections();
    issuer?.close();
    rmSync(dir, { recursive: true, force: true });
  };
}
