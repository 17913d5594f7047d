/**
 * Elasticsearch / OpenSearch `_bulk` API (Elasticsearch reference, "Bulk API"): POST /_bulk with
 * `Content-Type: application/x-ndjson`, one `{"create":{"_index","_id"}}` action line and one document line per
 * event, a trailing newline. `create` with `_id` = the event id makes delivery idempotent: a re-sent event answers
 * 409 (version_conflict_engine_exception), which means it is already there. Per-item results: 429/5xx items are
 * re-sent (only those), other 4xx items (mapping errors) are refused for good and kept in the spool's
 * rejected.ndjson. Documents are ECS (src/report/ecs.ts) or OCSF (src/report/ocsf.ts). Auth:
 * `Authorization: ApiKey <base64 id:key>` from --sink-token-env/--sink-token-file.
 * @module
 */
import type { HttpClient } from '../net/http.js';
import { ShelflifeError } from '../errors.js';
import { toEcs } from '../report/ecs.js';
import type { EventFormat } from '../report/event.js';
import { toOcsf } from '../report/ocsf.js';
import { safeJson } from '../report/text.js';
import type { SpooledEvent } from './spool.js';
import { isTransientStatus, post, sinkHttp } from './_http.js';
import { ALL_DELIVERED, type BatchResult, type SinkTransport, TransientSinkError } from './transport.js';

export interface ElasticOptions {
  /** https://host:9200 (path prefix allowed) */
  base: string;
  index: string;
  token?: string;
  /** `ocsf` indexes OCSF documents; `json` (the default) ECS documents. */
  format: EventFormat;
  caFile?: string;
  certFile?: string;
  keyFile?: string;
  label: string;
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
      body += `${safeJson({ create: { _index: this.o.index, _id: b.event.id } })}\n${safeJson(doc)}\n`;
    }
    const headers: Record<string, string> = { 'content-type': 'application/x-ndjson' };
    if (this.o.token) headers.authorization = `ApiKey ${this.o.token}`;
    const res = await post(this.http, `${this.o.base}/_bulk`, this.label, headers, body, [this.o.token]);
    if (isTransientStatus(res.status)) throw new TransientSinkError(`HTTP ${res.status}`, { uri: this.label, retryAfterMs: res.retryAfterMs });
    if (res.status === 401 || res.status === 403)
      throw new ShelflifeError('sink', `HTTP ${res.status}: check the API key (--sink-token-env/--sink-token-file); events stay spooled`, { uri: this.label });
    if (res.status !== 200) throw new ShelflifeError('sink', `HTTP ${res.status}: ${res.body.slice(0, 500)}`, { uri: this.label });
    let reply: { errors?: boolean; items?: Record<string, BulkItemResult>[] };
    try {
      reply = JSON.parse(res.body);
    } catch {
      throw new TransientSinkError('_bulk answered non-JSON', { uri: this.label });
    }
    if (!reply.errors) return ALL_DELIVERED;
    const items = reply.items ?? [];
    if (items.length !== batch.length) throw new TransientSinkError(`_bulk answered ${items.length} items for ${batch.length} actions`, { uri: this.label });
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
