/**
 * `shelflife scan <targets…>`: walk, fingerprint, (score), and render or write the inventory.
 * @module
 */
import { type Command, Option } from 'commander';
import { configureScan } from '../config.js';
import { UsageError } from '../errors.js';
import { DETECTORS } from '../detectors/index.js';
import type { ScanResult } from '../model.js';
import { FORMAT_NAMES, REPORTERS, reportFormat } from '../report/index.js';
import { formatRead } from '../report/table.js';
import { reportText, writeReportFile, writeReports } from '../report/write.js';
import { displayText, displayUri } from '../report/text.js';
import { scan, type ScanOptions } from '../scan/scan.js';
import { MAX_THREADS, validThreads } from '../scan/detect-pool.js';
import { reaches } from '../scoring/index.js';
import { EXIT } from './exit.js';
import { addInventoryFlags, openScanInventory } from './inventory-commands.js';
import { addScoringFlags, scoringFromFlags, type ScoringCliOptions } from './scoring-flags.js';
import { addSinkFlags, deliverToSinks, sinkConfigsFromFlags } from './sinks-command.js';
import type { EventFormat } from '../report/event.js';
import type { Inventory } from '../inventory/inventory.js';

export interface ScanCliOptions extends ScoringCliOptions {
  format?: string;
  trust?: string;
  evidence?: string[];
  output?: string;
  include?: string[];
  exclude?: string[];
  detectors?: string;
  concurrency?: string;
  threads?: string;
  quiet?: boolean;
  progress?: boolean;
  allRepositories?: boolean;
  versions?: boolean;
  layers?: boolean;
  digest?: string;
  plainHttp?: boolean;
  followSymlinks?: boolean;
  registryCa?: string[];
  suite?: string;
  fetch?: string;
  ca?: string[];
  keyring?: string[];
  timeout?: string;
  deadline?: string;
  followRedirects?: string[];
  registryAuthHost?: string[];
  db?: string | boolean;
  full?: boolean;
  sink?: string[];
  sinkFormat?: EventFormat;
  sinkTokenEnv?: string;
  sinkTokenFile?: string;
  sinkCa?: string;
  sinkCert?: string;
  sinkKey?: string;
  onlyChanged?: boolean;
  queue?: string;
  queueName?: string;
  detach?: boolean;
  hostConcurrency?: string;
  unitSize?: string;
}

const collectList = (v: string, prev: string[] = []) => [...prev, v];

export function registerScan(program: Command): void {
  const cmd = program
    .command('scan')
    .description('scan files, directories and archives for signatures, certificates, keys and encrypted data')
    .argument('[targets...]', 'paths or URIs to scan (default: scan.targets of --config)')
    .addOption(new Option('-f, --format <format>', 'output format (default: table on a terminal, json otherwise)').choices([...FORMAT_NAMES]))
    .option('-o, --output <file>', 'write the report to a file instead of stdout')
    .option('--include <glob>', 'only scan files matching this glob (repeatable)', collectList)
    .option('--exclude <glob>', 'skip files matching this glob (repeatable)', collectList)
    .option('--follow-symlinks', 'read what symlinks pointing outside the scan root lead to (default: list them as skipped)')
    .option('--detectors <list>', 'select detectors: "+x509,+keys" for only these, "-ssh" to drop one')
    .option('--concurrency <n>', 'top-level artifacts read in parallel (default 4)')
    .option('--threads <n>', 'detection threads: 1 detects on the main thread (default: one per core, at most 4, for scans of many files)')
    .option('-q, --quiet', 'no progress and no summary line; the report still goes to stdout unless -o is given')
    .option('--no-progress', 'no progress line on stderr')
    .option('--all-repositories', 'oci://host: scan every repository in the registry catalog')
    .option('--versions', 's3://: also scan non-current object versions (and report delete markers)')
    .option('--layers', 'oci://: also stream image layers and scan them as archives')
    .addOption(
      new Option(
        '--digest <mode>',
        'remote objects: full = read every byte (sha256), none = read head/tail windows only, auto = full below a size threshold',
      ).choices(['full', 'none', 'auto']),
    )
    .option('--plain-http', 'oci://: allow plain HTTP to a non-loopback registry')
    .option('--registry-ca <pem>', 'oci://: trust this CA certificate file for the registry (repeatable)', collectList)
    .option('--suite <name>', 'apt+https://: the suite (dists/<name>) to walk')
    .addOption(
      new Option(
        '--fetch <what>',
        'release stores: read none of the listed objects, their signature headers only (yum default), or all of their bytes',
      ).choices(['none', 'headers', 'all']),
    )
    .option('--ca <pem>', 'release stores (apt+, yum+, lvfs+, https://): trust this CA certificate file (repeatable)', collectList)
    .option('--keyring <file>', 'apt+https://: OpenPGP keys to check the Release signers against (expiry)', collectList)
    .option('--timeout <seconds>', 'remote stores: idle timeout, waiting for an answer or between two chunks of one (default 30)')
    .option('--deadline <seconds>', 'remote stores: the longest one request may take, body included (default 600)')
    .option('--follow-redirects <hosts>', 'remote stores: other hosts a redirect may lead to (host, host:port or *.domain; repeatable)', collectList)
    .option('--trust <file>', 'signed models: trust.yaml (keys, certificates, Sigstore identities, approvers) for their provenance (docs/provenance.md)')
    .option('--evidence <path>', 'signed models: attestations kept outside the models (a file or directory; repeatable)', collectList)
    .option('--registry-auth-host <host>', 'oci://: a token-realm host (host[:port]) that may receive the registry credentials (repeatable)', collectList)
    .option('--queue <url>', 'split the scan into units for `shelflife worker`s on this queue (postgres://… or redis://…), wait, report')
    .option('--queue-name <name>', 'with --queue: the queue name (default shelflife)')
    .option('--host-concurrency <n>', 'with --queue: units on one registry or store in flight across all workers (default 4)')
    .option('--unit-size <n>', 'with --queue: directory entries per work unit of a local tree (default 256; docs/scale-out.md)')
    .option('--detach', 'with --queue: enqueue, print the scan id and return (a worker records the scan; `report --scan ID`)')
    .action(async (targets: string[], opts: ScanCliOptions) => {
      const code = await runScanCommand(targets, opts);
      process.exitCode = code;
    });
  addScoringFlags(cmd, { failOn: true });
  addInventoryFlags(cmd);
  addSinkFlags(cmd);
}

/** `--timeout`, `--deadline`, `--follow-redirects`, `--registry-auth-host` → the network options every remote source takes. */
function netFlags(opts: ScanCliOptions): Record<string, unknown> {
  const seconds = (v: string | undefined, flag: string) => {
    if (v === undefined) return undefined;
    const n = Number(v);
    if (!Number.isFinite(n) || n <= 0 || n > 86_400) throw new UsageError(`${flag} must be a number of seconds above 0 (at most 86400)`);
    return Math.round(n * 1000);
  };
  const timeoutMs = seconds(opts.timeout, '--timeout');
  const deadlineMs = seconds(opts.deadline, '--deadline');
  return {
    ...(timeoutMs ? { timeoutMs } : {}),
    ...(deadlineMs ? { deadlineMs } : {}),
    ...(opts.followRedirects?.length ? { followRedirects: opts.followRedirects } : {}),
    ...(opts.registryAuthHost?.length ? { authHosts: opts.registryAuthHost } : {}),
  };
}

export function parseDetectorSelection(spec: string | undefined): ScanOptions['detectors'] {
  if (!spec) return undefined;
  const known = new Set(DETECTORS.map((d) => d.format));
  const only = new Set<string>();
  const skip = new Set<string>();
  for (const raw of spec
    .split(',')
    .map((s) => s.trim())
    .filter(Boolean)) {
    const sign = raw[0] === '-' ? '-' : '+';
    const name = raw.replace(/^[+-]/, '');
    if (!known.has(name)) throw new UsageError(`--detectors: unknown detector "${name}" (known: ${[...known].join(', ')})`);
    (sign === '-' ? skip : only).add(name);
  }
  return { ...(only.size ? { only } : {}), ...(skip.size ? { skip } : {}) };
}

export async function runScanCommand(targets: string[], opts: ScanCliOptions): Promise<number> {
  const format = reportFormat(opts.format ?? (process.stdout.isTTY && !opts.output ? 'table' : 'json'));
  if (!format) throw new UsageError(`unknown format "${opts.format}"`);
  const concurrency = opts.concurrency === undefined ? undefined : Number(opts.concurrency);
  if (concurrency !== undefined && (!Number.isInteger(concurrency) || concurrency < 1 || concurrency > 256))
    throw new UsageError(`--concurrency must be a whole number from 1 to 256`);
  const threads = opts.threads === undefined ? undefined : Number(opts.threads);
  if (threads !== undefined && !validThreads(threads)) throw new UsageError(`--threads must be a whole number from 1 to ${MAX_THREADS}`);
  const { scoring, config, failOn, now } = scoringFromFlags(opts);
  // The config → scan options mapping is the library's (src/config.ts): the flags are the request, and win.
  const job = configureScan(config, {
    targets,
    include: opts.include,
    exclude: opts.exclude,
    concurrency,
    ...(threads !== undefined ? { threads } : {}),
    detectors: parseDetectorSelection(opts.detectors),
    sourceOptions: {
      allRepositories: opts.allRepositories,
      versions: opts.versions,
      layers: opts.layers,
      digest: opts.digest,
      plainHttp: opts.plainHttp,
      followSymlinks: opts.followSymlinks,
      ...(opts.registryCa?.length ? { registryCa: opts.registryCa } : {}),
      suite: opts.suite,
      fetch: opts.fetch,
      ...(opts.ca?.length ? { ca: opts.ca } : {}),
      ...(opts.keyring?.length ? { keyring: opts.keyring } : {}),
      ...netFlags(opts),
      ...(opts.unitSize !== undefined ? { unitEntries: unitSize(opts.unitSize) } : {}),
    },
    scoring,
    ...(now ? { now: () => now } : {}),
    ...(typeof opts.db === 'string' ? { db: opts.db } : {}),
    failOn,
  });
  Object.assign(process.env, job.env);
  const showProgress = opts.progress !== false && !opts.quiet && process.stderr.isTTY;
  let count = 0;
  let lastDraw = 0;
  const onArtifact = showProgress
    ? () => {
        count++;
        const t = Date.now();
        if (t - lastDraw > 100) {
          lastDraw = t;
          process.stderr.write(`\rshelflife: scanned ${count} artifacts…`);
        }
      }
    : undefined;
  const sinks = await sinkConfigsFromFlags(opts, job.sinks);
  const { inventory, failed: inventoryFailed } = await openScanInventory({ db: opts.db === false ? false : job.db });
  const provenance = {
    ...(opts.trust ? { trust: (await import('../provenance/trust.js')).loadTrust(opts.trust) } : {}),
    ...(opts.evidence?.length ? { evidence: opts.evidence } : {}),
  };
  let result: ScanResult;
  if (opts.queue) {
    if (!inventory) throw new UsageError('--queue needs the shared inventory the workers record into (--db postgres://…)');
    const distributed = await runQueued(opts, job.options, inventory, showProgress, provenance);
    if (!distributed) {
      await inventory.close();
      return EXIT.OK;
    }
    result = distributed;
  } else {
    if (opts.detach) throw new UsageError('--detach needs --queue');
    if (opts.unitSize !== undefined) throw new UsageError('--unit-size needs --queue');
    result = await scan({ ...job.options, inventory, full: opts.full, onArtifact, provenance });
  }
  if (showProgress) process.stderr.write('\r\x1b[K');
  // Written as it is made when the format can be (JSON: an artifact at a time), never held whole.
  const text = reportText(REPORTERS[format], result, { color: format === 'table' && !opts.output && !!process.stdout.isTTY, cwd: process.cwd() });
  if (opts.output) {
    writeReportFile(opts.output, text);
    if (!opts.quiet) {
      const s = result.scan.stats;
      process.stderr.write(`shelflife: ${s.artifacts} artifacts, ${formatRead(s)}, ${s.findings} findings, ${s.errors} errors → ${opts.output}\n`);
    }
  } else {
    // -q silences progress and the summary line, never the report the user asked for.
    if (typeof text === 'string') process.stdout.write(text);
    else for (const piece of text) process.stdout.write(piece);
  }
  writeReports(result, job.outputs, { cwd: process.cwd() });
  // The result is final (scored, recorded in the inventory): spool durably, then deliver (src/sinks/deliver.ts).
  let sinkCode: number = EXIT.OK;
  try {
    if (sinks.length) sinkCode = await deliverToSinks(result, sinks, opts, inventory);
  } finally {
    await inventory?.close();
  }
  if (result.scan.unread?.length) {
    const [first] = result.scan.unread;
    const more = result.scan.unread.length > 1 ? ` and ${result.scan.unread.length - 1} more` : '';
    process.stderr.write(
      `shelflife: error: partial scan: could not read ${displayText(displayUri(first.uri, process.cwd()))} (${displayText(first.message)})${more}; nothing under ${result.scan.unread.length > 1 ? 'them' : 'it'} was scanned\n`,
    );
    return EXIT.INCOMPLETE;
  }
  if (inventoryFailed) return EXIT.OPERATIONAL;
  if (job.failOn && reaches(result, job.failOn)) return EXIT.FINDINGS;
  return sinkCode;
}

/** `--queue`: the scan through workers (src/queue/); undefined after `--detach` (the scan id is printed). */
async function runQueued(
  opts: ScanCliOptions,
  options: ScanOptions,
  inventory: Inventory,
  showProgress: boolean,
  provenance: ScanOptions['provenance'],
): Promise<ScanResult | undefined> {
  const { distributedScan, enqueueScan } = await import('../queue/producer.js');
  const request = {
    queue: opts.queue!,
    queueName: opts.queueName,
    targets: options.targets,
    include: options.include,
    exclude: options.exclude,
    detectors: options.detectors,
    full: opts.full,
    sourceOptions: options.sourceOptions,
    concurrency: options.concurrency,
    ...(opts.hostConcurrency !== undefined ? { hostConcurrency: hostConcurrency(opts.hostConcurrency) } : {}),
    now: options.now,
    scoring: options.scoring,
    provenance,
    inventory,
    ...(showProgress
      ? {
          onProgress: (p: { unitsDone: number; artifacts: number; waiting: number; active: number; failed: number }) =>
            process.stderr.write(
              `\rshelflife: ${p.unitsDone} units done, ${p.artifacts} artifacts; ${p.waiting} waiting, ${p.active} running, ${p.failed} failed\x1b[K`,
            ),
        }
      : {}),
  };
  if (opts.detach) {
    const spec = await enqueueScan(request, 'worker');
    process.stdout.write(`${spec.scanId}\n`);
    if (!opts.quiet) process.stderr.write(`shelflife: scan ${spec.scanId} enqueued; a worker records it (shelflife report --scan ${spec.scanId})\n`);
    return undefined;
  }
  return distributedScan(request);
}

function unitSize(v: string): number {
  const n = Number(v);
  if (!Number.isInteger(n) || n < 1 || n > 1_000_000) throw new UsageError('--unit-size must be a whole number from 1 to 1000000');
  return n;
}

function hostConcurrency(v: string): number {
  const n = Number(v);
  if (!Number.isInteger(n) || n < 1 || n > 1024) throw new UsageError('--host-concurrency must be a whole number from 1 to 1024');
  return n;
}
