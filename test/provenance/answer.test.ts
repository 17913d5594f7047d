/**
 * The provenance answer end to end in the library: a signed Hugging Face-style model with its attestations (lineage,
 * evaluation, approval), the ways an approval must NOT be granted (untrusted signer, other bytes, one file of the
 * model, a FAILED VSA, a retired model), a modified model, an unsigned one, the real SLSA provenance of a file
 * (slsa-verifier test data), and copies and retirement from a real SQLite inventory.
 */
import { cpSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { Inventory } from '../../src/inventory/inventory.js';
import { answerProvenance } from '../../src/provenance/answer.js';
import { inventoryLookup } from '../../src/provenance/inventory-lookup.js';
import { unmet } from '../../src/provenance/render.js';
import { loadTrust } from '../../src/provenance/trust.js';
import { FIXTURES, scanPaths } from '../helpers/scan.js';

const P = join(FIXTURES, 'provenance');
const HF = join(P, 'models', 'hf-model');
const TRUST = loadTrust(join(P, 'trust.yaml'));
const NOW = new Date('2026-11-01T00:00:00Z');
const expected = JSON.parse(readFileSync(join(P, 'expected-provenance.json'), 'utf8'));

const copyOf = (dir: string) => {
  const d = join(mkdtempSync(join(tmpdir(), 'shelflife-model-')), 'model');
  cpSync(dir, d, { recursive: true });
  return d;
};

describe('provenance answer', () => {
  it('answers all four questions for a signed model with its attestations', async () => {
    const a = await answerProvenance(HF, { trust: TRUST, evidence: [join(P, 'evidence', 'hf-model')], now: NOW });
    expect(a.problems).toEqual([]);
    expect(a.subject).toMatchObject({ digest: `sha256:${expected.models['hf-model'].root}`, source: 'model-signing', grade: 'signed-verified' });
    expect(a.subject.currentDigest).toBe(a.subject.digest);
    expect(a.integrity).toMatchObject({ status: 'verified', grade: 'signed-verified', hash: 'sha256', changed: [], missing: [], added: [] });
    expect(a.integrity.signature).toMatchObject({ status: 'verified', trustedAs: 'model-signer', algorithm: 'ECDSA-P384' });
    // Lineage: the signed SLSA provenance first, then what the files declare.
    expect(a.lineage.grade).toBe('signed-verified');
    expect(a.lineage.builder).toBe('https://ci.example.org/ml-trainer@v3');
    expect(a.lineage.built).toBe('2026-09-30T11:42:00Z');
    const signedParents = a.lineage.parents.filter((p) => p.grade === 'signed-verified');
    expect(signedParents.map((p) => p.uri)).toEqual(['hf://meta-llama/Llama-3.1-8B']);
    expect(signedParents[0].digest?.sha256).toMatch(/^[0-9a-f]{64}$/);
    expect(a.lineage.datasets.find((d) => d.grade === 'signed-verified')?.uri).toBe('s3://datasets/fineweb-edu/sample-10BT');
    const declared = a.lineage.parents.filter((p) => p.grade === 'declared').map((p) => p.from.replace(/.*\//, ''));
    expect(declared).toEqual(
      expect.arrayContaining([
        'README.md (model card)',
        'model.gguf (general.base_model.0.*)',
        'MLmodel',
        'model.safetensors (__metadata__.base_model)',
        'model.onnx (metadata_props.base_model)',
      ]),
    );
    expect(a.lineage.parents.find((p) => p.from.endsWith('(general.base_model.0.*)'))).toMatchObject({
      name: 'Meta Llama / Llama 3.1 8B',
      uri: 'https://huggingface.co/meta-llama/Llama-3.1-8B',
    });
    expect(a.lineage.datasets.map((d) => d.name)).toEqual(
      expect.arrayContaining(['FineWeb-Edu', 'GSM8K', 'fineweb-edu-sample', 'HuggingFaceFW/fineweb-edu', 'openai/gsm8k']),
    );
    // Evaluation: the signed test result, dated by the trusted TSA (the predicate has no time).
    expect(a.evaluation.grade).toBe('signed-verified');
    expect(a.evaluation.timeSource).toBe('RFC 3161 timestamp (test-tsa)');
    expect(a.evaluation.result).toBe('PASSED');
    expect(a.evaluation.benchmarks.map((b) => [b.name, b.grade])).toEqual(
      expect.arrayContaining([
        ['mmlu-5shot', 'signed-verified'],
        ['openai/gsm8k', 'declared'],
        ['MMLU', 'declared'],
      ]),
    );
    // Approval: VSA and SVR from the approver in --trust, about these bytes.
    expect(a.approval).toMatchObject({ grade: 'signed-verified', approved: true, verifier: 'https://gate.example.org/model-release' });
    expect(a.approval.evidence.map((e) => e.kind).sort()).toEqual(['svr', 'vsa']);
    // Quantum: every signature in the chain (model.sig P-384, four P-256 attestations) scored as model weights.
    expect(a.quantum.signatures.map((s) => s.algorithm).sort()).toEqual(['ECDSA-P256', 'ECDSA-P256', 'ECDSA-P256', 'ECDSA-P256', 'ECDSA-P384']);
    expect(a.quantum.signatures.every((s) => s.quantum === 'vulnerable' && s.exposure?.inputs?.class === 'model-weights')).toBe(true);
    expect(unmet(a, ['approved', 'integrity', 'lineage', 'evaluation'])).toEqual([]);
    expect(unmet(a, ['quantum-safe'])).toEqual(['quantum-safe']);
  });

  it('grades down, never up: without --trust everything signed is only "signed"', async () => {
    const a = await answerProvenance(HF, { evidence: [join(P, 'evidence', 'hf-model')], now: NOW });
    expect(a.integrity).toMatchObject({ status: 'verified', grade: 'signed' });
    expect(a.integrity.signature?.status).toBe('unverifiable');
    expect(a.lineage.grade).toBe('signed');
    expect(a.approval).toMatchObject({ grade: 'signed', approved: 'unknown' });
    expect(unmet(a, ['approved', 'integrity'])).toEqual(['approved', 'integrity']);
  });

  it('a VSA from a signer not in --trust grades "signed" and is never an approval', async () => {
    const a = await answerProvenance(HF, { trust: TRUST, evidence: [join(P, 'evidence', 'rogue')], now: NOW });
    expect(a.approval.grade).toBe('signed');
    expect(a.approval.approved).toBe('unknown');
    expect(a.approval.reason).toMatch(/not an approval/);
  });

  it('a VSA about other bytes does not match; one about a single file is not an approval of the model', async () => {
    const other = await answerProvenance(HF, { trust: TRUST, evidence: [join(P, 'evidence', 'other-bytes')], now: NOW });
    expect(other.approval).toMatchObject({ grade: 'absent', approved: 'unknown', evidence: [] });
    const one = await answerProvenance(HF, { trust: TRUST, evidence: [join(P, 'evidence', 'one-file')], now: NOW });
    expect(one.approval.approved).toBe('unknown');
    expect(one.approval.reason).toMatch(/one file of the model, not the model's root digest/);
  });

  it('a FAILED VSA from the approver means not approved', async () => {
    const a = await answerProvenance(HF, { trust: TRUST, evidence: [join(P, 'evidence', 'failed')], now: NOW });
    expect(a.approval).toMatchObject({ grade: 'signed-verified', approved: false });
  });

  it('an approver limited to other verifiers cannot approve', async () => {
    const d = mkdtempSync(join(tmpdir(), 'shelflife-trust-'));
    writeFileSync(
      join(d, 'trust.yaml'),
      `keys:\n  - name: gate\n    publicKey: ${P}/keys/approver.pub.pem\n    approver: true\n    verifiers: [https://other.example/gate]\n`,
    );
    const a = await answerProvenance(HF, { trust: loadTrust(join(d, 'trust.yaml')), evidence: [join(P, 'evidence', 'hf-model', 'vsa.dsse.json')], now: NOW });
    expect(a.approval.approved).toBe('unknown');
    expect(a.approval.reason).toMatch(/may approve only for verifiers https:\/\/other\.example\/gate/);
  });

  it('a modified model: integrity says what changed, and the approval no longer matches these bytes', async () => {
    const d = copyOf(HF);
    try {
      const b = readFileSync(join(d, 'model.safetensors'));
      b[b.length - 1] ^= 0xff;
      writeFileSync(join(d, 'model.safetensors'), b);
      writeFileSync(join(d, 'notes.txt'), 'added after signing\n');
      const a = await answerProvenance(d, { trust: TRUST, evidence: [join(P, 'evidence', 'hf-model')], now: NOW });
      expect(a.integrity).toMatchObject({ status: 'modified', grade: 'signed', changed: ['model.safetensors'], added: ['notes.txt'], missing: [] });
      expect(a.subject.currentDigest).not.toBe(a.subject.digest);
      expect(a.approval.approved).toBe('unknown');
      expect(unmet(a, ['integrity', 'approved'])).toEqual(['integrity', 'approved']);
    } finally {
      rmSync(join(d, '..'), { recursive: true, force: true });
    }
  });

  it('an unsigned model: the subject is computed, lineage declared by the GGUF header', async () => {
    const a = await answerProvenance(join(P, 'models', 'unsigned-model'), { trust: TRUST, now: NOW });
    expect(a.subject).toMatchObject({ source: 'computed', digest: `sha256:${expected.models['unsigned-model'].root}`, grade: 'declared' });
    expect(a.integrity).toMatchObject({ status: 'unsigned', grade: 'absent' });
    expect(a.lineage).toMatchObject({ grade: 'declared' });
    expect(a.lineage.parents[0]).toMatchObject({ name: 'TinyLlama 1.1B', uri: 'https://huggingface.co/TinyLlama/TinyLlama-1.1B' });
    expect(a.quantum).toMatchObject({ grade: 'absent', signatures: [] });
  });

  it('a damaged model.sig is reported and the model treated as unsigned', async () => {
    const d = copyOf(HF);
    try {
      writeFileSync(join(d, 'model.sig'), '{"mediaType": "application/vnd.dev.sigstore.bundle.v0.3+json"');
      const a = await answerProvenance(d, { trust: TRUST, now: NOW });
      expect(a.integrity.status).toBe('unsigned');
      expect(a.problems[0].uri).toMatch(/\/model\.sig$/);
      expect(a.problems[0].message).toMatch(/^not JSON/);
    } finally {
      rmSync(join(d, '..'), { recursive: true, force: true });
    }
  });

  it("lineage from the real SLSA provenance of a file (slsa-verifier's MODULE.bazel), matched by its digest", async () => {
    const sv = join(P, 'realworld', 'slsa-verifier');
    const a = await answerProvenance(join(sv, 'MODULE.bazel'), { trust: TRUST, evidence: [join(sv, 'MODULE.bazel.intoto.jsonl')], now: NOW });
    expect(a.lineage.grade).toBe('signed-verified');
    expect(a.lineage.builder).toBe('https://github.com/bazel-contrib/publish-to-bcr/.github/workflows/publish.yaml@refs/tags/v0.0.1');
    expect(a.lineage.parents[0]).toMatchObject({
      uri: 'git+https://github.com/aspect-build/rules_lint@refs/heads/publish-to-bcr',
      digest: { gitCommit: '8f70009fde0c94ade6ce2a054b94718c819126ec' },
    });
    // The same provenance does not speak for other bytes.
    const other = await answerProvenance(join(sv, 'binary-linux-amd64-workflow_dispatch'), {
      trust: TRUST,
      evidence: [join(sv, 'MODULE.bazel.intoto.jsonl')],
      now: NOW,
    });
    expect(other.lineage.grade).toBe('absent');
  });

  it('copies and retirement come from the inventory, for any copy of the same bytes', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'shelflife-inv-'));
    const a1 = copyOf(HF);
    const a2 = copyOf(HF);
    const inv = await Inventory.open(join(dir, 'inventory.db'));
    try {
      await inv.recordScan(await scanPaths(a1, a2));
      const before = await answerProvenance(a1, { trust: TRUST, evidence: [join(P, 'evidence', 'hf-model')], inventory: inventoryLookup(inv), now: NOW });
      expect(before.copies.count).toBe(2);
      expect(before.retired.retired).toBe(false);
      expect(before.approval.approved).toBe(true);
      const weights = before.subject.files.find((f) => f.path === 'model.safetensors')!.sha256!;
      expect(await inv.retire(weights, 'superseded by ft-2026-11', '2026-10-20T00:00:00Z')).toBe(true);
      const after = await answerProvenance(a2, { trust: TRUST, evidence: [join(P, 'evidence', 'hf-model')], inventory: inventoryLookup(inv), now: NOW });
      expect(after.retired).toMatchObject({ retired: true, reason: 'superseded by ft-2026-11' });
      expect(after.approval.approved).toBe(false);
      expect(unmet(after, ['approved'])).toEqual(['approved']);
    } finally {
      await inv.close();
      rmSync(dir, { recursive: true, force: true });
      rmSync(join(a1, '..'), { recursive: true, force: true });
      rmSync(join(a2, '..'), { recursive: true, force: true });
    }
  });
});
