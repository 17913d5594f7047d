/**
 * Is a carved candidate a real public key? The checks a key found by its byte layout alone must pass, because the
 * layout is all there is: bytecode, relocation tables and CDS archives hold a `u32 length ‖ 128 bytes ‖ u32 3` now
 * and then (issue 16: 136 "RSA keys" in a Maven cache, every one of them in a class file or a shared library).
 *
 * An RSA modulus (RFC 8017 §3.1) is the product of two large random primes, so it is odd, has no small prime factor,
 * is no perfect power, and its bytes are indistinguishable from uniform random bytes. A public exponent is 3, 17 or
 * 65537 in practice (FIPS 186-5 §5.4 requires an odd e ≥ 65537 for new keys; 3 and 17 survive in old firmware).
 * An EC point must lie on its curve (SEC 1 §3.2.2.1), which OpenSSL checks when it imports one.
 * @module
 */
import { createPublicKey } from 'node:crypto';

export const RSA_EXPONENTS: ReadonlySet<bigint> = new Set([3n, 17n, 65537n]);

const SMALL_PRIMES = (() => {
  const out: bigint[] = [];
  for (let n = 3; n < 2000; n += 2) {
    let prime = true;
    for (let d = 3; d * d <= n; d += 2) if (n % d === 0) prime = false;
    if (prime) out.push(BigInt(n));
  }
  return out;
})();
const PRIMORIAL = SMALL_PRIMES.reduce((a, p) => a * p, 1n);
/** Prime exponents to test for a perfect power: with no prime factor below 2000, n = m^k needs k ≤ bits / log2(2000). */
const POWER_EXPONENTS = (() => {
  const out: number[] = [2];
  for (let k = 3; k < 800; k += 2) if (SMALL_PRIMES.includes(BigInt(k))) out.push(k);
  return out;
})();

/** Every check an RSA public key (n, e) must pass; `bytes` is n's big-endian encoding as found. */
export function soundRsa(n: bigint, e: bigint): boolean {
  if (!RSA_EXPONENTS.has(e) || n < 1n << 511n || (n & 1n) === 0n) return false;
  if (gcd(n, PRIMORIAL) !== 1n) return false;
  if (!looksRandom(bigintBytes(n))) return false;
  return !isPerfectPower(n);
}

function gcd(a: bigint, b: bigint): bigint {
  while (b) [a, b] = [b, a % b];
  return a;
}

function bigintBytes(n: bigint): Uint8Array {
  const hex = n.toString(16);
  return Buffer.from(hex.length % 2 ? `0${hex}` : hex, 'hex');
}

/**
 * Uniform random bytes: among k of them, the number of distinct values D has mean 256·(1 − q^k), q = 255/256, and
 * variance 256·255·r^k + 256·q^k − 256²·q^(2k), r = 254/256 (occupancy of 256 cells). A modulus more than 8 standard
 * deviations short (a real one is, with probability below 1e-12) is repeated structure: code, tables, text. The false
 * positives of issue 16 had a third to half the expected count.
 */
export function looksRandom(bytes: Uint8Array): boolean {
  const k = bytes.length;
  if (k < 32) return true; // too short to tell; the layouts carve reads have at least 64 bytes
  const seen = new Uint8Array(256);
  let distinct = 0;
  for (const b of bytes) if (!seen[b]++) distinct++;
  const q = (255 / 256) ** k;
  const mean = 256 * (1 - q);
  const variance = 256 * 255 * (254 / 256) ** k + 256 * q - 256 * 256 * q * q;
  return distinct >= mean - 8 * Math.sqrt(variance);
}

/** n = m^k for some integer m and k ≥ 2 (only prime k need testing: m^(ab) = (m^a)^b). */
export function isPerfectPower(n: bigint): boolean {
  const bits = n.toString(2).length;
  for (const k of POWER_EXPONENTS) {
    if (k > bits / 10) break; // m ≥ 2000 > 2^10
    const r = integerRoot(n, k);
    if (r ** BigInt(k) === n) return true;
  }
  return false;
}

/** ⌊n^(1/k)⌋ by Newton's method on integers, from an upper bound. */
function integerRoot(n: bigint, k: number): bigint {
  const K = BigInt(k);
  let x = 1n << BigInt(Math.ceil(n.toString(2).length / k));
  for (;;) {
    const y = ((K - 1n) * x + n / x ** (K - 1n)) / K;
    if (y >= x) return x;
    x = y;
  }
}

/**
 * An EC SubjectPublicKeyInfo whose point lies on its curve: OpenSSL validates the point when it imports the key
 * (its `ERR_OSSL_*` errors say why not). Curves OpenSSL does not know are not carved.
 */
export function soundEcSpki(spkiDer: Uint8Array): boolean {
  try {
    createPublicKey({ key: Buffer.from(spkiDer), format: 'der', type: 'spki' });
    return true;
  } catch (e) {
    if (typeof (e as { code?: unknown }).code === 'string' && (e as { code: string }).code.startsWith('ERR_OSSL')) return false;
    throw e;
  }
}
