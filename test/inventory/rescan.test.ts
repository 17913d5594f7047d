/**
 * Incremental rescans, on SQLite and on a real PostgreSQL: an unchanged tree is carried over whole (nothing read), one
 * changed file among many is the only one read again, and the report of a rescan is the report of a first scan of the
 * same tree into a fresh inventory (only the scan id, its times and the read/reused counts differ). Exposures are carried
 * over with the records when the scoring context and everything scoring reads are unchanged, and scored again when
 * either changes (src/scoring/reuse.ts).
 */
import { copyFileSync, mkdirSync, mkdtempSync, readdirSync, rmSync, statSync, utimesSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { describe, expect, inject, it } from 'vitest';
import { Inventory } from '../../src/inventory/inventory.js';
import type { ScanResult } from '../../src/model.js';
import { scan } from '../../src/scan/scan.js';
import type { ScoringOptions } from '../../src/scoring/index.js';
import { requirePrerequisite } from '../helpers/prerequisites.js';
import { freshDatabase } from '../helpers/queue.js';
import { FIXTURES } from '../helpers/scan.js';

const postgres = inject('postgres');
const NOW = () => new Date('2026-06-01T00:00:00Z');

/** A tree of certificates, keys, OpenPGP files and archives, each fixture twice under two directories. */
function tree(): { dir: string; root: string } {
  const dir = mkdtempSync(join(tmpdir(), 'shelflife-rescan-'));
  const root = join(dir, 'tree');
  const seeds = [
    ...['certs', 'keys'].flatMap((d) => readdirSync(join(FIXTURES, 'pki', d)).map((f) => join(FIXTURES, 'pki', d, f))),
    ...['InRelease', 'detached-rsa-sha256.asc', 'brainpool.pub.asc', 'ed25519-cv25519.pub.asc'].map((f) => join(FIXTURES, 'openpgp', f)),
    join(FIXTURES, 'core', 'bundle.tar.gz'),
    join(FIXTURES, 'core', 'bundle.zip'),
  ].filter((p) => statSync(p).isFile());
  for (const sub of ['one', 'two']) {
    mkdirSync(join(root, sub), { recursive: true });
    for (const s of seeds) copyFileSync(s, join(root, sub, s.split('/').pop()!));
  }
  return { dir, root };
}

/** What differs between two scans of the same tree however they ran: the scan's id and times, what it read or reused. */
function redacted(r: ScanResult): string {
  const { bytes: _bytes, reused: _reused, ...stats } = r.scan.stats;
  const { carried: _carried, ...result } = r as ScanResult & { carried?: number };
  return JSON.stringify({ ...result, scan: { ...r.scan, id: '<id>', startedAt: '<t>', finishedAt: '<t>', stats } }, null, 1);
}

/** A scan into `db`, and how many of its artifacts took their exposures over from the last scan (src/scoring/reuse.ts). */
async function scanInto(db: string, root: string, scoring: ScoringOptions = {}): Promise<ScanResult & { carried: number }> {
  const inventory = await Inventory.open(db);
  try {
    const result = await scan({ targets: [root], inventory, now: NOW, scoring });
    return Object.assign(result, { carried: inventory.scoresCarried });
  } finally {
    await inventory.close();
  }
}

const topOf = (uri: string) => uri.replace(/!\/.*$/, '');

/**
 * The artifacts whose exposures a rescan may carry over: not in a group (a top-level artifact and its members) with a
 * signature linked to or from it, nor in one of the groups `rescored` names.
 */
function carriable(r: ScanResult, rescored: (a: ScanResult['artifacts'][number]) => boolean = () => false): number {
  const out = new Set(r.artifacts.filter((a) => a.signedBy?.length || a.signs?.length || rescored(a)).map((a) => topOf(a.uri)));
  return r.artifacts.filter((a) => !out.has(topOf(a.uri))).length;
}

const BACKENDS = [
  { name: 'SQLite', database: async (dir: string) => join(dir, `inventory-${Math.random().toString(36).slice(2)}.db`), missing: undefined },
  {
    name: 'PostgreSQL',
    database: async () => freshDatabase(postgres.url!),
    missing: !postgres.url && (postgres.reason ?? 'the PostgreSQL rescan tests: no server (test/setup/postgres.ts)'),
  },
];

describe.each(BACKENDS)('incremental rescans on $name', ({ database, missing }) => {
  it('carries an unchanged tree over, reads only the one file that changed, and reports as a first scan would', async (ctx) => {
    requirePrerequisite(ctx, missing || undefined);
    const { dir, root } = tree();
    try {
      const db = await database(dir);
      const first = await scanInto(db, root);
      expect(first.artifacts.length).toBeGreaterThan(80);
      expect(first.scan.stats.bytes).toBeGreaterThan(0);

      // Unchanged: nothing read, everything carried over, the same report.
      const again = await scanInto(db, root);
      expect(again.scan.stats.bytes).toBe(0);
      expect(again.scan.stats.reused).toBe(first.artifacts.length);
      expect(redacted(again)).toBe(redacted(first));
      // Scored under the same context with the same inputs: every exposure carried over but those of signed groups.
      expect(first.carried).toBe(0);
      expect(again.carried).toBe(carriable(again));
      expect(again.carried).toBeGreaterThan(first.artifacts.length / 2);

      // One file changes (other bytes, another size and mtime): only it is read; the rest is carried over unchanged.
      const changed = join(root, 'one', 'ec-P-256.pem');
      copyFileSync(join(FIXTURES, 'pki', 'certs', 'rsa4096.cer'), changed);
      utimesSync(changed, new Date(), new Date(Date.now() + 5000));
      const third = await scanInto(db, root);
      expect(third.scan.stats.bytes).toBe(statSync(changed).size);
      expect(third.scan.stats.reused).toBe(first.artifacts.length - 1);
      const uri = pathToFileURL(changed).href;
      // Scored again: the changed file, and every group holding its old or new bytes (their copies changed).
      const moved = new Set([first.artifacts.find((a) => a.uri === uri)!.sha256, third.artifacts.find((a) => a.uri === uri)!.sha256]);
      const rescored = (a: ScanResult['artifacts'][number]) => a.uri === uri || moved.has(a.sha256);
      expect(third.carried).toBe(carriable(third, (a) => third.artifacts.some((b) => topOf(b.uri) === topOf(a.uri) && rescored(b))));
      expect(third.carried).toBeLessThan(again.carried);
      const before = new Map(first.artifacts.map((a) => [a.uri, a]));
      for (const a of third.artifacts) {
        if (a.uri === uri) {
          expect(a.sha256).not.toBe(before.get(uri)!.sha256);
          continue;
        }
        // Identical findings and scores: only `copies` may move for the bytes the changed file held or now holds.
        const b = before.get(a.uri)!;
        const same = (x: typeof a) =>
          JSON.stringify({ ...x, copies: undefined, findings: x.findings.map((f) => ({ ...f, exposure: { ...f.exposure, inputs: undefined } })) });
        if (a.sha256 !== before.get(uri)!.sha256 && a.sha256 !== third.artifacts.find((x) => x.uri === uri)!.sha256)
          expect(JSON.stringify(a), a.uri).toBe(JSON.stringify(b));
        else expect(same(a), a.uri).toBe(same(b));
      }

      // And the report is the one a first scan of the changed tree into a fresh inventory gives.
      const fresh = await scanInto(await database(dir), root);
      expect(redacted(third)).toBe(redacted(fresh));

      // Another scoring context (a CRQC year, a policy): nothing carried over, everything scored again under it, as a
      // first scan under it would; the same context once more carries everything over again.
      for (const scoring of [{ crqcYear: 2030 }, { policies: ['cnsa-2.0'] }]) {
        const other = await scanInto(db, root, scoring);
        expect(other.scan.stats.reused).toBe(first.artifacts.length);
        expect(other.carried).toBe(0);
        expect(redacted(other)).toBe(redacted(await scanInto(await database(dir), root, scoring)));
        expect(redacted(other)).not.toBe(redacted(third));
        const same = await scanInto(db, root, scoring);
        expect(same.carried).toBe(carriable(same));
        expect(redacted(same)).toBe(redacted(other));
      }
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  }, 240_000);
});
