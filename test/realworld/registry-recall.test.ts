/**
 * Held-out recall on registry artifacts (issue 15), pushed to the real registry the test setup starts
 * (test/setup/registry.ts): images signed by cosign with an ECDSA key and with an RSA key (no certificate; without the
 * key in the scan, and with it beside the target, where the signature takes the key's exact algorithm), keyless
 * (certificate and chain in the annotations) with an in-toto/SLSA attestation (DSSE), Notary Project JWS and COSE
 * signatures, a Sigstore bundle and an SBOM as referrers, and an artifact manifest whose blobs are a JAR, a CMS file, a
 * PKCS#12, a PEM chain and a model, all `application/octet-stream` without a title. Each target's findings are matched
 * against what independent parsers read in what was pushed (openssl, pyca, through fixtures/gen/realworld-expected.py
 * --files), never against shelflife's own output. Recall per target is printed; ≥ 0.98 overall, no false positive.
 */
import { execFileSync } from 'node:child_process';
import { generateKeyPairSync } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { DETECTORS } from '../../src/detectors/index.js';
import type { Finding } from '../../src/model.js';
import { RegistryClient } from '../../src/oci/registry.js';
import { scan } from '../../src/scan/scan.js';
import { requirePrerequisiteForAll } from '../helpers/prerequisites.js';
import { needIndependentParsers, RecallTally, type Expected } from '../helpers/recall.js';
import { cosignAttest, cosignSign, gz, makeCert, notarySign, pushArtifact, pushImage, sigstoreBundle, tar, type TestCert } from '../helpers/registry.js';
import { FIXTURES } from '../helpers/scan.js';

const reg = inject('registry');
const REGISTRY_MISSING = (!reg.available && reg.reason) || needIndependentParsers('registry recall', 'openssl');
const GENERATOR = join(import.meta.dirname, '..', '..', 'fixtures', 'gen', 'realworld-expected.py');

/** Per target: what was pushed, as READER:PATH pairs for the generator (a PEM of the key for a signature). */
const targets = new Map<string, string[]>();
let work = '';
const expected: Record<string, Expected[]> = {};
const found = new Map<string, Finding[]>();
/** A directory scanned beside a target (the public key of a key-made cosign signature). */
const beside = new Map<string, string>();

function keep(name: string, text: string | Uint8Array): string {
  const path = join(work, name);
  writeFileSync(path, text);
  return path;
}

describe('held-out recall on registry artifacts (independent parsers)', () => {
  requirePrerequisiteForAll(REGISTRY_MISSING);
  const host = reg.anonymous;

  beforeAll(async () => {
    if (REGISTRY_MISSING) return;
    work = mkdtempSync(join(tmpdir(), 'shelflife-registry-recall-'));
    const c = new RegistryClient(host);
    const image = (repo: string, what: string) => pushImage(c, repo, 'v1', [{ bytes: gz(tar({ 'readme.txt': what })) }]);
    const pem = (cert: TestCert, name: string) => keep(name, cert.certPem);

    // cosign sign --key: the signature alone (ECDSA P-256 and RSA-2048 keys made by openssl).
    for (const [repo, alg] of [
      ['recall/cosign-ec-key', 'ec'],
      ['recall/cosign-rsa-key', 'rsa'],
    ] as const) {
      const key = makeCert(`cosign ${alg} key`, alg);
      await cosignSign(c, repo, host, await image(repo, repo), key, false);
      targets.set(repo, [`key-signature:${keep(`${alg}.key.pem`, key.keyPem)}`]);
    }
    // cosign sign --key with the public key in the same scan (a file beside the oci:// target): the signature names no
    // key, so it is joined to that key by verification and takes its exact algorithm (ECDSA P-256, RSA-3072).
    for (const [repo, key] of [
      ['recall/cosign-ec-joined', generateKeyPairSync('ec', { namedCurve: 'P-256' })],
      ['recall/cosign-rsa-joined', generateKeyPairSync('rsa', { modulusLength: 3072 })],
    ] as const) {
      await cosignSign(c, repo, host, await image(repo, repo), { key: key.privateKey }, false);
      const dir = mkdtempSync(join(work, 'key-'));
      const pub = join(dir, 'cosign.pub');
      writeFileSync(pub, key.publicKey.export({ type: 'spki', format: 'pem' }));
      targets.set(repo, [`signed-by:${pub}`]);
      beside.set(repo, dir);
    }
    // Keyless: Fulcio-style certificate and chain annotations, plus an attestation signed by the same key.
    const keyless = makeCert('recall keyless');
    const img = await image('recall/keyless', 'keyless');
    await cosignSign(c, 'recall/keyless', host, img, keyless);
    await cosignAttest(c, 'recall/keyless', img, keyless);
    const kc = pem(keyless, 'keyless.pem');
    // signature + certificate + chain annotation (the same certificate), then the attestation's signature + certificate.
    targets.set('recall/keyless', [`signed-by:${kc}`, `pem:${kc}`, `pem:${kc}`, `signed-by:${kc}`, `pem:${kc}`]);

    // Notary Project (JWS and COSE, x5c with the signer's certificate), a Sigstore bundle and an SBOM as referrers.
    const notary = makeCert('recall notary');
    const n = await image('recall/notary', 'notary');
    await notarySign(c, 'recall/notary', n, notary, 'jws');
    // The COSE_Sign1 envelope is measured once a detector reads COSE (issue 15's Notary part, another helper's work).
    const cose = DETECTORS.some((d) => d.format === 'cose');
    if (cose) await notarySign(c, 'recall/notary', n, notary, 'cose');
    else console.log('registry recall: no COSE detector yet, so the Notary COSE signature is not pushed or measured');
    await sigstoreBundle(c, 'recall/notary', n, notary);
    const sbom = readFileSync(join(FIXTURES, 'provenance', 'models', 'hf-model', 'config.json'));
    await pushArtifact(c, 'recall/notary', undefined, 'application/spdx+json', [{ bytes: new Uint8Array(sbom), mediaType: 'application/spdx+json' }], n);
    const nc = pem(notary, 'notary.pem');
    // JWS and Sigstore bundle (and COSE): each a signature by the notary key and its certificate.
    targets.set('recall/notary', Array.from({ length: cose ? 3 : 2 }, () => [`signed-by:${nc}`, `pem:${nc}`]).flat());

    // An artifact manifest of octet-stream blobs without titles.
    const files = [
      ['jar', 'pki/jar/signed-rsa.jar'],
      ['cms', 'pki/cms/signed-attached-rsa.p7s'],
      ['pkcs12=fixture-pass', 'pki/pkcs12/unencrypted.p12'],
      ['pem', 'pki/certs/chain.pem'],
      ['none', 'provenance/models/hf-model/model.safetensors'],
    ];
    await pushArtifact(
      c,
      'recall/files',
      'v1',
      'application/vnd.example.release.v1',
      files.map(([, f]) => ({ bytes: new Uint8Array(readFileSync(join(FIXTURES, f))), mediaType: 'application/octet-stream' })),
    );
    targets.set(
      'recall/files',
      files.map(([reader, f]) => `${reader}:${join(FIXTURES, f)}`),
    );

    // The independent answer, per pushed object (one object listed twice, a certificate in two annotations, counts twice).
    const pairs = [...new Set([...targets.values()].flat())];
    const answers = JSON.parse(execFileSync('python3', [GENERATOR, '--files', ...pairs], { maxBuffer: 16 << 20 }).toString()) as Record<string, Expected[]>;
    for (const [repo, list] of targets) expected[repo] = list.flatMap((p) => answers[p]);
    for (const repo of targets.keys()) {
      const keys = beside.get(repo);
      const r = await scan({ targets: [...(keys ? [keys] : []), `oci://${host}/${repo}:v1`], concurrency: 2, scoring: false, sourceOptions: { backoffMs: 1 } });
      expect(r.artifacts.flatMap((a) => a.errors).filter((e) => e.code === 'detector-crash')).toEqual([]);
      // What the registry holds is measured; a key file scanned beside it is an input, not a registry artifact.
      found.set(
        repo,
        r.artifacts.filter((a) => a.uri.startsWith('oci://')).flatMap((a) => a.findings),
      );
    }
  }, 240_000);

  afterAll(() => {
    if (work) rmSync(work, { recursive: true, force: true });
  });

  it('every pushed signature, certificate and key is found with its exact parameters; nothing else is reported', () => {
    const total = new RecallTally();
    for (const [repo, want] of Object.entries(expected)) {
      const one = new RecallTally();
      one.add(repo, want, found.get(repo)!);
      total.add(repo, want, found.get(repo)!);
      console.log(one.report(repo, 1, 'openssl, pyca over what was pushed'));
    }
    console.log(`recall registry artifacts: ${total.matched}/${total.expected} = ${total.recall.toFixed(3)}`);
    expect(total.expected).toBeGreaterThanOrEqual(20);
    expect(total.falsePositives).toEqual([]);
    expect(total.recall, total.misses.join('\n')).toBeGreaterThanOrEqual(0.98);
  });
});
