/**
 * securesystemslib keys and signatures, the shared vocabulary of TUF metadata (TUF specification 1.0 §4.2 "keys",
 * §4.2 "signatures") and in-toto layouts (in-toto specification v0.9 §4.2): a key is `{keytype, scheme, keyval:
 * {public}}` named by a key id, a signature `{keyid, sig}` with `sig` in hex. Public keys are PEM SubjectPublicKeyInfo
 * (rsa, ecdsa) or hex (ed25519: the 32-octet key; some ecdsa writers: the hex of the DER SPKI or of the point).
 * @module
 */
import { parseDer, unsignedBitLength } from '../pkix/der.js';
import { catalogue, type Described } from '../catalogue/index.js';
import { rethrowUnlessParseError } from '../errors.js';
import { MAX_OBJECTS_PER_ARTIFACT } from '../limits.js';
import type { ErrorEntry, Finding } from '../model.js';
import { describeSignatureShape } from './dsse.js';
import { isObject, str, type Json, type JsonObject } from './_json.js';
import { findPemBlocks } from '../pkix/pem.js';
import { describeSpki } from '../pkix/algorithm.js';
import { sha256Hex } from '../pkix/certificate.js';

export interface SslibKey {
  keyid: string;
  keytype: string;
  scheme: string;
  described: Described;
  /** Where the key's public value sits (for the finding's offset). */
  value?: string;
  /** SHA-256 of the DER SPKI, when the key is one. */
  spkiSha256?: string;
}

const HEX = /^(?:[0-9a-fA-F]{2})+$/;

/** One key of a `keys` map. Throws ParseError on material that does not parse; unknown key types stay `unknown`. */
export function describeSslibKey(keyid: string, key: JsonObject): SslibKey {
  const cat = catalogue();
  const keytype = str(key.keytype) ?? '';
  const scheme = str(key.scheme) ?? '';
  const keyval = isObject(key.keyval) ? key.keyval : {};
  const pub = str(keyval.public);
  const entry = cat.data.securesystemslib[scheme];
  // in-toto's GPG keys (securesystemslib gpg/: `method: pgp+rsa-pkcsv1.5 | pgp+dsa-fips-180-2 | pgp+eddsa-ed25519`)
  // carry the OpenPGP key's numbers in hex: RSA n, DSA p, EdDSA q.
  if (isObject(keyval.public)) {
    const method = str(key.method) ?? '';
    const p = keyval.public;
    const hexBits = (h: string | undefined) => (h && HEX.test(h) ? unsignedBitLength(new Uint8Array(Buffer.from(h, 'hex'))) : 0);
    const base2 = { keyid, keytype: keytype || str(key.type) || method, scheme: method };
    if (/rsa/.test(method) && hexBits(str(p.n))) return { ...base2, described: cat.forKey('RSA', hexBits(str(p.n)), { name: method }) };
    if (/dsa-fips/.test(method) && hexBits(str(p.p))) return { ...base2, described: cat.forKey('DSA', hexBits(str(p.p)), { name: method }) };
    if (/ed25519/.test(method)) return { ...base2, described: cat.byId('Ed25519', { name: method }) };
    return { ...base2, described: cat.resolve(undefined, {}, { name: `${method || 'unknown'} key` }) };
  }
  const base: Omit<SslibKey, 'described'> = { keyid, keytype, scheme, ...(pub ? { value: pub } : {}) };
  if (pub?.includes('-----BEGIN')) {
    const [block] = findPemBlocks(new TextEncoder().encode(pub), (l) => l === 'PUBLIC KEY');
    if (!block || block.error) return { ...base, described: cat.resolve(undefined, {}, { name: `${keytype} key (PEM does not decode)` }) };
    const spki = parseDer(block.der);
    const d = describeSpki(spki);
    return { ...base, described: { algorithm: { ...d.algorithm, name: scheme || keytype }, quantum: d.quantum }, spkiSha256: sha256Hex(spki.encoded) };
  }
  if (pub && HEX.test(pub)) {
    const raw = Buffer.from(pub, 'hex');
    if (keytype === 'ed25519' && raw.length === 32) return { ...base, described: cat.byId('Ed25519', { name: scheme || keytype }) };
    // go-tuf and older securesystemslib wrote ecdsa public keys as hex of the DER SPKI.
    if (raw[0] === 0x30) {
      const spki = parseDer(new Uint8Array(raw));
      const d = describeSpki(spki);
      return { ...base, described: { algorithm: { ...d.algorithm, name: scheme || keytype }, quantum: d.quantum }, spkiSha256: sha256Hex(spki.encoded) };
    }
  }
  // The scheme alone names an exact algorithm for ed25519 and the NIST ECDSA schemes; RSA needs the key for its size.
  if (entry) return { ...base, described: cat.resolve(entry, {}, { name: scheme }) };
  return { ...base, described: cat.resolve(undefined, {}, { name: `${keytype || 'unknown'} key, scheme ${scheme || 'none'}` }) };
}

/** Every key of a `keys` map (TUF root/delegations, in-toto layout), with errors for the ones that do not parse. */
export function readSslibKeys(keys: Json | undefined, path: string, errors: ErrorEntry[], offset: number): Map<string, SslibKey> {
  const out = new Map<string, SslibKey>();
  if (!isObject(keys)) return out;
  for (const [keyid, key] of Object.entries(keys).slice(0, MAX_OBJECTS_PER_ARTIFACT)) {
    if (!isObject(key)) continue;
    try {
      out.set(keyid, describeSslibKey(keyid, key));
    } catch (e) {
      rethrowUnlessParseError(e);
      errors.push({ code: 'malformed', message: `${path}.${keyid}: public key does not parse: ${e.message}`, offset });
    }
  }
  return out;
}

/**
 * A key's finding, named by its key id (`details.keyid`, what signatures and delegations name it by). A PEM key sits
 * at its BEGIN line with the SPKI's SHA-256 as fingerprint, like the same PEM found by the keys detector, so the
 * registry reports the object once; other keys take the key id as fingerprint.
 */
export function sslibKeyFinding(k: SslibKey, format: string, offset: number, path: string, details: Record<string, unknown>): Finding {
  const { hash: _hash, ...algorithm } = k.described.algorithm;
  return {
    kind: 'public-key',
    format,
    algorithm,
    quantum: k.described.quantum,
    location: { offset, path },
    fingerprint: k.spkiSha256 ?? k.keyid,
    details: { keyid: k.keyid, keytype: k.keytype, scheme: k.scheme, ...details },
  };
}

/** Where a key's material sits in the document: its PEM BEGIN line after the key id, or the hex value. */
export function sslibKeyOffset(k: SslibKey, locate: (value: string | undefined, fallback: number) => number, from: number): number {
  const at = locate(k.keyid, from);
  if (k.value?.includes('-----BEGIN')) return locate(k.value.slice(0, k.value.indexOf('\n') > 0 ? k.value.indexOf('\n') : 26), at);
  return locate(k.value, at);
}

/**
 * A `{keyid, sig}` signature: the algorithm of the key it names when that key is in the same document (and the
 * scheme's hash), else what the signature's shape alone proves (dsse.ts describeSignatureShape), else `unknown`, for
 * the scan's join step (src/scan/signers.ts) to fill from a key elsewhere in the scan.
 */
export function sslibSignatureFinding(
  sig: JsonObject,
  keys: Map<string, SslibKey>,
  format: string,
  offset: number,
  path: string,
  details: Record<string, unknown>,
): Finding {
  const cat = catalogue();
  const keyid = str(sig.keyid) ?? '';
  // `sig` (securesystemslib), or `signature` (in-toto's GPG signatures).
  const hexSig = str(sig.sig) ?? str(sig.signature) ?? '';
  const bytes = HEX.test(hexSig) ? new Uint8Array(Buffer.from(hexSig, 'hex')) : undefined;
  const key = keys.get(keyid);
  const extra: Record<string, unknown> = { ...details, ...(bytes ? { signatureBytes: bytes.length } : {}) };
  let d: Described;
  if (key && key.described.algorithm.family !== 'unknown') {
    const scheme = cat.data.securesystemslib[key.scheme];
    const hash = scheme?.hash ?? (key.scheme.startsWith('pgp+') ? 'SHA-256' : undefined);
    d = {
      algorithm: { ...key.described.algorithm, ...(hash ? { hash } : {}), ...(scheme?.mode ? { mode: scheme.mode } : {}) },
      quantum: key.described.quantum,
    };
    if (key.described.algorithm.parameterKnown !== false) extra.parameterFrom = 'key';
  } else {
    const shape = bytes ? describeSignatureShape(bytes) : undefined;
    d = shape?.described ?? cat.resolve(undefined);
    if (shape) extra.algorithmFrom = shape.from;
  }
  return {
    kind: 'signature',
    format,
    algorithm: d.algorithm,
    quantum: d.quantum,
    location: { offset, path },
    ...(keyid ? { fingerprint: keyid } : {}),
    details: extra,
  };
}
