/**
 * `provenance serve`: a small read-only HTTP endpoint for a sidecar next to an inference server. `GET /provenance`
 * answers for the model at `--model` (JSON; `?format=md|html|table` for people), recomputed when the model's files
 * change (their paths, sizes and modification times, checked on each request: a stat walk, no hashing) and served
 * from cache otherwise; one computation at a time. Loopback by default. Only GET and HEAD, no request body, short
 * header and request timeouts, a bounded URL, a small connection cap.
 * @module
 */
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { stat } from 'node:fs/promises';
import { errorMessage, UsageError } from '../errors.js';
import { answerProvenance, type ProvenanceAnswer, type ProvenanceOptions } from './answer.js';
import { readModelTree } from './model-files.js';
import { PROVENANCE_FORMATS, renderProvenance, type ProvenanceFormat } from './render.js';

const MAX_URL = 2048;

export interface ServeOptions extends ProvenanceOptions {
  model: string;
  host: string;
  port: number;
  /** Called with each answer recomputed (tests, logs). */
  onRecompute?: (a: ProvenanceAnswer) => void;
}

export interface ProvenanceServer {
  server: Server;
  url: string;
  close(): Promise<void>;
}

export async function serveProvenance(options: ServeOptions): Promise<ProvenanceServer> {
  // The sidecar watches files the inference server has loaded: a local directory or file.
  if (/^[a-z][a-z0-9+.-]*:\/\//i.test(options.model) && !/^file:\/\//i.test(options.model))
    throw new UsageError('serve answers for a model on local disk (the one the inference server loaded), not a remote store', { uri: options.model });
  let cached: { key: string; answer: ProvenanceAnswer } | undefined;
  let inflight: Promise<ProvenanceAnswer> | undefined;
  const fingerprint = async (): Promise<string> => {
    const tree = await readModelTree(options.model);
    const parts = tree.files.map((f) => `${f.path}\0${f.size}\0${f.mtimeMs}`);
    for (const e of options.evidence ?? []) {
      const s = await stat(e).catch(() => undefined);
      parts.push(`evidence\0${e}\0${s?.size}\0${s?.mtimeMs}`);
    }
    if (tree.single) {
      const s = await stat(`${tree.dir}/model.sig`).catch(() => undefined);
      parts.push(`sig\0${s?.size}\0${s?.mtimeMs}`);
    }
    return parts.join('\n');
  };
  const current = async (): Promise<ProvenanceAnswer> => {
    // One computation at a time; requests during it share its result.
    if (inflight) return inflight;
    inflight = (async () => {
      const key = await fingerprint();
      if (cached?.key === key) return cached.answer;
      const answer = await answerProvenance(options.model, options);
      // Files that changed while they were hashed: the next request computes again.
      const after = await fingerprint();
      cached = { key: after === key ? key : `${key}\0stale`, answer };
      options.onRecompute?.(answer);
      return answer;
    })().finally(() => {
      inflight = undefined;
    });
    return inflight;
  };

  const server = createServer({ headersTimeout: 10_000, requestTimeout: 30_000, maxHeaderSize: 8192 }, (req, res) => {
    void handle(req, res, current);
  });
  server.maxConnections = 64;
  await new Promise<void>((ok, fail) => {
    server.once('error', fail);
    server.listen(options.port, options.host, () => ok());
  });
  const addr = server.address();
  const port = typeof addr === 'object' && addr ? addr.port : options.port;
  const host = options.host.includes(':') ? `[${options.host}]` : options.host;
  return {
    server,
    url: `http://${host}:${port}`,
    close: () => new Promise<void>((ok) => server.close(() => ok())),
  };
}

async function handle(req: IncomingMessage, res: ServerResponse, current: () => Promise<ProvenanceAnswer>): Promise<void> {
  const send = (status: number, type: string, body: string) => {
    res.writeHead(status, { 'content-type': type, 'cache-control': 'no-store', 'x-content-type-options': 'nosniff' });
    res.end(req.method === 'HEAD' ? undefined : body);
  };
  if ((req.url ?? '').length > MAX_URL) return send(414, 'text/plain; charset=utf-8', 'URI too long\n');
  if (req.method !== 'GET' && req.method !== 'HEAD') {
    res.setHeader('allow', 'GET, HEAD');
    return send(405, 'text/plain; charset=utf-8', 'read-only: GET or HEAD\n');
  }
  if (Number(req.headers['content-length'] ?? 0) > 0 || req.headers['transfer-encoding'])
    return send(413, 'text/plain; charset=utf-8', 'no request body accepted\n');
  const url = new URL(req.url ?? '/', 'http://localhost');
  if (url.pathname === '/healthz') return send(200, 'text/plain; charset=utf-8', 'ok\n');
  if (url.pathname !== '/provenance') return send(404, 'text/plain; charset=utf-8', 'GET /provenance\n');
  const format = (url.searchParams.get('format') ?? 'json') as ProvenanceFormat;
  if (!PROVENANCE_FORMATS.includes(format)) return send(400, 'text/plain; charset=utf-8', `format is one of ${PROVENANCE_FORMATS.join(', ')}\n`);
  let answer: ProvenanceAnswer;
  try {
    answer = await current();
  } catch (e) {
    return send(503, 'application/json', `${JSON.stringify({ error: errorMessage(e) })}\n`);
  }
  const types: Record<ProvenanceFormat, string> = {
    json: 'application/json',
    table: 'text/plain; charset=utf-8',
    md: 'text/markdown; charset=utf-8',
    html: 'text/html; charset=utf-8',
    cbom: 'application/vnd.cyclonedx+json',
  };
  send(200, types[format], renderProvenance(answer, format));
}
