/**
 * UEFI structures shared by the detectors that read UEFI authentication (uefi-esl's EFI_VARIABLE_AUTHENTICATION_2,
 * uefi-capsule's EFI_FIRMWARE_IMAGE_AUTHENTICATION): EFI_GUID byte order and WIN_CERTIFICATE_UEFI_GUID with
 * CertType EFI_CERT_TYPE_PKCS7_GUID (UEFI Specification 2.10, §32.2.4), whose CertData is a PKCS#7 SignedData.
 * @module
 */
import { readNode } from '../pkix/der.js';
import { ctxCons, oid, seq } from '../pkix/der-writer.js';
import { CONTENT_TYPE } from '../pkix/cms.js';
import { rethrowUnlessParseError } from '../errors.js';
import type { ErrorEntry, Finding } from '../model.js';
import { parseCms } from './cms.js';

/** EFI_GUID as it appears in memory: Data1..Data3 little-endian, Data4 as bytes (UEFI §Appendix A). */
export function guidBytes(guid: string): Buffer {
  const h = guid.replace(/-/g, '');
  const le = (s: string) => Buffer.from(s, 'hex').reverse();
  return Buffer.concat([le(h.slice(0, 8)), le(h.slice(8, 12)), le(h.slice(12, 16)), Buffer.from(h.slice(16), 'hex')]);
}

export function guidString(b: Uint8Array): string {
  const x = Buffer.from(b);
  const hex = (s: Buffer) => s.toString('hex');
  return `${hex(Buffer.from(x.subarray(0, 4)).reverse())}-${hex(Buffer.from(x.subarray(4, 6)).reverse())}-${hex(Buffer.from(x.subarray(6, 8)).reverse())}-${hex(x.subarray(8, 10))}-${hex(x.subarray(10, 16))}`;
}

export const EFI_CERT_TYPE_PKCS7_GUID = guidBytes('4aafd29d-68df-49ee-8aa9-347d375665a7');
export const WIN_CERT_TYPE_EFI_GUID = 0x0ef1;

/**
 * The PKCS#7 CertData of a WIN_CERTIFICATE_UEFI_GUID at `bytes[start, end)`, read by the CMS walker with offsets in
 * `bytes`. UEFI says SignedData (§8.2.2, as efitools' sign-efi-sig-list writes it); edk2 also accepts a full
 * ContentInfo (as U-Boot's mkeficapsule writes it): a bare SignedData is wrapped in ContentInfo { signedData, [0] EXPLICIT … } to be read, and its offsets mapped back.
 * A malformed blob is an error entry, not a throw: the structure around it is still reported.
 */
export function readUefiPkcs7(bytes: Uint8Array, start: number, end: number, format: string, what: string): { findings: Finding[]; errors: ErrorEntry[] } {
  try {
    const node = readNode(bytes, start, end);
    if (node.children()[0]?.tag === 0x06) return parseCms(node, { format });
    const wrapped = seq(oid(CONTENT_TYPE.signedData), ctxCons(0, bytes.subarray(start, node.end)));
    const cms = parseCms(wrapped, { format });
    // The SignedData starts at `start` in `bytes` and after the wrapper's header in `wrapped`.
    const shift = start - (wrapped.length - (node.end - start));
    for (const f of cms.findings) if (f.location.offset !== undefined) f.location.offset += shift;
    return cms;
  } catch (e) {
    rethrowUnlessParseError(e);
    return { findings: [], errors: [{ code: 'malformed', message: `PKCS#7 in ${what}: ${e.message}`, offset: start }] };
  }
}
