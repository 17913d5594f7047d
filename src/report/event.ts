/**
 * The event model: one event per finding and one per artifact summary, each with a stable id so that a SIEM can
 * deduplicate what at-least-once delivery may send twice. It is a format like the reports beside it: `--format ocsf`
 * writes it to a file, and the SIEM sinks (src/sinks/) carry it in one of the event formats below (OCSF, CEF, the
 * event as JSON; ECS for Elasticsearch), all rendered from this one shape (docs/architecture.md "Report and sinks").
 * @module
 */
import { createHash } from 'node:crypto';
import { findingId, findingKey } from '../identity.js';
import type { ScanDiff } from '../inventory/inventory.js';
import type { Algorithm, ArtifactResult, Finding, FindingKind, Quantum, ScanResult, Severity } from '../model.js';

/** Longest string field carried in an event (explanations, subjects, URIs); longer values are cut with "…". */
export const MAX_EVENT_FIELD = 4096;

/**
 * How a sink carries events (`--sink-format`): `cef` (ArcSight CEF), `ocsf` (OCSF 1.2.0 Compliance Finding) or `json`
 * (this event model as is; Elasticsearch indexes it as an ECS document).
 */
export type EventFormat = 'cef' | 'ocsf' | 'json';
export const EVENT_FORMATS: readonly EventFormat[] = ['cef', 'ocsf', 'json'];

/** What happened to a finding since the last delivered scan (only with `--only-changed`). */
export type EventChange = 'new' | 'changed' | 'resolved';

export interface EventArtifact {
  uri: string;
  parent: string | null;
  sha256: string | null;
  size: number;
  mediaType?: string;
  class?: string;
  lifetimeYears?: number;
  signed?: boolean;
  /** Distinct locations holding these bytes (ArtifactResult.copies, from the inventory). */
  copies?: number;
  retired?: { at: string; reason: string };
  findings: number;
  errors: number;
}

export interface EventFinding {
  /** The finding's identity within its artifact, across scans (`findingKey`, src/identity.ts). */
  key: string;
  kind: FindingKind;
  format: string;
  algorithm: Algorithm;
  quantum: Quantum;
  location: Finding['location'];
  subject?: string;
  issuer?: string;
  serial?: string;
  notBefore?: string;
  notAfter?: string;
  fingerprint?: string;
}

export interface SinkEvent {
  /** Event model version. */
  v: 1;
  /** sha256 hex of (artifact digest, finding identity, scan id, change): the same input always yields the same id. */
  id: string;
  /**
   * What the event is about, the same in every scan: the finding's `findingId` (src/identity.ts, also SARIF's
   * partialFingerprint), or for an artifact summary a digest of the artifact's bytes (its URI when unreadable).
   */
  subjectId: string;
  type: 'finding' | 'artifact';
  change?: EventChange;
  /** When the scan finished (ISO-8601): the event time. */
  time: string;
  scan: { id: string; startedAt: string; finishedAt: string; targets: string[] };
  artifact: EventArtifact;
  finding?: EventFinding;
  exposure: { score: number; severity: Severity; explanation: string; deadlinesMissed: string[] };
}

export function clip(s: string, max = MAX_EVENT_FIELD): string {
  return s.length <= max ? s : `${s.slice(0, max - 1)}…`;
}

function clipOptional(s: string | undefined): string | undefined {
  return s === undefined ? undefined : clip(String(s));
}

export function eventId(artifact: Pick<ArtifactResult, 'sha256' | 'uri'>, identity: string, scanId: string, change: EventChange | undefined): string {
  // The digest names the bytes wherever they live; without one (unreadable artifact) the URI is the identity.
  return createHash('sha256')
    .update(['shelflife-event/1', artifact.sha256 ? `sha256:${artifact.sha256}` : artifact.uri, identity, scanId, change ?? ''].join('\0'))
    .digest('hex');
}

function scanOf(result: ScanResult): SinkEvent['scan'] {
  const s = result.scan;
  return { id: s.id, startedAt: s.startedAt, finishedAt: s.finishedAt, targets: s.targets.slice(0, 64).map((t) => clip(t)) };
}

function artifactOf(a: ArtifactResult): EventArtifact {
  return {
    uri: clip(a.uri),
    parent: a.parent === null ? null : clip(a.parent),
    sha256: a.sha256,
    size: a.size,
    ...(a.mediaType ? { mediaType: clip(a.mediaType, 256) } : {}),
    ...(a.class ? { class: clip(a.class, 256) } : {}),
    ...(a.lifetime ? { lifetimeYears: a.lifetime.years } : {}),
    ...(a.signed !== undefined ? { signed: a.signed } : {}),
    ...(a.copies !== undefined ? { copies: a.copies } : {}),
    ...(a.retired ? { retired: { at: a.retired.at, reason: clip(a.retired.reason, 1024) } } : {}),
    findings: a.findings.length,
    errors: a.errors.length,
  };
}

function exposureOf(x: Finding['exposure'] | ArtifactResult['exposure']): SinkEvent['exposure'] {
  return {
    score: x?.score ?? 0,
    severity: x?.severity ?? 'none',
    explanation: clip(x?.explanation ?? 'not scored (run the scan with scoring enabled)'),
    deadlinesMissed: (x?.deadlinesMissed ?? []).slice(0, 32).map((d) => clip(d, 256)),
  };
}

function findingOf(f: Finding): EventFinding {
  const out: EventFinding = {
    key: clip(findingKey(f)),
    kind: f.kind,
    format: f.format,
    algorithm: { ...f.algorithm, id: clip(f.algorithm.id, 256), ...(f.algorithm.name ? { name: clip(f.algorithm.name, 256) } : {}) },
    quantum: f.quantum,
    location: {
      ...f.location,
      ...(f.location.member ? { member: clip(f.location.member) } : {}),
      ...(f.location.path ? { path: clip(f.location.path, 1024) } : {}),
    },
  };
  for (const k of ['subject', 'issuer', 'serial', 'notBefore', 'notAfter', 'fingerprint'] as const) {
    const v = clipOptional(f[k]);
    if (v !== undefined) out[k] = v;
  }
  return out;
}

export function findingEvent(result: ScanResult, a: ArtifactResult, f: Finding, change?: EventChange): SinkEvent {
  const finding = findingOf(f);
  return {
    v: 1,
    id: eventId(a, `finding:${findingKey(f)}`, result.scan.id, change),
    subjectId: findingId(a, f),
    type: 'finding',
    ...(change ? { change } : {}),
    time: result.scan.finishedAt,
    scan: scanOf(result),
    artifact: artifactOf(a),
    finding,
    exposure: exposureOf(f.exposure),
  };
}

export function artifactEvent(result: ScanResult, a: ArtifactResult, change?: EventChange): SinkEvent {
  return {
    v: 1,
    id: eventId(a, 'artifact', result.scan.id, change),
    subjectId: createHash('sha256')
      .update(`shelflife-artifact/1\0${a.sha256 ? `sha256:${a.sha256}` : a.uri}`)
      .digest('hex'),
    type: 'artifact',
    ...(change ? { change } : {}),
    time: result.scan.finishedAt,
    scan: scanOf(result),
    artifact: artifactOf(a),
    exposure: exposureOf(a.exposure),
  };
}

/** An artifact is worth a summary event when it says something: findings, errors, exposure, or a missing signature. */
function worthSummary(a: ArtifactResult): boolean {
  return a.findings.length > 0 || a.errors.length > 0 || (a.exposure?.severity ?? 'none') !== 'none' || a.signed === false;
}

/** Every event of a scan: its findings, then one summary per artifact that has something to say. */
export function* eventsOfScan(result: ScanResult): Generator<SinkEvent> {
  for (const a of result.artifacts) {
    for (const f of a.findings) yield findingEvent(result, a, f);
    if (worthSummary(a)) yield artifactEvent(result, a);
  }
}

/**
 * Only what changed since `previous` (the last scan delivered to this sink): new and changed findings from `result`,
 * resolved ones from `previous`, and a summary of each artifact touched, so the SIEM is not flooded with the same
 * findings every night.
 */
export function* changedEventsOfScan(result: ScanResult, previous: ScanResult, diff: ScanDiff): Generator<SinkEvent> {
  const now = new Map(result.artifacts.map((a) => [a.uri, a]));
  const before = new Map(previous.artifacts.map((a) => [a.uri, a]));
  const touched = new Map<string, EventChange>();
  for (const [entries, change] of [
    [diff.newFindings, 'new'],
    [diff.changedFindings, 'changed'],
  ] as const) {
    for (const e of entries) {
      const a = now.get(e.uri);
      if (!a) continue;
      yield findingEvent(result, a, e.finding, change);
      if (!touched.has(e.uri)) touched.set(e.uri, change);
    }
  }
  for (const e of diff.resolvedFindings) {
    const a = now.get(e.uri) ?? before.get(e.uri);
    if (!a) continue;
    // A resolved finding is reported in the new scan: the event belongs to it, not to the scan that found it.
    yield findingEvent(result, a, e.finding, 'resolved');
    if (!touched.has(e.uri)) touched.set(e.uri, now.has(e.uri) ? 'changed' : 'resolved');
  }
  for (const uri of diff.newArtifacts) {
    const a = now.get(uri);
    if (a && !touched.has(uri) && worthSummary(a)) touched.set(uri, 'new');
  }
  for (const [uri, change] of touched) {
    const a = now.get(uri) ?? before.get(uri);
    if (a) yield artifactEvent(result, a, change);
  }
}

/** A one-line title for the event, shared by CEF Name, OCSF finding title and ECS message. */
export function eventTitle(e: SinkEvent): string {
  if (e.type === 'artifact') return clip(`${e.artifact.class ?? 'artifact'} exposure ${e.exposure.severity}: ${e.artifact.uri}`, 512);
  const f = e.finding!;
  const what = `${f.algorithm.id}${f.algorithm.hash ? `/${f.algorithm.hash}` : ''} ${f.kind} (${f.format})`;
  return clip(`${e.change === 'resolved' ? 'resolved: ' : ''}${what}: quantum-${f.quantum.status}`, 512);
}
