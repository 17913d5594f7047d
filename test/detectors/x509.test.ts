/**
 * X.509: PEM/DER, bundles and chains, the carver, every key type (classical, PQ, composite), and bad input.
 * Expectations for generated fixtures are cross-checked against `openssl x509` where that is cheap.
 */
import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { detectX509 } from '../../src/detectors/x509.js';
import { claims, DETECTORS } from '../../src/detectors/index.js';
import { x509Detector } from '../../src/detectors/x509.js';
import { needPrograms, requirePrerequisite } from '../helpers/prerequisites.js';
import { ctxFor, detectAll, FIXTURES, summary } from '../helpers/scan.js';

const PKI = join(FIXTURES, 'pki');
const read = (rel: string) => new Uint8Array(readFileSync(join(PKI, rel)));
const x509 = (name: string, bytes: Uint8Array) => {
  const r = detectX509(bytes, ctxFor(name, bytes));
  return { findings: r.findings, errors: r.errors ?? [] };
};

describe('x509: PEM and DER', () => {
  it('names the subject key and the signature hash, with validity and a SHA-256 fingerprint of the DER', () => {
    const der = read('certs/rsa2048.der');
    const { findings, errors } = x509('rsa2048.der', der);
    expect(errors).toEqual([]);
    expect(findings).toHaveLength(1);
    const f = findings[0];
    expect([f.kind, f.format, f.algorithm.id, f.algorithm.hash, f.quantum.status, f.quantum.classicalBits]).toEqual([
      'certificate',
      'x509',
      'RSA-2048',
      'SHA-256',
      'vulnerable',
      112,
    ]);
    expect(f.subject).toBe('CN=shelflife fixture rsa2048');
    expect(f.location.offset).toBe(0);
    expect(f.fingerprint).toBe(createHash('sha256').update(der).digest('hex'));
    expect(f.details?.selfSigned).toBe(true);
    expect((f.details?.signatureAlgorithm as { id: string }).id).toBe('RSA-2048'); // self-signed: signer key is the subject key
  });

  it('agrees with openssl x509 on key size, validity and fingerprint', (ctx) => {
    requirePrerequisite(ctx, needPrograms('the openssl x509 cross-check', 'openssl'));
    for (const file of ['certs/rsa3072.crt', 'certs/rsa8192.pem', 'certs/dsa2048.pem', 'certs/ec-P-521.pem']) {
      const [f] = x509(file, read(file)).findings;
      const text = execFileSync('openssl', ['x509', '-in', join(PKI, file), '-noout', '-text', '-fingerprint', '-sha256', '-enddate'], { encoding: 'utf8' });
      const bits = Number(text.match(/Public-Key: \((\d+) bit\)/)![1]);
      expect(f.algorithm.id.endsWith(String(bits)) || (bits === 521 && f.algorithm.id === 'ECDSA-P521'), `${file}: ${f.algorithm.id} vs ${bits}`).toBe(true);
      const fp = text
        .match(/sha256 Fingerprint=([0-9A-F:]+)/i)![1]
        .replace(/:/g, '')
        .toLowerCase();
      expect(f.fingerprint).toBe(fp);
      expect(new Date(f.notAfter!).getTime()).toBe(Date.parse(text.match(/notAfter=(.+)/)![1]));
    }
  });

  it('covers every named curve of the fixtures, Edwards keys and RSASSA-PSS', () => {
    const ids = Object.fromEntries(
      [
        'ec-P-224',
        'ec-P-256',
        'ec-P-384',
        'ec-P-521',
        'ec-secp256k1',
        'ec-brainpoolP256r1',
        'ec-brainpoolP256t1',
        'ec-brainpoolP384r1',
        'ec-brainpoolP512r1',
        'ed25519',
        'ed448',
        'rsapss',
      ].map((n) => [n, x509(`${n}.pem`, read(`certs/${n}.pem`)).findings.map((f) => `${f.algorithm.id}${f.algorithm.hash ? `/${f.algorithm.hash}` : ''}`)[0]]),
    );
    expect(ids).toEqual({
      'ec-P-224': 'ECDSA-P224/SHA-256',
      'ec-P-256': 'ECDSA-P256/SHA-256',
      'ec-P-384': 'ECDSA-P384/SHA-256',
      'ec-P-521': 'ECDSA-P521/SHA-256',
      'ec-secp256k1': 'ECDSA-secp256k1/SHA-256',
      'ec-brainpoolP256r1': 'ECDSA-brainpoolP256r1/SHA-256',
      'ec-brainpoolP256t1': 'ECDSA-brainpoolP256t1/SHA-256',
      'ec-brainpoolP384r1': 'ECDSA-brainpoolP384r1/SHA-256',
      'ec-brainpoolP512r1': 'ECDSA-brainpoolP512r1/SHA-256',
      ed25519: 'Ed25519',
      ed448: 'Ed448',
      rsapss: 'RSA-2048/SHA-256', // hash read from RSASSA-PSS-params
    });
  });

  it('names an explicit-parameter EC key by its curve and flags it', () => {
    const [f] = x509('ec-explicit.pem', read('certs/ec-explicit.pem')).findings;
    expect(f.algorithm.id).toBe('ECDSA-P256');
    expect(f.details?.explicitCurveParameters).toBe(true);
  });

  it('reads a chain and a bundle, each certificate at its BEGIN line, and sizes signatures by the issuer in the file', () => {
    const pem = read('certs/chain.pem');
    const { findings } = x509('chain.pem', pem);
    const text = Buffer.from(pem).toString('latin1');
    const begins = [...text.matchAll(/-----BEGIN CERTIFICATE-----/g)].map((m) => m.index);
    expect(findings.map((f) => f.location.offset)).toEqual(begins);
    expect(findings.map((f) => f.subject)).toEqual(['CN=fixture leaf', 'CN=fixture intermediate', 'CN=fixture root']);
    const sigIds = findings.map((f) => (f.details?.signatureAlgorithm as { id: string }).id);
    expect(sigIds).toEqual(['RSA-3072', 'ECDSA-P384', 'ECDSA-P384']); // leaf ← intermediate ← root ← root
    expect(summary(x509('bundle.crt', read('certs/bundle.crt')).findings)).toEqual([
      'certificate x509 ECDSA-brainpoolP256r1/SHA-256',
      'certificate x509 Ed25519',
      'certificate x509 RSA-2048/SHA-256',
    ]);
  });

  it('carves a DER certificate at an odd offset out of random bytes', () => {
    const blob = read('certs/embedded.bin');
    const { findings, errors } = x509('embedded.bin', blob);
    expect(errors).toEqual([]);
    expect(findings.map((f) => [f.algorithm.id, f.location.offset])).toEqual([['RSA-2048', 1337]]);
    expect(findings[0].fingerprint).toBe(createHash('sha256').update(read('certs/rsa2048.der')).digest('hex'));
  });

  it('finds nothing, and says nothing, in random bytes of an unremarkable name', () => {
    const noise = new Uint8Array(64 * 1024);
    for (let i = 0; i < noise.length; i++) noise[i] = (i * 2654435761) >>> 24;
    expect(x509('noise.bin', noise)).toEqual({ findings: [], errors: [] });
  });
});

describe('x509: post-quantum and composite certificates', () => {
  it('reads RFC 9881 ML-DSA and RFC 9909 SLH-DSA certificates as resistant, with NIST levels', () => {
    const got = ['mldsa44', 'mldsa65', 'mldsa87', 'slhdsa-sha2-128s', 'slhdsa-shake-128s'].map((n) => {
      const [f] = x509(`${n}.der`, read(`certs/${n}.der`)).findings;
      return [f.algorithm.id, f.quantum.status, f.quantum.nistLevel];
    });
    expect(got).toEqual([
      ['ML-DSA-44', 'resistant', 2],
      ['ML-DSA-65', 'resistant', 3],
      ['ML-DSA-87', 'resistant', 5],
      ['SLH-DSA-SHA2-128s', 'resistant', 1],
      ['SLH-DSA-SHAKE-128s', 'resistant', 1],
    ]);
  });

  it('reads the RFC 9881 example certificate (lamps-wg/dilithium-certificates)', () => {
    const [f] = x509('lamps-ML-DSA-44.crt', read('realworld/lamps-ML-DSA-44.crt')).findings;
    expect([f.algorithm.id, f.quantum.status, f.subject]).toEqual(['ML-DSA-44', 'resistant', 'CN=LAMPS WG,O=IETF']);
  });

  // draft-ietf-lamps-pq-composite-sigs test vectors: the x5c certificate of each of the 21 algorithms.
  const VECTORS = join(import.meta.dirname, '..', 'vendor', 'composite-sigs', 'testvectors.json');
  const EXPECTED: Record<string, [string, 'resistant' | 'hybrid']> = {
    'id-ML-DSA-44': ['ML-DSA-44', 'resistant'],
    'id-ML-DSA-65': ['ML-DSA-65', 'resistant'],
    'id-ML-DSA-87': ['ML-DSA-87', 'resistant'],
    'id-MLDSA44-RSA2048-PSS-SHA256': ['ML-DSA-44+RSA-2048', 'hybrid'],
    'id-MLDSA44-RSA2048-PKCS15-SHA256': ['ML-DSA-44+RSA-2048', 'hybrid'],
    'id-MLDSA44-Ed25519-SHA512': ['ML-DSA-44+Ed25519', 'hybrid'],
    'id-MLDSA44-ECDSA-P256-SHA256': ['ML-DSA-44+ECDSA-P256', 'hybrid'],
    'id-MLDSA65-RSA3072-PSS-SHA512': ['ML-DSA-65+RSA-3072', 'hybrid'],
    'id-MLDSA65-RSA3072-PKCS15-SHA512': ['ML-DSA-65+RSA-3072', 'hybrid'],
    'id-MLDSA65-RSA4096-PSS-SHA512': ['ML-DSA-65+RSA-4096', 'hybrid'],
    'id-MLDSA65-RSA4096-PKCS15-SHA512': ['ML-DSA-65+RSA-4096', 'hybrid'],
    'id-MLDSA65-ECDSA-P256-SHA512': ['ML-DSA-65+ECDSA-P256', 'hybrid'],
    'id-MLDSA65-ECDSA-P384-SHA512': ['ML-DSA-65+ECDSA-P384', 'hybrid'],
    'id-MLDSA65-ECDSA-brainpoolP256r1-SHA512': ['ML-DSA-65+ECDSA-brainpoolP256r1', 'hybrid'],
    'id-MLDSA65-Ed25519-SHA512': ['ML-DSA-65+Ed25519', 'hybrid'],
    'id-MLDSA87-ECDSA-P384-SHA512': ['ML-DSA-87+ECDSA-P384', 'hybrid'],
    'id-MLDSA87-ECDSA-brainpoolP384r1-SHA512': ['ML-DSA-87+ECDSA-brainpoolP384r1', 'hybrid'],
    'id-MLDSA87-Ed448-SHAKE256': ['ML-DSA-87+Ed448', 'hybrid'],
    'id-MLDSA87-RSA3072-PSS-SHA512': ['ML-DSA-87+RSA-3072', 'hybrid'],
    'id-MLDSA87-RSA4096-PSS-SHA512': ['ML-DSA-87+RSA-4096', 'hybrid'],
    'id-MLDSA87-ECDSA-P521-SHA512': ['ML-DSA-87+ECDSA-P521', 'hybrid'],
  };

  it('detects the x5c certificate of every composite-sigs test vector with its canonical id', () => {
    const { tests } = JSON.parse(readFileSync(VECTORS, 'utf8')) as { tests: { tcId: string; x5c: string }[] };
    expect(tests.map((t) => t.tcId).sort()).toEqual(Object.keys(EXPECTED).sort());
    for (const t of tests) {
      const der = new Uint8Array(Buffer.from(t.x5c, 'base64'));
      const { findings, errors } = x509(`${t.tcId}.der`, der);
      expect(errors, t.tcId).toEqual([]);
      expect(
        findings.map((f) => [f.algorithm.id, f.quantum.status]),
        t.tcId,
      ).toEqual([EXPECTED[t.tcId]]);
      // The same certificate buried in other bytes is found by the carver at its offset.
      const buried = new Uint8Array(der.length + 101);
      buried.set(der, 57);
      expect(
        x509('blob.bin', buried).findings.map((f) => [f.algorithm.id, f.location.offset]),
        t.tcId,
      ).toEqual([[EXPECTED[t.tcId][0], 57]]);
    }
  });
});

describe('x509: bad input', () => {
  it('reports a truncated or mis-length certificate file named .der, and random bytes named .crt', () => {
    for (const file of ['bad/truncated.der', 'bad/wrong-length.der', 'bad/random.crt']) {
      const { findings, errors } = x509(file.split('/')[1], read(file));
      expect(findings, file).toEqual([]);
      expect(
        errors.map((e) => e.code),
        file,
      ).toEqual(['malformed']);
      expect(errors[0].message.startsWith('file:')).toBe(false);
    }
  });

  it('reports a PEM block with bad base64 at its offset, and still reads the good blocks beside it', () => {
    const bad = Buffer.from(read('bad/bad-base64.pem')).toString('latin1');
    const good = Buffer.from(read('certs/rsa1024.pem')).toString('latin1');
    const bytes = new TextEncoder().encode(`${good}\n${bad}`);
    const { findings, errors } = x509('mixed.pem', bytes);
    expect(summary(findings)).toEqual(['certificate x509 RSA-1024/SHA-1']);
    expect(errors).toHaveLength(1);
    expect(errors[0].offset).toBe(good.length + 1);
    expect(errors[0].message).toMatch(/outside base64/);
  });

  it('reports a PEM certificate whose DER is cut short as truncated', () => {
    const der = read('certs/rsa2048.der').subarray(0, 500);
    const pem = `-----BEGIN CERTIFICATE-----\n${Buffer.from(der).toString('base64')}\n-----END CERTIFICATE-----\n`;
    const { findings, errors } = x509('cut.pem', new TextEncoder().encode(pem));
    expect(findings).toEqual([]);
    expect(errors.map((e) => e.code)).toEqual(['truncated']);
  });

  it('does not let a corrupted certificate crash the registry: mutations give findings or errors, never a crash', () => {
    const base = read('certs/rsa2048.der');
    for (let i = 0; i < base.length; i += 7) {
      const m = new Uint8Array(base);
      m[i] ^= 0x5a;
      const r = detectAll('m.der', m);
      expect(
        r.errors.filter((e) => e.code === 'detector-crash'),
        `byte ${i}`,
      ).toEqual([]);
    }
  });

  it('claims certificates by name, PEM label and anywhere (carver)', () => {
    expect(DETECTORS).toContain(x509Detector);
    expect(claims(x509Detector, new Uint8Array(0), { name: 'x.bin', baseOffset: 0 })).toBe(true);
    expect(x509Detector.claims.names).toEqual(expect.arrayContaining(['*.crt', '*.cer', '*.der', '*.pem']));
  });

  it('reads every certificate fixture without an error', () => {
    for (const file of readdirSync(join(PKI, 'certs'))) {
      const r = x509(file, read(`certs/${file}`));
      expect(r.errors, file).toEqual([]);
      expect(r.findings.length, file).toBeGreaterThan(0);
    }
  });
});
