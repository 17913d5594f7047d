/**
 * Parameters the bytes determine without the key: the one place that turns the size of a signature, a ciphertext or
 * an OpenPGP MPI into a modulus size, and that says how it was known (`details.parameterFrom`). Pure.
 *
 * - RSA signatures and RSA key-transport ciphertexts are octet strings exactly as long as the modulus (RFC 8017
 *   §8.2.1 step 3 and §7.2.1 step 2c: I2OSP(s, k)), so their length gives the modulus to the octet.
 * - OpenPGP MPIs (RFC 9580 §3.2) drop leading zero bits. A value below an N-bit modulus has N − t bits with probability
 *   2^-t, so a 3,061-bit RSA signature comes from a 3072-bit key; the bit count is rounded up to the modulus size it
 *   implies when one lies within MPI_SLACK_BITS (a 2^-32 event otherwise), and left unknown when none does.
 * - DSA r and s are below q (FIPS 186-5 §4.6): they give q (160, 224 or 256 bits), never p.
 * - ECDSA r and s are below the curve order, and curves share sizes (P-256, brainpoolP256r1, secp256k1): a curve is
 *   never inferred from them; only from a key, a certificate or a curve the envelope names.
 * @module
 */
import { catalogue, type CatalogueEntry, type Described } from './index.js';
import type { Algorithm } from '../model.js';

/** How a reported parameter was known (docs/architecture.md, `details.parameterFrom`). */
export type ParameterFrom = 'key' | 'certificate' | 'signature-length' | 'ciphertext-length' | 'mpi-length' | 'joined-key';

/**
 * Modulus sizes keys are made with (RSA, DSA p, ElGamal p): every multiple of 512 bits up to 16384, plus the SP 800-57
 * sizes 768, 7680 and 15360 that are not. An MPI's bit count rounds up to the smallest of these within the slack.
 */
const MODULUS_SIZES: readonly number[] = [...new Set([768, 7680, 15360, ...Array.from({ length: 32 }, (_, i) => (i + 1) * 512)])].sort((a, b) => a - b);

/** DSA subgroup sizes (FIPS 186-5 §4.2: N = 160, 224, 256). */
const DSA_Q_SIZES: readonly number[] = [160, 224, 256];

/** Leading zero bits tolerated before a value is no longer taken to come from the next standard size (2^-32). */
export const MPI_SLACK_BITS = 32;

/** The smallest size in `sizes` at or above `bits` and within the slack, or undefined. */
function roundUp(bits: number, sizes: readonly number[]): number | undefined {
  if (!Number.isInteger(bits) || bits <= 0) return undefined;
  for (const s of sizes) if (s >= bits) return s - bits < MPI_SLACK_BITS ? s : undefined;
  return undefined;
}

/**
 * RSA modulus bits from the octet length of a signature or key-transport ciphertext (RFC 8017 I2OSP(·, k)). Lengths
 * below 64 octets (512 bits) or above 2048 octets (16384 bits) are not RSA values anyone makes: undefined.
 */
export function rsaBitsFromOctets(octets: number): number | undefined {
  if (!Number.isInteger(octets) || octets < 64 || octets > 2048) return undefined;
  return octets * 8;
}

/** Modulus bits (RSA n, ElGamal p) from the largest bit count among the MPIs of one value (RFC 9580 §3.2). */
export function modulusBitsFromMpi(bits: number): number | undefined {
  return roundUp(bits, MODULUS_SIZES);
}

/** DSA q bits from the larger of r and s. */
export function dsaSubgroupBitsFromMpi(bits: number): number | undefined {
  return roundUp(bits, DSA_Q_SIZES);
}

/**
 * ECDSA values pin a curve only when a single curve the format allows is large enough to hold them. Of the OpenPGP
 * curves (RFC 9580 §9.2: NIST P-256/384/521, brainpoolP256r1/384r1/512r1, and secp256k1 in practice) only P-521 has
 * an order above 2^512, so a value of more than 512 bits is a proof, not a guess; everything else is undefined.
 */
export function openPgpEcdsaCurveFromMpi(bits: number): string | undefined {
  return bits > 512 && bits <= 521 ? 'P521' : undefined;
}

export interface Inferred extends Described {
  /** Set when the parameter is known; absent when the finding stays a family with `parameterKnown: false`. */
  parameterFrom?: ParameterFrom;
}

/** A family entry (RSA, ElGamal) sized by `bits` when known, else the family with `parameterKnown: false`. */
export function sizedFamily(entry: CatalogueEntry | undefined, bits: number | undefined, from: ParameterFrom, extra: Partial<Algorithm> = {}): Inferred {
  // `extra` adds names and the hash; the id and whether the parameter is known are this function's answer, so an
  // unsized algorithm passed whole as `extra` cannot undo the size.
  const { id: _id, family: _family, parameterKnown: _known, ...names } = extra;
  const d = catalogue().resolve(entry, bits ? { bits } : {}, names);
  return bits && d.algorithm.parameterKnown !== false ? { ...d, parameterFrom: from } : d;
}

/** An RSA signature or ciphertext whose only witness is its octet length. */
export function rsaFromOctets(
  entry: CatalogueEntry | undefined,
  octets: number,
  from: 'signature-length' | 'ciphertext-length',
  extra: Partial<Algorithm> = {},
): Inferred {
  return sizedFamily(entry, rsaBitsFromOctets(octets), from, extra);
}
