/**
 * `scan()`: the library entry point behind `shelflife scan`. Targets → sources → engine (detectors, containers)
 * → one ScanResult per DESIGN.md's contract.
 * @module
 */
import { randomUUID } from 'node:crypto';
import pLimit from 'p-limit';
import type { ArtifactResult, ScanResult } from '../model.js';
import { resolveSource, type SourceOptions } from '../sources/index.js';
import { isProblem } from '../sources/types.js';
import { VERSION } from '../version.js';
import { ScanEngine } from './engine.js';

export interface ScanOptions {
  targets: string[];
  include?: string[];
  exclude?: string[];
  /** Top-level artifacts read at once (members of one container are always sequential). */
  concurrency?: number;
  /** `--detectors +x509,-ssh`: only these / not these formats. */
  detectors?: { only?: Set<string>; skip?: Set<string> };
  /** Source-specific options (remote stores), passed through. */
  sourceOptions?: SourceOptions;
  onArtifact?: (a: ArtifactResult) => void;
  /** Clock for reproducible output (tests, `--now`). */
  now?: () => Date;
}

export async function scan(options: ScanOptions): Promise<ScanResult> {
  const now = options.now ?? (() => new Date());
  const startedAt = now().toISOString();
  const engine = new ScanEngine({ detectors: options.detectors, onArtifact: options.onArtifact });
  const limit = pLimit(options.concurrency ?? 4);
  const pending: Promise<void>[] = [];
  for (const target of options.targets) {
    const source = resolveSource(target, { include: options.include, exclude: options.exclude, ...(options.sourceOptions ?? {}) });
    for await (const item of source.walk()) {
      if (isProblem(item)) {
        const res: ArtifactResult = { uri: item.uri, parent: null, sha256: null, size: 0, findings: [], errors: [{ code: item.code, message: item.message, source: 'source' }] };
        engine.results.push(res);
        options.onArtifact?.(res);
        continue;
      }
      pending.push(limit(() => engine.scan(item)));
      // Bound the queue so a huge tree does not pile up promises faster than they drain.
      if (pending.length >= 1024) {
        await Promise.all(pending);
        pending.length = 0;
      }
    }
  }
  await Promise.all(pending);
  const artifacts = engine.results.sort((a, b) => (a.uri < b.uri ? -1 : a.uri > b.uri ? 1 : 0));
  const stats = {
    artifacts: artifacts.length,
    bytes: engine.bytesRead,
    findings: artifacts.reduce((n, a) => n + a.findings.length, 0),
    errors: artifacts.reduce((n, a) => n + a.errors.length, 0),
  };
  return {
    schemaVersion: '1',
    tool: { name: 'shelflife', version: VERSION },
    scan: { id: randomUUID(), startedAt, finishedAt: now().toISOString(), targets: options.targets, stats },
    artifacts,
  };
}
