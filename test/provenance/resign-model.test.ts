/**
 * Keeping the chain across the migration: `resign` on a signed model writes a composite ML-DSA DSSE bundle of the
 * same Model Signing statement beside model.sig (never replacing it), or, for a model in a registry, pushes it as a
 * referrer of the model manifest (Debian's docker-registry from the test setup), and `provenance` then verifies the
 * model's integrity through the hybrid signature, with the classical one kept. Through the real binary.
 */
import { spawnSync } from 'node:child_process';
import { cpSync, existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, inject, it } from 'vitest';
import { MANIFEST_ACCEPT, MEDIA, pullScope } from '../../src/oci/reference.js';
import { listReferrers } from '../../src/oci/referrers.js';
import { RegistryClient } from '../../src/oci/registry.js';
import type { ProvenanceAnswer } from '../../src/provenance/answer.js';
import type { ScanResult } from '../../src/model.js';
import { requirePrerequisite } from '../helpers/prerequisites.js';
import { FIXTURES } from '../helpers/scan.js';
import { pushModel } from './_oci-model.js';

const ROOT = join(import.meta.dirname, '..', '..');
const BIN = join(ROOT, 'bin', 'shelflife.js');
const P = join(FIXTURES, 'provenance');
const WORK = mkdtempSync(join(tmpdir(), 'shelflife-resign-model-'));
const reg = inject('registry');
const env = { ...process.env, SHELFLIFE_KEY_PASSPHRASE: 'correct horse battery staple', SHELFLIFE_DB: join(WORK, 'inventory.db') };

function run(args: string[]) {
  const r = spawnSync(process.execPath, [BIN, ...args], { cwd: ROOT, encoding: 'utf8', timeout: 120_000, env });
  return { code: r.status, stdout: r.stdout, stderr: r.stderr };
}

afterAll(() => rmSync(WORK, { recursive: true, force: true }));

describe('resign keeps a model signature chain', () => {
  it('signs the same statement with composite ML-DSA beside model.sig; provenance verifies through it', () => {
    const model = join(WORK, 'hf-model');
    cpSync(join(P, 'models', 'hf-model'), model, { recursive: true });
    const original = readFileSync(join(model, 'model.sig'));
    expect(run(['keygen', '--alg', 'mldsa65-ecdsa-p256', '--out', join(WORK, 'release')]).code).toBe(0);
    const scan = run(['scan', model, '--format', 'json', '-o', join(WORK, 'scan.json')]);
    expect(scan.code, scan.stderr).toBe(0);
    const r = run(['resign', join(WORK, 'scan.json'), '--key', join(WORK, 'release'), '--uri', '**/model.sig', '--json']);
    expect(r.code, r.stderr + r.stdout).toBe(0);
    const outcome = JSON.parse(r.stdout).outcomes.find((o: { uri: string }) => o.uri.endsWith('/model.sig'));
    expect(outcome).toMatchObject({ status: 'signed' });
    expect(outcome.location).toMatch(/\/model\.sig\.hybrid\.json$/);
    // model.sig is untouched; the bundle carries the very statement model.sig signs.
    expect(readFileSync(join(model, 'model.sig')).equals(original)).toBe(true);
    const bundle = JSON.parse(readFileSync(join(model, 'model.sig.hybrid.json'), 'utf8'));
    const oms = JSON.parse(original.toString('utf8'));
    expect(bundle.mediaType).toBe('application/vnd.shelflife.hybrid-signature.v1+json');
    expect(bundle.dsseEnvelope.payload).toBe(oms.dsseEnvelope.payload);
    expect(bundle.algorithm.id).toBe('ML-DSA-65+ECDSA-P256');

    // Trust only the hybrid certificate: integrity is signed-verified through it, the classical signature is kept.
    writeFileSync(join(WORK, 'trust.yaml'), `certificates:\n  - name: hybrid-release\n    certificate: ${join(WORK, 'release.crt')}\n`);
    const p = run(['provenance', model, '--trust', join(WORK, 'trust.yaml'), '--require', 'integrity,quantum-safe']);
    expect(p.code, p.stderr).toBe(0);
    const a = JSON.parse(p.stdout) as ProvenanceAnswer;
    expect(a.integrity).toMatchObject({ status: 'verified', grade: 'signed-verified', added: [] });
    expect(a.integrity.signature?.status).toBe('unverifiable'); // the classical ECDSA P-384 one, still there
    expect(a.integrity.cosignatures[0]).toMatchObject({ status: 'verified', algorithm: 'ML-DSA-65+ECDSA-P256' });
    expect(a.quantum.signatures.map((s) => `${s.algorithm} ${s.quantum}`).sort()).toEqual(['ECDSA vulnerable', 'ML-DSA-65+ECDSA-P256 hybrid']);

    // A rerun is idempotent; a hybrid bundle over another statement does not count.
    const again = run(['resign', join(WORK, 'scan.json'), '--key', join(WORK, 'release'), '--uri', '**/model.sig', '--json']);
    expect(JSON.parse(again.stdout).outcomes.find((o: { uri: string }) => o.uri.endsWith('/model.sig')).status).toBe('skipped');
    const forged = {
      ...bundle,
      dsseEnvelope: { ...bundle.dsseEnvelope, payload: Buffer.from('{"_type":"https://in-toto.io/Statement/v1"}').toString('base64') },
    };
    writeFileSync(join(model, 'model.sig.hybrid.json'), JSON.stringify(forged));
    const f = run(['provenance', model, '--trust', join(WORK, 'trust.yaml'), '--require', 'integrity']);
    expect(f.code).toBe(1);
    expect(existsSync(join(model, 'model.sig'))).toBe(true);
  });
});

describe('resign keeps the chain of a model in a registry', () => {
  it('pushes the re-signed statement as a referrer of the model manifest; provenance verifies through it', { timeout: 300_000 }, async (ctx) => {
    requirePrerequisite(ctx, !reg.available && `OCI registry: ${reg.reason}`);
    const c = new RegistryClient(reg.anonymous);
    const repo = `models/resign-${Date.now()}`;
    try {
      const pushed = await pushModel(c, repo, 'v1', join(P, 'models', 'hf-model'));
      const target = `oci://${reg.anonymous}/${repo}@${pushed.manifest.digest}`;
      expect(run(['keygen', '--alg', 'mldsa65-ecdsa-p256', '--out', join(WORK, 'oci-release')]).code).toBe(0);
      const scan = run(['scan', `oci://${reg.anonymous}/${repo}:v1`, '--format', 'json', '-o', join(WORK, 'oci-scan.json')]);
      expect(scan.code, scan.stderr).toBe(0);
      // The scan names the model by its manifest and summarizes its provenance (layers by their descriptor digests).
      const scanned = JSON.parse(readFileSync(join(WORK, 'oci-scan.json'), 'utf8')) as ScanResult;
      expect(scanned.models?.map((x) => [x.uri, x.provenance?.integrity.status, x.provenance?.integrity.grade])).toEqual([[target, 'verified', 'signed']]);
      const r = run(['resign', join(WORK, 'oci-scan.json'), '--key', join(WORK, 'oci-release'), '--json']);
      expect(r.code, r.stderr + r.stdout).toBe(0);
      const outcome = JSON.parse(r.stdout).outcomes.find((o: { uri: string }) => o.uri === target);
      expect(outcome, r.stdout).toMatchObject({ status: 'signed' });
      expect(outcome.location).toContain(MEDIA.shelflifeHybridJson);

      // The model manifest now has two referrers: model.sig (untouched) and the hybrid bundle of the same statement.
      const refs = await listReferrers(c, repo, pushed.manifest.digest);
      expect(refs.map((x) => x.digest)).toContain(pushed.signature!.digest);
      const hybrid = refs.filter((x) => x.artifactType === MEDIA.shelflifeHybridJson);
      expect(hybrid).toHaveLength(1);
      const m = JSON.parse(
        new TextDecoder().decode((await c.getJsonDocument(`/v2/${repo}/manifests/${hybrid[0].digest}`, pullScope(repo), MANIFEST_ACCEPT)).bytes),
      );
      expect(m.subject.digest).toBe(pushed.manifest.digest);
      const bundle = JSON.parse(new TextDecoder().decode(await c.blobBytes(repo, m.layers[0].digest)));
      const oms = JSON.parse(readFileSync(join(P, 'models', 'hf-model', 'model.sig'), 'utf8'));
      expect(bundle.mediaType).toBe(MEDIA.shelflifeHybridJson);
      expect(bundle.dsseEnvelope.payload).toBe(oms.dsseEnvelope.payload);
      expect(bundle.algorithm.id).toBe('ML-DSA-65+ECDSA-P256');

      // Trust only the hybrid certificate: integrity is signed-verified through the referrer.
      writeFileSync(join(WORK, 'oci-trust.yaml'), `certificates:\n  - name: hybrid-release\n    certificate: ${join(WORK, 'oci-release.crt')}\n`);
      const p = run(['provenance', target, '--trust', join(WORK, 'oci-trust.yaml'), '--require', 'integrity,quantum-safe']);
      expect(p.code, p.stderr + p.stdout).toBe(0);
      const a = JSON.parse(p.stdout) as ProvenanceAnswer;
      expect(a.integrity).toMatchObject({ status: 'verified', grade: 'signed-verified', added: [] });
      expect(a.integrity.signature?.status).toBe('unverifiable');
      expect(a.integrity.cosignatures).toEqual([expect.objectContaining({ status: 'verified', algorithm: 'ML-DSA-65+ECDSA-P256' })]);
      expect(a.integrity.cosignatures[0].uri).toBe(`oci://${reg.anonymous}/${repo}@${m.layers[0].digest}`);
      expect(a.quantum.signatures.map((s) => `${s.algorithm} ${s.quantum}`).sort()).toEqual(['ECDSA vulnerable', 'ML-DSA-65+ECDSA-P256 hybrid']);
      // Without the hybrid certificate trusted, it is only signed.
      const untrusted = JSON.parse(run(['provenance', target]).stdout) as ProvenanceAnswer;
      expect(untrusted.integrity.grade).toBe('signed');

      // A rerun is a no-op; a rescan sees the hybrid signature attached to the model manifest.
      const again = run(['resign', join(WORK, 'oci-scan.json'), '--key', join(WORK, 'oci-release'), '--json']);
      expect(JSON.parse(again.stdout).outcomes.find((o: { uri: string }) => o.uri === target).status).toBe('skipped');
      expect((await listReferrers(c, repo, pushed.manifest.digest)).filter((x) => x.artifactType === MEDIA.shelflifeHybridJson)).toHaveLength(1);
      const rescan = run(['scan', `oci://${reg.anonymous}/${repo}:v1`, '--format', 'json']);
      const doc = JSON.parse(rescan.stdout) as ScanResult;
      expect(doc.artifacts.find((x) => x.uri === target)!.annotations?.['oci.signatures']).toBe('shelflife-hybrid,sigstore');
    } finally {
      await c.close();
    }
  });
});
