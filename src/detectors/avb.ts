/**
 * Android Verified Boot 2.0 (AOSP external/avb: libavb/avb_vbmeta_image.h, avb_footer.h, avb_crypto.h,
 * avb_chain_partition_descriptor.h, avb_hash_descriptor.h, avb_hashtree_descriptor.h).
 *
 * AvbVBMetaImageHeader (256 bytes, big-endian): "AVB0", libavb version, authentication_data_block_size,
 * auxiliary_data_block_size, algorithm_type, hash/signature offsets in the authentication block, public key,
 * public key metadata and descriptors offsets in the auxiliary block, rollback index, flags, release string.
 * The public key is an AvbRSAPublicKeyHeader { key_num_bits, n0inv } + n + rr. A partition image carries its vbmeta
 * with an AvbFooter ("AVBf", 64 bytes) in its last bytes pointing at it. Chain-partition descriptors carry the
 * public keys that other partitions' vbmeta must be signed with.
 * @module
 */
import { catalogue, type Described } from '../catalogue/index.js';
import { ParseError, rethrowUnlessParseError } from '../errors.js';
import type { DetectContext, ErrorEntry, Finding } from '../model.js';
import { sha256Hex } from '../pkix/certificate.js';
import type { Detector, DetectResult } from './types.js';

const HEADER_SIZE = 256;
const FOOTER_SIZE = 64;
/** AvbAlgorithmType (avb_crypto.h): hash and RSA modulus size; 0 is NONE (unsigned). */
const ALGORITHMS: Record<number, { name: string; hash: string; bits: number } | undefined> = {
  0: undefined,
  1: { name: 'SHA256_RSA2048', hash: 'SHA-256', bits: 2048 },
  2: { name: 'SHA256_RSA4096', hash: 'SHA-256', bits: 4096 },
  3: { name: 'SHA256_RSA8192', hash: 'SHA-256', bits: 8192 },
  4: { name: 'SHA512_RSA2048', hash: 'SHA-512', bits: 2048 },
  5: { name: 'SHA512_RSA4096', hash: 'SHA-512', bits: 4096 },
  6: { name: 'SHA512_RSA8192', hash: 'SHA-512', bits: 8192 },
};
const DESCRIPTOR_TAG = { property: 0, hashtree: 1, hash: 2, kernelCmdline: 3, chainPartition: 4 } as const;
/** Descriptors read from one vbmeta (a real one has a dozen). */
const MAX_DESCRIPTORS = 1024;
/** A vbmeta block is at most 64 KiB (AVB_VBMETA_IMAGE_MAX_SIZE in avbtool). */
const MAX_VBMETA = 64 * 1024;

export const avbDetector: Detector = {
  format: 'avb',
  description: 'Android Verified Boot vbmeta images and AVBf footers: algorithm, public keys, chained partition keys',
  claims: {
    magic: [{ offset: 0, bytes: [0x41, 0x56, 0x42, 0x30] }],
    names: [
      'vbmeta*.img',
      '*.vbmeta',
      'boot*.img',
      'vendor_boot*.img',
      'init_boot*.img',
      'dtbo*.img',
      'recovery*.img',
      'system*.img',
      'vendor*.img',
      'product*.img',
    ],
  },
  detect: detectAvb,
};

export function detectAvb(bytes: Uint8Array, ctx: DetectContext): DetectResult {
  const findings: Finding[] = [];
  const errors: ErrorEntry[] = [];
  const annotations: Record<string, string> = {};
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const atEnd = ctx.whole || ctx.baseOffset + bytes.length >= ctx.size;
  let vbmetaAt: number | undefined;
  if (ctx.baseOffset === 0 && magicAt(bytes, 0, 'AVB0')) vbmetaAt = 0;
  else if (atEnd && bytes.length >= FOOTER_SIZE && magicAt(bytes, bytes.length - FOOTER_SIZE, 'AVBf')) {
    // AvbFooter { magic, version_major, version_minor, original_image_size u64, vbmeta_offset u64, vbmeta_size u64, reserved[28] }
    const f = bytes.length - FOOTER_SIZE;
    const original = Number(view.getBigUint64(f + 12));
    const offset = Number(view.getBigUint64(f + 20));
    const size = Number(view.getBigUint64(f + 28));
    annotations['avb.footer'] = `original_image_size=${original} vbmeta_offset=${offset} vbmeta_size=${size}`;
    const rel = offset - ctx.baseOffset;
    if (offset + size > ctx.size || size < HEADER_SIZE)
      throw new ParseError(`AVBf footer points at vbmeta [${offset}, +${size}) outside the ${ctx.size}-byte image`, f, 'malformed');
    if (rel < 0 || rel + size > bytes.length) {
      return {
        findings,
        errors: [{ code: 'limit-size', message: `vbmeta at ${offset} lies outside the bytes held in memory`, offset: f }],
        annotations,
      };
    }
    vbmetaAt = rel;
  }
  if (vbmetaAt === undefined) return { findings, annotations };
  readVbmeta(bytes, vbmetaAt, ctx, findings, errors, annotations);
  return { findings, errors, annotations };
}

function magicAt(bytes: Uint8Array, at: number, magic: string): boolean {
  for (let i = 0; i < 4; i++) if (bytes[at + i] !== magic.charCodeAt(i)) return false;
  return true;
}

function readVbmeta(bytes: Uint8Array, at: number, ctx: DetectContext, findings: Finding[], errors: ErrorEntry[], annotations: Record<string, string>): void {
  if (!magicAt(bytes, at, 'AVB0')) throw new ParseError(`no AVB0 vbmeta header at offset ${at}`, at);
  if (at + HEADER_SIZE > bytes.length) throw new ParseError('vbmeta header truncated', at, 'truncated');
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const u64 = (o: number) => {
    const v = view.getBigUint64(at + o);
    if (v > BigInt(MAX_VBMETA)) throw new ParseError(`vbmeta field at offset ${at + o} is ${v}, larger than a vbmeta can be`, at + o);
    return Number(v);
  };
  const authSize = u64(12);
  const auxSize = u64(20);
  const algorithmType = view.getUint32(at + 28);
  const sigOffset = u64(48);
  const sigSize = u64(56);
  const keyOffset = u64(64);
  const keySize = u64(72);
  const descOffset = u64(96);
  const descSize = u64(104);
  const rollback = view.getBigUint64(at + 112);
  const flags = view.getUint32(at + 120);
  const release = Buffer.from(bytes.subarray(at + 128, at + 176))
    .toString('latin1')
    .replace(/\0.*$/s, '');
  const authAt = at + HEADER_SIZE;
  const auxAt = authAt + authSize;
  if (auxAt + auxSize > bytes.length) throw new ParseError(`vbmeta blocks (auth ${authSize}, aux ${auxSize}) run past the end`, at, 'truncated');
  if (sigOffset + sigSize > authSize || keyOffset + keySize > auxSize || descOffset + descSize > auxSize) {
    throw new ParseError('vbmeta offsets fall outside their blocks', at);
  }
  annotations['avb.release'] = release;
  annotations['avb.flags'] = String(flags);
  annotations['avb.rollbackIndex'] = rollback.toString();
  const cat = catalogue();
  const alg = ALGORITHMS[algorithmType];
  if (algorithmType !== 0 && !alg) throw new ParseError(`unknown AVB algorithm_type ${algorithmType}`, at + 28, 'unsupported');
  const key = keySize > 0 ? readAvbKey(bytes, auxAt + keyOffset, keySize) : undefined;
  if (!alg) {
    annotations['avb.signed'] = 'false';
  } else {
    annotations['avb.signed'] = 'true';
    const d = cat.forKey('RSA', alg.bits, { hash: alg.hash, name: alg.name, mode: 'PKCS1-v1_5' });
    findings.push({
      kind: 'signature',
      format: 'avb',
      algorithm: d.algorithm,
      quantum: d.quantum,
      location: { offset: at, path: 'vbmeta' },
      ...(key ? { fingerprint: key.fingerprint } : {}),
      details: { algorithmType: alg.name, signatureSize: sigSize, release, rollbackIndex: rollback.toString(), flags },
    });
    if (key && key.bits !== alg.bits) {
      errors.push({
        code: 'malformed',
        message: `algorithm ${alg.name} but the embedded key has ${key.bits} bits`,
        offset: auxAt + keyOffset,
      });
    }
  }
  if (key) findings.push(keyFinding(key.described, auxAt + keyOffset, 'vbmeta.publicKey', key.fingerprint, {}));
  readDescriptors(bytes, auxAt + descOffset, descSize, ctx, findings, errors, annotations);
}

interface AvbKey {
  bits: number;
  described: Described;
  fingerprint: string;
}

/** AvbRSAPublicKeyHeader { key_num_bits u32, n0inv u32 } then n and rr, each key_num_bits/8 bytes. */
function readAvbKey(bytes: Uint8Array, at: number, size: number): AvbKey {
  if (size < 8) throw new ParseError(`AVB public key of ${size} bytes`, at, 'truncated');
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const bits = view.getUint32(at);
  if (bits === 0 || bits % 8 !== 0 || 8 + (2 * bits) / 8 > size) throw new ParseError(`AVB public key claims ${bits} bits in ${size} bytes`, at);
  // avbtool's key digest (what `avbtool info_image` prints as "Public key (sha1)") is over this whole blob; we use SHA-256.
  return { bits, described: catalogue().forKey('RSA', bits), fingerprint: sha256Hex(bytes.subarray(at, at + size)) };
}

/**
 * Offset = the AvbRSAPublicKeyHeader, with no fingerprint/subject at top level: the raw-key carver reports the same
 * key at the same offset the same way, so the registry keeps this (richer) finding and drops the carver's.
 */
function keyFinding(d: Described, offset: number, path: string, keyDigest: string, details: Record<string, unknown>): Finding {
  return { kind: 'public-key', format: 'avb', algorithm: d.algorithm, quantum: d.quantum, location: { offset, path }, details: { ...details, keyDigest } };
}

/** AvbDescriptor { tag u64, num_bytes_following u64 } and its body; 8-byte aligned. */
function readDescriptors(
  bytes: Uint8Array,
  at: number,
  size: number,
  ctx: DetectContext,
  findings: Finding[],
  errors: ErrorEntry[],
  annotations: Record<string, string>,
): void {
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const end = at + size;
  const hashes: string[] = [];
  for (let p = at, n = 0; p + 16 <= end; n++) {
    if (n >= MAX_DESCRIPTORS) break;
    const tag = Number(view.getBigUint64(p));
    const following = view.getBigUint64(p + 8);
    if (following > BigInt(end - p - 16)) {
      errors.push({ code: 'truncated', message: `descriptor ${n} at offset ${p} claims ${following} bytes`, offset: p });
      return;
    }
    const body = p + 16;
    const bodyEnd = body + Number(following);
    const latin = (a: number, b: number) => Buffer.from(bytes.subarray(a, b)).toString('latin1').replace(/\0.*$/s, '');
    if (tag === DESCRIPTOR_TAG.hash && bodyEnd - body >= 116) {
      // image_size u64, hash_algorithm[32], partition_name_len u32, salt_len u32, digest_len u32, flags u32, reserved[60]
      const algo = latin(body + 8, body + 40);
      const nameLen = view.getUint32(body + 40);
      const name = body + 116 + nameLen <= bodyEnd ? latin(body + 116, body + 116 + nameLen) : '?';
      hashes.push(`${name}:${algo}`);
    } else if (tag === DESCRIPTOR_TAG.hashtree && bodyEnd - body >= 164) {
      // dm_verity_version u32, image_size u64, tree_offset u64, tree_size u64, data_block_size u32, hash_block_size u32,
      // fec_num_roots u32, fec_offset u64, fec_size u64, hash_algorithm[32], partition_name_len u32, …, reserved[60]
      const algo = latin(body + 56, body + 88);
      const nameLen = view.getUint32(body + 88);
      const name = body + 164 + nameLen <= bodyEnd ? latin(body + 164, body + 164 + nameLen) : '?';
      hashes.push(`${name}:${algo}(hashtree)`);
    } else if (tag === DESCRIPTOR_TAG.chainPartition && bodyEnd - body >= 76) {
      // rollback_index_location u32, partition_name_len u32, public_key_len u32, flags u32, reserved[60], name, key
      const nameLen = view.getUint32(body + 4);
      const keyLen = view.getUint32(body + 8);
      const nameAt = body + 76;
      if (nameAt + nameLen + keyLen > bodyEnd) {
        errors.push({ code: 'truncated', message: `chain partition descriptor at offset ${p} overruns itself`, offset: p });
      } else {
        const partition = latin(nameAt, nameAt + nameLen);
        try {
          const key = readAvbKey(bytes, nameAt + nameLen, keyLen);
          findings.push(
            keyFinding(key.described, nameAt + nameLen, `descriptors[${n}].chainPartition`, key.fingerprint, { partition, role: 'chained partition key' }),
          );
        } catch (e) {
          rethrowUnlessParseError(e);
          errors.push({ code: 'malformed', message: `chain partition ${partition}: ${e.message}`, offset: nameAt + nameLen });
        }
      }
    }
    p = bodyEnd + ((8 - ((bodyEnd - at) & 7)) & 7);
  }
  if (hashes.length) annotations['avb.hashes'] = hashes.join(' ');
}
