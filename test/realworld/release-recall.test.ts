/**
 * Held-out recall on the release stores (issue 15): APT (reprepro and apt-ftparchive trees, InRelease and Release.gpg),
 * YUM/DNF (repomd.xml.asc, RSA- and EdDSA-signed RPMs) and LVFS (firmware.xml.gz with its .jcat, cabinets holding a
 * .jcat and a signed UEFI capsule), built by Debian's own tools (fixtures/gen/release-stores.sh) and served twice: by
 * the project's HTTP server and by Python's http.server, which ignores Range. Every artifact the scan lists is matched
 * against what independent parsers find in the served file and the signature files beside it (gpg, rpm, openssl,
 * gcab, read by fixtures/gen/realworld-expected.py --release-tree), never against shelflife's own output. The chain's
 * signatures that a covered artifact carries (details.coverage 'covered') are the index's findings, counted once there.
 */
import { execFileSync } from 'node:child_process';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { ArtifactResult, Finding } from '../../src/model.js';
import { scan } from '../../src/scan/scan.js';
import { requirePrerequisiteForAll } from '../helpers/prerequisites.js';
import { needIndependentParsers, RecallTally, type Expected } from '../helpers/recall.js';
import { startPythonHttpServer, useReleaseStores } from '../setup/release-servers.js';

const { missing: noStores, stores: s } = useReleaseStores('release-recall', ['gcab', 'jcat-tool', 'rpm', 'rpm2cpio']);
const missing = noStores || needIndependentParsers('release-store recall', 'gpg', 'openssl', 'rpm', 'rpm2cpio', 'gcab');
const GENERATOR = join(import.meta.dirname, '..', '..', 'fixtures', 'gen', 'realworld-expected.py');

/** The stores and how each is scanned (every listed object read, so packages are checked too). */
const STORES: { name: string; target: (base: string) => string; options: Record<string, unknown> }[] = [
  { name: 'apt (reprepro, InRelease)', target: (b) => `apt+${b}/apt/reprepro`, options: { suite: 'bookworm', fetch: 'all' } },
  { name: 'apt (apt-ftparchive, by-hash)', target: (b) => `apt+${b}/apt/ftparchive`, options: { suite: 'stable', fetch: 'all' } },
  { name: 'yum', target: (b) => `yum+${b}/yum/signed/`, options: {} },
  { name: 'lvfs', target: (b) => `lvfs+${b}/lvfs/firmware.xml.gz`, options: { fetch: 'all' } },
];

const results = new Map<string, ArtifactResult[]>();
let python: { url: string; close(): Promise<void> } | undefined;

beforeAll(async () => {
  if (missing) return;
  python = await startPythonHttpServer(s.root);
  for (const [server, base] of [
    ['http', s.http.url],
    ['python http.server (ignores Range)', python.url],
  ] as const) {
    for (const store of STORES) {
      const r = await scan({ targets: [store.target(base)], sourceOptions: { backoffMs: 5, timeoutMs: 5000, ...store.options }, scoring: false });
      results.set(`${store.name} via ${server}`, r.artifacts);
    }
  }
}, 300_000);

afterAll(async () => {
  await python?.close();
});

/** The served path of an artifact URI, and of the top-level artifact a member belongs to. */
const servedPath = (uri: string) => decodeURIComponent(new URL(uri.split('!/')[0]).pathname.replace(/^\//, ''));
/** A finding of the artifact itself (or a member), not a copy of its index's signature. */
const own = (f: Finding) => (f.details as { coverage?: string } | undefined)?.coverage !== 'covered';

describe('held-out recall on served release stores (independent parsers)', () => {
  requirePrerequisiteForAll(missing);

  it.each(STORES.flatMap((st) => ['http', 'python http.server (ignores Range)'].map((server) => `${st.name} via ${server}`)))(
    '%s: every store found, recall ≥ 0.98 with the right parameters, no false positive',
    (key) => {
      const artifacts = results.get(key)!;
      expect(artifacts.length, key).toBeGreaterThan(0);
      expect(artifacts.flatMap((a) => a.errors).filter((e) => e.code === 'detector-crash')).toEqual([]);
      const byFile = new Map<string, Finding[]>();
      for (const a of artifacts) {
        const file = servedPath(a.uri);
        byFile.set(file, [...(byFile.get(file) ?? []), ...a.findings.filter(own)]);
      }
      const files = [...byFile.keys()].sort();
      const expected = JSON.parse(execFileSync('python3', [GENERATOR, '--release-tree', s.root, ...files], { maxBuffer: 16 << 20 }).toString()) as Record<
        string,
        Expected[]
      >;
      const tally = new RecallTally();
      for (const file of files) tally.add(file, expected[file], byFile.get(file)!);
      console.log(tally.report(key, files.length, 'gpg, rpm, openssl pkcs7, gcab + jcat blobs, capsule layout'));
      // Each store is found with its signatures: at least one signature per store is expected and matched.
      expect(
        Object.values(expected)
          .flat()
          .filter((e) => e.kind === 'signature').length,
        key,
      ).toBeGreaterThan(0);
      expect(tally.falsePositives, key).toEqual([]);
      expect(tally.recall, tally.misses.join('\n')).toBeGreaterThanOrEqual(0.98);
    },
  );

  it('Python http.server ignored Range, and the RPM headers were still read (rangeIgnored noted)', () => {
    const rpms = results.get('yum via python http.server (ignores Range)')!.filter((a) => a.uri.endsWith('.rpm'));
    expect(rpms.length).toBe(2);
    for (const a of rpms) expect(a.annotations?.rangeIgnored, a.uri).toMatch(/ignored the Range request/);
  });
});
