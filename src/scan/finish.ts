/**
 * The end of every scan, one process or many (src/queue/): what the units found, put together in a deterministic
 * order, then the whole-scan facts (source problems on their artifacts, copies and retirements from the inventory,
 * scoring) and the record in the inventory. `scan()` and a distributed scan's finalize step both call it, so worker
 * count and completion order cannot change the answer.
 * @module
 */
import { randomUUID } from 'node:crypto';
import { unreadLocations, type ArtifactResult, type ScanResult } from '../model.js';
import type { SourceProblem } from '../sources/types.js';
import { scoreScan, type ScoringOptions, type ScoringSetup } from '../scoring/index.js';
import { VERSION } from '../version.js';
import type { Inventory } from '../inventory/inventory.js';
import { joinSigners } from './signers.js';
import { modelsInScan } from '../provenance/scan-models.js';
import type { Trust } from '../provenance/trust.js';
import type { SourceOptions } from '../sources/index.js';

export interface ScanParts {
  /** The scan id (a distributed scan's, chosen when it was enqueued); a new one when absent. */
  id?: string;
  startedAt: string;
  finishedAt: string;
  /** The targets as recorded (passwords removed). */
  targets: string[];
  results: ArtifactResult[];
  problems: SourceProblem[];
  bytes: number;
  /** Artifacts taken from an earlier scan unchanged (incremental scans). */
  reused?: number;
}

export interface FinishOptions {
  scoring?: { options: ScoringOptions; setup: ScoringSetup };
  inventory?: Inventory;
  /** A narrowed detector selection: recorded, never reused. */
  partial?: boolean;
  onArtifact?: (a: ArtifactResult) => void;
  /**
   * The provenance of each signed model found (src/provenance/scan-provenance.ts): on by default, with `trust` and
   * `evidence` as `shelflife provenance` takes them; `false` lists the models without it.
   */
  provenance?: { trust?: Trust; evidence?: string[] } | false;
  /** How the scan reached remote stores: a remote model's provenance reads its files the same way. */
  sourceOptions?: SourceOptions;
  /**
   * Carry exposures over from the inventory and store this scan's for the next one (src/scoring/reuse.ts): a
   * one-process scan, whose carried-over records still hold what scoring set on them. A distributed finalize leaves it
   * off: its units' records come from staging, so nothing could be taken over, and storing would only lengthen it.
   */
  reuseScores?: boolean;
}

export async function finishScan(parts: ScanParts, options: FinishOptions = {}): Promise<ScanResult> {
  const { inventory } = options;
  recordProblems(parts.results, parts.problems, options.onArtifact);
  const artifacts = parts.results.sort((a, b) => (a.uri < b.uri ? -1 : a.uri > b.uri ? 1 : 0));
  // After detection, before scoring: signatures take their signers' sizes from anywhere in the scan.
  joinSigners(artifacts);
  const stats = {
    artifacts: artifacts.length,
    bytes: parts.bytes,
    findings: artifacts.reduce((n, a) => n + a.findings.length, 0),
    errors: artifacts.reduce((n, a) => n + a.errors.length, 0),
    ...(inventory ? { reused: parts.reused ?? 0 } : {}),
  };
  // A target, directory or store that could not be read makes the scan partial: nothing under it is known.
  const unread = unreadLocations(artifacts);
  const result: ScanResult = {
    schemaVersion: '1',
    tool: { name: 'shelflife', version: VERSION },
    scan: {
      id: parts.id ?? randomUUID(),
      startedAt: parts.startedAt,
      finishedAt: parts.finishedAt,
      targets: parts.targets,
      stats,
      ...(unread.length ? { partial: true, unread } : {}),
    },
    artifacts,
  };
  if (inventory) await inventory.annotate(result);
  if (options.provenance !== false && modelsInScan(result).length) {
    const { summarizeScanModels } = await import('../provenance/scan-provenance.js');
    const { inventoryLookup } = await import('../provenance/inventory-lookup.js');
    result.models = await summarizeScanModels(result, {
      ...options.provenance,
      ...(options.sourceOptions ? { remote: { ...options.sourceOptions } } : {}),
      ...(inventory ? { inventory: inventoryLookup(inventory) } : {}),
      now: new Date(parts.startedAt),
    });
  }
  // An incremental scan's carried-over records take their exposures over when nothing scoring reads has changed; a
  // narrowed detector selection is never reused, so its scores are neither taken over nor stored for later.
  const reuse = inventory && options.scoring && options.reuseScores && !options.partial ? inventory.scoringReuse() : undefined;
  if (options.scoring) scoreScan(result, options.scoring.options, options.scoring.setup, undefined, reuse);
  if (inventory) await inventory.recordScan(result, { partial: options.partial, ...(reuse ? { scoring: reuse.keys } : {}) });
  return result;
}

/**
 * Source problems go on the artifact of their URI when the scan has one (merged per URI otherwise), so a warning never
 * takes the URI of a real artifact and no URI is recorded twice.
 */
export function recordProblems(results: ArtifactResult[], problems: SourceProblem[], onArtifact?: (a: ArtifactResult) => void): void {
  if (!problems.length) return;
  const byUri = new Map(results.map((r) => [r.uri, r]));
  const added: ArtifactResult[] = [];
  for (const p of problems) {
    const error = { code: p.code, message: p.message, source: 'source' };
    const existing = byUri.get(p.uri);
    if (existing) {
      if (!existing.errors.some((e) => e.message === p.message)) existing.errors.push(error);
      continue;
    }
    const res: ArtifactResult = { uri: p.uri, parent: null, sha256: null, size: 0, findings: [], errors: [error] };
    byUri.set(p.uri, res);
    results.push(res);
    added.push(res);
  }
  for (const r of added) onArtifact?.(r);
}
