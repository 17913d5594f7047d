/**
 * The ECS document of an event (Elastic Common Schema 8.x field reference: event.*, file.*, vulnerability.*, x509.*),
 * as the Elasticsearch sink indexes it: ECS field names where they exist, the rest under `shelflife.*`.
 * @module
 */
import type { Severity } from '../model.js';
import { VERSION } from '../version.js';
import { eventTitle, type SinkEvent } from './event.js';

/** ECS event.severity is numeric; these follow the bands of Elastic's detection rules (21 low … 99 critical). */
const ECS_SEVERITY: Record<Severity, number> = { none: 0, low: 21, medium: 47, high: 73, critical: 99 };

export function toEcs(e: SinkEvent): Record<string, unknown> {
  const f = e.finding;
  const isCert = f?.kind === 'certificate';
  return {
    '@timestamp': e.time,
    message: eventTitle(e),
    ecs: { version: '8.11.0' },
    event: {
      id: e.id,
      kind: 'state',
      category: ['vulnerability'],
      type: ['info'],
      dataset: `shelflife.${e.type}`,
      module: 'shelflife',
      provider: 'shelflife',
      severity: ECS_SEVERITY[e.exposure.severity],
      risk_score: e.exposure.score,
      reason: e.exposure.explanation,
      ...(e.change ? { action: e.change } : {}),
    },
    file: {
      path: e.artifact.uri,
      size: e.artifact.size,
      ...(e.artifact.sha256 ? { hash: { sha256: e.artifact.sha256 } } : {}),
      ...(e.artifact.mediaType ? { mime_type: e.artifact.mediaType } : {}),
      ...(isCert
        ? {
            x509: {
              public_key_algorithm: f.algorithm.family,
              signature_algorithm: f.algorithm.name ?? f.algorithm.id,
              ...(f.subject ? { subject: { distinguished_name: f.subject } } : {}),
              ...(f.issuer ? { issuer: { distinguished_name: f.issuer } } : {}),
              ...(f.serial ? { serial_number: f.serial } : {}),
              ...(f.notBefore ? { not_before: f.notBefore } : {}),
              ...(f.notAfter ? { not_after: f.notAfter } : {}),
            },
          }
        : {}),
    },
    vulnerability: {
      category: ['cryptography'],
      classification: 'quantum-vulnerable cryptography',
      description: e.exposure.explanation,
      severity: e.exposure.severity,
      score: { base: e.exposure.score },
      scanner: { vendor: 'shelflife' },
      ...(f ? { id: f.key } : {}),
    },
    observer: { vendor: 'shelflife', product: 'shelflife', version: VERSION, type: 'scanner' },
    shelflife: {
      type: e.type,
      scan: e.scan,
      artifact: {
        class: e.artifact.class,
        copies: e.artifact.copies,
        parent: e.artifact.parent,
        lifetime_years: e.artifact.lifetimeYears,
        signed: e.artifact.signed,
      },
      deadlines_missed: e.exposure.deadlinesMissed,
      ...(f
        ? { finding: { kind: f.kind, format: f.format, algorithm: f.algorithm, quantum: f.quantum, location: f.location, fingerprint: f.fingerprint } }
        : {}),
    },
  };
}
