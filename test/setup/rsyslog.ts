/**
 * Vitest global setup: Debian's rsyslog (with rsyslog-gnutls) on 127.0.0.1, as a real syslog receiver for the sink
 * tests. Its own config in a temp dir: imtcp (octet-counted framing is detected per frame), a TLS listener (gtls,
 * server cert from a test CA made here with openssl), a TLS listener that requires a client certificate
 * (x509/certvalid), and imudp; each writes to its own file through omfile with a template that exposes the parsed
 * RFC 5424 header. The main queue is Direct: a message read from the socket is written before the next is read, so
 * what the receiver has read is what is in the file. When rsyslogd is missing or does not start, it provides
 * `available: false` with the reason, and the tests go through requirePrerequisite (test/helpers/prerequisites.ts).
 * @module
 */
import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { connect } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { TestProject } from 'vitest/node';
import { needPrograms } from '../helpers/prerequisites.js';
import { freePort } from './registry.js';

export interface RsyslogPki {
  ca: string;
  serverCert: string;
  serverKey: string;
  clientCert: string;
  clientKey: string;
  /** A CA that signed nothing here: trusting only it must fail verification. */
  otherCa: string;
}

export interface RsyslogInfo {
  available: boolean;
  reason?: string;
  dir: string;
  pki: RsyslogPki;
  ports: { tcp: number; tls: number; mtls: number; udp: number };
  logs: { tcp: string; tls: string; mtls: string; udp: string };
  config: string;
}

declare module 'vitest' {
  export interface ProvidedContext {
    rsyslog: RsyslogInfo;
  }
}

/** The template every listener writes with: fields of the parsed RFC 5424 header, then MSG. */
export const RSYSLOG_LINE_FIELDS = ['version', 'app', 'procid', 'msgid', 'hostname', 'pri', 'sd', 'msg'] as const;

export function rsyslogAvailable(): string | undefined {
  const missing = needPrograms('the syslog sink tests', 'rsyslogd', 'openssl');
  if (missing) return `${missing} (the syslog receiver is rsyslog with rsyslog-gnutls)`;
  const libDirs = ['/usr/lib/rsyslog', ...readdirSync('/usr/lib').map((d) => join('/usr/lib', d, 'rsyslog'))];
  if (!libDirs.some((d) => existsSync(join(d, 'lmnsd_gtls.so')))) {
    return 'the syslog sink tests: rsyslog-gnutls is not installed (apt-get install rsyslog-gnutls)';
  }
  return undefined;
}

function openssl(args: string[], cwd: string): void {
  execFileSync('openssl', args, { cwd, stdio: ['ignore', 'ignore', 'pipe'] });
}

/** A test CA, a server certificate for localhost/127.0.0.1, a client certificate, and an unrelated CA. */
export function makeTestPki(dir: string): RsyslogPki {
  mkdirSync(dir, { recursive: true });
  const ec = ['-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256', '-nodes'];
  openssl(
    [
      'req',
      '-x509',
      ...ec,
      '-days',
      '2',
      '-subj',
      '/CN=shelflife test syslog CA',
      '-keyout',
      'ca.key',
      '-out',
      'ca.pem',
      '-addext',
      'basicConstraints=critical,CA:TRUE',
      '-addext',
      'keyUsage=critical,keyCertSign,cRLSign',
    ],
    dir,
  );
  openssl(['req', '-x509', ...ec, '-days', '2', '-subj', '/CN=unrelated CA', '-keyout', 'other.key', '-out', 'other-ca.pem'], dir);
  writeFileSync(join(dir, 'server.ext'), 'subjectAltName=DNS:localhost,IP:127.0.0.1\nextendedKeyUsage=serverAuth\n');
  writeFileSync(join(dir, 'client.ext'), 'extendedKeyUsage=clientAuth\n');
  for (const [name, cn] of [
    ['server', 'localhost'],
    ['client', 'shelflife test client'],
  ] as const) {
    openssl(['req', ...ec, '-subj', `/CN=${cn}`, '-keyout', `${name}.key`, '-out', `${name}.csr`], dir);
    openssl(
      [
        'x509',
        '-req',
        '-in',
        `${name}.csr`,
        '-CA',
        'ca.pem',
        '-CAkey',
        'ca.key',
        '-CAcreateserial',
        '-days',
        '2',
        '-extfile',
        `${name}.ext`,
        '-out',
        `${name}.pem`,
      ],
      dir,
    );
  }
  const p = (f: string) => join(dir, f);
  return {
    ca: p('ca.pem'),
    serverCert: p('server.pem'),
    serverKey: p('server.key'),
    clientCert: p('client.pem'),
    clientKey: p('client.key'),
    otherCa: p('other-ca.pem'),
  };
}

/**
 * `directQueue` (default): the input thread writes each message before reading the next, so what rsyslog has read
 * is in the file (the tests' kill/restart check relies on it). The benchmark uses rsyslog's default in-memory main
 * queue instead, as a production receiver runs.
 */
export async function writeRsyslogConfig(dir: string, pki: RsyslogPki, o: { directQueue?: boolean } = {}): Promise<Omit<RsyslogInfo, 'available' | 'reason'>> {
  const ports = { tcp: await freePort(), tls: await freePort(), mtls: await freePort(), udp: await freePort() };
  const logs = { tcp: join(dir, 'tcp.log'), tls: join(dir, 'tls.log'), mtls: join(dir, 'mtls.log'), udp: join(dir, 'udp.log') };
  mkdirSync(join(dir, 'work'), { recursive: true });
  const q = (s: string) => JSON.stringify(s);
  const config = join(dir, 'rsyslog.conf');
  writeFileSync(
    config,
    `global(workDirectory=${q(join(dir, 'work'))} maxMessageSize="64k"
  defaultNetstreamDriverCAFile=${q(pki.ca)} defaultNetstreamDriverCertFile=${q(pki.serverCert)} defaultNetstreamDriverKeyFile=${q(pki.serverKey)})
${o.directQueue === false ? '' : 'main_queue(queue.type="Direct")'}
module(load="imtcp" maxSessions="500")
module(load="imudp")
template(name="fields" type="string" string="%protocol-version%|%app-name%|%procid%|%msgid%|%hostname%|%pri%|%structured-data%|%msg%\\n")
${(['tcp', 'tls', 'mtls', 'udp'] as const).map((k) => `ruleset(name="${k}") { action(type="omfile" file=${q(logs[k])} template="fields") }`).join('\n')}
input(type="imtcp" address="127.0.0.1" port="${ports.tcp}" ruleset="tcp")
input(type="imtcp" address="127.0.0.1" port="${ports.tls}" ruleset="tls" streamDriver.name="gtls" streamDriver.mode="1" streamDriver.authMode="anon")
input(type="imtcp" address="127.0.0.1" port="${ports.mtls}" ruleset="mtls" streamDriver.name="gtls" streamDriver.mode="1" streamDriver.authMode="x509/certvalid")
input(type="imudp" address="127.0.0.1" port="${ports.udp}" ruleset="udp")
`,
  );
  return { dir, pki, ports, logs, config };
}

function portOpen(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const s = connect({ host: '127.0.0.1', port }, () => {
      s.destroy();
      resolve(true);
    });
    s.on('error', () => resolve(false));
  });
}

/** Start rsyslogd in the foreground on an existing config; resolves once every TCP listener accepts. */
export async function startRsyslog(info: Pick<RsyslogInfo, 'config' | 'dir' | 'ports'>): Promise<ChildProcess> {
  const child = spawn('rsyslogd', ['-n', '-f', info.config, '-i', join(info.dir, 'rsyslogd.pid')], { stdio: ['ignore', 'ignore', 'pipe'] });
  let err = '';
  child.stderr?.on('data', (d: Buffer) => {
    if (err.length < 4000) err += d.toString();
  });
  const deadline = Date.now() + 15_000;
  while (Date.now() < deadline) {
    if (child.exitCode !== null) throw new Error(`rsyslogd exited (${child.exitCode}): ${err}`);
    if ((await portOpen(info.ports.tcp)) && (await portOpen(info.ports.tls)) && (await portOpen(info.ports.mtls))) return child;
    await new Promise((r) => setTimeout(r, 50));
  }
  child.kill();
  throw new Error(`rsyslogd not listening after 15 s: ${err}`);
}

/** Stop an rsyslogd we started (by its pid) and wait until it is gone. */
export async function stopRsyslog(child: ChildProcess, signal: NodeJS.Signals = 'SIGTERM'): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return;
  const gone = new Promise<void>((r) => child.once('exit', () => r()));
  child.kill(signal);
  await gone;
}

/** A private rsyslog (own dir, ports and PKI) for tests that kill and restart it. */
export async function privateRsyslog(o: { directQueue?: boolean } = {}): Promise<{ info: Omit<RsyslogInfo, 'available' | 'reason'>; child: ChildProcess }> {
  const dir = mkdtempSync(join(tmpdir(), 'shelflife-rsyslog-'));
  const info = await writeRsyslogConfig(dir, makeTestPki(join(dir, 'pki')), o);
  return { info, child: await startRsyslog(info) };
}

/** Lines rsyslog wrote to a log file, split into the template's fields. */
export function readRsyslogLog(path: string): Record<(typeof RSYSLOG_LINE_FIELDS)[number], string>[] {
  if (!existsSync(path)) return [];
  return readFileSync(path, 'utf8')
    .split('\n')
    .filter(Boolean)
    .map((line) => {
      const parts = line.split('|');
      // MSG may itself contain '|': everything after the 7th separator belongs to it.
      const head = parts.slice(0, 7);
      return Object.fromEntries([...head.map((v, i) => [RSYSLOG_LINE_FIELDS[i], v]), ['msg', parts.slice(7).join('|')]]) as Record<
        (typeof RSYSLOG_LINE_FIELDS)[number],
        string
      >;
    });
}

export default async function setup(project: TestProject): Promise<() => Promise<void>> {
  const reason = rsyslogAvailable();
  const empty = {
    dir: '',
    pki: { ca: '', serverCert: '', serverKey: '', clientCert: '', clientKey: '', otherCa: '' },
    ports: { tcp: 0, tls: 0, mtls: 0, udp: 0 },
    logs: { tcp: '', tls: '', mtls: '', udp: '' },
    config: '',
  };
  const unavailable = (why: string) => {
    process.stderr.write(`\n*** test/setup/rsyslog.ts: no syslog receiver started: ${why}\n\n`);
    project.provide('rsyslog', { available: false, reason: why, ...empty });
    return async () => {};
  };
  if (reason) return unavailable(reason);
  const dir = mkdtempSync(join(tmpdir(), 'shelflife-rsyslog-'));
  let info: Awaited<ReturnType<typeof writeRsyslogConfig>>;
  let child: ChildProcess;
  try {
    info = await writeRsyslogConfig(dir, makeTestPki(join(dir, 'pki')));
    child = await startRsyslog(info);
  } catch (e) {
    rmSync(dir, { recursive: true, force: true });
    return unavailable(`the syslog sink tests: rsyslogd did not start: ${(e as Error).message.split('\n')[0]}`);
  }
  project.provide('rsyslog', { available: true, ...info });
  return async () => {
    await stopRsyslog(child);
    rmSync(dir, { recursive: true, force: true });
  };
}
