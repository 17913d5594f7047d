/**
 * Key files for resign: PKCS#8 OneAsymmetricKey (RFC 5958) with the RFC 9881 ML-DSA seed form or the composite
 * draft's concatenated private key, always encrypted at rest as an EncryptedPrivateKeyInfo with PBES2 (RFC 8018 §6.2):
 * scrypt (RFC 7914 §7) or PBKDF2-HMAC-SHA256, with AES-256-CBC (RFC 3565) or AES-256-GCM (RFC 5084). We write
 * scrypt + AES-256-CBC because OpenSSL (`openssl pkcs8`) reads it, so a key is never locked into shelflife.
 * The passphrase comes from SHELFLIFE_KEY_PASSPHRASE or a TTY prompt, never from a flag (flags leak into `ps`).
 * @module
 */
import { createCipheriv, createDecipheriv, pbkdf2Sync, randomBytes, scryptSync } from 'node:crypto';
import { execSync } from 'node:child_process';
import { openSync, closeSync, readSync, writeSync } from 'node:fs';
import { parseDer, TAG, type DerNode } from '../pkix/der.js';
import { findPemBlocks, pem } from '../pkix/pem.js';
import { ParseError, parsing, ShelflifeError, UsageError } from '../errors.js';
import { algorithmId, ctxPrim, integer, octets, seq } from '../pkix/der-writer.js';
import { algorithmByOid, privateKeyFromBytes, publicKeyFromBytes, type PrivateKey, type PublicKey, type SignatureAlgorithm } from './composite.js';
import { PKCS8_OID, readEncryptedPrivateKeyInfo, readOneAsymmetricKey, readPbes2Params } from '../pkix/pkcs8.js';
import { readAlgorithmIdentifier } from '../pkix/algorithm.js';

export const PASSPHRASE_ENV = 'SHELFLIFE_KEY_PASSPHRASE';

const OID = {
  aes256cbc: '2.16.840.1.101.3.4.1.42',
  aes256gcm: '2.16.840.1.101.3.4.1.46',
} as const;

/**
 * scrypt cost we write: N = 2^14, r = 8 (16 MiB, within OpenSSL's default 32 MiB scrypt memory cap, so
 * `openssl pkcs8` can still open the key) and p = 4, which multiplies the work by four without more memory.
 */
export const SCRYPT_WRITE = { N: 1 << 14, r: 8, p: 4 } as const;
/** Hostile-file bounds on what we are willing to compute when reading a key. */
const SCRYPT_MAX_MEMORY = 1024 * 1024 * 1024;
const PBKDF2_MAX_ITERATIONS = 10_000_000;

// ---------------------------------------------------------------------------------------------------------------
// PKCS#8

/** OneAsymmetricKey v0: RFC 9881 §6 seed form [0] for ML-DSA; the raw concatenation for composites (draft §"Private key"). */
export function encodePkcs8(key: PrivateKey): Uint8Array {
  const inner = key.alg.traditional ? key.bytes : ctxPrim(0, key.seed);
  return seq(integer(0), algorithmId(key.alg.oid), octets(inner));
}

export function decodePkcs8(der: Uint8Array, uri: string): PrivateKey {
  const k = parsing(uri, () => readOneAsymmetricKey(parseDer(der)));
  const alg = algorithmByOid(k.algorithm.oid);
  if (!alg)
    throw new ShelflifeError('unsupported', `key algorithm ${k.algorithm.oid} is not an ML-DSA or composite ML-DSA algorithm shelflife signs with`, { uri });
  const priv = k.privateKey.content;
  let bytes: Uint8Array;
  if (alg.traditional) bytes = priv;
  else {
    // RFC 9881 §6: CHOICE { seed [0], expandedKey OCTET STRING, both SEQUENCE }, told apart by tag, not by length.
    const choice = parsing(uri, () => parseDer(priv));
    if (choice.tag === 0x80) bytes = choice.content;
    else if (choice.tag === TAG.SEQUENCE) bytes = parsing(uri, () => choice.child(0, 'seed').expect(TAG.OCTET_STRING, 'seed').content);
    else
      throw new ShelflifeError('unsupported', `${alg.mldsaId} key holds only the expanded key; shelflife needs the seed (RFC 9881 seed or both form)`, { uri });
    if (bytes.length !== 32) throw new ParseError(`ML-DSA seed is ${bytes.length} bytes, not 32`, undefined, 'malformed', { uri });
  }
  const key = privateKeyFromBytes(alg, bytes);
  // When the both form or a [1] publicKey is present, it must match what the seed regenerates (RFC 9881 §6).
  if (k.publicKey) {
    const stated = k.publicKey.content.subarray(1);
    if (Buffer.compare(Buffer.from(stated), Buffer.from(key.publicKey.bytes)) !== 0)
      throw new ShelflifeError('malformed', 'the publicKey in the key file does not match its private key', { uri });
  }
  return key;
}

/** SubjectPublicKeyInfo with parameters absent and the raw key in the BIT STRING (RFC 9881 §4, composite draft). */
export function decodeSpki(spki: DerNode, uri: string): PublicKey {
  const [algNode, keyNode] = parsing(uri, () => spki.expect(TAG.SEQUENCE, 'SubjectPublicKeyInfo').children());
  const algOid = parsing(uri, () => readAlgorithmIdentifier(algNode).oid);
  const alg = algorithmByOid(algOid);
  if (!alg) throw new ShelflifeError('unsupported', `public key algorithm ${algOid} is not ML-DSA or composite ML-DSA`, { uri });
  return publicKeyFromBytes(
    alg,
    parsing(uri, () => keyNode.bits()),
  );
}

// ---------------------------------------------------------------------------------------------------------------
// PBES2 (RFC 8018 §6.2)

export interface EncryptOptions {
  /** Lower only in tests: the cost we write by default is SCRYPT_WRITE. */
  scrypt?: { N: number; r: number; p: number };
}

export function encryptPkcs8(plain: Uint8Array, passphrase: string, options: EncryptOptions = {}): Uint8Array {
  const { N, r, p } = options.scrypt ?? SCRYPT_WRITE;
  const salt = randomBytes(16);
  const iv = randomBytes(16);
  const key = scryptSync(passphrase.normalize('NFC'), salt, 32, { N, r, p, maxmem: 256 * N * r + 1024 * 1024 });
  const cipher = createCipheriv('aes-256-cbc', key, iv);
  const enc = Buffer.concat([cipher.update(plain), cipher.final()]);
  // scrypt-params ::= SEQUENCE { salt, costParameter, blockSize, parallelizationParameter, keyLength } (RFC 7914 §7)
  const kdf = algorithmId(PKCS8_OID.scrypt, seq(octets(salt), integer(N), integer(r), integer(p), integer(32)));
  const scheme = algorithmId(OID.aes256cbc, octets(iv));
  return seq(algorithmId(PKCS8_OID.pbes2, seq(kdf, scheme)), octets(enc));
}

export function decryptPkcs8(der: Uint8Array, passphrase: string, uri: string): Uint8Array {
  const { encryptionAlgorithm, encryptedData: data } = parsing(uri, () => readEncryptedPrivateKeyInfo(parseDer(der)));
  if (encryptionAlgorithm.oid !== PKCS8_OID.pbes2 || !encryptionAlgorithm.params)
    throw new ShelflifeError('unsupported', `key encryption ${encryptionAlgorithm.oid} is not PBES2; re-encrypt it with scrypt or PBKDF2 and AES-256`, { uri });
  const params = encryptionAlgorithm.params;
  const { keyDerivationFunc: kdf, encryptionScheme: enc, scrypt, pbkdf2 } = parsing(uri, () => readPbes2Params(params));
  let key: Buffer;
  if (scrypt) {
    const { salt, cost: N, blockSize: r, parallelization: p } = scrypt;
    if (!salt || N === undefined || r === undefined || p === undefined)
      throw new ParseError('scrypt-params need salt, cost, block size and parallelization', undefined, 'malformed', { uri });
    if (N < 2 || (N & (N - 1)) !== 0 || r < 1 || p < 1 || 128 * N * r > SCRYPT_MAX_MEMORY || p > 16) {
      throw new ShelflifeError('unsupported', `scrypt parameters N=${N} r=${r} p=${p} are outside what shelflife will compute`, { uri });
    }
    key = scryptSync(passphrase.normalize('NFC'), salt, 32, { N, r, p, maxmem: 256 * N * r + 1024 * 1024 });
  } else if (pbkdf2) {
    const { salt, iterations } = pbkdf2;
    if (!salt || iterations === undefined) throw new ParseError('PBKDF2-params need salt and iteration count', undefined, 'malformed', { uri });
    if (iterations < 1 || iterations > PBKDF2_MAX_ITERATIONS)
      throw new ShelflifeError('unsupported', `PBKDF2 iteration count ${iterations} is out of range`, { uri });
    const prf = pbkdf2.prf ?? PKCS8_OID.hmacWithSHA1;
    const digest = { '1.2.840.113549.2.9': 'sha256', '1.2.840.113549.2.10': 'sha384', '1.2.840.113549.2.11': 'sha512' }[prf];
    if (!digest) throw new ShelflifeError('unsupported', `PBKDF2 PRF ${prf} is not HMAC-SHA-256/384/512`, { uri });
    key = pbkdf2Sync(passphrase.normalize('NFC'), salt, iterations, 32, digest);
  } else throw new ShelflifeError('unsupported', `key derivation ${kdf.oid} is neither scrypt nor PBKDF2`, { uri });
  if (enc.oid === OID.aes256cbc) {
    const iv = parsing(uri, () => (enc.params ?? missing('IV')).expect(TAG.OCTET_STRING, 'IV').content);
    return decrypting(uri, () => {
      const d = createDecipheriv('aes-256-cbc', key, iv);
      return Buffer.concat([d.update(data), d.final()]);
    });
  }
  if (enc.oid === OID.aes256gcm) {
    // GCMParameters ::= SEQUENCE { aes-nonce OCTET STRING, aes-ICVlen INTEGER DEFAULT 12 } (RFC 5084 §3.2)
    const [nonce, icvLen] = parsing(uri, () => (enc.params ?? missing('GCMParameters')).expect(TAG.SEQUENCE, 'GCMParameters').children());
    const tagLen = icvLen ? parsing(uri, () => icvLen.int()) : 12;
    if (!nonce || tagLen < 12 || tagLen > 16 || data.length < tagLen)
      throw new ParseError(`bad GCM parameters (tag length ${tagLen})`, undefined, 'malformed', { uri });
    return decrypting(uri, () => {
      const d = createDecipheriv('aes-256-gcm', key, nonce.content, { authTagLength: tagLen });
      d.setAuthTag(data.subarray(data.length - tagLen));
      return Buffer.concat([d.update(data.subarray(0, data.length - tagLen)), d.final()]);
    });
  }
  throw new ShelflifeError('unsupported', `key cipher ${enc.oid} is not AES-256-CBC or AES-256-GCM`, { uri });
}

function missing(what: string): never {
  throw new ParseError(`the cipher's ${what} is missing`);
}

/** The cipher itself: with the structure already checked, a failure here is a wrong passphrase or damaged ciphertext. */
function decrypting(uri: string, run: () => Buffer): Buffer {
  try {
    return run();
  } catch (e) {
    throw new UsageError('wrong passphrase (or a damaged key file): decryption failed', { uri, cause: e });
  }
}

// ---------------------------------------------------------------------------------------------------------------
// PEM and passphrases

/** The DER of the first PEM block with this label, or the bytes themselves when they are DER already. */
export function fromPemOrDer(bytes: Uint8Array, label: string, what: string): Uint8Array {
  if (bytes[0] === TAG.SEQUENCE) return bytes;
  const block = findPemBlocks(bytes, (l) => l === label)[0];
  if (!block) throw new ShelflifeError('malformed', `no "${label}" PEM block and not DER`, { uri: what });
  return block.der;
}

export function encodeEncryptedKeyPem(key: PrivateKey, passphrase: string, options?: EncryptOptions): string {
  return pem('ENCRYPTED PRIVATE KEY', encryptPkcs8(encodePkcs8(key), passphrase, options));
}

export function decodeKeyFile(bytes: Uint8Array, passphrase: () => string, what: string): PrivateKey {
  const encrypted = findPemBlocks(bytes, (l) => l === 'ENCRYPTED PRIVATE KEY')[0];
  if (encrypted) return decodePkcs8(decryptPkcs8(encrypted.der, passphrase(), what), what);
  if (findPemBlocks(bytes, (l) => l === 'PRIVATE KEY')[0]) {
    throw new UsageError(
      `the private key is not encrypted; shelflife only uses keys encrypted at rest (re-run keygen, or encrypt it with \`openssl pkcs8 -topk8 -scrypt\`)`,
      { uri: what },
    );
  }
  throw new ShelflifeError('malformed', 'no ENCRYPTED PRIVATE KEY block', { uri: what });
}

export interface PassphraseSource {
  env?: NodeJS.ProcessEnv;
  /** Confirm by asking twice (keygen). */
  confirm?: boolean;
}

/** SHELFLIFE_KEY_PASSPHRASE, else a prompt on the controlling terminal with echo off. Never a flag. */
export function readPassphrase(purpose: string, options: PassphraseSource = {}): string {
  const env = options.env ?? process.env;
  const fromEnv = env[PASSPHRASE_ENV];
  if (fromEnv !== undefined) {
    if (fromEnv.length === 0) throw new UsageError(`${PASSPHRASE_ENV} is set but empty`);
    return fromEnv;
  }
  const first = promptTty(`shelflife: passphrase for ${purpose}: `);
  if (options.confirm && promptTty('shelflife: repeat the passphrase: ') !== first) throw new UsageError('the passphrases do not match');
  if (first.length === 0) throw new UsageError('an empty passphrase is not allowed');
  return first;
}

function promptTty(prompt: string): string {
  let fd: number;
  try {
    fd = openSync('/dev/tty', 'r+');
  } catch {
    throw new UsageError(`no passphrase: set ${PASSPHRASE_ENV} or run on a terminal (there is no --passphrase flag, by design)`);
  }
  try {
    writeSync(fd, prompt);
    // Echo off through stty on the same terminal; restored in finally even when reading fails.
    const stty = (args: string) => {
      try {
        execSync(`stty ${args} < /dev/tty`, { stdio: ['ignore', 'ignore', 'ignore'] });
      } catch {
        /* not a real terminal: read with echo */
      }
    };
    stty('-echo');
    try {
      const buf = Buffer.alloc(1024);
      let line = '';
      for (;;) {
        const n = readSync(fd, buf, 0, buf.length, null);
        if (n <= 0) break;
        line += buf.subarray(0, n).toString('utf8');
        if (line.includes('\n') || line.length > 4096) break;
      }
      return line.replace(/\r?\n[\s\S]*$/, '');
    } finally {
      stty('echo');
      writeSync(fd, '\n');
    }
  } finally {
    closeSync(fd);
  }
}

export type { SignatureAlgorithm };
