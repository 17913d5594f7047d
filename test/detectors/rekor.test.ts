/**
 * Rekor entries (src/detectors/rekor.ts) on real log entries (fixtures/supply-chain/realworld/rekor): a hashedrekord
 * from a cosign verification, and the dsse and intoto entries of real Sigstore bundles, each checked against
 * pyca/cryptography reading the nested base64 PEM itself.
 */
import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { needPrograms, requirePrerequisite } from '../helpers/prerequisites.js';
import { detectAll, FIXTURES, summary } from '../helpers/scan.js';

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
