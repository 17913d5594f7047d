import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { execFileSync } from 'node:child_process';
import { createHash, generateKeyPairSync, type KeyObject } from 'node:crypto';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { beforeAll, describe, expect, inject, it } from 'vitest';
import type { ArtifactResult, ScanResult } from '../../src/model.js';
import { scan } from '../../src/scan/scan.js';
import { RegistryClient, nextLink, parseChallenge } from '../../src/oci/registry.js';
import { parseOciTarget } from '../../src/oci/reference.js';
import { classifyBlob } from '../../src/sources/oci.js';
import { resolveSource } from '../../src/sources/index.js';
import {
  cosignAttest,
  cosignSign,
  gz,
  makeCert,
  notarySign,
  pushArtifact,
  pushImage,
  pushIndex,
  sigstoreBundle,
  tar,
  type TestCert,
} from '../helpers/registry.js';
import { needPrograms, requirePrerequisite, requirePrerequisiteForAll } from '../helpers/prerequisites.js';
import { findingId } from '../../src/identity.js';
import { runExplainCommand } from '../../src/cli/explain-command.js';
import { FIXTURES } from '../helpers/scan.js';

const reg = inject('registry');
const REGISTRY_MISSING = !reg.available && reg.reason;

function art(r: ScanResult, pred: (a: ArtifactResult) => boolean): ArtifactResult {
  const a = r.artifacts.find(pred);
  if (!a) throw new Error(`no such artifact among ${r.artifacts.map((x) => x.uri).join(', ')}`);
  return a;
}

async function scanOci(target: string, extra: Record<string, unknown> = {}, requests?: string[]) {
  // scoring: false — these tests check what the source found; the scoring helper re-decides `signed` from findings.
  return scan({
    targets: [target],
    concurrency: 2,
    scoring: false,
    sourceOptions: { backoffMs: 1, ...(requests ? { onRequest: (m: string, u: string) => requests.push(`${m} ${new URL(u).pathname}`) } : {}), ...extra },
  });
}

describe('oci target parsing', () => {
  it('reads host, repository, tag and digest', () => {
    expect(parseOciTarget('oci://r.example:5000/models/llama')).toEqual({ host: 'r.example:5000', repo: 'models/llama' });
    expect(parseOciTarget('oci://r.example:5000/a/b:v1.2')).toEqual({ host: 'r.example:5000', repo: 'a/b', tag: 'v1.2' });
    const d = `sha256:${'a'.repeat(64)}`;
    expect(parseOciTarget(`oci://h/a@${d}`)).toEqual({ host: 'h', repo: 'a', digest: d });
    expect(parseOciTarget('oci://h:5000')).toEqual({ host: 'h:5000' });
  });
  it('rejects bad names with the reason', async () => {
    expect(() => parseOciTarget('oci://h/UPPER')).toThrow(/not a valid repository name/);
    expect(() => parseOciTarget('oci://h/a@sha256:zz')).toThrow(/not a sha256 digest/);
    await expect(scan({ targets: ['oci://h:5000'] })).rejects.toThrow(/--all-repositories/);
  });
  it('parses challenges and Link headers', () => {
    expect(parseChallenge('Bearer realm="https://auth.example/token",service="registry.example",scope="repository:a/b:pull"')).toEqual({
      scheme: 'bearer',
      params: { realm: 'https://auth.example/token', service: 'registry.example', scope: 'repository:a/b:pull' },
    });
    expect(nextLink('</v2/_catalog?last=b&n=2>; rel="next"', 'http://h:5000/v2/_catalog?n=2')).toBe('http://h:5000/v2/_catalog?last=b&n=2');
    expect(nextLink('<https://x/y>; rel="prev"', 'http://h/')).toBeUndefined();
  });
  it('classifies blobs by media type', () => {
    const d = (mediaType: string, title?: string) => ({
      mediaType,
      digest: `sha256:${'0'.repeat(64)}`,
      ...(title ? { annotations: { 'org.opencontainers.image.title': title } } : {}),
    });
    expect(classifyBlob(d('application/vnd.oci.image.layer.v1.tar+zstd'))).toBe('layer');
    expect(classifyBlob(d('application/vnd.oci.image.layer.v1.tar+gzip+encrypted'))).toBe('encrypted-layer');
    expect(classifyBlob(d('application/x-pem-file'))).toBe('key');
    expect(classifyBlob(d('application/octet-stream', 'model.safetensors'))).toBe('model');
    expect(classifyBlob(d('application/vnd.oci.image.config.v1+json'))).toBe('other');
  });
});

describe('oci against a real registry (anonymous)', () => {
  let client: RegistryClient;
  let cert: TestCert;
  let signed: Awaited<ReturnType<typeof pushImage>>;
  let unsigned: { digest: string };
  let layerDigest: string;
  let index: Awaited<ReturnType<typeof pushIndex>>;
  const host = reg.anonymous;
  requirePrerequisiteForAll(REGISTRY_MISSING);

  beforeAll(async () => {
    if (REGISTRY_MISSING) return;
    client = new RegistryClient(host);
    cert = makeCert('shelflife cosign test');
    const inner = makeCert('inside the layer', 'rsa');
    const layer = gz(tar({ 'etc/ssl/certs/app.pem': inner.certPem, 'usr/bin/app': 'binary' }));
    const img = await pushImage(client, 'app', 'v1', [{ bytes: layer }], {
      'org.opencontainers.image.created': '2024-05-01T00:00:00Z',
      'shelflife.class': 'container-image',
    });
    signed = img;
    layerDigest = (JSON.parse(new TextDecoder().decode(img.bytes)) as { layers: { digest: string }[] }).layers[0].digest;
    await cosignSign(client, 'app', host, img, cert);
    await cosignAttest(client, 'app', img, cert);
    unsigned = await pushImage(client, 'app', 'v2-unsigned', [{ bytes: gz(tar({ 'readme.txt': 'nothing' })) }]);
    // Multi-platform index, signed at the index (cosign's default), children covered by it.
    const a = await pushImage(client, 'multi', 'amd64-only', [{ bytes: gz(tar({ a: 'a' })) }]);
    const b = await pushImage(client, 'multi', 'arm64-only', [{ bytes: gz(tar({ b: 'b' })) }], {}, 'linux', 'arm64');
    index = await pushIndex(client, 'multi', 'latest', [
      { mediaType: a.mediaType, digest: a.digest, size: a.size, platform: { os: 'linux', architecture: 'amd64' } },
      { mediaType: b.mediaType, digest: b.digest, size: b.size, platform: { os: 'linux', architecture: 'arm64' } },
    ]);
    await cosignSign(client, 'multi', host, index, cert);
    // Notary Project signatures (JWS and COSE) and a Sigstore bundle through the referrers tag schema.
    const n = await pushImage(client, 'notary', 'v1', [{ bytes: gz(tar({ x: 'x' })) }]);
    await notarySign(client, 'notary', n, cert, 'jws');
    await notarySign(client, 'notary', n, cert, 'cose');
    await sigstoreBundle(client, 'notary', n, cert);
    // An OCI 1.1 artifact holding key material: scanned directly.
    await pushArtifact(client, 'keys', 'v1', 'application/vnd.example.keys.v1', [
      { bytes: new TextEncoder().encode(cert.certPem), mediaType: 'application/x-pem-file', annotations: { 'org.opencontainers.image.title': 'signer.pem' } },
    ]);
  });

  // Issue 15 §3: an artifact's blobs are content, read whatever their media type or title. Expected findings are the
  // fixtures' own (fixtures/pki/expected.json, checked against openssl/keytool when they were made), so the blob read
  // from the registry as `application/octet-stream` with no name must give what the file gives on disk.
  it('an artifact of octet-stream blobs without titles: the JAR, CMS, PKCS#12, PEM and model are each read, with the right detector', async () => {
    const pki = JSON.parse(readFileSync(join(FIXTURES, 'pki', 'expected.json'), 'utf8')) as {
      files: Record<string, { findings: { kind: string; format: string; algorithm: string }[] }>;
    };
    const files = ['jar/signed-ec.jar', 'cms/signed-ed25519.p7s', 'pkcs12/keytool.p12', 'keys/ec-pkcs8.pem'];
    const model = readFileSync(join(FIXTURES, 'provenance', 'models', 'hf-model', 'model.safetensors'));
    const blobs = [...files.map((f) => readFileSync(join(FIXTURES, 'pki', f))), model].map((b) => new Uint8Array(b));
    const m = await pushArtifact(
      client,
      'bundle',
      'v1',
      'application/vnd.example.release.v1',
      blobs.map((bytes) => ({ bytes, mediaType: 'application/octet-stream' })),
    );
    const r = await scanOci(`oci://${host}/bundle:v1`);
    const digestOf = (b: Uint8Array) => `sha256:${createHash('sha256').update(b).digest('hex')}`;
    for (const [i, file] of files.entries()) {
      const uri = `oci://${host}/bundle@${digestOf(blobs[i])}`;
      const blob = art(r, (a) => a.uri === uri);
      expect(blob.parent).toBe(`oci://${host}/bundle@${m.digest}`);
      expect(blob.errors, file).toEqual([]);
      const got = r.artifacts
        .filter((a) => a.uri === uri || a.uri.startsWith(`${uri}!/`))
        .flatMap((a) => a.findings.map((f) => `${f.kind} ${f.format} ${f.algorithm.id}`))
        .sort();
      expect(got, file).toEqual(pki.files[file].findings.map((f) => `${f.kind} ${f.format} ${f.algorithm}`).sort());
    }
    const modelBlob = art(r, (a) => a.uri === `oci://${host}/bundle@${digestOf(blobs[4])}`);
    expect(modelBlob.sha256).toBe(digestOf(blobs[4]).slice(7)); // read whole (under the sampling threshold) and hashed
    expect(modelBlob.errors).toEqual([]);
  });

  it('a cosign signature made with a key (no certificate) is a signature finding on the image, with the family its bytes show', async () => {
    const img = await pushImage(client, 'keysigned', 'v1', [{ bytes: gz(tar({ a: 'a' })) }]);
    await cosignSign(client, 'keysigned', host, img, makeCert('cosign key', 'ec'), false); // a P-256 key made by openssl
    const r = await scanOci(`oci://${host}/keysigned:v1`);
    const a = art(r, (x) => x.uri === `oci://${host}/keysigned@${img.digest}`);
    expect(a.signed).toBe(true);
    const sigs = a.findings.filter((f) => f.kind === 'signature' && f.format === 'cosign');
    expect(sigs.map((f) => [f.algorithm.family, f.location.member])).toEqual([['ECDSA', expect.stringMatching(/layers\[0\]\/signature\.cosign\.bundle$/)]]);
    expect(String(sigs[0].details?.algorithmFrom)).toMatch(/DER ECDSA signature shape .*256-bit curve or smaller/);
  });

  it('a cosign signature made with an RSA key (no certificate) is an RSA finding on the image, sized by its length', async () => {
    const img = await pushImage(client, 'rsakeysigned', 'v1', [{ bytes: gz(tar({ a: 'rsa' })) }]);
    const key = makeCert('cosign rsa key', 'rsa'); // an RSA-2048 key made by openssl
    await cosignSign(client, 'rsakeysigned', host, img, key, false);
    const r = await scanOci(`oci://${host}/rsakeysigned:v1`);
    const a = art(r, (x) => x.uri === `oci://${host}/rsakeysigned@${img.digest}`);
    expect(a.signed).toBe(true);
    const sigs = a.findings.filter((f) => f.kind === 'signature' && f.format === 'cosign');
    // The independent answer: the key's own size as node:crypto reads it.
    const bits = key.key.asymmetricKeyDetails!.modulusLength!;
    expect(sigs.map((f) => f.algorithm.id)).toEqual([`RSA-${bits}`]);
    expect(sigs[0].details).toMatchObject({ parameterFrom: 'signature-length', signatureBytes: bits / 8 });
  });

  // Issue 15 §3: a cosign signature made with a key names no key; the key in the same scan is found by verifying the
  // signature over its simple-signing payload, and the signature takes that key's exact algorithm and links to it.
  describe('a cosign signature made with a key, joined to the key in the scan by verification', () => {
    const keys = {
      ec: generateKeyPairSync('ec', { namedCurve: 'P-256' }),
      rsa: generateKeyPairSync('rsa', { modulusLength: 3072 }),
      ed: generateKeyPairSync('ed25519'),
    };
    const signed: Partial<Record<keyof typeof keys, { image: string; payload: Uint8Array; signature: Buffer }>> = {};
    let keyDir = '';
    let wrongDir = '';
    let otherImage = '';
    const pub = (k: KeyObject) => k.export({ type: 'spki', format: 'pem' }) as string;

    beforeAll(async () => {
      if (REGISTRY_MISSING) return;
      for (const alg of ['ec', 'rsa', 'ed'] as const) {
        const img = await pushImage(client, 'keyjoin', alg, [{ bytes: gz(tar({ alg })) }]);
        const s = await cosignSign(client, 'keyjoin', host, img, { key: keys[alg].privateKey }, false);
        signed[alg] = { image: img.digest, payload: s.payload, signature: s.signature };
      }
      // A signature whose payload names another image, moved onto this one.
      const moved = await pushImage(client, 'keyjoin', 'moved', [{ bytes: gz(tar({ moved: 'x' })) }]);
      await cosignSign(client, 'keyjoin', host, moved, { key: keys.ec.privateKey }, false, { digest: signed.ec!.image });
      otherImage = moved.digest;
      keyDir = mkdtempSync(join(tmpdir(), 'shelflife-cosign-keys-'));
      writeFileSync(join(keyDir, 'cosign.pub'), pub(keys.ec.publicKey));
      writeFileSync(join(keyDir, 'rsa3072.pub'), pub(keys.rsa.publicKey));
      writeFileSync(join(keyDir, 'ed25519.pub'), pub(keys.ed.publicKey));
      // Keys of the same types and sizes that did not sign anything here.
      wrongDir = mkdtempSync(join(tmpdir(), 'shelflife-cosign-wrong-'));
      writeFileSync(join(wrongDir, 'cosign.pub'), pub(generateKeyPairSync('ec', { namedCurve: 'P-256' }).publicKey));
      writeFileSync(join(wrongDir, 'rsa3072.pub'), pub(generateKeyPairSync('rsa', { modulusLength: 3072 }).publicKey));
    }, 60_000);

    const scanWith = (dir?: string) =>
      scan({ targets: [...(dir ? [dir] : []), `oci://${host}/keyjoin`], concurrency: 2, scoring: false, sourceOptions: { backoffMs: 1 } });
    const cosignOn = (r: ScanResult, digest: string) => {
      const a = art(r, (x) => x.uri === `oci://${host}/keyjoin@${digest}`);
      const sigs = a.findings.filter((f) => f.kind === 'signature' && f.format === 'cosign');
      expect(sigs).toHaveLength(1);
      return { a, sig: sigs[0], link: a.signedBy?.find((l) => l.via === 'attached' && l.finding === a.findings.indexOf(sigs[0])) };
    };

    it('each signature verifies over its payload with its public key (openssl, independently)', (ctx) => {
      requirePrerequisite(ctx, needPrograms('the openssl cross-check', 'openssl'));
      const work = mkdtempSync(join(tmpdir(), 'shelflife-cosign-verify-'));
      for (const alg of ['ec', 'rsa'] as const) {
        writeFileSync(join(work, 'payload'), signed[alg]!.payload);
        writeFileSync(join(work, 'sig'), signed[alg]!.signature);
        const out = execFileSync('openssl', [
          'dgst',
          '-sha256',
          '-verify',
          join(keyDir, alg === 'ec' ? 'cosign.pub' : 'rsa3072.pub'),
          '-signature',
          join(work, 'sig'),
          join(work, 'payload'),
        ]);
        expect(out.toString().trim(), alg).toBe('Verified OK');
        // The wrong key of the same kind does not verify it (openssl exits 1: "Verification failure").
        expect(() =>
          execFileSync(
            'openssl',
            ['dgst', '-sha256', '-verify', join(wrongDir, alg === 'ec' ? 'cosign.pub' : 'rsa3072.pub'), '-signature', join(work, 'sig'), join(work, 'payload')],
            { stdio: 'pipe' },
          ),
        ).toThrow();
      }
      // Ed25519 (pure, over the payload itself): openssl pkeyutl -rawin.
      writeFileSync(join(work, 'payload'), signed.ed!.payload);
      writeFileSync(join(work, 'sig'), signed.ed!.signature);
      const ed = execFileSync('openssl', [
        'pkeyutl',
        '-verify',
        '-pubin',
        '-inkey',
        join(keyDir, 'ed25519.pub'),
        '-rawin',
        '-in',
        join(work, 'payload'),
        '-sigfile',
        join(work, 'sig'),
      ]);
      expect(ed.toString()).toMatch(/Signature Verified Successfully/);
    });

    it('with the public keys in a scanned directory: ECDSA-P256, RSA-3072 and Ed25519 from the key, linked to it, verified', async () => {
      const r = await scanWith(keyDir);
      for (const [alg, id, file] of [
        ['ec', 'ECDSA-P256', 'cosign.pub'],
        ['rsa', 'RSA-3072', 'rsa3072.pub'],
        ['ed', 'Ed25519', 'ed25519.pub'],
      ] as const) {
        const { a, sig, link } = cosignOn(r, signed[alg]!.image);
        const keyArtifact = art(r, (x) => x.uri.endsWith(`/${file}`));
        const keyFinding = keyArtifact.findings.find((f) => f.kind === 'public-key')!;
        expect(sig.algorithm.id, alg).toBe(id);
        expect(sig.algorithm.parameterKnown, alg).toBeUndefined();
        expect(sig.details, alg).toMatchObject({
          parameterFrom: 'joined-key',
          signerInScan: true,
          signerRef: { uri: keyArtifact.uri, finding: findingId(keyArtifact, keyFinding) },
          payloadDigest: expect.stringMatching(/^sha256:/),
        });
        expect(link, alg).toMatchObject({ verification: 'verified', algorithm: id, format: 'cosign' });
        expect(link?.reason, alg).toBeUndefined();
        expect(a.errors, alg).toEqual([]);
        // explain says where the size came from and names the key.
        const report = join(keyDir, '..', `${alg}-report.json`);
        writeFileSync(report, JSON.stringify(r));
        const text = await runExplainCommand(a.uri, { report });
        expect(text, alg).toMatch(
          new RegExp(`^ {2}size {7}from the signer's key elsewhere in this scan; signer: ${keyArtifact.uri.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}$`, 'm'),
        );
      }
    });

    it('without the key: the family (ECDSA) or the size its length fixes (RSA-3072), and the signer not in the scan', async () => {
      const r = await scanWith();
      const ec = cosignOn(r, signed.ec!.image);
      expect(ec.sig.algorithm).toMatchObject({ id: 'ECDSA', family: 'ECDSA', parameterKnown: false });
      expect(ec.sig.details).toMatchObject({ signerInScan: false });
      expect(ec.sig.details?.signerRef).toBeUndefined();
      expect(ec.link).toMatchObject({ verification: 'unverifiable', reason: expect.stringMatching(/no ECDSA key/) });
      const rsa = cosignOn(r, signed.rsa!.image);
      expect(rsa.sig.algorithm.id).toBe('RSA-3072');
      expect(rsa.sig.details).toMatchObject({ parameterFrom: 'signature-length', signerInScan: false });
      const text = await runExplainCommand(ec.a.uri, {
        report: (writeFileSync(join(keyDir, '..', 'nokey.json'), JSON.stringify(r)), join(keyDir, '..', 'nokey.json')),
      });
      expect(text).toMatch(/^ {2}size {7}not known from the bytes: ECDSA only, never guessed; signer not in the scan$/m);
    });

    it('with other keys of the same kind: not joined, and the link says no key verifies it', async () => {
      const r = await scanWith(wrongDir);
      const ec = cosignOn(r, signed.ec!.image);
      expect(ec.sig.algorithm).toMatchObject({ family: 'ECDSA', parameterKnown: false });
      expect(ec.sig.details).toMatchObject({ signerInScan: false });
      expect(ec.sig.details?.signerRef).toBeUndefined();
      expect(ec.link).toMatchObject({ verification: 'unverifiable', reason: expect.stringMatching(/none of the 1 ECDSA key\(s\) in the scan verifies it/) });
      const rsa = cosignOn(r, signed.rsa!.image);
      expect(rsa.sig.details).toMatchObject({ parameterFrom: 'signature-length', signerInScan: false });
      expect(rsa.link?.verification).toBe('unverifiable');
    });

    it('a signature whose payload names another image is an error on the image it is attached to, not a link', async () => {
      const r = await scanWith(keyDir);
      const a = art(r, (x) => x.uri === `oci://${host}/keyjoin@${otherImage}`);
      expect(a.signedBy ?? []).toEqual([]);
      expect(a.errors).toEqual([
        expect.objectContaining({
          code: 'malformed',
          source: 'coverage',
          message: `the attached signature does not verify over this artifact: its payload names another image (${signed.ec!.image})`,
        }),
      ]);
      expect(a.signed).toBeUndefined();
    });
  });

  it('reports cosign signatures on the image they sign, and an unsigned image as unsigned', async () => {
    const r = await scanOci(`oci://${host}/app`);
    const img = art(r, (a) => a.uri === `oci://${host}/app@${signed.digest}`);
    expect(img.signed).toBe(true);
    expect(img.annotations?.['oci.tags']).toBe('v1');
    expect(img.annotations?.['oci.signatures']).toBe('cosign');
    expect(img.annotations?.['oci.attestations']).toBe('in-toto');
    expect(img.annotations?.['org.opencontainers.image.created']).toBe('2024-05-01T00:00:00Z');
    expect(img.annotations?.['shelflife.class']).toBe('container-image');
    expect(img.sha256).toBe(signed.digest.slice(7));
    // Keyless: the signature takes the key of the certificate annotation of its own layer (the signer join).
    const layer = /^sha256-[0-9a-f]{64}\.sig\/layers\[0\]\//;
    const certFindings = img.findings.filter(
      (f) => f.kind === 'certificate' && layer.test(f.location.member ?? '') && f.location.member!.endsWith('/certificate.pem'),
    );
    expect(certFindings.map((f) => f.algorithm.id)).toEqual(['ECDSA-P256']);
    const sig = img.findings.find((f) => f.kind === 'signature' && f.format === 'cosign' && layer.test(f.location.member ?? ''))!;
    expect(sig.algorithm.id).toBe('ECDSA-P256');
    expect(sig.details).toMatchObject({ parameterFrom: 'certificate', signerInScan: true });
    // The attestation's DSSE signature names no key either: the certificate of its layer sizes it the same way.
    const att = img.findings.find((f) => f.kind === 'signature' && f.format === 'dsse')!;
    expect(att.algorithm.id).toBe('ECDSA-P256');
    expect(att.location.member).toMatch(/\.att\/layers\[0\]\/envelope\.intoto\.json$/);
    const bare = art(r, (a) => a.uri === `oci://${host}/app@${unsigned.digest}`);
    expect(bare.signed).toBe(false);
    expect(bare.findings).toEqual([]);
    // Signature tags are material of their subject, never artifacts of their own.
    expect(r.artifacts.some((a) => /sha256-[0-9a-f]{64}\.(sig|att)/.test(a.annotations?.['oci.tags'] ?? ''))).toBe(false);
    // With scoring on (the default), the unsigned image is still reported unsigned and the signed one is not.
    const scored = await scan({ targets: [`oci://${host}/app`], sourceOptions: { backoffMs: 1 } });
    expect(art(scored, (a) => a.uri === bare.uri).signed).toBe(false);
    expect(art(scored, (a) => a.uri === img.uri).signed).not.toBe(false);
    // (Detector opinions about the envelopes are the detectors' business; the source itself reports no problem.)
    expect(r.artifacts.flatMap((a) => a.errors).filter((e) => e.source === 'source' || e.source === 'engine')).toEqual([]);
  });

  it('reads no layer bytes without --layers: manifest, referrers, tags and signature blobs only', async () => {
    const requests: string[] = [];
    const r = await scanOci(`oci://${host}/app@${signed.digest}`, {}, requests);
    expect(r.artifacts.map((a) => a.uri)).toEqual([`oci://${host}/app@${signed.digest}`]);
    expect(requests.some((q) => q.includes(layerDigest))).toBe(false);
    const kinds = requests.map((q) => q.replace(/sha256[:-][0-9a-f]{64}(\.\w+)?/g, 'D'));
    expect(kinds).toEqual([
      'GET /v2/app/manifests/D', // the image
      'GET /v2/app/referrers/D', // 404 on registry 2.8 → tag schema
      'GET /v2/app/tags/list',
      'GET /v2/app/manifests/D', // .sig
      'GET /v2/app/manifests/D', // .att
      'GET /v2/app/blobs/D', // simple-signing payload
      'GET /v2/app/blobs/D', // DSSE envelope
    ]);
  });

  it('streams layers as archives with --layers', async () => {
    const r = await scanOci(`oci://${host}/app:v1`, { layers: true });
    const layer = art(r, (a) => a.uri === `oci://${host}/app@${layerDigest}`);
    expect(layer.parent).toBe(`oci://${host}/app@${signed.digest}`);
    expect(layer.sha256).toBe(layerDigest.slice(7));
    const member = art(r, (a) => a.uri === `oci://${host}/app@${layerDigest}!/etc/ssl/certs/app.pem`);
    expect(member.findings.map((f) => f.algorithm.id)).toContain('RSA-2048');
  });

  it('follows an index to each platform; children are covered by the index signature', async () => {
    const r = await scanOci(`oci://${host}/multi:latest`);
    const idx = art(r, (a) => a.uri === `oci://${host}/multi@${index.digest}`);
    expect(idx.signed).toBe(true);
    expect(idx.mediaType).toBe('application/vnd.oci.image.index.v1+json');
    const children = r.artifacts.filter((a) => a.parent === idx.uri);
    expect(children.map((c) => c.annotations?.['oci.platform']).sort()).toEqual(['linux/amd64', 'linux/arm64']);
    for (const c of children) {
      expect(c.signed).toBe(true);
      expect(c.annotations?.['oci.signedVia']).toBe(idx.uri);
    }
  });

  it('names every tag of a manifest whatever the timing: tags far apart, and a tag on a manifest an index lists first', async () => {
    // Sorted tags: the index 'a-index' lists the image that 'b-child' tags; 'c-image' and 'zz-again' name one image with
    // more distinct tags between them than the walk fetches ahead. Before, a later tag was added only if its manifest
    // had not been scanned yet, so the answer depended on timing (and the distributed units dropped a child's tag).
    const child = await pushImage(client, 'tagged', 'b-child', [{ bytes: gz(tar({ c: 'child' })) }]);
    await pushIndex(client, 'tagged', 'a-index', [
      { mediaType: child.mediaType, digest: child.digest, size: child.size, platform: { os: 'linux', architecture: 'amd64' } },
    ]);
    const img = await pushImage(client, 'tagged', 'c-image', [{ bytes: gz(tar({ i: 'image' })) }]);
    for (let i = 0; i < 12; i++) await pushImage(client, 'tagged', `m-${String(i).padStart(2, '0')}`, [{ bytes: gz(tar({ [`f${i}`]: `filler ${i}` })) }]);
    await pushImage(client, 'tagged', 'zz-again', [{ bytes: gz(tar({ i: 'image' })) }]);
    for (let run = 0; run < 3; run++) {
      const r = await scanOci(`oci://${host}/tagged`);
      expect(art(r, (a) => a.uri === `oci://${host}/tagged@${img.digest}`).annotations?.['oci.tags']).toBe('c-image,zz-again');
      expect(art(r, (a) => a.uri === `oci://${host}/tagged@${child.digest}`).annotations?.['oci.tags']).toBe('b-child');
      expect(r.artifacts.filter((a) => a.uri === `oci://${host}/tagged@${img.digest}`)).toHaveLength(1);
    }
    // The distributed plan says the same: one unit per top-level manifest with all its tags, the child's tag on its index's unit.
    const source = resolveSource(`oci://${host}/tagged`, { backoffMs: 1 });
    const parts: Record<string, unknown>[] = [];
    for await (const u of source.units!({ uri: `oci://${host}/tagged`, part: { repo: 'tagged' } })) if ('part' in u) parts.push(u.part);
    await source.close?.();
    expect(parts.find((p) => p.digest === img.digest)).toMatchObject({ tags: ['c-image', 'zz-again'] });
    expect(parts.find((p) => (p.tags as string[]).includes('a-index'))).toMatchObject({ childTags: { [child.digest]: ['b-child'] } });
    expect(parts.some((p) => p.digest === child.digest)).toBe(false);
  });

  it('finds Notary Project (JWS, COSE) and Sigstore bundle referrers through the referrers tag schema', async () => {
    const r = await scanOci(`oci://${host}/notary`);
    const img = art(r, (a) => a.annotations?.['oci.tags'] === 'v1');
    expect(img.signed).toBe(true);
    expect(img.annotations?.['oci.signatures']).toBe('notation,sigstore');
    // The COSE envelope's x5chain holds the DER certificate: found by the carver, reported on the image.
    const fromCose = img.findings.filter((f) => f.kind === 'certificate' && f.location.member?.endsWith('/signature.cose'));
    expect(fromCose.map((f) => f.algorithm.id)).toEqual(['ECDSA-P256']);
    // The referrers tag index itself is not an image.
    expect(r.artifacts).toHaveLength(1);
  });

  it('scans key/certificate blobs of artifacts directly', async () => {
    const r = await scanOci(`oci://${host}/keys:v1`);
    const blob = art(r, (a) => a.annotations?.['oci.blob'] === 'key');
    expect(blob.parent).toMatch(new RegExp(`^oci://${host}/keys@sha256:`));
    expect(blob.findings.map((f) => `${f.kind} ${f.algorithm.id}`)).toContain('certificate ECDSA-P256');
    const manifest = art(r, (a) => a.uri === blob.parent);
    expect(manifest.annotations?.['oci.artifactType']).toBe('application/vnd.example.keys.v1');
  });

  it('walks the catalog with --all-repositories, following Link pagination', async () => {
    const requests: string[] = [];
    const r = await scanOci(`oci://${host}`, { allRepositories: true, pageSize: 2 }, requests);
    // The registry is shared with the other tests of this run, which may leave a repository half pushed: errors are
    // checked on the catalog itself and on this file's repositories, not on what others are writing meanwhile.
    const ours = (uri: string) =>
      uri === `oci://${host}` ||
      uri === `oci://${host}/` ||
      ['app', 'keys', 'multi', 'notary'].some((n) => new RegExp(`^oci://${host}/${n}([:@]|$)`).test(uri));
    expect(r.artifacts.filter((a) => !a.annotations?.['oci.repository'] && ours(a.uri)).flatMap((a) => a.errors)).toEqual([]);
    const repos = new Set(r.artifacts.map((a) => a.annotations?.['oci.repository']));
    expect([...repos].sort()).toEqual(expect.arrayContaining(['app', 'keys', 'multi', 'notary']));
    expect(requests.filter((q) => q.startsWith('GET /v2/_catalog')).length).toBeGreaterThan(1);
  });

  it('reports a missing repository or tag as an error naming it, and goes on', async () => {
    const r = await scanOci(`oci://${host}/app:nope`);
    expect(r.artifacts).toHaveLength(1);
    expect(r.artifacts[0].uri).toBe(`oci://${host}/app:nope`);
    expect(r.artifacts[0].errors[0].message).toMatch(/manifest not found/);
    const r2 = await scanOci(`oci://${host}/does-not-exist`);
    expect(r2.artifacts.map((a) => a.errors[0]?.message)).toEqual(['repository not found']);
    expect(r2.artifacts[0].uri).toBe(`oci://${host}/does-not-exist`);
  });
});

describe('oci over HTTPS with a private CA', () => {
  requirePrerequisiteForAll(REGISTRY_MISSING);
  it('refuses an untrusted certificate, and trusts it with --registry-ca', async () => {
    const host = reg.tls;
    const client = new RegistryClient(host, { ca: [reg.tlsCa] });
    const img = await pushImage(client, 'tls/app', 'v1', [{ bytes: gz(tar({ a: 'a' })) }]);
    const ok = await scanOci(`oci://${host}/tls/app`, { registryCa: reg.tlsCa });
    expect(ok.artifacts.map((a) => a.uri)).toEqual([`oci://${host}/tls/app@${img.digest}`]);
    expect(ok.artifacts[0].errors).toEqual([]);
    const untrusted = await scanOci(`oci://${host}/tls/app`);
    expect(untrusted.artifacts[0].errors[0].message).toMatch(
      new RegExp(`^https://${host}/v2/tls/app/tags/list\\?n=1000: GET failed: .*(SELF_SIGNED|UNABLE_TO_VERIFY|unable to (get|verify))`),
    );
  });
});

describe('oci auth', () => {
  requirePrerequisiteForAll(REGISTRY_MISSING);
  const dir = mkdtempSync(join(tmpdir(), 'shelflife-docker-'));
  const config = (host: string, password: string) => {
    const p = join(dir, `${host.replace(/\W/g, '_')}-${password.length}.json`);
    writeFileSync(p, JSON.stringify({ auths: { [`https://${host}`]: { auth: Buffer.from(`${reg.user}:${password}`).toString('base64') } } }));
    return p;
  };

  for (const kind of ['basic', 'token'] as const) {
    it(`${kind}: pushes and scans with credentials from a docker config.json; fails clearly without`, async () => {
      const host = reg[kind];
      const cfg = config(host, reg.password);
      const { dockerCredentials } = await import('../../src/oci/docker-auth.js');
      // The token registry names a realm on another origin (its issuer): the user lets it have the credentials.
      const authHosts = kind === 'token' ? [reg.tokenIssuer] : [];
      const client = new RegistryClient(host, { credentials: () => dockerCredentials(host, { configPath: cfg }), authHosts });
      const img = await pushImage(client, 'private/app', 'v1', [{ bytes: gz(tar({ a: 'a' })) }]);
      await cosignSign(client, 'private/app', host, img, makeCert('auth'));
      const ok = await scanOci(`oci://${host}/private/app`, { dockerConfig: cfg, authHosts });
      const a = art(ok, (x) => x.uri === `oci://${host}/private/app@${img.digest}`);
      expect(a.signed).toBe(true);
      expect(a.errors, JSON.stringify(a.errors)).toEqual([]);
      const anon = await scanOci(`oci://${host}/private/app`, { dockerConfig: join(dir, 'missing.json'), authHosts });
      expect(anon.artifacts[0].errors[0].message).toMatch(
        kind === 'basic' ? /requires authentication and no credentials were found/ : /token request .* HTTP 401/,
      );
      const wrong = await scanOci(`oci://${host}/private/app`, { dockerConfig: config(host, 'wrong'), authHosts });
      expect(wrong.artifacts[0].errors[0].message).toMatch(/HTTP 401/);
    });
  }
});
