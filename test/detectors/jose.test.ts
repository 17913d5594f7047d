import { constants, createHash, generateKeyPairSync, sign } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { claims } from '../../src/detectors/index.js';
import { detectJose, joseDetector } from '../../src/detectors/jose.js';
import { ctxFor, detectAll, FIXTURES, summary } from '../helpers/scan.js';

const DIR = join(FIXTURES, 'ssh-jose');
const read = (name: string) => readFileSync(join(DIR, name));
const jose = (name: string, bytes: Uint8Array | string = read(name)) => {
  const b = typeof bytes === 'string' ? new TextEncoder().encode(bytes) : bytes;
  const r = detectJose(b, ctxFor(name.split('/').pop()!, b));
  return { findings: r.findings, errors: r.errors ?? [] };
};
const b64u = (x: string | Uint8Array) => Buffer.from(x).toString('base64url');
const enc = (o: unknown) => b64u(JSON.stringify(o));
const payload = enc({ iss: 'me', iat: 1767225600, exp: 1798761600 });

/**
 * Follow a location path (`$.signatures[0].protected.x5c[0]`; a compact token's `protected.x5c[0]`) through a JOSE
 * document, decoding a protected header (base64url JSON) on the way, to the base64 DER it names: its SHA-256.
 */
function at(doc: string, path: string): string {
  let node: unknown = path.startsWith('$') ? JSON.parse(doc) : { protected: doc.split('.')[0] };
  for (const part of path.replace(/^\$\.?/, '').split('.')) {
    const m = part.match(/^([^[]+)((?:\[\d+\])*)$/)!;
    node = (node as Record<string, unknown>)[m[1]];
    if (m[1] === 'protected') node = JSON.parse(Buffer.from(node as string, 'base64url').toString());
    for (const i of m[2].matchAll(/\[(\d+)\]/g)) node = (node as unknown[])[Number(i[1])];
  }
  return createHash('sha256')
    .update(Buffer.from(node as string, 'base64'))
    .digest('hex');
}

describe('jose detector: claims', () => {
  it('claims compact tokens, JSON with kty/alg and JOSE file names', () => {
    const c = (name: string, text: string) => claims(joseDetector, new TextEncoder().encode(text), { name, baseOffset: 0 });
    expect(c('app.log', 'Bearer eyJhbGciOiJFUzI1NiJ9.e30.sig')).toBe(true);
    expect(c('keys.json', '{"kty":"EC"}')).toBe(true);
    expect(c('token.jwt', '')).toBe(true);
    expect(c('readme.txt', 'JSON web tokens are fun')).toBe(false);
  });
});

describe('jose detector: JWS', () => {
  it('names compact JWS of every signature family, sizing from the header key when there is one', () => {
    const cases: [string, string, string | undefined][] = [
      ['es256.jwt', 'ECDSA-P256', 'SHA-256'],
      ['es384.jwt', 'ECDSA-P384', 'SHA-384'],
      ['es512.jwt', 'ECDSA-P521', 'SHA-512'],
      ['eddsa.jwt', 'Ed25519', undefined],
      ['ed25519-rfc9864.jwt', 'Ed25519', undefined],
      ['ps384-jwk.jws', 'RSA-3072', 'SHA-384'],
      ['hs256.jwt', 'HMAC', 'SHA-256'],
    ];
    for (const [file, id, hash] of cases) {
      const { findings, errors } = jose(file);
      expect(errors, file).toEqual([]);
      expect(
        findings.map((f) => [f.kind, f.format, f.algorithm.id, f.algorithm.hash]),
        file,
      ).toEqual([['signature', 'jws', id, hash]]);
    }
    expect(jose('ps384-jwk.jws').findings[0].details?.keyFrom).toBe('jwk');
    expect(jose('hs256.jwt').findings[0].quantum.status).toBe('resistant');
  });

  it('sizes RS*/PS* from the signature length when no key is in the token (RFC 8017 §8.2.1: k octets)', () => {
    const f = jose('rs256.jwt').findings[0];
    expect([f.algorithm.id, f.algorithm.parameterKnown, f.algorithm.name, f.quantum.status]).toEqual(['RSA-2048', undefined, 'RS256', 'vulnerable']);
    expect(f.details).toMatchObject({ parameterFrom: 'signature-length', signatureBytes: 256, kid: 'rsa-2048', typ: 'JWT' });
    // PS384 made by a 3072-bit key (node:crypto, here): 384 octets.
    const { privateKey } = generateKeyPairSync('rsa', { modulusLength: 3072 });
    const h = enc({ alg: 'PS384' });
    const sig = sign('sha384', Buffer.from(`${h}.${payload}`), { key: privateKey, padding: constants.RSA_PKCS1_PSS_PADDING, saltLength: 48 });
    const [ps] = jose('t.jwt', `${h}.${payload}.${b64u(sig)}`).findings;
    expect(ps.algorithm).toMatchObject({ id: 'RSA-3072', mode: 'PSS', hash: 'SHA-384' });
    // A value too short to be an RSA signature stays the family, parameterKnown false.
    const [tiny] = jose('t.jwt', `${h}.${payload}.${b64u(Buffer.alloc(16, 1))}`).findings;
    expect(tiny.algorithm).toMatchObject({ id: 'RSA', parameterKnown: false });
    expect(tiny.details?.parameterFrom).toBeUndefined();
  });

  it('says the size came from the key when the header carries it', () => {
    const [f] = jose('ps384-jwk.jws').findings;
    expect(f.algorithm.id).toBe('RSA-3072');
    expect(f.details).toMatchObject({ keyFrom: 'jwk', parameterFrom: 'key' });
  });

  it('dates a JWT from its claims', () => {
    const f = jose('rs256.jwt').findings[0];
    expect([f.created, f.notAfter, f.issuer]).toEqual(['2026-01-01T00:00:00.000Z', '2027-01-01T00:00:00.000Z', 'https://issuer.example']);
  });

  it('sizes RS256 from an x5c certificate and reports that certificate', () => {
    const { findings, errors } = jose('x5c.jws');
    expect(errors).toEqual([]);
    expect(summary(findings)).toEqual(['certificate jws RSA-2048/SHA-256', 'signature jws RSA-2048/SHA-256']);
    const cert = findings.find((f) => f.kind === 'certificate')!;
    // A compact token's x5c is in its (base64url) protected header: located there, decoded.
    expect([cert.subject, cert.location.path]).toEqual(['CN=jose-fixture', 'protected.x5c[0]']);
    expect(at(read('x5c.jws').toString().trim(), cert.location.path!)).toBe(cert.fingerprint);
  });

  // Each x5c certificate is located at the header member that holds its bytes (RFC 7515 §7.2, RFC 7516 §7.2): the
  // test follows the reported path through the document (decoding a protected header) and fingerprints what it finds.
  it('locates x5c certificates where their bytes are in a JSON serialization: header, protected (decoded), unprotected', () => {
    const [h, , s] = read('x5c.jws').toString().trim().split('.');
    const cert = (JSON.parse(Buffer.from(h, 'base64url').toString()) as { x5c: string[] }).x5c[0];
    const jws = JSON.stringify({
      payload,
      signatures: [
        { protected: enc({ alg: 'RS256' }), header: { kid: 'a', x5c: [cert] }, signature: s },
        { protected: enc({ alg: 'RS256', x5c: [cert] }), signature: s },
      ],
    });
    const flattened = JSON.stringify({ payload, protected: enc({ alg: 'RS256' }), header: { x5c: [cert] }, signature: s });
    const key = b64u(Buffer.alloc(256, 7));
    const jwe = JSON.stringify({
      protected: enc({ enc: 'A256GCM' }),
      unprotected: { x5c: [cert] },
      recipients: [
        { header: { alg: 'RSA-OAEP', x5c: [cert] }, encrypted_key: key },
        { header: { alg: 'RSA-OAEP' }, encrypted_key: key },
      ],
      iv: b64u('123456789012'),
      ciphertext: b64u('x'),
      tag: b64u('1234567890123456'),
    });
    for (const [name, doc, paths] of [
      ['general.json', jws, ['$.signatures[0].header.x5c[0]', '$.signatures[1].protected.x5c[0]']],
      ['flattened.json', flattened, ['$.header.x5c[0]']],
      ['jwe.json', jwe, ['$.recipients[0].header.x5c[0]', '$.unprotected.x5c[0]']],
    ] as const) {
      const { findings, errors } = jose(name, doc);
      expect(errors, name).toEqual([]);
      const certs = findings.filter((f) => f.kind === 'certificate');
      expect(
        certs.map((f) => f.location.path),
        name,
      ).toEqual(paths);
      for (const c of certs) expect(at(doc, c.location.path!), c.location.path).toBe(c.fingerprint);
      // Every key-management or signature finding is sized by its certificate.
      expect(
        findings.filter((f) => f.kind !== 'certificate').every((f) => f.algorithm.id !== 'RSA' || f.details?.role === 'content-encryption'),
        name,
      ).toBe(true);
    }
  });

  it('reports alg none as an unsecured signature', () => {
    const [f] = jose('none.jwt').findings;
    expect(f.kind).toBe('signature');
    expect(f.algorithm).toEqual({ id: 'none', family: 'none', name: 'none' });
    expect(f.quantum).toEqual({ status: 'unknown', classicalBits: 0, nistLevel: null });
    expect(f.details?.unsecured).toBe(true);
  });

  it('finds tokens inside config files and logs, at their offset', () => {
    const text = read('access.log').toString('latin1');
    const f = jose('access.log').findings[0];
    expect(f.location.offset).toBe(text.indexOf('eyJ'));
    expect(summary(jose('config.yaml').findings)).toEqual(['signature jws ECDSA-P256/SHA-256']);
  });

  it('reads every signature of a general JWS JSON and the flattened form', () => {
    const g = jose('jws-general.json').findings;
    expect(g.map((f) => [f.algorithm.id, f.location.path])).toEqual([
      ['RSA-2048', '$.signatures[0]'],
      ['ECDSA-P256', '$.signatures[1]'],
    ]);
    expect(summary(jose('jws-flattened.json').findings)).toEqual(['signature jws ECDSA-P384/SHA-384']);
    // RFC 7520 §4.8: one signature carries its alg only in the unprotected header.
    expect(summary(jose('realworld/rfc7520-4.8-multiple-signatures.json').findings)).toEqual([
      'signature jws ECDSA-P521/SHA-512',
      'signature jws HMAC/SHA-256',
      'signature jws RSA-2048/SHA-256',
    ]);
  });

  it('sizes EdDSA from the signature length when no key is given (RFC 8032: 64 or 114 bytes)', () => {
    const { privateKey } = generateKeyPairSync('ed448');
    const h = enc({ alg: 'EdDSA' });
    const token = `${h}.${payload}.${b64u(sign(null, Buffer.from(`${h}.${payload}`), privateKey))}`;
    expect(jose('t.jwt', token).findings.map((f) => f.algorithm.id)).toEqual(['Ed448']);
  });
});

describe('jose detector: JWE', () => {
  it('reports the key management per recipient and the content cipher', () => {
    const rsa = jose('rsa-oaep-256.jwe').findings;
    expect(rsa.map((f) => [f.kind, f.algorithm.id, f.algorithm.name, f.algorithm.hash])).toEqual([
      ['encrypted-data', 'RSA-2048', 'RSA-OAEP-256', 'SHA-256'],
      ['encrypted-data', 'AES-256', 'A256GCM', undefined],
    ]);
    // The encrypted key is as long as the recipient's modulus (RFC 8017 §7.1.1).
    expect(rsa[0].details).toMatchObject({ parameterFrom: 'ciphertext-length' });
    expect(rsa[1].location.offset).toBeGreaterThan(rsa[0].location.offset!);

    const ec = jose('ecdh-es-a128kw.jwe').findings;
    expect(ec.map((f) => [f.algorithm.id, f.algorithm.name])).toEqual([
      ['ECDH-P256', 'ECDH-ES+A128KW'],
      ['AES-128', 'A128CBC-HS256'],
    ]);
    expect(ec[0].details?.keyFrom).toBe('epk');

    const general = jose('jwe-general.json').findings;
    expect(general.map((f) => [f.algorithm.id, f.location.path])).toEqual([
      ['RSA-2048', '$.recipients[0]'],
      ['ECDH-P256', '$.recipients[1]'],
      ['AES-256', '$.ciphertext'],
    ]);
  });

  it('reports no key management for "dir", only the content cipher', () => {
    const token = `${enc({ alg: 'dir', enc: 'A128GCM' })}..${b64u('iv-iv-iv-iv!')}.${b64u('ct')}.${b64u('0123456789abcdef')}`;
    expect(summary(jose('d.jwe', token).findings)).toEqual(['encrypted-data jwe AES-128']);
  });
});

describe('jose detector: JWK', () => {
  it('names JWKS members by kty, curve, modulus and alg', () => {
    const keys = jose('jwks.json').findings;
    expect(keys.map((f) => [f.kind, f.algorithm.id, f.subject])).toEqual([
      ['public-key', 'RSA-2048', 'rsa-2048'],
      ['public-key', 'ECDSA-P384', 'p384'],
      ['public-key', 'Ed25519', 'ed25519'],
      ['public-key', 'X25519', 'x25519'],
      ['public-key', 'ML-DSA-65', 'mldsa65'],
    ]);
    expect(keys[4].quantum).toMatchObject({ status: 'resistant', nistLevel: 3 });
  });

  it('computes RFC 7638 thumbprints (RFC 8037 A.3 vector)', () => {
    const f = jose('realworld/rfc7520-3-keys.jwks').findings.find((x) => x.algorithm.id === 'Ed25519')!;
    expect(f.fingerprint).toBe('kPrK_qmxVWaYVA9wwBF6Iuo3vVzz7TxHCTwXBygrS4k');
    expect(f.kind).toBe('private-key');
  });

  it('reports private JWKs as private keys and symmetric keys by size, never printing key material', () => {
    expect(summary(jose('ec-p256-private.jwk').findings)).toEqual(['private-key jwk ECDSA-P256']);
    expect(summary(jose('rsa-3072-private.jwk').findings)).toEqual(['private-key jwk RSA-3072']);
    const secrets = jose('secrets.jwks');
    expect(secrets.findings.map((f) => [f.kind, f.algorithm.id, f.details?.keyBits, f.fingerprint])).toEqual([
      ['private-key', 'HMAC', 256, undefined],
      ['private-key', 'AES-128', 128, undefined],
    ]);
    const doc = JSON.parse(read('secrets.jwks').toString()) as { keys: { k: string }[] };
    const out = JSON.stringify(secrets);
    for (const k of doc.keys) expect(out).not.toContain(k.k);
    expect(JSON.stringify(jose('ec-p256-private.jwk'))).not.toContain(JSON.parse(read('ec-p256-private.jwk').toString()).d);
  });

  it('checks symmetric and ML-DSA key lengths against their alg', () => {
    const oct = jose('k.jwk', JSON.stringify({ kty: 'oct', alg: 'A256KW', k: b64u(Buffer.alloc(16)) }));
    expect(oct.errors[0].message).toMatch(/128-bit key, not 256/);
    const akp = jose('k.jwk', JSON.stringify({ kty: 'AKP', alg: 'ML-DSA-44', pub: b64u(Buffer.alloc(1952)) }));
    expect(akp.errors[0].message).toMatch(/not 1312 bytes/);
    const noAlg = jose('k.jwk', JSON.stringify({ kty: 'AKP', pub: b64u(Buffer.alloc(1312)) }));
    expect(noAlg.errors[0].code).toBe('unsupported');
    const inferred = jose('k.jwk', JSON.stringify({ kty: 'oct', k: b64u(Buffer.alloc(32)) })).findings[0];
    expect([inferred.algorithm.id, inferred.details?.algorithmInferred]).toEqual(['AES-256', true]);
  });

  it('finds JWKs nested in larger JSON documents (e.g. an OpenID configuration with a JWKS)', () => {
    const jwk = JSON.parse(read('jwks.json').toString()).keys[1];
    const doc = JSON.stringify({ issuer: 'x', jwks: { keys: [jwk] }, other: [{ nested: { kty: 'OKP', crv: 'Ed448', x: b64u(Buffer.alloc(57)) } }] });
    expect(jose('openid.json', doc).findings.map((f) => [f.algorithm.id, f.location.path])).toEqual([
      ['ECDSA-P384', '$.jwks.keys[0]'],
      ['Ed448', '$.other[0].nested'],
    ]);
  });
});

describe('jose detector: negative and malformed', () => {
  it('finds nothing in text that merely contains eyJ or base64 JSON without alg', () => {
    expect(jose('not-a-key.txt')).toEqual({ findings: [], errors: [] });
    const noAlg = `${enc({ typ: 'JWT' })}.${payload}.${b64u('sig')}`;
    expect(jose('x.txt', `token ${noAlg}`)).toEqual({ findings: [], errors: [] });
    const h = enc({ alg: 'ES256' });
    // Inside a longer base64url word, or with a fourth part, it is not a compact token.
    expect(jose('x.txt', `abc${h}.${payload}.${b64u(Buffer.alloc(64))}`).findings).toEqual([]);
    expect(jose('x.txt', `${h}.${payload}.${b64u(Buffer.alloc(64))}.more`).findings).toEqual([]);
    expect(detectAll('package.json', '{"name":"x","version":"1.0.0","alg":"yes"}').findings).toEqual([]);
  });

  it('rejects signatures of the wrong length, alg none with a signature, and key-management algs in a JWS', () => {
    expect(jose('bad-es256-length.jwt').errors.map((e) => e.message)).toEqual(['JWS at offset 0: ES256 signature is 40 bytes, not 64']);
    const none = `${enc({ alg: 'none' })}.${payload}.${b64u('x')}`;
    expect(jose('n.jwt', none).errors[0].message).toMatch(/non-empty signature/);
    const wrongRole = `${enc({ alg: 'RSA-OAEP' })}.${payload}.${b64u(Buffer.alloc(256))}`;
    expect(jose('w.jwt', wrongRole).errors[0].message).toMatch(/not a signature algorithm/);
    const { publicKey } = generateKeyPairSync('rsa', { modulusLength: 2048 });
    const mismatch = `${enc({ alg: 'ES256', jwk: publicKey.export({ format: 'jwk' }) })}.${payload}.${b64u(Buffer.alloc(64))}`;
    expect(jose('m.jwt', mismatch).errors[0].message).toMatch(/ES256 with a RSA-2048 key/);
  });

  it('gives broken JWK files a clear error', () => {
    expect(jose('broken.jwk').errors.map((e) => e.code)).toEqual(['malformed']);
    expect(jose('rsa-no-modulus.jwk').errors[0].message).toBe('JWK at $: RSA JWK has no "n"');
    expect(jose('unknown-kty.jwk').errors.map((e) => e.code)).toEqual(['unsupported']);
    const badX5c = `${enc({ alg: 'RS256', x5c: ['MIIB!!'] })}.${payload}.${b64u(Buffer.alloc(256))}`;
    const r = jose('x.jws', badX5c);
    expect(r.errors[0].message).toMatch(/x5c\[0\].*not base64/);
    expect(summary(r.findings)).toEqual(['signature jws RSA-2048/SHA-256']);
  });

  it('never throws on mutated tokens and JSON documents', () => {
    const inputs = ['x5c.jws', 'rsa-oaep-256.jwe', 'ecdh-es-a128kw.jwe', 'jwks.json', 'jwe-general.json', 'jws-general.json', 'secrets.jwks'].map((f) =>
      read(f),
    );
    let seed = 7;
    const rand = () => (seed = (seed * 1103515245 + 12345) >>> 0) / 2 ** 32;
    for (let i = 0; i < 700; i++) {
      const b = Buffer.from(inputs[i % inputs.length]);
      const n = 1 + Math.floor(rand() * 4);
      for (let j = 0; j < n; j++) b[Math.floor(rand() * b.length)] = Math.floor(rand() * 256);
      const cut = rand() < 0.3 ? b.subarray(0, Math.floor(rand() * b.length)) : b;
      expect(() => jose('m.json', cut)).not.toThrow();
    }
  });

  it('never throws when JSON members have the wrong types', () => {
    const junk = [null, 1, -1e308, true, [], {}, '', 'AAAA', [1, 'x'], { kty: 'EC' }];
    const docs = ['jwks.json', 'jwe-general.json', 'jws-general.json', 'jws-flattened.json'].map(
      (f) => JSON.parse(read(f).toString()) as Record<string, unknown>,
    );
    const members = (o: unknown): Record<string, unknown>[] =>
      typeof o !== 'object' || o === null ? [] : [o as Record<string, unknown>, ...Object.values(o).flatMap(members)];
    for (const doc of docs) {
      const objects = members(doc);
      for (const obj of objects) {
        for (const key of Object.keys(obj)) {
          const saved = obj[key];
          for (const j of junk) {
            obj[key] = j;
            expect(() => jose('d.json', JSON.stringify(doc))).not.toThrow();
          }
          obj[key] = saved;
        }
      }
    }
  });
});
