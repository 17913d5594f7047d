/**
 * Key material in its PKIX encodings: SubjectPublicKeyInfo (RFC 5280), PKCS#8 OneAsymmetricKey (RFC 5958) plain and
 * encrypted (PBES2 / PKCS#12 PBE, RFC 8018, RFC 7914), PKCS#1 RSA keys (RFC 8017), SEC1 EC keys (RFC 5915), OpenSSL's
 * legacy DSA keys and RFC 1421 "Proc-Type: 4,ENCRYPTED" PEM. PQ keys (ML-DSA seed/expanded/both, RFC 9881; ML-KEM,
 * RFC 9935; composites) are named from their OIDs.
 * @module
 */
import { DerNode, parseDer, TAG } from '../pkix/der.js';
import { catalogue, type Described } from '../catalogue/index.js';
import { ParseError, rethrowUnlessParseError } from '../errors.js';
import type { DetectContext, ErrorEntry, Finding, FindingKind } from '../model.js';
import { keyInsideCiphertext, type KeyLayout } from './_encrypted-key.js';
import { findPemBlocks } from '../pkix/pem.js';
import { curveOfExplicitParams, curveOfPoint, describeSpki, ecCurveFromParams, type KeyInfo } from '../pkix/algorithm.js';
import { sha256Hex } from '../pkix/certificate.js';
import { PKCS8_OID, readEncryptedPrivateKeyInfo, readOneAsymmetricKey, readPbes2Params } from '../pkix/pkcs8.js';
import type { Detector, DetectResult } from './types.js';

type KeyEncoding = 'spki' | 'pkcs8' | 'pkcs8-encrypted' | 'pkcs1' | 'pkcs1-public' | 'sec1' | 'dsa-openssl';

const PEM_LABELS: Record<string, KeyEncoding> = {
  'PUBLIC KEY': 'spki',
  'PRIVATE KEY': 'pkcs8',
  'ENCRYPTED PRIVATE KEY': 'pkcs8-encrypted',
  'RSA PRIVATE KEY': 'pkcs1',
  'RSA PUBLIC KEY': 'pkcs1-public',
  'EC PRIVATE KEY': 'sec1',
  'DSA PRIVATE KEY': 'dsa-openssl',
};

export const keysDetector: Detector = {
  format: 'keys',
  description: 'Public and private keys: SPKI, PKCS#8 (plain and encrypted), PKCS#1, SEC1, PEM and DER',
  claims: {
    names: ['*.key', '*.pub', '*.p8', '*.pk8', '*.pkcs8', '*.der', '*.pem', '*.spki'],
    contains: Object.keys(PEM_LABELS).map((l) => `-----BEGIN ${l}-----`),
  },
  detect: detectKeys,
};

export function detectKeys(bytes: Uint8Array, ctx: DetectContext): DetectResult {
  const findings: Finding[] = [];
  const errors: ErrorEntry[] = [];
  const blocks = findPemBlocks(bytes, (l) => l in PEM_LABELS);
  for (const block of blocks) {
    const encoding = PEM_LABELS[block.label];
    if (block.error) {
      errors.push({ code: 'malformed', message: `${block.error} at offset ${block.offset}`, offset: block.offset });
      continue;
    }
    try {
      // RFC 1421 encrypted PEM: the body is ciphertext; the cipher is in DEK-Info.
      if (/ENCRYPTED/i.test(block.headers['Proc-Type'] ?? '')) {
        findings.push(...legacyEncryptedPem(block.headers['DEK-Info'] ?? '', encoding, block.offset, block.der.length));
        continue;
      }
      findings.push(...parseKey(parseDer(block.der, true), encoding, block.offset));
    } catch (e) {
      rethrowUnlessParseError(e);
      errors.push({
        code: e.code === 'truncated' ? 'truncated' : 'malformed',
        message: `${block.label} at offset ${block.offset}: ${e.message}`,
        offset: block.offset,
      });
    }
  }
  // Binary DER key file: the whole artifact is one key structure.
  if (blocks.length === 0 && ctx.whole && ctx.baseOffset === 0 && bytes[0] === TAG.SEQUENCE && bytes.length < 1 << 20) {
    findings.push(...(guessDerKey(bytes) ?? []));
  }
  return { findings, errors };
}

/** Parse one key structure of a known encoding: one finding, or two for an encrypted key (the key and its wrapping). */
export function parseKey(node: DerNode, encoding: KeyEncoding, offset: number): Finding[] {
  switch (encoding) {
    case 'spki':
      return [keyFinding('public-key', 'spki', describeSpki(node), offset, sha256Hex(node.encoded))];
    case 'pkcs8':
      return [parsePkcs8(node, offset)];
    case 'pkcs8-encrypted':
      return parseEncryptedPkcs8(node, offset);
    case 'pkcs1': {
      const ints = node.children();
      if (ints.length < 9) throw new ParseError('RSAPrivateKey needs 9 integers');
      return [keyFinding('private-key', 'pkcs1', catalogue().forKey('RSA', ints[1].integerBits()), offset)];
    }
    case 'pkcs1-public': {
      const ints = node.children();
      if (ints.length !== 2) throw new ParseError('RSAPublicKey needs 2 integers');
      return [keyFinding('public-key', 'pkcs1', catalogue().forKey('RSA', ints[0].integerBits()), offset)];
    }
    case 'sec1':
      return [keyFinding('private-key', 'sec1', describeSec1(node), offset)];
    case 'dsa-openssl': {
      const ints = node.children();
      if (ints.length < 6) throw new ParseError('DSA private key needs 6 integers');
      return [keyFinding('private-key', 'pkcs1', catalogue().forKey('DSA', ints[1].integerBits()), offset)];
    }
  }
}

function keyFinding(kind: FindingKind, format: string, d: Described, offset: number, fingerprint?: string, details?: Record<string, unknown>): Finding {
  const f: Finding = { kind, format, algorithm: d.algorithm, quantum: d.quantum, location: { offset } };
  if (fingerprint) f.fingerprint = fingerprint;
  if (details) f.details = details;
  return f;
}

/** A PKCS#8 OneAsymmetricKey (src/pkix/pkcs8.ts), named: RSA/EC/DSA/DH sizes from the key or its parameters. */
export function parsePkcs8(node: DerNode, offset: number): Finding {
  const { algorithm: alg, privateKey: priv, publicKey } = readOneAsymmetricKey(node);
  const cat = catalogue();
  const entry = cat.oid(alg.oid);
  const details: Record<string, unknown> = {};
  let d: Described;
  if (entry?.family === 'RSA') {
    const rsa = priv.inner();
    d = cat.resolve(entry, { bits: rsa.child(1, 'modulus').integerBits() }, { oid: alg.oid });
  } else if (entry?.family === 'ECDSA' || entry?.family === 'ECDH') {
    const explicit = alg.params?.tag === TAG.SEQUENCE ? curveOfExplicitParams(alg.params) : undefined;
    const curve = ecCurveFromParams(alg.params) ?? explicit ?? sec1Curve(priv.inner());
    d = curve ? cat.resolve(entry, { curve }, { oid: alg.oid }) : cat.resolve(entry, {}, { oid: alg.oid });
  } else if ((entry?.family === 'DSA' || entry?.family === 'DH') && alg.params?.tag === TAG.SEQUENCE) {
    d = cat.resolve(entry, { bits: alg.params.child(0, 'p').integerBits() }, { oid: alg.oid });
  } else {
    d = cat.resolve(entry, {}, { oid: alg.oid });
    if (d.algorithm.family === 'ML-DSA' || d.algorithm.family === 'ML-KEM') {
      // RFC 9881 §6 / RFC 9935: CHOICE { seed [0], expandedKey OCTET STRING, both SEQUENCE }, told apart by tag.
      const tag = priv.content[0];
      details.privateKeyFormat = tag === 0x80 ? 'seed' : tag === 0x04 ? 'expandedKey' : tag === 0x30 ? 'both' : 'raw';
    }
  }
  if (publicKey) details.publicKeyIncluded = true;
  return keyFinding('private-key', 'pkcs8', d, offset, undefined, Object.keys(details).length ? details : undefined);
}

/**
 * EncryptedPrivateKeyInfo ::= SEQUENCE { encryptionAlgorithm, encryptedData OCTET STRING } (RFC 5958 §3). Two
 * findings: the private key inside, which is the exposure (its algorithm from the ciphertext's length when that tells,
 * else `unknown`, treated as quantum-vulnerable until identified), and the password-based encryption that wraps it.
 * `[key, wrapping]`.
 */
export function parseEncryptedPkcs8(node: DerNode, offset: number): [Finding, Finding] {
  const { encryptionAlgorithm, encryptedData } = readEncryptedPrivateKeyInfo(node);
  const protection = describeEncryptionScheme(encryptionAlgorithm);
  return encryptedKeyFindings('pkcs8', 'pkcs8', offset, encryptedData.length, protection.described, {
    structure: 'EncryptedPrivateKeyInfo',
    ...protection.details,
  });
}

/** The key an encrypted key structure holds, and the encryption around it, as two findings at the same offset. */
function encryptedKeyFindings(
  format: string,
  layout: KeyLayout,
  offset: number,
  ciphertextLength: number,
  cipher: Described,
  wrapDetails: Record<string, unknown>,
  family?: string,
): [Finding, Finding] {
  const inside = keyInsideCiphertext(ciphertextLength, cipher.algorithm, layout, family);
  const cat = catalogue();
  const key = inside.described ?? (family ? cat.byId(family, { parameterKnown: false }) : cat.resolve(undefined));
  const keyDetails: Record<string, unknown> = {
    encrypted: true,
    protection: cipher.algorithm.id,
    keyAlgorithmFrom: inside.described ? 'ciphertext length' : family ? 'PEM label' : 'not visible (encrypted)',
    ...(inside.candidates ? { keyAlgorithmCandidates: inside.candidates } : {}),
  };
  return [
    keyFinding('private-key', format, key, offset, undefined, keyDetails),
    keyFinding('encrypted-data', format, cipher, offset, undefined, { role: 'key-protection', ...wrapDetails }),
  ];
}

/**
 * Name a password-based encryption scheme: PBES2 (KDF + cipher), or a PKCS#5 v1 / PKCS#12 PBE OID.
 * Shared with PKCS#12 and CMS PasswordRecipientInfo.
 */
export function describeEncryptionScheme(alg: { oid: string; params?: DerNode }): { described: Described; details: Record<string, unknown> } {
  const cat = catalogue();
  const entry = cat.oid(alg.oid);
  if (alg.oid === PKCS8_OID.pbes2 && alg.params) {
    const { keyDerivationFunc: kdf, encryptionScheme: enc, pbkdf2, scrypt } = readPbes2Params(alg.params);
    const details: Record<string, unknown> = { scheme: 'PBES2', kdf: cat.oid(kdf.oid)?.name ?? kdf.oid };
    if (pbkdf2) {
      details.iterations = pbkdf2.iterations;
      details.prf = pbkdf2.prf ? (cat.oid(pbkdf2.prf)?.name ?? 'unknown') : 'hmacWithSHA1';
    } else if (scrypt) {
      details.cost = scrypt.cost;
      details.blockSize = scrypt.blockSize;
      details.parallelization = scrypt.parallelization;
    }
    return { described: cat.resolve(cat.oid(enc.oid), {}, { oid: enc.oid }), details };
  }
  if (entry?.role === 'pbe') {
    // PKCS#5 v1 PBEParameter / RFC 7292 pkcs-12PbeParams ::= SEQUENCE { salt OCTET STRING, iterations INTEGER }
    const p = alg.params?.tag === TAG.SEQUENCE ? alg.params.children() : [];
    const iterations = p[1]?.tag === TAG.INTEGER ? p[1].int() : undefined;
    return { described: cat.resolve(entry, {}, { oid: alg.oid }), details: { scheme: entry.name, ...(iterations !== undefined ? { iterations } : {}) } };
  }
  return { described: cat.resolve(entry, {}, { oid: alg.oid }), details: {} };
}

/** RFC 1421 encrypted PEM (`Proc-Type: 4,ENCRYPTED`): the label names the key family, the body's length its size. */
function legacyEncryptedPem(dekInfo: string, encoding: KeyEncoding, offset: number, ciphertextLength: number): [Finding, Finding] {
  const cipherName = dekInfo.split(',')[0].trim().toUpperCase();
  const cat = catalogue();
  const entry = cat.data.pemCiphers[cipherName];
  const d = entry ? cat.resolve(entry) : cat.resolve(undefined, {}, { name: cipherName || 'unknown' });
  const layout: KeyLayout = encoding === 'sec1' ? 'sec1' : encoding === 'dsa-openssl' ? 'dsa-openssl' : encoding === 'pkcs8' ? 'pkcs8' : 'pkcs1';
  const family = encoding === 'sec1' ? 'ECDSA' : encoding === 'dsa-openssl' ? 'DSA' : encoding === 'pkcs1' ? 'RSA' : undefined;
  return encryptedKeyFindings(
    encoding === 'sec1' ? 'sec1' : 'pkcs1',
    layout,
    offset,
    ciphertextLength,
    d,
    {
      scheme: 'RFC 1421 (OpenSSL legacy PEM, MD5-based key derivation)',
      kdf: 'EVP_BytesToKey-MD5',
    },
    family,
  );
}

/** ECPrivateKey ::= SEQUENCE { version 1, privateKey OCTET STRING, [0] ECParameters, [1] publicKey } */
function describeSec1(node: DerNode): KeyInfo {
  const curve = sec1Curve(node);
  const cat = catalogue();
  if (!curve) {
    const d = cat.resolve(cat.oid('1.2.840.10045.2.1'));
    return d;
  }
  return { ...cat.forKey('ECDSA', curve), curve };
}

function sec1Curve(node: DerNode): string | undefined {
  const kids = node.children();
  if (kids.length < 2 || kids[0].tag !== TAG.INTEGER || kids[1].tag !== TAG.OCTET_STRING) throw new ParseError('ECPrivateKey needs version and privateKey');
  const params = kids.find((k) => k.isContext(0));
  if (params) {
    const p = params.inner();
    if (p.tag === TAG.OID) return catalogue().curve(p.oid());
    if (p.tag === TAG.SEQUENCE) return curveOfExplicitParams(p);
  }
  // No parameters (allowed inside PKCS#8, RFC 5915 §3): the public point, when present, says which curve it is on.
  const pub = kids.find((k) => k.isContext(1));
  if (pub) {
    const point = pub.inner();
    if (point.tag === TAG.BIT_STRING) return curveOfPoint(point.bits());
  }
  return undefined;
}

/** A DER file with no PEM armour: try each key structure, most specific first. */
function guessDerKey(bytes: Uint8Array): Finding[] | undefined {
  let node: DerNode;
  try {
    node = parseDer(bytes);
  } catch (e) {
    rethrowUnlessParseError(e);
    return undefined;
  }
  const attempts: KeyEncoding[] = ['spki', 'pkcs8', 'pkcs8-encrypted', 'sec1', 'pkcs1', 'pkcs1-public'];
  for (const enc of attempts) {
    try {
      if (!shapeMatches(node, enc)) continue;
      return parseKey(node, enc, 0);
    } catch (e) {
      rethrowUnlessParseError(e);
      // try the next shape
    }
  }
  return undefined;
}

function shapeMatches(node: DerNode, enc: KeyEncoding): boolean {
  const k = node.children();
  const tags = k.map((x) => x.tag);
  switch (enc) {
    case 'spki':
      return k.length === 2 && tags[0] === TAG.SEQUENCE && tags[1] === TAG.BIT_STRING;
    case 'pkcs8':
      return k.length >= 3 && tags[0] === TAG.INTEGER && tags[1] === TAG.SEQUENCE && tags[2] === TAG.OCTET_STRING;
    case 'pkcs8-encrypted':
      return k.length === 2 && tags[0] === TAG.SEQUENCE && tags[1] === TAG.OCTET_STRING;
    case 'sec1':
      return k.length >= 2 && tags[0] === TAG.INTEGER && tags[1] === TAG.OCTET_STRING && k[0].int() === 1;
    case 'pkcs1':
      return k.length === 9 && tags.every((t) => t === TAG.INTEGER);
    case 'pkcs1-public':
      return k.length === 2 && tags.every((t) => t === TAG.INTEGER) && k[0].length > 32;
    default:
      return false;
  }
}
