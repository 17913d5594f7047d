/**
 * One coverage model for every source (issue 20): the release tree signed with the standard tools
 * (fixtures/coverage/, verdicts from gpgv, sha256sum -c, minisign -V, signify -V, openssl) laid out as S3 objects in a
 * bucket (moto) and as one OCI artifact whose blobs carry the files' paths as titles (`oras push` does this) in the
 * real registry, gives the links the directory gives: signatures checked over objects read again (S3 pinned to the
 * ETag the scan saw, OCI by digest), tampering and failures reported, in either walk order.
 */
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join, relative } from 'node:path';
import { CreateBucketCommand, PutObjectCommand, S3Client } from '@aws-sdk/client-s3';
import { beforeAll, describe, expect, inject, it } from 'vitest';
import type { ArtifactResult, ScanResult } from '../../src/model.js';
import { RegistryClient } from '../../src/oci/registry.js';
import { scan } from '../../src/scan/scan.js';
import { requirePrerequisiteForAll } from '../helpers/prerequisites.js';
import { pushArtifact } from '../helpers/registry.js';
import { COVERAGE_TREE, EXPECTED_COVERAGE } from '../helpers/coverage-expected.js';

const TREE = COVERAGE_TREE;
const EXPECTED = EXPECTED_COVERAGE;
const NOW = () => new Date('2026-12-01T00:00:00Z');
const s3 = inject('s3');
const reg = inject('registry');

/** Every file of the tree, by its path relative to the tree. */
function treeFiles(dir = TREE): string[] {
  return readdirSync(dir).flatMap((n) => (statSync(join(dir, n)).isDirectory() ? treeFiles(join(dir, n)) : [relative(TREE, join(dir, n))]));
}

/** The scan's artifacts by tree-relative path (`pathOf` reads it from the store's own naming), and links written the same way. */
function compare(r: ScanResult, pathOf: (a: ArtifactResult) => string | undefined, checkSigned: boolean): void {
  const byPath = new Map<string, ArtifactResult>();
  const byUri = new Map(r.artifacts.map((a) => [a.uri, a]));
  for (const a of r.artifacts) {
    const p = pathOf(a);
    if (p) byPath.set(p, a);
  }
  const rel = (uri: string) => pathOf(byUri.get(uri)!) ?? uri;
  for (const [file, want] of Object.entries(EXPECTED.files)) {
    const a = byPath.get(file);
    expect(a, file).toBeDefined();
    const links = (a!.signedBy ?? [])
      .map((l) => ({ signature: rel(l.uri), via: l.via, verification: l.verification, ...(l.index ? { index: rel(l.index) } : {}) }))
      .sort((x, y) => (x.signature < y.signature ? -1 : 1));
    // `unsigned` needs the class to say it should be signed; an OCI blob's class does not come from its title's path.
    const coverage = !checkSigned && want.coverage === 'unsigned' && a!.coverage === undefined ? 'unsigned' : a!.coverage;
    expect({ file, coverage, links }).toEqual({ file, coverage: want.coverage, links: want.signedBy });
    if (checkSigned) expect({ file, signed: a!.signed }).toEqual({ file, signed: want.signed });
    for (const s of want.failed ?? []) expect(a!.errors.find((e) => e.uri && rel(e.uri) === s)?.message, file).toMatch(/does not verify over these bytes/);
    for (const l of want.mismatch ?? [])
      expect(a!.errors.find((e) => e.uri && rel(e.uri) === l)?.message, file).toBe('does not match the signed checksum in SHA256SUMS');
  }
}

describe('coverage over an S3 bucket (moto)', () => {
  const bucket = `shelflife-coverage-${Date.now()}`;
  requirePrerequisiteForAll(!s3.available && s3.reason);
  beforeAll(async () => {
    if (!s3.available) return;
    const client = new S3Client({
      endpoint: s3.endpoint,
      forcePathStyle: true,
      region: 'us-east-1',
      credentials: { accessKeyId: 'testing', secretAccessKey: 'testing' },
    });
    await client.send(new CreateBucketCommand({ Bucket: bucket }));
    for (const f of treeFiles()) await client.send(new PutObjectCommand({ Bucket: bucket, Key: `rel/${f}`, Body: readFileSync(join(TREE, f)) }));
    client.destroy();
  });

  it('links, checks and reports as the directory does, reading signed objects again pinned to what was scanned', async () => {
    Object.assign(process.env, { AWS_ACCESS_KEY_ID: 'testing', AWS_SECRET_ACCESS_KEY: 'testing', AWS_REGION: 'us-east-1' });
    const r = await scan({ targets: [`s3://${bucket}/rel/`], concurrency: 3, now: NOW, sourceOptions: { endpoint: s3.endpoint } });
    const pathOf = (a: ArtifactResult) => a.annotations?.['s3.key']?.replace(/^rel\//, '');
    compare(r, pathOf, true);
    // The SHA-512 list and the OpenPGP signatures needed a second read of the signed objects: they were checked.
    const app = r.artifacts.find((a) => pathOf(a) === 'release/app-2.0.tar.gz')!;
    expect(app.signedBy!.map((l) => l.verification)).toEqual(['verified', 'verified']);
    // Walked the other way round (the signatures first), the same links.
    const keys = await scan({
      targets: [
        `s3://${bucket}/rel/tools/`,
        `s3://${bucket}/rel/release/`,
        `s3://${bucket}/rel/keys/`,
        `s3://${bucket}/rel/firmware/`,
        `s3://${bucket}/rel/unsigned/`,
      ],
      concurrency: 1,
      now: NOW,
      sourceOptions: { endpoint: s3.endpoint },
    });
    compare(keys, pathOf, true);
  });
});

describe('coverage over an OCI artifact (real registry)', () => {
  requirePrerequisiteForAll(!reg.available && reg.reason);

  it('links the titled blobs of one artifact as the directory does, checking signatures over blobs fetched again by digest', async () => {
    const host = reg.anonymous;
    const repo = `coverage/release-${Date.now()}`;
    const client = new RegistryClient(host);
    // As `oras push host/repo:1.0 firmware/fw-1.0.bin firmware/fw-1.0.bin.asc …` writes it: one blob per file, its
    // path as the title, the generic layer media type.
    const blobs = treeFiles().map((f) => ({
      bytes: new Uint8Array(readFileSync(join(TREE, f))),
      mediaType: 'application/vnd.oci.image.layer.v1.tar',
      annotations: { 'org.opencontainers.image.title': f },
    }));
    await pushArtifact(client, repo, '1.0', 'application/vnd.example.release', blobs);
    const r = await scan({ targets: [`oci://${host}/${repo}:1.0`], concurrency: 3, now: NOW, sourceOptions: { backoffMs: 1 } });
    const pathOf = (a: ArtifactResult) => (a.annotations?.['oci.blob'] ? a.annotations['org.opencontainers.image.title'] : undefined);
    compare(r, pathOf, false);
    const fw = r.artifacts.find((a) => pathOf(a) === 'firmware/fw-1.0.bin')!;
    expect(fw.signedBy).toMatchObject([{ via: 'detached', verification: 'verified', algorithm: 'RSA-3072' }]);
    const sig = r.artifacts.find((a) => pathOf(a) === 'firmware/fw-1.0.bin.asc')!;
    expect(sig.signs).toEqual([fw.uri]);
  });
});
