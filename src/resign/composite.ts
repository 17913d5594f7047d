/**
 * Composite ML-DSA (draft-ietf-lamps-pq-composite-sigs-19) and pure ML-DSA (FIPS 204, RFC 9881): algorithms, key
 * generation, sign and verify. ML-DSA through @noble/post-quantum; the traditional half through node:crypto
 * (OpenSSL), which is an order of magnitude faster than a JS implementation.
 *
 * Names and OIDs come from the catalogue (rules/algorithms.yaml): every `id-MLDSA…` OID there whose canonical id is
 * `ML-DSA-<n>+<traditional>` becomes an algorithm; the component parameters follow from that id and the draft's
 * rules (§ "Algorithm Identifiers and Parameters", § "RSASSA-PSS Parameters"), not from a second table.
 * @module
 */
import {
  createHash,
  createPrivateKey,
  createPublicKey,
  generateKeyPairSync,
  type KeyObject,
  randomBytes,
  sign as nodeSign,
  verify as nodeVerify,
  constants,
} from 'node:crypto';
import { ml_dsa44, ml_dsa65, ml_dsa87 } from '@noble/post-quantum/ml-dsa.js';
import { parseDer, TAG } from '../pkix/der.js';
import { catalogue } from '../catalogue/index.js';
import { ShelflifeError, UsageError } from '../errors.js';
import { algorithmId, bitString, concat, ctxCons, integer, octets, oid, seq } from '../pkix/der-writer.js';

type MlDsa = typeof ml_dsa65;
const ML_DSA: Record<string, MlDsa> = { 'ML-DSA-44': ml_dsa44, 'ML-DSA-65': ml_dsa65, 'ML-DSA-87': ml_dsa87 };

/** Composite pre-hash (draft §"Algorithm Identifiers and Parameters"); SHAKE256 with a 64-byte output. */
export type PreHash = 'SHA-256' | 'SHA-512' | 'SHAKE256';

export type Traditional =
  | { kind: 'ecdsa'; id: string; curve: string; curveOid: string; nodeCurve: string; hash: string; coordBytes: number }
  | { kind: 'eddsa'; id: 'Ed25519' | 'Ed448' }
  | { kind: 'rsa'; id: string; bits: number; padding: 'pss' | 'pkcs1'; hash: string; saltLength: number };

export interface SignatureAlgorithm {
  /** The draft's / RFC 9881's name, as the catalogue spells it: `id-MLDSA65-ECDSA-P256-SHA512`, `id-ml-dsa-65`. */
  name: string;
  oid: string;
  /** Canonical id (docs/architecture.md): `ML-DSA-65+ECDSA-P256`, `ML-DSA-65`. */
  id: string;
  /** What `--alg` accepts: `mldsa65-ecdsa-p256`, `mldsa65`. */
  cliName: string;
  mldsaId: 'ML-DSA-44' | 'ML-DSA-65' | 'ML-DSA-87';
  mldsa: MlDsa;
  /** Composite only: the Label, used as the ML-DSA context and inside M'. */
  label?: Uint8Array;
  /** Composite: its pre-hash PH. Pure ML-DSA: the CMS digest (RFC 9882: SHA-512 MUST be supported). */
  prehash: PreHash;
  traditional?: Traditional;
}

/** "CompositeAlgorithmSignatures2025" (draft §"Composite-ML-DSA.Sign", the Prefix). */
export const COMPOSITE_PREFIX = new TextEncoder().encode('CompositeAlgorithmSignatures2025');

let table: SignatureAlgorithm[] | undefined;

/** Every algorithm this build can sign and verify with, derived from the catalogue once. */
export function signatureAlgorithms(): readonly SignatureAlgorithm[] {
  if (table) return table;
  const cat = catalogue();
  const out: SignatureAlgorithm[] = [];
  for (const [oidStr, e] of Object.entries(cat.data.oids)) {
    if (!e.id || e.role !== 'signature') continue;
    const pure = e.name.match(/^id-ml-dsa-(44|65|87)$/);
    if (pure) {
      const mldsaId = `ML-DSA-${pure[1]}` as SignatureAlgorithm['mldsaId'];
      out.push({ name: e.name, oid: oidStr, id: e.id, cliName: `mldsa${pure[1]}`, mldsaId, mldsa: ML_DSA[mldsaId], prehash: 'SHA-512' });
      continue;
    }
    const comp = e.name.match(/^id-(MLDSA(44|65|87)-.+)-(SHA256|SHA512|SHAKE256)$/);
    if (!comp || !e.id.includes('+')) continue;
    const [mldsaPart, tradPart] = e.id.split('+');
    const traditional = describeTraditional(tradPart, e.mode);
    if (!traditional || !ML_DSA[mldsaPart]) continue;
    const label = `COMPSIG-${e.name.slice(3)}`
      // The draft abbreviates the brainpool curves in labels only (src/algParams.md: COMPSIG-MLDSA65-ECDSA-BP256-SHA512).
      .replace('brainpoolP256r1', 'BP256')
      .replace('brainpoolP384r1', 'BP384');
    out.push({
      name: e.name,
      oid: oidStr,
      id: e.id,
      cliName: comp[1].toLowerCase(),
      mldsaId: mldsaPart as SignatureAlgorithm['mldsaId'],
      mldsa: ML_DSA[mldsaPart],
      label: new TextEncoder().encode(label),
      prehash: comp[3] === 'SHA256' ? 'SHA-256' : comp[3] === 'SHA512' ? 'SHA-512' : 'SHAKE256',
      traditional,
    });
  }
  table = out;
  return out;
}

function describeTraditional(id: string, mode: string | undefined): Traditional | undefined {
  const cat = catalogue();
  if (id === 'Ed25519' || id === 'Ed448') return { kind: 'eddsa', id };
  const ec = id.match(/^ECDSA-(.+)$/);
  if (ec) {
    const token = ec[1];
    const curve = cat.data.curves[token];
    if (!curve) return undefined;
    // ECDSA hash by curve strength: ecdsa-with-SHA256 for 128-bit curves, SHA384 for 192, SHA512 for P-521 (draft table).
    const hash = curve.bits <= 128 ? 'sha256' : curve.bits <= 192 ? 'sha384' : 'sha512';
    const fieldBits = Number(token.match(/(\d+)/)?.[1] ?? 0);
    return {
      kind: 'ecdsa',
      id,
      curve: token,
      curveOid: curve.oid,
      nodeCurve: /^P\d+$/.test(token) ? `P-${token.slice(1)}` : token,
      hash,
      coordBytes: Math.ceil(fieldBits / 8),
    };
  }
  const rsa = id.match(/^RSA-(\d+)$/);
  if (rsa) {
    const bits = Number(rsa[1]);
    // RSASSA-PSS: SHA-256/MGF1-SHA-256/salt 32 up to 3072 bits, SHA-384/salt 48 at 4096 (draft §"RSASSA-PSS Parameters");
    // PKCS#1 v1.5: sha256WithRSAEncryption up to 3072, sha384WithRSAEncryption at 4096 (src/algParams.md).
    const hash = bits >= 4096 ? 'sha384' : 'sha256';
    return { kind: 'rsa', id, bits, padding: mode === 'PSS' ? 'pss' : 'pkcs1', hash, saltLength: bits >= 4096 ? 48 : 32 };
  }
  return undefined;
}

export const DEFAULT_ALGORITHM = 'mldsa65-ecdsa-p256';

/** Look an algorithm up by CLI name, draft name (with or without `id-`), OID or canonical id. */
export function findAlgorithm(key: string): SignatureAlgorithm | undefined {
  const k = key.trim().toLowerCase();
  return signatureAlgorithms().find(
    (a) =>
      a.cliName === k ||
      a.name.toLowerCase() === k ||
      a.name.toLowerCase() === `id-${k}` ||
      a.oid === k ||
      a.id.toLowerCase() === k ||
      (a.mldsaId.toLowerCase() === k && !a.traditional),
  );
}

export function algorithmByOid(oidStr: string): SignatureAlgorithm | undefined {
  return signatureAlgorithms().find((a) => a.oid === oidStr);
}

export function requireAlgorithm(key: string): SignatureAlgorithm {
  const a = findAlgorithm(key);
  if (!a)
    throw new UsageError(
      `--alg: unknown algorithm "${key}" (supported: ${signatureAlgorithms()
        .map((x) => x.cliName)
        .join(', ')})`,
    );
  return a;
}

// ---------------------------------------------------------------------------------------------------------------
// Keys

export interface PublicKey {
  alg: SignatureAlgorithm;
  /** The serialized key: mldsaPK ‖ tradPK (draft §"SerializePublicKey"), or the FIPS 204 public key. */
  bytes: Uint8Array;
  mldsaPublic: Uint8Array;
  tradPublic?: KeyObject;
}

export interface PrivateKey {
  alg: SignatureAlgorithm;
  /** The serialized key: mldsaSeed ‖ tradSK (draft §"SerializePrivateKey"), or the 32-byte seed (RFC 9881). */
  bytes: Uint8Array;
  seed: Uint8Array;
  /** FIPS 204 expanded secret key, derived once from the seed. */
  mldsaSecret: Uint8Array;
  tradPrivate?: KeyObject;
  publicKey: PublicKey;
}

/** Fresh keys for both components (the draft: component keys MUST NOT be reused). */
export function generateKey(alg: SignatureAlgorithm): PrivateKey {
  const seed = randomBytes(32);
  const t = alg.traditional;
  if (!t) return privateKeyFromBytes(alg, seed);
  let tradSK: Uint8Array;
  if (t.kind === 'ecdsa') {
    const { privateKey } = generateKeyPairSync('ec', { namedCurve: t.nodeCurve });
    // ECPrivateKey { 1, privateKey OCTET STRING, … }: take d from OpenSSL's SEC1 export (JWK lacks brainpool).
    const d = parseDer(privateKey.export({ format: 'der', type: 'sec1' })).child(1, 'privateKey').content;
    tradSK = ecPrivateKeyDer(d, t);
  } else if (t.kind === 'eddsa') {
    const { privateKey } = t.id === 'Ed25519' ? generateKeyPairSync('ed25519') : generateKeyPairSync('ed448');
    tradSK = Buffer.from(privateKey.export({ format: 'jwk' }).d!, 'base64url');
  } else {
    const { privateKey } = generateKeyPairSync('rsa', { modulusLength: t.bits, publicExponent: 65537 });
    tradSK = privateKey.export({ format: 'der', type: 'pkcs1' });
  }
  return privateKeyFromBytes(alg, concat([seed, tradSK]));
}

/** ECPrivateKey (RFC 5915) with namedCurve and without publicKey, as the draft requires. */
function ecPrivateKeyDer(d: Uint8Array, t: Extract<Traditional, { kind: 'ecdsa' }>): Uint8Array {
  const padded = new Uint8Array(t.coordBytes);
  padded.set(d.subarray(Math.max(0, d.length - t.coordBytes)), Math.max(0, t.coordBytes - d.length));
  return seq(integer(1), octets(padded), ctxCons(0, oid(t.curveOid)));
}

export function privateKeyFromBytes(alg: SignatureAlgorithm, bytes: Uint8Array): PrivateKey {
  if (bytes.length < 32) throw new ShelflifeError('malformed', `${alg.name} private key: ${bytes.length} bytes, shorter than the 32-byte ML-DSA seed`);
  const seed = bytes.slice(0, 32);
  const { publicKey: mldsaPublic, secretKey: mldsaSecret } = alg.mldsa.keygen(seed);
  const t = alg.traditional;
  if (!t) {
    if (bytes.length !== 32) throw new ShelflifeError('malformed', `${alg.name} private key: expected the 32-byte seed, got ${bytes.length} bytes`);
    return { alg, bytes: seed, seed, mldsaSecret, publicKey: { alg, bytes: mldsaPublic, mldsaPublic } };
  }
  const tradSK = bytes.subarray(32);
  let tradPrivate: KeyObject;
  try {
    if (t.kind === 'ecdsa') tradPrivate = createPrivateKey({ key: Buffer.from(tradSK), format: 'der', type: 'sec1' });
    else if (t.kind === 'eddsa') tradPrivate = createPrivateKey({ key: Buffer.from(concat([EDDSA_PKCS8_PREFIX[t.id], tradSK])), format: 'der', type: 'pkcs8' });
    else tradPrivate = createPrivateKey({ key: Buffer.from(tradSK), format: 'der', type: 'pkcs1' });
  } catch (e) {
    throw new ShelflifeError('malformed', `${alg.name} private key: the ${t.id} component does not parse: ${(e as Error).message}`);
  }
  checkTraditionalKey(alg, tradPrivate);
  const tradPublic = createPublicKey(tradPrivate);
  const tradPK = exportTraditionalPublic(t, tradPublic);
  return {
    alg,
    bytes: bytes.slice(),
    seed,
    mldsaSecret,
    tradPrivate,
    publicKey: { alg, bytes: concat([mldsaPublic, tradPK]), mldsaPublic, tradPublic },
  };
}

const EDDSA_PKCS8_PREFIX: Record<'Ed25519' | 'Ed448', Uint8Array> = {
  // RFC 8410 §7: OneAsymmetricKey { 0, id-Ed25519 / id-Ed448, OCTET STRING { CurvePrivateKey } }
  Ed25519: Buffer.from('302e020100300506032b657004220420', 'hex'),
  Ed448: Buffer.from('3047020100300506032b6571043b0439', 'hex'),
};
const EDDSA_OID = { Ed25519: '1.3.101.112', Ed448: '1.3.101.113' } as const;

function exportTraditionalPublic(t: Traditional, key: KeyObject): Uint8Array {
  if (t.kind === 'rsa') return key.export({ format: 'der', type: 'pkcs1' });
  // SubjectPublicKeyInfo's BIT STRING holds the raw EdDSA key (RFC 8410) or the uncompressed X9.62 point (RFC 5480).
  return parseDer(key.export({ format: 'der', type: 'spki' }))
    .child(1, 'subjectPublicKey')
    .bits()
    .slice();
}

function checkTraditionalKey(alg: SignatureAlgorithm, key: KeyObject): void {
  const t = alg.traditional!;
  const d = key.asymmetricKeyDetails ?? {};
  const ok =
    t.kind === 'rsa'
      ? key.asymmetricKeyType === 'rsa' && d.modulusLength === t.bits
      : t.kind === 'eddsa'
        ? key.asymmetricKeyType === t.id.toLowerCase()
        : key.asymmetricKeyType === 'ec' && curveMatches(d.namedCurve, t);
  if (!ok)
    throw new ShelflifeError('malformed', `${alg.name}: the traditional key is ${key.asymmetricKeyType} ${d.modulusLength ?? d.namedCurve ?? ''}, not ${t.id}`);
}

function curveMatches(named: string | undefined, t: Extract<Traditional, { kind: 'ecdsa' }>): boolean {
  if (!named) return false;
  const aliases: Record<string, string[]> = { P256: ['prime256v1', 'P-256'], P384: ['secp384r1', 'P-384'], P521: ['secp521r1', 'P-521'] };
  return named === t.nodeCurve || named === t.curve || (aliases[t.curve] ?? []).includes(named);
}

/** Split and import a serialized public key (draft §"DeserializePublicKey": split at the fixed ML-DSA length). */
export function publicKeyFromBytes(alg: SignatureAlgorithm, bytes: Uint8Array): PublicKey {
  const n = alg.mldsa.lengths.publicKey!;
  if (bytes.length < n || (!alg.traditional && bytes.length !== n)) {
    throw new ShelflifeError('malformed', `${alg.name} public key: ${bytes.length} bytes, expected ${alg.traditional ? `more than ${n}` : n}`);
  }
  const mldsaPublic = bytes.slice(0, n);
  const t = alg.traditional;
  if (!t) return { alg, bytes: mldsaPublic, mldsaPublic };
  const tradPK = bytes.subarray(n);
  let tradPublic: KeyObject;
  try {
    if (t.kind === 'rsa') tradPublic = createPublicKey({ key: Buffer.from(tradPK), format: 'der', type: 'pkcs1' });
    else if (t.kind === 'eddsa')
      tradPublic = createPublicKey({ key: Buffer.from(seq(algorithmId(EDDSA_OID[t.id]), bitString(tradPK))), format: 'der', type: 'spki' });
    else {
      if (tradPK.length !== 1 + 2 * t.coordBytes || tradPK[0] !== 4) throw new Error(`expected an uncompressed ${1 + 2 * t.coordBytes}-byte point`);
      // SubjectPublicKeyInfo { id-ecPublicKey, namedCurve } (RFC 5480 §2) around the X9.62 point.
      tradPublic = createPublicKey({
        key: Buffer.from(seq(algorithmId('1.2.840.10045.2.1', oid(t.curveOid)), bitString(tradPK))),
        format: 'der',
        type: 'spki',
      });
    }
  } catch (e) {
    throw new ShelflifeError('malformed', `${alg.name} public key: the ${t.id} component does not parse: ${(e as Error).message}`);
  }
  checkTraditionalKey(alg, tradPublic);
  return { alg, bytes: bytes.slice(), mldsaPublic, tradPublic };
}

// ---------------------------------------------------------------------------------------------------------------
// Sign and verify

export function prehash(alg: SignatureAlgorithm, message: Uint8Array): Uint8Array {
  const h = newPrehash(alg);
  h.update(message);
  return h.digest();
}

/** A streaming hasher for PH (large artifacts are hashed once, in chunks). */
export function newPrehash(alg: SignatureAlgorithm): { update(b: Uint8Array): unknown; digest(): Buffer } {
  if (alg.prehash === 'SHAKE256') return createHash('shake256', { outputLength: 64 });
  return createHash(alg.prehash === 'SHA-256' ? 'sha256' : 'sha512');
}

/** M' = Prefix ‖ Label ‖ len(ctx) ‖ ctx ‖ PH(M) (draft §"Composite-ML-DSA.Sign", step 1–2). */
export function messageRepresentative(alg: SignatureAlgorithm, phM: Uint8Array, ctx: Uint8Array = new Uint8Array(0)): Uint8Array {
  if (!alg.label) throw new UsageError(`${alg.name} is not a composite algorithm`);
  if (ctx.length > 255) throw new UsageError(`context is ${ctx.length} bytes; at most 255 are allowed`);
  return concat([COMPOSITE_PREFIX, alg.label, Uint8Array.of(ctx.length), ctx, phM]);
}

/**
 * Composite: sign the pre-hash PH(M). Pure ML-DSA has no pre-hash: use `sign` with the message itself.
 * mldsaSig = ML-DSA.Sign(sk, M', ctx=Label); tradSig = Trad.Sign(sk, M'); s = mldsaSig ‖ tradSig.
 */
export function signPrehashed(key: PrivateKey, phM: Uint8Array, ctx?: Uint8Array): Uint8Array {
  const alg = key.alg;
  const m = messageRepresentative(alg, phM, ctx);
  const mldsaSig = alg.mldsa.sign(m, key.mldsaSecret, { context: alg.label });
  return concat([mldsaSig, traditionalSign(alg.traditional!, key.tradPrivate!, m)]);
}

/** Sign a message: composite (pre-hash then sign) or pure ML-DSA with the FIPS 204 context. */
export function sign(key: PrivateKey, message: Uint8Array, ctx?: Uint8Array): Uint8Array {
  if (!key.alg.traditional) {
    if (ctx && ctx.length > 255) throw new UsageError(`context is ${ctx.length} bytes; at most 255 are allowed`);
    return key.alg.mldsa.sign(message, key.mldsaSecret, { context: ctx ?? new Uint8Array(0) });
  }
  return signPrehashed(key, prehash(key.alg, message), ctx);
}

function traditionalSign(t: Traditional, key: KeyObject, m: Uint8Array): Uint8Array {
  if (t.kind === 'eddsa') return nodeSign(null, m, key);
  if (t.kind === 'ecdsa') return nodeSign(t.hash, m, { key, dsaEncoding: 'der' });
  if (t.padding === 'pss') return nodeSign(t.hash, m, { key, padding: constants.RSA_PKCS1_PSS_PADDING, saltLength: t.saltLength });
  return nodeSign(t.hash, m, key);
}

/** Which half failed, for `verify` to say so (the issue's tamper test). */
export interface VerifyResult {
  valid: boolean;
  mldsa: boolean;
  /** `null` for pure ML-DSA (no traditional half). */
  traditional: boolean | null;
  reason?: string;
}

export function verifyPrehashed(key: PublicKey, phM: Uint8Array, signature: Uint8Array, ctx?: Uint8Array): VerifyResult {
  const alg = key.alg;
  const n = alg.mldsa.lengths.signature!;
  if (signature.length <= n)
    return { valid: false, mldsa: false, traditional: false, reason: `${alg.name} signature is ${signature.length} bytes; the ML-DSA half alone is ${n}` };
  const m = messageRepresentative(alg, phM, ctx);
  const mldsa = safe(() => alg.mldsa.verify(signature.subarray(0, n), m, key.mldsaPublic, { context: alg.label }));
  const traditional = safe(() => traditionalVerify(alg.traditional!, key.tradPublic!, m, signature.subarray(n)));
  return result(alg, mldsa, traditional);
}

export function verify(key: PublicKey, message: Uint8Array, signature: Uint8Array, ctx?: Uint8Array): VerifyResult {
  const alg = key.alg;
  if (!alg.traditional) {
    const ok = safe(() => alg.mldsa.verify(signature, message, key.mldsaPublic, { context: ctx ?? new Uint8Array(0) }));
    return ok
      ? { valid: true, mldsa: true, traditional: null }
      : { valid: false, mldsa: false, traditional: null, reason: `the ${alg.mldsaId} signature does not verify` };
  }
  return verifyPrehashed(key, prehash(alg, message), signature, ctx);
}

function result(alg: SignatureAlgorithm, mldsa: boolean, traditional: boolean): VerifyResult {
  if (mldsa && traditional) return { valid: true, mldsa, traditional };
  const failed = [!mldsa && `the ${alg.mldsaId} half`, !traditional && `the ${alg.traditional!.id} half`].filter(Boolean).join(' and ');
  return { valid: false, mldsa, traditional, reason: `${failed} of the ${alg.id} signature does not verify` };
}

function traditionalVerify(t: Traditional, key: KeyObject, m: Uint8Array, sig: Uint8Array): boolean {
  if (t.kind === 'eddsa') return nodeVerify(null, m, key, sig);
  if (t.kind === 'ecdsa') {
    // The draft requires a DER Ecdsa-Sig-Value; reject anything with trailing bytes before OpenSSL sees it.
    const node = parseDer(sig);
    if (node.tag !== TAG.SEQUENCE) return false;
    return nodeVerify(t.hash, m, { key, dsaEncoding: 'der' }, sig);
  }
  if (t.padding === 'pss') return nodeVerify(t.hash, m, { key, padding: constants.RSA_PKCS1_PSS_PADDING, saltLength: t.saltLength }, sig);
  return nodeVerify(t.hash, m, key, sig);
}

/** Verification never throws on hostile signature bytes: a malformed half is a half that does not verify. */
function safe(f: () => boolean): boolean {
  try {
    return f();
  } catch {
    return false;
  }
}
