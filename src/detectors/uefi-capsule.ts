/**
 * Signed UEFI firmware-management capsules (UEFI Specification 2.10, §23.3 "Delivering capsules containing updates to
 * Firmware Management Protocol"), as LVFS cabinets, fwupd and U-Boot's mkeficapsule carry them:
 *
 *   EFI_CAPSULE_HEADER { EFI_GUID CapsuleGuid (EFI_FIRMWARE_MANAGEMENT_CAPSULE_ID_GUID); UINT32 HeaderSize, Flags,
 *                        CapsuleImageSize; }
 *   EFI_FIRMWARE_MANAGEMENT_CAPSULE_HEADER (at HeaderSize) { UINT32 Version; UINT16 EmbeddedDriverCount,
 *                        PayloadItemCount; UINT64 ItemOffsetList[drivers + payloads]; }  (offsets from this header)
 *   EFI_FIRMWARE_MANAGEMENT_CAPSULE_IMAGE_HEADER { UINT32 Version; EFI_GUID UpdateImageTypeId; UINT8 UpdateImageIndex;
 *                        UINT8 reserved[3]; UINT32 UpdateImageSize, UpdateVendorCodeSize; v2+: UINT64
 *                        UpdateHardwareInstance; v3: UINT64 ImageCapsuleSupport; }
 *   then the image; an authenticated image opens with EFI_FIRMWARE_IMAGE_AUTHENTICATION { UINT64 MonotonicCount;
 *                        WIN_CERTIFICATE_UEFI_GUID AuthInfo (CertType EFI_CERT_TYPE_PKCS7_GUID, a PKCS#7 SignedData) }.
 *
 * Each payload's signature (and the certificates its SignedData carries) is a finding; an unsigned payload is none.
 * @module
 */
import { ParseError } from '../errors.js';
import type { DetectContext, ErrorEntry, Finding } from '../model.js';
import type { Detector, DetectResult } from './types.js';
import { EFI_CERT_TYPE_PKCS7_GUID, guidBytes, guidString, readUefiPkcs7, WIN_CERT_TYPE_EFI_GUID } from './_uefi.js';

const FMP_CAPSULE_GUID = guidBytes('6dcbd5ed-e82d-4c44-bda1-7194199ad92a');
/** Image header sizes by version: v1 ends after UpdateVendorCodeSize, v2 adds UpdateHardwareInstance, v3 ImageCapsuleSupport. */
const IMAGE_HEADER_BYTES: Record<number, number> = { 1: 32, 2: 40, 3: 48 };
/** Payloads read per capsule; real capsules hold one or a few. */
const MAX_ITEMS = 64;

export const uefiCapsuleDetector: Detector = {
  format: 'uefi-capsule',
  description: "UEFI firmware-management capsules (fwupd/LVFS, mkeficapsule): each payload's PKCS#7 authentication and its certificates",
  claims: { magic: [{ offset: 0, bytes: [...FMP_CAPSULE_GUID] }], names: ['*.cap', '*.capsule'] },
  detect: detectUefiCapsule,
};

export function detectUefiCapsule(bytes: Uint8Array, _ctx: DetectContext): DetectResult {
  if (bytes.length < 28 || !Buffer.from(bytes.subarray(0, 16)).equals(FMP_CAPSULE_GUID)) return { findings: [] };
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const headerSize = view.getUint32(16, true);
  const imageSize = view.getUint32(24, true);
  const end = Math.min(bytes.length, imageSize || bytes.length);
  if (headerSize < 28 || headerSize + 8 > end) throw new ParseError(`capsule HeaderSize ${headerSize} runs past the image`, 16, 'truncated');
  const fmp = headerSize;
  const drivers = view.getUint16(fmp + 4, true);
  const payloads = view.getUint16(fmp + 6, true);
  const findings: Finding[] = [];
  const errors: ErrorEntry[] = [];
  const annotations: Record<string, string> = { 'uefi.capsule.payloads': String(payloads) };
  if (payloads > MAX_ITEMS)
    errors.push({ code: 'limit-entries', message: `capsule lists ${payloads} payloads; the first ${MAX_ITEMS} were read (limit)`, offset: fmp + 6 });
  for (let i = 0; i < Math.min(payloads, MAX_ITEMS); i++) {
    const slot = fmp + 8 + (drivers + i) * 8;
    if (slot + 8 > end) {
      errors.push({ code: 'truncated', message: `ItemOffsetList[${drivers + i}] runs past the image`, offset: slot });
      break;
    }
    const at = fmp + Number(view.getBigUint64(slot, true));
    const problem = readPayload(bytes, view, at, end, i, findings, errors);
    if (problem) errors.push(problem);
  }
  return { findings, errors, annotations };
}

/** One payload: its image header, then EFI_FIRMWARE_IMAGE_AUTHENTICATION when the image is signed. */
function readPayload(bytes: Uint8Array, view: DataView, at: number, end: number, i: number, findings: Finding[], errors: ErrorEntry[]): ErrorEntry | undefined {
  const path = `payload[${i}]`;
  if (at + 4 > end) return { code: 'truncated', message: `${path} header at offset ${at} runs past the image`, offset: at };
  const version = view.getUint32(at, true);
  const headerBytes = IMAGE_HEADER_BYTES[version];
  if (!headerBytes) return { code: 'unsupported', message: `${path}: image header version ${version}`, offset: at };
  if (at + headerBytes > end) return { code: 'truncated', message: `${path} header at offset ${at} runs past the image`, offset: at };
  const typeId = guidString(bytes.subarray(at + 4, at + 20));
  const index = bytes[at + 20];
  const image = at + headerBytes;
  const imageEnd = Math.min(end, image + view.getUint32(at + 24, true));
  // EFI_FIRMWARE_IMAGE_AUTHENTICATION: MonotonicCount (8), then WIN_CERTIFICATE { dwLength, wRevision, wCertificateType }.
  const cert = image + 8;
  if (cert + 24 > imageEnd) return undefined;
  const length = view.getUint32(cert, true);
  const type = view.getUint16(cert + 6, true);
  if (type !== WIN_CERT_TYPE_EFI_GUID || !Buffer.from(bytes.subarray(cert + 8, cert + 24)).equals(EFI_CERT_TYPE_PKCS7_GUID)) return undefined; // not signed
  if (length < 24 || cert + length > imageEnd) {
    return { code: 'truncated', message: `${path}: WIN_CERTIFICATE dwLength ${length} runs past the payload`, offset: cert };
  }
  const monotonicCount = view.getBigUint64(image, true).toString();
  const cms = readUefiPkcs7(bytes, cert + 24, cert + length, 'uefi-capsule', `${path} EFI_FIRMWARE_IMAGE_AUTHENTICATION`);
  for (const f of cms.findings) {
    f.location.path = `${path}.authentication.${f.location.path ?? ''}`;
    if (f.kind === 'signature')
      f.details = { ...f.details, role: 'capsule-authentication', updateImageTypeId: typeId, updateImageIndex: index, monotonicCount };
    findings.push(f);
  }
  for (const e of cms.errors) errors.push({ ...e, message: `${path}: ${e.message}` });
  return undefined;
}
