/**
 * The scan's Models: each signed model the scan finds gets its provenance summarized once (integrity since signing,
 * lineage, last evaluation, approval, each graded), in the JSON (validated against the scan schema), the HTML and the
 * Markdown reports; the summary uses the digests the scan just computed rather than reading the files again; and
 * after `retire <root digest>`, a later scan flags every file of the model (weights, model.sig) as retired in every
 * report, with the model not approved.
 */
import { appendFileSync, cpSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { Inventory } from '../../src/inventory/inventory.js';
import type { ScanResult } from '../../src/model.js';
import { summarizeScanModels } from '../../src/provenance/scan-provenance.js';
import { loadTrust } from '../../src/provenance/trust.js';
import { REPORTERS } from '../../src/report/index.js';
import { scan } from '../../src/scan/scan.js';
import { validateReport } from '../helpers/report-formats.js';
import { FIXTURES } from '../helpers/scan.js';

const P = join(FIXTURES, 'provenance');
const HF = join(P, 'models', 'hf-model');
const TRUST = loadTrust(join(P, 'trust.yaml'));
const EVIDENCE = [join(P, 'evidence', 'hf-model')];
const WORK = mkdtempSync(join(tmpdir(), 'shelflife-scan-models-'));
afterAll(() => rmSync(WORK, { recursive: true, force: true }));

const copy = (name: string) => {
  const d = join(WORK, name);
  cpSync(HF, d, { recursive: true });
  return d;
};
const render = (format: 'json' | 'html' | 'md', r: ScanResult) => {
  const text = REPORTERS[format].render(r, {}) as string;
  expect(validateReport(format, text, r)).toEqual([]);
  return text;
};

describe("the scan's Models section", () => {
  it('summarizes each model once: integrity, lineage, last evaluation, approval, graded, in JSON, HTML and Markdown', async () => {
    const good = copy('good');
    const bad = copy('bad');
    appendFileSync(join(bad, 'model.gguf'), 'tampered');
    writeFileSync(join(bad, 'extra.bin'), 'not signed');
    const r = await scan({ targets: [good, bad], concurrency: 2, provenance: { trust: TRUST, evidence: EVIDENCE } });
    const models = Object.fromEntries((r.models ?? []).map((m) => [m.uri.replace(/\/$/, '').split('/').pop(), m]));
    expect(Object.keys(models).sort()).toEqual(['bad', 'good']);
    expect(models.good.provenance).toMatchObject({
      integrity: { status: 'verified', grade: 'signed-verified', changed: [], missing: [], added: [] },
      lineage: { grade: 'signed-verified', builder: 'https://ci.example.org/ml-trainer@v3' },
      evaluation: { grade: 'signed-verified', result: 'PASSED' },
      approval: { grade: 'signed-verified', approved: true, verifier: 'https://gate.example.org/model-release' },
    });
    // Signed parents and datasets first, with their digests; then what the files declare (each named once).
    expect(models.good.provenance!.lineage.parents[0]).toMatch(/^meta-llama\/Llama-3\.1-8B @ sha256:[0-9a-f]{12}$/);
    expect(models.good.provenance!.lineage.datasets[0]).toMatch(/^dataset:fineweb-edu-sample @ sha256:[0-9a-f]{12}$/);
    expect(new Set(models.good.provenance!.lineage.parents).size).toBe(models.good.provenance!.lineage.parents.length);
    expect(models.good.provenance!.evaluation.time).toMatch(/^2026-/);
    expect(models.good.provenance!.evaluation.benchmarks.map((b: { name: string }) => b.name)).toEqual(expect.arrayContaining(['mmlu-5shot', 'openai/gsm8k']));
    // The tampered copy: modified, named file by file, and no longer approved (the VSA is about the signed bytes).
    expect(models.bad.provenance).toMatchObject({
      integrity: { status: 'modified', grade: 'signed', changed: ['model.gguf'], missing: [], added: ['extra.bin'] },
      approval: { approved: 'unknown' },
    });

    const json = JSON.parse(render('json', r)) as ScanResult;
    expect(json.models).toHaveLength(2);
    const html = render('html', r);
    expect(html).toMatch(/<h2>Models \(2\)<\/h2>/);
    expect(html).toContain('verified [signed-verified]');
    expect(html).toContain('modified (changed: model.gguf; added: extra.bin) [signed]');
    expect(html).toContain('approved by https://gate.example.org/model-release');
    expect(html).toMatch(/2026-\d\d-\d\d: [^<]*mmlu-5shot/);
    expect(html).toContain('built by https://ci.example.org/ml-trainer@v3');
    const md = render('md', r);
    expect(md).toContain('### Models (2)');
    expect(md).toMatch(/\| verified \\?\[signed-verified\\?\] \|/);
    expect(md).toContain('approved by https:\u200b//gate.example.org/model-release');
  });

  it('uses the digests the scan computed: a file is not read again for a SHA-256 manifest', async () => {
    const d = copy('once');
    const r = await scan({ targets: [d], concurrency: 2, provenance: false });
    expect(r.models).toBeUndefined();
    // Were the summary to read model.gguf again it would find it intact; the scan's digest (changed here) decides.
    const gguf = r.artifacts.find((a) => a.uri.endsWith('/model.gguf'))!;
    gguf.sha256 = '0'.repeat(64);
    const [m] = await summarizeScanModels(r, { trust: TRUST });
    expect(m.provenance?.integrity).toMatchObject({ status: 'modified', changed: ['model.gguf'] });
    // A digest recorded for another size is not taken for these bytes.
    gguf.size += 1;
    const [again] = await summarizeScanModels(r, { trust: TRUST });
    expect(again.provenance?.integrity.status).toBe('verified');
  });

  it('a model that cannot be answered keeps its row with the reason', async () => {
    const d = copy('gone');
    const r = await scan({ targets: [d], concurrency: 2, provenance: false });
    rmSync(d, { recursive: true, force: true });
    const [m] = await summarizeScanModels(r);
    expect(m.provenance).toBeUndefined();
    expect(m.provenanceError).toMatch(/ENOENT/);
    expect(render('html', { ...r, models: [m] })).toContain('not answered: ');
  });

  it('after retire, a later scan flags every file of the model as retired, in the JSON, HTML and Markdown reports', async () => {
    const d = copy('retired');
    const other = join(WORK, 'other');
    cpSync(join(P, 'models', 'unsigned-model'), other, { recursive: true });
    const inv = await Inventory.open(join(WORK, 'inv.db'));
    try {
      const first = await scan({ targets: [d, other], concurrency: 2, inventory: inv, provenance: { trust: TRUST, evidence: EVIDENCE } });
      const root = first.models![0].root;
      expect(first.artifacts.some((a) => a.retired)).toBe(false);
      expect(first.models![0].provenance?.approval.approved).toBe(true);
      expect(await inv.retire(root, 'superseded by ft-2026-11', '2026-11-20T00:00:00Z')).toBe(true);

      const later = await scan({ targets: [d, other], concurrency: 2, inventory: inv, full: true, provenance: { trust: TRUST, evidence: EVIDENCE } });
      const mine = later.artifacts.filter((a) => a.uri.startsWith(`file://${d}/`));
      expect(mine.map((a) => a.uri.slice(`file://${d}/`.length)).sort()).toEqual(
        expect.arrayContaining(['model.gguf', 'model.safetensors', 'model.onnx', 'model.sig', 'README.md']),
      );
      for (const a of mine) expect(a.retired, a.uri).toEqual({ at: '2026-11-20T00:00:00Z', reason: 'superseded by ft-2026-11' });
      // Another model's files are not touched.
      expect(later.artifacts.filter((a) => a.uri.startsWith(`file://${other}/`) && a.retired)).toEqual([]);
      const m = later.models![0];
      expect(m.retired).toEqual({ at: '2026-11-20T00:00:00Z', reason: 'superseded by ft-2026-11' });
      expect(m.provenance?.approval.approved).toBe(false);

      const json = JSON.parse(render('json', later)) as ScanResult;
      expect(json.artifacts.find((a) => a.uri.endsWith('/retired/model.gguf'))?.retired?.reason).toBe('superseded by ft-2026-11');
      expect(render('html', later)).toContain('retired 2026-11-20: superseded by ft-2026-11');
      expect(render('md', later)).toContain('retired 2026-11-20: superseded by ft-2026-11');
    } finally {
      await inv.close();
    }
  });
});
