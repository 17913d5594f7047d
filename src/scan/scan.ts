/**
 * `scan()`: the library entry point behind `shelflife scan`. Targets → sources → engine (detectors, containers)
 * → one ScanResult per the contract in docs/architecture.md.
 * @module
 */
import pLimit from 'p-limit';
import type { ArtifactResult, ScanResult } from '../model.js';
import { redactUrl } from '../net/secrets.js';
import { resolveSource, type SourceOptions } from '../sources/index.js';
import type { Source, SourceProblem } from '../sources/types.js';
import { prepareScoring, type ScoringOptions } from '../scoring/index.js';
import type { Inventory } from '../inventory/inventory.js';
import { linkSignatures, rereadFrom } from './coverage.js';
import type { Trust } from '../provenance/trust.js';
import { ScanEngine } from './engine.js';
import { refsToRead } from './walk.js';
import { AUTO_START_AFTER, DetectPool, defaultThreads, MAX_THREADS, validThreads } from './detect-pool.js';
import { UsageError } from '../errors.js';
import { finishScan, recordProblems } from './finish.js';

/** Artifacts the walk may run ahead of the engine, and the in-memory bytes they may hold together. */
const MAX_PENDING = 256;
const MAX_PENDING_BYTES = 256 * 1024 * 1024;
/** With detection threads: local files up to this size, and how many of them may be in flight at once. */
const SMALL_LOCAL = 1024 * 1024;
const SMALL_LOCAL_IN_FLIGHT = 64;

export interface ScanOptions {
  targets: string[];
  include?: string[];
  exclude?: string[];
  /** Top-level artifacts read at once (members of one container are always sequential). */
  concurrency?: number;
  /**
   * Detection threads (src/scan/detect-pool.ts): 1 detects on the main thread; N > 1 starts N threads at once. Unset:
   * one per core (at most 4), started only once the scan has read enough artifacts to gain from them. The report is
   * the same whatever the number.
   */
  threads?: number;
  /** `--detectors +x509,-ssh`: only these / not these formats. */
  detectors?: { only?: Set<string>; skip?: Set<string> };
  /** Source-specific options (remote stores), passed through. */
  sourceOptions?: SourceOptions;
  onArtifact?: (a: ArtifactResult) => void;
  /** Clock for reproducible output (tests, `--now`). */
  now?: () => Date;
  /** Exposure scoring (src/scoring/): on by default; `false` leaves class/lifetime/exposure unset. */
  scoring?: ScoringOptions | false;
  /**
   * The inventory to record this scan in (src/inventory/). With it, unchanged artifacts (same size + mtime, ETag or
   * digest) are taken from the last scan instead of being read again, unless `full` is set; copies and retirements
   * are filled in before scoring.
   */
  inventory?: Inventory;
  full?: boolean;
  /**
   * The provenance of each signed model found (src/provenance/scan-provenance.ts): on by default, with `trust` and
   * `evidence` as `shelflife provenance` takes them; `false` lists the models without it.
   */
  provenance?: { trust?: Trust; evidence?: string[] } | false;
}

export async function scan(options: ScanOptions): Promise<ScanResult> {
  const now = options.now ?? (() => new Date());
  const startedAt = now().toISOString();
  // Resolve timelines, policies and config before reading anything, so a bad flag fails fast.
  const scoring = options.scoring === false ? undefined : { now: new Date(startedAt), ...options.scoring };
  const scoringSetup = scoring ? prepareScoring(scoring) : undefined;
  if (options.threads !== undefined && !validThreads(options.threads)) throw new UsageError(`threads must be a whole number from 1 to ${MAX_THREADS}`);
  const threads = options.threads ?? defaultThreads();
  const pool = threads > 1 ? new DetectPool(threads, options.threads === undefined ? AUTO_START_AFTER : 0) : undefined;
  const engine = new ScanEngine({ detectors: options.detectors, onArtifact: options.onArtifact, now: new Date(startedAt), ...(pool ? { pool } : {}) });
  const limit = pLimit(options.concurrency ?? 4);
  // Small local files wait on a detection thread, not on a store: more of them in flight keeps the threads fed (their
  // reads are single synchronous calls, their bytes at most SMALL_LOCAL each, and the walk's bounds below still hold).
  const small = pool ? pLimit(Math.max(options.concurrency ?? 4, SMALL_LOCAL_IN_FLIGHT)) : limit;
  // Artifacts yielded but not yet scanned, and the bytes they hold in memory (manifests, fetched documents): the walk
  // waits for the engine when either grows, so a source that runs ahead cannot pile up gigabytes of refs.
  const pending = new Set<Promise<void>>();
  let held = 0;
  const inventory = options.inventory;
  // Passwords written into target URLs are used by the sources for their requests, and appear nowhere else.
  const targets = options.targets.map(redactUrl);
  // A narrowed detector selection sees less than a full scan recorded: such scans neither reuse nor are reused blindly.
  const incremental = !!inventory && !options.full && !options.detectors;
  if (incremental) await inventory.prepareIncremental(targets);
  let reused = 0;
  const sources: Source[] = [];
  // The same artifact seen twice (an object listed twice, a layer two tags share) is one artifact; what a source could
  // not read is recorded on the artifact of that URI when there is one, never as a second artifact under its URI.
  const yielded = new Set<string>();
  const problems: SourceProblem[] = [];
  try {
    for (const target of options.targets) {
      const source = resolveSource(target, { include: options.include, exclude: options.exclude, ...(options.sourceOptions ?? {}) });
      sources.push(source);
      const noteSkipped = (res: ArtifactResult) => {
        engine.results.push(res);
        options.onArtifact?.(res);
      };
      for await (const item of refsToRead(source.walk(), yielded, problems, noteSkipped)) {
        // Reused only when nothing the result depends on can have changed: its bytes, and no referrers or index
        // fetched beside them (sidecars and checksum lists are artifacts of their own, linked again below).
        const previous = incremental && item.reusable !== false ? inventory.reuse(item) : undefined;
        if (previous) {
          // Where the file is now (its directory may have been recreated since): what resign will check.
          const top = item.local && previous.find((r) => r.uri === item.uri);
          if (top) top.local = item.local;
          reused += previous.length;
          for (const r of previous) {
            engine.results.push(r);
            options.onArtifact?.(r);
          }
          continue;
        }
        const bytes = item.bytes?.length ?? 0;
        held += bytes;
        const lane = item.local && item.size !== undefined && item.size <= SMALL_LOCAL ? small : limit;
        const p: Promise<void> = lane(() => engine.scan(item)).finally(() => {
          pending.delete(p);
          held -= bytes;
        });
        pending.add(p);
        while (pending.size >= MAX_PENDING || (held > MAX_PENDING_BYTES && pending.size > 1)) await Promise.race(pending);
      }
    }
    await Promise.all(pending);
    recordProblems(engine.results, problems, options.onArtifact);
    // Signatures cover what they sign, wherever they sit (src/scan/coverage.ts): after the walk, in any walk order;
    // before the sources close, since a check may read a signed object again.
    await linkSignatures({
      artifacts: engine.results,
      evidence: engine.evidence,
      reread: rereadFrom(sources),
    });
  } finally {
    // Sources hold connections until every artifact they yielded has been read (related material included).
    await Promise.allSettled(pending);
    await pool?.close();
    for (const s of sources) await s.close();
  }

  // Problems are already on their artifacts (above, before the signature links): none left for the finish.
  return finishScan(
    { startedAt, finishedAt: now().toISOString(), targets, results: engine.results, problems: [], bytes: engine.bytesRead, reused },
    {
      ...(scoring && scoringSetup ? { scoring: { options: scoring, setup: scoringSetup } } : {}),
      inventory,
      partial: !!options.detectors,
      reuseScores: true,
      onArtifact: options.onArtifact,
      ...(options.provenance !== undefined ? { provenance: options.provenance } : {}),
      ...(options.sourceOptions ? { sourceOptions: options.sourceOptions } : {}),
    },
  );
}
