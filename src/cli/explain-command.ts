/**
 * `shelflife explain <uri>`: the full reasoning behind one artifact's score: its class and why, lifetime, creation
 * evidence, the timeline and policies, and for each finding the Mosca terms, the probability, every missed deadline
 * and the sentence to act on. Scans the artifact's top-level target (or reads a previous `--report` JSON) and scores
 * it with the same flags as `scan`.
 * @module
 */
import { readFileSync } from 'node:fs';
import type { Command } from 'commander';
import { renderError, UsageError } from '../errors.js';
import type { ArtifactResult, Finding, ScanResult } from '../model.js';
import { displayText } from '../report/text.js';
import { scan } from '../scan/scan.js';
import { prepareScoring, scoreScan, type Classification, type ScoringSetup } from '../scoring/index.js';
import { formatWhen } from '../scoring/exposure.js';
import { artifactRef } from './artifact-ref.js';
import { addScoringFlags, scoringFromFlags, type ScoringCliOptions } from './scoring-flags.js';

export interface ExplainCliOptions extends ScoringCliOptions {
  report?: string;
}

/** Largest JSON report `--report` reads (the inventory, not the artifacts, lives in it). */
const MAX_REPORT_BYTES = 512 * 1024 * 1024;

export function registerExplain(program: Command): void {
  const cmd = program
    .command('explain')
    .description("print the full reasoning behind one artifact's exposure score")
    .argument('<uri>', 'artifact path or URI (container members as <container>!/<member>)')
    .option('--report <file>', 'read a previous `scan --format json` report instead of scanning again')
    .action(async (uri: string, opts: ExplainCliOptions) => {
      process.stdout.write(await runExplainCommand(uri, opts));
    });
  addScoringFlags(cmd);
}

/** A path or URI → the artifact URI to look for and the top-level target to scan (src/cli/artifact-ref.ts). */
export const explainTarget = artifactRef;

export async function runExplainCommand(input: string, opts: ExplainCliOptions): Promise<string> {
  const { scoring, now } = scoringFromFlags(opts);
  const { uri, target } = explainTarget(input);
  let result: ScanResult;
  if (opts.report) {
    let text: string;
    try {
      text = readFileSync(opts.report, 'utf8');
    } catch (e) {
      throw new UsageError(`--report: cannot read ${opts.report} (${(e as Error).message})`);
    }
    if (text.length > MAX_REPORT_BYTES) throw new UsageError(`--report: ${opts.report} is larger than ${MAX_REPORT_BYTES} bytes`);
    try {
      result = JSON.parse(text) as ScanResult;
    } catch (e) {
      throw new UsageError(`--report: ${opts.report} is not JSON (${(e as Error).message})`);
    }
    if (result?.schemaVersion !== '1' || !Array.isArray(result.artifacts))
      throw new UsageError(`--report: ${opts.report} is not a shelflife scan report (schemaVersion "1")`);
  } else {
    result = await scan({ targets: [target], scoring: false, ...(now ? { now: () => now } : {}), concurrency: 2 });
  }
  const setup = prepareScoring({ now: now ?? new Date(), ...scoring });
  const classifications = new Map<string, Classification>();
  scoreScan(result, scoring, setup, classifications);
  const a = result.artifacts.find((x) => x.uri === uri);
  if (!a) {
    const near = result.artifacts
      .slice(0, 10)
      .map((x) => `  ${x.uri}`)
      .join('\n');
    throw new UsageError(`not found in ${opts.report ?? target}${near ? `; artifacts there include:\n${near}` : ''}`, { uri });
  }
  return renderExplanation(a, classifications.get(a.uri)!, setup);
}

const pct = (p: unknown) => `${Math.round(Number(p) * 1000) / 10}%`;
const yrs = (n: unknown) => `${Math.round(Number(n) * 100) / 100} y`;

export function renderExplanation(a: ArtifactResult, c: Classification, setup: ScoringSetup): string {
  const L: string[] = [];
  const row = (k: string, v: string) => L.push(`${k.padEnd(10)}${v}`);
  row('artifact', a.uri);
  if (a.parent) row('parent', a.parent);
  if (a.sha256) row('sha256', a.sha256);
  if (a.mediaType) row('media', a.mediaType);
  row('class', `${c.class}  (${c.classSource})`);
  row(
    'lifetime',
    `${yrs(c.params.lifetime)} (${c.lifetime.source}); secrecy ${yrs(c.params.secrecy)} (${c.secrecySource}); migration ${yrs(c.params.migration)} (${c.migrationSource}); harvest chance per copy ${c.params.harvest}`,
  );
  row('created', `${c.created.at}  (${c.created.source})`);
  for (const e of c.evidence.slice(1)) row('', `also: ${e.at}  (${e.source})`);
  row('now', setup.nowDate.toISOString());
  row('timeline', `${setup.timeline.name}: ${setup.timeline.title}${setup.timeline.source ? ` [${setup.timeline.source}]` : ''}`);
  row('policies', setup.policies.map((p) => `${p.name} (${p.title})`).join('; '));
  if (a.signed === false) row('signed', `no: ${c.class} should carry a signature and none was found on it, inside it, around it or beside it`);
  if (a.coverage) row('coverage', `${a.coverage}${a.migration ? ` (${a.migration})` : ''}`);
  for (const l of a.signedBy ?? [])
    row(
      l.via === 'checksum' || l.via === 'model' ? 'covered' : 'signed by',
      `${l.uri}${l.index ? ` (listing it: ${l.index})` : ''}: ${l.format} ${l.algorithm}${l.hash ? ` via ${l.hash}` : ''}, ${l.verification}${l.reason ? ` (${l.reason})` : ''}${l.exposure ? `; ${l.exposure.severity} (${l.exposure.score}/100) as this ${c.class}'s protection` : ''}`,
    );
  if (a.signs?.length) row('signs', `${a.signs.slice(0, 5).join(', ')}${a.signs.length > 5 ? ` … (${a.signs.length})` : ''}: scored as part of what it signs`);
  L.push('');
  if (a.exposure) L.push(`EXPOSURE  ${a.exposure.severity} (${a.exposure.score}/100): ${a.exposure.explanation}`);
  a.findings.forEach((f, i) => {
    L.push('');
    L.push(...explainFinding(f, i));
  });
  if (a.errors.length) {
    L.push('');
    for (const e of a.errors) L.push(`error [${e.code}]: ${renderError(e, a.uri)}`);
  }
  return `${L.map(displayText).join('\n')}\n`;
}

function explainFinding(f: Finding, i: number): string[] {
  const x = f.exposure;
  const inp = (x?.inputs ?? {}) as Record<string, unknown>;
  const alg = `${f.algorithm.id}${f.algorithm.hash ? ` / ${f.algorithm.hash}` : ''}`;
  const where = [f.location.member, f.location.path, f.location.offset !== undefined ? `@${f.location.offset}` : ''].filter(Boolean).join(' ');
  const out = [`finding ${i + 1}: ${f.kind} ${f.format} ${alg} (${f.quantum.status})${where ? `  ${where}` : ''}${f.subject ? `  ${f.subject}` : ''}`];
  const size = sizeOrigin(f);
  if (size) out.push(`  ${'size'.padEnd(11)}${size}`);
  const issuer = issuerSignature(f);
  if (issuer) out.push(`  ${'issuer sig'.padEnd(11)}${issuer}`);
  if (!x) return out;
  const r = (k: string, v: string) => out.push(`  ${k.padEnd(11)}${v}`);
  if (inp.use === 'forgery') {
    r('use', 'forgery: the artifact must stay trusted until it retires (Mosca: shelf life + migration time > time to CRQC)');
    r(
      'in service',
      `until ${formatWhen(Number(inp.inServiceUntil))} (${inp.inServiceUntilSource}); ${yrs(inp.remainingYears)} left + ${yrs(inp.migrationYears)} to migrate → horizon ${formatWhen(Number(inp.horizon))}`,
    );
    if (inp.yearsToCrqc !== undefined) {
      const lhs = Number(inp.remainingYears) + Number(inp.migrationYears);
      r(
        'Mosca',
        `${yrs(lhs)} ${inp.moscaExposed ? '>' : '≤'} ${yrs(inp.yearsToCrqc)} to the CRQC (${inp.yearsToCrqcMeaning}) → ${inp.moscaExposed ? 'exposed' : 'not exposed'}`,
      );
    }
    r('P(CRQC)', `${pct(inp.probability)} before ${formatWhen(Number(inp.horizon))} (${inp.timeline})`);
  } else {
    r('use', 'harvest now, decrypt later: the clock starts at creation; migration cannot undo a copy already harvested');
    r('secret', `from ${formatWhen(Number(inp.created))} (${inp.createdSource}) for ${yrs(inp.secrecyYears)} → until ${formatWhen(Number(inp.secretUntil))}`);
    r('P(CRQC)', `${pct(inp.crqcProbability)} by ${formatWhen(Number(inp.secretUntil))} (${inp.timeline})`);
    r('harvest', `${pct(inp.harvestProbability)} = 1 − (1 − ${inp.harvestChancePerCopy})^${inp.copies} known cop${inp.copies === 1 ? 'y' : 'ies'}`);
    r('exposure', `${pct(inp.probability)} = P(CRQC) × P(harvest)`);
  }
  if (Number(inp.quantumWeight) !== 1) r('weight', `${inp.quantumWeight}: ${f.quantum.status} algorithms take none of the timeline's probability`);
  if (x.deadlinesMissed?.length) x.deadlinesMissed.forEach((d, k) => r(k === 0 ? 'deadlines' : '', d));
  else r('deadlines', 'none missed');
  r('score', `${x.score} = max(quantum ${inp.quantumScore}, policy ${inp.policyScore}) → ${x.severity}`);
  r('→', x.explanation);
  return out;
}

/**
 * A certificate's signature by its issuer: the algorithm, where its size came from (`signatureParameterFrom`: the
 * signature's length, or the issuer's key joined in the scan) and the issuer's certificate when the scan holds it.
 */
function issuerSignature(f: Finding): string | undefined {
  if (f.kind !== 'certificate') return undefined;
  const d = f.details ?? {};
  const alg = d.signatureAlgorithm as { id?: unknown; family?: unknown; hash?: unknown; parameterKnown?: unknown } | undefined;
  if (!alg || typeof alg.id !== 'string') return undefined;
  const name = `${alg.id}${typeof alg.hash === 'string' ? ` / ${alg.hash}` : ''}`;
  const from = typeof d.signatureParameterFrom === 'string' ? PARAMETER_FROM[d.signatureParameterFrom] : undefined;
  const how = from ? ` ${from}` : alg.parameterKnown === false ? `: not known from the bytes, ${String(alg.family)} only, never guessed` : '';
  const ref = d.signerRef as { uri?: unknown } | undefined;
  const who = d.selfSigned === true ? '; self-signed' : ref && typeof ref.uri === 'string' ? `; issuer: ${ref.uri}` : "; issuer's certificate not in the scan";
  return `${name}${how}${who}`;
}

/** Where the finding's size or curve came from (details.parameterFrom, docs/architecture.md), and its signer. */
const PARAMETER_FROM: Record<string, string> = {
  key: 'from the key, in the same artifact',
  certificate: "from the signer's certificate",
  'signature-length': "from the signature's length (an RSA signature is exactly as long as the modulus, RFC 8017 §8.2.1)",
  'ciphertext-length': "from the ciphertext's length (an RSA key-transport value is exactly as long as the modulus, RFC 8017 §7.2.1)",
  'mpi-length': "from the OpenPGP MPI's bit count, rounded up over dropped leading zero bits (RFC 9580 §3.2)",
  'joined-key': "from the signer's key elsewhere in this scan",
};

function sizeOrigin(f: Finding): string | undefined {
  const d = f.details ?? {};
  // A certificate's own key is in it; what its details infer is the issuer's signature (issuerSignature below).
  if (f.kind === 'certificate') return undefined;
  const ref = d.signerRef as { uri?: unknown } | undefined;
  const signer = ref && typeof ref.uri === 'string' ? `; signer: ${ref.uri}` : d.signerInScan === false ? '; signer not in the scan' : '';
  if (f.algorithm.parameterKnown === false) return `not known from the bytes: ${f.algorithm.family} only, never guessed${signer}`;
  const from = typeof d.parameterFrom === 'string' ? PARAMETER_FROM[d.parameterFrom] : undefined;
  if (from) return `${from}${signer}`;
  return signer ? signer.slice(2) : undefined;
}
