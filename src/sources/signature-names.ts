/**
 * The names that link one object to another for signature coverage (docs/coverage.md): detached signatures beside a
 * file (`X.asc`, `X.minisig`, `X.p7s` …), checksum lists and model signatures, and the keys and certificates a check
 * may need. Shared by the coverage pass (src/scan/coverage.ts), the engine (which keeps those objects' bytes), the
 * inventory (which reads them again rather than reuse them) and the sources that decide what to read (an OCI artifact's
 * titled blobs). Names only, never whether the bytes are a signature: that is the detectors' call. Pure.
 * @module
 */
import { isChecksumFile } from './checksum-lists.js';

/** Detached signature suffixes, longest first (a name ending in `.hybrid.json` is not read as `.json`). */
export const DETACHED_SUFFIXES = [
  '.sigstore.json',
  '.intoto.jsonl',
  '.cosign.bundle',
  '.hybrid-2.json',
  '.hybrid.json',
  '.hybrid.p7s',
  '.sigstore',
  '.minisig',
  '.bundle',
  '.sign',
  '.asc',
  '.sig',
  '.gpg',
  '.p7s',
  '.p7m',
];

/** Certificates or keys cosign writes beside `X.sig` (`cosign sign-blob --output-certificate X.pem`). */
export const COSIGN_CERT_SUFFIXES = ['.pem', '.crt', '.cert'];

/** An OpenSSF Model Signing signature (`model.sig`) or shelflife's re-signature of one (`model.sig.hybrid.json`). */
export function isModelSignatureName(name: string): boolean {
  return /^model\.sig/.test(name);
}

/** Names of signature files, checksum lists and model signatures: what links one artifact to another. */
export function isSignatureName(name: string): boolean {
  return DETACHED_SUFFIXES.some((s) => name.endsWith(s)) || isChecksumFile(name) || isModelSignatureName(name);
}

/** Names of the small objects a check may need (those, plus keys and certificates): the engine keeps their bytes. */
export function isEvidenceName(name: string): boolean {
  return isSignatureName(name) || COSIGN_CERT_SUFFIXES.some((s) => name.endsWith(s)) || /\.(pub|key|cer|der|keyring|kbx)$|^KEYS$/i.test(name);
}
