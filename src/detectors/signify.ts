/**
 * OpenBSD signify(1) Ed25519 signatures (plain and embedded, -e), public and secret keys (bcrypt_pbkdf-encrypted
 * or not). The framing is shared with minisign and parsed once in minisign.ts.
 * @module
 */
import { detectEd25519Blobs } from './minisign.js';
import type { Detector } from './types.js';

export const signifyDetector: Detector = {
  format: 'signify',
  description: 'signify (OpenBSD) Ed25519 signatures, public and secret keys',
  claims: { names: ['*.sig', '*.sec'], contains: ['untrusted comment:'] },
  detect: (bytes, ctx) => detectEd25519Blobs('signify', bytes, ctx),
};
