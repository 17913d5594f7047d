/**
 * Signature checks against --trust: the model-transparency samples (key, certificate chain, Sigstore), real signed
 * SLSA material from slsa-verifier (a Sigstore-signed SLSA v1 provenance from GitHub Actions; a key-signed VSA with
 * an IEEE P1363 ECDSA signature), and statements signed here with openssl.
 */
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { ShelflifeError } from '../../src/errors.js';
import { readEvidenceDocument } from '../../src/provenance/evidence.js';
import { parseModelSignature } from '../../src/provenance/model-signing.js';
import { loadTrust, NO_TRUST, type Trust } from '../../src/provenance/trust.js';
import { checkSignature, paeCompat, pythonBytesRepr } from '../../src/provenance/verify.js';
import { FIXTURES } from '../helpers/scan.js';

const P = join(FIXTURES, 'provenance');
const MT = join(P, 'realworld', 'model-transparency');
const SV = join(P, 'realworld', 'slsa-verifier');
const TRUST = loadTrust(join(P, 'trust.yaml'));

function trustFile(yaml: string): Trust {
  const d = mkdtempSync(join(tmpdir(), 'shelflife-trust-'));
  const f = join(d, 'trust.yaml');
  writeFileSync(f, yaml.replaceAll('$P', P));
  return loadTrust(f);
}

const modelCheck = (sample: string, trust: Trust) => {
  const s = parseModelSignature(readFileSync(join(MT, sample, 'model.sig')), sample);
  return checkSignature({ envelope: s.envelope, bundle: s.bundle, legacyModelSignature: s.manifest.legacy }, trust);
};

describe('signature checks', () => {
  it('key-signed samples verify with the trusted public key (v0.2 through its legacy PAE)', () => {
    for (const v of ['v0.2.0-certificate', 'v0.3.1-elliptic-key', 'v1.0.0-elliptic-key', 'v1.0.1-elliptic-key', 'v1.1.0-elliptic-key']) {
      const c = modelCheck(v, TRUST);
      expect(c.status, v).toBe('verified');
      expect(c.principal?.name).toBe('model-transparency-key');
      expect(c.algorithm?.algorithm.id).toBe('ECDSA-P384');
    }
  });

  it('certificate-signed samples verify through a chain to the trusted root (no key pinned)', () => {
    const trust = trustFile('certificates:\n  - name: mt-ca\n    roots: $P/realworld/model-transparency/keys/ca-cert.pem\n');
    for (const v of ['v0.2.0-certificate', 'v0.3.1-certificate', 'v1.0.0-certificate', 'v1.0.1-certificate', 'v1.1.0-certificate']) {
      const c = modelCheck(v, trust);
      expect(c.status, `${v}: ${c.reason}`).toBe('verified');
      expect(c.method).toBe('certificate');
      expect(c.reason).toMatch(/chains to trusted roots "mt-ca"/);
    }
    // Another root: the chain does not lead to it, so the certificate is the signer's own word only.
    const other = trustFile('certificates:\n  - name: tsa\n    roots: $P/keys/tsa.crt\n');
    expect(modelCheck('v1.1.0-certificate', other).status).toBe('untrusted');
  });

  it('Sigstore samples verify offline against the trusted root, and only a listed identity is trusted', () => {
    for (const v of ['v0.3.1-sigstore', 'v1.0.0-sigstore', 'v1.0.1-sigstore', 'v1.1.0-sigstore']) {
      const c = modelCheck(v, TRUST);
      expect(c.status, `${v}: ${c.reason}`).toBe('verified');
      expect(c.signer).toBe('stefanb@us.ibm.com (issuer https://sigstore.verify.ibm.com/oauth2)');
      expect(c.time?.source).toBe('transparency-log');
    }
    const stranger = trustFile(
      'sigstore:\n  trustedRoot: $P/realworld/sigstore/trusted_root.json\n  identities:\n    - {name: x, subject: someone@example.org, issuer: https://accounts.google.com}\n',
    );
    const c = modelCheck('v1.1.0-sigstore', stranger);
    expect(c.status).toBe('untrusted');
    expect(c.reason).toMatch(/stefanb@us\.ibm\.com .* is not an identity in/);
    expect(modelCheck('v1.1.0-sigstore', NO_TRUST).status).toBe('untrusted');
  });

  it('no trust: key hints are unverifiable, embedded keys only untrusted', () => {
    expect(modelCheck('v1.1.0-elliptic-key', NO_TRUST).status).toBe('unverifiable');
    expect(modelCheck('v1.0.0-elliptic-key', NO_TRUST).status).toBe('untrusted'); // v1.0 embedded its PEM key
  });

  it('a changed payload fails, whoever is trusted', () => {
    const s = parseModelSignature(readFileSync(join(MT, 'v1.1.0-elliptic-key', 'model.sig')), 'x');
    const payload = new Uint8Array(s.envelope.payload);
    payload[payload.length - 3] ^= 1;
    expect(checkSignature({ envelope: { ...s.envelope, payload }, bundle: s.bundle }, TRUST).status).not.toBe('verified');
    const sig2 = parseModelSignature(readFileSync(join(MT, 'v1.0.0-elliptic-key', 'model.sig')), 'y');
    const p2 = new Uint8Array(sig2.envelope.payload);
    p2[10] ^= 1;
    expect(checkSignature({ envelope: { ...sig2.envelope, payload: p2 }, bundle: sig2.bundle }, NO_TRUST).status).toBe('failed');
  });

  it('the SLSA v1 provenance GitHub Actions signed for MODULE.bazel (slsa-verifier test data) verifies offline', () => {
    const r = readEvidenceDocument(readFileSync(join(SV, 'MODULE.bazel.intoto.jsonl')), 'file:///MODULE.bazel.intoto.jsonl', TRUST);
    expect(r.problems).toEqual([]);
    expect(r.statements[0].check.status).toBe('verified');
    expect(r.statements[0].check.principal?.name).toBe('bcr-publisher');
    expect(r.statements[0].statement.predicateType).toBe('https://slsa.dev/provenance/v1');
    // A bundle v0.2 with an in-toto Statement v0.1 (slsa-github-generator delegator): the identity is not trusted.
    const d = readEvidenceDocument(readFileSync(join(SV, 'binary-linux-amd64-workflow_dispatch.build.slsa')), 'file:///d', TRUST);
    expect(d.statements[0].check.status).toBe('untrusted');
    expect(d.statements[0].check.signer).toMatch(/delegator_generic_slsa3\.yml@refs\/tags\/v2\.1\.0/);
  });

  it("slsa-verifier's signed VSA verifies with its public key (r‖s ECDSA) and fails with another", () => {
    const t = trustFile('keys:\n  - name: bcid\n    publicKey: $P/realworld/slsa-verifier/vsa_signing_public_key.pem\n    approver: true\n');
    const r = readEvidenceDocument(readFileSync(join(SV, 'gke-gce-pre.bcid-vsa.jsonl')), 'file:///vsa', t);
    expect(r.statements[0].check.status).toBe('verified');
    expect(r.statements[0].statement.predicate.verificationResult).toBe('PASSED');
    expect(readEvidenceDocument(readFileSync(join(SV, 'gke-gce-pre.bcid-vsa.jsonl')), 'file:///vsa', TRUST).statements[0].check.status).toBe('unverifiable');
  });

  it('an RFC 3161 timestamp from a trusted TSA dates a key-signed test result', () => {
    const r = readEvidenceDocument(readFileSync(join(P, 'evidence', 'hf-model', 'test-result.sigstore.json')), 'file:///t', TRUST);
    const c = r.statements[0].check;
    expect(c.status).toBe('verified');
    expect(c.time?.source).toBe('rfc3161');
    expect(c.time?.authority).toBe('test-tsa');
    const tsaTime = JSON.parse(readFileSync(join(P, 'expected-provenance.json'), 'utf8')).tsaTime as string;
    expect(new Date(c.time!.at).getTime()).toBe(new Date(tsaTime.replace(/ +/g, ' ')).getTime());
    const noTsa = trustFile('keys:\n  - name: evaluator\n    publicKey: $P/keys/evaluator.pub.pem\n');
    expect(
      readEvidenceDocument(readFileSync(join(P, 'evidence', 'hf-model', 'test-result.sigstore.json')), 'file:///t', noTsa).statements[0].check.time,
    ).toBeUndefined();
  });

  it("reproduces Python's bytes repr for model-signing v0.2's PAE", () => {
    expect(pythonBytesRepr(new TextEncoder().encode(`{"a": "b"}\n`))).toBe(`b'{"a": "b"}\\n'`);
    expect(pythonBytesRepr(new TextEncoder().encode(`it's`))).toBe(`b"it's"`);
    expect(pythonBytesRepr(new TextEncoder().encode(`'"\\`))).toBe(`b'\\'"\\\\'`);
    expect(pythonBytesRepr(new Uint8Array([0, 0x7f, 0xff, 0x09, 0x0d]))).toBe(`b'\\x00\\x7f\\xff\\t\\r'`);
    expect(new TextDecoder().decode(paeCompat('t/x', new TextEncoder().encode('ab')))).toBe(`DSSEV1 3 t/x 2 b'ab'`);
  });

  it('a bad trust file is a config error naming the file and the field', () => {
    expect(() => trustFile('keys:\n  - name: k\n    publicKey: /nonexistent.pem\n')).toThrow(/keys\[k\]\.publicKey: cannot read \/nonexistent\.pem: ENOENT/);
    expect(() => trustFile('keyz: []\n')).toThrow(ShelflifeError);
    expect(() => trustFile('certificates:\n  - name: c\n')).toThrow(/give either roots or certificate/);
  });
});
