/**
 * What key an encrypted private key holds, read from the length of its ciphertext. EncryptedPrivateKeyInfo (RFC 5958
 * §3) and RFC 1421 encrypted PEM hide the key's own AlgorithmIdentifier, but a CBC ciphertext is the plaintext padded
 * to the next whole block (PKCS#5 padding, RFC 8018 §6.1.1 step 4: always 1 to `block` bytes), and the DER sizes of the
 * common key types do not overlap: an RSA-2048 PrivateKeyInfo is 1216–1219 bytes, a P-256 one 138 (67 without its
 * public key). When every key type that fits the length is one algorithm, that is the key; when they share a family
 * (P-256 and secp256k1 both give 144 bytes of AES-CBC ciphertext) the family is named with `parameterKnown: false`;
 * otherwise no algorithm is claimed, and the candidates are listed (a P-384 key without its public key, as Java writes
 * it, and an ML-KEM seed key both give 96 bytes).
 *
 * The sizes below were measured on keys written by OpenSSL 3 (through node:crypto) and computed for the shorter
 * encodings other writers use (Java's PKCS#8 EC keys without the public key); test/detectors/encrypted-keys.test.ts
 * encrypts fresh keys of every listed type with OpenSSL and checks that each is named back.
 * @module
 */
import { catalogue, type Described } from '../catalogue/index.js';
import type { Algorithm } from '../model.js';

/** Layouts of the encrypted plaintext. */
export type KeyLayout = 'pkcs8' | 'pkcs1' | 'sec1' | 'dsa-openssl';

interface SizeRow {
  id: string;
  layout: KeyLayout;
  min: number;
  max: number;
}

/** RSA PrivateKeyInfo sizes (e = 65537; e = 3 is 2 bytes shorter), ± the leading-zero variation of its 8 integers. */
const RSA_PKCS8: [bits: number, typical: number][] = [
  [1024, 635],
  [1536, 923],
  [2048, 1218],
  [3072, 1793],
  [4096, 2374],
  [8192, 4678],
];
/** RFC 8017 RSAPrivateKey is the PrivateKeyInfo without version (3), AlgorithmIdentifier (15) and OCTET STRING header (4), and a 4-byte outer header either way. */
const PKCS1_OF_PKCS8 = 22;

const ROWS: SizeRow[] = [
  ...RSA_PKCS8.flatMap(([bits, n]): SizeRow[] => [
    { id: `RSA-${bits}`, layout: 'pkcs8', min: n - 8, max: n + 6 },
    { id: `RSA-${bits}`, layout: 'pkcs1', min: n - PKCS1_OF_PKCS8 - 8, max: n - PKCS1_OF_PKCS8 + 6 },
  ]),
  // RFC 8410 §7: OneAsymmetricKey with CurvePrivateKey (v1, no public key).
  { id: 'Ed25519', layout: 'pkcs8', min: 48, max: 48 },
  { id: 'X25519', layout: 'pkcs8', min: 48, max: 48 },
  { id: 'Ed448', layout: 'pkcs8', min: 73, max: 73 },
  { id: 'X448', layout: 'pkcs8', min: 72, max: 72 },
  // RFC 5915 ECPrivateKey inside PrivateKeyInfo: with the public key (OpenSSL) and without (Java).
  { id: 'ECDSA-P256', layout: 'pkcs8', min: 138, max: 138 },
  { id: 'ECDSA-P256', layout: 'pkcs8', min: 67, max: 67 },
  { id: 'ECDSA-secp256k1', layout: 'pkcs8', min: 135, max: 135 },
  { id: 'ECDSA-secp256k1', layout: 'pkcs8', min: 64, max: 64 },
  { id: 'ECDSA-P384', layout: 'pkcs8', min: 185, max: 185 },
  { id: 'ECDSA-P384', layout: 'pkcs8', min: 80, max: 80 },
  { id: 'ECDSA-P521', layout: 'pkcs8', min: 241, max: 241 },
  { id: 'ECDSA-P521', layout: 'pkcs8', min: 98, max: 98 },
  // RFC 5915 ECPrivateKey on its own (`EC PRIVATE KEY`): version, key, [0] curve OID, [1] public key.
  { id: 'ECDSA-P256', layout: 'sec1', min: 121, max: 121 },
  { id: 'ECDSA-secp256k1', layout: 'sec1', min: 118, max: 118 },
  { id: 'ECDSA-P384', layout: 'sec1', min: 167, max: 167 },
  { id: 'ECDSA-P521', layout: 'sec1', min: 223, max: 223 },
  // RFC 9881 §6 / RFC 9935 §6: ML-DSA and ML-KEM keys as a seed [0], an expandedKey OCTET STRING, or both. Listed so
  // that a length they share with a classical key names neither.
  ...(['ML-DSA-44', 'ML-DSA-65', 'ML-DSA-87'] as const).map((id): SizeRow => ({ id, layout: 'pkcs8', min: 54, max: 54 })),
  ...(['ML-KEM-512', 'ML-KEM-768', 'ML-KEM-1024'] as const).map((id): SizeRow => ({ id, layout: 'pkcs8', min: 86, max: 86 })),
  ...(
    [
      ['ML-DSA-44', 2560, 32],
      ['ML-DSA-65', 4032, 32],
      ['ML-DSA-87', 4896, 32],
      ['ML-KEM-512', 1632, 64],
      ['ML-KEM-768', 2400, 64],
      ['ML-KEM-1024', 3168, 64],
    ] as const
  ).flatMap(([id, expanded, seed]): SizeRow[] => [
    // expandedKey: 4-byte OCTET STRING header, in the 4-byte privateKey OCTET STRING, + version, AlgorithmIdentifier, 4-byte SEQUENCE header.
    { id, layout: 'pkcs8', min: expanded + 28, max: expanded + 28 },
    // both: SEQUENCE { seed (2 + seed), expandedKey (4 + expanded) } with a 4-byte header.
    { id, layout: 'pkcs8', min: expanded + seed + 34, max: expanded + seed + 34 },
  ]),
  // DSA PrivateKeyInfo (FIPS 186 domain parameters in the AlgorithmIdentifier).
  { id: 'DSA-1024', layout: 'pkcs8', min: 330, max: 340 },
  { id: 'DSA-2048', layout: 'pkcs8', min: 605, max: 620 },
  { id: 'DSA-3072', layout: 'pkcs8', min: 866, max: 880 },
];

/** Block sizes of the block ciphers password-based key encryption uses (bytes). */
const BLOCK_BYTES: Record<string, number> = {
  AES: 16,
  Camellia: 16,
  SEED: 16,
  '3DES': 8,
  DES: 8,
  RC2: 8,
  Blowfish: 8,
  CAST5: 8,
  IDEA: 8,
};

/** The block a CBC (or ECB) cipher pads to; undefined for stream and AEAD modes, whose length says nothing we use. */
function blockOf(cipher: Algorithm): number | undefined {
  if (cipher.mode !== 'CBC' && cipher.mode !== 'ECB') return undefined;
  const family = cipher.family === '2DES' ? '3DES' : cipher.family;
  return BLOCK_BYTES[family];
}

export interface KeyInside {
  /** The key, when every key type the length fits is one algorithm (or one family, `parameterKnown: false`). */
  described?: Described;
  /** Every key type the length fits, when more than one (`ECDSA-P384`, `ML-KEM-768` …). */
  candidates?: string[];
}

/**
 * The key a ciphertext of `length` bytes under `cipher` can hold, in `layout`, restricted to `family` when the
 * container says it (an `RSA PRIVATE KEY` label). Nothing when the length fits no known key or the cipher's mode
 * gives no padding to go by; only `candidates` when the key types it fits are of several families.
 */
export function keyInsideCiphertext(length: number, cipher: Algorithm, layout: KeyLayout, family?: string): KeyInside {
  const block = blockOf(cipher);
  if (!block || length <= 0 || length % block !== 0) return {};
  // PKCS#5 padding adds 1..block bytes: the plaintext is (length - block) .. (length - 1) bytes long.
  const lo = length - block;
  const hi = length - 1;
  const fits = ROWS.filter((r) => r.layout === layout && r.max >= lo && r.min <= hi);
  const cat = catalogue();
  const ids = [...new Set(fits.map((r) => r.id))].filter((id) => !family || cat.byId(id).algorithm.family === family);
  if (ids.length === 1) return { described: cat.byId(ids[0]) };
  if (ids.length === 0) return {};
  const families = new Set(ids.map((id) => cat.byId(id).algorithm.family));
  if (families.size > 1) return { candidates: ids };
  const [fam] = families;
  return { described: cat.byId(fam, { parameterKnown: false }), candidates: ids };
}
