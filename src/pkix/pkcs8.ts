/**
 * PKCS#8 private keys: OneAsymmetricKey (RFC 5958 §2, PrivateKeyInfo being its v1), EncryptedPrivateKeyInfo (RFC 5958
 * §3) and the PBES2 parameters inside it (RFC 8018 §6.2, PBKDF2 §5.2 / A.2, scrypt RFC 7914 §7). The one reader of
 * these structures: the keys detector names what it reads, resign decrypts and imports its own keys with it.
 * Hostile input throws ParseError; the caller decides what a missing or odd parameter means.
 * @module
 */
import { ParseError } from '../errors.js';
import { readAlgorithmIdentifier, type AlgorithmIdentifier } from './algorithm.js';
import { TAG, type DerNode } from './der.js';

export const PKCS8_OID = {
  pbes2: '1.2.840.113549.1.5.13',
  pbkdf2: '1.2.840.113549.1.5.12',
  scrypt: '1.3.6.1.4.1.11591.4.11',
  /** PBKDF2's default PRF (RFC 8018 A.2). */
  hmacWithSHA1: '1.2.840.113549.2.7',
} as const;

export interface OneAsymmetricKey {
  algorithm: AlgorithmIdentifier;
  /** The privateKey OCTET STRING (its contents are the algorithm's private key encoding). */
  privateKey: DerNode;
  /** [1] publicKey (v2, RFC 5958), when present. */
  publicKey?: DerNode;
}

/** OneAsymmetricKey ::= SEQUENCE { version, privateKeyAlgorithm, privateKey OCTET STRING, [0] attributes, [1] publicKey } */
export function readOneAsymmetricKey(node: DerNode): OneAsymmetricKey {
  node.expect(TAG.SEQUENCE, 'OneAsymmetricKey');
  const kids = node.children();
  if (kids.length < 3 || kids[0].tag !== TAG.INTEGER) throw new ParseError('OneAsymmetricKey needs version, algorithm and privateKey', node.start);
  const publicKey = kids.slice(3).find((k) => k.isContext(1));
  return { algorithm: readAlgorithmIdentifier(kids[1]), privateKey: kids[2].expect(TAG.OCTET_STRING, 'privateKey'), ...(publicKey ? { publicKey } : {}) };
}

export interface EncryptedPrivateKeyInfo {
  encryptionAlgorithm: AlgorithmIdentifier;
  encryptedData: Uint8Array;
}

/** EncryptedPrivateKeyInfo ::= SEQUENCE { encryptionAlgorithm AlgorithmIdentifier, encryptedData OCTET STRING } */
export function readEncryptedPrivateKeyInfo(node: DerNode): EncryptedPrivateKeyInfo {
  node.expect(TAG.SEQUENCE, 'EncryptedPrivateKeyInfo');
  const kids = node.children();
  if (kids.length !== 2 || kids[1].tag !== TAG.OCTET_STRING) throw new ParseError('EncryptedPrivateKeyInfo needs algorithm and data', node.start);
  return { encryptionAlgorithm: readAlgorithmIdentifier(kids[0]), encryptedData: kids[1].content };
}

export interface Pbes2Params {
  keyDerivationFunc: AlgorithmIdentifier;
  encryptionScheme: AlgorithmIdentifier;
  /** PBKDF2-params, when the KDF is PBKDF2; fields a file leaves out or mistypes are undefined. */
  /** `prf` is absent when the file leaves the default, hmacWithSHA1 (PKCS8_OID.hmacWithSHA1). */
  pbkdf2?: { salt?: Uint8Array; iterations?: number; keyLength?: number; prf?: string };
  /** scrypt-params, when the KDF is scrypt. */
  scrypt?: { salt?: Uint8Array; cost?: number; blockSize?: number; parallelization?: number; keyLength?: number };
}

/** PBES2-params ::= SEQUENCE { keyDerivationFunc AlgorithmIdentifier, encryptionScheme AlgorithmIdentifier } */
export function readPbes2Params(params: DerNode): Pbes2Params {
  params.expect(TAG.SEQUENCE, 'PBES2-params');
  const [kdfNode, encNode] = params.children();
  if (!kdfNode || !encNode) throw new ParseError('PBES2-params needs keyDerivationFunc and encryptionScheme', params.start);
  const keyDerivationFunc = readAlgorithmIdentifier(kdfNode);
  return { keyDerivationFunc, encryptionScheme: readAlgorithmIdentifier(encNode), ...readKdfParams(keyDerivationFunc) };
}

/** The parameters of a PBKDF2 or scrypt key derivation (PBES2, and CMS PasswordRecipientInfo's [0], RFC 3211). */
export function readKdfParams(kdf: AlgorithmIdentifier): Pick<Pbes2Params, 'pbkdf2' | 'scrypt'> {
  const p = kdf.params?.tag === TAG.SEQUENCE ? kdf.params.children() : undefined;
  if (!p) return {};
  const salt = p[0]?.tag === TAG.OCTET_STRING ? p[0].content : undefined;
  const int = (n: DerNode | undefined) => (n?.tag === TAG.INTEGER ? n.int() : undefined);
  if (kdf.oid === PKCS8_OID.pbkdf2) {
    // PBKDF2-params ::= SEQUENCE { salt, iterationCount, keyLength INTEGER OPTIONAL, prf AlgorithmIdentifier DEFAULT hmacWithSHA1 }
    const prf = p.slice(2).find((x) => x.tag === TAG.SEQUENCE);
    return { pbkdf2: { salt, iterations: int(p[1]), keyLength: int(p[2]), ...(prf ? { prf: readAlgorithmIdentifier(prf).oid } : {}) } };
  }
  if (kdf.oid === PKCS8_OID.scrypt) {
    // scrypt-params ::= SEQUENCE { salt, costParameter, blockSize, parallelizationParameter, keyLength OPTIONAL }
    return { scrypt: { salt, cost: int(p[1]), blockSize: int(p[2]), parallelization: int(p[3]), keyLength: int(p[4]) } };
  }
  return {};
}
