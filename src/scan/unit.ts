/**
 * One work unit of a distributed scan (src/queue/): the target's source resolved again, the unit walked, every
 * artifact through the same engine a one-process scan uses. What it returns is staged in the inventory by the worker;
 * the whole-scan steps (problems on artifacts, copies, scoring) run once over all units (src/scan/finish.ts).
 * @module
 */
import pLimit from 'p-limit';
import type { ArtifactResult } from '../model.js';
import { resolveSource, type SourceOptions } from '../sources/index.js';
import { isProblem, isSkipped, type SourceProblem, type WorkUnit } from '../sources/types.js';
import { ScanEngine } from './engine.js';

/** Artifacts the walk may run ahead of the engine (as in scan()). */
const MAX_PENDING = 64;

export interface UnitScanOptions {
  target: string;
  unit: WorkUnit;
  include?: string[];
  exclude?: string[];
  detectors?: { only?: Set<string>; skip?: Set<string> };
  sourceOptions?: SourceOptions;
  /** The scan's start: the engine's clock (key expiry in release stores), the same on every worker. */
  startedAt: string;
  concurrency?: number;
}

export interface UnitScanResult {
  results: ArtifactResult[];
  problems: SourceProblem[];
  bytes: number;
  /** Small evidence objects the engine kept for the coverage pass (src/scan/coverage.ts), by URI. */
  evidence: Map<string, Uint8Array>;
}

/** Walk and scan one unit; never throws for bad input (a source that cannot plan or walk throws for the job to retry). */
export async function scanUnit(o: UnitScanOptions): Promise<UnitScanResult> {
  const engine = new ScanEngine({ detectors: o.detectors, now: new Date(o.startedAt) });
  const source = resolveSource(o.target, { include: o.include, exclude: o.exclude, ...(o.sourceOptions ?? {}) });
  const limit = pLimit(o.concurrency ?? 4);
  const pending = new Set<Promise<void>>();
  const yielded = new Set<string>();
  const problems: SourceProblem[] = [];
  try {
    for await (const item of source.walk(o.unit)) {
      if (isProblem(item)) {
        problems.push(item);
        continue;
      }
      if (yielded.has(item.uri)) continue;
      yielded.add(item.uri);
      if (isSkipped(item)) {
        engine.results.push({ uri: item.uri, parent: null, sha256: null, size: 0, skipped: item.skipped, findings: [], errors: [] });
        continue;
      }
      const p: Promise<void> = limit(() => engine.scan(item)).finally(() => pending.delete(p));
      pending.add(p);
      while (pending.size >= MAX_PENDING) await Promise.race(pending);
    }
    await Promise.all(pending);
  } finally {
    await Promise.allSettled(pending);
    await source.close();
  }
  return { results: engine.results, problems, bytes: engine.bytesRead, evidence: engine.evidence };
}

/** A target's (or a split unit's) work units, as its source plans them. */
export async function* planUnits(target: string, options: { include?: string[]; exclude?: string[]; sourceOptions?: SourceOptions }, within?: WorkUnit) {
  const source = resolveSource(target, { include: options.include, exclude: options.exclude, ...(options.sourceOptions ?? {}) });
  try {
    if (!source.units) yield { uri: source.target, part: {} } satisfies WorkUnit;
    else yield* source.units(within);
  } finally {
    await source.close();
  }
}
