/**
 * resign for remote stores, against the real servers of the test setup (Debian's docker-registry 2.8, which has no
 * referrers API, and moto): scan → plan → resign → verify what was pushed → rerun is a no-op → a new scan reports the
 * hybrid signature; and the refusals (bytes changed since the scan, sampled objects, blobs, names taken by others).
 */
import { join } from 'node:path';
import { CreateBucketCommand, GetObjectCommand, PutBucketVersioningCommand, PutObjectCommand, S3Client } from '@aws-sdk/client-s3';
import { beforeAll, describe, expect, inject, it } from 'vitest';
import { renderPlan } from '../../src/cli/resign-command.js';
import type { ArtifactResult, ScanResult } from '../../src/model.js';
import type { SigningCertificate } from '../../src/resign/cert.js';
import type { PrivateKey } from '../../src/resign/composite.js';
import { makePlan } from '../../src/resign/plan.js';
import { SignerPool } from '../../src/resign/pool.js';
import { runResign, verifyArtifact, type ResignOutcome } from '../../src/resign/resign.js';
import { HYBRID_ARTIFACT_TYPE, HYBRID_LAYER_MEDIA_TYPE, OciWriter } from '../../src/resign/writers/oci.js';
import { S3Writer } from '../../src/resign/writers/s3.js';
import { scan } from '../../src/scan/scan.js';
import { RegistryClient } from '../../src/oci/registry.js';
import { MEDIA } from '../../src/oci/reference.js';
import { listReferrers, referrersTag } from '../../src/oci/referrers.js';
import { s3Uri } from '../../src/sources/s3.js';
import { needPrograms, requirePrerequisiteForAll } from '../helpers/prerequisites.js';
import { gz, makeCert, notarySign, pushImage, tar } from '../helpers/registry.js';
import { tempDir } from './_helpers.js';
import { signingIdentity } from '../helpers/signing.js';

const reg = inject('registry');
const s3 = inject('s3');
const REGISTRY_MISSING = !reg.available && reg.reason;
// The objects hold certificates made with openssl (test/helpers/registry.ts makeCert).
const S3_MISSING = (!s3.available && s3.reason) || needPrograms('the S3 resign tests', 'openssl');

const ENV = { SHELFLIFE_KEY_PASSPHRASE: 'test passphrase' };
Object.assign(process.env, { AWS_ACCESS_KEY_ID: 'testing', AWS_SECRET_ACCESS_KEY: 'testing', AWS_REGION: 'us-east-1', AWS_ENDPOINT_URL_S3: s3.endpoint });

function identity(alg = 'mldsa65-ecdsa-p256'): { key: PrivateKey; cert: SigningCertificate } {
  return signingIdentity(join(tempDir(), 'release'), alg, ENV);
}

async function resign(doc: ScanResult, id: { key: PrivateKey; cert: SigningCertificate }, uriGlobs?: string[]): Promise<Record<string, ResignOutcome>> {
  const pool = new SignerPool(id.key, 0);
  try {
    const outcomes = await runResign(makePlan(doc, uriGlobs ? { uriGlobs } : {}, 'p7s'), { key: id.key, cert: id.cert, format: 'p7s', pool });
    return Object.fromEntries(outcomes.map((o) => [o.uri, o]));
  } finally {
    await pool.close();
  }
}

function art(r: ScanResult, uri: string): ArtifactResult {
  const a = r.artifacts.find((x) => x.uri === uri);
  if (!a) throw new Error(`no ${uri} among ${r.artifacts.map((x) => x.uri).join(', ')}`);
  return a;
}

const clone = (r: ScanResult): ScanResult => JSON.parse(JSON.stringify(r));

describe('resign OCI manifests (referrers, tag-schema fallback)', () => {
  const host = reg.anonymous;
  const repo = 'resign/app';
  let client: RegistryClient;
  let plain: { digest: string };
  let notarized: { digest: string; mediaType: string; size: number };
  let notation: { digest: string };
  let keyBlobUri: string;
  requirePrerequisiteForAll(REGISTRY_MISSING);

  beforeAll(async () => {
    if (REGISTRY_MISSING) return;
    client = new RegistryClient(host);
    const rsa = makeCert('old release key', 'rsa');
    plain = await pushImage(client, repo, 'v1', [{ bytes: gz(tar({ 'usr/bin/app': 'v1' })) }], { 'shelflife.class': 'container-image' });
    // An image carrying a certificate as a layer: the scan reports that blob as its own (vulnerable) artifact.
    const keyed = await pushImage(client, repo, 'v0-keys', [{ bytes: new TextEncoder().encode(rsa.certPem), mediaType: 'application/x-pem-file' }]);
    keyBlobUri = `oci://${host}/${repo}@${(JSON.parse(new TextDecoder().decode(keyed.bytes)) as { layers: { digest: string }[] }).layers[0].digest}`;
    notarized = await pushImage(client, repo, 'v2', [{ bytes: gz(tar({ 'usr/bin/app': 'v2' })) }], { 'shelflife.class': 'container-image' });
    // An existing Notary Project signature in the referrers tag index: it must survive our update of that index.
    notation = await notarySign(client, repo, notarized, makeCert('notation signer'), 'jws');
  });

  it('plans, attaches a verifiable referrer, keeps other referrers, is idempotent, and a rescan reports hybrid', async () => {
    const uri = (d: string) => `oci://${host}/${repo}@${d}`;
    const first = await scan({ targets: [`oci://${host}/${repo}`], concurrency: 2, sourceOptions: { backoffMs: 1 } });
    expect(art(first, uri(plain.digest)).signed).toBe(false);
    const id = identity();

    // The dry-run plan names each target: the manifest and where its signature goes.
    const plan = makePlan(first, {}, 'p7s');
    expect(plan.items.map((i) => i.uri).sort()).toEqual([uri(plain.digest), uri(notarized.digest)].sort());
    expect(plan.refused.map((r) => r.uri)).toEqual([keyBlobUri]);
    const text = renderPlan(plan);
    expect(text).toContain(`where: ${uri(plain.digest)} referrer, artifactType application/vnd.shelflife.hybrid-signature.v1+cms (oci writer)`);
    expect(text).not.toContain('undefined');

    const out = await resign(first, id);
    expect(out[uri(plain.digest)]).toMatchObject({ status: 'signed' });
    expect(out[uri(notarized.digest)]).toMatchObject({ status: 'signed' });
    // A layer blob cannot be a referrer's subject: refused (already in the plan) with the manifest to sign instead.
    expect(out[keyBlobUri]).toMatchObject({ status: 'refused' });
    expect(out[keyBlobUri].reason).toMatch(/a layer blob, not a manifest.*sign the manifest that lists it \(oci:\/\//);

    // What was pushed: an image manifest with our artifactType, the empty config, one CMS layer, subject = the manifest.
    const writer = new OciWriter({ backoffMs: 1 });
    try {
      // Asked directly (no plan), the writer still refuses a blob by name instead of signing it.
      await expect(
        (async () => {
          for await (const _ of writer.openArtifact(keyBlobUri)) void _;
        })(),
      ).rejects.toThrow(/a layer blob, not a manifest/);
      for (const subject of [plain, notarized]) {
        const refs = await listReferrers(client, repo, subject.digest, HYBRID_ARTIFACT_TYPE.p7s);
        expect(refs).toHaveLength(1);
        const m = JSON.parse(
          new TextDecoder().decode(
            (await client.getJsonDocument(`/v2/${repo}/manifests/${refs[0].digest}`, `repository:${repo}:pull`, MEDIA.ociManifest)).bytes,
          ),
        );
        expect(m).toMatchObject({
          schemaVersion: 2,
          mediaType: MEDIA.ociManifest,
          artifactType: 'application/vnd.shelflife.hybrid-signature.v1+cms',
          config: { mediaType: MEDIA.emptyJson, size: 2 },
          subject: { digest: subject.digest },
        });
        expect(m.layers).toHaveLength(1);
        expect(m.layers[0].mediaType).toBe(HYBRID_LAYER_MEDIA_TYPE.p7s);
        const sig = await client.blobBytes(repo, m.layers[0].digest);
        // `shelflife verify` equivalent: the manifest bytes against the pushed .p7s, pinned to the signer's certificate.
        const v = await verifyArtifact(() => writer.openArtifact(uri(subject.digest)), sig, id.cert, 'pushed referrer');
        expect(v).toMatchObject({ valid: true, mldsa: true, traditional: true, digestMatches: true, algorithm: 'id-MLDSA65-ECDSA-P256-SHA512' });
        // A byte flipped in the signature's ML-DSA half fails, and says so.
        const bad = new Uint8Array(sig);
        bad[bad.length - 100] ^= 1;
        expect((await verifyArtifact(() => writer.openArtifact(uri(subject.digest)), bad, id.cert, 'flipped')).valid).toBe(false);
      }
      // The notation entry of the referrers tag index is still there, beside ours.
      const tagIndex = JSON.parse(
        new TextDecoder().decode(
          (await client.getJsonDocument(`/v2/${repo}/manifests/${referrersTag(notarized.digest)}`, `repository:${repo}:pull`, MEDIA.ociIndex)).bytes,
        ),
      );
      expect(tagIndex.manifests.map((d: { digest: string }) => d.digest)).toContain(notation.digest);
      expect(tagIndex.manifests.map((d: { artifactType?: string }) => d.artifactType).sort()).toEqual([MEDIA.notarySig, HYBRID_ARTIFACT_TYPE.p7s].sort());

      // Rerun: nothing new pushed.
      const again = await resign(first, id);
      expect(again[uri(plain.digest)]).toMatchObject({ status: 'skipped' });
      expect(again[uri(notarized.digest)]).toMatchObject({ status: 'skipped' });
      expect(await listReferrers(client, repo, plain.digest)).toHaveLength(1);

      // Another key is not "the same key": its signature is added beside the first, which stays.
      const other = await resign(first, identity('mldsa44-ecdsa-p256'), [uri(plain.digest)]);
      expect(other[uri(plain.digest)]).toMatchObject({ status: 'signed' });
      expect(await writer.listExisting(writer.locate(uri(plain.digest), 'p7s')[0])).toHaveLength(2);
    } finally {
      await writer.close();
    }

    // A new scan finds the referrer through the tag schema and reports the hybrid signature on the image.
    const rescan = await scan({ targets: [`oci://${host}/${repo}`], concurrency: 2, sourceOptions: { backoffMs: 1 } });
    const a = art(rescan, uri(plain.digest));
    expect(a.signed).toBe(true);
    expect(a.annotations?.['oci.signatures']).toContain('shelflife-hybrid');
    const hybrid = a.findings.filter((f) => f.kind === 'signature' && f.quantum.status === 'hybrid');
    expect(hybrid.map((f) => f.algorithm.id).sort()).toEqual(['ML-DSA-44+ECDSA-P256', 'ML-DSA-65+ECDSA-P256']);
    expect(art(rescan, uri(notarized.digest)).annotations?.['oci.signatures']).toBe('notation,shelflife-hybrid');
  });

  it('refuses a manifest whose bytes do not match the scan, and names a deleted one', async () => {
    const img = await pushImage(client, repo, 'v3', [{ bytes: gz(tar({ 'usr/bin/app': 'v3' })) }], { 'shelflife.class': 'container-image' });
    const gone = await pushImage(client, repo, 'v4', [{ bytes: gz(tar({ 'usr/bin/app': 'v4' })) }], { 'shelflife.class': 'container-image' });
    const uri = (d: string) => `oci://${host}/${repo}@${d}`;
    const first = await scan({ targets: [uri(img.digest), uri(gone.digest)], concurrency: 2, sourceOptions: { backoffMs: 1 } });
    // The scan recorded other bytes than the registry now serves for that name.
    const doc = clone(first);
    art(doc, uri(img.digest)).sha256 = 'f'.repeat(64);
    const del = await client.request(`/v2/${repo}/manifests/${gone.digest}`, { method: 'DELETE', scope: `repository:${repo}:pull,push,delete` });
    await del.discard();
    const out = await resign(doc, identity());
    expect(out[uri(img.digest)]).toMatchObject({ status: 'refused' });
    expect(out[uri(img.digest)].reason).toMatch(/changed since the scan/);
    expect(out[uri(gone.digest)]).toMatchObject({ status: 'failed' });
    expect(out[uri(gone.digest)].reason).toMatch(/manifest not found/);
    expect(await listReferrers(client, repo, img.digest)).toEqual([]);
  });
});

describe('resign S3 objects (sidecar objects, If-None-Match)', () => {
  const bucket = `shelflife-resign-${Date.now()}`;
  let client: S3Client;
  let rsaPem: string;
  const put = (Key: string, Body: Uint8Array | string) => client.send(new PutObjectCommand({ Bucket: bucket, Key, Body }));
  const get = async (Key: string, VersionId?: string) => {
    const r = await client.send(new GetObjectCommand({ Bucket: bucket, Key, VersionId }));
    return r.Body!.transformToByteArray();
  };
  requirePrerequisiteForAll(S3_MISSING);

  beforeAll(async () => {
    if (S3_MISSING) return;
    client = new S3Client({
      endpoint: s3.endpoint,
      forcePathStyle: true,
      region: 'us-east-1',
      credentials: { accessKeyId: 'testing', secretAccessKey: 'testing' },
    });
    await client.send(new CreateBucketCommand({ Bucket: bucket }));
    await client.send(new PutBucketVersioningCommand({ Bucket: bucket, VersioningConfiguration: { Status: 'Enabled' } }));
    rsaPem = makeCert('old firmware key', 'rsa').certPem;
    await put('fw/a.pem', rsaPem);
    await put('fw/b.pem', rsaPem);
    // An original signature where our sidecar would go: kept as is, ours goes to the alternate name.
    await put('fw/b.pem.p7s', 'original signature, not ours');
    await put('fw/c.pem', rsaPem);
    // Sampled by a --digest none scan: head and tail only, so no sha256.
    await put('fw/big.bin', Buffer.concat([Buffer.from(rsaPem), Buffer.alloc(20_000)]));
  });

  it('writes verifiable sidecars pinned to the scanned version, never overwrites, is idempotent, and a rescan reports hybrid', async () => {
    const first = await scan({ targets: [`s3://${bucket}/fw/`], concurrency: 2, sourceOptions: { endpoint: s3.endpoint, versions: true } });
    const uriOf = (key: string) => first.artifacts.find((x) => x.annotations?.['s3.key'] === key)!.uri;
    const [a, b, c] = [uriOf('fw/a.pem'), uriOf('fw/b.pem'), uriOf('fw/c.pem')];
    expect(c).toMatch(/\?versionId=/);
    // c.pem gets a new version after the scan: the scanned version is still what gets signed.
    await put('fw/c.pem', 'replaced after the scan');
    const id = identity();
    const plan = makePlan(first, { uriGlobs: ['**/*.pem*'] }, 'p7s');
    expect(renderPlan(plan)).toContain(
      `where: ${s3Uri(bucket, 'fw/a.pem.p7s')} (s3 writer; if taken by another signature: ${s3Uri(bucket, 'fw/a.pem.hybrid.p7s')})`,
    );
    const out = await resign(first, id, ['**/*.pem*']);
    expect(out[a]).toMatchObject({ status: 'signed', location: s3Uri(bucket, 'fw/a.pem.p7s') });
    expect(out[b]).toMatchObject({ status: 'signed', location: s3Uri(bucket, 'fw/b.pem.hybrid.p7s') });
    expect(out[c]).toMatchObject({ status: 'signed', location: s3Uri(bucket, 'fw/c.pem.p7s') });
    expect(new TextDecoder().decode(await get('fw/b.pem.p7s'))).toBe('original signature, not ours');

    const writer = new S3Writer({ client });
    for (const [uri, key] of [
      [a, 'fw/a.pem.p7s'],
      [b, 'fw/b.pem.hybrid.p7s'],
      [c, 'fw/c.pem.p7s'],
    ]) {
      const v = await verifyArtifact(() => writer.openArtifact(uri), await get(key), id.cert, key);
      expect(v, key).toMatchObject({ valid: true, mldsa: true, traditional: true });
    }
    // Signed the scanned version of c.pem, not the current one.
    const current = s3Uri(bucket, 'fw/c.pem');
    expect((await verifyArtifact(() => writer.openArtifact(current), await get('fw/c.pem.p7s'), id.cert, 'c')).digestMatches).toBe(false);

    // The store refuses an overwrite (If-None-Match: *), whatever the caller does.
    const loc = writer.locate(a, 'p7s')[0];
    await expect(writer.write(loc, new Uint8Array([1, 2, 3]))).rejects.toThrow(/already exists; not overwritten/);
    expect((await verifyArtifact(() => writer.openArtifact(a), await get('fw/a.pem.p7s'), id.cert, 'a')).valid).toBe(true);

    const again = await resign(first, id, ['**/*.pem*']);
    expect([again[a].status, again[b].status, again[c].status]).toEqual(['skipped', 'skipped', 'skipped']);

    const rescan = await scan({ targets: [`s3://${bucket}/fw/`], concurrency: 2, sourceOptions: { endpoint: s3.endpoint } });
    const sidecar = art(rescan, s3Uri(bucket, 'fw/a.pem.p7s'));
    const f = sidecar.findings.find((x) => x.kind === 'signature');
    expect(f?.quantum.status).toBe('hybrid');
    expect(f?.algorithm.id).toBe('ML-DSA-65+ECDSA-P256');
  });

  it('refuses an object changed since the scan, and one the scan only sampled', async () => {
    await put('fw/d.pem', rsaPem);
    const first = await scan({ targets: [`s3://${bucket}/fw/d.pem`], concurrency: 1, sourceOptions: { endpoint: s3.endpoint } });
    const sampled = await scan({ targets: [`s3://${bucket}/fw/big.bin`], concurrency: 1, sourceOptions: { endpoint: s3.endpoint, digest: 'none' } });
    expect(art(sampled, s3Uri(bucket, 'fw/big.bin')).sha256).toBeNull();
    await put('fw/d.pem', `${rsaPem}\n`);
    const doc = { ...first, artifacts: [...first.artifacts, ...sampled.artifacts] };
    const out = await resign(doc, identity());
    expect(out[s3Uri(bucket, 'fw/d.pem')]).toMatchObject({ status: 'refused' });
    expect(out[s3Uri(bucket, 'fw/d.pem')].reason).toMatch(/changed since the scan/);
    expect(out[s3Uri(bucket, 'fw/big.bin')]).toMatchObject({ status: 'refused' });
    expect(out[s3Uri(bucket, 'fw/big.bin')].reason).toMatch(/only sampled it.*--digest full/);
    await expect(get('fw/d.pem.p7s')).rejects.toThrow();
  });
});
