import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { CreateBucketCommand, DeleteObjectCommand, PutBucketVersioningCommand, PutObjectCommand, S3Client } from '@aws-sdk/client-s3';
import { beforeAll, describe, expect, inject, it } from 'vitest';
import type { ArtifactResult, ScanResult } from '../../src/model.js';
import { scan } from '../../src/scan/scan.js';
import { parseS3Target, s3Uri, sampleWindow } from '../../src/sources/s3.js';
import { needPrograms, requirePrerequisiteForAll } from '../helpers/prerequisites.js';
import { gz, makeCert, tar } from '../helpers/registry.js';

const s3 = inject('s3');
// The objects hold certificates made with openssl (test/helpers/registry.ts makeCert).
const S3_MISSING = (!s3.available && s3.reason) || needPrograms('the S3 tests', 'openssl');

const env = { AWS_ACCESS_KEY_ID: 'testing', AWS_SECRET_ACCESS_KEY: 'testing', AWS_REGION: 'us-east-1' };
Object.assign(process.env, env);

function art(r: ScanResult, uri: string): ArtifactResult {
  const a = r.artifacts.find((x) => x.uri === uri);
  if (!a) throw new Error(`no ${uri} among ${r.artifacts.map((x) => x.uri).join(', ')}`);
  return a;
}

describe('s3 target parsing', () => {
  it('reads bucket, prefix and versionId', () => {
    expect(parseS3Target('s3://firmware-releases/prod/')).toEqual({ bucket: 'firmware-releases', prefix: 'prod/' });
    expect(parseS3Target('s3://bkt')).toEqual({ bucket: 'bkt', prefix: '' });
    expect(parseS3Target('s3://bkt/a%20b.bin?versionId=v1')).toEqual({ bucket: 'bkt', prefix: 'a b.bin', versionId: 'v1' });
    expect(() => parseS3Target('s3://bkt/dir/?versionId=x')).toThrow(/versionId needs an object key/);
    expect(() => parseS3Target('s3://-bad/x')).toThrow(/not a valid bucket name/);
    expect(s3Uri('b', 'dir/a b#c.pem', 'v 1')).toBe('s3://b/dir/a%20b%23c.pem?versionId=v%201');
  });
  it('samples about 1/64 of an object per side, 4 KiB to 1 MiB', () => {
    expect(sampleWindow(1000)).toBe(4096);
    expect(sampleWindow(64 * 1024 * 1024)).toBe(1024 * 1024);
    expect(sampleWindow(1024 * 1024)).toBe(16384);
  });
});

describe('s3 against a real S3-compatible server (moto)', () => {
  const bucket = `shelflife-${Date.now()}`;
  let client: S3Client;
  let cert: ReturnType<typeof makeCert>;
  let bigSize = 0;
  const put = (Key: string, Body: Uint8Array | string, extra: Record<string, unknown> = {}) =>
    client.send(new PutObjectCommand({ Bucket: bucket, Key, Body, ...extra }));

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
    cert = makeCert('s3 object signer');
    const rsa = makeCert('old release key', 'rsa');
    await put('prod/signer.pem', cert.certPem, {
      Metadata: { 'sig-alg': 'ecdsa-p256', 'shelflife.lifetime': '15y' },
      Tagging: 'shelflife.class=firmware&team=platform',
      ContentType: 'application/x-pem-file',
    });
    // Version 1 of a key holds an RSA certificate; version 2 replaces it with the EC one.
    await put('prod/release.crt', rsa.certPem);
    await put('prod/release.crt', cert.certPem);
    await put('prod/gone.pem', rsa.certPem);
    await client.send(new DeleteObjectCommand({ Bucket: bucket, Key: 'prod/gone.pem' }));
    await put('prod/bundle.tar.gz', gz(tar({ 'keys/a.pem': rsa.certPem })));
    // A 2 MiB firmware-like image: a DER certificate in the first and in the last KiB, zeros between.
    const big = Buffer.alloc(2 * 1024 * 1024);
    cert.certDer.copy(big, 100);
    rsa.certDer.copy(big, big.length - 2000);
    bigSize = big.length;
    await put('prod/firmware.bin', big);
    await put('other/outside.pem', cert.certPem);
  });

  it('lists a prefix, reads objects, records ETag, metadata and tags', async () => {
    const r = await scan({ targets: [`s3://${bucket}/prod/`], sourceOptions: { endpoint: s3.endpoint } });
    expect(
      r.artifacts
        .map((a) => a.uri)
        .filter((u) => !u.includes('!/'))
        .sort(),
    ).toEqual(['bundle.tar.gz', 'firmware.bin', 'release.crt', 'signer.pem'].map((k) => `s3://${bucket}/prod/${k}`));
    const signer = art(r, `s3://${bucket}/prod/signer.pem`);
    expect(signer.findings.map((f) => `${f.kind} ${f.algorithm.id}`)).toEqual(['certificate ECDSA-P256']);
    expect(signer.annotations).toMatchObject({
      's3.bucket': bucket,
      's3.key': 'prod/signer.pem',
      's3.meta.sig-alg': 'ecdsa-p256',
      's3.tag.team': 'platform',
      'shelflife.class': 'firmware',
      'shelflife.lifetime': '15y',
      's3.contentType': 'application/x-pem-file',
    });
    expect(signer.annotations?.['s3.etag']).toMatch(/^[0-9a-f]{32}$/);
    expect(signer.sha256).toMatch(/^[0-9a-f]{64}$/);
    // A container is opened: the member is an artifact of its own.
    const member = art(r, `s3://${bucket}/prod/bundle.tar.gz!/keys/a.pem`);
    expect(member.findings.map((f) => f.algorithm.id)).toEqual(['RSA-2048']);
    // Default (auto): a 2 MiB object is under the threshold, read whole, hashed.
    const fw = art(r, `s3://${bucket}/prod/firmware.bin`);
    expect(fw.sha256).toMatch(/^[0-9a-f]{64}$/);
    expect(fw.findings.map((f) => f.algorithm.id).sort()).toEqual(['ECDSA-P256', 'RSA-2048']);
  });

  it('--digest none reads head and tail windows only and still finds what they hold', async () => {
    const r = await scan({ targets: [`s3://${bucket}/prod/firmware.bin`], sourceOptions: { endpoint: s3.endpoint, digest: 'none' } });
    const fw = art(r, `s3://${bucket}/prod/firmware.bin`);
    expect(fw.sha256).toBeNull();
    expect(fw.findings.map((f) => f.algorithm.id).sort()).toEqual(['ECDSA-P256', 'RSA-2048']);
    expect(fw.findings.find((f) => f.algorithm.id === 'RSA-2048')?.location.offset).toBe(bigSize - 2000);
    expect(r.scan.stats.bytes).toBe(2 * sampleWindow(bigSize));
    expect(r.scan.stats.bytes / bigSize).toBeLessThan(0.05);
  });

  it('--versions: non-current versions by versionId, delete markers reported as such', async () => {
    const r = await scan({ targets: [`s3://${bucket}/prod/`], sourceOptions: { endpoint: s3.endpoint, versions: true } });
    const release = r.artifacts.filter((a) => a.annotations?.['s3.key'] === 'prod/release.crt');
    expect(release).toHaveLength(2);
    expect(release.every((a) => /\?versionId=/.test(a.uri))).toBe(true);
    const old = release.find((a) => a.annotations?.['s3.isLatest'] === 'false')!;
    const cur = release.find((a) => a.annotations?.['s3.isLatest'] === 'true')!;
    expect(old.findings.map((f) => f.algorithm.id)).toEqual(['RSA-2048']);
    expect(cur.findings.map((f) => f.algorithm.id)).toEqual(['ECDSA-P256']);
    const gone = r.artifacts.filter((a) => a.annotations?.['s3.key'] === 'prod/gone.pem');
    expect(gone.map((a) => a.annotations?.['s3.deleteMarker'] ?? 'version').sort()).toEqual(['true', 'version']);
    expect(gone.find((a) => !a.annotations?.['s3.deleteMarker'])!.findings.map((f) => f.algorithm.id)).toEqual(['RSA-2048']);
    // One version scanned by its URI.
    const one = await scan({ targets: [old.uri], sourceOptions: { endpoint: s3.endpoint } });
    expect(one.artifacts[0].findings.map((f) => f.algorithm.id)).toEqual(['RSA-2048']);
  });

  it('paginates listings and applies include/exclude globs', async () => {
    const r = await scan({ targets: [`s3://${bucket}`], exclude: ['**/*.bin', 'prod/bundle.tar.gz'], sourceOptions: { endpoint: s3.endpoint, pageSize: 1 } });
    expect(r.artifacts.map((a) => a.annotations?.['s3.key']).sort()).toEqual(['other/outside.pem', 'prod/release.crt', 'prod/signer.pem']);
  });

  it('gives a clear error for a missing bucket or object, and via the CLI', async () => {
    const r = await scan({ targets: [`s3://no-such-bucket-${Date.now()}/x/`], sourceOptions: { endpoint: s3.endpoint } });
    expect(r.artifacts[0].uri).toMatch(/^s3:\/\/no-such-bucket-\d+\/x\/$/);
    expect(r.artifacts[0].errors[0].message).toMatch(/^NoSuchBucket/);
    const r2 = await scan({ targets: [`s3://${bucket}/prod/signer.pem?versionId=nope`], sourceOptions: { endpoint: s3.endpoint } });
    expect(r2.artifacts[0].uri).toBe(`s3://${bucket}/prod/signer.pem?versionId=nope`);
    expect(r2.artifacts[0].errors[0].message).not.toMatch(/^s3:/);
    // The real binary, configured only through the SDK's standard environment variables.
    const dir = mkdtempSync(join(tmpdir(), 'shelflife-s3-cli-'));
    try {
      execFileSync(
        process.execPath,
        [
          join(import.meta.dirname, '..', '..', 'bin', 'shelflife.js'),
          'scan',
          `s3://${bucket}/prod/signer.pem`,
          '-f',
          'json',
          '-o',
          join(dir, 'out.json'),
          '-q',
        ],
        {
          env: { ...process.env, ...env, AWS_ENDPOINT_URL_S3: s3.endpoint },
          timeout: 60_000,
        },
      );
      const out = JSON.parse(readFileSync(join(dir, 'out.json'), 'utf8')) as ScanResult;
      expect(out.artifacts.map((a) => `${a.uri} ${a.findings.map((f) => f.algorithm.id)}`)).toEqual([`s3://${bucket}/prod/signer.pem ECDSA-P256`]);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
