/**
 * Hash names as release stores spell them (`sha256`, `SHA256`, `MD5Sum` …) and how they rank: the ids docs/architecture.md uses
 * in `algorithm.hash`, weakest first, so the weakest link of a chain of hashes can be named.
 * @module
 */

/** Hash ids by strength, weakest first. */
export const HASH_STRENGTH: Record<string, number> = {
  MD5: 0,
  'SHA-1': 1,
  'SHA-224': 2,
  'SHA-256': 3,
  'SHA-384': 4,
  'SHA-512': 5,
  'SHA3-256': 3,
  'SHA3-512': 5,
};

/** The weaker of two hashes (undefined counts as unknown and loses to nothing). */
export function weaker(a: string | undefined, b: string | undefined): string | undefined {
  if (!a) return b;
  if (!b) return a;
  return (HASH_STRENGTH[a] ?? 0) <= (HASH_STRENGTH[b] ?? 0) ? a : b;
}

/** A store's hash name → the id (`SHA-256`), or undefined for one we do not know. */
export function hashId(name: string): string | undefined {
  const n = name.toLowerCase().replace(/[^a-z0-9]/g, '');
  const map: Record<string, string> = {
    md5: 'MD5',
    md5sum: 'MD5',
    sha1: 'SHA-1',
    sha: 'SHA-1',
    sha224: 'SHA-224',
    sha256: 'SHA-256',
    sha384: 'SHA-384',
    sha512: 'SHA-512',
    sha3256: 'SHA3-256',
  };
  return map[n];
}
