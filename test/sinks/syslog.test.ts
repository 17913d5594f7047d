/**
 * Syslog sinks against a real rsyslog (test/setup/rsyslog.ts): TCP with octet counting, TLS (RFC 5425) with CA
 * verification and client certificates, UDP; and a receiver killed and restarted in the middle of a delivery.
 */
import { describe, expect, inject, it } from 'vitest';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseCef } from '../helpers/cef.js';
import { deliverSpool, flushSinks, sinkSpoolFor, spoolAndDeliver } from '../../src/sinks/deliver.js';
import { eventsOfScan } from '../../src/report/event.js';
import { createTransport } from '../../src/sinks/config.js';
import { privateRsyslog, readRsyslogLog, startRsyslog, stopRsyslog } from '../setup/rsyslog.js';
import { requirePrerequisiteForAll } from '../helpers/prerequisites.js';
import { sampleScan } from '../helpers/sample-scan.js';

const rs = inject('rsyslog');
const spoolRoot = () => mkdtempSync(join(tmpdir(), 'shelflife-sinks-'));
const fast = { backoffMs: 50, maxBackoffMs: 500, retryForMs: 20_000 };

async function waitFor<T>(f: () => T, ok: (v: T) => boolean, ms = 15_000): Promise<T> {
  const deadline = Date.now() + ms;
  for (;;) {
    const v = f();
    if (ok(v) || Date.now() > deadline) return v;
    await new Promise((r) => setTimeout(r, 50));
  }
}

/** The event ids rsyslog wrote for one scan (CEF externalId or JSON id). */
function idsIn(log: string, scanId: string): string[] {
  return readRsyslogLog(log)
    .filter((l) => l.msg.includes(scanId))
    .map((l) =>
      l.msg.startsWith('CEF:')
        ? parseCef(l.msg).extension.externalId
        : ((JSON.parse(l.msg) as { id?: string; metadata?: { uid: string } }).id ?? (JSON.parse(l.msg) as { metadata: { uid: string } }).metadata.uid),
    );
}

describe('syslog sinks (rsyslog)', () => {
  requirePrerequisiteForAll(!rs.available && rs.reason);
  it('TCP, octet-counted: every event arrives once, RFC 5424 header parsed by rsyslog, CEF intact', async () => {
    const scan = sampleScan(100, 2);
    const [r] = await spoolAndDeliver(scan, [{ url: `syslog+tcp://127.0.0.1:${rs.ports.tcp}` }], { spoolRoot: spoolRoot(), ...fast });
    expect(r).toMatchObject({ spooled: 300, delivered: 300, pending: 0 });
    const ids = await waitFor(
      () => idsIn(rs.logs.tcp, scan.scan.id),
      (v) => v.length >= 300,
    );
    expect(new Set(ids)).toEqual(new Set([...eventsOfScan(scan)].map((e) => e.id)));
    expect(ids).toHaveLength(300);
    const line = readRsyslogLog(rs.logs.tcp).find((l) => l.msg.includes(scan.scan.id) && l.msgid === 'finding')!;
    expect(line).toMatchObject({ version: '1', app: 'shelflife', procid: String(process.pid), pri: '83' });
    expect(line.sd).toMatch(/^\[origin software="shelflife" swVersion="/);
    const cef = parseCef(line.msg);
    expect(cef.extension.msg).toContain('CN=a|b\\c=d\r\nnext line');
  });

  it('TLS: verifies the receiver against --sink-ca; an untrusted CA keeps events spooled until flush', async () => {
    const root = spoolRoot();
    const url = `syslog+tls://127.0.0.1:${rs.ports.tls}`;
    const scan = sampleScan(20, 1);
    const [bad] = await spoolAndDeliver(scan, [{ url, ca: rs.pki.otherCa }], { spoolRoot: root, ...fast, retryForMs: 300 });
    expect(bad.error).toMatch(/certificate|self.signed|unable to verify/i);
    expect(bad).toMatchObject({ delivered: 0, pending: 40 });
    expect(idsIn(rs.logs.tls, scan.scan.id)).toEqual([]);
    // The operator gives flush the right CA (trust material comes from the user, never from the spool): delivered.
    const [ok] = await flushSinks({ spoolRoot: root, sinks: [{ url, ca: rs.pki.ca }], ...fast });
    expect(ok).toMatchObject({ delivered: 40, pending: 0 });
    const ids = await waitFor(
      () => idsIn(rs.logs.tls, scan.scan.id),
      (v) => v.length >= 40,
    );
    expect(new Set(ids).size).toBe(40);
  });

  it('TLS with a client certificate; without one the receiver refuses', async () => {
    const url = `syslog+tls://127.0.0.1:${rs.ports.mtls}`;
    const scan = sampleScan(5, 1);
    const [without] = await spoolAndDeliver(scan, [{ url, ca: rs.pki.ca }], { spoolRoot: spoolRoot(), ...fast, retryForMs: 300 });
    expect(without.pending).toBe(10);
    const [withCert] = await spoolAndDeliver(scan, [{ url, ca: rs.pki.ca, cert: rs.pki.clientCert, key: rs.pki.clientKey }], {
      spoolRoot: spoolRoot(),
      ...fast,
    });
    expect(withCert).toMatchObject({ delivered: 10, pending: 0 });
    expect(
      await waitFor(
        () => idsIn(rs.logs.mtls, scan.scan.id),
        (v) => v.length >= 10,
      ),
    ).toHaveLength(10);
  });

  it('UDP and the JSON and OCSF formats', async () => {
    const scan = sampleScan(10, 1);
    await spoolAndDeliver(scan, [{ url: `syslog+udp://127.0.0.1:${rs.ports.udp}`, format: 'json' }], { spoolRoot: spoolRoot(), ...fast });
    expect(
      new Set(
        await waitFor(
          () => idsIn(rs.logs.udp, scan.scan.id),
          (v) => v.length >= 20,
        ),
      ).size,
    ).toBe(20);
    const o = sampleScan(3, 1);
    await spoolAndDeliver(o, [{ url: `syslog+tcp://127.0.0.1:${rs.ports.tcp}`, format: 'ocsf' }], { spoolRoot: spoolRoot(), ...fast });
    const lines = await waitFor(
      () => readRsyslogLog(rs.logs.tcp).filter((l) => l.msg.includes(o.scan.id)),
      (v) => v.length >= 6,
    );
    expect(JSON.parse(lines[0].msg)).toMatchObject({ class_uid: 2003, metadata: { correlation_uid: o.scan.id } });
  });

  it('a receiver killed and restarted mid-delivery loses nothing; duplicates are only re-sent batches', async () => {
    const { info, child } = await privateRsyslog();
    let current = child;
    try {
      const root = spoolRoot();
      const scan = sampleScan(10_000, 1);
      const url = `syslog+tls://127.0.0.1:${info.ports.tls}`;
      const spool = sinkSpoolFor({ url, ca: info.pki.ca }, root);
      const total = spool.append(scan.scan.id, eventsOfScan(scan));
      expect(total).toBe(20_000);
      const transport = createTransport({ url, ca: info.pki.ca });
      const delivery = deliverSpool(spool, transport, fast);
      // Kill once part of the stream has landed, keep it down a moment, start it again on the same ports.
      const seen = await waitFor(
        () => readRsyslogLog(info.logs.tls).length,
        (n) => n > 1000,
        30_000,
      );
      expect(seen).toBeLessThan(total);
      await stopRsyslog(current);
      await new Promise((r) => setTimeout(r, 700));
      current = await startRsyslog(info);
      const report = await delivery;
      await transport.close();
      expect(report).toMatchObject({ delivered: total, pending: 0 });
      const ids = await waitFor(
        () => idsIn(info.logs.tls, scan.scan.id),
        (v) => new Set(v).size >= total,
        30_000,
      );
      const unique = new Set(ids);
      expect(unique).toEqual(new Set([...eventsOfScan(scan)].map((e) => e.id)));
      // At-least-once: anything twice comes from batches re-sent after the restart (at most the two in flight).
      expect(ids.length - unique.size).toBeLessThanOrEqual(2 * 2000);
      expect([...spool.pending()]).toEqual([]);
    } finally {
      await stopRsyslog(current);
    }
  });
});
