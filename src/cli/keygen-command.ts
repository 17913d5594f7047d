/**
 * `shelflife keygen --alg mldsa65-ecdsa-p256 --out keys/release [--csr]`: a fresh composite (or ML-DSA) key,
 * encrypted at rest, with a self-signed certificate or a CSR to anchor it in a PKI.
 * @module
 */
import { createHash } from 'node:crypto';
import { existsSync } from 'node:fs';
import { makeDirectory } from '../directory.js';
import { dirname } from 'node:path';
import type { Command } from 'commander';
import { UsageError } from '../errors.js';
import { certificationRequest, selfSignedCertificate } from '../resign/cert.js';
import { DEFAULT_ALGORITHM, generateKey, requireAlgorithm, signatureAlgorithms } from '../resign/composite.js';
import { keyPaths, writeNewFile } from '../resign/keyfiles.js';
import { pem } from '../pkix/pem.js';
import { encodeEncryptedKeyPem, PASSPHRASE_ENV, readPassphrase } from '../resign/keys.js';

export interface KeygenCliOptions {
  alg: string;
  out: string;
  csr?: boolean;
  subject?: string;
  days: string;
}

export function registerKeygen(program: Command): void {
  program
    .command('keygen')
    .description(`generate a hybrid signing key (encrypted with $${PASSPHRASE_ENV} or a prompt) and a self-signed certificate or CSR`)
    .option(
      '--alg <name>',
      `algorithm: ${signatureAlgorithms()
        .map((a) => a.cliName)
        .join(', ')}`,
      DEFAULT_ALGORITHM,
    )
    .requiredOption('--out <base>', 'writes <base>.key and <base>.crt (or <base>.csr)')
    .option('--csr', 'write a certificate signing request instead of a self-signed certificate')
    .option('--subject <cn>', 'certificate subject common name (default: "shelflife release signing")')
    .option('--days <n>', 'self-signed certificate validity in days', '1825')
    .action(async (opts: KeygenCliOptions) => {
      process.exitCode = runKeygen(opts);
    });
}

export function runKeygen(opts: KeygenCliOptions, env: NodeJS.ProcessEnv = process.env): number {
  const alg = requireAlgorithm(opts.alg);
  const days = Number(opts.days);
  if (!Number.isInteger(days) || days < 1 || days > 36500) throw new UsageError('--days must be a whole number from 1 to 36500');
  const paths = keyPaths(opts.out);
  for (const p of [paths.key, opts.csr ? paths.csr : paths.cert]) {
    if (existsSync(p)) throw new UsageError(`${p} already exists; keygen never overwrites a key or certificate (choose another --out)`);
  }
  const passphrase = readPassphrase(paths.key, { env, confirm: true });
  const key = generateKey(alg);
  const subject = opts.subject ?? 'shelflife release signing';
  makeDirectory(dirname(paths.key));
  // Key first, 0600: a certificate without its key is useless, a key without its certificate can be certified later.
  writeNewFile(paths.key, encodeEncryptedKeyPem(key, passphrase), 0o600);
  let written: string;
  if (opts.csr) {
    writeNewFile(paths.csr, pem('CERTIFICATE REQUEST', certificationRequest(key, subject)));
    written = paths.csr;
  } else {
    const der = selfSignedCertificate(key, { subject, days });
    writeNewFile(paths.cert, pem('CERTIFICATE', der));
    written = `${paths.cert} (SHA-256 fingerprint ${createHash('sha256').update(der).digest('hex')})`;
  }
  process.stderr.write(`shelflife: ${alg.name} (${alg.id}) key → ${paths.key}\nshelflife: ${opts.csr ? 'CSR' : 'self-signed certificate'} → ${written}\n`);
  return 0;
}
