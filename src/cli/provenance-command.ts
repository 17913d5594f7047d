/**
 * `shelflife provenance <model>`: for the model an endpoint serves, what it came from, when and against what it
 * was last evaluated, whether it is the approved version, and whether it changed since it was signed
 * (docs/provenance.md). `--require` turns it into an admission check (exit 1 when one does not hold).
 * `shelflife provenance serve --model DIR --listen 127.0.0.1:9464`: the same answer over HTTP for a sidecar.
 * @module
 */
import { writeFileSync } from 'node:fs';
import { makeDirectory } from '../directory.js';
import { dirname } from 'node:path';
import { type Command, Option } from 'commander';
import { UsageError } from '../errors.js';
import type { InventoryLookup, ProvenanceOptions } from '../provenance/answer.js';
import { PROVENANCE_FORMATS, parseRequirements, renderProvenance, unmet, type ProvenanceFormat } from '../provenance/render.js';
import { loadTrust } from '../provenance/trust.js';
import { EXIT } from './exit.js';

interface CommonOptions {
  trust?: string;
  evidence?: string[];
  ignore?: string[];
  signature?: string;
  db?: string;
  now?: string;
  plainHttp?: boolean;
  registryCa?: string[];
}

interface ProvenanceCliOptions extends CommonOptions {
  require?: string[];
  format?: ProvenanceFormat;
  output?: string;
}

const collect = (v: string, prev: string[] = []) => [...prev, v];

function common(cmd: Command): Command {
  return cmd
    .option('--trust <file>', 'trust.yaml: trusted keys, certificates, Sigstore identities, and who may approve')
    .option(
      '--evidence <path>',
      'attestations kept outside the model: a file or a directory of DSSE envelopes, *.intoto.jsonl, Sigstore bundles (repeatable)',
      collect,
    )
    .option('--ignore <path>', 'a path inside the model to leave out of its bytes, like model_signing --ignore-paths (repeatable)', collect)
    .option('--signature <file>', 'the model signature (default: model.sig in the model directory or beside the model file)')
    .option('--db <path>', 'inventory (SQLite file or postgres:// URL) for copies and retirement')
    .option('--now <date>', 'the clock for quantum exposure scoring')
    .option('--plain-http', 'oci://: allow plain HTTP to a non-loopback registry')
    .option('--registry-ca <pem>', 'oci://: trust this CA certificate file for the registry (repeatable)', collect);
}

export function registerProvenance(program: Command): void {
  const cmd = program
    .command('provenance')
    .description('answer for a model: lineage, last evaluation, approval, integrity since signing, retirement, copies, quantum exposure')
    .argument('[model]', 'a model directory or file, oci://host/repo:tag|@sha256:… (ModelPack, KitOps, Docker model), or s3://bucket/prefix/')
    .addOption(new Option('--format <format>', 'output format').choices([...PROVENANCE_FORMATS]))
    .option(
      '--require <list>',
      `exit 1 unless these hold (comma-separated or repeated): integrity, approved, signed, lineage, evaluation, not-retired, quantum-safe`,
      collect,
    )
    .option('-o, --output <file>', 'write the answer to a file instead of stdout');
  common(cmd).action(async (model: string | undefined, opts: ProvenanceCliOptions) => {
    if (!model) throw new UsageError('provenance: name a model directory or file (or use `provenance serve`)');
    process.exitCode = await runProvenance(model, opts);
  });
  common(
    cmd
      .command('serve')
      .description('serve GET /provenance for one model over HTTP (read-only; loopback by default)')
      .requiredOption('--model <path>', 'the model directory or file the inference server has loaded')
      .option('--listen <host:port>', 'address to listen on', '127.0.0.1:9464'),
  ).action(async (opts: CommonOptions & { model: string; listen: string }) => {
    const { host, port } = parseListen(opts.listen);
    const { serveProvenance } = await import('../provenance/serve.js');
    const s = await serveProvenance({ ...(await libraryOptions(opts)), model: opts.model, host, port });
    process.stderr.write(`shelflife: serving the provenance of ${opts.model} at ${s.url}/provenance\n`);
    await new Promise<void>((done) => {
      const stop = () => void s.close().then(done);
      process.once('SIGINT', stop);
      process.once('SIGTERM', stop);
    });
  });
}

export function parseListen(listen: string): { host: string; port: number } {
  const m = /^(?:\[([0-9a-fA-F:.]+)\]|([^:]+)):(\d{1,5})$/.exec(listen);
  const port = m ? Number(m[3]) : NaN;
  if (!m || port > 65535) throw new UsageError(`--listen: "${listen}" is not host:port (e.g. 127.0.0.1:9464)`);
  return { host: m[1] ?? m[2], port };
}

async function libraryOptions(opts: CommonOptions): Promise<ProvenanceOptions> {
  const now = opts.now ? new Date(opts.now) : undefined;
  if (now && !Number.isFinite(now.getTime())) throw new UsageError(`--now: "${opts.now}" is not a date`);
  return {
    ...(opts.trust ? { trust: loadTrust(opts.trust) } : {}),
    ...(opts.evidence?.length ? { evidence: opts.evidence } : {}),
    ...(opts.ignore?.length ? { ignore: opts.ignore } : {}),
    ...(opts.signature ? { signature: opts.signature } : {}),
    ...(opts.plainHttp || opts.registryCa?.length
      ? { remote: { ...(opts.plainHttp ? { plainHttp: true } : {}), ...(opts.registryCa?.length ? { registryCa: opts.registryCa } : {}) } }
      : {}),
    ...(opts.db ? { inventory: await inventoryLookup(opts.db) } : {}),
    ...(now ? { now } : {}),
  };
}

async function inventoryLookup(db: string): Promise<InventoryLookup> {
  const { Inventory } = await import('../inventory/inventory.js');
  const inv = await Inventory.open(db);
  // The CLI runs one answer per process: the inventory closes when the process ends.
  process.once('beforeExit', () => void inv.close());
  const { inventoryLookup: lookup } = await import('../provenance/inventory-lookup.js');
  return lookup(inv);
}

export async function runProvenance(model: string, opts: ProvenanceCliOptions): Promise<number> {
  const required = parseRequirements(opts.require ?? []);
  const { answerProvenance } = await import('../provenance/answer.js');
  const answer = await answerProvenance(model, await libraryOptions(opts));
  const format: ProvenanceFormat = opts.format ?? (opts.output || !process.stdout.isTTY ? 'json' : 'table');
  const text = renderProvenance(answer, format);
  if (opts.output) {
    makeDirectory(dirname(opts.output));
    writeFileSync(opts.output, text);
  } else process.stdout.write(text);
  const failed = unmet(answer, required);
  for (const r of failed) process.stderr.write(`shelflife: requirement not met: ${r}\n`);
  return failed.length ? EXIT.FINDINGS : EXIT.OK;
}
