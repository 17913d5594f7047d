/**
 * APK Signature Scheme v2 / v3 / v3.1 (source.android.com/docs/security/features/apksigning/v2, …/v3; apksig
 * ApkSigningBlockUtils, V2SchemeConstants, V3SchemeConstants). v1 (JAR) signatures are the `jar` detector's, reached
 * through the zip container.
 *
 * The APK Signing Block sits right before the zip central directory:
 *   u64 size_of_block (excluding this field) | pairs: { u64 length, u32 id, value[length-4] } … |
 *   u64 size_of_block | "APK Sig Block 42"
 * v2 (0x7109871a), v3 (0xf05368c0), v3.1 (0x1b93ad61) values are length-prefixed (u32 LE) sequences of signers:
 *   signer = signedData { digests, certificates, [v3: minSdk, maxSdk], attributes }, [v3: minSdk, maxSdk],
 *            signatures { u32 algorithm id, signature }, publicKey (SubjectPublicKeyInfo DER)
 * @module
 */
import { readNode } from '../pkix/der.js';
import { catalogue, type Described } from '../catalogue/index.js';
import { ParseError, rethrowUnlessParseError } from '../errors.js';
import type { DetectContext, ErrorEntry, Finding } from '../model.js';
import { describeSignatureAlgorithm, describeSpki, type KeyInfo } from '../pkix/algorithm.js';
import { certificateFinding, parseCertificate, sha256Hex } from '../pkix/certificate.js';
import type { Detector, DetectResult } from './types.js';

const BLOCK_MAGIC = Buffer.from('APK Sig Block 42', 'latin1');
const EOCD_SIG = 0x06054b50;
const EOCD_MIN = 22;
/** EOCD comment is at most 65535 bytes: the EOCD lies within the last 65557 bytes. */
const EOCD_SEARCH = EOCD_MIN + 0xffff;
/** Pairs, signers, signatures, certificates read from one block; real APKs have a handful. */
const MAX_ITEMS = 256;

const SCHEMES: Record<number, string> = { 0x7109871a: 'v2', 0xf05368c0: 'v3', 0x1b93ad61: 'v3.1' };
/** Other well-known pair ids, named in details so a reader knows what else the block carried. */
const OTHER_PAIRS: Record<number, string> = {
  0x42726577: 'verity padding',
  0x6dff800d: 'source stamp v2',
  0x2b09189e: 'source stamp v1',
  0x504b4453: 'dependency info',
  0x71777777: 'frosting (Play)',
};

/**
 * Signature algorithm ids (apksig SignatureAlgorithm.java) → the X.509 signature OID with the same primitive and
 * hash, so the catalogue names them; `verity` marks the chunked-digest variants (content digest over 4 KiB chunks).
 */
const SIG_ALGS: Record<number, { name: string; oid: string; hash: string; mode?: string; verity?: boolean }> = {
  0x0101: { name: 'RSA_PSS_WITH_SHA256', oid: '1.2.840.113549.1.1.10', hash: 'SHA-256', mode: 'PSS' },
  0x0102: { name: 'RSA_PSS_WITH_SHA512', oid: '1.2.840.113549.1.1.10', hash: 'SHA-512', mode: 'PSS' },
  0x0103: { name: 'RSA_PKCS1_V1_5_WITH_SHA256', oid: '1.2.840.113549.1.1.11', hash: 'SHA-256' },
  0x0104: { name: 'RSA_PKCS1_V1_5_WITH_SHA512', oid: '1.2.840.113549.1.1.13', hash: 'SHA-512' },
  0x0201: { name: 'ECDSA_WITH_SHA256', oid: '1.2.840.10045.4.3.2', hash: 'SHA-256' },
  0x0202: { name: 'ECDSA_WITH_SHA512', oid: '1.2.840.10045.4.3.4', hash: 'SHA-512' },
  0x0301: { name: 'DSA_WITH_SHA256', oid: '2.16.840.1.101.3.4.3.2', hash: 'SHA-256' },
  0x0421: { name: 'VERITY_RSA_PKCS1_V1_5_WITH_SHA256', oid: '1.2.840.113549.1.1.11', hash: 'SHA-256', verity: true },
  0x0423: { name: 'VERITY_ECDSA_WITH_SHA256', oid: '1.2.840.10045.4.3.2', hash: 'SHA-256', verity: true },
  0x0425: { name: 'VERITY_DSA_WITH_SHA256', oid: '2.16.840.1.101.3.4.3.2', hash: 'SHA-256', verity: true },
};

export const apkDetector: Detector = {
  format: 'apk',
  description: 'APK Signature Scheme v2/v3/v3.1 signing blocks: signers, signature algorithms, certificates, public keys',
  // The signing block lies between the zip entries and the central directory: read the archive's own bytes.
  claims: { names: ['*.apk', '*.apks', '*.aab', '*.xapk'], containers: true },
  detect: detectApk,
};

/** A bounds-checked little-endian reader over one region. */
class Slice {
  constructor(
    readonly bytes: Uint8Array,
    public pos: number,
    readonly end: number,
    readonly what: string,
  ) {}
  private need(n: number): void {
    if (n < 0 || this.pos + n > this.end)
      throw new ParseError(`${this.what}: needs ${n} bytes at offset ${this.pos}, ${this.end - this.pos} left`, this.pos, 'truncated');
  }
  u32(): number {
    this.need(4);
    const v = Buffer.from(this.bytes.buffer, this.bytes.byteOffset, this.bytes.byteLength).readUInt32LE(this.pos);
    this.pos += 4;
    return v;
  }
  /** A u32-length-prefixed sub-slice. */
  prefixed(what: string): Slice {
    const len = this.u32();
    this.need(len);
    const s = new Slice(this.bytes, this.pos, this.pos + len, what);
    this.pos += len;
    return s;
  }
  get left(): number {
    return this.end - this.pos;
  }
  /** Iterate a sequence of u32-length-prefixed items. */
  *items(what: string): Generator<Slice> {
    for (let n = 0; this.left > 0; n++) {
      if (n >= MAX_ITEMS) throw new ParseError(`${what}: more than ${MAX_ITEMS} items`, this.pos);
      yield this.prefixed(`${what}[${n}]`);
    }
  }
}

export function detectApk(bytes: Uint8Array, ctx: DetectContext): DetectResult {
  if (bytes.length < 4 || bytes[0] !== 0x50 || bytes[1] !== 0x4b) return { findings: [] };
  const atEnd = ctx.whole || ctx.baseOffset + bytes.length >= ctx.size;
  if (!atEnd) return { findings: [] };
  const buf = Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  // End of central directory record (APPNOTE 4.3.16): the last one in the final 64 KiB + 22 bytes.
  let eocd = -1;
  for (let p = bytes.length - EOCD_MIN; p >= Math.max(0, bytes.length - EOCD_SEARCH); p--) {
    if (buf.readUInt32LE(p) === EOCD_SIG && p + EOCD_MIN + buf.readUInt16LE(p + 20) === bytes.length) {
      eocd = p;
      break;
    }
  }
  if (eocd < 0) throw new ParseError('no zip end-of-central-directory record', Math.max(0, bytes.length - EOCD_MIN), 'truncated');
  const cdAbsolute = buf.readUInt32LE(eocd + 16);
  // APPNOTE 4.4.16: 0xFFFFFFFF defers to the zip64 record; Android refuses zip64 APKs (apksig ZipUtils), so do we.
  if (cdAbsolute === 0xffffffff) throw new ParseError('zip64 APKs are not supported', eocd, 'unsupported');
  const cdOffset = cdAbsolute - ctx.baseOffset;
  if (cdOffset < 0 || cdOffset > eocd) {
    return {
      findings: [],
      errors: [{ code: 'limit-size', message: `central directory at ${cdOffset + ctx.baseOffset} is outside the bytes held in memory`, offset: eocd }],
    };
  }
  if (cdOffset < 32 || !buf.subarray(cdOffset - 16, cdOffset).equals(BLOCK_MAGIC)) {
    return { findings: [], annotations: { 'apk.signingBlock': 'absent' } };
  }
  const sizeFooter = buf.readBigUInt64LE(cdOffset - 24);
  const blockStart = cdOffset - Number(sizeFooter) - 8;
  if (sizeFooter > BigInt(cdOffset) || blockStart < 0 || buf.readBigUInt64LE(blockStart) !== sizeFooter) {
    throw new ParseError(`APK Signing Block size ${sizeFooter} does not match its header`, cdOffset - 24);
  }
  const findings: Finding[] = [];
  const errors: ErrorEntry[] = [];
  const schemes: string[] = [];
  const others: string[] = [];
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  let p = blockStart + 8;
  for (let n = 0; p < cdOffset - 24; n++) {
    if (n >= MAX_ITEMS) throw new ParseError(`APK Signing Block: more than ${MAX_ITEMS} pairs`, p);
    if (p + 12 > cdOffset - 24) throw new ParseError(`APK Signing Block pair ${n} truncated`, p, 'truncated');
    const len = view.getBigUint64(p, true);
    if (len < 4n || len > BigInt(cdOffset - 24 - p - 8)) throw new ParseError(`APK Signing Block pair ${n} at offset ${p} claims ${len} bytes`, p, 'truncated');
    const id = view.getUint32(p + 8, true);
    const valueAt = p + 12;
    const valueEnd = p + 8 + Number(len);
    const scheme = SCHEMES[id];
    if (scheme) {
      schemes.push(scheme);
      try {
        readScheme(new Slice(bytes, valueAt, valueEnd, `${scheme} block`), scheme, findings, errors);
      } catch (e) {
        rethrowUnlessParseError(e);
        errors.push({
          code: e.code === 'truncated' ? 'truncated' : 'malformed',
          message: `${scheme} block at offset ${valueAt}: ${e.message}`,
          offset: valueAt,
        });
      }
    } else {
      others.push(OTHER_PAIRS[id] ?? `0x${id.toString(16).padStart(8, '0')}`);
    }
    p = valueEnd;
  }
  const annotations: Record<string, string> = { 'apk.signingBlock': 'present', 'apk.schemes': schemes.join(',') };
  if (others.length) annotations['apk.otherBlocks'] = others.join(',');
  return { findings, errors, annotations };
}

function readScheme(block: Slice, scheme: string, findings: Finding[], errors: ErrorEntry[]): void {
  const signers = block.prefixed(`${scheme} signers`);
  let i = 0;
  for (const signer of signers.items(`${scheme} signer`)) {
    const path = `${scheme}.signers[${i++}]`;
    try {
      readSigner(signer, scheme, path, findings);
    } catch (e) {
      rethrowUnlessParseError(e);
      errors.push({
        code: e.code === 'truncated' ? 'truncated' : 'malformed',
        message: `${path} at offset ${signer.pos}: ${e.message}`,
        offset: signer.pos,
      });
    }
  }
}

function readSigner(signer: Slice, scheme: string, path: string, findings: Finding[]): void {
  const v3 = scheme !== 'v2';
  const signedData = signer.prefixed('signed data');
  let minSdk: number | undefined;
  let maxSdk: number | undefined;
  if (v3) {
    minSdk = signer.u32();
    maxSdk = signer.u32();
  }
  const signatures = signer.prefixed('signatures');
  const publicKey = signer.prefixed('public key');
  // The public key is a SubjectPublicKeyInfo: it sizes every signature of this signer.
  const spki = readNode(publicKey.bytes, publicKey.pos, publicKey.end);
  const key: KeyInfo = describeSpki(spki);
  const keyFingerprint = sha256Hex(spki.encoded);

  const digests = signedData.prefixed('digests');
  const digestAlgs: string[] = [];
  for (const d of digests.items('digest')) digestAlgs.push(SIG_ALGS[d.u32()]?.name ?? 'unknown');
  const certs = signedData.prefixed('certificates');
  let c = 0;
  const signerCerts: string[] = [];
  for (const cert of certs.items('certificate')) {
    const node = readNode(cert.bytes, cert.pos, cert.end);
    const parsed = parseCertificate(node);
    findings.push(certificateFinding(parsed, 'apk', cert.pos, `${path}.certificates[${c++}]`));
    signerCerts.push(parsed.subject);
  }
  let s = 0;
  for (const sig of signatures.items('signature')) {
    const idAt = sig.pos;
    const algId = sig.u32();
    const value = sig.prefixed('signature value');
    const alg = SIG_ALGS[algId];
    let d: Described;
    if (alg) {
      d = describeSignatureAlgorithm({ oid: alg.oid }, key);
      d.algorithm.hash = alg.hash;
      d.algorithm.name = alg.name;
      if (alg.mode) d.algorithm.mode = alg.mode;
    } else {
      d = catalogue().resolve(undefined, {}, { name: `0x${algId.toString(16).padStart(4, '0')}` });
    }
    findings.push({
      kind: 'signature',
      format: 'apk',
      algorithm: d.algorithm,
      quantum: d.quantum,
      location: { offset: idAt, path: `${path}.signatures[${s++}]` },
      ...(signerCerts[0] ? { subject: signerCerts[0] } : {}),
      fingerprint: keyFingerprint,
      details: {
        scheme,
        signatureAlgorithmId: `0x${algId.toString(16).padStart(4, '0')}`,
        ...(alg?.verity ? { verity: true } : {}),
        signatureLength: value.left,
        publicKey: key.algorithm.id,
        digests: digestAlgs,
        ...(minSdk !== undefined ? { minSdk, maxSdk } : {}),
      },
    });
  }
}
