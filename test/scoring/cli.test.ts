/** `scan` scoring flags, `--fail-on` exit codes and `explain`, run in-process through the real CLI entry point. */
import { generateKeyPairSync } from 'node:crypto';
import { mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeAll, describe, expect, it, vi } from 'vitest';
import { main } from '../../src/cli/main.js';
import type { ScanResult } from '../../src/model.js';

let dir: string;

beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), 'shelflife-scoring-cli-'));
  mkdirSync(join(dir, 'keys'));
  const weak = generateKeyPairSync('rsa', { modulusLength: 1024 }).privateKey.export({ type: 'pkcs8', format: 'pem' });
  const ec = generateKeyPairSync('ec', { namedCurve: 'P-256' }).privateKey.export({ type: 'pkcs8', format: 'pem' });
  writeFileSync(join(dir, 'keys', 'weak.key'), weak);
  writeFileSync(join(dir, 'keys', 'ec.key'), ec);
});

afterEach(() => {
  process.exitCode = undefined;
  vi.restoreAllMocks();
});

async function run(...args: string[]): Promise<{ code: number; out: string; err: string }> {
  let out = '';
  let err = '';
  vi.spyOn(process.stdout, 'write').mockImplementation((s: string | Uint8Array) => ((out += String(s)), true));
  vi.spyOn(process.stderr, 'write').mockImplementation((s: string | Uint8Array) => ((err += String(s)), true));
  const code = await main(['node', 'shelflife', ...args]);
  vi.restoreAllMocks();
  process.exitCode = undefined;
  return { code, out, err };
}

describe('scan scoring flags', () => {
  it('fills class, lifetime and exposure, and --fail-on sets the exit code', async () => {
    const r = await run('scan', dir, '--format', 'json', '--no-progress', '--now', '2026-01-01');
    expect(r.code).toBe(0);
    const result = JSON.parse(r.out) as ScanResult;
    expect(result.scan.startedAt).toBe('2026-01-01T00:00:00.000Z');
    const weak = result.artifacts.find((a) => a.uri.endsWith('/keys/weak.key'))!;
    expect(weak.class).toBe('key-material');
    expect(weak.lifetime).toEqual({ years: 5, source: 'rule:key-material' });
    expect(weak.exposure?.severity).toBe('critical');
    expect(weak.findings[0].exposure?.deadlinesMissed).toEqual([
      'NIST IR 8547: deprecates RSA-1024 after 2030',
      expect.stringMatching(/^Classical weakness: RSA-1024 gives less than 112-bit security/),
    ]);

    expect((await run('scan', dir, '--format', 'json', '--no-progress', '-q', '--now', '2026-01-01', '--fail-on', 'critical')).code).toBe(1);
    // The EC key alone: 5 y + 2 y → 2033; gri-2025-high gives .15 + .34·2/5 = .286 → 29, low; P-256 misses no deadline.
    expect(
      (await run('scan', join(dir, 'keys', 'ec.key'), '--format', 'json', '--no-progress', '-q', '--now', '2026-01-01', '--fail-on', 'critical')).code,
    ).toBe(0);
    expect((await run('scan', join(dir, 'keys', 'ec.key'), '--format', 'json', '--no-progress', '-q', '--now', '2026-01-01', '--fail-on', 'low')).code).toBe(1);
    // A CRQC from 2027 makes the EC key critical too.
    expect(
      (
        await run(
          'scan',
          join(dir, 'keys', 'ec.key'),
          '--format',
          'json',
          '--no-progress',
          '-q',
          '--now',
          '2026-01-01',
          '--crqc-year',
          '2027',
          '--fail-on',
          'critical',
        )
      ).code,
    ).toBe(1);
  });

  it('rejects bad flag values with a usage error', async () => {
    for (const args of [
      ['--now', 'yesterday'],
      ['--crqc-year', '20x0'],
      ['--timeline', 'gri-1999'],
      ['--policy', 'pci'],
      ['--fail-on', 'urgent'],
      ['--timeline', 'gri-2025-low', '--crqc-year', '2030'],
    ]) {
      const r = await run('scan', dir, '--format', 'json', '--no-progress', ...args);
      expect(r.code, args.join(' ')).toBe(2);
      expect(r.err).toMatch(/error/);
    }
  });
});

describe('explain', () => {
  it('prints the full reasoning for one artifact', async () => {
    const r = await run('explain', join(dir, 'keys', 'weak.key'), '--now', '2026-01-01', '--timeline', 'gri-2025-low');
    expect(r.code).toBe(0);
    expect(r.out).toMatch(/^class {5}key-material {2}\(rule:key-material#\d+\)$/m);
    expect(r.out).toMatch(/^timeline {2}gri-2025-low: /m);
    expect(r.out).toMatch(/^EXPOSURE {2}critical \(85\/100\): /m);
    expect(r.out).toMatch(/^finding 1: private-key \S+ RSA-1024 \(vulnerable\)/m);
    // 5 y left + 2 y to migrate = 7 y, against the low curve's median (P = .5 in 2040.78): 14.78 y → not exposed.
    expect(r.out).toMatch(/^ {2}Mosca {6}7 y ≤ 14\.78 y to the CRQC \(median of the timeline\) → not exposed$/m);
    expect(r.out).toMatch(
      /^ {2}deadlines {2}NIST IR 8547: deprecates RSA-1024 after 2030\n {13}Classical weakness: RSA-1024 gives less than 112-bit security today/m,
    );
    expect(r.out).toMatch(/^ {2}score {6}85 = max\(quantum [\d.]+, policy 85\) → critical$/m);
  });

  it('says where a size came from: the MPI, the signer elsewhere in the scan, or nowhere (family only)', async () => {
    const pgp = join(import.meta.dirname, '..', '..', 'fixtures', 'openpgp');
    const alone = await run('explain', join(pgp, 'detached-rsa-sha1.sig'), '--now', '2026-01-01');
    expect(alone.out).toMatch(
      /^ {2}size {7}from the OpenPGP MPI's bit count, rounded up over dropped leading zero bits \(RFC 9580 §3\.2\); signer not in the scan$/m,
    );
    const dsa = await run('explain', join(pgp, 'detached-dsa.sig'), '--now', '2026-01-01');
    expect(dsa.out).toMatch(/^ {2}size {7}not known from the bytes: DSA only, never guessed; signer not in the scan$/m);
    // explain reads one artifact: with a saved report of the signature and its key, the joined size and the key's URI.
    const both = await run(
      'scan',
      join(pgp, 'detached-dsa.sig'),
      join(pgp, 'dsa2048-elg2048.pub.asc'),
      '--format',
      'json',
      '--no-progress',
      '--now',
      '2026-01-01',
    );
    const report = join(dir, 'joined.json');
    writeFileSync(report, both.out);
    const joined = await run('explain', join(pgp, 'detached-dsa.sig'), '--report', report, '--now', '2026-01-01');
    expect(joined.out).toMatch(/^finding 1: signature openpgp DSA-2048 \/ SHA-256/m);
    expect(joined.out).toMatch(/^ {2}size {7}from the signer's key elsewhere in this scan; signer: file:\/\/\S+dsa2048-elg2048\.pub\.asc$/m);
  });

  it.each([
    ['key', 'ssh-jose/ps384-jwk.jws', /^ {2}size {7}from the key, in the same artifact$/m],
    [
      'certificate',
      'supply-chain/realworld/notary/coseWithTimestamp.sig',
      /^ {2}size {7}from the signer's certificate; signer: file:\/\/\S+coseWithTimestamp\.sig$/m,
    ],
    [
      'signature-length',
      'pki/cms/signed-nocerts.p7s',
      /^ {2}size {7}from the signature's length \(an RSA signature is exactly as long as the modulus, RFC 8017 §8\.2\.1\); signer not in the scan$/m,
    ],
    [
      'ciphertext-length',
      'pki/cms/enveloped-rsa.p7m',
      /^ {2}size {7}from the ciphertext's length \(an RSA key-transport value is exactly as long as the modulus, RFC 8017 §7\.2\.1\)$/m,
    ],
    ['mpi-length', 'openpgp/detached-rsa-sha1.sig', /^ {2}size {7}from the OpenPGP MPI's bit count/m],
    // A certificate's signature by an issuer the scan lacks: DigiCert Trusted Root G4 cross-signed by an RSA-2048 root.
    [
      'signature-length (certificate)',
      'pki/realworld/eclipse-jgit-6.10.0-ECLIPSE_.RSA',
      /^ {2}issuer sig RSA-2048 \/ SHA-384 from the signature's length \(an RSA signature is exactly as long as the modulus, RFC 8017 §8\.2\.1\); issuer's certificate not in the scan$/m,
    ],
    ['self-signed', 'packages/realworld/sigstore-trusted_root.json', /^ {2}issuer sig ECDSA-P384 \/ SHA-384; self-signed$/m],
  ])('explain names the origin of a %s size', async (from, file, line) => {
    const r = await run('explain', join(import.meta.dirname, '..', '..', 'fixtures', file), '--now', '2026-01-01');
    expect(r.out, from).toMatch(line);
  });

  it("explain shows a certificate's issuer signature and links the issuer's certificate", async () => {
    const ts = join(import.meta.dirname, '..', '..', 'fixtures', 'supply-chain', 'realworld', 'notary', 'jwsWithTimestamp.sig');
    const r = await run('explain', ts, '--now', '2026-01-01');
    // The TSA certificate: signed by the GlobalSign timestamping CA, whose certificate is in the same token.
    expect(r.out).toMatch(/Globalsign TSA for Advanced - G4[^\n]*\n {2}issuer sig RSA-4096 \/ SHA-256; issuer: file:\/\/\S+jwsWithTimestamp\.sig$/m);
  });

  it('explains from a saved report without rescanning, and names a missing artifact', async () => {
    const scanned = await run('scan', dir, '--format', 'json', '--no-progress', '--now', '2026-01-01');
    const report = join(dir, 'report.json');
    writeFileSync(report, scanned.out);
    const r = await run('explain', join(dir, 'keys', 'ec.key'), '--report', report, '--now', '2026-01-01', '--crqc-year', '2030');
    expect(r.code).toBe(0);
    expect(r.out).toMatch(/^timeline {2}crqc-2030: /m);
    expect(r.out).toMatch(/^finding 1: private-key \S+ ECDSA-P256/m);
    const missing = await run('explain', join(dir, 'keys', 'nope.key'), '--report', report);
    expect(missing.code).toBe(2);
    expect(missing.err).toMatch(/nope\.key: not found in /);
  });
});
