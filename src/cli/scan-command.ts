/**
 * `shelflife scan <targets…>`: walk, fingerprint, (score), and render or write the inventory.
 * @module
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { dirname } from 'node:path';
import { type Command, Option } from 'commander';
import { UsageError } from '../errors.js';
import { DETECTORS } from '../detectors/index.js';
import type { ScanResult } from '../model.js';
import { isReportFormat, REPORTERS } from '../report/index.js';
import { formatBytes } from '../report/table.js';
import { scan, type ScanOptions } from '../scan/scan.js';

export interface ScanCliOptions {
  format?: string;
  output?: string;
  include?: string[];
  exclude?: string[];
  detectors?: string;
  concurrency?: string;
  quiet?: boolean;
  progress?: boolean;
}

const collectList = (v: string, prev: string[] = []) => [...prev, v];

export function registerScan(program: Command): void {
  program
    .command('scan')
    .description('scan files, directories and archives for signatures, certificates, keys and encrypted data')
    .argument('<targets...>', 'paths or URIs to scan')
    .addOption(new Option('-f, --format <format>', 'output format (default: table on a terminal, json otherwise)').choices(Object.keys(REPORTERS)))
    .option('-o, --output <file>', 'write the report to a file instead of stdout')
    .option('--include <glob>', 'only scan files matching this glob (repeatable)', collectList)
    .option('--exclude <glob>', 'skip files matching this glob (repeatable)', collectList)
    .option('--detectors <list>', 'select detectors: "+x509,+keys" for only these, "-ssh" to drop one')
    .option('--concurrency <n>', 'top-level artifacts read in parallel', '4')
    .option('-q, --quiet', 'print nothing but errors (use with -o)')
    .option('--no-progress', 'no progress line on stderr')
    .action(async (targets: string[], opts: ScanCliOptions) => {
      const code = await runScanCommand(targets, opts);
      process.exitCode = code;
    });
}

export function parseDetectorSelection(spec: string | undefined): ScanOptions['detectors'] {
  if (!spec) return undefined;
  const known = new Set(DETECTORS.map((d) => d.format));
  const only = new Set<string>();
  const skip = new Set<string>();
  for (const raw of spec.split(',').map((s) => s.trim()).filter(Boolean)) {
    const sign = raw[0] === '-' ? '-' : '+';
    const name = raw.replace(/^[+-]/, '');
    if (!known.has(name)) throw new UsageError(`--detectors: unknown detector "${name}" (known: ${[...known].join(', ')})`);
    (sign === '-' ? skip : only).add(name);
  }
  return { ...(only.size ? { only } : {}), ...(skip.size ? { skip } : {}) };
}

export async function runScanCommand(targets: string[], opts: ScanCliOptions): Promise<number> {
  const format = opts.format ?? (process.stdout.isTTY && !opts.output ? 'table' : 'json');
  if (!isReportFormat(format)) throw new UsageError(`unknown format "${format}"`);
  const concurrency = Number(opts.concurrency ?? 4);
  if (!Number.isInteger(concurrency) || concurrency < 1 || concurrency > 256) throw new UsageError(`--concurrency must be a whole number from 1 to 256`);
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
  const result: ScanResult = await scan({
    targets,
    include: opts.include,
    exclude: opts.exclude,
    concurrency,
    detectors: parseDetectorSelection(opts.detectors),
    onArtifact,
  });
  if (showProgress) process.stderr.write('\r\x1b[K');
  const text = REPORTERS[format].render(result, { color: format === 'table' && !opts.output && !!process.stdout.isTTY, cwd: process.cwd() });
  if (opts.output) {
    mkdirSync(dirname(opts.output), { recursive: true });
    writeFileSync(opts.output, text);
    if (!opts.quiet) {
      const s = result.scan.stats;
      process.stderr.write(`shelflife: ${s.artifacts} artifacts, ${formatBytes(s.bytes)}, ${s.findings} findings, ${s.errors} errors → ${opts.output}\n`);
    }
  } else if (!opts.quiet) {
    process.stdout.write(text);
  }
  return 0;
}
