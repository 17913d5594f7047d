/** Shared helpers for the resign tests: the draft's vectors, temp dirs, and the CLI run in-process or as a child. */
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { SigningCertificate } from '../../src/resign/cert.js';
import { assembleSignedData, signedAttributes, type SignOptions } from '../../src/resign/cms.js';
import { sign, verify, type PrivateKey } from '../../src/resign/composite.js';
import { assembleBundle, DSSE_PAYLOAD_TYPE, pae, statementPayload, type ArtifactDigests } from '../../src/resign/dsse.js';

export const REPO = join(import.meta.dirname, '..', '..');
/** draft-ietf-lamps-pq-composite-sigs test vectors, vendored in the repository (source and licence in the README there). */
export const VECTORS = join(REPO, 'test', 'vendor', 'composite-sigs', 'testvectors.json');

export interface VectorCase {
  tcId: string;
  pk: string;
  x5c: string;
  sk: string;
  sk_pkcs8: string;
  s: string;
  sWithContext: string;
}

export function loadVectors(): { m: Buffer; ctx: Buffer; tests: VectorCase[] } {
  const d = JSON.parse(readFileSync(VECTORS, 'utf8'));
  return { m: Buffer.from(d.m, 'base64'), ctx: Buffer.from(d.ctx, 'base64'), tests: d.tests };
}

export const b64 = (s: string): Uint8Array => new Uint8Array(Buffer.from(s, 'base64'));

export function tempDir(prefix = 'shelflife-resign-'): string {
  return mkdtempSync(join(tmpdir(), prefix));
}

/** Flip one bit of a copy. */
export function flip(bytes: Uint8Array, at: number): Uint8Array {
  const c = new Uint8Array(bytes);
  c[at] ^= 0x01;
  return c;
}

/** The CLI entry for child processes: `node --import tsx test/resign/_cli.ts <args>`. */
export const CLI_ENTRY = join(import.meta.dirname, '_cli.ts');

/** A detached SignedData signed in-process, as `resign` assembles it from the signing pool's signature. */
export function signDetached(key: PrivateKey, cert: SigningCertificate, contentDigest: Uint8Array, options: SignOptions = {}): Uint8Array {
  const attrs = signedAttributes(key.alg, contentDigest, options);
  return assembleSignedData(key.alg, cert, attrs, sign(key, attrs));
}

/** A hybrid DSSE bundle signed in-process, as `resign` assembles it. */
export function signBundle(key: PrivateKey, cert: SigningCertificate, name: string, digests: ArtifactDigests, signedAt = new Date()): string {
  const payload = statementPayload(key.alg, name, digests, signedAt);
  return assembleBundle(key.alg, cert, payload, sign(key, pae(DSSE_PAYLOAD_TYPE, payload)));
}

/** Is this certificate signed by its own key (a self-signed resign certificate)? */
export function isSelfSigned(cert: SigningCertificate): boolean {
  return cert.signatureAlgorithm.oid === cert.publicKey.alg.oid && verify(cert.publicKey, cert.tbs.encoded, cert.signatureValue).valid;
}
