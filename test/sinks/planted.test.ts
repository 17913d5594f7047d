/**
 * Planted sinks (issue 14 item 2): a spool that others can write would let anyone add a sink whose sink.json names
 * any file or variable as its token, and `sinks flush` would send that secret to the planted URL. The spool and its
 * entries must be the user's and not group/world-writable (refused, with the reason, otherwise), and a spooled
 * sink's credentials come only from `sinks flush`'s own flags or the config, never from the spool.
 */
import { spawn } from 'node:child_process';
import { chmodSync, chownSync, mkdirSync, mkdtempSync, readFileSync, renameSync, symlinkSync, writeFileSync } from 'node:fs';
import { createServer, type IncomingHttpHeaders, type Server } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { eventsOfScan } from '../../src/report/event.js';
import { flushSinks, listSpooledSinks, sinkSpoolFor, spoolAndDeliver } from '../../src/sinks/deliver.js';
import { SinkSpool, SpoolRefused } from '../../src/sinks/spool.js';
import { sampleScan } from '../helpers/sample-scan.js';
import { FIXTURES } from '../helpers/scan.js';

const BIN = join(import.meta.dirname, '..', '..', 'bin', 'shelflife.js');
const SECRET = 'the-victims-private-secret-4711';
const fast = { backoffMs: 10, maxBackoffMs: 50, retryForMs: 300 };

/** The attacker's HEC endpoint: answers like Splunk and records every Authorization header it is sent. */
async function attacker(): Promise<{ url: string; seen: IncomingHttpHeaders[]; server: Server }> {
  const seen: IncomingHttpHeaders[] = [];
  const server = createServer((req, res) => {
    seen.push(req.headers);
    req.resume();
    req.on('end', () => res.writeHead(200, { 'content-type': 'application/json' }).end('{"text":"Success","code":0}'));
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  return { url: `hec+http://127.0.0.1:${(server.address() as { port: number }).port}`, seen, server };
}

const servers: Server[] = [];
afterAll(() => servers.forEach((s) => s.close()));

/** A spool root holding one sink directory with events, whose sink.json the attacker wrote. */
function plantedSpool(url: string): { root: string; dir: string; secretFile: string } {
  const root = mkdtempSync(join(tmpdir(), 'shelflife-planted-'));
  const secretFile = join(mkdtempSync(join(tmpdir(), 'shelflife-victim-')), 'id_token');
  writeFileSync(secretFile, SECRET, { mode: 0o600 });
  const spool = sinkSpoolFor({ url, format: 'json' }, root);
  spool.append('planted-scan', eventsOfScan(sampleScan(1)));
  // What an attacker puts there: any file of the victim named as the token (or a variable, with tokenEnv).
  writeFileSync(join(spool.dir, 'sink.json'), JSON.stringify({ url, tokenFile: secretFile }), { mode: 0o600 });
  process.env.SHELFLIFE_TEST_VICTIM_SECRET = SECRET;
  return { root, dir: spool.dir, secretFile };
}

const sentSecret = (seen: IncomingHttpHeaders[]) => seen.some((h) => JSON.stringify(h).includes(SECRET));

describe('planted sinks', () => {
  it('credentials never come from the spool: a spooled sink without the user’s own stays spooled', async () => {
    const a = await attacker();
    servers.push(a.server);
    const { root } = plantedSpool(a.url);
    const [r] = await flushSinks({ spoolRoot: root, ...fast });
    expect(a.seen).toEqual([]);
    expect(r).toMatchObject({ sink: a.url, delivered: 0, pending: 2 });
    expect(r.error).toMatch(/needs a token.*the spool never holds credentials: give them to `sinks flush --sink/);
    // The user gives the token for that URL themselves: it is theirs that is sent, never the file the spool named.
    process.env.SHELFLIFE_TEST_FLUSH_TOKEN = 'the-token-the-user-chose';
    const [ok] = await flushSinks({ spoolRoot: root, sinks: [{ url: a.url, tokenEnv: 'SHELFLIFE_TEST_FLUSH_TOKEN' }], ...fast });
    expect(ok).toMatchObject({ delivered: 2, pending: 0 });
    expect(a.seen.map((h) => h.authorization)).toEqual(['Splunk the-token-the-user-chose']);
    expect(sentSecret(a.seen)).toBe(false);
  });

  it('the spool records which sink and format, nothing about credentials', async () => {
    const a = await attacker();
    servers.push(a.server);
    process.env.SHELFLIFE_TEST_FLUSH_TOKEN = 'tok';
    const root = mkdtempSync(join(tmpdir(), 'shelflife-spool-'));
    await spoolAndDeliver(
      sampleScan(1),
      [{ url: a.url, tokenEnv: 'SHELFLIFE_TEST_FLUSH_TOKEN', ca: join(FIXTURES, 'pki', 'certs', 'ec-P-256.pem'), format: 'ocsf' }],
      {
        spoolRoot: root,
        ...fast,
      },
    );
    const [s] = listSpooledSinks(root);
    expect(JSON.parse(readFileSync(join(s.dir, 'sink.json'), 'utf8'))).toEqual({ url: a.url, format: 'ocsf' });
  });

  it('a spool root others can write is refused before anything is read or sent', async () => {
    const a = await attacker();
    servers.push(a.server);
    const { root } = plantedSpool(a.url);
    chmodSync(root, 0o777);
    await expect(flushSinks({ spoolRoot: root, sinks: [{ url: a.url, tokenEnv: 'SHELFLIFE_TEST_VICTIM_SECRET' }], ...fast })).rejects.toThrow(SpoolRefused);
    await expect(flushSinks({ spoolRoot: root, ...fast })).rejects.toThrow(/writable by everyone \(mode 777\): refusing to use it/);
    // Writing to it is refused too: a scan does not spool into a directory others control.
    expect(() => sinkSpoolFor({ url: a.url }, root)).toThrow(SpoolRefused);
    expect(a.seen).toEqual([]);
  });

  it('a sink directory or file others can write, or a symbolic link, is refused and never delivered', async () => {
    const a = await attacker();
    servers.push(a.server);
    const token = [{ url: a.url, tokenEnv: 'SHELFLIFE_TEST_VICTIM_SECRET' }];
    const group = plantedSpool(a.url);
    chmodSync(group.dir, 0o770);
    const [r1] = await flushSinks({ spoolRoot: group.root, sinks: token, ...fast });
    expect(r1.error).toMatch(/writable by its group \(mode 770\)/);
    const file = plantedSpool(a.url);
    const segment = listSpooledSinks(file.root).flatMap((s) => ('spool' in s ? s.spool.segments() : []))[0];
    chmodSync(join(file.dir, segment.name), 0o666);
    const [r2] = await flushSinks({ spoolRoot: file.root, sinks: token, ...fast });
    expect(r2.error).toMatch(/writable by everyone/);
    // A sink directory that is a link to somewhere else.
    const linked = plantedSpool(a.url);
    const elsewhere = mkdtempSync(join(tmpdir(), 'shelflife-elsewhere-'));
    renameSync(linked.dir, join(elsewhere, 'sink'));
    symlinkSync(join(elsewhere, 'sink'), linked.dir);
    const [r3] = await flushSinks({ spoolRoot: linked.root, sinks: token, ...fast });
    expect(r3.error).toMatch(/a symbolic link/);
    if (process.getuid?.() === 0) {
      // Root can build the real case: a sink directory another user owns.
      const other = plantedSpool(a.url);
      chownSync(other.dir, 65534, 65534);
      const [r4] = await flushSinks({ spoolRoot: other.root, sinks: token, ...fast });
      expect(r4.error).toMatch(/owned by uid 65534, not by you/);
    }
    expect(a.seen).toEqual([]);
    expect(() => SinkSpool.existing(group.dir)).toThrow(SpoolRefused);
  });

  it('CLI: sinks flush refuses a shared spool (exit 2), and takes a token only from its own flags', async () => {
    const a = await attacker();
    servers.push(a.server);
    const run = (args: string[]) =>
      new Promise<{ code: number | null; stderr: string }>((resolve) => {
        const child = spawn(process.execPath, [BIN, ...args], { env: { ...process.env, SHELFLIFE_TEST_USER_TOKEN: 'users-own-token' } });
        let stderr = '';
        child.stderr.on('data', (d) => (stderr += d));
        child.stdout.resume();
        child.on('close', (code) => resolve({ code, stderr }));
      });
    const { root } = plantedSpool(a.url);
    const denied = await run(['sinks', 'flush', '--sink-spool', root, '--sink-retry-for', '0']);
    expect(denied.code).toBe(4);
    expect(denied.stderr).toMatch(/the spool never holds credentials/);
    expect(a.seen).toEqual([]);
    const flushed = await run(['sinks', 'flush', '--sink-spool', root, '--sink', a.url, '--sink-token-env', 'SHELFLIFE_TEST_USER_TOKEN']);
    expect(flushed.code, flushed.stderr).toBe(0);
    expect(a.seen.map((h) => h.authorization)).toEqual(['Splunk users-own-token']);
    // Or from the config's scan.sinks, by URL.
    const again = plantedSpool(a.url);
    const config = join(again.root, '..', `${Date.now()}-c.yaml`);
    writeFileSync(config, `version: 1\nscan:\n  sinks: [{ url: "${a.url}", tokenEnv: SHELFLIFE_TEST_USER_TOKEN }]\n`);
    const viaConfig = await run(['sinks', 'flush', '--sink-spool', again.root, '--config', config]);
    expect(viaConfig.code, viaConfig.stderr).toBe(0);
    expect(a.seen.map((h) => h.authorization)).toEqual(['Splunk users-own-token', 'Splunk users-own-token']);
    const shared = mkdtempSync(join(tmpdir(), 'shelflife-shared-'));
    mkdirSync(join(shared, 'x'));
    chmodSync(shared, 0o777);
    const refused = await run(['sinks', 'flush', '--sink-spool', shared]);
    expect(refused.code).toBe(2);
    expect(refused.stderr).toMatch(/shelflife: error: .*shelflife-shared-.*writable by everyone.*refusing to use it/);
  });
});
