/**
 * Provenance of models in remote stores, on the real servers the test setup starts on 127.0.0.1: a ModelPack
 * artifact pushed to Debian's docker-registry (2.8: no referrers API, so attestations hang off the `sha256-<hex>`
 * tag schema), with its model signature and attestations as referrers; and the same model under an S3 prefix in
 * moto with sidecar attestations beside the prefix.
 */
import { spawnSync } from 'node:child_process';
import { generateKeyPairSync, sign } from 'node:crypto';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { CreateBucketCommand, PutObjectCommand, S3Client } from '@aws-sdk/client-s3';
import { describe, expect, inject, it } from 'vitest';
import { MEDIA } from '../../src/oci/reference.js';
import { RegistryClient } from '../../src/oci/registry.js';
import { Inventory } from '../../src/inventory/inventory.js';
import { answerProvenance } from '../../src/provenance/answer.js';
import { inventoryLookup } from '../../src/provenance/inventory-lookup.js';
import { scan } from '../../src/scan/scan.js';
import { loadTrust } from '../../src/provenance/trust.js';
import { pae } from '../../src/resign/dsse.js';
import { requirePrerequisite } from '../helpers/prerequisites.js';
import { addToReferrersTag, gz, pushArtifact, pushBlob, pushManifest, tar } from '../helpers/registry.js';
import { FIXTURES } from '../helpers/scan.js';
import { modelFiles, pushModel } from './_oci-model.js';

const P = join(FIXTURES, 'provenance');
const HF = join(P, 'models', 'hf-model');
const NOW = new Date('2026-11-01T00:00:00Z');
const reg = inject('registry');
const s3 = inject('s3');
const enc = (s: string) => new TextEncoder().encode(s);

/** A VSA about `digest`, signed now with a fresh P-256 key; returns the envelope and a trust file naming the key as approver. */
function approvalAbout(digest: string, trustExtra = '') {
  const { privateKey, publicKey } = generateKeyPairSync('ec', { namedCurve: 'P-256' });
  const statement = {
    _type: 'https://in-toto.io/Statement/v1',
    subject: [{ name: 'model', digest: { sha256: digest } }],
    predicateType: 'https://slsa.dev/verification_summary/v1',
    predicate: {
      verifier: { id: 'https://gate.example.org/oci' },
      timeVerified: '2026-10-05T00:00:00Z',
      verificationResult: 'PASSED',
      verifiedLevels: ['ORG_L1'],
    },
  };
  const payload = enc(JSON.stringify(statement));
  const sig = sign('sha256', pae('application/vnd.in-toto+json', payload), privateKey);
  const envelope = {
    payloadType: 'application/vnd.in-toto+json',
    payload: Buffer.from(payload).toString('base64'),
    signatures: [{ keyid: 'gate', sig: sig.toString('base64') }],
  };
  const d = mkdtempSync(join(tmpdir(), 'shelflife-remote-trust-'));
  writeFileSync(join(d, 'gate.pem'), publicKey.export({ type: 'spki', format: 'pem' }));
  writeFileSync(
    join(d, 'trust.yaml'),
    `keys:\n  - name: model-signer\n    publicKey: ${P}/keys/model-signer.pub.pem\n  - name: gate\n    publicKey: ${d}/gate.pem\n    approver: true\n${trustExtra}`,
  );
  return { envelope, trust: loadTrust(join(d, 'trust.yaml')) };
}

describe('provenance of a ModelPack artifact in a registry', () => {
  it('files from the layers, model.sig and attestations from the referrers; approval by manifest digest', async (ctx) => {
    requirePrerequisite(ctx, !reg.available && `OCI registry: ${reg.reason}`);
    const c = new RegistryClient(reg.anonymous);
    const repo = `models/ft-${Date.now()}`;
    try {
      const files = modelFiles(HF).filter((f) => f.path !== 'model.sig');
      const layers = [];
      for (const f of files)
        layers.push(
          await pushBlob(
            c,
            repo,
            f.bytes,
            f.path.endsWith('.safetensors') || f.path.endsWith('.gguf') ? 'application/vnd.cncf.model.weight.v1.raw' : 'application/vnd.cncf.model.doc.v1.raw',
            {
              annotations: { 'org.cncf.model.filepath': f.path },
            },
          ),
        );
      const config = await pushBlob(
        c,
        repo,
        enc(
          JSON.stringify({
            descriptor: {
              name: 'llama-3.1-8b-ft',
              sourceURL: 'https://git.example.org/ml/ft',
              revision: 'abc123',
              datasetsURL: ['s3://datasets/fineweb-edu/sample-10BT'],
            },
          }),
        ),
        'application/vnd.cncf.model.config.v1+json',
      );
      const manifest = await pushManifest(c, repo, 'v1', {
        schemaVersion: 2,
        mediaType: MEDIA.ociManifest,
        artifactType: 'application/vnd.cncf.model.manifest.v1+json',
        config,
        layers,
      });
      // Referrers (tag schema): the model signature as a Sigstore bundle, the SLSA provenance, and a VSA about the manifest.
      const bundleType = 'application/vnd.dev.sigstore.bundle.v0.3+json';
      const sigRef = await pushArtifact(c, repo, undefined, bundleType, [{ bytes: readFileSync(join(HF, 'model.sig')), mediaType: bundleType }], manifest);
      await addToReferrersTag(c, repo, manifest, sigRef);
      const prov = await pushArtifact(
        c,
        repo,
        undefined,
        MEDIA.inToto,
        [{ bytes: readFileSync(join(P, 'evidence', 'hf-model', 'provenance.intoto.jsonl')), mediaType: MEDIA.dsse }],
        manifest,
      );
      await addToReferrersTag(c, repo, manifest, prov);
      const evaluation = await pushArtifact(
        c,
        repo,
        undefined,
        MEDIA.inToto,
        [{ bytes: readFileSync(join(P, 'evidence', 'hf-model', 'test-result.sigstore.json')), mediaType: bundleType }],
        manifest,
      );
      await addToReferrersTag(c, repo, manifest, evaluation);
      const { envelope, trust } = approvalAbout(
        manifest.digest.slice('sha256:'.length),
        `  - name: builder\n    publicKey: ${P}/keys/builder.pub.pem\n  - name: evaluator\n    publicKey: ${P}/keys/evaluator.pub.pem\n` +
          `timestampAuthorities:\n  - name: test-tsa\n    certificate: ${P}/keys/tsa.crt\n`,
      );
      const vsa = await pushArtifact(c, repo, undefined, MEDIA.inToto, [{ bytes: enc(JSON.stringify(envelope)), mediaType: MEDIA.dsse }], manifest);
      await addToReferrersTag(c, repo, manifest, vsa);

      const a = await answerProvenance(`oci://${reg.anonymous}/${repo}:v1`, { trust, now: NOW });
      expect(a.problems).toEqual([]);
      expect(a.model).toBe(`oci://${reg.anonymous}/${repo}@${manifest.digest}`);
      expect(a.integrity).toMatchObject({ status: 'verified', grade: 'signed-verified', changed: [], missing: [], added: [] });
      expect(a.integrity.evidence[0].uri).toMatch(/^oci:\/\/.*@sha256:/);
      expect(a.subject.digest).toBe(`sha256:${JSON.parse(readFileSync(join(P, 'expected-provenance.json'), 'utf8')).models['hf-model'].root}`);
      expect(a.approval).toMatchObject({ grade: 'signed-verified', approved: true, verifier: 'https://gate.example.org/oci' });
      expect(a.approval.evidence[0].detail).toMatch(/model's manifest digest/);
      expect(a.lineage).toMatchObject({ grade: 'signed-verified', builder: 'https://ci.example.org/ml-trainer@v3' });
      expect(a.lineage.parents.map((p) => p.uri)).toContain('https://git.example.org/ml/ft');
      expect(a.lineage.datasets.some((d) => d.from.includes('descriptor.datasetsURL'))).toBe(true);
      expect(a.evaluation).toMatchObject({ grade: 'signed-verified', timeSource: 'RFC 3161 timestamp (test-tsa)', result: 'PASSED' });
      expect(a.evaluation.benchmarks.map((b) => b.name)).toContain('mmlu-5shot');

      // Retirement: a scan records the model by its manifest; retire its root digest; provenance says so, not approved.
      const inv = await Inventory.open(join(mkdtempSync(join(tmpdir(), 'shelflife-oci-inv-')), 'inv.db'));
      try {
        const scanned = await scan({ targets: [`oci://${reg.anonymous}/${repo}:v1`], concurrency: 2, inventory: inv, provenance: { trust } });
        expect(scanned.models?.map((m) => [m.uri, m.provenance?.integrity.grade, m.provenance?.approval.approved])).toEqual([
          [a.model, 'signed-verified', true],
        ]);
        expect(await inv.retire(a.subject.digest, 'withdrawn', '2026-11-02T00:00:00Z')).toBe(true);
        const r = await answerProvenance(`oci://${reg.anonymous}/${repo}:v1`, { trust, now: NOW, inventory: inventoryLookup(inv) });
        expect(r.retired).toMatchObject({ grade: 'declared', retired: true, reason: 'withdrawn' });
        expect(r.approval.approved).toBe(false);
        const later = await scan({ targets: [`oci://${reg.anonymous}/${repo}:v1`], concurrency: 2, inventory: inv, full: true, provenance: { trust } });
        expect(later.artifacts.filter((x) => x.uri === a.model || x.parent === a.model).every((x) => x.retired?.reason === 'withdrawn')).toBe(true);
      } finally {
        await inv.close();
      }

      // The same artifact by digest; then a tampered copy (one layer swapped): modified, not approved.
      const byDigest = await answerProvenance(`oci://${reg.anonymous}/${repo}@${manifest.digest}`, { trust, now: NOW });
      expect(byDigest.integrity.status).toBe('verified');
      const swapped = [...layers];
      const i = files.findIndex((f) => f.path === 'model.gguf');
      swapped[i] = await pushBlob(c, repo, enc('not the weights'), layers[i].mediaType, { annotations: { 'org.cncf.model.filepath': 'model.gguf' } });
      const tampered = await pushManifest(c, repo, 'v1-tampered', {
        schemaVersion: 2,
        mediaType: MEDIA.ociManifest,
        artifactType: 'application/vnd.cncf.model.manifest.v1+json',
        config,
        layers: swapped,
      });
      const sig2 = await pushArtifact(c, repo, undefined, bundleType, [{ bytes: readFileSync(join(HF, 'model.sig')), mediaType: bundleType }], tampered);
      await addToReferrersTag(c, repo, tampered, sig2);
      const t = await answerProvenance(`oci://${reg.anonymous}/${repo}:v1-tampered`, { trust, now: NOW });
      expect(t.integrity).toMatchObject({ status: 'modified', grade: 'signed', changed: ['model.gguf'] });
      expect(t.approval.approved).toBe('unknown');
    } finally {
      await c.close();
    }
  });
});

describe('provenance of a ModelPack / KitOps artifact whose layers are tar archives', () => {
  it('the members are the model files: verified as signed; a changed member is named; a traversal member is refused', async (ctx) => {
    requirePrerequisite(ctx, !reg.available && `OCI registry: ${reg.reason}`);
    const c = new RegistryClient(reg.anonymous);
    const repo = `models/tar-${Date.now()}`;
    const trust = loadTrust(join(P, 'trust.yaml'));
    const expectedRoot = JSON.parse(readFileSync(join(P, 'expected-provenance.json'), 'utf8')).models['hf-model'].root;
    const docs = ['README.md', 'config.json', '.eval_results/gsm8k.yaml', 'Kitfile', 'MLmodel'];
    // Weights one file per tar layer (ModelPack: plain tar, or tar+gzip); the docs in one KitOps-style tar+gzip layer.
    const packed = (swap?: { path: string; bytes: Uint8Array }, extra: Record<string, string> = {}) => {
      let docsDone = false;
      return async (f: { path: string; bytes: Uint8Array }) => {
        const bytes = swap?.path === f.path ? swap.bytes : f.bytes;
        if (docs.includes(f.path)) {
          if (docsDone) return undefined;
          docsDone = true;
          const all = Object.fromEntries([
            ...modelFiles(HF)
              .filter((x) => docs.includes(x.path))
              .map((x) => [x.path, swap?.path === x.path ? swap.bytes : x.bytes]),
            ...Object.entries(extra),
          ]);
          return pushBlob(c, repo, gz(tar(all)), 'application/vnd.kitops.modelkit.docs.v1.tar+gzip', { annotations: { 'org.cncf.model.filepath': 'docs' } });
        }
        const gzipped = f.path.endsWith('.gguf');
        return pushBlob(
          c,
          repo,
          gzipped ? gz(tar({ [f.path]: bytes })) : tar({ [`./${f.path}`]: bytes }),
          `application/vnd.cncf.model.weight.v1.tar${gzipped ? '+gzip' : ''}`,
          {
            annotations: { 'org.cncf.model.filepath': f.path },
          },
        );
      };
    };
    try {
      await pushModel(c, repo, 'v1', HF, packed());
      const a = await answerProvenance(`oci://${reg.anonymous}/${repo}:v1`, { trust, now: NOW });
      expect(a.problems).toEqual([]);
      expect(a.subject.files.map((f) => f.path).sort()).toEqual(
        modelFiles(HF)
          .map((f) => f.path)
          .filter((p) => p !== 'model.sig')
          .sort(),
      );
      expect(a.subject.digest).toBe(`sha256:${expectedRoot}`);
      expect(a.integrity).toMatchObject({ status: 'verified', grade: 'signed-verified', changed: [], missing: [], added: [] });
      // Metadata is read from inside the layers too (the card's and the GGUF header's declared lineage).
      expect(a.lineage.parents.some((p) => p.from.includes('!/model.gguf'))).toBe(true);
      expect(a.evaluation.benchmarks.some((b) => b.from.includes('!/.eval_results/gsm8k.yaml'))).toBe(true);

      await pushModel(c, repo, 'v2', HF, packed({ path: 'config.json', bytes: enc('{"changed": true}') }, { '../evil': 'x' }));
      const t = await answerProvenance(`oci://${reg.anonymous}/${repo}:v2`, { trust, now: NOW });
      expect(t.integrity).toMatchObject({ status: 'modified', grade: 'signed', changed: ['config.json'], missing: [], added: [] });
      expect(t.problems.map((p) => p.message)).toEqual([expect.stringMatching(/escapes the archive root/)]);
      expect(t.problems[0].uri).toMatch(/!\/\.\.\/evil$/);
    } finally {
      await c.close();
    }
  });
});

describe('provenance of a model under an S3 prefix', () => {
  it('objects are the files, model.sig under the prefix, sidecar attestations beside it', async (ctx) => {
    requirePrerequisite(ctx, !s3.available && `S3 (moto): ${s3.reason}`);
    const client = new S3Client({
      endpoint: s3.endpoint,
      region: 'us-east-1',
      forcePathStyle: true,
      credentials: { accessKeyId: 'testing', secretAccessKey: 'testing' },
    });
    const bucket = `models-${Date.now()}`;
    try {
      await client.send(new CreateBucketCommand({ Bucket: bucket }));
      for (const f of modelFiles(HF)) await client.send(new PutObjectCommand({ Bucket: bucket, Key: `prod/ft-2026-10/${f.path}`, Body: f.bytes }));
      const ev = join(P, 'evidence', 'hf-model');
      await client.send(new PutObjectCommand({ Bucket: bucket, Key: 'prod/ft-2026-10.intoto.jsonl', Body: readFileSync(join(ev, 'provenance.intoto.jsonl')) }));
      await client.send(
        new PutObjectCommand({ Bucket: bucket, Key: 'prod/ft-2026-10.attestations/vsa.dsse.json', Body: readFileSync(join(ev, 'vsa.dsse.json')) }),
      );
      await client.send(
        new PutObjectCommand({
          Bucket: bucket,
          Key: 'prod/ft-2026-10.attestations/test-result.sigstore.json',
          Body: readFileSync(join(ev, 'test-result.sigstore.json')),
        }),
      );
      // Not a sidecar of this model: another model's prefix that shares the name's start.
      await client.send(new PutObjectCommand({ Bucket: bucket, Key: 'prod/ft-2026-10b/notes.txt', Body: 'other model' }));
      const trust = loadTrust(join(P, 'trust.yaml'));
      const a = await answerProvenance(`s3://${bucket}/prod/ft-2026-10/`, { trust, now: NOW, remote: { s3Client: client } });
      expect(a.problems).toEqual([]);
      expect(a.integrity).toMatchObject({ status: 'verified', grade: 'signed-verified', added: [] });
      expect(a.lineage.grade).toBe('signed-verified');
      expect(a.evaluation).toMatchObject({ grade: 'signed-verified', timeSource: 'RFC 3161 timestamp (test-tsa)' });
      expect(a.approval).toMatchObject({ grade: 'signed-verified', approved: true });
      expect(a.approval.evidence[0].uri).toBe(`s3://${bucket}/prod/ft-2026-10.attestations/vsa.dsse.json`);
      // resign keeps the chain in the bucket too: the statement re-signed beside model.sig, as an object written with
      // If-None-Match; provenance then verifies the model through the hybrid signature alone.
      const work = mkdtempSync(join(tmpdir(), 'shelflife-s3-resign-'));
      const env = {
        ...process.env,
        AWS_ACCESS_KEY_ID: 'testing',
        AWS_SECRET_ACCESS_KEY: 'testing',
        AWS_REGION: 'us-east-1',
        AWS_ENDPOINT_URL_S3: s3.endpoint,
        SHELFLIFE_KEY_PASSPHRASE: 'correct horse battery staple',
        SHELFLIFE_DB: join(work, 'inventory.db'),
      };
      const cli = (args: string[]) =>
        spawnSync(process.execPath, [join(import.meta.dirname, '..', '..', 'bin', 'shelflife.js'), ...args], { encoding: 'utf8', env, timeout: 120_000 });
      expect(cli(['keygen', '--alg', 'mldsa65-ecdsa-p256', '--out', join(work, 'release')]).status).toBe(0);
      const sc = cli(['scan', `s3://${bucket}/prod/ft-2026-10/`, '--format', 'json', '-o', join(work, 'scan.json'), '-q']);
      expect(sc.status, sc.stderr).toBe(0);
      const rs = cli(['resign', join(work, 'scan.json'), '--key', join(work, 'release'), '--uri', '**/model.sig', '--json']);
      expect(rs.status, rs.stderr).toBe(0);
      const signed = JSON.parse(rs.stdout).outcomes.find((o: { uri: string }) => o.uri.endsWith('/model.sig'));
      expect(signed).toMatchObject({ status: 'signed', location: `s3://${bucket}/prod/ft-2026-10/model.sig.hybrid.json` });
      writeFileSync(join(work, 'trust.yaml'), `certificates:\n  - name: hybrid\n    certificate: ${join(work, 'release.crt')}\n`);
      const h = await answerProvenance(`s3://${bucket}/prod/ft-2026-10/`, {
        trust: loadTrust(join(work, 'trust.yaml')),
        now: NOW,
        remote: { s3Client: client },
      });
      expect(h.integrity).toMatchObject({ status: 'verified', grade: 'signed-verified', added: [] });
      expect(h.integrity.cosignatures[0]).toMatchObject({ status: 'verified', algorithm: 'ML-DSA-65+ECDSA-P256' });

      // Retirement through the CLI: the scan recorded the model under its prefix; retire its root; provenance --db says so.
      const root = a.subject.digest;
      const rt = cli(['retire', root, '--reason', 'superseded']);
      expect(rt.status, rt.stderr).toBe(0);
      const pv = cli(['provenance', `s3://${bucket}/prod/ft-2026-10/`, '--db', join(work, 'inventory.db'), '--format', 'json']);
      expect(pv.status, pv.stderr).toBe(0);
      expect(JSON.parse(pv.stdout).retired).toMatchObject({ retired: true, reason: 'superseded' });

      // One object changed in the bucket: modified.
      await client.send(new PutObjectCommand({ Bucket: bucket, Key: 'prod/ft-2026-10/config.json', Body: '{"changed": true}\n' }));
      const b = await answerProvenance(`s3://${bucket}/prod/ft-2026-10`, { trust, now: NOW, remote: { s3Client: client } });
      expect(b.integrity).toMatchObject({ status: 'modified', changed: ['config.json'] });
    } finally {
      client.destroy();
    }
  });
});
