/**
 * Local stand-ins for Splunk HEC and the Elasticsearch _bulk API (neither is installable here). They check the
 * documented request format, the auth header and the batching, and answer with the documented success and error
 * bodies: HEC (Splunk docs "Format events for HTTP Event Collector", "HTTP Event Collector indexer acknowledgment",
 * "Troubleshoot HTTP Event Collector" status codes) and Elasticsearch "Bulk API" (per-item status, errors: true).
 * @module
 */
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';

export interface Receiver {
  url: string;
  close(): Promise<void>;
}

function readBody(req: IncomingMessage): Promise<string> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => resolve(Buffer.concat(chunks).toString('utf8')));
    req.on('error', reject);
  });
}

function json(res: ServerResponse, status: number, body: unknown): void {
  res.writeHead(status, { 'content-type': 'application/json' });
  res.end(JSON.stringify(body));
}

async function listen(server: Server, port = 0): Promise<string> {
  await new Promise<void>((r, j) => {
    server.once('error', j);
    server.listen(port, '127.0.0.1', () => r());
  });
  return `127.0.0.1:${(server.address() as { port: number }).port}`;
}

/** Split HEC's body: JSON objects back to back, whitespace between them allowed. */
export function splitHecBody(body: string): string[] {
  const out: string[] = [];
  let depth = 0;
  let start = -1;
  let inString = false;
  for (let i = 0; i < body.length; i++) {
    const c = body[i];
    if (inString) {
      if (c === '\\') i++;
      else if (c === '"') inString = false;
      continue;
    }
    if (c === '"') inString = true;
    else if (c === '{') {
      if (depth++ === 0) start = i;
    } else if (c === '}') {
      if (--depth === 0) out.push(body.slice(start, i + 1));
    } else if (depth === 0 && !/\s/.test(c)) out.push(body.slice(i)); // garbage outside an object: invalid
  }
  return out;
}

export interface HecReceiver extends Receiver {
  events: Record<string, unknown>[];
  requests: { events: number; channel: string | undefined }[];
  ackQueries: number;
  /** Answer the next n event requests with this status and body (e.g. 503 server busy). */
  failNext(n: number, status: number, body: unknown): void;
  /** The event (by its shelflife id) that the receiver refuses as invalid data (400, invalid-event-number). */
  refuse: Set<string>;
}

/** `port`: listen there (a receiver coming back where the spool expects it); 0 = any free port. */
export async function startHecReceiver(o: { token: string; ack?: boolean; ackAfterPolls?: number; port?: number }): Promise<HecReceiver> {
  const failures: { status: number; body: unknown }[] = [];
  const pendingAcks = new Map<number, { polls: number; events: Record<string, unknown>[] }>();
  let nextAck = 0;
  const r: Omit<HecReceiver, 'url' | 'close'> = {
    events: [],
    requests: [],
    ackQueries: 0,
    refuse: new Set(),
    failNext: (n, status, body) => failures.push(...Array.from({ length: n }, () => ({ status, body }))),
  };
  const server = createServer(async (req, res) => {
    const body = await readBody(req);
    const url = new URL(req.url ?? '/', 'http://x');
    const auth = req.headers.authorization;
    if (!auth) return json(res, 401, { text: 'Token is required', code: 2 });
    if (auth !== `Splunk ${o.token}`) return json(res, 403, { text: 'Invalid token', code: 4 });
    const channel = req.headers['x-splunk-request-channel'] as string | undefined;
    if (req.method !== 'POST') return json(res, 405, { text: 'Method not allowed', code: 0 });
    if (url.pathname === '/services/collector/ack') {
      r.ackQueries++;
      if (!channel || url.searchParams.get('channel') !== channel) return json(res, 400, { text: 'Data channel is missing', code: 10 });
      const { acks } = JSON.parse(body) as { acks: number[] };
      const answer: Record<string, boolean> = {};
      for (const id of acks) {
        const p = pendingAcks.get(id);
        if (!p) {
          answer[id] = false;
          continue;
        }
        if (++p.polls >= (o.ackAfterPolls ?? 1)) {
          // Indexed now: the events become visible only at this point.
          r.events.push(...p.events);
          pendingAcks.delete(id);
          answer[id] = true;
        } else answer[id] = false;
      }
      return json(res, 200, { acks: answer });
    }
    if (url.pathname !== '/services/collector/event') return json(res, 404, { text: 'The requested URL was not found on this server.', code: 404 });
    if (failures.length) {
      const f = failures.shift()!;
      return json(res, f.status, f.body);
    }
    if (o.ack && !channel) return json(res, 400, { text: 'Data channel is missing', code: 10 });
    if ((req.headers['content-type'] ?? '') !== 'application/json') return json(res, 400, { text: 'Invalid data format', code: 6, 'invalid-event-number': 0 });
    const parts = splitHecBody(body);
    if (!parts.length) return json(res, 400, { text: 'No data', code: 5 });
    const accepted: Record<string, unknown>[] = [];
    for (let i = 0; i < parts.length; i++) {
      let ev: Record<string, unknown>;
      try {
        ev = JSON.parse(parts[i]);
      } catch {
        return json(res, 400, { text: 'Invalid data format', code: 6, 'invalid-event-number': i });
      }
      if (ev.event === undefined || ev.event === null || ev.event === '')
        return json(res, 400, { text: 'Event field is required', code: 12, 'invalid-event-number': i });
      if (typeof ev.time !== 'number') return json(res, 400, { text: 'Invalid data format', code: 6, 'invalid-event-number': i });
      const id = (ev.event as { id?: string; metadata?: { uid?: string } }).id ?? (ev.event as { metadata?: { uid?: string } }).metadata?.uid;
      if (id && r.refuse.has(id)) {
        // Splunk indexes the events before the invalid one and stops there.
        r.requests.push({ events: i, channel });
        r.events.push(...accepted);
        return json(res, 400, { text: 'Invalid data format', code: 6, 'invalid-event-number': i });
      }
      accepted.push(ev);
    }
    r.requests.push({ events: accepted.length, channel });
    if (o.ack) {
      const ackId = nextAck++;
      pendingAcks.set(ackId, { polls: 0, events: accepted });
      return json(res, 200, { text: 'Success', code: 0, ackId });
    }
    r.events.push(...accepted);
    return json(res, 200, { text: 'Success', code: 0 });
  });
  const hostPort = await listen(server, o.port);
  return Object.assign(r, { url: `http://${hostPort}`, close: () => new Promise<void>((res) => server.close(() => res())) }) as HecReceiver;
}

export interface BulkReceiver extends Receiver {
  /** Indexed documents by index and _id. */
  docs: Map<string, Record<string, unknown>>;
  requests: { actions: number }[];
  /** Per-item outcome override by _id: a status (and how many times it applies). */
  itemFailures: Map<string, { status: number; type: string; times: number }>;
  failNext(n: number, status: number): void;
}

export async function startBulkReceiver(o: { apiKey?: string; port?: number }): Promise<BulkReceiver> {
  const failures: number[] = [];
  const r: Omit<BulkReceiver, 'url' | 'close'> = {
    docs: new Map(),
    requests: [],
    itemFailures: new Map(),
    failNext: (n, status) => failures.push(...Array.from({ length: n }, () => status)),
  };
  const server = createServer(async (req, res) => {
    const body = await readBody(req);
    if (o.apiKey && req.headers.authorization !== `ApiKey ${o.apiKey}`) {
      return json(res, 401, {
        error: { root_cause: [{ type: 'security_exception', reason: 'unable to authenticate' }], type: 'security_exception', reason: 'unable to authenticate' },
        status: 401,
      });
    }
    if (req.method !== 'POST' || new URL(req.url ?? '/', 'http://x').pathname !== '/_bulk') return json(res, 404, { error: 'no handler', status: 404 });
    if (failures.length) return json(res, failures.shift()!, { error: { type: 'es_rejected_execution_exception', reason: 'rejected' }, status: 429 });
    if (!String(req.headers['content-type']).startsWith('application/x-ndjson'))
      return json(res, 406, { error: 'Content-Type header [text/plain] is not supported', status: 406 });
    // The bulk request must end with a newline (Bulk API: "The final line of data must end with a newline").
    if (!body.endsWith('\n'))
      return json(res, 400, { error: { type: 'illegal_argument_exception', reason: 'The bulk request must be terminated by a newline [\\n]' }, status: 400 });
    const lines = body.slice(0, -1).split('\n');
    const items: Record<string, unknown>[] = [];
    let errors = false;
    for (let i = 0; i < lines.length; i += 2) {
      const action = JSON.parse(lines[i]) as { create?: { _index?: string; _id?: string } };
      if (!action.create?._index || !action.create._id || i + 1 >= lines.length)
        return json(res, 400, { error: { type: 'action_request_validation_exception', reason: `malformed action/metadata line [${i + 1}]` }, status: 400 });
      const doc = JSON.parse(lines[i + 1]) as Record<string, unknown>;
      const { _index, _id } = action.create;
      const key = `${_index}/${_id}`;
      const fail = r.itemFailures.get(_id);
      if (fail && fail.times > 0) {
        fail.times--;
        errors = true;
        items.push({ create: { _index, _id, status: fail.status, error: { type: fail.type, reason: `injected ${fail.type}` } } });
      } else if (r.docs.has(key)) {
        errors = true;
        items.push({
          create: {
            _index,
            _id,
            status: 409,
            error: { type: 'version_conflict_engine_exception', reason: `[${_id}]: version conflict, document already exists (current version [1])` },
          },
        });
      } else {
        r.docs.set(key, doc);
        items.push({
          create: {
            _index,
            _id,
            _version: 1,
            result: 'created',
            _shards: { total: 1, successful: 1, failed: 0 },
            _seq_no: r.docs.size - 1,
            _primary_term: 1,
            status: 201,
          },
        });
      }
    }
    r.requests.push({ actions: items.length });
    return json(res, 200, { took: 1, errors, items });
  });
  const hostPort = await listen(server, o.port);
  return Object.assign(r, { url: `http://${hostPort}`, close: () => new Promise<void>((res) => server.close(() => res())) }) as BulkReceiver;
}
