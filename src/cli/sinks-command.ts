/**
 * SIEM sinks on the command line: the `--sink*` flags of `scan`, and `shelflife sinks flush|status`.
 * Exit codes: a delivery that could not finish leaves its events spooled and exits 4 (EXIT.SINK_PENDING), so a
 * scheduler notices; `--fail-on` (1) and usage errors (2) keep their meaning and take precedence.
 * @module
 */
import { type Command, Option } from 'commander';
import { lstatSync } from 'node:fs';
import { join } from 'node:path';
import { UsageError } from '../errors.js';
import type { Inventory } from '../inventory/inventory.js';
import type { ScanResult } from '../model.js';
// The sink implementations (TLS, HTTP clients, spool) load only when a sink is used: `scan` without --sink never pays.
import type { DeliveryReport } from '../sinks/deliver.js';
import { EVENT_FORMATS, type EventFormat } from '../report/event.js';
import { displayText, safeJson } from '../report/text.js';
import type { SinkConfig } from '../sinks/transport.js';
import { EXIT } from './exit.js';

export interface SinkCliOptions {
  sink?: string[];
  sinkFormat?: EventFormat;
  sinkTokenEnv?: string;
  sinkTokenFile?: string;
  sinkCa?: string;
  sinkCert?: string;
  sinkKey?: string;
  sinkSpool?: string;
  sinkRetryFor?: string;
  onlyChanged?: boolean;
  /** From the scan command: the inventory and detector selection decide whether --only-changed can work. */
  db?: string | boolean;
  detectors?: string;
}

const collect = (v: string, prev: string[] = []) => [...prev, v];

export function addSinkFlags(cmd: Command): void {
  cmd
    .option(
      '--sink <url>',
      'also send events to a SIEM: syslog+tls://host:6514, syslog+tcp://, syslog+udp://, hec+https://host:8088, elastic+https://host:9200/<index> (repeatable)',
      collect,
    )
    .addOption(
      new Option('--sink-format <format>', 'event format for --sink (default: cef for syslog, json for HEC, ECS json for Elastic)').choices([...EVENT_FORMATS]),
    )
    .option('--sink-token-env <name>', 'read the sink token (HEC token, Elastic API key) from this environment variable')
    .option('--sink-token-file <path>', 'read the sink token from this file')
    .option('--sink-ca <pem>', 'trust this CA for the sink instead of the system roots')
    .option('--sink-cert <pem>', 'client certificate for the sink (TLS)')
    .option('--sink-key <pem>', 'private key of --sink-cert')
    .option('--sink-spool <dir>', 'spool directory (default $XDG_DATA_HOME/shelflife/spool or ~/.local/share/shelflife/spool)')
    .option('--sink-retry-for <seconds>', 'keep retrying an unreachable sink this long before leaving events spooled', '30')
    .option('--only-changed', 'send only findings that are new, changed or resolved since the last scan delivered to each sink');
}

/**
 * The sinks of a run: the --sink flags (with the --sink-* flags that go with them) and `configured` (a config's
 * scan.sinks; a flag for the same URL wins), each checked before a long scan (URL, token, CA files).
 */
export async function sinkConfigsFromFlags(o: SinkCliOptions, configured: SinkConfig[] = []): Promise<SinkConfig[]> {
  const urls = o.sink ?? [];
  if (!urls.length && !configured.length) {
    for (const [flag, v] of [
      ['--sink-format', o.sinkFormat],
      ['--sink-token-env', o.sinkTokenEnv],
      ['--sink-token-file', o.sinkTokenFile],
      ['--sink-ca', o.sinkCa],
      ['--sink-cert', o.sinkCert],
      ['--sink-key', o.sinkKey],
      ['--only-changed', o.onlyChanged],
    ] as const) {
      if (v) throw new UsageError(`${flag} needs --sink <url>`);
    }
    return [];
  }
  retryForMs(o);
  if (o.onlyChanged && o.db === false) throw new UsageError('--only-changed compares with the last scan delivered, which lives in the inventory: drop --no-db');
  if (o.onlyChanged && o.detectors)
    throw new UsageError('--only-changed cannot be used with --detectors: a narrowed scan would report every other finding as resolved');
  const flagged: SinkConfig[] = urls.map((url) => ({
    url,
    ...(o.sinkFormat ? { format: o.sinkFormat } : {}),
    ...(o.sinkTokenEnv ? { tokenEnv: o.sinkTokenEnv } : {}),
    // Absolute, so that messages name the file wherever the command ran.
    ...(o.sinkTokenFile ? { tokenFile: resolvePath(o.sinkTokenFile) } : {}),
    ...(o.sinkCa ? { ca: resolvePath(o.sinkCa) } : {}),
    ...(o.sinkCert ? { cert: resolvePath(o.sinkCert) } : {}),
    ...(o.sinkKey ? { key: resolvePath(o.sinkKey) } : {}),
  }));
  const configs = [...flagged, ...configured.filter((c) => !urls.includes(c.url))];
  // Fail before a long scan, not after it: bad URLs, missing tokens, unreadable CA files.
  const { createTransport } = await import('../sinks/config.js');
  for (const c of configs) void createTransport(c).close();
  return configs;
}

function resolvePath(p: string): string {
  return p.startsWith('/') ? p : join(process.cwd(), p);
}

function retryForMs(o: SinkCliOptions): number {
  const s = Number(o.sinkRetryFor ?? 30);
  if (!Number.isFinite(s) || s < 0 || s > 86_400) throw new UsageError('--sink-retry-for must be a number of seconds from 0 to 86400');
  return s * 1000;
}

function printReports(reports: DeliveryReport[], quiet: boolean): number {
  let code: number = EXIT.OK;
  for (const r of reports) {
    if (r.error) {
      code = EXIT.SINK_PENDING;
      // The receiver's reason is its text: shown, not acted on.
      process.stderr.write(`shelflife: error: ${displayText(`${r.sink}: delivery incomplete: ${r.error}`)}\n`);
      process.stderr.write(`shelflife: hint: ${r.pending} event(s) stay spooled; run \`shelflife sinks flush\` once the receiver is back\n`);
    } else if (!quiet) {
      process.stderr.write(
        `shelflife: ${r.sink}: ${r.delivered} event(s) delivered${r.rejected ? `, ${r.rejected} refused by the receiver (see the spool's rejected.ndjson)` : ''}\n`,
      );
    }
  }
  return code;
}

/** Called by `scan` once its result is final: spool for every --sink, deliver, report on stderr; the exit code. */
export async function deliverToSinks(
  result: ScanResult,
  sinks: SinkConfig[],
  o: SinkCliOptions & { quiet?: boolean },
  inventory: Inventory | undefined,
): Promise<number> {
  const { spoolAndDeliver } = await import('../sinks/deliver.js');
  const { defaultSpoolRoot } = await import('../sinks/spool.js');
  const reports = await spoolAndDeliver(result, sinks, {
    onlyChanged: !!o.onlyChanged,
    inventory,
    spoolRoot: o.sinkSpool ? resolvePath(o.sinkSpool) : defaultSpoolRoot(),
    retryForMs: retryForMs(o),
    log: o.quiet ? undefined : (l) => process.stderr.write(`shelflife: ${displayText(l)}\n`),
  });
  return printReports(reports, !!o.quiet);
}

export function registerSinks(program: Command): void {
  const sinks = program.command('sinks').description('SIEM delivery: deliver spooled events, show what is pending');
  sinks
    .command('flush')
    .description('deliver every event spooled while a SIEM was unreachable (credentials from these flags or --config, never from the spool)')
    .option('--sink <url>', 'only this sink (repeatable); the --sink-token/--sink-ca/--sink-cert flags apply to it', collect)
    .option('--sink-token-env <name>', 'read the token of the --sink URL(s) from this environment variable')
    .option('--sink-token-file <path>', 'read the token of the --sink URL(s) from this file')
    .option('--sink-ca <pem>', 'trust this CA for the --sink URL(s)')
    .option('--sink-cert <pem>', 'client certificate for the --sink URL(s)')
    .option('--sink-key <pem>', 'private key of --sink-cert')
    .option('--config <file>', "shelflife.config.yaml whose scan.sinks give the sinks' credentials")
    .option('--sink-spool <dir>', 'spool directory')
    .option('--sink-retry-for <seconds>', 'keep retrying an unreachable sink this long', '30')
    .option('-q, --quiet', 'print nothing but errors')
    .action(async (opts: SinkCliOptions & { quiet?: boolean; config?: string }) => {
      const { flushSinks } = await import('../sinks/deliver.js');
      const { defaultSpoolRoot } = await import('../sinks/spool.js');
      // The user's own sink configurations: the only source of tokens, CAs and client certificates for a flush.
      const fromConfig = opts.config ? ((await import('../config.js')).loadConfig(opts.config).scan?.sinks ?? []) : [];
      const fromFlags = await sinkConfigsFromFlags(opts);
      const reports = await flushSinks({
        spoolRoot: opts.sinkSpool ? resolvePath(opts.sinkSpool) : defaultSpoolRoot(),
        only: opts.sink,
        sinks: [...fromFlags, ...fromConfig.filter((c) => !fromFlags.some((f) => f.url === c.url))],
        retryForMs: retryForMs(opts),
        log: opts.quiet ? undefined : (l) => process.stderr.write(`shelflife: ${displayText(l)}\n`),
      });
      if (!reports.length && !opts.quiet) process.stderr.write(`shelflife: nothing spooled under ${opts.sinkSpool ?? defaultSpoolRoot()}\n`);
      process.exitCode = printReports(reports, !!opts.quiet);
    });
  sinks
    .command('status')
    .description('list sinks with events pending, last delivered scan and refused events')
    .option('--sink-spool <dir>', 'spool directory')
    .option('--json', 'machine-readable output')
    .action(async (opts: SinkCliOptions & { json?: boolean }) => {
      const { listSpooledSinks } = await import('../sinks/deliver.js');
      const { defaultSpoolRoot } = await import('../sinks/spool.js');
      const listed = listSpooledSinks(opts.sinkSpool ? resolvePath(opts.sinkSpool) : defaultSpoolRoot());
      for (const s of listed) if ('refused' in s) process.stderr.write(`shelflife: error: ${displayText(`${s.dir}: ${s.refused}`)}\n`);
      const rows = listed.flatMap((s) => {
        if ('refused' in s) return [];
        const st = s.spool.state();
        const bytes = s.spool.segments().reduce((n, seg) => n + lstatSync(join(s.dir, seg.name)).size, 0);
        return {
          sink: s.record.url,
          format: s.record.format ?? null,
          pending: s.spool.pendingCount(),
          spoolBytes: bytes,
          lastDeliveredScan: st.lastDeliveredScan,
          lastDeliveredAt: st.lastDeliveredAt,
          delivered: st.delivered,
          rejected: st.rejected,
          dir: s.dir,
        };
      });
      if (opts.json) process.stdout.write(`${safeJson(rows, 2)}\n`);
      else if (!rows.length) process.stdout.write('no sinks have spooled anything\n');
      else
        for (const r of rows)
          process.stdout.write(
            `${displayText(`${r.sink}  pending ${r.pending}  delivered ${r.delivered}  refused ${r.rejected}  last scan ${r.lastDeliveredScan ?? '-'} at ${r.lastDeliveredAt ?? '-'}`)}\n`,
          );
      process.exitCode = listed.some((s) => 'refused' in s) ? EXIT.USAGE : rows.some((r) => r.pending > 0) ? EXIT.SINK_PENDING : EXIT.OK;
    });
}
