/**
 * The JSON report written in pieces (src/report/json.ts `jsonChunks`, src/report/write.ts) is byte for byte the report
 * rendered whole, on the fixtures scan and on a multi-layer image pushed to a real registry and scanned with
 * --layers; and a report of many artifacts is written without the writer holding them.
 */
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { beforeAll, describe, expect, inject, it } from 'vitest';
import type { ArtifactResult, ScanResult } from '../../src/model.js';
import { jsonChunks, jsonReporter } from '../../src/report/json.js';
import { reportText, writeReportFile, writeReports } from '../../src/report/write.js';
import { RegistryClient } from '../../src/oci/registry.js';
import { scan } from '../../src/scan/scan.js';
import { requirePrerequisiteForAll } from '../helpers/prerequisites.js';
import { gz, pushImage, tar } from '../helpers/registry.js';
import { FIXTURES } from '../helpers/scan.js';

const NOW = () => new Date('2026-06-01T00:00:00Z');
const dir = mkdtempSync(join(tmpdir(), 'shelflife-json-stream-'));

/** What the file writer wrote for this result, through the streaming path. */
function written(result: ScanResult, name: string): string {
  const path = join(dir, name);
  writeReportFile(path, reportText(jsonReporter, result, {}));
  return readFileSync(path, 'utf8');
}

describe('the streaming JSON writer', () => {
  let fixtures: ScanResult;
  beforeAll(async () => {
    fixtures = await scan({ targets: [FIXTURES], now: NOW });
  }, 240_000);

  it('writes the fixtures scan byte for byte as the buffered writer renders it', () => {
    expect(fixtures.artifacts.length).toBeGreaterThan(400);
    const whole = jsonReporter.render(fixtures, {});
    expect([...jsonChunks(fixtures)].join('')).toBe(whole);
    expect(written(fixtures, 'fixtures.json')).toBe(whole);
    // And what a config's outputs write (writeReports) is the same file.
    const [path] = writeReports(fixtures, [{ format: 'json', path: join(dir, 'out-{scan}.json') }]);
    expect(readFileSync(path, 'utf8')).toBe(whole);
  });

  it('writes the members JSON.stringify writes, and the ones it leaves out', () => {
    const odd = {
      schemaVersion: '1',
      tool: { name: 'shelflife', version: '0' },
      skipped: undefined,
      scan: { id: 'x', startedAt: 'a', finishedAt: 'b', targets: [], stats: { artifacts: 0, bytes: 0, findings: 0, errors: 0 } },
      artifacts: [],
      models: [{ note: 'line\nbreak \u202e \u0085 \u{e0041}' }],
    } as unknown as ScanResult;
    expect([...jsonChunks(odd)].join('')).toBe(jsonReporter.render(odd, {}));
    const one = { ...odd, artifacts: [fixtures.artifacts[0]] } as ScanResult;
    expect([...jsonChunks(one)].join('')).toBe(jsonReporter.render(one, {}));
  });

  it('holds at most one artifact: each is written before the next is read', () => {
    const template = fixtures.artifacts.find((a) => a.findings.length > 0)!;
    const N = 20_000;
    let produced = 0;
    let written = 0;
    let most = 0;
    function* artifacts(): Iterable<ArtifactResult> {
      for (let i = 0; i < N; i++) {
        produced++;
        most = Math.max(most, produced - written);
        yield { ...template, uri: `file:///many/${i}` };
      }
    }
    const result = { ...fixtures, artifacts: artifacts() } as unknown as ScanResult;
    let bytes = 0;
    for (const piece of jsonChunks(result)) {
      written += piece.split('"uri": "file:///many/').length - 1;
      bytes += piece.length;
    }
    expect(written).toBe(N);
    expect(most).toBe(1);
    expect(bytes).toBeGreaterThan(N * 100);
    // Through the file writer's batches: what is produced but not yet on its way to the file stays bounded (the
    // batches are 1 MiB of text), not the whole report.
    produced = 0;
    written = 0;
    most = 0;
    for (const batch of reportText(jsonReporter, { ...fixtures, artifacts: artifacts() } as unknown as ScanResult, {}) as Iterable<string>)
      written += batch.split('"uri": "file:///many/').length - 1;
    expect(written).toBe(N);
    expect(most).toBeLessThan(N / 10);
  });
});

const reg = inject('registry');

describe('the streaming JSON writer on an image scanned with --layers', () => {
  requirePrerequisiteForAll(!reg.available && reg.reason);

  it('writes the scan of a three-layer image byte for byte as the buffered writer renders it', async () => {
    const host = reg.anonymous;
    const c = new RegistryClient(host);
    const pem = readFileSync(join(FIXTURES, 'pki', 'certs', 'ec-P-256.pem'));
    const layers = [0, 1, 2].map((i) => ({
      bytes: gz(
        tar({
          [`etc/ssl/certs/l${i}.pem`]: pem,
          [`usr/share/doc/l${i}/README`]: `layer ${i}\n`,
          [`opt/l${i}/nested.tar.gz`]: gz(tar({ 'inner.pem': pem })),
        }),
      ),
    }));
    await pushImage(c, 'json-stream/image', 'v1', layers);
    const r = await scan({ targets: [`oci://${host}/json-stream/image:v1`], sourceOptions: { layers: true, backoffMs: 1 }, now: NOW });
    // The three layers, their members and the nested archive's member, with the certificates found in them.
    expect(r.artifacts.filter((a) => a.uri.endsWith('!/inner.pem'))).toHaveLength(3);
    expect(r.artifacts.filter((a) => a.findings.some((f) => f.kind === 'certificate')).length).toBeGreaterThanOrEqual(6);
    const whole = jsonReporter.render(r, {});
    expect([...jsonChunks(r)].join('')).toBe(whole);
    expect(written(r, 'image.json')).toBe(whole);
  }, 120_000);
});
