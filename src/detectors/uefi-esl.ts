/**
 * UEFI signature databases (UEFI Specification 2.10, §32.4.1 "Signature Database"): chains of EFI_SIGNATURE_LIST as
 * stored in the PK, KEK, db, dbx variables, in `.esl` files, inside firmware variable stores (OVMF_VARS.fd), and in
 * `.auth` files, where an EFI_VARIABLE_AUTHENTICATION_2 header (§8.2.2: EFI_TIME, then WIN_CERTIFICATE_UEFI_GUID with
 * CertType EFI_CERT_TYPE_PKCS7_GUID and a PKCS#7 SignedData) precedes the lists.
 *
 *   EFI_SIGNATURE_LIST { EFI_GUID SignatureType; UINT32 SignatureListSize; UINT32 SignatureHeaderSize;
 *                        UINT32 SignatureSize; UINT8 SignatureHeader[]; EFI_SIGNATURE_DATA Signatures[]; }
 *   EFI_SIGNATURE_DATA { EFI_GUID SignatureOwner; UINT8 SignatureData[SignatureSize - 16]; }
 *
 * X.509 entries become certificate findings (at their absolute offsets, so the x509 carver's copies merge), RSA-2048
 * raw moduli become public keys, and hash entries (dbx revocations) are counted, not reported one by one.
 * @module
 */
import { readNode, unsignedBitLength } from '../pkix/der.js';
import { catalogue } from '../catalogue/index.js';
import { ParseError, rethrowUnlessParseError } from '../errors.js';
import type { DetectContext, ErrorEntry, Finding } from '../model.js';
import { MAX_OBJECTS_PER_ARTIFACT } from '../limits.js';
import { certificateFinding, parseCertificate, sha256Hex } from '../pkix/certificate.js';
import type { Detector, DetectResult } from './types.js';
import { EFI_CERT_TYPE_PKCS7_GUID, guidBytes, guidString, readUefiPkcs7, WIN_CERT_TYPE_EFI_GUID } from './_uefi.js';

/** UEFI §32.4.1 signature types: name, and for hashes the digest they hold. */
const SIGNATURE_TYPES: Record<string, { name: string; kind: 'x509' | 'rsa2048' | 'hash' | 'x509-hash'; hash?: string; size?: number }> = {
  'a5c059a1-94e4-4aa7-87b5-ab155c2bf072': { name: 'EFI_CERT_X509_GUID', kind: 'x509' },
  '3c5766e8-269c-4e34-aa14-ed776e85b3b6': { name: 'EFI_CERT_RSA2048_GUID', kind: 'rsa2048', size: 256 },
  'e2b36190-879b-4a3d-ad8d-f2e7bba32784': { name: 'EFI_CERT_RSA2048_SHA256_GUID', kind: 'hash', hash: 'SHA-256', size: 256 },
  '67f8444f-8743-48f1-a328-1eaab8736080': { name: 'EFI_CERT_RSA2048_SHA1_GUID', kind: 'hash', hash: 'SHA-1', size: 256 },
  'c1c41626-504c-4092-aca9-41f936934328': { name: 'EFI_CERT_SHA256_GUID', kind: 'hash', hash: 'SHA-256', size: 32 },
  '826ca512-cf10-4ac9-b187-be01496631bd': { name: 'EFI_CERT_SHA1_GUID', kind: 'hash', hash: 'SHA-1', size: 20 },
  '0b6e5233-a65c-44c9-9407-d9ab83bfc8bd': { name: 'EFI_CERT_SHA224_GUID', kind: 'hash', hash: 'SHA-224', size: 28 },
  'ff3e5307-9fd0-48c9-85f1-8ad56c701e01': { name: 'EFI_CERT_SHA384_GUID', kind: 'hash', hash: 'SHA-384', size: 48 },
  '093e0fae-a6c4-4f50-9f1b-d41e2b89c19a': { name: 'EFI_CERT_SHA512_GUID', kind: 'hash', hash: 'SHA-512', size: 64 },
  '3bd2a492-96c0-4079-b420-fcf98ef103ed': { name: 'EFI_CERT_X509_SHA256_GUID', kind: 'x509-hash', hash: 'SHA-256', size: 48 },
  '7076876e-80c2-4ee6-aad2-28b349a6865b': { name: 'EFI_CERT_X509_SHA384_GUID', kind: 'x509-hash', hash: 'SHA-384', size: 64 },
  '446dbf63-2502-4cda-bcfa-2465d2b0fe9d': { name: 'EFI_CERT_X509_SHA512_GUID', kind: 'x509-hash', hash: 'SHA-512', size: 80 },
};
const ESL_HEADER = 28;
/** Lists walked in one chain; a db holds a handful, a dbx a few dozen. */
const MAX_LISTS = 4096;

const TYPE_BYTES = Object.entries(SIGNATURE_TYPES).map(([g, t]) => ({ bytes: guidBytes(g), guid: g, ...t }));
// Carving inside variable stores starts only at the common list types: X.509 (PK/KEK/db) and SHA-256 (dbx); a chain
// found that way is then followed through lists of any type.
const CARVE_TYPES = TYPE_BYTES.filter((t) => t.name === 'EFI_CERT_X509_GUID' || t.name === 'EFI_CERT_SHA256_GUID');

export const uefiEslDetector: Detector = {
  format: 'uefi-esl',
  description: 'UEFI signature lists (PK/KEK/db/dbx, .esl, .auth, firmware variable stores): certificates, RSA-2048 keys, revoked hashes',
  claims: {
    names: ['*.esl', '*.auth', '*.siglist'],
    contains: CARVE_TYPES.map((t) => t.bytes.toString('latin1')),
  },
  detect: detectUefiEsl,
};

interface Tally {
  lists: number;
  hashes: Record<string, number>;
}

export function detectUefiEsl(bytes: Uint8Array, ctx: DetectContext): DetectResult {
  const findings: Finding[] = [];
  const errors: ErrorEntry[] = [];
  const tally: Tally = { lists: 0, hashes: {} };
  const buf = Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  let start = 0;
  const named = /\.(auth|esl|siglist)$/i.test(ctx.name) && ctx.baseOffset === 0;
  if (named && /\.auth$/i.test(ctx.name)) {
    start = readAuthHeader(bytes, ctx, findings, errors);
  }
  if (named) {
    // A file named as a list must be one chain from `start` to its end.
    const end = walkChain(bytes, start, ctx, findings, errors, tally, true);
    if (end < bytes.length && errors.length === 0) {
      errors.push({
        code: 'malformed',
        message: `${bytes.length - end} trailing bytes after the signature lists at offset ${end}`,
        offset: end,
      });
    }
  } else {
    // Carve: every plausible list header of a common type starts a chain (variable stores hold several).
    const starts: number[] = [];
    for (const t of CARVE_TYPES) {
      for (let at = buf.indexOf(t.bytes); at >= 0 && starts.length < MAX_LISTS; at = buf.indexOf(t.bytes, at + 1)) {
        if (plausibleList(bytes, at)) starts.push(at);
      }
    }
    // In offset order, so a chain is walked once from its first list and the lists inside it are not walked again.
    let covered = 0;
    for (const at of starts.sort((a, b) => a - b)) {
      if (at < covered || findings.length >= MAX_OBJECTS_PER_ARTIFACT) continue;
      covered = walkChain(bytes, at, ctx, findings, errors, tally, false);
    }
  }
  const annotations: Record<string, string> = {};
  if (tally.lists > 0) {
    annotations['uefi.esl.lists'] = String(tally.lists);
    for (const [h, n] of Object.entries(tally.hashes)) annotations[`uefi.esl.hashes.${h}`] = String(n);
  }
  return { findings, errors, annotations };
}

/** EFI_VARIABLE_AUTHENTICATION_2: EFI_TIME (16) + WIN_CERTIFICATE_UEFI_GUID { Hdr (8), CertType (16), CertData }. */
function readAuthHeader(bytes: Uint8Array, ctx: DetectContext, findings: Finding[], errors: ErrorEntry[]): number {
  if (bytes.length < 16 + 24) throw new ParseError('too short for EFI_VARIABLE_AUTHENTICATION_2', 0, 'truncated');
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const length = view.getUint32(16, true);
  const type = view.getUint16(22, true);
  if (type !== WIN_CERT_TYPE_EFI_GUID || !Buffer.from(bytes.subarray(24, 40)).equals(EFI_CERT_TYPE_PKCS7_GUID)) {
    throw new ParseError('not an EFI_VARIABLE_AUTHENTICATION_2 header (WIN_CERT_TYPE_EFI_GUID with EFI_CERT_TYPE_PKCS7_GUID)', 16);
  }
  const end = 16 + length;
  if (length < 24 || end > bytes.length) throw new ParseError(`WIN_CERTIFICATE dwLength ${length} runs past the end`, 16, 'truncated');
  const year = view.getUint16(0, true);
  const time = `${String(year).padStart(4, '0')}-${pad(bytes[2])}-${pad(bytes[3])}T${pad(bytes[4])}:${pad(bytes[5])}:${pad(bytes[6])}Z`;
  const cms = readUefiPkcs7(bytes, 40, end, 'uefi-esl', 'EFI_VARIABLE_AUTHENTICATION_2');
  for (const f of cms.findings) {
    f.location.path = `authentication.${f.location.path ?? ''}`;
    if (f.kind === 'signature') {
      f.created ??= time;
      f.details = { ...f.details, role: 'variable-authentication', timeStamp: time };
    }
    findings.push(f);
  }
  for (const e of cms.errors) errors.push({ ...e, message: e.message.startsWith('PKCS#7 in') ? e.message : `authentication: ${e.message}` });
  return end;
}

function pad(n: number): string {
  return String(n).padStart(2, '0');
}

function knownType(bytes: Uint8Array, at: number) {
  const b = Buffer.from(bytes.buffer, bytes.byteOffset + at, 16);
  return TYPE_BYTES.find((t) => t.bytes.equals(b));
}

/** Header sanity before carving: sizes consistent with the type and the buffer. */
function plausibleList(bytes: Uint8Array, at: number): boolean {
  if (at + ESL_HEADER > bytes.length) return false;
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const listSize = view.getUint32(at + 16, true);
  const headerSize = view.getUint32(at + 20, true);
  const sigSize = view.getUint32(at + 24, true);
  const t = knownType(bytes, at);
  if (!t || sigSize <= 16 || listSize < ESL_HEADER + headerSize + sigSize || at + listSize > bytes.length) return false;
  if ((listSize - ESL_HEADER - headerSize) % sigSize !== 0) return false;
  return t.size === undefined || sigSize === 16 + t.size;
}

/** Walk consecutive lists from `at`; returns the offset after the last list read. */
function walkChain(bytes: Uint8Array, at: number, ctx: DetectContext, findings: Finding[], errors: ErrorEntry[], tally: Tally, strict: boolean): number {
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  let off = at;
  for (let n = 0; n < MAX_LISTS && off + ESL_HEADER <= bytes.length; n++) {
    const t = knownType(bytes, off);
    if (!strict && (!t || !plausibleList(bytes, off))) break;
    const listSize = view.getUint32(off + 16, true);
    const headerSize = view.getUint32(off + 20, true);
    const sigSize = view.getUint32(off + 24, true);
    if (sigSize <= 16 || listSize < ESL_HEADER + headerSize || off + listSize > bytes.length || (listSize - ESL_HEADER - headerSize) % sigSize !== 0) {
      errors.push({
        code: off + listSize > bytes.length ? 'truncated' : 'malformed',
        message: `EFI_SIGNATURE_LIST at offset ${off}: SignatureListSize ${listSize}, SignatureHeaderSize ${headerSize}, SignatureSize ${sigSize} do not fit the ${bytes.length - off} bytes left`,
        offset: off,
      });
      return bytes.length;
    }
    tally.lists++;
    const typeGuid = guidString(bytes.subarray(off, off + 16));
    const count = (listSize - ESL_HEADER - headerSize) / sigSize;
    for (let i = 0, e = off + ESL_HEADER + headerSize; i < count; i++, e += sigSize) {
      const owner = guidString(bytes.subarray(e, e + 16));
      const data = e + 16;
      const path = `signatureList[${n}].signatures[${i}]`;
      const details = { signatureType: t?.name ?? typeGuid, owner };
      if (!t) continue;
      if (t.kind === 'hash' || t.kind === 'x509-hash') {
        tally.hashes[t.name] = (tally.hashes[t.name] ?? 0) + 1;
      } else if (t.kind === 'x509') {
        try {
          const cert = parseCertificate(readNode(bytes, data, e + sigSize));
          const f = certificateFinding(cert, 'uefi-esl', data, path);
          f.details = { ...f.details, ...details };
          findings.push(f);
        } catch (err) {
          rethrowUnlessParseError(err);
          errors.push({ code: 'malformed', message: `${path} (EFI_CERT_X509) at offset ${data}: ${err.message}`, offset: data });
        }
      } else if (t.kind === 'rsa2048') {
        // EFI_CERT_RSA2048: a 2048-bit modulus, big-endian; the exponent is 65537 by definition.
        const modulus = bytes.subarray(data, e + sigSize);
        const d = catalogue().forKey('RSA', unsignedBitLength(modulus));
        findings.push({
          kind: 'public-key',
          format: 'uefi-esl',
          algorithm: d.algorithm,
          quantum: d.quantum,
          location: { offset: data, path },
          fingerprint: sha256Hex(modulus),
          details,
        });
      }
    }
    off += listSize;
  }
  return off;
}
