/**
 * OpenPGP detector: packets of every family (keys v3–v6, signatures v3–v6, PKESK/SKESK, SED/SEIPD v1/v2, compressed),
 * encodings (binary, armor, cleartext, keybox), limits and hostile input. Facts are cross-checked against
 * `gpg --list-packets` / `gpg --show-keys --with-colons` on the committed fixtures where that is cheap.
 */
import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { deflateSync } from 'node:zlib';
import { afterAll, describe, expect, it } from 'vitest';
import { claims, runDetectors } from '../../src/detectors/index.js';
import { openpgpDetector, parseOpenPgpPackets } from '../../src/detectors/openpgp.js';
import type { DetectContext, Finding } from '../../src/model.js';
import { needPrograms, requirePrerequisite, requirePrerequisiteForAll } from '../helpers/prerequisites.js';
import { ctxFor, FIXTURES, summary } from '../helpers/scan.js';

const DIR = join(FIXTURES, 'openpgp');
const read = (f: string) => new Uint8Array(readFileSync(join(DIR, f)));
const only = { only: new Set(['openpgp']) };
const detect = (name: string, bytes: Uint8Array | string, ctx: Partial<DetectContext> = {}) => {
  const b = typeof bytes === 'string' ? new TextEncoder().encode(bytes) : bytes;
  return runDetectors(b, { ...ctxFor(name, b), ...ctx }, only);
};
const detectFile = (f: string) => detect(f.split('/').pop()!, read(f));
const ofKind = (fs: Finding[], kind: Finding['kind']) => fs.filter((f) => f.kind === kind);

// gpg, isolated in a throw-away home; --list-only never asks for a passphrase or a secret key.
const GPG_MISSING = needPrograms('the gpg cross-checks', 'gpg');
const gnupgHome = mkdtempSync(join(tmpdir(), 'shelflife-openpgp-test-'));
afterAll(() => {
  try {
    execFileSync('gpgconf', ['--kill', 'gpg-agent'], { env: { ...process.env, GNUPGHOME: gnupgHome }, stdio: 'ignore' });
  } catch {
    // no agent was started
  }
  rmSync(gnupgHome, { recursive: true, force: true });
});
function gpg(...args: string[]): string {
  return gpgWithInput(undefined, ...args);
}
function gpgWithInput(input: string | undefined, ...args: string[]): string {
  const env = { ...process.env, GNUPGHOME: gnupgHome };
  return execFileSync('gpg', ['--batch', '--no-tty', ...args], {
    env,
    encoding: 'utf8',
    input,
    stdio: [input === undefined ? 'ignore' : 'pipe', 'pipe', 'ignore'],
  });
}
/** `pub`/`sub` rows of `gpg --show-keys --with-colons`: size, algorithm, key id, created, expires, fingerprint. */
function gpgKeys(file: string): { bits: number; algo: number; keyId: string; created: number; expires: number; fpr: string }[] {
  const rows = gpg('--with-colons', '--show-keys', '--with-subkey-fingerprints', join(DIR, file))
    .split('\n')
    .map((l) => l.split(':'));
  const out: ReturnType<typeof gpgKeys> = [];
  for (let i = 0; i < rows.length; i++) {
    const r = rows[i];
    if (r[0] !== 'pub' && r[0] !== 'sub' && r[0] !== 'sec' && r[0] !== 'ssb') continue;
    const fpr = rows.slice(i + 1).find((x) => x[0] === 'fpr')![9];
    out.push({ bits: Number(r[2]), algo: Number(r[3]), keyId: r[4].toLowerCase(), created: Number(r[5]), expires: Number(r[6] || 0), fpr: fpr.toLowerCase() });
  }
  return out;
}
/** Signature packets from `gpg --list-packets`: public-key algorithm, issuer key id, digest algorithm, sigclass. */
function gpgSignatures(file: string): { algo: number; keyId: string; digest: number; sigclass: number }[] {
  // gpg lists a cleartext message as literal data only: hand it the signature block alone.
  const raw = readFileSync(join(DIR, file), 'latin1');
  const cleartext = raw.includes('-----BEGIN PGP SIGNED MESSAGE-----');
  const block = cleartext ? raw.slice(raw.search(/^-----BEGIN PGP SIGNATURE-----/m)) : undefined;
  const text = block ? gpgWithInput(block, '--list-only', '--list-packets') : gpg('--list-only', '--list-packets', join(DIR, file));
  return [
    ...text.matchAll(
      /:signature packet: algo (\d+), keyid ([0-9A-F]+)\n\s+version \d+, created \d+, md5len \d+, sigclass 0x([0-9a-f]+)\n\s+digest algo (\d+)/g,
    ),
  ].map((m) => ({
    algo: Number(m[1]),
    keyId: m[2].toLowerCase(),
    sigclass: parseInt(m[3], 16),
    digest: Number(m[4]),
  }));
}
// RFC 9580 §9.5 hash ids, written out here independently of rules/algorithms.yaml.
const HASH: Record<number, string> = { 1: 'MD5', 2: 'SHA-1', 3: 'RIPEMD-160', 8: 'SHA-256', 9: 'SHA-384', 10: 'SHA-512', 11: 'SHA-224' };

describe('openpgp: claims', () => {
  it('claims OpenPGP names, armor anywhere, plausible first octets and keyboxes; not other bytes', () => {
    const c = (name: string, bytes: number[] | string) =>
      claims(openpgpDetector, typeof bytes === 'string' ? new TextEncoder().encode(bytes) : Uint8Array.from(bytes), { name, baseOffset: 0 });
    expect(c('a.gpg', [0])).toBe(true);
    expect(c('SHA256SUMS.asc', [0])).toBe(true);
    expect(c('dists/bookworm/InRelease', [0])).toBe(true);
    expect(c('notes.txt', 'see\n-----BEGIN PGP SIGNATURE-----\n')).toBe(true);
    expect(c('blob', [0x99, 0x01, 0x0d])).toBe(true); // legacy public key, two-octet length
    expect(c('blob', [0xc6, 0x2a])).toBe(true); // new-format public key
    expect(c('blob', [0x7f, 0x45, 0x4c, 0x46])).toBe(false); // ELF
    expect(c('blob', [0xd2, 0x00])).toBe(false); // a bare SEIPD is not a plausible first packet
    expect(c('pubring', [0, 0, 0, 32, 1, 1, 0, 2, 0x4b, 0x42, 0x58, 0x66])).toBe(true);
  });
});

describe('openpgp: keys', () => {
  it('names RSA, DSA, ElGamal, ECDSA, ECDH, EdDSA and cv25519 keys exactly', () => {
    expect(summary(detectFile('rsa2048.pub.asc').findings)).toEqual([
      'public-key openpgp RSA-2048',
      'public-key openpgp RSA-2048',
      'signature openpgp RSA-2048/SHA-256',
      'signature openpgp RSA-2048/SHA-256',
    ]);
    expect(ofKind(detectFile('dsa2048-elg2048.pub.asc').findings, 'public-key').map((f) => f.algorithm.id)).toEqual(['DSA-2048', 'ElGamal-2048']);
    expect(ofKind(detectFile('brainpool.pub.asc').findings, 'public-key').map((f) => f.algorithm.id)).toEqual([
      'ECDSA-brainpoolP256r1',
      'ECDH-brainpoolP384r1',
    ]);
    expect(ofKind(detectFile('ed25519-cv25519.pub.asc').findings, 'public-key').map((f) => f.algorithm.id)).toEqual(['Ed25519', 'X25519']);
    expect(ofKind(detectFile('secp256k1.pub.pgp').findings, 'public-key').map((f) => f.algorithm.id)).toEqual(['ECDSA-secp256k1']);
  });

  describe('cross-checked with gpg', () => {
    requirePrerequisiteForAll(GPG_MISSING);
    it.each([
      'rsa2048.pub.asc',
      'rsa3072.pub.gpg',
      'dsa2048-elg2048.pub.asc',
      'p521.pub.asc',
      'ed25519-cv25519.pub.asc',
      'realworld/debian-archive-bookworm-automatic-rsa4096.gpg',
      'realworld/debian-amd64-archive-2005-dsa1024-elg2048.gpg',
    ])('%s: fingerprint, key id, size, creation and expiry agree with gpg', (file) => {
      const ours = ofKind(detectFile(file).findings, 'public-key');
      const theirs = gpgKeys(file);
      expect(ours.map((f) => f.fingerprint)).toEqual(theirs.map((k) => k.fpr));
      expect(ours.map((f) => f.details?.keyId)).toEqual(theirs.map((k) => k.keyId));
      expect(ours.map((f) => f.created)).toEqual(theirs.map((k) => new Date(k.created * 1000).toISOString()));
      expect(ours.map((f) => f.notAfter ?? null)).toEqual(theirs.map((k) => (k.expires ? new Date(k.expires * 1000).toISOString() : null)));
      for (const [i, k] of theirs.entries()) {
        if ([1, 16, 17].includes(k.algo)) expect(ours[i].algorithm.id).toMatch(new RegExp(`-${k.bits}$`));
      }
      expect(ours.map((f) => f.details?.subkey)).toEqual(theirs.map((_, i) => i > 0));
    });

    it('secret-key protection: gpg --list-packets shows the S2K we report', () => {
      // "iter+salt S2K, algo: 7, SHA1 protection, hash: 2" (algo 7 = AES-128, hash 2 = SHA-1).
      expect(gpg('--list-packets', join(DIR, 'rsa2048.sec.asc'))).toContain('iter+salt S2K, algo: 7, SHA1 protection, hash: 2');
      expect(ofKind(detectFile('rsa2048.sec.asc').findings, 'private-key')[0].details).toMatchObject({
        cipher: 'AES-128',
        s2k: 'iterated-salted',
        s2kHash: 'SHA-1',
      });
    });
  });

  it('reports the user ID as subject, and subkeys with their primary', () => {
    const [primary, sub] = ofKind(detectFile('realworld/debian-amd64-archive-2005-dsa1024-elg2048.gpg').findings, 'public-key');
    expect(primary.subject).toBe('Debian AMD64 Archive Key <debian-amd64@lists.debian.org>');
    expect(sub.subject).toBe(primary.subject);
    expect(sub.details).toMatchObject({ subkey: true, primaryFingerprint: primary.fingerprint });
    expect(primary.notAfter).toBeUndefined(); // "never expires"
    expect(primary.quantum).toMatchObject({ status: 'vulnerable', classicalBits: 80 });
  });

  it('computes v6 fingerprints with SHA-256 (RFC 9580 A.3) and reads native Ed25519/X25519', () => {
    const keys = ofKind(detectFile('realworld/rfc9580/a3-v6-ed25519-x25519.pub.asc').findings, 'public-key');
    expect(keys.map((k) => [k.algorithm.id, k.fingerprint])).toEqual([
      ['Ed25519', 'cb186c4f0609a697e4d52dfa6c722b0c1f1e27c18a56708f6525ec27bad9acc9'],
      ['X25519', '12c83f1e706f6308fe151a417743a1f033790e93e9978488d1db378da9930885'],
    ]);
    expect(keys[0].details).toMatchObject({ version: 6, keyId: 'cb186c4f0609a697' });
    expect(keys[0].created).toBe('2022-11-30T16:08:03.000Z');
  });

  it('names PQ composites and keeps ML-KEM-768+X25519 in a v4 subkey (draft-ietf-openpgp-pqc-17)', () => {
    const v6 = ofKind(detectFile('realworld/draft-ietf-openpgp-pqc/v6-mldsa-65-sample-pk.asc').findings, 'public-key');
    expect(v6.map((k) => [k.algorithm.id, k.quantum.status])).toEqual([
      ['ML-DSA-65+Ed25519', 'hybrid'],
      ['ML-KEM-768+X25519', 'hybrid'],
    ]);
    const v4 = ofKind(detectFile('realworld/draft-ietf-openpgp-pqc/v4-eddsa-sample-pk.asc').findings, 'public-key');
    expect(v4[1]).toMatchObject({ algorithm: { id: 'ML-KEM-768+X25519' }, details: { version: 4, subkey: true } });
    expect(v4[1].details?.note).toBeUndefined();
  });

  it('reports secret keys with their protection, and says when they are unprotected', () => {
    const prot = ofKind(detectFile('rsa2048.sec.asc').findings, 'private-key');
    expect(prot).toHaveLength(2);
    expect(prot[0].details).toMatchObject({
      secretKey: true,
      protected: true,
      s2kUsage: 'CFB, SHA-1 checksum',
      cipher: 'AES-128',
      s2k: 'iterated-salted',
      s2kHash: 'SHA-1',
      s2kCount: 65011712,
    });
    const bare = ofKind(detectFile('ed25519-unprotected.sec.gpg').findings, 'private-key');
    expect(bare.map((k) => k.algorithm.id)).toEqual(['Ed25519', 'X25519']);
    expect(bare[0].details).toMatchObject({ protected: false, s2kUsage: 'none' });
    expect(String(bare[0].details?.warning)).toMatch(/unprotected/);
    const v6 = ofKind(detectFile('realworld/rfc9580/a4-v6-ed25519-x25519.sec.asc').findings, 'private-key');
    expect(v6.map((k) => k.fingerprint?.slice(0, 16))).toEqual(['cb186c4f0609a697', '12c83f1e706f6308']);
  });

  it('reads a v3 RSA key (RFC 4880 §5.5.2): MD5 fingerprint, key id from the modulus, validity days', () => {
    const n = Uint8Array.from(
      createHash('sha512')
        .update('n')
        .digest()
        .subarray(0, 64)
        .map((b, i) => (i === 0 ? b | 0x80 : b)),
    ); // 512-bit
    const e = Uint8Array.of(0x01, 0x00, 0x01);
    const body = [3, 0x30, 0, 0, 0, 0, 10, 1, 0x02, 0x00, ...n, 0x00, 17, ...e];
    const pkt = Uint8Array.from([0x99, body.length >> 8, body.length & 0xff, ...body]);
    const [k] = parseOpenPgpPackets(pkt).findings;
    expect(k.algorithm.id).toBe('RSA-512');
    expect(k.fingerprint).toBe(createHash('md5').update(n).update(e).digest('hex'));
    expect(k.details?.keyId).toBe(Buffer.from(n.subarray(56)).toString('hex'));
    expect(k.created).toBe(new Date(0x30000000 * 1000).toISOString());
    expect(k.notAfter).toBe(new Date((0x30000000 + 10 * 86400) * 1000).toISOString());
  });

  it('names an unknown algorithm in a v6 key as unknown without failing', () => {
    const body = [6, 0, 0, 0, 1, 99, 0, 0, 0, 3, 1, 2, 3];
    const r = parseOpenPgpPackets(Uint8Array.from([0xc6, body.length, ...body]));
    expect(r.errors).toEqual([]);
    expect(r.findings[0]).toMatchObject({ kind: 'public-key', algorithm: { id: 'unknown' }, quantum: { status: 'unknown' } });
  });
});

describe('openpgp: signatures', () => {
  describe('cross-checked with gpg', () => {
    requirePrerequisiteForAll(GPG_MISSING);
    it.each([
      'InRelease',
      'realworld/bookworm-InRelease-excerpt.txt',
      'detached-rsa-sha1.sig',
      'detached-ed25519-text.sig',
      'detached-p521.sig',
      'realworld/bookworm-InRelease-signature.asc',
      'realworld/debian-archive-2004-rsa1024.asc',
    ])('%s: algorithm, issuer and hash agree with gpg --list-packets', (file) => {
      const ours = ofKind(detectFile(file).findings, 'signature');
      const theirs = gpgSignatures(file);
      expect(ours.length).toBe(theirs.length);
      expect(ours.map((s) => s.details?.issuerKeyId)).toEqual(theirs.map((s) => s.keyId));
      expect(ours.map((s) => s.algorithm.hash)).toEqual(theirs.map((s) => HASH[s.digest]));
    });
  });

  it('keeps weak hashes exact and sizes RSA from the signature MPI when the issuing key is absent', () => {
    // gpg --list-packets: "data: [2046 bits]", made by the 2048-bit key of rsa2048.pub.asc (two leading zero bits).
    const [s] = detectFile('detached-rsa-sha1.sig').findings;
    expect(s.algorithm).toMatchObject({ id: 'RSA-2048', family: 'RSA', hash: 'SHA-1' });
    expect(s.algorithm.parameterKnown).toBeUndefined();
    expect(s.details).toMatchObject({ parameterFrom: 'mpi-length' });
    expect(s.details).toMatchObject({ signatureType: 'binary', issuerKeyId: expect.stringMatching(/^[0-9a-f]{16}$/) });
    expect(s.issuer).toMatch(/^[0-9a-f]{40}$/);
    expect(s.created).toMatch(/^\d{4}-/);
    const [dsa] = detectFile('detached-dsa.sig').findings;
    // DSA r and s give q (256 bits for a 2048-bit gpg key), never p.
    expect(dsa.algorithm).toMatchObject({ id: 'DSA', parameterKnown: false, hash: 'SHA-256' });
    expect(dsa.details).toMatchObject({ subgroupBits: 256 });
    expect(dsa.details?.parameterFrom).toBeUndefined();
  });

  it('uses the issuing key size when the key is in the same artifact', () => {
    const sigs = ofKind(detectFile('realworld/debian-archive-bookworm-automatic-rsa4096.gpg').findings, 'signature');
    expect(sigs.every((s) => s.algorithm.id === 'RSA-4096' && s.algorithm.parameterKnown === undefined)).toBe(true);
    expect(sigs.map((s) => s.details?.signatureType)).toContain('subkey binding');
  });

  it('infers a curve from signature sizes only where unambiguous', () => {
    expect(detectFile('detached-p521.sig').findings[0].algorithm).toMatchObject({ id: 'ECDSA-P521', hash: 'SHA-512' });
    expect(detectFile('detached-ed25519-text.sig').findings[0]).toMatchObject({
      algorithm: { id: 'Ed25519', hash: 'SHA-512' },
      details: { signatureType: 'text' },
    });
    // 256-bit values fit P-256, brainpoolP256r1 and secp256k1 alike.
    expect(detectFile('clearsigned-p256.txt.asc').findings[0].algorithm).toMatchObject({ id: 'ECDSA', parameterKnown: false });
  });

  it('reads every signature of a cleartext-signed message, ignoring dash-escaped armor lines in the text', () => {
    const text = new TextDecoder().decode(read('InRelease'));
    expect(text).toContain('\n- -----BEGIN PGP SIGNATURE-----\n');
    const sigs = detectFile('InRelease').findings;
    expect(summary(sigs)).toEqual(['signature openpgp Ed25519/SHA-256', 'signature openpgp RSA-4096/SHA-256']);
    expect(sigs.every((s) => s.details?.cleartext === true && s.details?.cleartextHashHeader === 'SHA256')).toBe(true);
    const excerpt = detectFile('realworld/bookworm-InRelease-excerpt.txt').findings;
    expect(excerpt.map((s) => [s.algorithm.id, s.issuer])).toEqual([
      ['RSA-4096', '4cb50190207b4758a3f73a796ed0e7b82643e131'],
      ['RSA-4096', 'b8e5f13176d2a7a75220028078dba3bc47ef2265'],
      ['Ed25519', '4d64fec119c2029067d6e791f8d2585b8783d481'],
    ]);
    // RFC 9580 A.6: a v6 signature without a "Hash:" header (no MD5 assumed).
    const [v6] = detectFile('realworld/rfc9580/a6-cleartext-signed.txt.asc').findings;
    expect(v6.details).toMatchObject({ version: 6, cleartext: true });
    expect(v6.details?.cleartextHashHeader).toBeUndefined();
  });

  it('names PQ signatures (composites and SLH-DSA) with their hash', () => {
    expect(detectFile('realworld/draft-ietf-openpgp-pqc/v6-mldsa-87-sample-signature.asc').findings[0]).toMatchObject({
      algorithm: { id: 'ML-DSA-87+Ed448', hash: 'SHA3-512' },
      quantum: { status: 'hybrid' },
    });
    expect(detectFile('realworld/draft-ietf-openpgp-pqc/v6-slhdsa-128s-sample-signature.asc').findings[0]).toMatchObject({
      algorithm: { id: 'SLH-DSA-SHAKE-128s' },
      quantum: { status: 'resistant' },
    });
  });

  it('reads a v3 signature with an MD5 hash', () => {
    const body = [3, 5, 0x00, 0x40, 0, 0, 0, 1, 2, 3, 4, 5, 6, 7, 8, 1, 1, 0xab, 0xcd, 0x00, 0x08, 0xff];
    const [s] = parseOpenPgpPackets(Uint8Array.from([0x88, body.length, ...body])).findings;
    expect(s).toMatchObject({ kind: 'signature', algorithm: { id: 'RSA', hash: 'MD5' }, details: { version: 3, issuerKeyId: '0102030405060708' } });
    expect(s.created).toBe(new Date(0x40000000 * 1000).toISOString());
  });
});

describe('openpgp: sizes from the MPIs, checked against the signing or recipient key as gpg reads it', () => {
  requirePrerequisiteForAll(GPG_MISSING);
  /** `data: [N bits]` of the first signature or PKESK packet, and its key id, from gpg --list-packets. */
  function gpgValue(file: string): { keyId: string; bits: number[] } {
    const text = gpg('--list-only', '--list-packets', join(DIR, file));
    const m = text.match(/:(?:signature|pubkey enc) packet:.*keyid ([0-9A-F]+)\n((?:\s+.*\n)*?)\s+data: \[(\d+) bits\](?:\n\s+data: \[(\d+) bits\])?/)!;
    return { keyId: m[1].toLowerCase(), bits: [Number(m[3]), ...(m[4] ? [Number(m[4])] : [])] };
  }
  it.each([
    // [value file, the key file that holds its signer or recipient, family, at least one short value?]
    ['detached-rsa-sha1.sig', 'rsa2048.pub.asc', 'RSA', true],
    ['detached-rsa-sha256.asc', 'rsa3072.pub.gpg', 'RSA', true],
    ['inline-zip.asc', 'rsa4096.pub.asc', 'RSA', false],
    ['to-rsa2048.gpg', 'rsa2048.pub.asc', 'RSA', false],
    ['to-elg2048.gpg', 'dsa2048-elg2048.pub.asc', 'ElGamal', true],
  ])('%s: the size of the key %s holds, from the MPI alone', (file, keyFile, family, short) => {
    const value = gpgValue(file);
    const key = gpgKeys(keyFile as string).find((k) => k.keyId === value.keyId)!;
    expect(key, `${keyFile} holds ${value.keyId}`).toBeDefined();
    // A value with leading zero bits is shorter than the modulus (RFC 9580 §3.2): the case the rounding is for.
    expect(Math.max(...value.bits) < key.bits).toBe(short);
    const [f] = detectFile(file as string).findings;
    expect(f.algorithm.id).toBe(`${family}-${key.bits}`);
    expect(f.details).toMatchObject({ parameterFrom: 'mpi-length' });
  });

  it('inline-zlib.gpg: a 4,089-bit signature (a leading zero byte) is RSA-4096', () => {
    expect(gpgValue('inline-zlib.gpg').bits).toEqual([4089]);
    expect(detectFile('inline-zlib.gpg').findings[0].algorithm.id).toBe('RSA-4096');
  });

  it('a bare subkey packet (no primary) and an ElGamal secret subkey behind a gnu-dummy primary', () => {
    // The subkey packet was cut out of dsa2048-elg2048.pub.asc (fixtures/gen/openpgp.sh): gpg names it there.
    const sub = gpgKeys('dsa2048-elg2048.pub.asc').find((k) => k.algo === 16)!;
    const bare = detectFile('bare-subkey-elg2048.gpg');
    expect(bare.errors).toEqual([]);
    expect(summary(bare.findings)).toEqual(['public-key openpgp ElGamal-2048', 'signature openpgp DSA/SHA-256']);
    expect(bare.findings[0]).toMatchObject({ fingerprint: sub.fpr, details: { subkey: true } });
    const sec = detectFile('elg3072-secret-subkey.gpg');
    expect(summary(sec.findings)).toEqual([
      'private-key openpgp ElGamal-3072',
      'public-key openpgp DSA-2048',
      'signature openpgp DSA-2048/SHA-256',
      'signature openpgp DSA-2048/SHA-256',
    ]);
    expect(ofKind(sec.findings, 'public-key')[0].details).toMatchObject({ s2k: 'gnu-dummy' });
  });
});

describe('openpgp: messages', () => {
  it('reports a PKESK with its recipient and an encrypted-data packet with an unknown cipher', () => {
    const f = detectFile('to-rsa2048.gpg').findings;
    expect(f[0]).toMatchObject({
      kind: 'encrypted-data',
      // gpg --list-packets: "data: [2048 bits]" for m^e: the 2048-bit subkey's size, from the MPI.
      algorithm: { id: 'RSA-2048' },
      // The encryption subkey's id, as we read it from the certificate (checked against gpg above).
      details: { role: 'key-transport', recipientKeyId: ofKind(detectFile('rsa2048.pub.asc').findings, 'public-key')[1].details?.keyId },
    });
    expect(f[1]).toMatchObject({ algorithm: { id: 'unknown' }, details: { packet: 'SEIPD', version: 1, cipherKnown: false, mode: 'CFB+MDC' } });
    // With the recipient's certificate in the same artifact the size is exact.
    expect(ofKind(detectFile('cert-and-message.gpg').findings, 'encrypted-data')[0]).toMatchObject({
      algorithm: { id: 'RSA-2048' },
      details: { recipientInArtifact: true },
    });
  });

  it('infers X25519 and P-521 recipients from the ephemeral point', () => {
    expect(detectFile('to-cv25519.asc').findings[0]).toMatchObject({ algorithm: { id: 'X25519' }, details: { role: 'key-agreement' } });
    expect(detectFile('to-p521.pgp').findings[0].algorithm.id).toBe('ECDH-P521');
  });

  it('SKESK: gpg --list-packets shows the cipher and S2K we report', (ctx) => {
    requirePrerequisite(ctx, GPG_MISSING);
    // ":symkey enc packet: version 4, cipher 9, aead 0,s2k 3, hash 8" (cipher 9 = AES-256, s2k 3 = iterated-salted, hash 8 = SHA-256).
    expect(gpg('--list-only', '--list-packets', join(DIR, 'passphrase-aes256.gpg'))).toContain('cipher 9, aead 0,s2k 3, hash 8');
    expect(detectFile('passphrase-aes256.gpg').findings[0]).toMatchObject({
      algorithm: { id: 'AES-256' },
      details: { s2k: 'iterated-salted', s2kHash: 'SHA-256' },
    });
  });

  it('names the passphrase cipher and S2K (SKESK v4) and carries it to the encrypted data', () => {
    const [skesk, data] = detectFile('passphrase-aes256.gpg').findings;
    expect(skesk).toMatchObject({
      algorithm: { id: 'AES-256' },
      quantum: { status: 'resistant' },
      details: { passphrase: true, s2k: 'iterated-salted', s2kHash: 'SHA-256' },
    });
    expect(data).toMatchObject({ algorithm: { id: 'AES-256', mode: 'CFB+MDC' }, details: { sessionKeys: ['passphrase'] } });
    expect(summary(detectFile('passphrase-cast5.asc').findings)).toEqual(['encrypted-data openpgp CAST5', 'encrypted-data openpgp CAST5']);
    expect(summary(detectFile('passphrase-3des.gpg').findings)).toEqual(['encrypted-data openpgp 3DES', 'encrypted-data openpgp 3DES']);
  });

  it('reads a v6 PKESK to ML-KEM-768+X25519 and SEIPD v2 (AES-256, OCB)', () => {
    const [pkesk, data] = detectFile('realworld/draft-ietf-openpgp-pqc/v6-mldsa-65-sample-message.asc').findings;
    expect(pkesk).toMatchObject({
      algorithm: { id: 'ML-KEM-768+X25519' },
      quantum: { status: 'hybrid' },
      details: { version: 6, recipientFingerprint: expect.stringMatching(/^7dae8fbc/) },
    });
    expect(data).toMatchObject({ algorithm: { id: 'AES-256', mode: 'OCB' }, details: { packet: 'SEIPD', version: 2, chunkSize: 262144 } });
  });

  it('reports legacy SED (no integrity protection)', () => {
    const r = parseOpenPgpPackets(Uint8Array.from([0xc9, 4, 1, 2, 3, 4]));
    expect(r.findings[0]).toMatchObject({ kind: 'encrypted-data', algorithm: { id: 'unknown' }, details: { packet: 'SED', integrityProtected: false } });
  });
});

describe('openpgp: compressed data', () => {
  it('inflates ZLIB and ZIP packets (legacy indeterminate length) and reports what they hold', () => {
    expect(read('inline-zlib.gpg')[0]).toBe(0xa3); // tag 8, length type 3
    const [s] = detectFile('inline-zlib.gpg').findings;
    expect(s).toMatchObject({ algorithm: { id: 'RSA-4096', hash: 'SHA-256' }, location: { offset: 0, path: 'packet[0]/zlib/packet[2]' } });
    expect(detectFile('inline-zip.asc').findings[0].algorithm.hash).toBe('SHA-512');
  });

  it('reports BZip2 without decompressing it', () => {
    const r = detectFile('inline-bzip2.gpg');
    expect(r.findings).toEqual([]);
    expect(r.errors).toEqual([expect.objectContaining({ code: 'unsupported', source: 'openpgp', message: expect.stringMatching(/BZip2/) })]);
  });

  it('reads partial body lengths and rejects them on non-data packets', () => {
    const whole = read('inline-zlib.gpg');
    const body = whole.subarray(1); // indeterminate: the rest of the file
    expect(body.length).toBeGreaterThan(512);
    const reframed = Uint8Array.from([0xc8, 0xe9, ...body.subarray(0, 512), body.length - 512, ...body.subarray(512)]);
    expect(body.length - 512).toBeLessThan(192);
    expect(summary(detect('reframed.gpg', reframed).findings)).toEqual(['signature openpgp RSA-4096/SHA-256']);
    const bad = Uint8Array.from([0xc2, 0xe9, ...new Uint8Array(512), 0]);
    expect(parseOpenPgpPackets(bad).errors[0]).toMatchObject({
      code: 'malformed',
      message: expect.stringMatching(/partial length, allowed only for data packets/),
    });
  });

  it('stops inflating at the byte cap and at the nesting limit', () => {
    const bomb = deflateSync(new Uint8Array(17 * 1024 * 1024), { level: 9 });
    const pkt = Uint8Array.from([0xc8, 0xff, ...u32(bomb.length + 1), 2, ...bomb]);
    expect(detect('bomb.gpg', pkt).errors).toEqual([expect.objectContaining({ code: 'limit-expanded-bytes' })]);
    let nested = Uint8Array.from([0xca, 3, 0x50, 0x47, 0x50]); // marker packet
    for (let i = 0; i < 6; i++) nested = Uint8Array.from([0xc8, 0xff, ...u32(nested.length + 1), 0, ...nested]);
    expect(parseOpenPgpPackets(nested).errors).toEqual([expect.objectContaining({ code: 'limit-depth' })]);
  });
});

describe('openpgp: encodings', () => {
  it('reads armor with CRLF and headers, and several blocks in one file', () => {
    expect(new TextDecoder().decode(read('rsa3072-crlf.asc'))).toContain('\r\nComment: fixture');
    expect(summary(detectFile('rsa3072-crlf.asc').findings)).toEqual(['public-key openpgp RSA-3072', 'signature openpgp RSA-3072/SHA-256']);
    const two = detectFile('two-blocks.asc').findings;
    expect(two.map((f) => f.location.path)).toEqual(['armor[0]/packet[0]', 'armor[1]/packet[0]', 'armor[0]/packet[2]', 'armor[1]/packet[2]']);
  });

  it('points each packet at the armor text that encodes it', () => {
    const text = new TextDecoder().decode(read('rsa2048.pub.asc'));
    // Positions of the body's base64 characters in the text (lines after the blank line, before the checksum).
    const positions: number[] = [];
    let at = text.indexOf('\n\n') + 2;
    for (const line of text.slice(at).split('\n')) {
      if (line.startsWith('=') || line.startsWith('-----END')) break;
      for (let i = 0; i < line.length; i++) positions.push(at + i);
      at += line.length + 1;
    }
    const decoded = Buffer.from(
      text
        .slice(text.indexOf('\n\n') + 2)
        .split('\n=')[0]
        .replace(/\s/g, ''),
      'base64',
    );
    const findings = detectFile('rsa2048.pub.asc').findings;
    for (const f of findings) {
      const k = findPacket(decoded, Number(f.location.path!.match(/packet\[(\d+)\]$/)![1]));
      expect(f.location.offset).toBe(positions[Math.floor(k / 3) * 4]);
    }
  });

  it('reads armor indented in YAML', () => {
    const armored = new TextDecoder().decode(read('ed25519-cv25519.pub.asc'));
    const yaml = `signing:\n  key: |\n${armored
      .split('\n')
      .map((l) => `    ${l}`)
      .join('\n')}\n`;
    expect(summary(detect('config.yaml', yaml).findings)).toEqual(summary(detectFile('ed25519-cv25519.pub.asc').findings));
  });

  it('reports a bad checksum but keeps the packets; rejects bad base64 and a missing END line', () => {
    const crc = detectFile('bad-crc.asc');
    expect(crc.findings).toHaveLength(2);
    expect(crc.errors[0].message).toMatch(/CRC24/);
    expect(detectFile('bad-base64.asc').errors[0]).toMatchObject({ code: 'malformed', message: expect.stringMatching(/outside base64/) });
    expect(detectFile('no-end-line.asc').errors[0]).toMatchObject({ code: 'truncated', message: expect.stringMatching(/no END line/) });
  });

  it('reads a GnuPG keybox, and reports a corrupt blob', () => {
    expect(summary(detectFile('pubring.kbx').findings)).toEqual(summary(detectFile('ed25519-cv25519.pub.asc').findings));
    const kbx = read('pubring.kbx').slice();
    const second = new DataView(kbx.buffer).getUint32(0);
    new DataView(kbx.buffer).setUint32(second, 0xffffff);
    expect(detect('pubring.kbx', kbx).errors[0].message).toMatch(/keybox blob at offset \d+ declares/);
  });

  it('accepts a data packet cut by the end of a window, but not in a whole file', () => {
    const full = read('to-rsa2048.gpg');
    const cut = full.subarray(0, full.length - 40);
    expect(summary(detect('big.gpg', cut, { whole: false, size: full.length }).findings)).toEqual(summary(detectFile('to-rsa2048.gpg').findings));
    expect(detect('big.gpg', cut).errors[0]).toMatchObject({ code: 'truncated' });
    // Only the first window of a binary file is read as packets.
    expect(detect('big.gpg', full, { whole: false, baseOffset: 8 << 20 }).findings).toEqual([]);
  });
});

describe('openpgp: negative and malformed', () => {
  it('stays silent on bytes that only look like a packet header, and on armor words mid-line', () => {
    expect(detectFile('random-0x99.bin')).toEqual({ findings: [], errors: [], annotations: {} });
    expect(detect('README.md', 'Paste the block that starts with -----BEGIN PGP PUBLIC KEY BLOCK----- here.\n')).toEqual({
      findings: [],
      errors: [],
      annotations: {},
    });
    expect(detect('minisign.sig', 'untrusted comment: signature from minisign secret key\nRWQ=\n').errors).toEqual([]);
  });

  it.each([
    ['truncated.gpg', 'truncated', /declares 397 body octets but only 117 remain/],
    ['absurd-length.gpg', 'truncated', /declares 65535 body octets/],
    ['absurd-length-new.pgp', 'truncated', /declares 2147483647 body octets/],
    ['random.gpg', 'malformed', /named like OpenPGP data but does not parse/],
    ['random.asc', 'malformed', /named like OpenPGP data/],
  ])('%s → %s', (file, code, message) => {
    const r = detectFile(file);
    expect(r.findings).toEqual([]);
    expect(r.errors).toEqual([expect.objectContaining({ code, message: expect.stringMatching(message) })]);
    expect(r.errors[0]).toMatchObject({ source: 'openpgp' });
    expect(r.errors[0].message.startsWith('file:')).toBe(false);
  });

  it.each([
    ['packet tag 0', [0xc0, 0], 'malformed', /packet tag 0 \(reserved\)/],
    ['header bit 7 clear', [0x41, 0], 'malformed', /not a packet header/],
    ['key version 9', [0xc6, 6, 9, 0, 0, 0, 0, 1], 'unsupported', /key version 9 is not 2–6/],
    ['RSA key with a short modulus', [0xc6, 8, 4, 0, 0, 0, 0, 1, 0x08, 0x00], 'truncated', /RSA n runs past the end/],
    ['curve OID length 0xFF', [0xc6, 7, 4, 0, 0, 0, 0, 19, 0xff], 'malformed', /curve OID length 255 is reserved/],
    ['signature subpacket overrun', [0xc2, 9, 4, 0, 1, 8, 0, 3, 10, 2, 0], 'malformed', /subpacket of 10 octets overruns/],
    ['signature hashed area overrun', [0xc2, 6, 4, 0, 1, 8, 0x10, 0], 'truncated', /hashed subpackets runs past/],
    ['signature version 7', [0xc2, 1, 7], 'unsupported', /signature version 7/],
    ['PKESK version 5', [0xc1, 1, 5], 'unsupported', /PKESK version 5/],
    ['SKESK version 9', [0xc3, 2, 9, 9], 'unsupported', /SKESK version 9/],
    ['SEIPD version 3', [0xd2, 1, 3], 'unsupported', /SEIPD version 3/],
    ['compression algorithm 9', [0xc8, 2, 9, 0], 'malformed', /compression algorithm 9 is unknown/],
    ['broken zlib stream', [0xc8, 4, 2, 1, 2, 3], 'malformed', /ZLIB data does not inflate/],
    ['marker that is not "PGP"', [0xca, 3, 0x50, 0x47, 0x51], 'malformed', /marker packet is not "PGP"/],
    ['unknown critical tag 39', [0xe7, 0], 'unsupported', /unknown critical packet tag 39/],
  ])('malformed packet: %s', (_what, bytes, code, message) => {
    const r = parseOpenPgpPackets(Uint8Array.from(bytes as number[]));
    expect(r.findings).toEqual([]);
    expect(r.errors[0]).toMatchObject({ code, message: expect.stringMatching(message as RegExp) });
  });

  it('skips unknown non-critical packets (tags 40–63)', () => {
    const sig = read('detached-rsa-sha1.sig');
    const r = parseOpenPgpPackets(Uint8Array.from([0xff, 2, 0xaa, 0xbb, ...sig]));
    expect(r.errors).toEqual([]);
    expect(summary(r.findings)).toEqual(['signature openpgp RSA-2048/SHA-1']);
  });

  it('never throws past the registry: a secret key cut at every offset', () => {
    const bytes = read('ed25519-unprotected.sec.gpg');
    for (let n = 0; n <= bytes.length; n++) {
      const r = detect('k.gpg', bytes.subarray(0, n));
      expect(r.errors.filter((e) => e.code === 'detector-crash')).toEqual([]);
      if (n > 0 && n < bytes.length) expect(r.errors.length + r.findings.length).toBeGreaterThan(0);
    }
  });

  it('never throws past the registry: armored key cut at every offset', () => {
    const text = read('p256.pub.asc');
    for (let n = 0; n <= text.length; n++) {
      const r = detect('k.asc', text.subarray(0, n));
      expect(r.errors.filter((e) => e.code === 'detector-crash')).toEqual([]);
    }
  });

  it('parseOpenPgpPackets offsets its locations and returns errors instead of throwing', () => {
    const sig = read('detached-rsa-sha1.sig');
    const r = parseOpenPgpPackets(sig, { offset: 1000, path: 'RPMSIGTAG_PGP' });
    expect(r.findings[0]).toMatchObject({ location: { offset: 1000, path: 'RPMSIGTAG_PGP/packet[0]' }, algorithm: { hash: 'SHA-1' } });
    const bad = parseOpenPgpPackets(sig.subarray(0, 30));
    expect(bad.findings).toEqual([]);
    expect(bad.errors[0]).toMatchObject({ code: 'truncated', message: expect.stringMatching(/^packet tag 2 at offset 0 declares/) });
  });
});

function u32(n: number): number[] {
  return [(n >>> 24) & 0xff, (n >>> 16) & 0xff, (n >>> 8) & 0xff, n & 0xff];
}

/** Offset of the i-th packet in a binary sequence (test-side framing, legacy and new headers with definite lengths). */
function findPacket(buf: Uint8Array, index: number): number {
  let pos = 0;
  for (let i = 0; i < index; i++) {
    const h = buf[pos];
    let len: number;
    let hdr: number;
    if (h & 0x40) {
      const o = buf[pos + 1];
      if (o < 192) [len, hdr] = [o, 2];
      else if (o < 224) [len, hdr] = [((o - 192) << 8) + buf[pos + 2] + 192, 3];
      else [len, hdr] = [(buf[pos + 2] << 24) | (buf[pos + 3] << 16) | (buf[pos + 4] << 8) | buf[pos + 5], 6];
    } else {
      const lt = h & 3;
      hdr = 1 + [1, 2, 4][lt];
      len =
        lt === 0
          ? buf[pos + 1]
          : lt === 1
            ? (buf[pos + 1] << 8) | buf[pos + 2]
            : (buf[pos + 1] << 24) | (buf[pos + 2] << 16) | (buf[pos + 3] << 8) | buf[pos + 4];
    }
    pos += hdr + len;
  }
  return pos;
}
