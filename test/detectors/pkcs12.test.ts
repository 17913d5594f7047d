/** PKCS#12: OpenSSL 3 default, -legacy, unencrypted parts, keytool; MAC and per-part protection; bad input. */
import { execFileSync, spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { encodeOid } from '../../src/pkix/der.js';
import { claims } from '../../src/detectors/index.js';
import { detectPkcs12, pkcs12Detector } from '../../src/detectors/pkcs12.js';
import { needPrograms, requirePrerequisite } from '../helpers/prerequisites.js';
import { ctxFor, detectAll, FIXTURES, summary } from '../helpers/scan.js';

const PKI = join(FIXTURES, 'pki');
const PASS = 'fixture-pass';
const read = (rel: string) => new Uint8Array(readFileSync(join(PKI, rel)));
const p12 = (rel: string, bytes = read(rel)) => detectPkcs12(bytes, ctxFor(rel.split('/').pop()!, bytes));

/** `openssl pkcs12 -info` lines: "MAC: sha256, Iteration 2048", "PKCS7 Encrypted data: PBES2, PBKDF2, AES-256-CBC, Iteration 2048, …". */
function opensslInfo(rel: string, legacy = false): string {
  // openssl prints the MAC and bag lines on stderr.
  const r = spawnSync('openssl', ['pkcs12', '-info', '-noout', ...(legacy ? ['-legacy'] : []), '-in', join(PKI, rel), '-passin', `pass:${PASS}`], {
    encoding: 'utf8',
  });
  expect(r.status, r.stderr).toBe(0);
  return `${r.stdout}${r.stderr}`;
}

const OPENSSL_MISSING = needPrograms('the openssl pkcs12 cross-checks', 'openssl');

describe('pkcs12: stores as written by the usual tools', () => {
  it('OpenSSL 3 default: PBES2/PBKDF2/AES-256-CBC for certificates and key, HMAC-SHA-256 MAC', () => {
    const r = p12('pkcs12/openssl-default.p12');
    expect(r.errors).toEqual([]);
    expect(summary(r.findings)).toEqual(['encrypted-data pkcs12 AES-256', 'encrypted-data pkcs12 AES-256', 'private-key pkcs12 RSA-2048']);
    expect(r.annotations?.['pkcs12.mac']).toBe('HMAC-SHA-256');
    expect(r.findings.find((f) => f.details?.role === 'key-protection')!.details).toMatchObject({ scheme: 'PBES2', structure: 'EncryptedPrivateKeyInfo' });
    expect(r.findings.find((f) => f.kind === 'encrypted-data')!.details).toMatchObject({
      scheme: 'PBES2',
      kdf: 'PBKDF2',
      prf: 'hmacWithSHA256',
      structure: 'EncryptedData',
    });
    expect(r.findings.find((f) => f.kind === 'private-key')!.details).toMatchObject({
      encrypted: true,
      protection: 'AES-256',
      keyAlgorithmFrom: 'ciphertext length',
      friendlyName: 'fixture',
      mac: { algorithm: 'HMAC-SHA-256' },
    });
  });

  it('OpenSSL 3 default: the MAC, PBES2 parameters and iteration counts are what openssl pkcs12 -info says', (ctx) => {
    requirePrerequisite(ctx, OPENSSL_MISSING);
    const r = p12('pkcs12/openssl-default.p12');
    const info = opensslInfo('pkcs12/openssl-default.p12');
    const [, macHash, macIter] = info.match(/MAC: (\w+), Iteration (\d+)/)!;
    expect(r.annotations).toEqual({ 'pkcs12.mac': `HMAC-${macHash.toUpperCase().replace('SHA', 'SHA-')}`, 'pkcs12.macIterations': macIter });
    const [, certIter] = info.match(/PKCS7 Encrypted data: PBES2, PBKDF2, AES-256-CBC, Iteration (\d+), PRF (\w+)/)!;
    const certs = r.findings.find((f) => f.kind === 'encrypted-data')!;
    expect(certs.details).toMatchObject({ scheme: 'PBES2', kdf: 'PBKDF2', iterations: Number(certIter), prf: 'hmacWithSHA256', structure: 'EncryptedData' });
    const key = r.findings.find((f) => f.kind === 'private-key')!;
    expect(key.details).toMatchObject({ encrypted: true, friendlyName: 'fixture', mac: { algorithm: 'HMAC-SHA-256', iterations: Number(macIter) } });
    expect(info).toMatch(/Shrouded Keybag: PBES2, PBKDF2, AES-256-CBC/);
  });

  it('-legacy: RC2-40 for certificates, 3DES for the key, SHA-1 MAC', () => {
    const r = p12('pkcs12/openssl-legacy.pfx');
    expect(summary(r.findings)).toEqual(['encrypted-data pkcs12 3DES/SHA-1', 'encrypted-data pkcs12 RC2-40/SHA-1', 'private-key pkcs12 RSA-2048']);
    expect(r.annotations?.['pkcs12.mac']).toBe('HMAC-SHA-1');
    expect(r.findings[0].details).toMatchObject({ scheme: 'pbewithSHAAnd40BitRC2-CBC' });
    expect(r.findings[0].quantum.status).toBe('weakened');
  });

  it('-legacy: the RC2-40 iteration count is what openssl pkcs12 -info says', (ctx) => {
    requirePrerequisite(ctx, OPENSSL_MISSING);
    const r = p12('pkcs12/openssl-legacy.pfx');
    const info = opensslInfo('pkcs12/openssl-legacy.pfx', true);
    const [, iter] = info.match(/pbeWithSHA1And40BitRC2-CBC, Iteration (\d+)/)!;
    expect(r.findings[0].details).toMatchObject({ scheme: 'pbewithSHAAnd40BitRC2-CBC', iterations: Number(iter) });
    expect(r.findings[0].quantum.status).toBe('weakened');
  });

  it('reports plain contents: the certificate at its offset (de-duplicated against the carver) and the key', () => {
    const bytes = read('pkcs12/unencrypted.p12');
    const r = p12('pkcs12/unencrypted.p12');
    expect(summary(r.findings)).toEqual(['certificate pkcs12 ECDSA-P256/SHA-256', 'private-key pkcs12 ECDSA-P256']);
    const cert = r.findings.find((f) => f.kind === 'certificate')!;
    expect(cert.subject).toBe('CN=fixture leaf');
    // The certificate's DER sits verbatim in the file: its offset is where it starts.
    const at = cert.location.offset!;
    expect(bytes[at]).toBe(0x30);
    expect(summary(detectAll('unencrypted.p12', bytes).findings)).toEqual(summary(r.findings));
  });

  it('links a shrouded key to its plain certificate by localKeyId (a store made by openssl here)', (ctx) => {
    requirePrerequisite(ctx, OPENSSL_MISSING);
    const dir = mkdtempSync(join(tmpdir(), 'shelflife-p12-'));
    try {
      execFileSync(
        'openssl',
        [
          'req',
          '-x509',
          '-nodes',
          '-newkey',
          'ec',
          '-pkeyopt',
          'ec_paramgen_curve:P-384',
          '-subj',
          '/CN=linked',
          '-keyout',
          join(dir, 'k.pem'),
          '-out',
          join(dir, 'c.pem'),
        ],
        { stdio: 'ignore' },
      );
      execFileSync(
        'openssl',
        [
          'pkcs12',
          '-export',
          '-certpbe',
          'NONE',
          '-in',
          join(dir, 'c.pem'),
          '-inkey',
          join(dir, 'k.pem'),
          '-passout',
          `pass:${PASS}`,
          '-out',
          join(dir, 'x.p12'),
        ],
        { stdio: 'ignore' },
      );
      const bytes = new Uint8Array(readFileSync(join(dir, 'x.p12')));
      const r = detectPkcs12(bytes, ctxFor('x.p12', bytes));
      const key = r.findings.find((f) => f.kind === 'private-key')!;
      expect([key.algorithm.id, key.details?.keyAlgorithmFrom, key.details?.certificateSubject]).toEqual([
        'ECDSA-P384',
        'certificate (localKeyId)',
        'CN=linked',
      ]);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('keytool (JDK 17): PBES2 AES-256 with HMAC-SHA-256 PRF, and its MAC', () => {
    const r = p12('pkcs12/keytool.p12');
    expect(r.errors).toEqual([]);
    // keytool writes the P-384 key without its public key: its length fits an ML-KEM seed key too, so it is not named.
    expect(summary(r.findings)).toEqual(['encrypted-data pkcs12 AES-256', 'encrypted-data pkcs12 AES-256', 'private-key pkcs12 unknown']);
    expect(r.findings.find((f) => f.kind === 'private-key')!.details?.keyAlgorithmCandidates).toContain('ECDSA-P384');
    expect(r.findings.filter((f) => f.kind === 'encrypted-data').every((f) => f.details?.prf === 'hmacWithSHA256')).toBe(true);
    expect(r.annotations).toEqual({ 'pkcs12.mac': 'HMAC-SHA-256', 'pkcs12.macIterations': '10000' });
  });
});

describe('pkcs12: BER', () => {
  it('joins an AuthenticatedSafe split into constructed OCTET STRING chunks, reporting offsets in the file', () => {
    const tlv = (tag: number, ...p: Uint8Array[]) => {
      const body = Buffer.concat(p);
      return Uint8Array.from([tag, 0x82, body.length >> 8, body.length & 0xff, ...body]);
    };
    const oid = (o: string) => tlv(0x06, encodeOid(o));
    const data = oid('1.2.840.113549.1.7.1');
    const cert = read('certs/rsa2048.der');
    const certBag = tlv(0x30, oid('1.2.840.113549.1.12.10.1.3'), tlv(0xa0, tlv(0x30, oid('1.2.840.113549.1.9.22.1'), tlv(0xa0, tlv(0x04, cert)))));
    const authSafe = tlv(0x30, tlv(0x30, data, tlv(0xa0, tlv(0x04, tlv(0x30, certBag)))));
    const chunked = tlv(0x24, tlv(0x04, authSafe.subarray(0, 100)), tlv(0x04, authSafe.subarray(100)));
    const pfx = tlv(0x30, Uint8Array.from([0x02, 0x01, 0x03]), tlv(0x30, data, tlv(0xa0, chunked)));
    const r = detectPkcs12(pfx, ctxFor('ber.p12', pfx));
    expect(r.errors).toEqual([]);
    expect(summary(r.findings)).toEqual(['certificate pkcs12 RSA-2048/SHA-256']);
    expect(r.findings[0].location.offset).toBe(Buffer.from(pfx).indexOf(Buffer.from(chunked)));
  });
});

describe('pkcs12: bad input and claims', () => {
  it('reports random bytes named .p12 as malformed and a cut file as truncated, naming the artifact', () => {
    const rnd = detectAll('random.p12', read('bad/random.p12'));
    expect(rnd.findings).toEqual([]);
    expect(rnd.errors.map((e) => [e.source, e.code])).toEqual([['pkcs12', 'malformed']]);
    const cut = detectAll('truncated.p12', read('bad/truncated.p12'));
    expect(cut.errors.map((e) => [e.source, e.code])).toEqual([['pkcs12', 'truncated']]);
    expect(cut.errors[0].message).not.toMatch(/^file:|^pkcs12:/);
  });

  it('claims PFX by magic without a name, and stays silent on other DER that happens to match the magic', () => {
    const bytes = read('pkcs12/openssl-default.p12');
    expect(claims(pkcs12Detector, bytes, { name: 'store.bin', baseOffset: 0 })).toBe(true);
    expect(summary(detectPkcs12(bytes, ctxFor('store.bin', bytes)).findings)).toEqual([
      'encrypted-data pkcs12 AES-256',
      'encrypted-data pkcs12 AES-256',
      'private-key pkcs12 RSA-2048',
    ]);
    // SEQUENCE { INTEGER 3, SEQUENCE { NULL … } }: the magic matches, the shape does not.
    const lookalike = Uint8Array.from([0x30, 0x82, 0x00, 0x09, 0x02, 0x01, 0x03, 0x30, 0x82, 0x00, 0x02, 0x05, 0x00]);
    expect(claims(pkcs12Detector, lookalike, { name: 'x.bin', baseOffset: 0 })).toBe(true);
    expect(detectPkcs12(lookalike, ctxFor('x.bin', lookalike))).toEqual({ findings: [] });
  });

  it('never crashes the registry on corrupted stores', () => {
    const base = read('pkcs12/unencrypted.p12');
    for (let i = 0; i < base.length; i += 5) {
      const m = new Uint8Array(base);
      m[i] ^= 0x3c;
      const r = detectAll('m.p12', m);
      expect(
        r.errors.filter((e) => e.code === 'detector-crash'),
        `byte ${i}`,
      ).toEqual([]);
    }
  });
});
