/**
 * JAR signatures (JAR File Specification, "Signed JAR File"; also APK v1 signing): `META-INF/<name>.RSA|.DSA|.EC`
 * and `META-INF/SIG-<name>` are CMS SignedData (RFC 5652) over the matching `<name>.SF` signature file. The zip
 * container hands each member over as its own artifact; this detector claims the blocks by name and reads them with
 * the CMS parser (format `jar`), and reads the `.SF` header for the digest algorithm it uses over the manifest.
 * @module
 */
import { ParseError, rethrowUnlessParseError } from '../errors.js';
import type { DetectContext, ErrorEntry } from '../model.js';
import { isJarSignatureBlock, parseCms } from './cms.js';
import type { Detector, DetectResult } from './types.js';

/** The signature-file header is the first section: "Signature-Version: 1.0", "<ALG>-Digest-Manifest: …" (bounded read). */
const SF_HEADER_LIMIT = 64 * 1024;

export const jarDetector: Detector = {
  format: 'jar',
  description: 'JAR / APK v1 signature blocks (META-INF/*.RSA, *.DSA, *.EC, SIG-*) and their .SF digest algorithm',
  claims: {
    names: ['**/META-INF/*.RSA', '**/META-INF/*.DSA', '**/META-INF/*.EC', '**/META-INF/SIG-*', '**/META-INF/*.SF'],
  },
  detect: detectJar,
};

export function detectJar(bytes: Uint8Array, ctx: DetectContext): DetectResult {
  if (/(^|\/)META-INF\/[^/]+\.SF$/i.test(ctx.name)) return { findings: [], annotations: readSignatureFile(bytes) };
  if (!isJarSignatureBlock(ctx.name) || ctx.baseOffset !== 0) return { findings: [] };
  try {
    const r = parseCms(bytes, { format: 'jar' });
    const errors: ErrorEntry[] = [...r.errors];
    if (!r.findings.some((f) => f.kind === 'signature')) {
      errors.push({ code: 'malformed', message: 'signature block holds no SignerInfo' });
    }
    return { findings: r.findings, errors };
  } catch (e) {
    rethrowUnlessParseError(e);
    throw new ParseError(`signature block is not CMS SignedData: ${e.message}`, e.offset ?? 0, e.code);
  }
}

/** `SHA-256-Digest-Manifest: …` → `jar.sf.digest: SHA-256` (several algorithms may be listed; all are kept). */
function readSignatureFile(bytes: Uint8Array): Record<string, string> {
  const text = Buffer.from(bytes.buffer, bytes.byteOffset, Math.min(bytes.byteLength, SF_HEADER_LIMIT)).toString('latin1');
  const header = text.split(/\r?\n\r?\n/, 1)[0];
  const digests = new Set<string>();
  for (const m of header.matchAll(/^([A-Za-z0-9-]+?)-Digest-Manifest(?:-Main-Attributes)?:/gm)) digests.add(m[1].toUpperCase());
  const out: Record<string, string> = {};
  if (digests.size) out['jar.sf.digest'] = [...digests].join(',');
  const createdBy = header.match(/^Created-By:\s*(.+)$/m);
  if (createdBy) out['jar.sf.createdBy'] = createdBy[1].trim();
  return out;
}
