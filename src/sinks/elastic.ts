/**
 * Elasticsearch / OpenSearch `_bulk` API (Elasticsearch reference, "Bulk API"): POST /_bulk with
 * `Content-Type: application/x-ndjson`, one `{"create":{"_index","_id"}}` action line and one document line per
 * event, a trailing newline. `create` with `_id` = the event id makes delivery idempotent: a re-sent event answers
 * 409 (version_conflict_engine_exception), which means it is already there. Per-item results: 429/5xx items are
 * re-sent (only those), other 4xx items (mapping errors) are refused for good and kept in the spool's
 * rejected.ndjson. Documents use ECS field names (Elastic Common Schema 8.x) where they exist, the rest under
 * `shelflife.*`. Auth: `Authorization: ApiKey <base64 id:key>` from --sink-token-env/--sink-token-file.
 * @module
 */
import type { HttpClient } from '../net/http.js';
import { ShelflifeError } from '../errors.js';
import type { Severity } from '../model.js';
import { VERSION } from '../version.js';
import { eventTitle, type SinkEvent } from './event.js';
import { toOcsf } from './ocsf.js';
import type { SpooledEvent } from './spool.js';
import { isTransientStatus, post, sinkHttp } from './_http.js';
import { ALL_DELIVERED, type BatchResult, type SinkFormat, type SinkTransport, TransientSinkError } from './transport.js';

const ECS_SEVERITY: Record<Severity, number> = { none: 0, low: 21, medium: 47, high: 73, critical: 99 };

export interface ElasticOptions {
  /** https://host:9200 (path prefix allowed) */
  base: string;
  index: string;
  token?: string;
  format: SinkFormat;
  caFile?: string;
  certFile?: string;
  keyFile?: string;
  label: string;
}

/** The ECS document for an event (ECS 8.x field reference: event.*, file.*, vulnerability.*, x509.*). */
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

interface BulkItemResult {
  status?: number;
  error?: { type?: string; reason?: string };
}

export class ElasticTransport implements SinkTransport {
  readonly maxBatchEvents = 1000;
  readonly maxBatchBytes = 5 * 1024 * 1024;
  private readonly http: HttpClient;

  constructor(private readonly o: ElasticOptions) {
    this.http = sinkHttp(o);
  }

  get label(): string {
    return this.o.label;
  }

  async send(batch: SpooledEvent[]): Promise<BatchResult> {
    let body = '';
    for (const b of batch) {
      const doc = this.o.format === 'ocsf' ? toOcsf(b.event) : toEcs(b.event);
      body += `${JSON.stringify({ create: { _index: this.o.index, _id: b.event.id } })}\n${JSON.stringify(doc)}\n`;
    }
    const headers: Record<string, string> = { 'content-type': 'application/x-ndjson' };
    if (this.o.token) headers.authorization = `ApiKey ${this.o.token}`;
    const res = await post(this.http, `${this.o.base}/_bulk`, this.label, headers, body, [this.o.token]);
    if (isTransientStatus(res.status)) throw new TransientSinkError(`${this.label}: HTTP ${res.status}`, res.retryAfterMs);
    if (res.status === 401 || res.status === 403)
      throw new ShelflifeError('sink', `${this.label}: HTTP ${res.status}: check the API key (--sink-token-env/--sink-token-file); events stay spooled`);
    if (res.status !== 200) throw new ShelflifeError('sink', `${this.label}: HTTP ${res.status}: ${res.body.slice(0, 500)}`);
    let reply: { errors?: boolean; items?: Record<string, BulkItemResult>[] };
    try {
      reply = JSON.parse(res.body);
    } catch {
      throw new TransientSinkError(`${this.label}: _bulk answered non-JSON`);
    }
    if (!reply.errors) return ALL_DELIVERED;
    const items = reply.items ?? [];
    if (items.length !== batch.length) throw new TransientSinkError(`${this.label}: _bulk answered ${items.length} items for ${batch.length} actions`);
    const out: BatchResult = { retry: [], rejected: [] };
    items.forEach((item, i) => {
      const r = item.create ?? Object.values(item)[0] ?? {};
      const status = r.status ?? 0;
      if (status >= 200 && status < 300) return;
      if (status === 409) return; // already indexed under this id: delivered earlier
      const reason = `${status} ${r.error?.type ?? ''}: ${r.error?.reason ?? ''}`.trim();
      if (isTransientStatus(status)) out.retry.push(i);
      else out.rejected.push({ index: i, reason });
    });
    return out;
  }

  async close(): Promise<void> {
    await this.http.close();
  }
}
