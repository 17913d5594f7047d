/**
 * Sink URLs and secrets. A sink is named by a URL whose scheme says the protocol:
 *   syslog+udp://host:514   syslog+tcp://host:514   syslog+tls://host:6514
 *   hec+https://host:8088[?index=…&sourcetype=…&source=…]
 *   elastic+https://host:9200/<index>
 * Credentials never come from flags or URLs (they would sit in shell history and process lists): only from an
 * environment variable (--sink-token-env NAME) or a file (--sink-token-file PATH), read when needed and never logged.
 * Plain http:// is allowed only to a loopback host.
 * @module
 */
import { createHash } from 'node:crypto';
import { readFileSync, statSync } from 'node:fs';
import { ShelflifeError, UsageError } from '../errors.js';
import { ElasticTransport } from './elastic.js';
import { HecTransport } from './hec.js';
import { SyslogTransport, type SyslogProtocol } from './syslog.js';
import { EVENT_FORMATS, type EventFormat } from '../report/event.js';
import type { SinkConfig, SinkTransport } from './transport.js';

const MAX_TOKEN_BYTES = 8192;

export type SinkKind = 'syslog' | 'hec' | 'elastic';

export interface ParsedSink {
  kind: SinkKind;
  protocol: SyslogProtocol | 'http' | 'https';
  host: string;
  port: number;
  /** Base URL for HTTP sinks (scheme, host, port, path prefix). */
  base: string;
  index?: string;
  params: URLSearchParams;
  /** The URL as shown in messages and in the spool's name. */
  label: string;
}

function isLoopbackHost(h: string): boolean {
  const host = h.replace(/^\[|\]$/g, '');
  return host === 'localhost' || host === '::1' || /^127\.\d+\.\d+\.\d+$/.test(host);
}

export function parseSinkUrl(raw: string): ParsedSink {
  let u: URL;
  try {
    u = new URL(raw);
  } catch {
    throw new UsageError(`--sink ${raw}: not a URL (expected syslog+tls://host:6514, hec+https://host:8088, elastic+https://host:9200/index …)`);
  }
  if (u.username || u.password) {
    throw new UsageError(
      `--sink ${u.protocol}//${u.host}: credentials in the URL are refused (they end up in shell history and process lists); use --sink-token-env NAME or --sink-token-file PATH`,
    );
  }
  const [kind, proto] = u.protocol.replace(/:$/, '').split('+') as [string, string | undefined];
  const host = u.hostname.replace(/^\[|\]$/g, '');
  if (!host) throw new UsageError(`--sink ${raw}: no host`);
  const label = `${u.protocol}//${u.host}${u.pathname === '/' ? '' : u.pathname}`;
  if (kind === 'syslog') {
    if (proto !== 'udp' && proto !== 'tcp' && proto !== 'tls')
      throw new UsageError(`--sink ${raw}: syslog needs a transport: syslog+udp://, syslog+tcp:// or syslog+tls://`);
    const port = u.port ? Number(u.port) : proto === 'tls' ? 6514 : 514;
    return { kind: 'syslog', protocol: proto, host, port, base: '', params: u.searchParams, label };
  }
  if (kind === 'hec' || kind === 'elastic') {
    if (proto !== 'https' && proto !== 'http') throw new UsageError(`--sink ${raw}: use ${kind}+https://`);
    if (proto === 'http' && !isLoopbackHost(host))
      throw new UsageError(`--sink ${raw}: plain HTTP would send the token in clear; use ${kind}+https:// (http is allowed only to loopback)`);
    const port = u.port ? Number(u.port) : kind === 'hec' ? 8088 : 9200;
    const hostPort = `${u.hostname}:${port}`;
    if (kind === 'elastic') {
      const parts = u.pathname.split('/').filter(Boolean);
      const index = parts.pop();
      if (!index) throw new UsageError(`--sink ${raw}: name the index: elastic+https://host:9200/<index>`);
      // Elasticsearch index names: lowercase, no \ / * ? " < > | space , #, not starting with - _ +. Percent-escapes
      // cannot make a valid one, so the name is checked as written.
      if (!/^[a-z0-9][a-z0-9._-]{0,254}$/.test(index)) throw new UsageError(`--sink ${raw}: "${index}" is not a valid Elasticsearch index name`);
      return {
        kind,
        protocol: proto,
        host,
        port,
        base: `${proto}://${hostPort}${parts.length ? `/${parts.join('/')}` : ''}`,
        index,
        params: u.searchParams,
        label,
      };
    }
    return { kind, protocol: proto, host, port, base: `${proto}://${hostPort}${u.pathname.replace(/\/+$/, '')}`, params: u.searchParams, label };
  }
  throw new UsageError(`--sink ${raw}: unknown sink "${u.protocol}" (syslog+udp, syslog+tcp, syslog+tls, hec+https, elastic+https)`);
}

/** The spool directory name of a sink: readable, and unique per URL. */
export function sinkSpoolName(url: string): string {
  const p = parseSinkUrl(url);
  const digest = createHash('sha256').update(url).digest('hex').slice(0, 12);
  return `${p.kind}-${p.protocol}-${p.host.replace(/[^A-Za-z0-9.-]/g, '_')}-${p.port}-${digest}`;
}

export function defaultFormat(kind: SinkKind): EventFormat {
  return kind === 'syslog' ? 'cef' : 'json';
}

/** Read the secret from where the config says it lives. Messages name the variable or file, never the value. */
export function readSecret(c: Pick<SinkConfig, 'tokenEnv' | 'tokenFile'>, label: string): string | undefined {
  if (c.tokenEnv && c.tokenFile) throw new UsageError('--sink-token-env and --sink-token-file cannot be used together');
  if (c.tokenEnv) {
    const v = process.env[c.tokenEnv];
    if (!v) throw new UsageError(`environment variable ${c.tokenEnv} (--sink-token-env) is not set or empty`, { uri: label });
    return v.trim();
  }
  if (c.tokenFile) {
    let size: number;
    try {
      size = statSync(c.tokenFile).size;
    } catch (e) {
      throw new UsageError(`--sink-token-file ${c.tokenFile}: ${(e as NodeJS.ErrnoException).code ?? 'unreadable'}`, { uri: label });
    }
    if (size > MAX_TOKEN_BYTES) throw new UsageError(`--sink-token-file ${c.tokenFile}: larger than ${MAX_TOKEN_BYTES} bytes; not a token`, { uri: label });
    const v = readFileSync(c.tokenFile, 'utf8').trim();
    if (!v) throw new UsageError(`--sink-token-file ${c.tokenFile} is empty`, { uri: label });
    return v;
  }
  return undefined;
}

export function validateSinkConfig(c: SinkConfig): ParsedSink {
  const p = parseSinkUrl(c.url);
  if (c.format && !EVENT_FORMATS.includes(c.format)) throw new UsageError(`--sink-format ${c.format}: expected one of ${EVENT_FORMATS.join(', ')}`);
  if (p.kind === 'elastic' && c.format === 'cef') throw new UsageError('Elasticsearch takes documents: --sink-format json (ECS) or ocsf', { uri: p.label });
  if (!!c.cert !== !!c.key) throw new UsageError('--sink-cert and --sink-key go together');
  if (p.kind === 'syslog' && p.protocol !== 'tls' && (c.ca || c.cert)) throw new UsageError('--sink-ca/--sink-cert need syslog+tls://', { uri: p.label });
  if (p.kind === 'syslog' && (c.tokenEnv || c.tokenFile))
    throw new UsageError('syslog takes no token; authenticate with --sink-cert/--sink-key over syslog+tls://', { uri: p.label });
  return p;
}

export function createTransport(c: SinkConfig, options: { ackPollMs?: number } = {}): SinkTransport {
  const p = validateSinkConfig(c);
  if (p.kind === 'hec' && !c.tokenEnv && !c.tokenFile)
    throw new UsageError('Splunk HEC needs a token: --sink-token-env NAME or --sink-token-file PATH', { uri: p.label });
  const format = c.format ?? defaultFormat(p.kind);
  const tls = { caFile: c.ca, certFile: c.cert, keyFile: c.key };
  try {
    if (p.kind === 'syslog') return new SyslogTransport({ protocol: p.protocol as SyslogProtocol, host: p.host, port: p.port, format, ...tls, label: p.label });
    const token = readSecret(c, p.label);
    if (p.kind === 'hec') {
      const param = (k: string) => p.params.get(k) ?? undefined;
      return new HecTransport({
        base: p.base,
        token: token!,
        format,
        index: param('index'),
        source: param('source'),
        sourcetype: param('sourcetype'),
        ...tls,
        label: p.label,
        ...options,
      });
    }
    return new ElasticTransport({ base: p.base, index: p.index!, token, format, ...tls, label: p.label });
  } catch (e) {
    if (e instanceof ShelflifeError) throw e;
    throw new UsageError((e as Error).message, { uri: p.label });
  }
}
