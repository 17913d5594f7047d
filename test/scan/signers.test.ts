/**
 * The post-detection join (src/scan/signers.ts): a signature takes its signer's exact algorithm when the key or
 * certificate is anywhere in the scan, links to it (`details.signerRef`), and says so when it is not.
 */
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { describe, expect, it } from 'vitest';
import { catalogue } from '../../src/catalogue/index.js';
import { findingId } from '../../src/identity.js';
import type { ArtifactResult, Finding } from '../../src/model.js';
import { joinSigners } from '../../src/scan/signers.js';
import { FIXTURES, scanPaths } from '../helpers/scan.js';

const cat = catalogue();
const artifact = (uri: string, findings: Finding[]): ArtifactResult => ({ uri, parent: null, sha256: null, size: 1, findings, errors: [] });
const finding = (kind: Finding['kind'], format: string, id: string, extra: Partial<Finding> = {}): Finding => {
  const d = id.includes('-') || ['Ed25519'].includes(id) ? cat.byId(id) : cat.byId(id, { parameterKnown: false });
  return { kind, format, algorithm: d.algorithm, quantum: d.quantum, location: { offset: 0 }, ...extra };
};

describe('joinSigners (pure)', () => {
  it('sizes a family-only signature from the key its key id names, in another artifact, and links to it', () => {
    const key = finding('public-key', 'tuf', 'RSA-3072', { fingerprint: 'ABCDEF0123' });
    const sig = finding('signature', 'dsse', 'RSA', { fingerprint: 'abcdef0123' });
    sig.algorithm.hash = 'SHA-256';
    const keys = artifact('file:///k/root.json', [key]);
    joinSigners([artifact('file:///s/att.json', [sig]), keys]);
    expect(sig.algorithm).toEqual({ id: 'RSA-3072', family: 'RSA', hash: 'SHA-256' });
    expect(sig.quantum.classicalBits).toBe(128);
    expect(sig.details).toEqual({ signerInScan: true, parameterFrom: 'joined-key', signerRef: { uri: 'file:///k/root.json', finding: findingId(keys, key) } });
  });

  it('never joins a key of another family or size, and says the signer is not in the scan', () => {
    const sig = finding('signature', 'dsse', 'RSA-2048', { fingerprint: 'aa' });
    const other = finding('public-key', 'tuf', 'ECDSA-P256', { fingerprint: 'aa' });
    const bigger = finding('public-key', 'tuf', 'RSA-4096', { fingerprint: 'aa' });
    joinSigners([artifact('file:///a', [sig, other, bigger])]);
    expect(sig.algorithm.id).toBe('RSA-2048');
    expect(sig.details).toEqual({ signerInScan: false });
  });

  it('a signature that names no signer is left alone', () => {
    const sig = finding('signature', 'jws', 'RSA');
    joinSigners([artifact('file:///a', [sig, finding('public-key', 'x', 'RSA-2048', { fingerprint: 'aa' })])]);
    expect(sig.details).toBeUndefined();
    expect(sig.algorithm.parameterKnown).toBe(false);
  });

  it('CMS: IssuerAndSerialNumber and SubjectKeyIdentifier name a certificate', () => {
    const cert = finding('certificate', 'x509', 'RSA-2048', { issuer: 'CN=CA', serial: '0a1b', subject: 'CN=signer', details: { subjectKeyId: 'c0ffee' } });
    const bySerial = finding('signature', 'cms', 'RSA', { details: { signerIdentifier: 'issuer:CN=CA;serial:0a1b' } });
    const bySki = finding('signature', 'cms', 'RSA', { details: { signerIdentifier: 'subjectKeyIdentifier:c0ffee' } });
    const absent = finding('signature', 'cms', 'RSA', { details: { signerIdentifier: 'issuer:CN=CA;serial:ffff' } });
    joinSigners([artifact('file:///c.crt', [cert]), artifact('file:///m.p7s', [bySerial, bySki, absent])]);
    expect([bySerial.algorithm.id, bySki.algorithm.id, absent.algorithm.id]).toEqual(['RSA-2048', 'RSA-2048', 'RSA']);
    expect(absent.details?.signerInScan).toBe(false);
  });

  it("a certificate's signature is sized by its issuer's certificate elsewhere in the scan, not by a same-named other key", () => {
    const sigAlg = cat.resolve(cat.oid('1.2.840.113549.1.1.11')).algorithm;
    const leaf = finding('certificate', 'x509', 'ECDSA-P256', {
      subject: 'CN=leaf',
      issuer: 'CN=CA',
      details: { signatureAlgorithm: sigAlg, selfSigned: false },
    });
    const ca = finding('certificate', 'x509', 'RSA-4096', { subject: 'CN=CA', issuer: 'CN=CA', details: { selfSigned: true } });
    joinSigners([artifact('file:///leaf.pem', [leaf]), artifact('file:///ca.pem', [ca])]);
    expect(leaf.details).toMatchObject({ signatureAlgorithm: { id: 'RSA-4096', hash: 'SHA-256' }, signatureParameterFrom: 'joined-key' });
    // Two CA keys under one name: ambiguous, so no size.
    const leaf2 = finding('certificate', 'x509', 'ECDSA-P256', {
      subject: 'CN=leaf',
      issuer: 'CN=CA',
      details: { signatureAlgorithm: sigAlg, selfSigned: false },
    });
    const ca2 = finding('certificate', 'x509', 'RSA-2048', { subject: 'CN=CA', issuer: 'CN=CA', details: { selfSigned: true } });
    joinSigners([artifact('file:///leaf.pem', [leaf2]), artifact('file:///ca.pem', [ca]), artifact('file:///ca2.pem', [ca2])]);
    expect(leaf2.details?.signatureAlgorithm).toMatchObject({ id: 'RSA', parameterKnown: false });
  });

  it('is idempotent', () => {
    const key = finding('public-key', 'openpgp', 'DSA-2048', { fingerprint: '00'.repeat(12) + '1122334455667788' });
    const sig = finding('signature', 'openpgp', 'DSA', { details: { issuerKeyId: '1122334455667788' } });
    const arts = [artifact('file:///k', [key]), artifact('file:///s', [sig])];
    joinSigners(arts);
    const once = structuredClone(sig);
    joinSigners(arts);
    expect(sig).toEqual(once);
    expect(sig.algorithm.id).toBe('DSA-2048');
  });
});

describe('joinSigners in a scan (gpg-made fixtures)', () => {
  const dir = join(FIXTURES, 'openpgp');
  const uri = (f: string) => pathToFileURL(join(dir, f)).href;
  it('a detached DSA signature and its key in another file: DSA-2048 from the key, linked', async () => {
    const r = await scanPaths(
      join(dir, 'detached-dsa.sig'),
      join(dir, 'dsa2048-elg2048.pub.asc'),
      join(dir, 'clearsigned-p256.txt.asc'),
      join(dir, 'p256.pub.asc'),
    );
    const sig = r.artifacts.find((a) => a.uri === uri('detached-dsa.sig'))!.findings[0];
    const keyArtifact = r.artifacts.find((a) => a.uri === uri('dsa2048-elg2048.pub.asc'))!;
    const primary = keyArtifact.findings.find((f) => f.kind === 'public-key' && f.algorithm.id === 'DSA-2048')!;
    expect(sig.algorithm).toMatchObject({ id: 'DSA-2048', hash: 'SHA-256' });
    expect(sig.algorithm.parameterKnown).toBeUndefined();
    expect(sig.details).toMatchObject({
      parameterFrom: 'joined-key',
      signerInScan: true,
      signerRef: { uri: keyArtifact.uri, finding: findingId(keyArtifact, primary) },
    });
    // ECDSA: the curve comes from the key, never from r/s.
    const ec = r.artifacts.find((a) => a.uri === uri('clearsigned-p256.txt.asc'))!.findings[0];
    expect(ec.algorithm.id).toBe('ECDSA-P256');
    expect(ec.details?.parameterFrom).toBe('joined-key');
  });

  it('without the key the signature says its signer is not in the scan', async () => {
    const r = await scanPaths(join(dir, 'detached-dsa.sig'));
    expect(r.artifacts[0].findings[0].details).toMatchObject({ signerInScan: false });
    expect(r.artifacts[0].findings[0].algorithm).toMatchObject({ id: 'DSA', parameterKnown: false });
  });
});
