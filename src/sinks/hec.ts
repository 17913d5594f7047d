/**
 * Splunk HTTP Event Collector (Splunk Enterprise docs, "Format events for HTTP Event Collector" and "About HTTP Event
 * Collector Indexer Acknowledgment"):
 *   POST /services/collector/event, `Authorization: Splunk <token>`, body = event objects back to back
 *   ({"time": epoch-seconds, "host", "source", "sourcetype", "index"?, "event": {...}}).
 *   Success: {"text":"Success","code":0} (+ "ackId": n when indexer acknowledgment is on).
 *   With acknowledgment on, every request carries `X-Splunk-Request-Channel: <uuid>` and the batch counts as
 *   delivered only when POST /services/collector/ack?channel=<uuid> {"acks":[n]} answers {"acks":{"n":true}}.
 * Errors: 400 code 5/6 (no data / invalid data format, with "invalid-event-number") are refused for good; 401/403
 * (token) are configuration errors and keep events spooled; 429/5xx (code 9 "server is busy") are retried.
 * @module
 */
import { randomUUID } from 'node:crypto';
import { hostname } from 'node:os';
import type { HttpClient } from '../net/http.js';
import { ShelflifeError } from '../errors.js';
import type { EventFormat, SinkEvent } from '../report/event.js';
import { encodeEvent } from '../report/event-format.js';
import { safeJson } from '../report/text.js';
import type { SpooledEvent } from './spool.js';
import { isTransientStatus, post, sinkHttp } from './_http.js';
import { ALL_DELIVERED, type BatchResult, type SinkTransport, TransientSinkError } from './transport.js';

const ACK_POLL_MS = 250;
const ACK_TIMEOUT_MS = 120_000;

export interface HecOptions {
  /** https://host:8088 (path prefix allowed), without the shelflife scheme prefix. */
  base: string;
  token: string;
  format: EventFormat;
  index?: string;
  source?: string;
  sourcetype?: string;
  caFile?: string;
  certFile?: string;
  keyFile?: string;
  label: string;
  /** Poll interval for indexer acknowledgment (tests use small values). */
  ackPollMs?: number;
}

export function hecEvent(e: SinkEvent, o: Pick<HecOptions, 'format' | 'index' | 'source' | 'sourcetype'>): Record<string, unknown> {
  const t = Date.parse(e.time);
  return {
    time: Number.isNaN(t) ? Date.now() / 1000 : t / 1000,
    host: hostname(),
    source: o.source ?? 'shelflife',
    sourcetype: o.sourcetype ?? (o.format === 'ocsf' ? 'ocsf:compliance_finding' : o.format === 'cef' ? 'cef' : `shelflife:${e.type}`),
    ...(o.index ? { index: o.index } : {}),
    event: encodeEvent(e, o.format),
  };
}

interface HecReply {
  text?: string;
  code?: number;
  ackId?: number;
  'invalid-event-number'?: number;
}

export class HecTransport implements SinkTransport {
  readonly maxBatchEvents = 1000;
  /** Splunk's default max_content_length is 800 MB; stay far below it and below proxies' limits. */
  readonly maxBatchBytes = 5 * 1024 * 1024;
  private readonly http: HttpClient;
  private readonly channel = randomUUID();

  constructor(private readonly o: HecOptions) {
    this.http = sinkHttp(o);
  }

  get label(): string {
    return this.o.label;
  }

  private headers(): Record<string, string> {
    return { authorization: `Splunk ${this.o.token}`, 'content-type': 'application/json', 'x-splunk-request-channel': this.channel };
  }

  async send(batch: SpooledEvent[]): Promise<BatchResult> {
    const body = batch.map((b) => safeJson(hecEvent(b.event, this.o))).join('\n');
    const res = await post(this.http, `${this.o.base}/services/collector/event`, this.label, this.headers(), body, [this.o.token]);
    let reply: HecReply = {};
    try {
      reply = JSON.parse(res.body) as HecReply;
    } catch {
      /* non-JSON answers are judged by status alone */
    }
    if (res.status === 200 && (reply.code ?? 0) === 0) {
      if (typeof reply.ackId === 'number') await this.waitForAck(reply.ackId);
      return ALL_DELIVERED;
    }
    const why = `HTTP ${res.status}${reply.text ? `: ${reply.text}` : ''}${reply.code !== undefined ? ` (code ${reply.code})` : ''}`;
    if (isTransientStatus(res.status)) throw new TransientSinkError(why, { uri: this.label, retryAfterMs: res.retryAfterMs });
    if (res.status === 401 || res.status === 403)
      throw new ShelflifeError('sink', `${why}: check the token (--sink-token-env/--sink-token-file); events stay spooled`, { uri: this.label });
    if (res.status === 400 && typeof reply['invalid-event-number'] === 'number') {
      // HEC indexes the events before the invalid one and drops the rest of the request: refuse that one, resend
      // those after it.
      const bad = reply['invalid-event-number'];
      if (bad >= 0 && bad < batch.length) {
        return { rejected: [{ index: bad, reason: why }], retry: batch.map((_, i) => i).filter((i) => i > bad) };
      }
    }
    if (res.status === 400) return { retry: [], rejected: batch.map((_, index) => ({ index, reason: why })) };
    throw new ShelflifeError('sink', why, { uri: this.label });
  }

  private async waitForAck(ackId: number): Promise<void> {
    const deadline = Date.now() + ACK_TIMEOUT_MS;
    const poll = this.o.ackPollMs ?? ACK_POLL_MS;
    for (;;) {
      const res = await post(
        this.http,
        `${this.o.base}/services/collector/ack?channel=${this.channel}`,
        this.label,
        this.headers(),
        JSON.stringify({ acks: [ackId] }),
        [this.o.token],
      );
      if (res.status !== 200) throw new TransientSinkError(`ack query answered HTTP ${res.status}`, { uri: this.label, retryAfterMs: res.retryAfterMs });
      let acks: Record<string, boolean>;
      try {
        acks = (JSON.parse(res.body) as { acks?: Record<string, boolean> }).acks ?? {};
      } catch {
        throw new TransientSinkError('ack query answered non-JSON', { uri: this.label });
      }
      if (acks[String(ackId)] === true) return;
      // Not indexed yet; if it never is (an indexer restart drops unacknowledged data), the batch is re-sent.
      if (Date.now() > deadline) throw new TransientSinkError(`ackId ${ackId} not acknowledged within ${ACK_TIMEOUT_MS / 1000} s`, { uri: this.label });
      await new Promise((r) => setTimeout(r, poll));
    }
  }

  async close(): Promise<void> {
    await this.http.close();
  }
}
