/**
 * Keeping the chain across the migration: `resign` on a signed model writes a composite ML-DSA DSSE bundle of the
 * same Model Signing statement beside model.sig (never replacing it), and `provenance` then verifies the model's
 * integrity through the hybrid signature, with the classical one kept. Through the real binary.
 */
import { spawnSync } from 'node:child_process';
import { cpSync, existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import type { ProvenanceAnswer } from '../../src/provenance/answer.js';
import { FIXTURES } from '../helpers/scan.js';

const ROOT = join(import.meta.dirname, '..', '..');
const BIN = join(ROOT, 'bin', 'shelflife.js');
const P = join(FIXTURES, 'provenance');
const WORK = mkdtempSync(join(tmpdir(), 'shelflife-resign-model-'));
const env = { ...process.env, SHELFLIFE_KEY_PASSPHRASE: 'correct horse battery staple', SHELFLIFE_DB: join(WORK, 'inventory.db') };

function run(args: string[]) {
  const r = spawnSync(process.execPath, [BIN, ...args], { cwd: ROOT, encoding: 'utf8', timeout: 120_000, env });
  return { code: r.status, stdout: r.stdout, stderr: r.stderr };
}

afterAll(() => rmSync(WORK, { recursive: true, force: true }));

describe('resign keeps a model signature chain', () => {
  it('signs the same statement with composite ML-DSA beside model.sig; provenance verifies through it', () => {
    const model = join(WORK, 'hf-model');
    cpSync(join(P, 'models', 'hf-model'), model, { recursive: true });
    const original = readFileSync(join(model, 'model.sig'));
    expect(run(['keygen', '--alg', 'mldsa65-ecdsa-p256', '--out', join(WORK, 'release')]).code).toBe(0);
    const scan = run(['scan', model, '--format', 'json', '-o', join(WORK, 'scan.json')]);
    expect(scan.code, scan.stderr).toBe(0);
    const r = run(['resign', join(WORK, 'scan.json'), '--key', join(WORK, 'release'), '--uri', '**/model.sig', '--json']);
    expect(r.code, r.stderr + r.stdout).toBe(0);
    const outcome = JSON.parse(r.stdout).outcomes.find((o: { uri: string }) => o.uri.endsWith('/model.sig'));
    expect(outcome).toMatchObject({ status: 'signed' });
    expect(outcome.location).toMatch(/\/model\.sig\.hybrid\.json$/);
    // model.sig is untouched; the bundle carries the very statement model.sig signs.
    expect(readFileSync(join(model, 'model.sig')).equals(original)).toBe(true);
    const bundle = JSON.parse(readFileSync(join(model, 'model.sig.hybrid.json'), 'utf8'));
    const oms = JSON.parse(original.toString('utf8'));
    expect(bundle.mediaType).toBe('application/vnd.shelflife.hybrid-signature.v1+json');
    expect(bundle.dsseEnvelope.payload).toBe(oms.dsseEnvelope.payload);
    expect(bundle.algorithm.id).toBe('ML-DSA-65+ECDSA-P256');

    // Trust only the hybrid certificate: integrity is signed-verified through it, the classical signature is kept.
    writeFileSync(join(WORK, 'trust.yaml'), `certificates:\n  - name: hybrid-release\n    certificate: ${join(WORK, 'release.crt')}\n`);
    const p = run(['provenance', model, '--trust', join(WORK, 'trust.yaml'), '--require', 'integrity,quantum-safe']);
    expect(p.code, p.stderr).toBe(0);
    const a = JSON.parse(p.stdout) as ProvenanceAnswer;
    expect(a.integrity).toMatchObject({ status: 'verified', grade: 'signed-verified', added: [] });
    expect(a.integrity.signature?.status).toBe('unverifiable'); // the classical ECDSA P-384 one, still there
    expect(a.integrity.cosignatures[0]).toMatchObject({ status: 'verified', algorithm: 'ML-DSA-65+ECDSA-P256' });
    expect(a.quantum.signatures.map((s) => `${s.algorithm} ${s.quantum}`).sort()).toEqual(['ECDSA vulnerable', 'ML-DSA-65+ECDSA-P256 hybrid']);

    // A rerun is idempotent; a hybrid bundle over another statement does not count.
    const again = run(['resign', join(WORK, 'scan.json'), '--key', join(WORK, 'release'), '--uri', '**/model.sig', '--json']);
    expect(JSON.parse(again.stdout).outcomes.find((o: { uri: string }) => o.uri.endsWith('/model.sig')).status).toBe('skipped');
    const forged = {
      ...bundle,
      dsseEnvelope: { ...bundle.dsseEnvelope, payload: Buffer.from('{"_type":"https://in-toto.io/Statement/v1"}').toString('base64') },
    };
    writeFileSync(join(model, 'model.sig.hybrid.json'), JSON.stringify(forged));
    const f = run(['provenance', model, '--trust', join(WORK, 'trust.yaml'), '--require', 'integrity']);
    expect(f.code).toBe(1);
    expect(existsSync(join(model, 'model.sig'))).toBe(true);
  });
});
