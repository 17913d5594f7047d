/**
 * The job engine behind distributed scans: BullMQ 6 (MIT), one API on PostgreSQL (≥ 13; the database that already
 * holds the shared inventory) or Redis. A queue URL picks the backend: `postgres://…` or `redis://…`/`rediss://…`.
 * Everything else in src/queue/ talks to BullMQ's Queue, Worker and FlowProducer only, never to a backend's client.
 * @module
 */
import { UsageError } from '../errors.js';
import { redactUrl } from '../net/secrets.js';

/** Default queue name; several independent queues can share one database or Redis (`--queue-name`). */
export const DEFAULT_QUEUE_NAME = 'shelflife';

export type QueueBackendKind = 'postgres' | 'redis';

/** What the BullMQ constructors take for one queue URL: the connection and, for PostgreSQL, the backend factory. */
export interface QueueConnection {
  kind: QueueBackendKind;
  /** The URL without its password, for messages. */
  display: string;
  name: string;
  connection: unknown;
  factory: unknown;
}

export function queueBackendKind(url: string): QueueBackendKind {
  if (/^postgres(ql)?:\/\//i.test(url)) return 'postgres';
  if (/^rediss?:\/\//i.test(url)) return 'redis';
  throw new UsageError('--queue takes a postgres:// or redis:// URL', { uri: redactUrl(url) });
}

/** Queue names become BullMQ key parts and job-key prefixes: a conservative alphabet, and never a `:`. */
export function checkQueueName(name: string): string {
  if (!/^[A-Za-z][A-Za-z0-9_-]{0,62}$/.test(name))
    throw new UsageError(`queue name "${name}" must be letters, digits, "-" or "_" (at most 63, a letter first)`);
  return name;
}

export async function queueConnection(url: string, name = DEFAULT_QUEUE_NAME): Promise<QueueConnection> {
  const kind = queueBackendKind(url);
  checkQueueName(name);
  const display = redactUrl(url);
  if (kind === 'postgres') {
    const { createPostgresBackend, runMigrations, DEFAULT_SCHEMA, quoteSchemaName } = await import('bullmq');
    const { default: pg } = await import('pg');
    // Our own pool, so that a connection the server closes (a restart, a failover) is observed: a pool BullMQ builds
    // from a URL has no 'error' listener, and that event would end the worker. A pool passed in uses BullMQ's default
    // schema, which its sessions must have on their search_path; the LISTEN client is checked out of it (hence 5:
    // a worker's jobs make a few short state changes each). Idle clients do not keep a finished command alive.
    const pool = new pg.Pool({
      connectionString: url,
      max: 5,
      options: `-c search_path=${quoteSchemaName(DEFAULT_SCHEMA)}`,
      allowExitOnIdle: true,
    });
    pool.on('error', () => {});
    // A checked-out client whose session is cut between two statements (every session terminated at once) emits its
    // error on itself: observed here, its statement fails and BullMQ retries; unobserved, it would end the worker.
    pool.on('connect', (client) => client.on('error', () => {}));
    // BullMQ's migrations are explicit: idempotent and serialised by an advisory lock held on one session.
    const client = await pool.connect();
    try {
      await runMigrations(client, DEFAULT_SCHEMA);
    } finally {
      client.release();
    }
    return { kind, display, name, connection: pool, factory: createPostgresBackend };
  }
  const u = new URL(url);
  const db = u.pathname.replace(/^\//, '');
  return {
    kind,
    display,
    name,
    connection: {
      host: u.hostname.replace(/^\[|\]$/g, ''),
      port: u.port ? Number(u.port) : 6379,
      ...(u.username ? { username: decodeURIComponent(u.username) } : {}),
      ...(u.password ? { password: decodeURIComponent(u.password) } : {}),
      ...(db ? { db: Number(db) } : {}),
      ...(u.protocol === 'rediss:' ? { tls: { servername: u.hostname } } : {}),
      // BullMQ's workers block on Redis: ioredis must not give up on a command while the server is away.
      maxRetriesPerRequest: null,
    },
    factory: undefined,
  };
}
