/**
 * Notary Project signature envelopes made by notation-go (fixtures/supply-chain/realworld/notary, Apache-2.0): a JWS
 * (src/detectors/jose.ts) and a COSE_Sign1 (src/detectors/cose.ts), each with its x5c/x5chain and the RFC 3161
 * timestamp countersignature in the unprotected header (`io.cncf.notary.timestampSignature`, RFC 3161 §2.4.2) whose
 * token holds the TSA's chain. Expected values come from openssl (`cms -cmsout -print`, `pkcs7 -print_certs`,
 * `x509 -text`) over the token and the certificates; the signer join (src/scan/signers.ts) links each signature to
 * the certificate that made it.
 */
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { describe, expect, it } from 'vitest';
import { findingId } from '../../src/identity.js';
import type { Finding } from '../../src/model.js';
import { needPrograms, requirePrerequisite } from '../helpers/prerequisites.js';
import { FIXTURES, findingsUnder, scanPaths, summary } from '../helpers/scan.js';

const DIR = join(FIXTURES, 'supply-chain', 'realworld', 'notary');
const JWS = join(DIR, 'jwsWithTimestamp.sig');
const COSE = join(DIR, 'coseWithTimestamp.sig');
const TS = 'io.cncf.notary.timestampSignature';

async function scanOne(path: string) {
  const result = await scanPaths(path);
  const artifact = result.artifacts.find((a) => a.uri === pathToFileURL(path).href)!;
  return { artifact, ...findingsUnder(result, pathToFileURL(path).href) };
}

/** What openssl says about a DER SignedData: every certificate's key size and the signer's (by issuer and serial). */
function opensslToken(der: Uint8Array): { certificates: string[]; signer: string; genTime: string } {
  const pem = execFileSync('openssl', ['pkcs7', '-inform', 'DER', '-print_certs'], { input: der }).toString();
  const blocks = pem.match(/-----BEGIN CERTIFICATE-----[\s\S]+?-----END CERTIFICATE-----/g) ?? [];
  const certs = blocks.map((b) => {
    const text = execFileSync('openssl', ['x509', '-noout', '-text', '-serial'], { input: b }).toString();
    return { bits: Number(/Public-Key: \((\d+) bit\)/.exec(text)![1]), serial: /serial=([0-9A-F]+)/.exec(text)![1].toLowerCase() };
  });
  const printed = execFileSync('openssl', ['cms', '-cmsout', '-print', '-inform', 'DER'], { input: der }).toString();
  const serial = BigInt(/d\.issuerAndSerialNumber:[\s\S]*?serialNumber: (\d+)/.exec(printed)![1]).toString(16);
  const signer = certs.find((c) => c.serial.replace(/^0+/, '') === serial)!;
  // openssl ts reads its input from a file only.
  const file = join(mkdtempSync(join(tmpdir(), 'shelflife-notary-')), 'token.der');
  writeFileSync(file, der);
  const info = execFileSync('openssl', ['ts', '-reply', '-token_in', '-text', '-in', file], { stdio: ['ignore', 'pipe', 'ignore'] }).toString();
  rmSync(dirname(file), { recursive: true });
  return { certificates: certs.map((c) => `RSA-${c.bits}`), signer: `RSA-${signer.bits}`, genTime: /Time stamp: (.+)/.exec(info)![1].trim() };
}

function certBits(der: Uint8Array): string {
  const text = execFileSync('openssl', ['x509', '-inform', 'DER', '-noout', '-text'], { input: der }).toString();
  return `RSA-${/Public-Key: \((\d+) bit\)/.exec(text)![1]}`;
}

const byPath = (findings: Finding[], suffix: RegExp) => findings.filter((f) => suffix.test(f.location.path ?? ''));

describe('Notary Project JWS envelope (notation-go testdata)', () => {
  it('reports the signature sized by x5c, the whole chain, and the timestamp token with its TSA chain', async () => {
    const { findings, errors } = await scanOne(JWS);
    expect(errors).toEqual([]);
    expect(summary(findings)).toEqual([
      'certificate jws RSA-2048/SHA-256',
      'certificate jws RSA-3072/SHA-256',
      'certificate jws RSA-4096/SHA-384',
      'certificate jws RSA-4096/SHA-384',
      'signature jws RSA-2048/SHA-256',
      'signature jws RSA-3072/SHA-256',
    ]);
    const [envelope] = findings.filter((f) => f.kind === 'signature' && !f.details?.timestampToken);
    expect(envelope.algorithm).toMatchObject({ id: 'RSA-2048', name: 'PS256', mode: 'PSS' });
    expect(envelope.details).toMatchObject({ keyFrom: 'x5c', parameterFrom: 'certificate', signerInScan: true });
    const token = byPath(findings, new RegExp(`header\\["${TS}"\\]\\.signerInfos\\[0\\]$`));
    expect(token).toHaveLength(1);
    expect(token[0].details).toMatchObject({ timestampToken: true, countersignatureOf: 'jws', parameterFrom: 'certificate', signerInScan: true });
    expect(token[0].subject).toMatch(/Globalsign TSA for Advanced - G4/);
  });

  it('links the signature to its x5c leaf and the TSA signature to the TSA certificate (signerRef)', async () => {
    const { artifact, findings } = await scanOne(JWS);
    const leaf = findings.find((f) => f.kind === 'certificate' && f.location.path?.endsWith('x5c[0]'))!;
    const envelope = findings.find((f) => f.kind === 'signature' && !f.details?.timestampToken)!;
    expect(envelope.details?.signerRef).toEqual({ uri: artifact.uri, finding: findingId(artifact, leaf) });
    const tsaSig = findings.find((f) => f.details?.timestampToken)!;
    const tsaCert = findings.find((f) => f.kind === 'certificate' && f.subject === tsaSig.subject)!;
    expect(tsaSig.details?.signerRef).toEqual({ uri: artifact.uri, finding: findingId(artifact, tsaCert) });
    // The TSA certificate is joined to its issuing CA in the same token, which sizes its signature.
    expect(tsaCert.details).toMatchObject({ signatureAlgorithm: { id: 'RSA-4096' } });
    expect(tsaCert.details?.signerRef).toBeDefined();
  });

  it('agrees with openssl on the token, its TSA chain, its time and the x5c leaf', async (ctx) => {
    requirePrerequisite(ctx, needPrograms('the openssl cross-check of the Notary timestamp', 'openssl'));
    const env = JSON.parse(readFileSync(JWS, 'utf8')) as { header: Record<string, unknown> & { x5c: string[] } };
    const ossl = opensslToken(Buffer.from(env.header[TS] as string, 'base64'));
    const { findings } = await scanOne(JWS);
    const tokenCerts = byPath(findings, /certificates\[\d+\]$/).map((f) => f.algorithm.id);
    expect(tokenCerts.sort()).toEqual([...ossl.certificates].sort());
    const tsaSig = findings.find((f) => f.details?.timestampToken)!;
    expect(tsaSig.algorithm.id).toBe(ossl.signer);
    expect(new Date(tsaSig.created!).getTime()).toBe(new Date(ossl.genTime).getTime());
    expect(findings.find((f) => f.location.path?.endsWith('x5c[0]'))!.algorithm.id).toBe(certBits(Buffer.from(env.header.x5c[0], 'base64')));
  });
});

describe('Notary Project COSE envelope (notation-go testdata)', () => {
  it('reports the COSE_Sign1 signature, its x5chain and the timestamp token, each at its real offset', async () => {
    const { findings, errors } = await scanOne(COSE);
    expect(errors).toEqual([]);
    expect(summary(findings)).toEqual([
      'certificate cose RSA-2048/SHA-256',
      'certificate cose RSA-3072/SHA-256',
      'certificate cose RSA-4096/SHA-384',
      'certificate cose RSA-4096/SHA-384',
      'signature cose RSA-2048/SHA-256',
      'signature cose RSA-3072/SHA-256',
    ]);
    const envelope = findings.find((f) => f.kind === 'signature' && !f.details?.timestampToken)!;
    expect(envelope.algorithm).toMatchObject({ name: 'PS256', mode: 'PSS' });
    expect(envelope.details).toMatchObject({ keyFrom: 'x5chain', parameterFrom: 'certificate', signingScheme: 'notary.x509', signerInScan: true });
    expect(envelope.created).toBe('2024-06-18T06:27:11.000Z');
    expect(findings.find((f) => f.details?.timestampToken)!.details).toMatchObject({ countersignatureOf: 'cose', signerInScan: true });
  });

  it('agrees with openssl: the DER at each reported offset is the certificate or token it names', async (ctx) => {
    requirePrerequisite(ctx, needPrograms('the openssl cross-check of the Notary COSE envelope', 'openssl'));
    const bytes = readFileSync(COSE);
    const { findings } = await scanOne(COSE);
    for (const cert of findings.filter((f) => f.kind === 'certificate')) {
      expect(certBits(derAt(bytes, cert.location.offset!)), cert.location.path).toBe(cert.algorithm.id);
    }
    const tsaSig = findings.find((f) => f.details?.timestampToken)!;
    const tokenAt = findings
      .filter((f) => f.location.path?.startsWith(TS))
      .map((f) => f.location.offset!)
      .reduce((a, b) => Math.min(a, b));
    // The token's ContentInfo starts before its first certificate, right after the CBOR byte string's head.
    const ossl = opensslToken(derAt(bytes, tokenStart(bytes, tokenAt)));
    expect(tsaSig.algorithm.id).toBe(ossl.signer);
    expect(
      byPath(findings, /certificates\[\d+\]$/)
        .map((f) => f.algorithm.id)
        .sort(),
    ).toEqual([...ossl.certificates].sort());
  });
});

/** The DER TLV at `offset` (definite length), cut out of the file. */
function derAt(bytes: Uint8Array, offset: number): Uint8Array {
  const first = bytes[offset + 1];
  const n = first & 0x80 ? first & 0x7f : 0;
  let len = n ? 0 : first;
  for (let i = 0; i < n; i++) len = len * 256 + bytes[offset + 2 + i];
  return bytes.subarray(offset, offset + 2 + n + len);
}

/** The CBOR byte string (major type 2, 2-byte length) that holds the token: the last such head before `inside`. */
function tokenStart(bytes: Uint8Array, inside: number): number {
  for (let i = inside - 1; i >= 3; i--) {
    if (bytes[i - 3] === 0x59 && bytes[i] === 0x30) {
      const len = bytes[i - 2] * 256 + bytes[i - 1];
      if (i + len > inside && derAt(bytes, i).length === len) return i;
    }
  }
  throw new Error('no CBOR byte string holds the token');
}
