/**
 * Authenticode signatures in PE/COFF images (EXE, DLL, SYS, EFI applications and drivers, signed kernels,
 * option ROM images): Microsoft PE/COFF Specification §4 (optional header data directories) and §5.7 ("The Attribute
 * Certificate Table"), and "Windows Authenticode Portable Executable Signature Format" (SpcIndirectDataContent).
 *
 * The security data directory (IMAGE_DIRECTORY_ENTRY_SECURITY, index 4) holds a *file offset* (not an RVA) to a table
 * of WIN_CERTIFICATE entries, each 8-byte aligned; shim carries two. Each PKCS#7 SignedData goes through the shared
 * CMS walker (cms.ts: signers, their chain, countersignatures, RFC 3161 tokens, nested signatures 1.3.6.1.4.1.311.2.4.1);
 * this module adds the PE framing and the digest algorithm that SpcIndirectDataContent binds the image with.
 * @module
 */
import { readNode, TAG, type DerNode } from '../pkix/der.js';
import { catalogue } from '../catalogue/index.js';
import { ParseError, rethrowUnlessParseError } from '../errors.js';
import type { DetectContext, ErrorEntry, Finding } from '../model.js';
import { parseCms } from './cms.js';
import { readAlgorithmIdentifier } from '../pkix/algorithm.js';
import { type ParsedCertificate } from '../pkix/certificate.js';
import type { Detector, DetectResult } from './types.js';

/** PE/COFF §5.7: wCertificateType values. */
const WIN_CERT_TYPE: Record<number, string> = {
  0x0001: 'X509',
  0x0002: 'PKCS_SIGNED_DATA',
  0x0003: 'RESERVED_1',
  0x0004: 'TS_STACK_SIGNED',
  0x0ef1: 'EFI_GUID',
};
const WIN_CERT_TYPE_PKCS_SIGNED_DATA = 0x0002;
/** A table with more entries than this is hostile: real images carry one or two. */
const MAX_WIN_CERTIFICATES = 64;
/** SPC_INDIRECT_DATA_OBJID: the eContentType of an Authenticode SignedData. */
const SPC_INDIRECT_DATA = '1.3.6.1.4.1.311.2.1.4';

export interface PeHeaders {
  /** Offset of the "PE\0\0" signature. */
  peOffset: number;
  machine: number;
  /** 0x10b PE32, 0x20b PE32+. */
  magic: number;
  subsystem: number;
  /** Attribute certificate table: file offset and size (0/0 when unsigned). */
  security: { offset: number; size: number };
}

/** Read the headers needed to find the certificate table, checking every offset against the buffer. */
export function readPeHeaders(bytes: Uint8Array): PeHeaders {
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  if (bytes.length < 0x40 || bytes[0] !== 0x4d || bytes[1] !== 0x5a) throw new ParseError('no MZ header');
  const peOffset = view.getUint32(0x3c, true);
  // COFF file header is 20 bytes after the 4-byte signature; the optional header follows.
  if (peOffset + 24 + 2 > bytes.length)
    throw new ParseError(`e_lfanew 0x${peOffset.toString(16)} points past the end (${bytes.length} bytes)`, 0x3c, 'truncated');
  if (view.getUint32(peOffset, false) !== 0x50450000) throw new ParseError(`no PE signature at e_lfanew 0x${peOffset.toString(16)}`, peOffset);
  const machine = view.getUint16(peOffset + 4, true);
  const optSize = view.getUint16(peOffset + 20, true);
  const opt = peOffset + 24;
  const magic = view.getUint16(opt, true);
  if (magic !== 0x10b && magic !== 0x20b) throw new ParseError(`unknown optional header magic 0x${magic.toString(16)}`, opt);
  // PE/COFF §3.4: NumberOfRvaAndSizes at 92 (PE32) / 108 (PE32+), the data directories right after it.
  const countAt = opt + (magic === 0x10b ? 92 : 108);
  const dirs = countAt + 4;
  if (dirs > bytes.length || countAt + 4 > opt + optSize) throw new ParseError('optional header truncated before the data directories', opt, 'truncated');
  const subsystem = view.getUint16(opt + 68, true);
  const count = view.getUint32(countAt, true);
  let security = { offset: 0, size: 0 };
  // IMAGE_DIRECTORY_ENTRY_SECURITY is index 4; each directory is { VirtualAddress u32, Size u32 }.
  if (count > 4 && dirs + 5 * 8 <= Math.min(bytes.length, opt + optSize)) {
    security = { offset: view.getUint32(dirs + 4 * 8, true), size: view.getUint32(dirs + 4 * 8 + 4, true) };
  }
  return { peOffset, machine, magic, subsystem, security };
}

export const authenticodeDetector: Detector = {
  format: 'authenticode',
  description: 'Authenticode signatures in PE/COFF and EFI images: every WIN_CERTIFICATE, signers, chains, nested signatures, timestamps',
  claims: {
    magic: [{ offset: 0, bytes: [0x4d, 0x5a] }],
    names: ['*.efi', '*.efi.signed', '*.exe', '*.dll', '*.sys', 'vmlinuz*'],
  },
  detect: detectAuthenticode,
};

export function detectAuthenticode(bytes: Uint8Array, ctx: DetectContext): DetectResult {
  // Named like a PE but not one (a vmlinuz for another arch, a text file): nothing to say.
  if (ctx.baseOffset !== 0 || bytes.length < 2 || bytes[0] !== 0x4d || bytes[1] !== 0x5a) return { findings: [] };
  const pe = readPeHeaders(bytes);
  const annotations: Record<string, string> = {};
  if (pe.security.size === 0) {
    annotations['authenticode.signed'] = 'false';
    return { findings: [], annotations };
  }
  const { offset: tableOffset, size: tableSize } = pe.security;
  const end = tableOffset + tableSize;
  // ctx.size is 0 when a stream did not say how long it is: then only the bytes at hand can be checked.
  const size = ctx.whole ? bytes.length : ctx.size;
  if ((size > 0 && end > size) || tableOffset < pe.peOffset) {
    throw new ParseError(
      `security directory [0x${tableOffset.toString(16)}, +0x${tableSize.toString(16)}) lies outside the ${size}-byte image`,
      pe.peOffset,
      size > 0 && size < end ? 'truncated' : 'malformed',
    );
  }
  if (end > bytes.length) {
    // The engine holds artifacts up to WHOLE_READ_LIMIT whole; a larger PE has its table beyond this window.
    return {
      findings: [],
      errors: [
        {
          code: 'limit-size',
          message: `certificate table at 0x${tableOffset.toString(16)} lies beyond the bytes held in memory`,
          offset: tableOffset,
        },
      ],
    };
  }
  const findings: Finding[] = [];
  const errors: ErrorEntry[] = [];
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const known: ParsedCertificate[] = [];
  let entry = 0;
  // PE/COFF §5.7: WIN_CERTIFICATE { dwLength u32 (header included), wRevision u16, wCertificateType u16, bCertificate[] },
  // each entry starting on an 8-byte boundary relative to the table.
  for (let off = tableOffset; off + 8 <= end; entry++) {
    if (entry >= MAX_WIN_CERTIFICATES) {
      errors.push({ code: 'limit-entries', message: `more than ${MAX_WIN_CERTIFICATES} WIN_CERTIFICATE entries`, offset: off });
      break;
    }
    const length = view.getUint32(off, true);
    const revision = view.getUint16(off + 4, true);
    const type = view.getUint16(off + 6, true);
    if (length < 8 || off + length > end) {
      errors.push({
        code: length < 8 ? 'malformed' : 'truncated',
        message: `WIN_CERTIFICATE ${entry} at 0x${off.toString(16)} has dwLength ${length}, table ends at 0x${end.toString(16)}`,
        offset: off,
      });
      break;
    }
    const path = `certificateTable[${entry}]`;
    if (type !== WIN_CERT_TYPE_PKCS_SIGNED_DATA) {
      errors.push({
        code: 'unsupported',
        message: `${path} has certificate type ${WIN_CERT_TYPE[type] ?? `0x${type.toString(16)}`}`,
        offset: off,
      });
    } else {
      try {
        const node = readNode(bytes, off + 8, off + length);
        const spcs = spcDigests(bytes, node);
        const cms = parseCms(node, { format: 'authenticode', extraCertificates: known });
        known.push(...cms.certificates.filter((c) => !known.includes(c)));
        for (const f of cms.findings) {
          f.location.path = `${path}.${f.location.path ?? ''}`;
          if (f.kind === 'signature') {
            f.details = {
              ...f.details,
              winCertificate: { index: entry, revision: `0x${revision.toString(16)}`, offset: off },
              ...(f.details?.contentType === SPC_INDIRECT_DATA ? imageDigest(spcs, f.location.offset) : {}),
              role: signatureRole(f.location.path),
            };
          }
          findings.push(f);
        }
        for (const e of cms.errors) errors.push({ ...e, message: `${path}: ${e.message}` });
      } catch (e) {
        rethrowUnlessParseError(e);
        errors.push({
          code: e.code === 'truncated' ? 'truncated' : 'malformed',
          message: `${path} at 0x${off.toString(16)}: ${e.message}`,
          offset: off,
        });
      }
    }
    off += (length + 7) & ~7;
  }
  const signatures = findings.filter((f) => f.kind === 'signature' && f.details?.role === 'image');
  annotations['authenticode.signed'] = signatures.length > 0 ? 'true' : 'false';
  annotations['authenticode.signatures'] = String(signatures.length);
  return { findings, errors, annotations };
}

/** Which signature this is: the image's own (outer or nested) or a timestamp / countersignature over one. */
function signatureRole(path: string): string {
  const last = path
    .split('.')
    .filter((p) => /^(countersignature|timeStampToken|msTimestamp|nestedSignature)\[/.test(p))
    .pop();
  if (!last) return 'image';
  if (last.startsWith('nestedSignature')) return 'image';
  return 'timestamp';
}

/** DER of SPC_INDIRECT_DATA_OBJID (1.3.6.1.4.1.311.2.1.4), as it appears in every encapContentInfo that holds one. */
const SPC_OID_DER = Buffer.from([0x06, 0x0a, 0x2b, 0x06, 0x01, 0x04, 0x01, 0x82, 0x37, 0x02, 0x01, 0x04]);

interface SpcDigest {
  offset: number;
  algorithm: string;
}

/**
 * The digest algorithm each image hash was computed with. encapContentInfo ::= SEQUENCE { eContentType
 * SPC_INDIRECT_DATA, [0] SpcIndirectDataContent ::= SEQUENCE { data SpcAttributeTypeAndOptionalValue, messageDigest
 * DigestInfo { digestAlgorithm, digest } } }. Outer and nested signatures each have one; a SignerInfo belongs to the
 * nearest SpcIndirectDataContent before it, since RFC 5652 §5.1 orders encapContentInfo before signerInfos.
 */
function spcDigests(bytes: Uint8Array, blob: DerNode): SpcDigest[] {
  const buf = Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const out: SpcDigest[] = [];
  for (let at = buf.indexOf(SPC_OID_DER, blob.start); at >= 0 && at < blob.end && out.length < MAX_WIN_CERTIFICATES; at = buf.indexOf(SPC_OID_DER, at + 1)) {
    try {
      const wrapped = readNode(bytes, at + SPC_OID_DER.length, blob.end);
      if (!wrapped.isContext(0)) continue;
      // PKCS#7 v1.5 puts the SEQUENCE directly in [0]; a CMS writer may wrap it in an OCTET STRING.
      let spc = wrapped.inner();
      if (spc.tag === TAG.OCTET_STRING) spc = spc.inner();
      const alg = readAlgorithmIdentifier(spc.child(1, 'messageDigest').child(0, 'digestAlgorithm'));
      out.push({ offset: at, algorithm: catalogue().hashName(alg.oid) ?? alg.oid });
    } catch (e) {
      rethrowUnlessParseError(e);
      // An OID that happens to appear elsewhere (an extension value): not an encapContentInfo.
    }
  }
  return out;
}

function imageDigest(spcs: SpcDigest[], signerOffset: number | undefined): { imageDigestAlgorithm?: string } {
  if (signerOffset === undefined) return {};
  const before = spcs.filter((s) => s.offset < signerOffset).pop();
  return before ? { imageDigestAlgorithm: before.algorithm } : {};
}
