/**
 * OCSF 1.2.0 Compliance Finding (class_uid 2003, category 2 "Findings"; https://schema.ocsf.io/1.2.0/classes/compliance_finding).
 * Why Compliance Finding and not Vulnerability Finding (2002): a quantum-vulnerable signature is a failed check against
 * a cryptographic policy (NIST IR 8547 deprecation/disallowance dates, CNSA 2.0), not a known defect in a software
 * package. Vulnerability Finding's required `vulnerabilities[]` models CVEs, affected packages and vendor fixes,
 * none of which exists here; Compliance Finding's `compliance.standards`/`requirements`/`status_id` carry exactly
 * the deadlines an artifact misses. docs/sinks.md says more. The SIEM sinks send the same events; `--format ocsf`
 * writes them to a file, one per line.
 * @module
 */
import type { Severity } from '../model.js';
import { VERSION } from '../version.js';
import { eventsOfScan, eventTitle, type SinkEvent } from './event.js';
import { safeJson } from './text.js';
import type { Reporter } from './types.js';

export const OCSF_VERSION = '1.2.0';
export const OCSF_CLASS_UID = 2003;
export const OCSF_CATEGORY_UID = 2;

/** OCSF severity_id: 1 Informational, 2 Low, 3 Medium, 4 High, 5 Critical. */
const SEVERITY_ID: Record<Severity, [number, string]> = {
  none: [1, 'Informational'],
  low: [2, 'Low'],
  medium: [3, 'Medium'],
  high: [4, 'High'],
  critical: [5, 'Critical'],
};

/** finding activity_id: 1 Create, 2 Update, 3 Close. */
function activityOf(e: SinkEvent): [number, string] {
  if (e.change === 'resolved') return [3, 'Close'];
  if (e.change === 'changed') return [2, 'Update'];
  return [1, 'Create'];
}

/** The policies named in deadlinesMissed entries ("NIST IR 8547: disallows RSA-2048 after 2035" → "NIST IR 8547"). */
function standardsOf(e: SinkEvent): string[] {
  const names = new Set(e.exposure.deadlinesMissed.map((d) => d.split(':')[0].trim()).filter(Boolean));
  return names.size ? [...names] : ['shelflife exposure policy'];
}

export type OcsfComplianceFinding = Record<string, unknown>;

export function toOcsf(e: SinkEvent): OcsfComplianceFinding {
  const [activityId, activityName] = activityOf(e);
  const [severityId, severityName] = SEVERITY_ID[e.exposure.severity];
  const failed = e.exposure.severity !== 'none' && e.change !== 'resolved';
  const f = e.finding;
  const time = Date.parse(e.time);
  return {
    activity_id: activityId,
    activity_name: activityName,
    category_uid: OCSF_CATEGORY_UID,
    category_name: 'Findings',
    class_uid: OCSF_CLASS_UID,
    class_name: 'Compliance Finding',
    type_uid: OCSF_CLASS_UID * 100 + activityId,
    type_name: `Compliance Finding: ${activityName}`,
    severity_id: severityId,
    severity: severityName,
    time,
    message: e.exposure.explanation,
    status_id: e.change === 'resolved' ? 4 : 1,
    status: e.change === 'resolved' ? 'Resolved' : 'New',
    metadata: {
      version: OCSF_VERSION,
      uid: e.id,
      correlation_uid: e.scan.id,
      log_name: 'shelflife',
      product: { name: 'shelflife', vendor_name: 'shelflife', version: VERSION },
      labels: [e.type, ...(e.change ? [e.change] : [])],
    },
    // finding_info.uid is what the event is about, the same in every scan, so a SIEM can follow one finding over time;
    // metadata.uid is the event's own id (with the scan), the dedupe key.
    finding_info: {
      uid: e.subjectId,
      title: eventTitle(e),
      desc: e.exposure.explanation,
      types: [e.type === 'artifact' ? 'Artifact Exposure' : 'Quantum-Vulnerable Cryptography'],
      first_seen_time: Date.parse(e.scan.startedAt),
      last_seen_time: time,
    },
    compliance: {
      standards: standardsOf(e),
      ...(e.exposure.deadlinesMissed.length ? { requirements: e.exposure.deadlinesMissed } : {}),
      ...(f ? { control: `${f.algorithm.id} ${f.kind} (${f.format})` } : {}),
      status_id: failed ? 3 : 1,
      status: failed ? 'Fail' : 'Pass',
    },
    ...(failed
      ? {
          remediation: {
            desc: 'Migrate to a post-quantum or hybrid algorithm before the deadlines named; signatures can be re-signed with hybrid ML-DSA (`shelflife resign`).',
          },
        }
      : {}),
    resource: {
      uid: e.artifact.sha256 ? `sha256:${e.artifact.sha256}` : e.artifact.uri,
      name: e.artifact.uri,
      type: e.artifact.class ?? 'artifact',
      data: {
        uri: e.artifact.uri,
        parent: e.artifact.parent,
        size: e.artifact.size,
        ...(e.artifact.mediaType ? { media_type: e.artifact.mediaType } : {}),
        ...(e.artifact.copies !== undefined ? { copies: e.artifact.copies } : {}),
      },
    },
    unmapped: {
      exposure_score: e.exposure.score,
      deadlines_missed: e.exposure.deadlinesMissed,
      artifact_class: e.artifact.class ?? null,
      copies: e.artifact.copies ?? null,
      ...(f
        ? {
            finding: {
              kind: f.kind,
              format: f.format,
              algorithm: f.algorithm,
              quantum: f.quantum,
              location: f.location,
              subject: f.subject ?? null,
              not_after: f.notAfter ?? null,
            },
          }
        : {}),
    },
  };
}

export const ocsfReporter: Reporter = {
  id: 'ocsf',
  description: 'OCSF 1.2.0 Compliance Finding events, one JSON object per line (NDJSON)',
  extension: 'ndjson',
  render: (result) => {
    let out = '';
    for (const e of eventsOfScan(result)) out += `${safeJson(toOcsf(e))}\n`;
    return out;
  },
};
