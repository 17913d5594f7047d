/**
 * Models in the inventory and the reports: a scan records every signed model by its OpenSSF Model Signing root
 * digest; `where <root>` lists every copy, `retire <root>` retires the model (any copy) and writes a CycloneDX
 * decommission record; the scan's CBOM has machine-learning-model components linked to their signature's crypto
 * assets, the HTML report a Models section, and `provenance --format cbom` the model with its pedigree. CycloneDX
 * output is validated against the official 1.6 schema.
 */
import { spawnSync } from 'node:child_process';
import { cpSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { Inventory } from '../../src/inventory/inventory.js';
import { answerProvenance } from '../../src/provenance/answer.js';
import { provenanceBom } from '../../src/provenance/cyclonedx.js';
import { inventoryLookup } from '../../src/provenance/inventory-lookup.js';
import { modelsInScan } from '../../src/provenance/scan-models.js';
import { loadTrust } from '../../src/provenance/trust.js';
import { REPORTERS } from '../../src/report/index.js';
import { cdxValidator } from '../helpers/cyclonedx.js';
import { FIXTURES, scanPaths } from '../helpers/scan.js';

const ROOT = join(import.meta.dirname, '..', '..');
const BIN = join(ROOT, 'bin', 'shelflife.js');
const P = join(FIXTURES, 'provenance');
const HF = join(P, 'models', 'hf-model');
const ROOT_DIGEST = JSON.parse(readFileSync(join(P, 'expected-provenance.json'), 'utf8')).models['hf-model'].root as string;
const WORK = mkdtempSync(join(tmpdir(), 'shelflife-inv-models-'));
const NOW = new Date('2026-11-01T00:00:00Z');
afterAll(() => rmSync(WORK, { recursive: true, force: true }));

const copy = (name: string) => {
  const d = join(WORK, name);
  cpSync(HF, d, { recursive: true });
  return d;
};

describe('models in the inventory and the reports', () => {
  it('records models by root digest; where and retire take it; provenance sees the retirement on any copy', async () => {
    const a = copy('a');
    const b = copy('b');
    const scan = await scanPaths(a, b, join(P, 'realworld', 'model-transparency', 'v0.2.0-certificate'));
    const models = modelsInScan(scan);
    const found = models.map((m) => `${m.root} ${m.uri.replace(/\/$/, '').split('/').pop()}`).sort();
    expect(found).toEqual(
      [
        `${ROOT_DIGEST} a`,
        `${ROOT_DIGEST} b`,
        // legacy v0.2 (Digests/v0.1): the root recomputed from its per-file subjects, as the samples' v1 signatures state it
        '61d4849d9d90076d6215f4d525f13d6574af8e3f67aef3e6f36fc40a14fdd226 v0.2.0-certificate',
      ].sort(),
    );
    const inv = await Inventory.open(join(WORK, 'inv.db'));
    try {
      await inv.recordScan(scan);
      const w = await inv.where(ROOT_DIGEST);
      expect(w.kind).toBe('model');
      expect(w.locations.map((l) => l.uri)).toEqual([`file://${a}/`, `file://${b}/`]);
      expect(await inv.retire('0'.repeat(64), 'nothing', NOW.toISOString())).toBe(false);
      expect(await inv.retire(ROOT_DIGEST, 'replaced by ft-2026-11', NOW.toISOString())).toBe(true);
      const p = await answerProvenance(b, {
        trust: loadTrust(join(P, 'trust.yaml')),
        evidence: [join(P, 'evidence', 'hf-model')],
        inventory: inventoryLookup(inv),
        now: NOW,
      });
      expect(p.retired).toMatchObject({ retired: true, reason: 'replaced by ft-2026-11' });
      expect(p.retired.evidence[0].detail).toBe('retire recorded for the model');
      expect(p.copies).toMatchObject({ count: 2, locations: [`file://${a}/`, `file://${b}/`] });
      expect(p.approval.approved).toBe(false);
    } finally {
      await inv.close();
    }
  });

  it('links parents and datasets found elsewhere in the inventory by digest, never by name', async () => {
    const trust = loadTrust(join(P, 'trust.yaml'));
    const evidence = [join(P, 'evidence', 'hf-model')];
    const first = await answerProvenance(HF, { trust, evidence, now: NOW });
    const parent = first.lineage.parents.find((p) => p.grade === 'signed-verified')!;
    const dataset = first.lineage.datasets.find((d) => d.grade === 'signed-verified')!;
    const inv = await Inventory.open(join(WORK, 'links.db'));
    try {
      // A scan that saw the base model (signed, by its root digest) and the dataset's bytes in other stores; and a
      // file named like the base model with other bytes, which must not be linked.
      const seen = (uri: string, sha256: string, annotations?: Record<string, string>) => ({
        uri,
        parent: null,
        sha256,
        size: 1,
        findings: [],
        errors: [],
        ...(annotations ? { annotations } : {}),
      });
      await inv.recordScan({
        schemaVersion: '1',
        tool: { name: 'shelflife', version: '0' },
        scan: {
          id: 'links',
          startedAt: NOW.toISOString(),
          finishedAt: NOW.toISOString(),
          targets: [],
          stats: { artifacts: 3, bytes: 0, findings: 0, errors: 0 },
        },
        artifacts: [
          seen('s3://models/meta-llama/Llama-3.1-8B/model.sig', 'a'.repeat(64), {
            'intoto.predicateType': 'https://model_signing/signature/v1.0',
            'intoto.subjects': `Llama-3.1-8B@sha256:${parent.digest!.sha256}`,
          }),
          seen('s3://datasets/fineweb-edu/sample.parquet', dataset.digest!.sha256),
          seen('file:///mirror/meta-llama/Llama-3.1-8B.safetensors', 'b'.repeat(64)),
        ],
      });
      const a = await answerProvenance(HF, { trust, evidence, inventory: inventoryLookup(inv), now: NOW });
      expect(a.lineage.parents.find((p) => p.grade === 'signed-verified')?.locations).toEqual(['s3://models/meta-llama/Llama-3.1-8B/']);
      expect(a.lineage.datasets.find((d) => d.grade === 'signed-verified')?.locations).toEqual(['s3://datasets/fineweb-edu/sample.parquet']);
      // Declared parents carry no digest: nothing is linked by name.
      expect(a.lineage.parents.filter((p) => p.grade === 'declared').some((p) => p.locations)).toBe(false);
    } finally {
      await inv.close();
    }
  });

  it("the scan's CBOM and HTML report show the models; provenance --format cbom carries the pedigree", async () => {
    const validate = cdxValidator();
    const scan = await scanPaths(copy('c'));
    const bom = JSON.parse(REPORTERS.cbom.render(scan, {}) as string);
    expect(validate(bom), JSON.stringify(validate.errors?.slice(0, 3))).toBe(true);
    const model = bom.components.find((c: { type: string; 'bom-ref': string }) => c.type === 'machine-learning-model' && c['bom-ref'].startsWith('model/'));
    expect(model.hashes).toEqual([{ alg: 'SHA-256', content: ROOT_DIGEST }]);
    const deps = bom.dependencies.find((d: { ref: string }) => d.ref === model['bom-ref']).dependsOn as string[];
    expect(deps.some((d) => d.startsWith('crypto/algorithm/ECDSA'))).toBe(true);
    const html = REPORTERS.html.render(scan, {}) as string;
    expect(html).toMatch(/<h2>Models \(1\)<\/h2>/);
    expect(html).toContain(`sha256:${ROOT_DIGEST.slice(0, 16)}`);

    const a = await answerProvenance(HF, { trust: loadTrust(join(P, 'trust.yaml')), evidence: [join(P, 'evidence', 'hf-model')], now: NOW });
    const pb = provenanceBom(a);
    expect(validate(pb), JSON.stringify(validate.errors?.slice(0, 3))).toBe(true);
    const meta = (pb.metadata as { component: { type: string; pedigree: { ancestors: { name: string }[] }; hashes: unknown[] } }).component;
    expect(meta.type).toBe('machine-learning-model');
    expect(meta.hashes).toEqual([{ alg: 'SHA-256', content: ROOT_DIGEST }]);
    expect(meta.pedigree.ancestors.map((x) => x.name)).toContain('meta-llama/Llama-3.1-8B');
    expect((pb.components as { type: string }[]).some((c) => c.type === 'data')).toBe(true);
    expect((pb.components as { name: string }[]).map((c) => c.name)).toEqual(expect.arrayContaining(['ECDSA-P384', 'ECDSA-P256']));
  });

  it('retire -o writes a CycloneDX decommission record; where names a model', () => {
    const d = copy('cli');
    const env = { ...process.env, SHELFLIFE_DB: join(WORK, 'cli.db') };
    const run = (args: string[]) => spawnSync(process.execPath, [BIN, ...args], { cwd: ROOT, encoding: 'utf8', env, timeout: 120_000 });
    expect(run(['scan', d, '--format', 'json', '-o', join(WORK, 'cli-scan.json')]).status).toBe(0);
    const where = run(['where', ROOT_DIGEST]);
    expect(where.stdout).toMatch(/a signed model \(root digest\), 1 location/);
    const out = join(WORK, 'decommission.cdx.json');
    const r = run(['retire', ROOT_DIGEST, '--reason', 'end of support', '-o', out]);
    expect(r.status, r.stderr).toBe(0);
    expect(r.stderr).toMatch(/retired sha256:[0-9a-f]{64} \(a model\)/);
    const rec = JSON.parse(readFileSync(out, 'utf8'));
    expect(cdxValidator()(rec)).toBe(true);
    expect(rec.metadata.lifecycles).toEqual([{ phase: 'decommission' }]);
    expect(rec.metadata.component).toMatchObject({ type: 'machine-learning-model', hashes: [{ alg: 'SHA-256', content: ROOT_DIGEST }] });
    expect(rec.metadata.component.properties).toEqual(expect.arrayContaining([{ name: 'shelflife:retired.reason', value: 'end of support' }]));
  });
});
