/**
 * Algorithms in PKIX structures (RFC 5280 §4.1.1.2, RFC 5480, RFC 8410, RFC 9881, RFC 4055): AlgorithmIdentifier,
 * SubjectPublicKeyInfo, named curves and explicit curve parameters, signature algorithms sized by their signer's key.
 * Read with the bounded DER reader and named through the catalogue; every reader of keys, certificates and CMS
 * (detectors and resign alike) goes through these.
 * @module
 */
import { catalogue, type Described } from '../catalogue/index.js';
import { ParseError, rethrowUnlessParseError } from '../errors.js';
import type { Algorithm } from '../model.js';
import { DerNode, readNode, TAG } from './der.js';

export interface AlgorithmIdentifier {
  oid: string;
  params?: DerNode;
}

export function readAlgorithmIdentifier(node: DerNode): AlgorithmIdentifier {
  node.expect(TAG.SEQUENCE, 'AlgorithmIdentifier');
  const kids = node.children();
  if (kids.length === 0) throw new ParseError(`empty AlgorithmIdentifier at offset ${node.start}`, node.start);
  return { oid: kids[0].oid(), params: kids[1] };
}

/** What a public key is: canonical algorithm plus the facts that decided it. */
export interface KeyInfo extends Described {
  bits?: number;
  curve?: string;
  /** EC key with explicit curve parameters instead of a named-curve OID. */
  explicitParameters?: boolean;
}

/**
 * Short-Weierstrass prime curves by (p, a, b), from SEC 2 v2 §2 and RFC 5639 §3 (values as `openssl ecparam
 * -param_enc explicit -text` prints them). Used to name explicit-parameter keys and bare points whose curve the
 * structure omits (RFC 5753 originator keys).
 */
const PRIME_CURVES: readonly { curve: string; p: bigint; a: bigint; b: bigint }[] = [
  {
    curve: 'P192',
    p: 0xfffffffffffffffffffffffffffffffeffffffffffffffffn,
    a: 0xfffffffffffffffffffffffffffffffefffffffffffffffcn,
    b: 0x64210519e59c80e70fa7e9ab72243049feb8deecc146b9b1n,
  },
  {
    curve: 'P224',
    p: 0xffffffffffffffffffffffffffffffff000000000000000000000001n,
    a: 0xfffffffffffffffffffffffffffffffefffffffffffffffffffffffen,
    b: 0xb4050a850c04b3abf54132565044b0b7d7bfd8ba270b39432355ffb4n,
  },
  {
    curve: 'P256',
    p: 0xffffffff00000001000000000000000000000000ffffffffffffffffffffffffn,
    a: 0xffffffff00000001000000000000000000000000fffffffffffffffffffffffcn,
    b: 0x5ac635d8aa3a93e7b3ebbd55769886bc651d06b0cc53b0f63bce3c3e27d2604bn,
  },
  { curve: 'secp256k1', p: 0xfffffffffffffffffffffffffffffffffffffffffffffffffffffffefffffc2fn, a: 0n, b: 7n },
  {
    curve: 'brainpoolP256r1',
    p: 0xa9fb57dba1eea9bc3e660a909d838d726e3bf623d52620282013481d1f6e5377n,
    a: 0x7d5a0975fc2c3057eef67530417affe7fb8055c126dc5c6ce94a4b44f330b5d9n,
    b: 0x26dc5c6ce94a4b44f330b5d9bbd77cbf958416295cf7e1ce6bccdc18ff8c07b6n,
  },
  {
    curve: 'brainpoolP256t1',
    p: 0xa9fb57dba1eea9bc3e660a909d838d726e3bf623d52620282013481d1f6e5377n,
    a: 0xa9fb57dba1eea9bc3e660a909d838d726e3bf623d52620282013481d1f6e5374n,
    b: 0x662c61c430d84ea4fe66a7733d0b76b7bf93ebc4af2f49256ae58101fee92b04n,
  },
  {
    curve: 'P384',
    p: 0xfffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffeffffffff0000000000000000ffffffffn,
    a: 0xfffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffeffffffff0000000000000000fffffffcn,
    b: 0xb3312fa7e23ee7e4988e056be3f82d19181d9c6efe8141120314088f5013875ac656398d8a2ed19d2a85c8edd3ec2aefn,
  },
  {
    curve: 'brainpoolP384r1',
    p: 0x8cb91e82a3386d280f5d6f7e50e641df152f7109ed5456b412b1da197fb71123acd3a729901d1a71874700133107ec53n,
    a: 0x7bc382c63d8c150c3c72080ace05afa0c2bea28e4fb22787139165efba91f90f8aa5814a503ad4eb04a8c7dd22ce2826n,
    b: 0x4a8c7dd22ce28268b39b55416f0447c2fb77de107dcd2a62e880ea53eeb62d57cb4390295dbc9943ab78696fa504c11n,
  },
  {
    curve: 'brainpoolP384t1',
    p: 0x8cb91e82a3386d280f5d6f7e50e641df152f7109ed5456b412b1da197fb71123acd3a729901d1a71874700133107ec53n,
    a: 0x8cb91e82a3386d280f5d6f7e50e641df152f7109ed5456b412b1da197fb71123acd3a729901d1a71874700133107ec50n,
    b: 0x7f519eada7bda81bd826dba647910f8c4b9346ed8ccdc64e4b1abd11756dce1d2074aa263b88805ced70355a33b471een,
  },
  {
    curve: 'brainpoolP512r1',
    p: 0xaadd9db8dbe9c48b3fd4e6ae33c9fc07cb308db3b3c9d20ed6639cca703308717d4d9b009bc66842aecda12ae6a380e62881ff2f2d82c68528aa6056583a48f3n,
    a: 0x7830a3318b603b89e2327145ac234cc594cbdd8d3df91610a83441caea9863bc2ded5d5aa8253aa10a2ef1c98b9ac8b57f1117a72bf2c7b9e7c1ac4d77fc94can,
    b: 0x3df91610a83441caea9863bc2ded5d5aa8253aa10a2ef1c98b9ac8b57f1117a72bf2c7b9e7c1ac4d77fc94cadc083e67984050b75ebae5dd2809bd638016f723n,
  },
  {
    curve: 'brainpoolP512t1',
    p: 0xaadd9db8dbe9c48b3fd4e6ae33c9fc07cb308db3b3c9d20ed6639cca703308717d4d9b009bc66842aecda12ae6a380e62881ff2f2d82c68528aa6056583a48f3n,
    a: 0xaadd9db8dbe9c48b3fd4e6ae33c9fc07cb308db3b3c9d20ed6639cca703308717d4d9b009bc66842aecda12ae6a380e62881ff2f2d82c68528aa6056583a48f0n,
    b: 0x7cbbbcf9441cfab76e1890e46884eae321f70c0bcb4981527897504bec3e36a62bcdfa2304976540f6450085f2dae145c22553b465763689180ea2571867423en,
  },
  {
    curve: 'P521',
    p: 0x1ffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffn,
    a: 0x1fffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffcn,
    b: 0x51953eb9618e1c9a1f929a21a0b68540eea2da725b99b315f3b8b489918ef109e156193951ec7e937b1652c0bd3bb1bf073573df883d2c34f1ef451fd46b503f00n,
  },
];

function bytesToBigint(b: Uint8Array): bigint {
  return b.length === 0 ? 0n : BigInt(`0x${Buffer.from(b).toString('hex')}`);
}

/** ECParameters ::= SEQUENCE { version, fieldID { prime-field, p }, curve { a, b, seed? }, base, order, cofactor? } */
export function curveOfExplicitParams(params: DerNode): string | undefined {
  try {
    const [, fieldId, curve] = params.children();
    const [fieldType, prime] = fieldId.children();
    if (fieldType.oid() !== '1.2.840.10045.1.1' || prime.tag !== TAG.INTEGER) return undefined; // characteristic-two: not tabled
    const [a, b] = curve.children();
    const p = prime.bigint();
    const av = bytesToBigint(a.content);
    const bv = bytesToBigint(b.content);
    return PRIME_CURVES.find((c) => c.p === p && c.a === av && c.b === bv)?.curve;
  } catch (e) {
    rethrowUnlessParseError(e);
    return undefined;
  }
}

/**
 * The curve an uncompressed point (04 || X || Y) lies on, among the tabled curves of its size: y² = x³ + ax + b (mod p).
 * Two curves of one size never share a random point, so one match is an identification.
 */
export function curveOfPoint(point: Uint8Array): string | undefined {
  if (point.length < 3 || point[0] !== 0x04 || point.length % 2 !== 1 || point.length > 133) return undefined;
  const n = (point.length - 1) / 2;
  const x = bytesToBigint(point.subarray(1, 1 + n));
  const y = bytesToBigint(point.subarray(1 + n));
  const hits = PRIME_CURVES.filter((c) => Math.ceil(c.p.toString(16).length / 2) === n).filter((c) => {
    if (x >= c.p || y >= c.p) return false;
    return (y * y - (x * x * x + c.a * x + c.b)) % c.p === 0n;
  });
  return hits.length === 1 ? hits[0].curve : undefined;
}

/** Describe a SubjectPublicKeyInfo: RSA modulus size, EC curve, DSA/DH prime size, Ed/X curves, ML-DSA, composites. */
export function describeSpki(spki: DerNode): KeyInfo {
  spki.expect(TAG.SEQUENCE, 'SubjectPublicKeyInfo');
  const [algNode, keyNode] = [spki.child(0, 'algorithm'), spki.child(1, 'subjectPublicKey')];
  const alg = readAlgorithmIdentifier(algNode);
  const cat = catalogue();
  const entry = cat.oid(alg.oid);
  const keyBits = keyNode.bits();
  const family = entry?.family;
  if (family === 'RSA') {
    // RSAPublicKey ::= SEQUENCE { modulus INTEGER, publicExponent INTEGER }
    const rsa = readNode(keyBits, 0, keyBits.length, spki.depth + 2);
    const bits = rsa.child(0, 'modulus').integerBits();
    return { ...cat.resolve(entry, { bits }, { oid: alg.oid }), bits };
  }
  if (family === 'ECDSA' || family === 'ECDH') {
    const curve = ecCurveFromParams(alg.params);
    if (curve) return { ...cat.resolve(entry, { curve }, { oid: alg.oid }), curve };
    // Explicit parameters (RFC 3279 §2.3.5 ECParameters): name the curve when (p, a, b) is a known one, but say the
    // key was explicit (a CVE-2020-0601-style risk of its own). Otherwise the size comes from the point encoding.
    const explicit = alg.params?.tag === TAG.SEQUENCE ? curveOfExplicitParams(alg.params) : undefined;
    if (explicit) return { ...cat.resolve(entry, { curve: explicit }, { oid: alg.oid }), curve: explicit, explicitParameters: true };
    const fieldBytes = keyBits[0] === 0x04 ? (keyBits.length - 1) / 2 : keyBits.length - 1;
    const d = cat.resolve(entry, {}, { oid: alg.oid });
    d.algorithm.parameterKnown = false;
    d.quantum.classicalBits = Math.floor(fieldBytes * 4);
    return { ...d, bits: fieldBytes * 8, ...(alg.params?.tag === TAG.SEQUENCE ? { explicitParameters: true } : {}) };
  }
  if (family === 'DSA' || family === 'DH') {
    // Dss-Parms / DomainParameters ::= SEQUENCE { p INTEGER, … }: the size is the prime's.
    if (alg.params && alg.params.tag === TAG.SEQUENCE) {
      const bits = alg.params.child(0, 'p').integerBits();
      return { ...cat.resolve(entry, { bits }, { oid: alg.oid }), bits };
    }
    return cat.resolve(entry, {}, { oid: alg.oid });
  }
  return cat.resolve(entry, {}, { oid: alg.oid });
}

export function ecCurveFromParams(params: DerNode | undefined): string | undefined {
  if (!params || params.tag !== TAG.OID) return undefined;
  return catalogue().curve(params.oid());
}

/**
 * Describe a signature AlgorithmIdentifier, using the signer's key (when known) to fill the size or curve:
 * `sha256WithRSAEncryption` + a 2048-bit key → RSA-2048 / SHA-256. RSASSA-PSS reads its hash from the parameters.
 */
export function describeSignatureAlgorithm(alg: AlgorithmIdentifier, signerKey?: KeyInfo): Described {
  const cat = catalogue();
  const entry = cat.oid(alg.oid);
  const extra: Partial<Algorithm> = { oid: alg.oid };
  if (alg.oid === '1.2.840.113549.1.1.10') {
    const h = pssHash(alg.params);
    extra.hash = h ?? 'SHA-1'; // RFC 4055: an absent hashAlgorithm defaults to SHA-1.
  }
  if (!entry) return cat.resolve(undefined, {}, extra);
  // ECDSA signature OIDs carry no curve: take it from the signer key when it is an EC key.
  if (signerKey && entry.family && signerKey.algorithm.family === entry.family) {
    return cat.resolve(entry, { bits: signerKey.bits, curve: signerKey.curve }, extra);
  }
  if (signerKey && entry.family === 'ECDSA' && signerKey.curve) return cat.resolve(entry, { curve: signerKey.curve }, extra);
  return cat.resolve(entry, {}, extra);
}

function pssHash(params: DerNode | undefined): string | undefined {
  // RSASSA-PSS-params ::= SEQUENCE { hashAlgorithm [0] … , maskGenAlgorithm [1] …, saltLength [2] …, trailerField [3] … }
  if (!params || params.tag !== TAG.SEQUENCE) return undefined;
  for (const p of params.children()) {
    if (p.isContext(0)) return catalogue().hashName(readAlgorithmIdentifier(p.inner()).oid);
  }
  return undefined;
}
