import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { claims } from '../../src/detectors/index.js';
import { detectSsh, sshDetector } from '../../src/detectors/ssh.js';
import type { Finding } from '../../src/model.js';
import { needPrograms, requirePrerequisite } from '../helpers/prerequisites.js';
import { ctxFor, detectAll, FIXTURES, summary } from '../helpers/scan.js';

const DIR = join(FIXTURES, 'ssh-jose');
const read = (name: string) => readFileSync(join(DIR, name));
const ssh = (name: string, bytes: Uint8Array | string = read(name)) => {
  const b = typeof bytes === 'string' ? new TextEncoder().encode(bytes) : bytes;
  const r = detectSsh(b, ctxFor(name, b));
  return { findings: r.findings, errors: r.errors ?? [] };
};

/** RFC 4251 §5 encoders, to craft blobs byte by byte. */
const u32 = (n: number) => {
  const b = Buffer.alloc(4);
  b.writeUInt32BE(n);
  return b;
};
const str = (s: string | Uint8Array) => {
  const b = typeof s === 'string' ? Buffer.from(s, 'latin1') : Buffer.from(s);
  return Buffer.concat([u32(b.length), b]);
};
const line = (type: string, blob: Buffer, rest = '') => `${type} ${blob.toString('base64')}${rest}\n`;
const ed25519Blob = (pk = Buffer.alloc(32, 7)) => Buffer.concat([str('ssh-ed25519'), str(pk)]);

/** Bits as ssh-keygen -l prints them, from our canonical id. */
function bitsOf(f: Finding): number {
  const id = f.algorithm.id;
  const m = id.match(/^(?:RSA|DSA)-(\d+)$/) ?? id.match(/^ECDSA-P(\d+)$/);
  if (m) return Number(m[1]);
  return id === 'Ed25519' ? 256 : NaN;
}

describe('ssh detector: claims', () => {
  it('claims key files by content and name, not arbitrary text', () => {
    const c = (name: string, text: string) => claims(sshDetector, new TextEncoder().encode(text), { name, baseOffset: 0 });
    expect(c('x.txt', 'ssh-ed25519 AAAA')).toBe(true);
    expect(c('x', '-----BEGIN OPENSSH PRIVATE KEY-----')).toBe(true);
    expect(c('x', '---- BEGIN SSH2 PUBLIC KEY ----')).toBe(true);
    expect(c('x', '-----BEGIN SSH SIGNATURE-----')).toBe(true);
    expect(c('known_hosts', '')).toBe(true);
    expect(c('notes.txt', 'secure shell keys')).toBe(false);
  });
});

describe('ssh detector: public keys', () => {
  it('names every size and curve ssh-keygen makes, from the blob', () => {
    for (const [file, id] of [
      ['rsa-1024.pub', 'RSA-1024'],
      ['rsa-2048.pub', 'RSA-2048'],
      ['rsa-3072.pub', 'RSA-3072'],
      ['rsa-4096.pub', 'RSA-4096'],
      ['dsa-1024.pub', 'DSA-1024'],
      ['ecdsa-256.pub', 'ECDSA-P256'],
      ['ecdsa-384.pub', 'ECDSA-P384'],
      ['ecdsa-521.pub', 'ECDSA-P521'],
      ['ed25519.pub', 'Ed25519'],
      ['ed448.pub', 'Ed448'],
    ]) {
      const { findings, errors } = ssh(file);
      expect(errors, file).toEqual([]);
      expect(
        findings.map((f) => [f.kind, f.format, f.algorithm.id]),
        file,
      ).toEqual([['public-key', 'ssh', id]]);
      expect(findings[0].quantum.status).toBe('vulnerable');
      expect(findings[0].algorithm.hash, 'a key has no hash of its own').toBeUndefined();
      expect(findings[0].subject).toMatch(/@fixtures$/);
    }
    expect(ssh('rsa-2048.pub').findings[0].quantum.classicalBits).toBe(112);
    expect(ssh('ecdsa-521.pub').findings[0].algorithm.name).toBe('ecdsa-sha2-nistp521');
  });

  it('agrees with ssh-keygen -l on size and SHA-256 fingerprint for every generated key', () => {
    const lines = readFileSync(join(DIR, 'ssh-keygen-l.txt'), 'utf8').trim().split('\n');
    expect(lines.length).toBeGreaterThanOrEqual(15);
    for (const l of lines) {
      const [file, bits, fp] = l.split(' ');
      const f = ssh(file).findings.find((x) => x.kind !== 'signature');
      expect(f?.fingerprint, file).toBe(fp);
      expect(bitsOf(f!), file).toBe(Number(bits));
    }
  });

  it('agrees with OpenSSH test data and with GitHub published host key fingerprints', () => {
    for (const name of ['rsa_1', 'ecdsa_1', 'ecdsa_sk1', 'mldsa44_ed25519_1', 'rsa_1-cert', 'ed25519_sk1-cert']) {
      const fp = readFileSync(join(DIR, 'realworld', `openssh-${name}.fp`), 'utf8').trim();
      const f = ssh(`realworld/openssh-${name}.pub`).findings[0];
      expect(f.fingerprint, name).toBe(fp);
    }
    const enc = ssh('realworld/openssh-ed25519_1_pw').findings[0];
    expect(enc.fingerprint).toBe(readFileSync(join(DIR, 'realworld', 'openssh-ed25519_1.fp'), 'utf8').trim());
    const gh = ssh('realworld/github-known_hosts').findings;
    expect(gh.map((f) => `${f.algorithm.id} ${f.fingerprint} ${f.subject}`)).toEqual([
      'Ed25519 SHA256:+DiY3wvvV6TuJJhbpZisF/zLDA0zPMSvHdkr4UvCOqU github.com',
      'ECDSA-P256 SHA256:p2QAMXNIC1TJYWeIOttrVc98/R1BUFWu3/LiyKgUfQM github.com',
      'RSA-2048 SHA256:nThbg6kXUpJWGl7E1IGOCspRomTxdCARLviKw6E5SY8 github.com',
    ]);
  });

  it('cross-checks freshly made keys with the installed ssh-keygen', (ctx) => {
    requirePrerequisite(ctx, needPrograms('the live ssh-keygen cross-check', 'ssh-keygen'));
    let dir: string | undefined;
    try {
      dir = mkdtempSync(join(tmpdir(), 'shelflife-ssh-'));
      for (const [t, b] of [
        ['rsa', '2560'],
        ['ecdsa', '384'],
        ['ed25519', ''],
      ] as const) {
        const f = join(dir, t);
        execFileSync('ssh-keygen', ['-q', '-t', t, ...(b ? ['-b', b] : []), '-N', '', '-C', 'live', '-f', f]);
        const [bits, fp] = execFileSync('ssh-keygen', ['-l', '-E', 'sha256', '-f', `${f}.pub`], { encoding: 'utf8' }).split(' ');
        for (const file of [`${f}.pub`, f]) {
          const found = ssh(file, readFileSync(file)).findings[0];
          expect(found.fingerprint, file).toBe(fp);
          expect(bitsOf(found), file).toBe(Number(bits));
        }
      }
    } finally {
      if (dir) rmSync(dir, { recursive: true, force: true });
    }
  });

  it('tells authorized_keys options, known_hosts hosts, hashed hosts and markers apart', () => {
    const ak = ssh('authorized_keys').findings;
    expect(ak.map((f) => f.details?.context)).toEqual(['authorized_keys', 'authorized_keys', 'authorized_keys', 'authorized_keys']);
    expect(ak[0].details?.options).toEqual(['command', 'no-pty', 'no-port-forwarding']);
    expect(ak[2].details?.certAuthority).toBe(true);
    expect(ak[0].subject).toBe('ed25519@fixtures');
    expect(JSON.stringify(ak)).not.toContain('/usr/bin/backup'); // option values (commands) are not copied

    const kh = ssh('known_hosts').findings;
    expect(kh.map((f) => [f.details?.context, f.subject])).toEqual([
      ['known_hosts', 'host.example.com,192.0.2.10'],
      ['known_hosts', '[git.example.com]:2222'],
      ['known_hosts', '*.example.com'],
      ['known_hosts', '*'],
    ]);
    expect(kh[2].details?.certAuthority).toBe(true);
    expect(kh[3].details?.revoked).toBe(true);

    const hashed = ssh('known_hosts_hashed').findings;
    expect(hashed.filter((f) => f.details?.hashedHost === true)).toHaveLength(3);
    expect(hashed.filter((f) => f.details?.hashedHost === true).every((f) => f.subject === undefined)).toBe(true);
  });

  it('reads RFC 4716 files, headers with continuation lines included', () => {
    expect(summary(ssh('rsa-2048.rfc4716.pub').findings)).toEqual(['public-key ssh RSA-2048']);
    const b64 = ed25519Blob().toString('base64');
    const text = `---- BEGIN SSH2 PUBLIC KEY ----\nSubject: me\nComment: "a long \\\ncomment"\n${b64.slice(0, 40)}\n${b64.slice(40)}\n---- END SSH2 PUBLIC KEY ----\n`;
    const { findings, errors } = ssh('k.pub', text);
    expect(errors).toEqual([]);
    expect(findings.map((f) => [f.algorithm.id, f.subject, f.details?.context])).toEqual([['Ed25519', 'a long comment', 'rfc4716']]);
  });

  it('reads FIDO sk- keys with their application and the ML-DSA-44+Ed25519 composite', () => {
    const sk = ssh('realworld/openssh-ecdsa_sk1.pub').findings[0];
    expect(sk.algorithm.id).toBe('ECDSA-P256');
    expect(sk.details?.application).toBe('ssh:');
    const pq = ssh('realworld/openssh-mldsa44_ed25519_1.pub').findings[0];
    expect([pq.algorithm.id, pq.quantum.status, pq.quantum.nistLevel]).toEqual(['ML-DSA-44+Ed25519', 'hybrid', 2]);
  });

  it('finds keys embedded in other text (YAML, JSON) without calling them known_hosts', () => {
    const b64 = ed25519Blob().toString('base64');
    const yaml = `users:\n  - name: a\n    ssh_authorized_keys:\n      - ssh-ed25519 ${b64} a@b\n`;
    const json = `{"key": "ssh-ed25519 ${b64}"}`;
    expect(ssh('cloud.yaml', yaml).findings.map((f) => f.details?.context)).toEqual(['embedded']);
    expect(ssh('x.json', json).findings.map((f) => [f.algorithm.id, f.details?.context])).toEqual([['Ed25519', 'embedded']]);
  });
});

describe('ssh detector: certificates', () => {
  it('reports the certified key and the CA signature, with the certificate fields', () => {
    const [cert, sig] = ssh('user-cert.pub').findings;
    expect([cert.kind, cert.algorithm.id, cert.algorithm.hash]).toEqual(['certificate', 'ECDSA-P256', 'SHA-512']);
    expect(cert.subject).toBe('alice');
    expect(cert.serial).toBe('7');
    expect(cert.notBefore).toBe('2026-01-01T00:00:00.000Z');
    expect(cert.notAfter).toBe('2027-01-01T00:00:00.000Z');
    expect(cert.details).toMatchObject({ certType: 'user', principals: ['alice', 'admin'], keyId: 'alice' });
    expect(cert.issuer).toBe(sig.fingerprint);
    expect([sig.kind, sig.algorithm.id, sig.algorithm.name, sig.location.path]).toEqual(['signature', 'RSA-3072', 'rsa-sha2-512', 'signature']);

    const [host, hostSig] = ssh('host-cert.pub').findings;
    expect(host.details).toMatchObject({ certType: 'host', principals: ['host.example.com'], validForever: true });
    expect(host.notAfter).toBeUndefined();
    expect(hostSig.algorithm.name).toBe('rsa-sha2-256');
  });
});

describe('ssh detector: OpenSSH private keys', () => {
  it('says whether a key is encrypted, with cipher, KDF and rounds, and reads the public key either way', () => {
    const plain = ssh('id_rsa_plain').findings[0];
    expect([plain.kind, plain.algorithm.id, plain.subject]).toEqual(['private-key', 'RSA-2048', 'rsa-2048@fixtures']);
    expect(plain.details).toMatchObject({ encrypted: false, cipher: 'none', kdf: 'none' });

    const enc = ssh('id_ecdsa384_enc').findings[0];
    expect(enc.algorithm.id).toBe('ECDSA-P384');
    expect(enc.details).toMatchObject({ encrypted: true, cipher: 'aes256-ctr', kdf: 'bcrypt', rounds: 32, saltBytes: 16 });
    expect((enc.details?.encryption as { id: string }).id).toBe('AES-256');

    const chacha = ssh('id_ed25519_enc').findings[0];
    expect(chacha.details).toMatchObject({ encrypted: true, cipher: 'chacha20-poly1305@openssh.com', rounds: 16 });
    expect((chacha.details?.encryption as { id: string }).id).toBe('ChaCha20-Poly1305');
  });

  it('rejects a plain key whose check integers differ or whose padding is wrong', () => {
    const pem = read('id_ed25519_plain').toString();
    const der = Buffer.from(pem.replace(/-----[^-]+-----|\s/g, ''), 'base64');
    const armor = (b: Buffer) => `-----BEGIN OPENSSH PRIVATE KEY-----\n${b.toString('base64')}\n-----END OPENSSH PRIVATE KEY-----\n`;
    // The private section is the last string: checkint 1 starts right after its length.
    const pubLen = der.readUInt32BE(15 + 4 + 4 + 4 + 4 + 4 + 4);
    const privAt = 15 + 4 * 7 + pubLen + 4;
    const badCheck = Buffer.from(der);
    badCheck[privAt] ^= 1;
    expect(ssh('k', armor(badCheck)).errors.map((e) => e.code)).toEqual(['malformed']);
    const badPad = Buffer.from(der);
    badPad[badPad.length - 1] ^= 0x40;
    expect(ssh('k', armor(badPad)).errors[0].message).toMatch(/padding/);
    const badMagic = Buffer.from(der);
    badMagic[0] = 0x78;
    expect(ssh('k', armor(badMagic)).errors[0].message).toMatch(/openssh-key-v1/);
  });
});

describe('ssh detector: SSHSIG', () => {
  it('names the signer key, the signature algorithm, the namespace and the hash', () => {
    const rsa = ssh('message-rsa.txt.sig').findings[0];
    expect([rsa.kind, rsa.algorithm.id, rsa.algorithm.name, rsa.algorithm.hash]).toEqual(['signature', 'RSA-3072', 'rsa-sha2-512', 'SHA-512']);
    expect(rsa.details).toMatchObject({ namespace: 'file', hashAlgorithm: 'sha512', signatureAlgorithm: 'rsa-sha2-512' });
    expect(rsa.fingerprint).toBe(ssh('rsa-3072.pub').findings[0].fingerprint);
    const ed = ssh('message-ed25519.txt.sig').findings[0];
    expect([ed.algorithm.id, ed.algorithm.name, ed.algorithm.hash]).toEqual(['Ed25519', 'ssh-ed25519', 'SHA-512']);
  });

  it('reads SSHSIG by a security key, plain sk- and the WebAuthn variant (PROTOCOL.u2f)', () => {
    // The signer: OpenSSH's own sk-ecdsa test key (regress/unittests/sshkey/testdata/ecdsa_sk1.pub).
    const line = readFileSync(join(FIXTURES, 'ssh-jose', 'realworld', 'openssh-ecdsa_sk1.pub'), 'utf8')
      .trim()
      .split(/\s+/);
    const blob = Buffer.from(line[1], 'base64');
    const ecdsaSig = str(Buffer.concat([str(Buffer.alloc(32, 1)), str(Buffer.alloc(32, 2))]));
    const sshsig = (inner: Buffer) =>
      `-----BEGIN SSH SIGNATURE-----\n${Buffer.concat([Buffer.from('SSHSIG'), u32(1), str(blob), str('file'), str(''), str('sha512'), str(inner)]).toString('base64')}\n-----END SSH SIGNATURE-----\n`;
    const plain = ssh('x.sig', sshsig(Buffer.concat([str('sk-ecdsa-sha2-nistp256@openssh.com'), ecdsaSig, Buffer.from([1]), u32(7)])));
    expect(plain.errors).toEqual([]);
    expect(plain.findings[0]).toMatchObject({
      algorithm: { id: 'ECDSA-P256', hash: 'SHA-256' },
      details: { signerKeyType: 'sk-ecdsa-sha2-nistp256@openssh.com', application: 'ssh:' },
    });
    const webauthn = ssh(
      'x.sig',
      sshsig(
        Buffer.concat([
          str('webauthn-sk-ecdsa-sha2-nistp256@openssh.com'),
          ecdsaSig,
          Buffer.from([5]),
          u32(9),
          str('https://example.org'),
          str('{"type":"webauthn.get"}'),
          str(''),
        ]),
      ),
    );
    expect(webauthn.errors).toEqual([]);
    expect(webauthn.findings[0]).toMatchObject({
      algorithm: { id: 'ECDSA-P256', name: 'webauthn-sk-ecdsa-sha2-nistp256@openssh.com' },
      fingerprint: plain.findings[0].fingerprint,
      details: { webauthn: true, webauthnOrigin: 'https://example.org' },
    });
    // The WebAuthn fields are required: a signature that stops after the counter is malformed.
    const cut = ssh('x.sig', sshsig(Buffer.concat([str('webauthn-sk-ecdsa-sha2-nistp256@openssh.com'), ecdsaSig, Buffer.from([5]), u32(9)])));
    expect(cut.findings).toEqual([]);
    expect(cut.errors).toHaveLength(1);
  });

  it('rejects a signature algorithm that does not fit the key', () => {
    const sig = Buffer.concat([
      Buffer.from('SSHSIG'),
      u32(1),
      str(ed25519Blob()),
      str('file'),
      str(''),
      str('sha512'),
      str(Buffer.concat([str('rsa-sha2-512'), str(Buffer.alloc(64))])),
    ]);
    const text = `-----BEGIN SSH SIGNATURE-----\n${sig.toString('base64')}\n-----END SSH SIGNATURE-----\n`;
    const r = ssh('x.sig', text);
    expect(r.findings).toEqual([]);
    expect(r.errors[0].message).toMatch(/rsa-sha2-512 does not match the ssh-ed25519 key/);
  });
});

describe('ssh detector: negative and malformed', () => {
  it('finds nothing in prose that mentions key types or abbreviated keys', () => {
    expect(ssh('not-a-key.txt')).toEqual({ findings: [], errors: [] });
    expect(detectAll('readme.md', 'Use ssh-rsa AAAAB3NzaC1yc2EAAAADAQABAAABAQC... or ssh-ed25519 keys.').findings).toEqual([]);
    expect(ssh('x', 'xssh-ed25519 ' + ed25519Blob().toString('base64')).findings).toEqual([]);
  });

  it('reports the blob, not the label, and flags the mismatch', () => {
    const r = ssh('mismatch.pub');
    expect(summary(r.findings)).toEqual(['public-key ssh RSA-2048']);
    expect(r.findings[0].details?.labelType).toBe('ssh-ed25519');
    expect(r.errors.map((e) => e.code)).toEqual(['malformed']);
    expect(r.errors[0]).toMatchObject({ message: expect.stringMatching(/^key at offset 0: label says ssh-ed25519, blob says ssh-rsa/) });
  });

  it('gives truncated, bad base64 and wrong-curve blobs a clear error and no finding', () => {
    for (const [file, code, text] of [
      ['truncated.pub', 'truncated', /n needs \d+ bytes/],
      ['bad-base64.pub', 'malformed', /broken by "!"/],
      ['wrong-curve.pub', 'malformed', /curve nistp256 inside a ecdsa-sha2-nistp384 key/],
    ] as const) {
      const r = ssh(file);
      expect(r.findings, file).toEqual([]);
      expect(
        r.errors.map((e) => e.code),
        file,
      ).toEqual([code]);
      expect(r.errors[0].message, file).toMatch(text);
      expect(r.errors[0].offset, file).toBe(0);
    }
  });

  it('rejects trailing bytes, negative moduli, short Ed25519 keys, unknown types and certificates as CA keys', () => {
    const rsa = (n: Buffer) => Buffer.concat([str('ssh-rsa'), str(Buffer.from([1, 0, 1])), str(n)]);
    const cases: [string, Buffer, RegExp][] = [
      ['ssh-ed25519', Buffer.concat([ed25519Blob(), Buffer.from([0])]), /trailing/],
      ['ssh-rsa', rsa(Buffer.alloc(256, 0xff)), /negative/],
      ['ssh-ed25519', ed25519Blob(Buffer.alloc(31)), /Ed25519 key of 31 bytes/],
      ['ssh-foo', Buffer.concat([str('ssh-foo'), str('x')]), /unsupported key type ssh-foo/],
    ];
    for (const [type, blob, msg] of cases) {
      const r = ssh('k.pub', line(type, blob));
      expect(r.findings, String(msg)).toEqual([]);
      expect(r.errors[0]?.message, String(msg)).toMatch(msg);
    }
    expect(ssh('k.pub', line('ssh-foo', Buffer.concat([str('ssh-foo'), str('x')]))).errors[0].code).toBe('unsupported');
  });

  it('never throws on mutated key files', () => {
    const inputs = ['user-cert.pub', 'id_rsa_plain', 'id_ecdsa384_enc', 'message-rsa.txt.sig', 'known_hosts', 'rsa-2048.rfc4716.pub'].map((f) => read(f));
    let seed = 42;
    const rand = () => (seed = (seed * 1103515245 + 12345) >>> 0) / 2 ** 32;
    for (let i = 0; i < 600; i++) {
      const b = Buffer.from(inputs[i % inputs.length]);
      const n = 1 + Math.floor(rand() * 4);
      for (let j = 0; j < n; j++) b[Math.floor(rand() * b.length)] = Math.floor(rand() * 256);
      const cut = rand() < 0.3 ? b.subarray(0, Math.floor(rand() * b.length)) : b;
      expect(() => ssh('m', cut)).not.toThrow();
    }
  });
});
