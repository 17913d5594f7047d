/**
 * Inventory commands: `where`, `diff`, `retire`, `report`, `history`, and the `--db/--no-db/--full` flags of `scan`.
 * @module
 */
import { writeFileSync } from 'node:fs';
import { makeDirectory } from '../directory.js';
import { dirname } from 'node:path';
import { type Command, Option } from 'commander';
// The inventory (Kysely, SQLite/PostgreSQL drivers) loads only when a command touches it.
import type { Inventory, ScanDiff } from '../inventory/inventory.js';
import { defaultInventoryPath } from '../inventory/paths.js';

const openInventory = async (path: string): Promise<Inventory> => (await import('../inventory/inventory.js')).Inventory.open(path);
import { SEVERITIES, type Severity } from '../model.js';
import { FORMAT_NAMES, REPORTERS, reportFormat, shortName } from '../report/index.js';
import { displayText, displayUri, safeJson } from '../report/text.js';
import { retiredLines } from '../report/table.js';
import { errorMessage, UsageError } from '../errors.js';
import { artifactRef } from './artifact-ref.js';
import { EXIT } from './exit.js';

const dbOption = () =>
  new Option('--db <path>', `inventory database: a SQLite file or a postgres:// URL (default ${defaultInventoryPath()}, or $SHELFLIFE_DB)`);

async function withInventory<T>(db: string | undefined, fn: (inv: Inventory) => Promise<T>): Promise<T> {
  const inv = await openInventory(db ?? defaultInventoryPath());
  try {
    return await fn(inv);
  } finally {
    await inv.close();
  }
}

function emit(text: string, output?: string): void {
  if (output) {
    makeDirectory(dirname(output));
    writeFileSync(output, text);
  } else process.stdout.write(text);
}

export function renderDiff(d: ScanDiff, cwd = process.cwd()): string {
  const line = (
    sign: string,
    e: { uri: string; finding: { kind: string; algorithm: { id: string; hash?: string }; exposure?: { severity: Severity } } },
    extra = '',
  ) =>
    `${sign} ${(e.finding.exposure?.severity ?? 'none').padEnd(8)} ${e.finding.kind.padEnd(14)} ${(e.finding.algorithm.id + (e.finding.algorithm.hash ? ` / ${e.finding.algorithm.hash}` : '')).padEnd(28)} ${displayUri(e.uri, cwd)}${extra}`;
  const out: string[] = [`diff ${d.from.id} (${d.from.finishedAt}) → ${d.to.id} (${d.to.finishedAt})`, ''];
  if (d.unread?.length) {
    // First: a comparison with a partial scan must not read as "everything under it was resolved".
    const nc = d.notCompared ?? { findings: 0, artifacts: 0 };
    out.push(
      `PARTIAL: the later scan could not read ${d.unread.length} location${d.unread.length === 1 ? '' : 's'}; ${nc.findings} finding${nc.findings === 1 ? '' : 's'} and ${nc.artifacts} artifact${nc.artifacts === 1 ? '' : 's'} under ${d.unread.length === 1 ? 'it' : 'them'} are not compared (neither resolved nor gone):`,
    );
    for (const u of d.unread) out.push(`! unread   ${u.code.padEnd(14)} ${displayUri(u.uri, cwd)}: ${u.message}`);
    out.push('');
  }
  // Retired artifacts the later scan still found: a section of their own, before the findings (issue 16 item 10).
  const retired = retiredLines(d.retired ?? [], cwd);
  if (retired.length) out.push(...retired, '');
  out.push(
    `${d.newFindings.length} new, ${d.resolvedFindings.length} resolved, ${d.changedFindings.length} changed findings; ${d.newArtifacts.length} new and ${d.disappearedArtifacts.length} disappeared artifacts`,
    '',
  );
  for (const e of d.newFindings) out.push(line('+', e));
  for (const e of d.changedFindings) out.push(line('~', e, `  (was ${e.before?.exposure?.severity ?? 'none'})`));
  for (const e of d.resolvedFindings) out.push(line('-', e));
  for (const u of d.disappearedArtifacts) out.push(`- artifact gone: ${displayUri(u, cwd)}`);
  // Signatures lost or gained (docs/coverage.md): a deleted signature file is a change, not silence.
  const names = (c: { signatures: string[] }) => (c.signatures.length ? ` (${c.signatures.map((u) => shortName(u)).join(', ')})` : '');
  if (d.coverageLost.length || d.coverageGained.length)
    out.push('', `${d.coverageLost.length} artifacts lost a signature, ${d.coverageGained.length} gained one`);
  for (const c of d.coverageLost)
    out.push(
      `- signature lost:   ${displayUri(c.uri, cwd)}${names(c)}: now ${c.after.signed === false ? 'unsigned' : (c.after.coverage ?? 'not covered')}${c.before.migration && !c.after.migration ? ', no longer hybrid-signed' : ''}`,
    );
  for (const c of d.coverageGained)
    out.push(`+ signature gained: ${displayUri(c.uri, cwd)}${names(c)}: now ${c.after.migration ?? c.after.coverage ?? 'signed'}`);
  return `${out.map(displayText).join('\n')}\n`;
}

export function registerInventoryCommands(program: Command): void {
  program
    .command('where')
    .description('every place the same bytes were seen, across all stores and scans')
    .argument('<sha256|path|uri>', 'a content digest, or an artifact the inventory has seen: a path, a URI, <container>!/<member>')
    .addOption(dbOption())
    .addOption(new Option('-f, --format <format>', 'output format').choices(['text', 'json']).default('text'))
    .action(async (query: string, opts: { db?: string; format: string }) => {
      await withInventory(opts.db, async (inv) => {
        // A digest, or an artifact named as `explain` names it: a path (relative or absolute), a URI, a member.
        const digest = /^(sha256:)?[0-9a-f]{64}$/i.test(query);
        const w = await inv.where(digest ? query : artifactRef(query).uri);
        if (opts.format === 'json') return emit(`${safeJson(w, 2)}\n`);
        const lines = [
          `sha256:${w.sha256}: ${w.kind === 'model' ? 'a signed model (root digest), ' : ''}${w.locations.length} location${w.locations.length === 1 ? '' : 's'}`,
        ];
        if (w.retired) lines.push(`RETIRED ${w.retired.at}: ${w.retired.reason}`);
        for (const l of w.locations)
          lines.push(`  ${l.store.padEnd(6)} ${displayUri(l.uri)}  (first seen ${l.firstSeen.slice(0, 10)}, last seen ${l.lastSeen.slice(0, 10)})`);
        emit(`${lines.map(displayText).join('\n')}\n`);
      });
    });

  program
    .command('diff')
    .description(
      'new, resolved and changed findings, and signatures lost or gained, since an earlier scan; exit 1 when a new or worse finding reaches --fail-on or a signature was lost, 5 when the later scan is partial',
    )
    .option('--since <scan-id|date>', 'the scan to compare with (default: the one before --scan)')
    .option('--scan <scan-id>', 'the later scan (default: the latest)')
    .addOption(new Option('--fail-on <severity>', 'exit 1 if a new or worsened finding is at least this severe').choices(SEVERITIES as string[]).default('low'))
    .addOption(new Option('-f, --format <format>', 'output format').choices(['text', 'json']).default('text'))
    .addOption(dbOption())
    .action(async (opts: { since?: string; scan?: string; failOn: Severity; format: string; db?: string }) => {
      const d = await withInventory(opts.db, async (inv) => {
        const to = await inv.resolveScan(opts.scan, 'latest');
        let from: string;
        if (opts.since) from = await inv.resolveScan(opts.since);
        else {
          const all = await inv.scans(10_000);
          const i = all.findIndex((s) => s.id === to);
          if (i <= 0) throw new UsageError('no earlier scan to compare with (use --since)');
          from = all[i - 1].id;
        }
        return inv.diff(from, to);
      });
      emit(opts.format === 'json' ? `${safeJson(d, 2)}\n` : renderDiff(d));
      const worse = [
        ...d.newFindings,
        ...d.changedFindings.filter(
          (e) => SEVERITIES.indexOf(e.finding.exposure?.severity ?? 'none') > SEVERITIES.indexOf(e.before?.exposure?.severity ?? 'none'),
        ),
      ];
      const threshold = SEVERITIES.indexOf(opts.failOn);
      const { worstSeverity } = await import('../inventory/inventory.js');
      // A comparison with a partial scan is incomplete whatever it shows (EXIT.INCOMPLETE first, as for scan). A signature
      // lost is a regression whatever its severity: the artifact can no longer be shown to be the one signed.
      process.exitCode = d.unread?.length
        ? EXIT.INCOMPLETE
        : (worse.length && SEVERITIES.indexOf(worstSeverity(worse)) >= threshold) || d.coverageLost.length
          ? EXIT.FINDINGS
          : EXIT.OK;
    });

  program
    .command('retire')
    .description('record that an artifact (or a signed model, by its root digest) is retired; later scans flag every copy still around')
    .argument('<sha256>', "content digest of the retired artifact, or a model's OpenSSF Model Signing root digest")
    .requiredOption('--reason <text>', 'why it was retired (kept for the audit trail)')
    .option('-o, --output <file>', 'also write the CycloneDX 1.6 lifecycle record (phase decommission) to this file')
    .addOption(dbOption())
    .action(async (digest: string, opts: { reason: string; db?: string; output?: string }) => {
      const at = new Date().toISOString();
      const record = await withInventory(opts.db, async (inv) => {
        if (!(await inv.retire(digest, opts.reason, at))) return undefined;
        return inv.where(digest);
      });
      if (!record) throw new UsageError(`retire: ${digest} is not in the inventory (scan it first)`);
      process.stderr.write(`shelflife: retired sha256:${record.sha256}${record.kind === 'model' ? ' (a model)' : ''}\n`);
      if (opts.output) {
        const { decommissionRecord } = await import('../provenance/cyclonedx.js');
        const bom = decommissionRecord({
          sha256: record.sha256,
          kind: record.kind ?? 'artifact',
          locations: record.locations.map((l) => l.uri),
          reason: opts.reason,
          at,
        });
        emit(`${safeJson(bom, 2)}\n`, opts.output);
      }
    });

  program
    .command('report')
    .description('render a recorded scan in any format (the HTML report includes the trend over past scans)')
    .addOption(new Option('-f, --format <format>', 'report format').choices([...FORMAT_NAMES]).default('html'))
    .option('--scan <scan-id|date>', 'which scan (default: the latest)')
    .option('-o, --output <file>', 'write to a file instead of stdout')
    .addOption(dbOption())
    .action(async (opts: { format: string; scan?: string; output?: string; db?: string }) => {
      const format = reportFormat(opts.format);
      if (!format) throw new UsageError(`unknown format "${opts.format}"`);
      await withInventory(opts.db, async (inv) => {
        const id = await inv.resolveScan(opts.scan);
        const result = await inv.loadScan(id);
        const history = (await inv.scans(100)).filter((s) => s.finishedAt <= result.scan.finishedAt);
        emit(REPORTERS[format].render(result, { cwd: process.cwd(), history, color: false }), opts.output);
      });
    });

  program
    .command('history')
    .description('recorded scans, oldest first')
    .addOption(dbOption())
    .addOption(new Option('-f, --format <format>', 'output format').choices(['text', 'json']).default('text'))
    .action(async (opts: { db?: string; format: string }) => {
      const scans = await withInventory(opts.db, (inv) => inv.scans(1000));
      if (opts.format === 'json') return emit(`${safeJson(scans, 2)}\n`);
      emit(
        scans
          .map((s) =>
            displayText(
              `${s.id}  ${s.finishedAt}  ${s.stats.artifacts} artifacts  ${s.stats.findings} findings  critical ${s.bySeverity.critical}, high ${s.bySeverity.high}  ${s.targets.join(' ')}`,
            ),
          )
          .join('\n') + '\n',
      );
    });
}

/** `scan` flags for the inventory (added by scan-command). */
export function addInventoryFlags(cmd: Command): void {
  cmd
    .addOption(dbOption())
    .option('--no-db', 'do not record this scan in the inventory')
    .option('--full', 're-read every artifact, even those unchanged since the last scan');
}

/** Open the scan's inventory, or say why not and go on without one (a scan never fails for want of a database). */
/**
 * The inventory a scan records into. An inventory the user named (`--db`, the config's `db`, `$SHELFLIFE_DB`) that
 * cannot be opened is an operational failure: the scan still runs and reports, then exits 6 (`failed` is set). The
 * default one only warns: a first run on a machine without a writable home still scans.
 */
export async function openScanInventory(opts: { db?: string | boolean }): Promise<{ inventory?: Inventory; failed?: string }> {
  if (opts.db === false) return {};
  const named = typeof opts.db === 'string' || !!process.env.SHELFLIFE_DB;
  const path = typeof opts.db === 'string' ? opts.db : defaultInventoryPath();
  try {
    return { inventory: await openInventory(path) };
  } catch (e) {
    process.stderr.write(
      `shelflife: ${named ? 'error' : 'warning'}: inventory unavailable, this scan is not recorded: ${errorMessage(e)}\nshelflife: hint: pass --db <path>, or --no-db to scan without one\n`,
    );
    return named ? { failed: errorMessage(e) } : {};
  }
}
