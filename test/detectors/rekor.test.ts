/**
 * Rekor entries (src/detectors/rekor.ts) on real log entries (fixtures/supply-chain/realworld/rekor): a hashedrekord
 * from a cosign verification, and the dsse and intoto entries of real Sigstore bundles, each checked against
 * pyca/cryptography reading the nested base64 PEM itself.
 */
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { needPrograms, requirePrerequisite } from '../helpers/prerequisites.js';
import { findingId } from '../../src/identity.js';
import { detectAll, FIXTURES, scanPaths, summary } from '../helpers/scan.js';

const DIR = join(FIXTURES, 'supply-chain', 'realworld', 'rekor');
const read = (f: string) => new Uint8Array(readFileSync(join(DIR, f)));
const rekor = (name: string, bytes: Uint8Array | string) => {
  const r = detectAll(name, bytes);
  return { findings: r.findings.filter((f) => f.format === 'rekor'), errors: r.errors.filter((e) => e.source === 'rekor') };
};

describe('rekor detector', () => {
  it('hashedrekord: the Fulcio certificate in the base64 body, the signature sized by it, and the log SET', () => {
    const r = rekor('entry.rekor.json', read('chainguard-nginx-hashedrekord.rekor.json'));
    expect(r.errors).toEqual([]);
    expect(summary(r.findings)).toEqual(['certificate rekor ECDSA-P256/SHA-384', 'signature rekor ECDSA', 'signature rekor ECDSA-P256/SHA-256']);
    const sig = r.findings.find((f) => f.kind === 'signature' && f.details?.entryKind)!;
    expect(sig.details).toMatchObject({ entryKind: 'hashedrekord', parameterFrom: 'certificate' });
    const set = r.findings.find((f) => f.details?.role === 'signed-entry-timestamp')!;
    // The SET is the log's: named by the log id, sized only when the log key is in the scan (a trusted root).
    expect(set).toMatchObject({
      fingerprint: 'c0d23d6ad406973f9559f3ba2d1ca01f84147d8ffc5b8445c224f98b9591801d',
      algorithm: { id: 'ECDSA', parameterKnown: false },
      details: { logIndex: 4997402 },
    });
  });

  it('dsse and intoto entries: verifiers are base64 PEM certificates inside base64 JSON', () => {
    expect(summary(rekor('e.rekor.json', read('model-transparency-v1.1.0-dsse.rekor.json')).findings)).toContain('signature rekor ECDSA-P256');
    const intoto = rekor('e.rekor.json', read('slsa-verifier-intoto.rekor.json'));
    expect(intoto.errors).toEqual([]);
    expect(intoto.findings.filter((f) => f.kind === 'certificate').map((f) => f.algorithm.id)).toEqual(['ECDSA-P256']);
  });

  it('agrees with pyca/cryptography on the certificate inside the hashedrekord body', (ctx) => {
    requirePrerequisite(ctx, needPrograms('the pyca/cryptography cross-check', 'python3'));
    const script = [
      'import json,base64,sys',
      'from cryptography import x509',
      'e=json.load(sys.stdin); b=json.loads(base64.b64decode(e["body"]))',
      'c=x509.load_pem_x509_certificate(base64.b64decode(b["spec"]["signature"]["publicKey"]["content"]))',
      'print(c.public_key().curve.name)',
    ].join('\n');
    const curve = execFileSync('python3', ['-c', script], { input: read('chainguard-nginx-hashedrekord.rekor.json') })
      .toString()
      .trim();
    expect(curve).toBe('secp256r1');
  });

  it('the log SET takes the log key from a trusted root in the same scan', async () => {
    const { scanPaths } = await import('../helpers/scan.js');
    const r = await scanPaths(join(DIR, 'slsa-verifier-intoto.rekor.json'), join(FIXTURES, 'packages', 'realworld', 'sigstore-trusted_root.json'));
    const set = r.artifacts.flatMap((a) => a.findings).find((f) => f.details?.role === 'signed-entry-timestamp')!;
    expect(set.algorithm.id).toBe('ECDSA-P256');
    expect(set.details).toMatchObject({ parameterFrom: 'joined-key', signerInScan: true });
  });

  it('negative and malformed', () => {
    expect(rekor('x.json', '{"logIndex": 1}').findings).toEqual([]);
    const bad = rekor('x.json', JSON.stringify({ body: Buffer.from('{"kind": "hashedrekord"').toString('base64'), logIndex: 1 }));
    expect(bad.errors.map((e) => e.code)).toEqual(['malformed']);
    const notEntry = rekor('x.json', JSON.stringify({ body: Buffer.from('{"x": 1}').toString('base64'), logIndex: 1 }));
    expect(notEntry.errors[0].message).toMatch(/not a Rekor entry body/);
  });
});

/**
 * `rekord` entries with pgp, ssh and minisign signatures (fixtures/supply-chain/realworld/rekord: real signed files
 * from sigstore/rekor's test data inside the body a Rekor server stores): each key and signature read by its own
 * format's detector, the signature linked to the key. The signatures are checked to be the keys' by gpg --verify,
 * ssh-keygen -Y check-novalidate and minisign -V; the key sizes by gpg --list-packets and ssh-keygen -l.
 */
describe('rekor detector: rekord entries signed with pgp, ssh and minisign', () => {
  const RK = join(FIXTURES, 'supply-chain', 'realworld', 'rekord');
  const T = join(RK, 'sigstore-rekor-testdata');
  const entry = (fmt: string) => detectAll(`${fmt}.rekord.json`, new Uint8Array(readFileSync(join(RK, `${fmt}.rekord.json`))));

  it.each([
    [
      'pgp',
      [
        'public-key openpgp RSA-2048',
        'public-key openpgp RSA-2048',
        'signature openpgp RSA-2048/SHA-256',
        'signature openpgp RSA-2048/SHA-256',
        'signature openpgp RSA-2048/SHA-256',
      ],
    ],
    ['ssh', ['public-key ssh RSA-3072', 'signature ssh RSA-3072/SHA-512']],
    ['minisign', ['public-key minisign Ed25519', 'signature minisign Ed25519']],
  ])('%s: the key and the signature in their own format, under the entry body', (fmt, want) => {
    const r = entry(fmt);
    expect(r.errors).toEqual([]);
    expect(summary(r.findings)).toEqual(want);
    for (const f of r.findings) {
      expect(f.location.path).toMatch(/^body\.spec\.signature\.(publicKey|content)/);
      expect(f.details).toMatchObject({ entryKind: 'rekord', signatureFormat: fmt });
    }
  });

  it('the entry signature joins the key of the same entry (signerRef)', async () => {
    for (const fmt of ['pgp', 'ssh', 'minisign']) {
      const result = await scanPaths(join(RK, `${fmt}.rekord.json`));
      const [artifact] = result.artifacts;
      const sig = artifact.findings.find((f) => f.kind === 'signature' && f.location.path?.startsWith('body.spec.signature.content'))!;
      const key = artifact.findings.find((f) => f.kind === 'public-key' && f.location.path?.endsWith(fmt === 'pgp' ? 'packet[0]' : 'publicKey'))!;
      expect(sig.details?.signerRef, fmt).toEqual({ uri: artifact.uri, finding: findingId(artifact, key) });
    }
  });

  it("the vendored signatures are the keys' (gpg, ssh-keygen, minisign)", (ctx) => {
    requirePrerequisite(ctx, needPrograms('the rekord signature cross-check', 'gpg', 'ssh-keygen', 'minisign'));
    const home = mkdtempSync(join(tmpdir(), 'shelflife-rekord-'));
    try {
      const env = { ...process.env, GNUPGHOME: home };
      execFileSync('gpg', ['--batch', '--import', join(T, 'valid_armored_public.pgp')], { env, stdio: 'ignore' });
      const gpg = execFileSync('gpg', ['--batch', '--status-fd', '1', '--verify', join(T, 'hello_world.txt.asc.sig'), join(T, 'hello_world.txt')], {
        env,
        stdio: ['ignore', 'pipe', 'ignore'],
      }).toString();
      expect(gpg).toMatch(/VALIDSIG 61BC29B1BFAC433312BE813A86F575529D0F9FF4/);
      const ssh = execFileSync(
        'ssh-keygen',
        ['-Y', 'check-novalidate', '-n', 'file', '-f', join(T, 'ssh-id_rsa.pub'), '-s', join(T, 'ssh-hello_world.txt.sig')],
        { input: readFileSync(join(T, 'ssh-hello_world.txt')) },
      ).toString();
      expect(ssh).toMatch(/Good "file" signature with RSA key/);
      expect(execFileSync('ssh-keygen', ['-l', '-f', join(T, 'ssh-id_rsa.pub')]).toString()).toMatch(/^3072 /);
      const mini = execFileSync('minisign', [
        '-V',
        '-m',
        join(T, 'hello_world.txt'),
        '-p',
        join(T, 'minisign.pub'),
        '-x',
        join(T, 'hello_world.txt.minisig'),
      ]).toString();
      expect(mini).toMatch(/Signature and comment signature verified/);
    } finally {
      rmSync(home, { recursive: true, force: true });
    }
  });

  it('malformed: a key that is not base64 or holds nothing of its format is an error, the scan goes on', () => {
    const body = JSON.parse(readFileSync(join(RK, 'minisign.rekord.json'), 'utf8'));
    body.spec.signature.publicKey.content = Buffer.from('nothing here').toString('base64');
    const r = detectAll('x.rekord.json', JSON.stringify(body));
    expect(r.errors.map((e) => [e.source, e.message])).toEqual([['rekor', expect.stringMatching(/publicKey holds no minisign key/)]]);
    expect(summary(r.findings)).toEqual(['signature minisign Ed25519']);
    body.spec.signature.format = 'tuf';
    expect(detectAll('x.rekord.json', JSON.stringify(body)).errors.map((e) => e.code)).toEqual(['unsupported']);
  });
});
