/**
 * Politeness across workers: a registry's or a store's limits are global, not per process. Two mechanisms in the
 * shared PostgreSQL inventory (BullMQ's per-group limits are BullMQ Pro only):
 * - a per-host semaphore of PostgreSQL advisory locks: a unit on a remote host holds one of `limit` slots for that
 *   host for its whole run, on its own session, so a worker that dies releases its slot with its connection;
 * - a shared pause: a 429 seen by any worker (its Retry-After, or the backoff it chose) is recorded for the host, and
 *   no worker starts a unit on that host before the pause ends (the unit goes back to the queue, delayed).
 * @module
 */
import { createHash } from 'node:crypto';
import { sql } from 'kysely';
import type { Inventory } from '../inventory/inventory.js';
import type { WorkUnit } from '../sources/types.js';

/** Units on one host in flight across all workers, unless the scan says otherwise (`--host-concurrency`). */
export const DEFAULT_HOST_CONCURRENCY = 4;

/** What a unit's politeness is keyed by: the remote host it reads (`oci://reg:5000`, `s3://<endpoint or bucket>`), or none. */
export function unitHost(target: string, unit: WorkUnit, sourceOptions: Record<string, unknown>): string | undefined {
  const m = (unit.uri || target).match(/^([a-z][a-z0-9+.-]*):\/\/([^/?#]*)/i);
  if (!m || m[1].toLowerCase() === 'file') return undefined;
  const scheme = m[1].toLowerCase();
  if (scheme === 's3' && typeof sourceOptions.endpoint === 'string') return `s3://${new URL(sourceOptions.endpoint).host}`;
  return `${scheme}://${m[2].toLowerCase()}`;
}

/** Two int4 advisory-lock keys for (host, slot). */
function lockKeys(host: string, slot: number): [number, number] {
  return [createHash('sha256').update(`shelflife-host:${host}`).digest().readInt32BE(0), slot];
}

export interface HostSlot {
  release(): Promise<void>;
}

/**
 * A slot for `host`, or undefined when all `limit` slots are held by other units. Only PostgreSQL inventories (shared
 * between machines) gate; a SQLite inventory is one machine's, and its worker runs unlimited.
 */
export async function acquireHostSlot(inventory: Inventory, host: string, limit: number): Promise<HostSlot | undefined> {
  if (inventory.dialect !== 'postgres') return { release: async () => {} };
  const { default: pg } = await import('pg');
  const client = new pg.Client({ connectionString: inventory.location });
  // A session lost while the unit runs frees the slot on the server; nothing else is to be done here.
  client.on('error', () => {});
  await client.connect();
  try {
    for (let slot = 0; slot < limit; slot++) {
      const [a, b] = lockKeys(host, slot);
      const r = await client.query<{ ok: boolean }>('SELECT pg_try_advisory_lock($1, $2) AS ok', [a, b]);
      if (r.rows[0]?.ok)
        return {
          release: async () => {
            // Ending the session releases the lock.
            await client.end();
          },
        };
    }
  } catch (e) {
    await client.end();
    throw e;
  }
  await client.end();
  return undefined;
}

/** Record that `host` asked to be left alone until `until` (epoch ms); a later pause wins. */
export async function pauseHost(inventory: Inventory, host: string, until: number): Promise<void> {
  await inventory.db
    .insertInto('host_pauses')
    .values({ host, until })
    .onConflict((oc) =>
      oc.column('host').doUpdateSet({ until: sql`case when excluded.until > host_pauses.until then excluded.until else host_pauses.until end` }),
    )
    .execute();
}

/** When `host`'s pause ends (epoch ms), if it has not yet. */
export async function hostPausedUntil(inventory: Inventory, host: string, now = Date.now()): Promise<number | undefined> {
  const r = await inventory.db.selectFrom('host_pauses').select('until').where('host', '=', host).executeTakeFirst();
  const until = r ? Number(r.until) : 0;
  return until > now ? until : undefined;
}
