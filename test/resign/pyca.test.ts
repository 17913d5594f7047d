/**
 * Cross-check against a second implementation: pyca/cryptography (OpenSSL 4.0) verifies our ML-DSA signatures and
 * the ML-DSA half of our composite signatures (FIPS 204 with the Label as context), reads our encrypted key files,
 * and we verify its signatures and read its keys.
 */
import { execFileSync, spawnSync } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { selfSignedCertificate } from '../../src/resign/cert.js';
import { generateKey, messageRepresentative, prehash, publicKeyFromBytes, requireAlgorithm, sign, verify } from '../../src/resign/composite.js';
import { decodeKeyFile, encodeEncryptedKeyPem } from '../../src/resign/keys.js';
import { needPrograms, requirePrerequisiteForAll } from '../helpers/prerequisites.js';
import { tempDir } from './_helpers.js';

/** Why the cross-check cannot run here: no python3, or a pyca/cryptography without ML-DSA (it needs ≥ 45 on OpenSSL ≥ 3.5). */
function pycaMissing(): string | false {
  const noPython = needPrograms('the pyca/cryptography cross-checks', 'python3');
  if (noPython) return noPython;
  const probe = spawnSync('python3', ['-c', 'from cryptography.hazmat.primitives.asymmetric import mldsa'], { encoding: 'utf8', timeout: 30_000 });
  if (probe.status === 0) return false;
  const why = String(probe.stderr ?? probe.error?.message ?? '')
    .trim()
    .split('\n')
    .pop();
  return `the pyca/cryptography cross-checks: python3 has no cryptography.hazmat.primitives.asymmetric.mldsa (${why})`;
}

function py(script: string, input: object): Record<string, string> {
  const out = execFileSync('python3', ['-c', script], { input: JSON.stringify(input), encoding: 'utf8' });
  return JSON.parse(out);
}

const VERIFY = `
import sys, json, base64
from cryptography.hazmat.primitives.asymmetric import mldsa
from cryptography.exceptions import InvalidSignature
d = json.load(sys.stdin)
cls = getattr(mldsa, 'MLDSA%sPublicKey' % d['level'])
pk = cls.from_public_bytes(base64.b64decode(d['pk']))
res = {}
for name, c in d['cases'].items():
    try:
        pk.verify(base64.b64decode(c['sig']), base64.b64decode(c['msg']), base64.b64decode(c['ctx']) if c['ctx'] else None)
        res[name] = 'ok'
    except InvalidSignature:
        res[name] = 'invalid'
print(json.dumps(res))
`;

const SIGN = `
import sys, json, base64
from cryptography.hazmat.primitives.asymmetric import mldsa
from cryptography.hazmat.primitives import serialization
d = json.load(sys.stdin)
k = mldsa.MLDSA65PrivateKey.generate()
msg = base64.b64decode(d['msg'])
print(json.dumps({
  'pk': base64.b64encode(k.public_key().public_bytes_raw()).decode(),
  'sig': base64.b64encode(k.sign(msg)).decode(),
  'sigCtx': base64.b64encode(k.sign(msg, b'shelflife')).decode(),
  'pem': k.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.BestAvailableEncryption(b'pw')).decode(),
  'seed': base64.b64encode(k.private_bytes_raw()).decode(),
}))
`;

const B = (b: Uint8Array) => Buffer.from(b).toString('base64');

describe('pyca/cryptography cross-check', () => {
  requirePrerequisiteForAll(pycaMissing());
  it('pyca verifies our pure ML-DSA signatures (with and without context) and rejects a tampered one', () => {
    for (const level of ['44', '65', '87']) {
      const key = generateKey(requireAlgorithm(`mldsa${level}`));
      const msg = new TextEncoder().encode(`artifact bytes ${level}`);
      const ctx = new TextEncoder().encode('ctx');
      const sig = sign(key, msg);
      const res = py(VERIFY, {
        level,
        pk: B(key.publicKey.bytes),
        cases: {
          plain: { sig: B(sig), msg: B(msg), ctx: '' },
          withCtx: { sig: B(sign(key, msg, ctx)), msg: B(msg), ctx: B(ctx) },
          tampered: { sig: B(sig), msg: B(new TextEncoder().encode('other bytes')), ctx: '' },
        },
      });
      expect(res).toEqual({ plain: 'ok', withCtx: 'ok', tampered: 'invalid' });
    }
  });

  it("pyca verifies the ML-DSA half of our composite signature over M' with the Label as context", () => {
    const key = generateKey(requireAlgorithm('mldsa65-ecdsa-p256'));
    const msg = new TextEncoder().encode('firmware');
    const sig = sign(key, msg);
    const mPrime = messageRepresentative(key.alg, prehash(key.alg, msg));
    const half = sig.subarray(0, key.alg.mldsa.lengths.signature!);
    const res = py(VERIFY, {
      level: '65',
      pk: B(key.publicKey.mldsaPublic),
      cases: { half: { sig: B(half), msg: B(mPrime), ctx: B(key.alg.label!) }, noLabel: { sig: B(half), msg: B(mPrime), ctx: '' } },
    });
    expect(res).toEqual({ half: 'ok', noLabel: 'invalid' });
  });

  it('we verify pyca signatures and read its encrypted PKCS#8 (PBES2/PBKDF2) key', () => {
    const msg = new TextEncoder().encode('signed by OpenSSL 4');
    const out = py(SIGN, { msg: B(msg) });
    const pk = publicKeyFromBytes(requireAlgorithm('mldsa65'), Buffer.from(out.pk, 'base64'));
    expect(verify(pk, msg, Buffer.from(out.sig, 'base64')).valid).toBe(true);
    expect(verify(pk, msg, Buffer.from(out.sigCtx, 'base64'), new TextEncoder().encode('shelflife')).valid).toBe(true);
    expect(verify(pk, msg, Buffer.from(out.sigCtx, 'base64')).valid).toBe(false);
    const key = decodeKeyFile(Buffer.from(out.pem), () => 'pw', 'pyca.pem');
    expect(Buffer.from(key.seed).toString('base64')).toBe(out.seed);
    expect(Buffer.from(key.publicKey.bytes).toString('base64')).toBe(out.pk);
  });

  it('pyca reads our encrypted key file (scrypt + AES-256-CBC) and our ML-DSA certificate', () => {
    const key = generateKey(requireAlgorithm('mldsa65'));
    const dir = tempDir();
    writeFileSync(join(dir, 'k.pem'), encodeEncryptedKeyPem(key, 'pw'));
    writeFileSync(join(dir, 'c.der'), selfSignedCertificate(key, { subject: 'x', days: 1 }));
    const res = py(
      `
import sys, json, base64
from cryptography.hazmat.primitives import serialization
from cryptography import x509
d = json.load(sys.stdin)
k = serialization.load_pem_private_key(open(d['dir'] + '/k.pem','rb').read(), b'pw')
c = x509.load_der_x509_certificate(open(d['dir'] + '/c.der','rb').read())
c.public_key().verify(c.signature, c.tbs_certificate_bytes)
print(json.dumps({'seed': base64.b64encode(k.private_bytes_raw()).decode(), 'certKey': base64.b64encode(c.public_key().public_bytes_raw()).decode()}))
`,
      { dir },
    );
    expect(res.seed).toBe(B(key.seed));
    expect(res.certKey).toBe(B(key.publicKey.bytes));
  });
});
