/** Builders for scoring tests: findings named through the real catalogue, artifacts and scans around them. */
import { catalogue } from '../../src/catalogue/index.js';
import type { ArtifactResult, Finding, FindingKind, ScanResult } from '../../src/model.js';

export function finding(kind: FindingKind, id: string, extra: Partial<Finding> & { hash?: string } = {}): Finding {
  const { hash, ...rest } = extra;
  const d = catalogue().byId(id, hash ? { hash } : {});
  return { kind, format: 'x509', algorithm: d.algorithm, quantum: d.quantum, location: {}, ...rest };
}

export function artifact(uri: string, findings: Finding[], extra: Partial<ArtifactResult> = {}): ArtifactResult {
  return { uri, parent: null, sha256: uri.length.toString(16).padStart(64, '0') + '', size: 1, findings, errors: [], ...extra };
}

export function scanOf(artifacts: ArtifactResult[]): ScanResult {
  return {
    schemaVersion: '1',
    tool: { name: 'shelflife', version: 'test' },
    scan: {
      id: 't',
      startedAt: '2026-01-01T00:00:00Z',
      finishedAt: '2026-01-01T00:00:00Z',
      targets: [],
      stats: { artifacts: artifacts.length, bytes: 0, findings: 0, errors: 0 },
    },
    artifacts,
  };
}

export const NOW = new Date('2026-01-01T00:00:00Z');
