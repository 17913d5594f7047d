/**
 * X.509 certificates (RFC 5280): PEM (single, bundles, chains, OpenSSL TRUSTED CERTIFICATE), DER, and DER
 * certificates carved out of any binary blob (firmware images, executables, databases) at any offset.
 * @module
 */
import { readNode, TAG } from '../asn1/der.js';
import type { DetectContext, ErrorEntry, Finding } from '../model.js';
import { MAX_OBJECTS_PER_ARTIFACT } from '../limits.js';
import { findPemBlocks } from './_pem.js';
import { certificateFinding, parseCertificate } from './_pkix.js';
import type { Detector, DetectResult } from './types.js';

const CERT_LABELS = new Set(['CERTIFICATE', 'X509 CERTIFICATE', 'TRUSTED CERTIFICATE', 'X.509 CERTIFICATE']);

export const x509Detector: Detector = {
  format: 'x509',
  description: 'X.509 certificates: PEM, DER, bundles, and DER certificates embedded at any offset',
  claims: {
    names: ['*.crt', '*.cer', '*.der', '*.pem'],
    contains: ['-----BEGIN CERTIFICATE', '-----BEGIN X509 CERTIFICATE', '-----BEGIN TRUSTED CERTIFICATE'],
    // The carver: any blob may hold a DER certificate. Cheap on bytes without 0x30 0x82.
    anywhere: true,
  },
  detect: detectX509,
};

export function detectX509(bytes: Uint8Array, ctx: DetectContext): DetectResult {
  const findings: Finding[] = [];
  const errors: ErrorEntry[] = [];
  for (const block of findPemBlocks(bytes, (l) => CERT_LABELS.has(l))) {
    if (block.error) {
      errors.push({ code: 'malformed', message: `${ctx.uri}: x509: ${block.error} at offset ${block.offset}`, offset: block.offset });
      continue;
    }
    try {
      // TRUSTED CERTIFICATE carries OpenSSL trust settings after the certificate: allow trailing data.
      const node = readNode(block.der, 0, block.der.length);
      findings.push(certificateFinding(parseCertificate(node), 'x509', block.offset));
    } catch (e) {
      errors.push({ code: 'malformed', message: `${ctx.uri}: x509: PEM certificate at offset ${block.offset}: ${(e as Error).message}`, offset: block.offset });
    }
  }
  findings.push(...carveCertificates(bytes, ctx));
  // A file that claims to be a certificate by name but yields nothing deserves an explanation.
  if (findings.length === 0 && errors.length === 0 && ctx.whole && /\.(crt|cer|der)$/i.test(ctx.name) && bytes.length > 0) {
    errors.push({ code: 'malformed', message: `${ctx.uri}: x509: named like a certificate but holds no parseable certificate` });
  }
  return { findings, errors };
}

/**
 * Find DER certificates at any offset. A candidate is `30 82 LL LL 30 8x …` (Certificate, then TBSCertificate) whose
 * lengths nest exactly and which parses as a certificate; anything else is skipped silently (binary noise is normal).
 */
export function carveCertificates(bytes: Uint8Array, _ctx: Pick<DetectContext, 'uri'>): Finding[] {
  const buf = Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const out: Finding[] = [];
  let pos = 0;
  while (out.length < MAX_OBJECTS_PER_ARTIFACT) {
    const at = buf.indexOf(0x30, pos);
    if (at < 0 || at + 8 > buf.length) break;
    pos = at + 1;
    const lenByte = buf[at + 1];
    if (lenByte !== 0x82 && lenByte !== 0x83) continue;
    const hdr = lenByte === 0x82 ? 4 : 5;
    if (buf[at + hdr] !== TAG.SEQUENCE) continue;
    const inner = buf[at + hdr + 1];
    if (inner !== 0x82 && inner !== 0x81 && inner !== 0x83) continue;
    const outerLen = lenByte === 0x82 ? buf.readUInt16BE(at + 2) : buf.readUIntBE(at + 2, 3);
    if (at + hdr + outerLen > buf.length || outerLen < 100) continue;
    try {
      const node = readNode(bytes, at, at + hdr + outerLen);
      const kids = node.children();
      if (kids.length !== 3 || kids[2].tag !== TAG.BIT_STRING) continue;
      const cert = parseCertificate(node);
      out.push(certificateFinding(cert, 'x509', at));
      pos = node.end; // certificates do not overlap
    } catch {
      // Not a certificate: keep looking.
    }
  }
  return out;
}
