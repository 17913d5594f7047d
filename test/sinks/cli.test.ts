/** End to end with the real binary: scan --sink, --only-changed, an outage then `sinks flush`, `sinks status`, --format ocsf. */
import { spawn } from 'node:child_process';
import { cpSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, inject, it } from 'vitest';
import { parseCef } from '../helpers/cef.js';
import { startHecReceiver } from '../helpers/receivers.js';
import { freePort } from '../setup/registry.js';
import { readRsyslogLog } from '../setup/rsyslog.js';
import { requirePrerequisite } from '../helpers/prerequisites.js';
import { FIXTURES } from '../helpers/scan.js';
import { validateComplianceFinding } from '../helpers/ocsf-schema.js';

const ROOT = join(import.meta.dirname, '..', '..');
const BIN = join(ROOT, 'bin', 'shelflife.js');
const rs = inject('rsyslog');

function run(args: string[], env: Record<string, string> = {}): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, [BIN, ...args], { cwd: ROOT, env: { ...process.env, ...env } });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d) => (stdout += d));
    child.stderr.on('data', (d) => (stderr += d));
    child.on('close', (code) => resolve({ code, stdout, stderr }));
  });
}

function workspace() {
  const dir = mkdtempSync(join(tmpdir(), 'shelflife-sinks-cli-'));
  return { dir, db: join(dir, 'inventory.db'), spool: join(dir, 'spool'), data: join(dir, 'data') };
}

describe('shelflife scan --sink / sinks', () => {
  it('scan --sink syslog+tls, then --only-changed sends only what changed (new and resolved)', async (ctx) => {
    requirePrerequisite(ctx, !rs.available && rs.reason);
    const w = workspace();
    cpSync(join(FIXTURES, 'pki', 'certs'), w.data, { recursive: true });
    const sink = ['--sink', `syslog+tls://127.0.0.1:${rs.ports.tls}`, '--sink-ca', rs.pki.ca, '--sink-spool', w.spool, '--db', w.db, '--only-changed', '-q'];
    const first = await run(['scan', w.data, '-f', 'json', '-o', join(w.dir, 'a.json'), ...sink]);
    expect(first.code, first.stderr).toBe(0);
    const a = JSON.parse(readFileSync(join(w.dir, 'a.json'), 'utf8'));
    const scanA = a.scan.id as string;
    const findingsA = a.artifacts.reduce((n: number, x: { findings: unknown[] }) => n + x.findings.length, 0);
    const linesA = () => readRsyslogLog(rs.logs.tls).filter((l) => l.msg.includes(scanA));
    await expect.poll(() => linesA().filter((l) => l.msgid === 'finding').length, { timeout: 10_000 }).toBe(findingsA);
    const cef = parseCef(linesA()[0].msg);
    expect(cef.header[0]).toBe('CEF:0');
    expect(cef.extension.cs4).toBe(scanA);

    // Nothing changed: nothing is sent.
    const second = await run(['scan', w.data, '-f', 'json', '-o', join(w.dir, 'b.json'), ...sink]);
    expect(second.code, second.stderr).toBe(0);
    const scanB = JSON.parse(readFileSync(join(w.dir, 'b.json'), 'utf8')).scan.id as string;
    await new Promise((r) => setTimeout(r, 300));
    expect(readRsyslogLog(rs.logs.tls).filter((l) => l.msg.includes(scanB))).toEqual([]);

    // One certificate added, one removed: only those findings (and their artifacts' summaries) go out.
    const [first0, ...rest] = readdirSync(w.data).filter((f) => f.endsWith('.pem') || f.endsWith('.crt') || f.endsWith('.der'));
    expect(rest.length).toBeGreaterThan(0);
    rmSync(join(w.data, first0));
    writeFileSync(join(w.data, 'added.pem'), readFileSync(join(FIXTURES, 'pki', 'certs', rest[0])));
    const third = await run(['scan', w.data, '-f', 'json', '-o', join(w.dir, 'c.json'), ...sink]);
    expect(third.code, third.stderr).toBe(0);
    const scanC = JSON.parse(readFileSync(join(w.dir, 'c.json'), 'utf8')).scan.id as string;
    await expect.poll(() => readRsyslogLog(rs.logs.tls).filter((l) => l.msg.includes(scanC)).length, { timeout: 10_000 }).toBeGreaterThan(0);
    await new Promise((r) => setTimeout(r, 300));
    const acts = readRsyslogLog(rs.logs.tls)
      .filter((l) => l.msg.includes(scanC) && l.msgid === 'finding')
      .map((l) => parseCef(l.msg).extension);
    expect(new Set(acts.map((x) => x.act))).toEqual(new Set(['new', 'resolved']));
    expect(acts.filter((x) => x.act === 'new').every((x) => x.filePath.endsWith('/added.pem'))).toBe(true);
    expect(acts.filter((x) => x.act === 'resolved').every((x) => x.filePath.endsWith(`/${first0}`))).toBe(true);
  });

  it('an unreachable SIEM: exit 4, events stay spooled, `sinks status` shows them, `sinks flush` delivers', async () => {
    const w = workspace();
    const port = await freePort();
    const env = { SHELFLIFE_TEST_TOKEN: 'hec-token-value-123' };
    const url = `hec+http://127.0.0.1:${port}`;
    const r = await run(
      [
        'scan',
        join(FIXTURES, 'pki', 'certs'),
        '-f',
        'json',
        '-o',
        join(w.dir, 'out.json'),
        '--db',
        w.db,
        '--sink',
        url,
        '--sink-token-env',
        'SHELFLIFE_TEST_TOKEN',
        '--sink-spool',
        w.spool,
        '--sink-retry-for',
        '0',
      ],
      env,
    );
    expect(r.code, r.stderr).toBe(4);
    expect(r.stderr).toMatch(/delivery incomplete: .*ECONNREFUSED/);
    expect(r.stderr).toMatch(/event\(s\) stay spooled; run `shelflife sinks flush`/);
    expect(r.stderr).not.toContain('hec-token-value-123');
    const status = await run(['sinks', 'status', '--json', '--sink-spool', w.spool]);
    expect(status.code).toBe(4);
    const [row] = JSON.parse(status.stdout);
    expect(row.sink).toBe(url);
    expect(row.pending).toBeGreaterThan(0);
    expect(readFileSync(join(row.dir, 'sink.json'), 'utf8')).not.toContain('hec-token-value-123');

    // The receiver comes back where the spool expects it.
    const hec = await startHecReceiver({ token: 'hec-token-value-123', port });
    try {
      // The token comes from flush's own flags: the spool never holds credentials (test/sinks/planted.test.ts).
      const f = await run(['sinks', 'flush', '--sink-spool', w.spool, '--sink', url, '--sink-token-env', 'SHELFLIFE_TEST_TOKEN'], env);
      expect(f.code, f.stderr).toBe(0);
      expect(f.stderr).toMatch(new RegExp(`${row.pending} event\\(s\\) delivered`));
      expect(hec.events).toHaveLength(row.pending);
      const after = await run(['sinks', 'status', '--json', '--sink-spool', w.spool]);
      expect(after.code).toBe(0);
      expect(JSON.parse(after.stdout)[0]).toMatchObject({ pending: 0, delivered: row.pending });
    } finally {
      await hec.close();
    }
  });

  it('a missing token is a usage error before anything is scanned', async () => {
    const w = workspace();
    const r = await run([
      'scan',
      join(FIXTURES, 'pki', 'certs'),
      '--db',
      w.db,
      '--sink',
      'hec+https://splunk.example:8088',
      '--sink-token-env',
      'SHELFLIFE_NOT_SET_ANYWHERE',
      '--sink-spool',
      w.spool,
    ]);
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/environment variable SHELFLIFE_NOT_SET_ANYWHERE \(--sink-token-env\) is not set/);
    expect(r.stdout).toBe('');
  });

  it('--format ocsf writes NDJSON that validates', async () => {
    const w = workspace();
    const out = join(w.dir, 'reports', 'findings.ndjson');
    const r = await run(['scan', join(FIXTURES, 'pki', 'certs'), '--no-db', '--format', 'ocsf', '-o', out, '-q']);
    expect(r.code, r.stderr).toBe(0);
    const lines = readFileSync(out, 'utf8').trimEnd().split('\n');
    expect(lines.length).toBeGreaterThan(3);
    for (const l of lines) expect(validateComplianceFinding(JSON.parse(l))).toEqual([]);
  });
});
