/**
 * SIEM sink benchmark (on demand: `npx tsx bench/sinks.ts`). BENCH_SINK_EVENTS (100,000) CEF events spooled and
 * delivered over syslog+TLS (RFC 5425, octet-counted) to a real rsyslog on loopback, which writes them to a file.
 * Reports spool and delivery rates (events/s), peak RSS, and peak RSS for a tenth of the events, to show memory is
 * flat in the number of events (the spool is streamed from disk; events are generated, never held in an array).
 * Each measurement runs in a fresh child process so its peak RSS is its own. Target: ≥ 20,000 events/s.
 * rsyslog runs with its default in-memory main queue, as in production; BENCH_SINK_DIRECT_QUEUE=1 uses the tests'
 * Direct queue (slower: every message is written before the next is read). BENCH_SINK_SCALE=1 adds a 3× run.
 * @module
 */
import { spawnSync } from 'node:child_process';
import { createReadStream, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { deliverSpool, sinkSpoolFor } from '../src/sinks/deliver.js';
import { findingEvent, type SinkEvent } from '../src/report/event.js';
import { createTransport } from '../src/sinks/config.js';
import type { ScanResult } from '../src/model.js';
import { privateRsyslog, stopRsyslog } from '../test/setup/rsyslog.js';
import { sampleArtifact, sampleFinding } from '../test/helpers/sample-scan.js';

const EVENTS = Number(process.env.BENCH_SINK_EVENTS ?? 100_000);

interface Measurement {
  events: number;
  spoolMs: number;
  deliverMs: number;
  maxRssMiB: number;
  /** CPU time of the shelflife process while delivering: below the wall time, the receiver is the limit. */
  deliverCpuMs: number;
}

function* generate(n: number, scanId: string): Generator<SinkEvent> {
  const result = { scan: { id: scanId, startedAt: '2026-11-28T10:00:00.000Z', finishedAt: '2026-11-28T10:05:00.000Z', targets: ['/srv/fw'] } } as ScanResult;
  for (let i = 0; i < n; i++) {
    const f = sampleFinding(i);
    yield findingEvent(result, sampleArtifact(i, [f]), f);
  }
}

/** Child: spool n events and deliver them to the rsyslog TLS port given in argv. */
async function child(n: number, port: number, ca: string, scanId: string): Promise<void> {
  const root = mkdtempSync(join(tmpdir(), 'shelflife-bench-spool-'));
  const config = { url: `syslog+tls://127.0.0.1:${port}`, ca };
  const spool = sinkSpoolFor(config, root);
  let t = performance.now();
  const spooled = spool.append(scanId, generate(n, scanId));
  const spoolMs = performance.now() - t;
  const transport = createTransport(config);
  t = performance.now();
  const cpu = process.cpuUsage();
  const r = await deliverSpool(spool, transport, { retryForMs: 60_000 });
  const deliverMs = performance.now() - t;
  const used = process.cpuUsage(cpu);
  const deliverCpuMs = (used.user + used.system) / 1000;
  await transport.close();
  rmSync(root, { recursive: true, force: true });
  if (r.error || r.delivered !== spooled) throw new Error(`delivery incomplete: ${JSON.stringify(r)}`);
  const m: Measurement = { events: spooled, spoolMs, deliverMs, deliverCpuMs, maxRssMiB: process.resourceUsage().maxRSS / 1024 };
  process.stdout.write(`${JSON.stringify(m)}\n`);
}

async function countArrived(log: string, scanId: string): Promise<{ lines: number; unique: number }> {
  const ids = new Set<string>();
  let lines = 0;
  const rl = createInterface({ input: createReadStream(log) });
  for await (const line of rl) {
    if (!line.includes(scanId)) continue;
    lines++;
    const m = /externalId=([0-9a-f]{64})/.exec(line);
    if (m) ids.add(m[1]);
  }
  return { lines, unique: ids.size };
}

async function main(): Promise<void> {
  if (process.argv[2] === '--child') return child(Number(process.argv[3]), Number(process.argv[4]), process.argv[5], process.argv[6]);
  const { info, child: rsyslog } = await privateRsyslog({ directQueue: process.env.BENCH_SINK_DIRECT_QUEUE === '1' });
  console.log(
    `load average ${(await import('node:os'))
      .loadavg()
      .map((l) => l.toFixed(1))
      .join(' ')} on ${(await import('node:os')).cpus().length} CPUs`,
  );
  try {
    const results: Measurement[] = [];
    for (const n of [Math.round(EVENTS / 10), EVENTS, ...(process.env.BENCH_SINK_SCALE ? [EVENTS * 3] : [])]) {
      const scanId = `bench-${n}-${Date.now()}`;
      const r = spawnSync(process.execPath, [...process.execArgv, import.meta.filename, '--child', String(n), String(info.ports.tls), info.pki.ca, scanId], {
        encoding: 'utf8',
        maxBuffer: 1 << 20,
      });
      if (r.status !== 0) throw new Error(`child failed: ${r.stderr}`);
      const m = JSON.parse(r.stdout.trim().split('\n').pop()!) as Measurement;
      await new Promise((res) => setTimeout(res, 500));
      const arrived = await countArrived(info.logs.tls, scanId);
      results.push(m);
      console.log(
        `${m.events.toLocaleString('en')} events: spool ${(m.events / (m.spoolMs / 1000)).toFixed(0)} events/s (${(m.spoolMs / 1000).toFixed(2)} s), ` +
          `deliver over TLS ${(m.events / (m.deliverMs / 1000)).toFixed(0)} events/s (${(m.deliverMs / 1000).toFixed(2)} s wall, ${(m.deliverCpuMs / 1000).toFixed(2)} s CPU in shelflife), ` +
          `end to end ${(m.events / ((m.spoolMs + m.deliverMs) / 1000)).toFixed(0)} events/s, peak RSS ${m.maxRssMiB.toFixed(0)} MiB; ` +
          `rsyslog wrote ${arrived.lines.toLocaleString('en')} lines, ${arrived.unique.toLocaleString('en')} unique ids`,
      );
      if (arrived.unique !== m.events) throw new Error(`rsyslog has ${arrived.unique} of ${m.events} events`);
    }
    console.log(`peak RSS by events: ${results.map((r) => `${r.events.toLocaleString('en')} → ${r.maxRssMiB.toFixed(0)} MiB`).join(', ')}`);
  } finally {
    await stopRsyslog(rsyslog);
    rmSync(info.dir, { recursive: true, force: true });
  }
}

await main();
