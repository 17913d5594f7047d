/**
 * X.509 certificates (RFC 5280): PEM (single, bundles, chains, OpenSSL TRUSTED CERTIFICATE), DER, and DER
 * certificates carved out of any binary blob (firmware images, executables, databases) at any offset.
 * @module
 */
import { parseDer, readNode, TAG } from '../pkix/der.js';
import type { DetectContext, ErrorEntry, Finding } from '../model.js';
import { MAX_OBJECTS_PER_ARTIFACT } from '../limits.js';
import { findPemBlocks } from '../pkix/pem.js';
import { certificateFinding, parseCertificate, resolveIssuerKeys, type ParsedCertificate } from '../pkix/certificate.js';
import { rethrowUnlessParseError } from '../errors.js';
import { CertificateHeads } from './_certificate-heads.js';
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
  const errors: ErrorEntry[] = [];
  const found: { cert: ParsedCertificate; offset: number }[] = [];
  for (const block of findPemBlocks(bytes, (l) => CERT_LABELS.has(l))) {
    if (block.error) {
      errors.push({ code: 'malformed', message: `${block.error} at offset ${block.offset}`, offset: block.offset });
      continue;
    }
    try {
      // TRUSTED CERTIFICATE carries OpenSSL trust settings after the certificate: allow trailing data.
      const node = readNode(block.der, 0, block.der.length);
      found.push({ cert: parseCertificate(node), offset: block.offset });
    } catch (e) {
      rethrowUnlessParseError(e);
      errors.push({
        code: e.code === 'truncated' ? 'truncated' : 'malformed',
        message: `PEM certificate at offset ${block.offset}: ${e.message}`,
        offset: block.offset,
      });
    }
  }
  found.push(...carveCertificates(bytes, ctx));
  // A chain or bundle in one file: size each signature with its issuer's key when the issuer is there too.
  resolveIssuerKeys(found.map((f) => f.cert));
  const findings: Finding[] = found.map((f) => certificateFinding(f.cert, 'x509', f.offset));
  // `.der` is any DER (keys, CMS …): only complain when the bytes are not DER at all or have a certificate's shape.
  if (findings.length === 0 && errors.length === 0 && ctx.whole && bytes.length > 0) {
    const certName = /\.(crt|cer)$/i.test(ctx.name);
    const derName = /\.der$/i.test(ctx.name);
    if (certName || (derName && (looksLikeCertificate(bytes) || !parsesAsDer(bytes)))) {
      errors.push({ code: 'malformed', message: 'named like a certificate but holds no parseable certificate' });
    }
  }
  return { findings, errors };
}

/** `30 82 LL LL 30 8x`: a SEQUENCE opening with a long SEQUENCE, as Certificate → TBSCertificate does. */
function looksLikeCertificate(bytes: Uint8Array): boolean {
  if (bytes.length <= 8 || bytes[0] !== TAG.SEQUENCE || (bytes[1] !== 0x82 && bytes[1] !== 0x83)) return false;
  const tbs = bytes[1] === 0x82 ? 4 : 5;
  return bytes[tbs] === TAG.SEQUENCE && bytes[tbs + 1] >= 0x81 && bytes[tbs + 1] <= 0x83;
}

function parsesAsDer(bytes: Uint8Array): boolean {
  try {
    parseDer(bytes);
    return true;
  } catch (e) {
    rethrowUnlessParseError(e);
    return false;
  }
}

/**
 * Find DER certificates at any offset. A candidate is `30 82 LL LL 30 8x …` (Certificate, then TBSCertificate) whose
 * lengths nest exactly and which parses as a certificate; anything else is skipped silently (binary noise is normal).
 */
export function carveCertificates(bytes: Uint8Array, _ctx: Pick<DetectContext, 'uri'>): { cert: ParsedCertificate; offset: number }[] {
  const buf = Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const out: { cert: ParsedCertificate; offset: number }[] = [];
  const heads = new CertificateHeads(bytes);
  let pos = 0;
  while (out.length < MAX_OBJECTS_PER_ARTIFACT) {
    const at = heads.next(pos);
    if (at < 0 || at + 8 > buf.length) break;
    pos = at + 1;
    const lenByte = buf[at + 1];
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
      out.push({ cert: parseCertificate(node), offset: at });
      pos = node.end; // certificates do not overlap
    } catch (e) {
      rethrowUnlessParseError(e);
      // Not a certificate: keep looking.
    }
  }
  return out;
}
