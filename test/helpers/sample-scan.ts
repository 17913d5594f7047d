/** Scan results for the sink tests: small, deterministic, with hostile strings in every free-text field. */
import { randomUUID } from 'node:crypto';
import type { ArtifactResult, Finding, ScanResult } from '../../src/model.js';

export const HOSTILE = 'CN=a|b\\c=d\r\nnext line | end\\';

export function sampleFinding(i: number, severity: 'critical' | 'high' | 'medium' | 'low' | 'none' = 'high'): Finding {
  return {
    kind: 'certificate',
    format: 'x509',
    algorithm: { id: 'RSA-2048', family: 'RSA', hash: 'SHA-256', oid: '1.2.840.113549.1.1.11', name: 'sha256WithRSAEncryption' },
    quantum: { status: 'vulnerable', classicalBits: 112, nistLevel: null },
    location: { offset: i * 100 },
    subject: `${HOSTILE} #${i}`,
    issuer: 'CN=Test CA',
    serial: `0${i}`,
    notBefore: '2024-01-01T00:00:00.000Z',
    notAfter: '2040-01-01T00:00:00.000Z',
    fingerprint: `fp${i}`,
    exposure: {
      score: 72.5,
      severity,
      explanation: `forgeable before retirement; ${HOSTILE}`,
      deadlinesMissed: ['NIST IR 8547: disallows RSA-2048 after 2035', 'CNSA 2.0: software signing by 2030'],
    },
  };
}

export function sampleArtifact(i: number, findings: Finding[]): ArtifactResult {
  return {
    uri: `file:///srv/fw/image-${i}.bin`,
    parent: null,
    sha256: (i.toString(16).padStart(4, '0') + 'ab'.repeat(32)).slice(0, 64),
    size: 1000 + i,
    mediaType: 'application/octet-stream',
    class: 'firmware',
    lifetime: { years: 15, source: 'rule:firmware' },
    copies: 3,
    exposure: {
      score: 72.5,
      severity: 'high',
      explanation: 'firmware signed with RSA-2048 lives past 2035',
      deadlinesMissed: ['NIST IR 8547: disallows RSA-2048 after 2035'],
    },
    findings,
    errors: [],
  };
}

/** `artifacts` artifacts with `perArtifact` findings each: artifacts·(perArtifact + 1) events. */
export function sampleScan(artifacts: number, perArtifact = 1, id: string = randomUUID()): ScanResult {
  const arts = Array.from({ length: artifacts }, (_, i) =>
    sampleArtifact(
      i,
      Array.from({ length: perArtifact }, (_, j) => sampleFinding(i * 1000 + j)),
    ),
  );
  return {
    schemaVersion: '1',
    tool: { name: 'shelflife', version: '0.1.0' },
    scan: {
      id,
      startedAt: '2026-11-28T10:00:00.000Z',
      finishedAt: '2026-11-28T10:05:00.000Z',
      targets: ['/srv/fw'],
      stats: { artifacts, bytes: 0, findings: artifacts * perArtifact, errors: 0 },
    },
    artifacts: arts,
  };
}
