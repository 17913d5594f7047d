/**
 * The finalize step of a distributed scan: once every unit is done or has failed for good, what they staged in the
 * inventory becomes one scan, through the same code a one-process scan ends with (src/scan/finish.ts). A unit that
 * failed is an error on the location it covered, with the reason: the scan is never silently short.
 * @module
 */
import type { Inventory } from '../inventory/inventory.js';
import { clearStaged, StagedReader } from '../inventory/staging.js';
import type { ScanResult } from '../model.js';
import { finishScan, recordProblems } from '../scan/finish.js';
import { linkSignatures, rereadFrom } from '../scan/coverage.js';
import { resolveSource } from '../sources/index.js';
import type { SourceProblem } from '../sources/types.js';
import { prepareScoring, type ScoringOptions } from '../scoring/index.js';
import type { Trust } from '../provenance/trust.js';
import type { ScanSpec, ScoringSpec } from './jobs.js';

/** A unit that kept failing: where, and why. */
export interface FailedUnit {
  jobId: string;
  uri: string;
  attempts: number;
  reason: string;
}

export function scoringFromSpec(spec: ScoringSpec | false): ScoringOptions | false {
  if (spec === false) return false;
  return { ...spec, ...(spec.now ? { now: new Date(spec.now) } : {}) } as ScoringOptions;
}

export function scoringToSpec(options: ScoringOptions | false | undefined, startedAt: string): ScoringSpec | false {
  if (options === false) return false;
  const { now, timeline, crqcYear, policies, config } = options ?? {};
  return {
    now: (now ?? new Date(startedAt)).toISOString(),
    ...(timeline ? { timeline } : {}),
    ...(crqcYear !== undefined ? { crqcYear } : {}),
    ...(policies ? { policies } : {}),
    ...(config ? { config } : {}),
  };
}

export async function finalizeScan(
  inventory: Inventory,
  spec: ScanSpec,
  options: {
    scoring: ScoringOptions | false;
    failed: FailedUnit[];
    finishedAt: string;
    /** Signed models' provenance, as scan() takes it (`--trust`, `--evidence`): read where the finalize runs. */
    provenance?: { trust?: Trust; evidence?: string[] } | false;
    /** The staged rows as read while the units ran (the waiting producer); read here otherwise. */
    staged?: StagedReader;
  },
): Promise<ScanResult> {
  // A finalize delivered again after it recorded the scan (its worker died before the acknowledgement) records nothing.
  const done = await inventory.db.selectFrom('scans').select('id').where('id', '=', spec.scanId).executeTakeFirst();
  if (done) return inventory.loadScan(spec.scanId);
  const staged = await (options.staged ?? new StagedReader(inventory, spec.scanId)).load();
  const failures: SourceProblem[] = options.failed.map((f) => ({
    uri: f.uri,
    code: 'io',
    message: `work unit failed ${f.attempts === 1 ? 'once' : `${f.attempts} times`} and was given up (queue job ${f.jobId}): ${f.reason}`,
  }));
  // As in scan(): source problems onto their artifacts, then signatures linked to what they sign, with the sources
  // resolved again for the second reads a check may need (src/scan/coverage.ts).
  recordProblems(staged.results, [...staged.problems, ...failures]);
  const sources = spec.targets.map((t) => resolveSource(t, { include: spec.include, exclude: spec.exclude, ...spec.sourceOptions }));
  try {
    await linkSignatures({
      artifacts: staged.results,
      evidence: staged.evidence,
      reread: rereadFrom(sources),
    });
  } finally {
    for (const s of sources) await s.close();
  }
  const scoring = options.scoring === false ? undefined : { now: new Date(spec.startedAt), ...options.scoring };
  const result = await finishScan(
    {
      id: spec.scanId,
      startedAt: spec.startedAt,
      finishedAt: options.finishedAt,
      targets: spec.targets,
      results: staged.results,
      problems: [],
      bytes: staged.bytes,
      reused: staged.reused,
    },
    {
      ...(scoring ? { scoring: { options: scoring, setup: prepareScoring(scoring) } } : {}),
      inventory,
      partial: !!spec.detectors,
      ...(options.provenance !== undefined ? { provenance: options.provenance } : {}),
      // A remote model's provenance reads its files the way the units reached the store.
      sourceOptions: spec.sourceOptions,
    },
  );
  await clearStaged(inventory, spec.scanId);
  return result;
}
