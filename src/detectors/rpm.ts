/**
 * RPM package signatures (rpm.org docs/manual/format.md, format_v6.md, signatures_digests.md; rpmtag.h).
 * Layout: a 96-byte lead (magic ED AB EE DB), the Signature header (padded to 8 bytes), the main Header, the payload.
 * Both headers share one structure: magic 8E AD E8 01, 4 reserved bytes, nindex and hsize (big-endian u32), nindex
 * 16-byte index entries {tag, type, offset, count}, then hsize bytes of data.
 * Signature tags holding raw OpenPGP signature packets: DSAHEADER (267; EdDSA signatures live here too),
 * RSAHEADER (268), PGP (1002) and GPG (1005) for header+payload v3 signatures; rpm 6's OPENPGP (278) holds any number
 * of base64-encoded signature packets. The algorithm always comes from the OpenPGP packet, never from the tag name.
 * Digest tags (SHA1HEADER 269, SHA256HEADER 273, SHA3_256HEADER 279, MD5 1004; PAYLOADDIGEST 5092 with
 * PAYLOADDIGESTALGO 5093) are reported as artifact annotations.
 * @module
 */
import { catalogue } from '../catalogue/index.js';
import { parseRpmHeaders, rpmBin, rpmInts, rpmStrings, RPM_LEAD_MAGIC } from '../formats/rpm.js';
import type { DetectContext, ErrorEntry, Finding } from '../model.js';
import { parseOpenPgpPackets } from './openpgp.js';
import type { Detector, DetectResult } from './types.js';

/** Signatures read from one package (rpm 6 allows "unlimited"; a real package has a handful). */
const MAX_SIGNATURES = 64;

export const SIGNATURE_TAGS: Record<number, string> = { 267: 'DSAHEADER', 268: 'RSAHEADER', 1002: 'PGP', 1005: 'GPG', 278: 'OPENPGP' };
const HEADER_DIGEST_TAGS: Record<number, string> = { 269: 'SHA-1', 273: 'SHA-256', 279: 'SHA3-256', 1004: 'MD5' };

export const rpmDetector: Detector = {
  format: 'rpm',
  description: 'RPM header signatures (v3/v4 RSA/DSA/EdDSA tags and rpm 6 OPENPGP, as OpenPGP packets) and header/payload digests',
  // containers: the signature header is read from the package's raw bytes, which the engine also opens as a container.
  claims: { magic: [{ offset: 0, bytes: RPM_LEAD_MAGIC }], names: ['*.rpm'], containers: true },
  detect: detectRpm,
};

function detectRpm(bytes: Uint8Array, ctx: DetectContext): DetectResult {
  if (ctx.baseOffset !== 0) return { findings: [] };
  const { signature, header } = parseRpmHeaders(bytes);
  const findings: Finding[] = [];
  const errors: ErrorEntry[] = [];
  let tagValues = 0;
  let signed = 0;
  for (const [tagText, tagName] of Object.entries(SIGNATURE_TAGS)) {
    const tag = Number(tagText);
    const values: { packet: Uint8Array; offset: number }[] = [];
    if (tag === 278) {
      for (const s of rpmStrings(signature, tag) ?? []) {
        const b64 = s.value.trim();
        if (!/^[A-Za-z0-9+/]+={0,2}$/.test(b64)) {
          errors.push({ code: 'malformed', message: `OPENPGP tag value at offset ${s.offset} is not base64`, offset: s.offset });
          continue;
        }
        values.push({ packet: new Uint8Array(Buffer.from(b64, 'base64')), offset: s.offset });
      }
    } else {
      const bin = rpmBin(signature, tag);
      if (bin) values.push({ packet: bin, offset: signature.entries.get(tag)!.offset });
    }
    for (const v of values) {
      if (++tagValues > MAX_SIGNATURES) break;
      const r = parseOpenPgpPackets(v.packet);
      const got = r.findings.filter((f) => f.kind === 'signature');
      // Every OpenPGP problem is reported; a tag from which no signature parsed says so, with the reasons.
      if (got.length === 0) {
        const why = r.errors.slice(0, 3).map((e) => e.message);
        errors.push({
          code: r.errors[0]?.code ?? 'malformed',
          message: `${tagName} tag at offset ${v.offset} holds no parseable OpenPGP signature${why.length ? `: ${why.join('; ')}` : ''}`,
          offset: v.offset,
        });
      } else {
        for (const e of r.errors) errors.push({ ...e, message: `${tagName} tag at offset ${v.offset}: ${e.message}`, offset: v.offset + (e.offset ?? 0) });
      }
      for (const f of got) {
        signed++;
        findings.push({
          ...f,
          format: 'rpm',
          location: { offset: v.offset + (f.location.offset ?? 0), path: `signature header/${tagName}` },
          details: { ...(f.details ?? {}), rpmTag: tagName, covers: tag === 1002 || tag === 1005 ? 'header+payload' : 'header' },
        });
      }
    }
  }
  // Signed only when a signature parsed: a tag holding garbage is an error above, not a signature.
  const annotations: Record<string, string> = { 'rpm.signed': signed > 0 ? 'true' : 'false' };
  const headerDigests = Object.entries(HEADER_DIGEST_TAGS)
    .filter(([t]) => signature.entries.has(Number(t)))
    .map(([, name]) => name);
  if (headerDigests.length) annotations['rpm.headerDigests'] = headerDigests.join(',');
  const algo = rpmInts(header, 5093)?.[0];
  if (header.entries.has(5092))
    annotations['rpm.payloadDigest'] = (algo !== undefined && catalogue().data.openpgp.hash[String(algo)]) || (algo === undefined ? 'MD5' : `unknown:${algo}`);
  const fileAlgo = rpmInts(header, 5011)?.[0];
  if (header.entries.has(1035) || header.entries.has(5011))
    annotations['rpm.fileDigest'] = fileAlgo === undefined ? 'MD5' : (catalogue().data.openpgp.hash[String(fileAlgo)] ?? `unknown:${fileAlgo}`);
  const nevra = ['1000', '1001', '1002', '1022'].map((t) => rpmStrings(header, Number(t))?.[0]?.value);
  if (nevra[0]) annotations['rpm.nevra'] = `${nevra[0]}-${nevra[1] ?? '?'}-${nevra[2] ?? '?'}${nevra[3] ? `.${nevra[3]}` : ''}`;
  const compressor = rpmStrings(header, 1125)?.[0]?.value;
  if (compressor) annotations['rpm.payloadCompressor'] = compressor;
  return { findings, errors, annotations };
}
