/**
 * One work unit of a distributed scan (src/queue/): the target's source resolved again, the unit walked, every
 * artifact through the same engine a one-process scan uses. What it returns is staged in the inventory by the worker;
 * the whole-scan steps (problems on artifacts, copies, scoring) run once over all units (src/scan/finish.ts).
 * @module
 */
import pLimit from 'p-limit';
import type { ArtifactResult } from '../model.js';
import { resolveSource, type SourceOptions } from '../sources/index.js';
import type { ArtifactRef, SourceProblem, WorkUnit } from '../sources/types.js';
import { ScanEngine } from './engine.js';
import { refsToRead } from './walk.js';

/** Artifacts the walk may run ahead of the engine (as in scan()). */
const MAX_PENDING = 64;
/** Top-level artifacts looked up in the inventory at once, in an incremental unit. */
const REUSE_BATCH = 64;

/** What an earlier scan recorded for some top-level artifacts: their records when unchanged (src/inventory/unit-reuse.ts). */
export type PreviousLookup = (uris: string[]) => Promise<{ reuse(ref: ArtifactRef): ArtifactResult[] | undefined }>;

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
  /** Incremental: unchanged artifacts are carried over from the inventory under scan()'s rule instead of read. */
  previous?: PreviousLookup;
}

export interface UnitScanResult {
  results: ArtifactResult[];
  problems: SourceProblem[];
  bytes: number;
  /** Records carried over unchanged from an earlier scan (an incremental unit). */
  reused: number;
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
  let reused = 0;
  const start = async (item: ArtifactRef) => {
    const p: Promise<void> = limit(() => engine.scan(item)).finally(() => pending.delete(p));
    pending.add(p);
    while (pending.size >= MAX_PENDING) await Promise.race(pending);
  };
  // Incremental: a batch of refs is looked up at once; what is unchanged is carried over as scan() does.
  const batch: ArtifactRef[] = [];
  const flush = async () => {
    if (!batch.length) return;
    const refs = batch.splice(0);
    const lookup = await o.previous!(refs.map((r) => r.uri));
    for (const item of refs) {
      const previous = item.reusable !== false ? lookup.reuse(item) : undefined;
      if (!previous) {
        await start(item);
        continue;
      }
      // Where the file is now (its directory may have been recreated since): what resign will check.
      const top = item.local && previous.find((r) => r.uri === item.uri);
      if (top) top.local = item.local;
      reused += previous.length;
      engine.results.push(...previous);
    }
  };
  try {
    for await (const item of refsToRead(source.walk(o.unit), yielded, problems, (res) => engine.results.push(res))) {
      if (!o.previous) await start(item);
      else if (batch.push(item) >= REUSE_BATCH) await flush();
    }
    await flush();
    await Promise.all(pending);
  } finally {
    await Promise.allSettled(pending);
    await source.close();
  }
  return { results: engine.results, problems, bytes: engine.bytesRead, reused, evidence: engine.evidence };
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
