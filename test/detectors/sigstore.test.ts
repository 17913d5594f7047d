import { createPublicKey, verify } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { describe, expect, it } from 'vitest';
import { sigstoreDetector } from '../../src/detectors/sigstore.js';
import { findingId } from '../../src/identity.js';
import { ctxFor, FIXTURES, findingsUnder, scanPaths, summary } from '../helpers/scan.js';

const PKG = join(FIXTURES, 'packages');
const text = (f: string) => readFileSync(join(PKG, f), 'utf8');
const run = (name: string, body: string) => {
  const b = new TextEncoder().encode(body);
  const r = sigstoreDetector.detect(b, ctxFor(name, b));
  return Array.isArray(r) ? { findings: r, errors: [], annotations: {} } : { errors: [], annotations: {}, ...r };
};

describe('sigstore detector', () => {
  it('v0.1 bundle: certificate chain and a message signature named by the leaf key (Fulcio: ECDSA P-256)', () => {
    const r = run('b.sigstore.json', text('bundle-v0.1.sigstore.json'));
    expect(summary(r.findings)).toEqual([
      'certificate sigstore ECDSA-P256/SHA-384',
      'certificate sigstore ECDSA-P384/SHA-384',
      'signature sigstore ECDSA-P256/SHA-256',
    ]);
    const sig = r.findings.find((f) => f.kind === 'signature')!;
    expect(sig.details).toMatchObject({ algorithmFrom: 'signing certificate', signatureBytes: expect.any(Number) });
    expect(sig.subject).toMatch(/shelflife/);
    expect(r.annotations).toMatchObject({ 'sigstore.bundleVersion': '0.1', 'sigstore.tlogEntries': '0' });
  });

  it('v0.2 and v0.3 bundles with a DSSE envelope: signature from the certificate, provenance as annotations', () => {
    for (const [f, version, certs] of [
      ['bundle-v0.2.sigstore.json', '0.2', 2],
      ['bundle-v0.3.sigstore.json', '0.3', 1],
    ] as const) {
      const r = run('b.sigstore.json', text(f));
      expect(r.findings.filter((x) => x.kind === 'certificate')).toHaveLength(certs);
      const sig = r.findings.filter((x) => x.kind === 'signature');
      expect(summary(sig)).toEqual(['signature sigstore ECDSA-P256']);
      expect(sig[0].location.path).toBe('dsseEnvelope.signatures[0]');
      expect(r.annotations).toMatchObject({
        'sigstore.bundleVersion': version,
        'intoto.predicateType': 'https://slsa.dev/provenance/v1',
        'slsa.builderId': 'https://github.com/shelflife/fixtures/.github/workflows/release.yml@refs/tags/v1.0',
        'intoto.subjects': expect.stringMatching(/^shelflife-fixture_1\.0_all\.deb@sha256:[0-9a-f]{64}$/),
      });
    }
  });

  it('public-key hint only: ECDSA from the DER signature shape, curve unknown', () => {
    const r = run('b.sigstore.json', text('bundle-pubkey.sigstore.json'));
    expect(r.findings).toHaveLength(1);
    expect(r.findings[0].algorithm).toMatchObject({ id: 'ECDSA', parameterKnown: false, hash: 'SHA-256' });
    expect(r.findings[0].fingerprint).toBe('shelflife-fixture-key');
  });

  it('the real Sigstore trusted root (from @sigstore/tuf seeds): Fulcio/TSA chains and log keys', () => {
    const r = run('trusted_root.json', text('realworld/sigstore-trusted_root.json'));
    expect(summary(r.findings)).toEqual([
      ...Array(5).fill('certificate sigstore ECDSA-P384/SHA-384'),
      'public-key sigstore ECDSA-P256',
      'public-key sigstore ECDSA-P256',
      'public-key sigstore ECDSA-P256',
      'public-key sigstore Ed25519',
    ]);
    expect(r.findings.find((f) => f.location.path === 'tlogs[1].publicKey')?.details).toMatchObject({ keyDetails: 'PKIX_ED25519' });
  });

  it('ignores JSON that is not a bundle, and reports broken material', () => {
    expect(run('x.json', '{"mediaType":"application/json"}').findings).toEqual([]);
    const broken = JSON.parse(text('bundle-v0.3.sigstore.json'));
    broken.verificationMaterial.certificate.rawBytes = 'AAAA';
    delete broken.dsseEnvelope;
    const r = run('b.sigstore.json', JSON.stringify(broken));
    expect(r.errors.map((e) => e.message)).toEqual([
      expect.stringMatching(/verificationMaterial\.certificate is not a certificate/),
      expect.stringMatching(/neither messageSignature nor dsseEnvelope/),
    ]);
    expect(() => run('b.sigstore.json', '{"mediaType": "application/vnd.dev.sigstore.bundle.v0.3+json", ')).toThrow(/not valid JSON/);
  });
});

/**
 * What the log signed in real bundles (model-transparency v1.1.0, a v0.3 bundle; slsa-verifier, v0.2): the SET and
 * the checkpoint's signed note, each named by the log id. The expected signer is found without shelflife: node:crypto
 * verifies the SET (over the canonical JSON of body, integratedTime, logID, logIndex: rekor pkg/api) and the note
 * (C2SP signed-note) with the trusted root's tlog key whose SHA-256 is the log id.
 */
describe('sigstore detector: transparency-log signatures in bundles', () => {
  const BUNDLES = [
    join(FIXTURES, 'provenance/realworld/model-transparency/v1.1.0-sigstore/model.sig'),
    join(FIXTURES, 'provenance/realworld/slsa-verifier/binary-linux-amd64-workflow_dispatch.build.slsa'),
  ];
  const ROOT = join(PKG, 'realworld/sigstore-trusted_root.json');

  /** The trusted-root log key that verifies both signatures of the entry, found with node:crypto alone. */
  function verifyingLogKey(bundlePath: string): { curve: string; logId: string } {
    const b = JSON.parse(readFileSync(bundlePath, 'utf8'));
    const t = b.verificationMaterial.tlogEntries[0];
    const logId = Buffer.from(t.logId.keyId, 'base64').toString('hex');
    const setData = JSON.stringify({ body: t.canonicalizedBody, integratedTime: Number(t.integratedTime), logID: logId, logIndex: Number(t.logIndex) });
    const [note, lines] = t.inclusionProof.checkpoint.envelope.split('\n\n');
    const noteSig = Buffer.from(lines.split('\n')[0].split(' ').pop(), 'base64').subarray(4);
    for (const log of JSON.parse(readFileSync(ROOT, 'utf8')).tlogs) {
      const key = createPublicKey({ key: Buffer.from(log.publicKey.rawBytes, 'base64'), format: 'der', type: 'spki' });
      if (key.asymmetricKeyType !== 'ec') continue;
      const setOk = verify('sha256', Buffer.from(setData), key, Buffer.from(t.inclusionPromise.signedEntryTimestamp, 'base64'));
      const noteOk = verify('sha256', Buffer.from(`${note}\n`), key, noteSig);
      if (setOk && noteOk) return { curve: key.asymmetricKeyDetails!.namedCurve!, logId };
    }
    throw new Error('no tlog key of the trusted root verifies the entry');
  }

  it.each(BUNDLES)('%s: SET and checkpoint joined to the trusted root log key that verifies them', async (path) => {
    const { curve, logId } = verifyingLogKey(path);
    expect(curve).toBe('prime256v1');
    const result = await scanPaths(path, ROOT);
    const root = result.artifacts.find((a) => a.uri === pathToFileURL(ROOT).href)!;
    const logKey = root.findings.find((f) => f.fingerprint === logId)!;
    const { findings } = findingsUnder(result, pathToFileURL(path).href);
    const log = findings.filter((f) => f.details?.role === 'signed-entry-timestamp' || f.details?.role === 'checkpoint');
    expect(log.map((f) => [f.details?.role, f.algorithm.id, f.fingerprint, f.details?.parameterFrom])).toEqual([
      ['signed-entry-timestamp', 'ECDSA-P256', logId, 'joined-key'],
      ['checkpoint', 'ECDSA-P256', logId, 'joined-key'],
    ]);
    for (const f of log) expect(f.details?.signerRef).toEqual({ uri: root.uri, finding: findingId(root, logKey) });
    expect(log[1].details).toMatchObject({
      keyName: 'rekor.sigstore.dev',
      keyHint: logId.slice(0, 8),
      origin: expect.stringMatching(/^rekor\.sigstore\.dev - \d+$/),
    });
  });

  it('without the trusted root: the family only, and the signer is said not to be in the scan', async () => {
    const result = await scanPaths(BUNDLES[0]);
    const log = findingsUnder(result, pathToFileURL(BUNDLES[0]).href).findings.filter((f) => f.details?.role);
    expect(log.map((f) => [f.algorithm.id, f.algorithm.parameterKnown, f.details?.signerInScan])).toEqual([
      ['ECDSA', false, false],
      ['ECDSA', false, false],
    ]);
  });

  it('a bundle signature links to its signing certificate (signerRef)', async () => {
    const result = await scanPaths(BUNDLES[0]);
    const artifact = result.artifacts[0];
    const leaf = artifact.findings.find((f) => f.kind === 'certificate' && f.location.path === 'verificationMaterial.certificate')!;
    const sig = artifact.findings.find((f) => f.location.path?.startsWith('dsseEnvelope'))!;
    expect(sig.details?.signerRef).toEqual({ uri: artifact.uri, finding: findingId(artifact, leaf) });
  });

  it('a checkpoint line that is not a signed-note signature is no finding; a malformed SET is no finding', () => {
    const b = JSON.parse(readFileSync(BUNDLES[0], 'utf8'));
    const t = b.verificationMaterial.tlogEntries[0];
    t.inclusionProof.checkpoint.envelope = 'origin\n1\nroot\n\n- not a signature line\n';
    t.inclusionPromise.signedEntryTimestamp = '';
    expect(run('m.sigstore.json', JSON.stringify(b)).findings.filter((f) => f.details?.role)).toEqual([]);
  });
});

describe('sigstore detector: signing config (sigstore/root-signing, v0.2)', () => {
  it('holds no key material, so no finding; its services are annotations, and it is classed as trust material', async () => {
    const path = join(PKG, 'realworld/sigstore-signing_config.v0.2.json');
    const r = run('signing_config.v0.2.json', readFileSync(path, 'utf8'));
    expect(r.findings).toEqual([]);
    expect(r.errors).toEqual([]);
    expect(r.annotations).toEqual({
      'sigstore.signingConfig': '0.2',
      'sigstore.trustMaterial': 'signing-config',
      'sigstore.ca': 'https://fulcio.sigstore.dev (v1)',
      'sigstore.oidc': 'https://oauth2.sigstore.dev/auth (v1)',
      'sigstore.tlog': 'https://log2025-1.rekor.sigstore.dev (v2) https://rekor.sigstore.dev (v1)',
      'sigstore.tsa': 'https://timestamp.sigstore.dev/api/v1/timestamp (v1)',
      'sigstore.rekorTlogConfig': 'ANY',
      'sigstore.tsaConfig': 'ANY',
    });
    const scanned = (await scanPaths(path)).artifacts[0];
    expect(scanned.class).toBe('key-material');
    expect(scanned.errors).toEqual([]);
  });
});
