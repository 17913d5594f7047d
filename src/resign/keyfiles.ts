/**
 * The files `shelflife keygen --out <base>` writes and `resign --key <base>` reads:
 * `<base>.key` (encrypted PKCS#8, PEM, mode 0600), `<base>.crt` (self-signed certificate, PEM) or `<base>.csr`.
 * @module
 */
import { existsSync, readFileSync } from 'node:fs';
import { UsageError } from '../errors.js';
import { readSigningCertificate, type SigningCertificate } from './cert.js';
import { equalBytes } from '../pkix/der-writer.js';
import type { PrivateKey } from './composite.js';
import { decodeKeyFile, fromPemOrDer, readPassphrase } from './keys.js';
import { writeDurably } from './writers/fs.js';

export interface KeyPaths {
  key: string;
  cert: string;
  csr: string;
}

/** `keys/release` → keys/release.key / .crt / .csr; a path already ending in .key is accepted too. */
export function keyPaths(base: string): KeyPaths {
  const b = base.replace(/\.(key|crt|csr)$/, '');
  return { key: `${b}.key`, cert: `${b}.crt`, csr: `${b}.csr` };
}

export function loadCertificate(path: string): SigningCertificate {
  let bytes: Uint8Array;
  try {
    bytes = readFileSync(path);
  } catch (e) {
    throw new UsageError(`cannot read the certificate: ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}`, { uri: path });
  }
  return readSigningCertificate(fromPemOrDer(bytes, 'CERTIFICATE', path), path);
}

export interface SigningIdentity {
  key: PrivateKey;
  cert: SigningCertificate;
}

/** Decrypt the key (passphrase from the environment or the terminal) and pair it with its certificate. */
export function loadSigningIdentity(base: string, env: NodeJS.ProcessEnv = process.env): SigningIdentity {
  const p = keyPaths(base);
  if (!existsSync(p.key)) throw new UsageError(`no such key file (create one with \`shelflife keygen --out ${base}\`)`, { uri: p.key });
  if (!existsSync(p.cert)) throw new UsageError('no certificate beside the key (a CSR must be issued and the certificate saved there first)', { uri: p.cert });
  const cert = loadCertificate(p.cert);
  const key = decodeKeyFile(readFileSync(p.key), () => readPassphrase(p.key, { env }), p.key);
  if (key.alg.oid !== cert.publicKey.alg.oid || !equalBytes(key.publicKey.bytes, cert.publicKey.bytes)) {
    throw new UsageError(`the certificate's public key is not the one in ${p.key}`, { uri: p.cert });
  }
  return { key, cert };
}

/** Write a new file durably; never over an existing one (keys are not regenerated over old ones). */
export function writeNewFile(path: string, text: string, mode = 0o644): void {
  writeDurably(path, new TextEncoder().encode(text), mode);
}
