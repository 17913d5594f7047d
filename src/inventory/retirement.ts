/**
 * Retired artifacts still present: what `shelflife retire` recorded (set on each artifact as `retired` by the
 * inventory, `Inventory.annotate`) gathered once per digest, for every human report, SARIF and `diff` to render.
 * Pure: no database.
 * @module
 */
import type { ArtifactResult, Severity } from '../model.js';

/** One retired content digest and every place this scan still found it. */
export interface RetiredPresent {
  sha256: string;
  /** When it was retired and why (`shelflife retire --reason`). */
  retired: { at: string; reason: string };
  locations: { uri: string; class?: string; severity?: Severity }[];
}

/** Retired digests the scan still found, most recently retired first, each with its locations in URI order. */
export function retiredPresent(artifacts: readonly ArtifactResult[]): RetiredPresent[] {
  const byDigest = new Map<string, RetiredPresent>();
  for (const a of artifacts) {
    if (!a.retired) continue;
    // A retired model's files without a digest of their own (sampled reads) are grouped by their URI.
    const key = a.sha256 ?? `uri:${a.uri}`;
    const group = byDigest.get(key) ?? { sha256: a.sha256 ?? '', retired: a.retired, locations: [] };
    group.locations.push({ uri: a.uri, ...(a.class ? { class: a.class } : {}), ...(a.exposure ? { severity: a.exposure.severity } : {}) });
    byDigest.set(key, group);
  }
  const out = [...byDigest.values()];
  for (const g of out) g.locations.sort((x, y) => (x.uri < y.uri ? -1 : x.uri > y.uri ? 1 : 0));
  return out.sort((x, y) => (x.retired.at > y.retired.at ? -1 : x.retired.at < y.retired.at ? 1 : x.sha256 < y.sha256 ? -1 : 1));
}

/** How many locations in all. */
export function retiredLocationCount(groups: readonly RetiredPresent[]): number {
  return groups.reduce((n, g) => n + g.locations.length, 0);
}
