/** Test helpers: run the real pipeline on bytes or paths and summarise findings compactly. */
import { join } from 'node:path';
import { runDetectors } from '../../src/detectors/index.js';
import type { ArtifactResult, DetectContext, Finding, ScanResult } from '../../src/model.js';
import { scan } from '../../src/scan/scan.js';

export const FIXTURES = join(import.meta.dirname, '..', '..', 'fixtures');

export function ctxFor(name: string, bytes: Uint8Array): DetectContext {
  return { name, uri: `file:///test/${name}`, size: bytes.length, baseOffset: 0, whole: true };
}

/** Run the registry (all detectors) over bytes, as the engine does for a small artifact. */
export function detectAll(name: string, bytes: Uint8Array | string) {
  const b = typeof bytes === 'string' ? new TextEncoder().encode(bytes) : bytes;
  return runDetectors(b, ctxFor(name, b));
}

/** `kind format algorithm[/hash]` per finding, sorted: easy to compare in expectations. */
export function summary(findings: Finding[]): string[] {
  return findings.map((f) => `${f.kind} ${f.format} ${f.algorithm.id}${f.algorithm.hash ? `/${f.algorithm.hash}` : ''}`).sort();
}

export async function scanPaths(...targets: string[]): Promise<ScanResult> {
  return scan({ targets, concurrency: 2 });
}

/** All findings of an artifact and every artifact nested in it. */
export function findingsUnder(result: ScanResult, uri: string): { findings: Finding[]; errors: ArtifactResult['errors'] } {
  const arts = result.artifacts.filter((a) => a.uri === uri || a.uri.startsWith(`${uri}!/`));
  return { findings: arts.flatMap((a) => a.findings), errors: arts.flatMap((a) => a.errors) };
}
