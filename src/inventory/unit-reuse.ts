/**
 * Incremental work units (src/queue/): what the inventory recorded for a batch of a unit's top-level artifacts, looked
 * up by their URIs, so a worker carries over what is unchanged under the same rule as a one-process rescan
 * (`carryOver`, src/inventory/inventory.ts). A unit's lookup is by exact URI: a worker never loads a whole target's
 * history, and what it loaded is dropped with the unit.
 * @module
 */
import type { ArtifactResult } from '../model.js';
import type { ArtifactRef } from '../sources/types.js';
import { carryOver, compatibleScans, type Inventory, type PreviousLocation } from './inventory.js';

/** Top-level URIs looked up per query (bound parameters stay well under PostgreSQL's and SQLite's limits). */
const LOOKUP = 500;

export interface UnitReuse {
  /** The previous records of `ref` when it is unchanged (each handed out once), else undefined. */
  reuse(ref: ArtifactRef): ArtifactResult[] | undefined;
}

/** What the inventory holds for these top-level URIs, from scans a rescan may reuse (same tool and rule set). */
export async function previousRecords(inventory: Inventory, uris: string[]): Promise<UnitReuse> {
  const previous = new Map<string, PreviousLocation>();
  const records = new Map<string, ArtifactResult[]>();
  for (let i = 0; i < uris.length; i += LOOKUP) {
    const batch = uris.slice(i, i + LOOKUP);
    const rows = await inventory.db
      .selectFrom('locations')
      .select(['uri', 'size', 'modified', 'etag', 'sha256', 'last_scan'])
      .where('parent_uri', 'is', null)
      .where('uri', 'in', batch)
      .execute();
    if (!rows.length) continue;
    const ok = await compatibleScans(inventory, [...new Set(rows.map((r) => r.last_scan))]);
    for (const r of rows)
      if (ok.has(r.last_scan)) previous.set(r.uri, { size: Number(r.size), modified: r.modified, etag: r.etag, sha256: r.sha256, lastScan: r.last_scan });
    const tops = batch.filter((u) => previous.has(u));
    if (!tops.length) continue;
    // The observations of each location's last scan: the artifact and its members (index observations_top).
    const obs = await inventory.db
      .selectFrom('observations')
      .leftJoin('records', 'records.hash', 'observations.record_hash')
      .select(['observations.scan_id', 'observations.top_uri', 'observations.record', 'records.record as stored'])
      .where('observations.top_uri', 'in', tops)
      .orderBy('observations.uri')
      .execute();
    for (const o of obs) {
      if (previous.get(o.top_uri)?.lastScan !== o.scan_id) continue;
      const list = records.get(o.top_uri) ?? [];
      list.push(JSON.parse(o.record || o.stored || '{}') as ArtifactResult);
      records.set(o.top_uri, list);
    }
  }
  return {
    reuse(ref) {
      const prev = previous.get(ref.uri);
      const recs = records.get(ref.uri);
      if (!prev || !recs) return undefined;
      const out = carryOver(ref, prev, recs);
      if (out) records.delete(ref.uri);
      return out;
    },
  };
}
