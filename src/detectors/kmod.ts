/**
 * Linux kernel module signatures (Documentation/admin-guide/module-signing.rst; include/linux/module_signature.h;
 * scripts/sign-file.c). A signed module ends with
 *
 *   [ module ][ signature ][ struct module_signature (12 bytes) ]["~Module signature appended~\n"]
 *
 * struct module_signature { u8 algo; u8 hash; u8 id_type; u8 signer_len; u8 key_id_len; u8 __pad[3]; __be32 sig_len; }.
 * id_type 2 (PKEY_ID_PKCS7, every kernel since 4.3) makes the signature a detached PKCS#7 SignedData without
 * certificates, read by the shared CMS walker. Kernels 3.7–4.2 wrote id_type 0 (PGP) / 1 (X.509 key id) with the
 * signer's name, the key id and an MPI signature, whose algo/hash bytes are all that names the algorithm.
 * Compressed modules (.ko.xz, .ko.zst, .ko.gz) arrive here decompressed through the engine's compression layer.
 * @module
 */
import { readNode, TAG } from '../pkix/der.js';
import { modulusBitsFromMpi, sizedFamily } from '../catalogue/infer.js';
import { ParseError, rethrowUnlessParseError } from '../errors.js';
import type { DetectContext, Finding } from '../model.js';
import { parseCms } from './cms.js';
import { readName } from '../pkix/certificate.js';
import type { Detector, DetectResult } from './types.js';

const MAGIC = '~Module signature appended~\n';
const MAGIC_BYTES = Buffer.from(MAGIC, 'latin1');
const SIG_INFO_SIZE = 12;
const PKEY_ID_PGP = 0;
const PKEY_ID_X509 = 1;
const PKEY_ID_PKCS7 = 2;

/** include/crypto/hash_info.h (HASH_ALGO_*) as used by the pre-4.3 module_signature.hash byte. */
const LEGACY_HASH: Record<number, string> = { 0: 'MD4', 1: 'MD5', 2: 'SHA-1', 3: 'RIPEMD-160', 4: 'SHA-256', 5: 'SHA-384', 6: 'SHA-512', 7: 'SHA-224' };
/** include/linux/module_signature.h pkey_algo before 4.3: PKEY_ALGO_DSA 0, PKEY_ALGO_RSA 1. */
const LEGACY_ALGO: Record<number, 'DSA' | 'RSA'> = { 0: 'DSA', 1: 'RSA' };

export const kmodDetector: Detector = {
  format: 'kmod',
  description: 'Linux kernel module signatures: the appended PKCS#7 (and pre-4.3 key-id signatures) and their trailer',
  // By name only: the trailer sits at the very end, and a compressed module is handed over as `<name>.ko` once
  // decompressed; scanning every window for the marker would cost a pass over every artifact for nothing.
  claims: { names: ['*.ko'] },
  detect: detectKmod,
};

export function detectKmod(bytes: Uint8Array, ctx: DetectContext): DetectResult {
  // The trailer is the last bytes of the artifact: only the window that ends the artifact can hold it.
  const atEnd = ctx.whole || ctx.baseOffset + bytes.length >= ctx.size;
  const buf = Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const markerAt = bytes.length - MAGIC_BYTES.length;
  if (!atEnd || markerAt < 0 || !buf.subarray(markerAt).equals(MAGIC_BYTES)) {
    return { findings: [], ...(ctx.whole && /\.ko$/i.test(ctx.name) ? { annotations: { 'kmod.signed': 'false' } } : {}) };
  }
  const infoAt = markerAt - SIG_INFO_SIZE;
  if (infoAt < 0) throw new ParseError('module signature trailer without struct module_signature', 0, 'truncated');
  const algo = bytes[infoAt];
  const hash = bytes[infoAt + 1];
  const idType = bytes[infoAt + 2];
  const signerLen = bytes[infoAt + 3];
  const keyIdLen = bytes[infoAt + 4];
  const sigLen = buf.readUInt32BE(infoAt + 8);
  const sigAt = infoAt - sigLen;
  if (sigAt < 0)
    throw new ParseError(`struct module_signature at offset ${infoAt} claims sig_len ${sigLen}, only ${infoAt} bytes precede it`, infoAt, 'truncated');
  const annotations = { 'kmod.signed': 'true', 'kmod.id_type': idTypeName(idType) };

  if (idType === PKEY_ID_PKCS7) {
    // sign-file leaves algo, hash, signer_len and key_id_len zero: everything is inside the PKCS#7.
    const node = readNode(bytes, sigAt, infoAt);
    const cms = parseCms(node, { format: 'kmod' });
    for (const f of cms.findings) {
      // The walker sizes an RSA SignerInfo from its signature's length (sign-file omits the certificate).
      if (f.kind === 'signature') signerFromSid(f, bytes);
      f.details = { ...f.details, idType: 'PKCS#7', sigLen };
    }
    return {
      findings: cms.findings,
      errors: cms.errors,
      annotations,
    };
  }
  if (idType !== PKEY_ID_PGP && idType !== PKEY_ID_X509) {
    throw new ParseError(`struct module_signature at offset ${infoAt} has unknown id_type ${idType}`, infoAt, 'unsupported');
  }
  // Pre-4.3 layout: signer name, key id, then the signature (an MPI: u16 bit count + big-endian bytes).
  const signerAt = sigAt - keyIdLen - signerLen;
  if (signerAt < 0) throw new ParseError(`struct module_signature at offset ${infoAt}: signer and key id run before the start`, infoAt, 'truncated');
  const signer = buf.toString('utf8', signerAt, signerAt + signerLen);
  const keyId = buf.toString('hex', signerAt + signerLen, sigAt);
  const family = LEGACY_ALGO[algo];
  const hashName = LEGACY_HASH[hash];
  // The signature is an OpenPGP-style MPI (u16 bit count, then the value): an RSA value sizes its modulus the way
  // every MPI does (src/catalogue/infer.ts, RFC 9580 §3.2).
  const mpiBits = family === 'RSA' && sigLen >= 2 ? buf.readUInt16BE(sigAt) : undefined;
  const bits = mpiBits !== undefined && Math.ceil(mpiBits / 8) === sigLen - 2 ? modulusBitsFromMpi(mpiBits) : undefined;
  const described = sizedFamily(family ? { family } : undefined, bits, 'mpi-length', hashName ? { hash: hashName } : {});
  const finding: Finding = {
    kind: 'signature',
    format: 'kmod',
    algorithm: described.algorithm,
    quantum: described.quantum,
    location: { offset: signerAt, path: 'module_signature' },
    ...(signer ? { subject: signer } : {}),
    fingerprint: keyId || undefined,
    details: {
      idType: idTypeName(idType),
      algo,
      hash,
      sigLen,
      keyId,
      ...(described.parameterFrom ? { parameterFrom: described.parameterFrom } : {}),
      ...(family ? {} : { unknownAlgo: algo }),
    },
  };
  return { findings: [finding], annotations };
}

function idTypeName(t: number): string {
  return t === PKEY_ID_PKCS7 ? 'PKCS#7' : t === PKEY_ID_X509 ? 'X.509' : t === PKEY_ID_PGP ? 'PGP' : String(t);
}

/**
 * Without certificates the signer is named only by the SignerInfo's sid: IssuerAndSerialNumber (sign-file's default,
 * what `modinfo` prints as signer = issuer CN and sig_key = serial) or [0] SubjectKeyIdentifier (sign-file -k).
 */
function signerFromSid(f: Finding, bytes: Uint8Array): void {
  if (f.subject || f.location.offset === undefined) return;
  try {
    const sid = readNode(bytes, f.location.offset, bytes.length).child(1, 'sid');
    if (sid.isContext(0)) {
      f.fingerprint = Buffer.from(sid.content).toString('hex');
      return;
    }
    const [issuer, serial] = sid.children();
    f.issuer = readName(issuer);
    if (serial?.tag === TAG.INTEGER) f.serial = Buffer.from(serial.content).toString('hex');
  } catch (e) {
    rethrowUnlessParseError(e);
    // The CMS walker already recorded what it could.
  }
}
