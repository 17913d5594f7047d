/**
 * `shelflife resign <scan.json> --key <base> [filters] [--dry-run]`: add a hybrid signature beside every selected
 * artifact, keeping the original signature where it is. --dry-run prints the plan: which, where, why.
 * @module
 */
import { readFileSync } from 'node:fs';
import { type Command, Option } from 'commander';
import { UsageError } from '../errors.js';
import { displayText, safeJson } from '../report/text.js';
import { loadSigningIdentity } from '../resign/keyfiles.js';
import { makePlan, parseSeverity, parseStatus, readScan, type Plan, type Selection } from '../resign/plan.js';
import { SignerPool } from '../resign/pool.js';
import { runResign, type ResignOutcome } from '../resign/resign.js';
import type { SignatureFormat } from '../resign/writers/types.js';

export interface ResignCliOptions {
  key?: string;
  minSeverity?: string;
  status?: string[];
  class?: string[];
  findingFormat?: string[];
  uri?: string[];
  signature: SignatureFormat;
  dryRun?: boolean;
  jobs?: string;
  json?: boolean;
}

const collect = (v: string, prev: string[] = []) => [...prev, v];

export function registerResign(program: Command): void {
  program
    .command('resign')
    .description('write hybrid (composite ML-DSA) signatures beside the artifacts a scan selected; originals untouched')
    .argument('<scan>', 'a scan report (shelflife scan --format json)')
    .option('--key <base>', 'signing key: <base>.key (encrypted) and <base>.crt')
    .option('--min-severity <level>', 'only artifacts at or above this exposure severity')
    .option('--status <list>', 'quantum status of a finding that selects an artifact (default: vulnerable,unsigned; repeatable)', collect)
    .option('--class <class>', 'only artifacts of this class (repeatable)', collect)
    .option('--finding-format <format>', 'only artifacts with a finding of this format, e.g. x509, cms (repeatable)', collect)
    .option('--uri <glob>', 'only artifacts whose URI matches (repeatable)', collect)
    .addOption(new Option('--signature <kind>', 'p7s: detached CMS sidecar; dsse: JSON bundle').choices(['p7s', 'dsse']).default('p7s'))
    .option('--dry-run', 'print the plan and write nothing')
    .option('--jobs <n>', 'signing threads (default: one per core)')
    .option('--json', 'print the plan or the outcome as JSON')
    .action(async (scanPath: string, opts: ResignCliOptions) => {
      process.exitCode = await runResignCommand(scanPath, opts);
    });
}

export function selectionFrom(opts: ResignCliOptions): Selection {
  return {
    ...(opts.minSeverity ? { minSeverity: parseSeverity(opts.minSeverity) } : {}),
    ...(opts.status?.length ? { status: parseStatus(opts.status) } : {}),
    ...(opts.class?.length ? { classes: opts.class } : {}),
    ...(opts.findingFormat?.length ? { formats: opts.findingFormat } : {}),
    ...(opts.uri?.length ? { uriGlobs: opts.uri } : {}),
  };
}

export async function runResignCommand(scanPath: string, opts: ResignCliOptions): Promise<number> {
  let text: string;
  try {
    text = readFileSync(scanPath, 'utf8');
  } catch (e) {
    throw new UsageError(`cannot read the scan: ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}`, { uri: scanPath });
  }
  const plan = makePlan(readScan(text, scanPath), selectionFrom(opts), opts.signature ?? 'p7s');
  if (opts.dryRun) {
    process.stdout.write(opts.json ? `${safeJson(planJson(plan), 2)}\n` : renderPlan(plan));
    return 0;
  }
  if (!opts.key) throw new UsageError('--key <base> is required to sign (or use --dry-run to see the plan)');
  const jobs = opts.jobs === undefined ? undefined : Number(opts.jobs);
  if (jobs !== undefined && (!Number.isInteger(jobs) || jobs < 0 || jobs > 64)) throw new UsageError('--jobs must be a whole number from 0 to 64');
  const { key, cert } = loadSigningIdentity(opts.key);
  // One small artifact does not pay for starting threads.
  const pool = new SignerPool(key, jobs ?? (plan.items.length > 1 ? undefined : 0));
  let outcomes: ResignOutcome[];
  try {
    outcomes = await runResign(plan, {
      key,
      cert,
      format: opts.signature ?? 'p7s',
      pool,
      onOutcome: opts.json ? undefined : (o) => process.stdout.write(renderOutcome(o)),
    });
  } finally {
    await pool.close();
  }
  const count = (s: ResignOutcome['status']) => outcomes.filter((o) => o.status === s).length;
  if (opts.json) process.stdout.write(`${safeJson({ outcomes }, 2)}\n`);
  process.stderr.write(`shelflife: ${count('signed')} signed, ${count('skipped')} already signed, ${count('refused')} refused, ${count('failed')} failed\n`);
  return count('refused') + count('failed') > 0 ? 1 : 0;
}

function renderOutcome(o: ResignOutcome): string {
  const where = o.location ? ` → ${o.location}` : '';
  return `${displayText(`${o.status.padEnd(7)} ${o.uri}${where}${o.status === 'signed' ? '' : `: ${o.reason}`}`)}\n`;
}

function planJson(plan: Plan) {
  return {
    sign: plan.items.map((i) => ({
      uri: i.uri,
      sha256: i.sha256,
      why: i.why,
      writer: i.writer.kind,
      signature: i.locations[0]?.uri,
      alternate: i.locations[1]?.uri,
    })),
    refused: plan.refused,
    notSelected: plan.notSelected,
  };
}

export function renderPlan(plan: Plan): string {
  const lines = [`plan: ${plan.items.length} to sign, ${plan.refused.length} refused, ${plan.notSelected} not selected`];
  for (const i of plan.items)
    lines.push(
      `sign    ${i.uri}`,
      `        why:   ${i.why}`,
      `        where: ${i.locations[0]?.uri} (${i.writer.kind} writer${i.locations[1] ? `; if taken by another signature: ${i.locations[1].uri}` : ''})`,
    );
  for (const r of plan.refused) lines.push(`refuse  ${r.uri}: ${r.reason}`);
  return `${lines.map(displayText).join('\n')}\n`;
}
