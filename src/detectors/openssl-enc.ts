/**
 * `openssl enc` salted output: the 8 bytes "Salted__" then an 8-byte salt, then ciphertext (OpenSSL apps/enc.c).
 * Nothing in the file names the cipher, the key size or the KDF (EVP_BytesToKey with MD5 or SHA-256, or PBKDF2 with
 * -pbkdf2): the finding says so with parameterKnown false. Unsalted `openssl enc` output has no header at all.
 * @module
 */
import { catalogue } from '../catalogue/index.js';
import type { DetectContext, Finding } from '../model.js';
import type { Detector } from './types.js';

const MAGIC = [...Buffer.from('Salted__')];

export const opensslEncDetector: Detector = {
  format: 'openssl-enc',
  description: 'openssl enc "Salted__" blobs (symmetric; cipher, key size and KDF not recorded)',
  claims: { magic: [{ offset: 0, bytes: MAGIC }] },
  detect: detectOpensslEnc,
};

function detectOpensslEnc(bytes: Uint8Array, ctx: DetectContext): Finding[] {
  // Salt plus at least one cipher block: shorter is a text file that happens to start with the word.
  if (ctx.baseOffset !== 0 || bytes.length < 16 + 8) return [];
  const d = catalogue().byId('Symmetric', { name: 'openssl enc', parameterKnown: false });
  const ciphertext = (ctx.whole ? bytes.length : ctx.size) - 16;
  return [
    {
      kind: 'encrypted-data',
      format: 'openssl-enc',
      algorithm: d.algorithm,
      quantum: d.quantum,
      location: { offset: 0 },
      details: {
        salt: Buffer.from(bytes.subarray(8, 16)).toString('hex'),
        kdf: 'unknown (EVP_BytesToKey MD5/SHA-256 or PBKDF2)',
        // Block ciphers pad to their block size; a length that is not a multiple of 16 rules out AES-CBC/ECB.
        ciphertextBytes: ciphertext,
        ...(ciphertext % 16 !== 0 ? { note: 'ciphertext length is not a multiple of 16: a stream mode (CTR, CFB, OFB) or an 8-byte-block cipher' } : {}),
      },
    },
  ];
}
