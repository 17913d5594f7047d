/**
 * Remote-store benchmark (on demand: `npx tsx bench/remote.ts`). On loopback:
 *  - a real registry (docker-registry 2.8) with BENCH_ARTIFACTS (1,000) cosign-signed images, scanned signature-only
 *    (no --layers): artifacts/s, requests per artifact, bytes read per artifact, and a check that no layer blob is
 *    ever requested;
 *  - a real S3-compatible server (moto) with BENCH_OBJECTS (10,000) objects of BENCH_OBJECT_KIB (256) KiB, scanned
 *    with --digest none: objects/s, requests per object, and the share of the bucket's bytes read (target < 5%).
 * @module
 */
import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { CreateBucketCommand, PutObjectCommand, S3Client } from '@aws-sdk/client-s3';
import pLimit from 'p-limit';
import { scan } from '../src/scan/scan.js';
import { RegistryClient } from '../src/oci/registry.js';
import { cosignSign, gz, makeCert, pushImage, tar } from '../test/helpers/registry.js';
import { freePort } from '../test/setup/registry.js';
import { startMoto } from '../test/setup/s3.js';

const ARTIFACTS = Number(process.env.BENCH_ARTIFACTS ?? 1000);
const OBJECTS = Number(process.env.BENCH_OBJECTS ?? 10_000);
const OBJECT_KIB = Number(process.env.BENCH_OBJECT_KIB ?? 256);

const children: ChildProcess[] = [];
const dir = mkdtempSync(join(tmpdir(), 'shelflife-bench-remote-'));
const cleanup = () => {
  for (const c of children) c.kill();
  rmSync(dir, { recursive: true, force: true });
};
process.on('exit', cleanup);

async function registry(): Promise<string> {
  const port = await freePort();
  writeFileSync(
    join(dir, 'r.yml'),
    `version: 0.1\nlog: { level: error }\nstorage:\n  filesystem: { rootdirectory: ${JSON.stringify(join(dir, 'data'))} }\nhttp: { addr: "127.0.0.1:${port}" }\n`,
  );
  const child = spawn('docker-registry', ['serve', join(dir, 'r.yml')], { stdio: 'ignore' });
  children.push(child);
  for (let i = 0; i < 200; i++) {
    try {
      if ((await fetch(`http://127.0.0.1:${port}/v2/`)).ok) return `127.0.0.1:${port}`;
    } catch {
      /* starting */
    }
    await new Promise((r) => setTimeout(r, 50));
  }
  throw new Error('registry did not start');
}

async function benchOci(): Promise<void> {
  const host = await registry();
  const c = new RegistryClient(host);
  const cert = makeCert('bench signer');
  const layers = new Set<string>();
  const t0 = Date.now();
  const limit = pLimit(8);
  await Promise.all(
    Array.from({ length: ARTIFACTS }, (_, i) =>
      limit(async () => {
        const img = await pushImage(c, 'bench/signed', `v${i}`, [{ bytes: gz(tar({ [`app/${i}.bin`]: randomBytes(16 * 1024) })) }]);
        layers.add((JSON.parse(new TextDecoder().decode(img.bytes)) as { layers: { digest: string }[] }).layers[0].digest);
        await cosignSign(c, 'bench/signed', host, img, cert);
      }),
    ),
  );
  console.log(`oci: pushed ${ARTIFACTS} cosign-signed images in ${((Date.now() - t0) / 1000).toFixed(1)} s`);

  let requests = 0;
  let layerRequests = 0;
  const t1 = performance.now();
  const r = await scan({
    targets: [`oci://${host}/bench/signed`],
    scoring: false,
    concurrency: 8,
    sourceOptions: {
      onRequest: (_m: string, u: string) => {
        requests++;
        if ([...layers].some((d) => u.endsWith(d))) layerRequests++;
      },
      onClient: (cl: RegistryClient) => clients.push(cl),
    },
  });
  const secs = (performance.now() - t1) / 1000;
  const bytes = clients.reduce((n, cl) => n + cl.stats.bytes, 0);
  const n = r.artifacts.length;
  const signed = r.artifacts.filter((a) => a.signed === true).length;
  console.log(
    `oci: scanned ${n} artifacts (${signed} signed) in ${secs.toFixed(2)} s → ${(n / secs).toFixed(0)} artifacts/s, ${(requests / n).toFixed(2)} requests/artifact, ${(bytes / n).toFixed(0)} bytes read/artifact over HTTP, ${layerRequests} layer-blob requests`,
  );

  // One image, signature only: manifest + referrers + tag list + signature manifest + signature blob.
  const one = r.artifacts[0];
  let oneRequests = 0;
  await scan({ targets: [one.uri], scoring: false, sourceOptions: { onRequest: () => oneRequests++ } });
  console.log(
    `oci: one image by digest: ${oneRequests} requests (manifest, referrers → 404, tags/list, .sig manifest, signature payload blob); layer bytes read: 0`,
  );
}
const clients: RegistryClient[] = [];

async function benchS3(): Promise<void> {
  const port = await freePort();
  children.push(await startMoto(port));
  const endpoint = `http://127.0.0.1:${port}`;
  const client = new S3Client({ endpoint, forcePathStyle: true, region: 'us-east-1', credentials: { accessKeyId: 'bench', secretAccessKey: 'bench' } });
  await client.send(new CreateBucketCommand({ Bucket: 'bench' }));
  const cert = makeCert('bench object');
  const body = Buffer.alloc(OBJECT_KIB * 1024);
  cert.certDer.copy(body, 64); // something to find in the head window
  const t0 = Date.now();
  const limit = pLimit(16);
  await Promise.all(
    Array.from({ length: OBJECTS }, (_, i) =>
      limit(() => client.send(new PutObjectCommand({ Bucket: 'bench', Key: `fw/${String(i).padStart(5, '0')}.bin`, Body: body }))),
    ),
  );
  const total = OBJECTS * body.length;
  console.log(`s3: put ${OBJECTS} objects × ${OBJECT_KIB} KiB (${(total / 2 ** 20).toFixed(0)} MiB) in ${((Date.now() - t0) / 1000).toFixed(1)} s`);

  const scanClient = new S3Client({ endpoint, forcePathStyle: true, region: 'us-east-1', credentials: { accessKeyId: 'bench', secretAccessKey: 'bench' } });
  let requests = 0;
  scanClient.middlewareStack.add(
    (next) => async (args) => {
      requests++;
      return next(args);
    },
    { step: 'build', name: 'benchCount' },
  );
  const t1 = performance.now();
  const r = await scan({ targets: ['s3://bench/fw/'], scoring: false, concurrency: 16, sourceOptions: { s3Client: scanClient, digest: 'none' } });
  const secs = (performance.now() - t1) / 1000;
  const n = r.artifacts.length;
  const found = r.artifacts.filter((a) => a.findings.length > 0).length;
  console.log(
    `s3 --digest none: scanned ${n} objects (${found} with findings) in ${secs.toFixed(1)} s → ${(n / secs).toFixed(0)} objects/s, ${(requests / n).toFixed(2)} requests/object, ${(r.scan.stats.bytes / n).toFixed(0)} bytes read/object = ${((100 * r.scan.stats.bytes) / total).toFixed(2)}% of the bucket`,
  );
}

try {
  execFileSync('sh', ['-c', 'command -v docker-registry'], { stdio: 'ignore' });
} catch {
  console.error('bench/remote: docker-registry is not installed (apt-get install -y docker-registry)');
  process.exit(2);
}
if (process.env.BENCH_SKIP_OCI !== '1') await benchOci();
if (process.env.BENCH_SKIP_S3 !== '1') await benchS3();
cleanup();
process.exit(0);
