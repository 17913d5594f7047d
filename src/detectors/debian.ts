/**
 * Debian archive and upload metadata: `InRelease` (clearsigned) and `Release` + `Release.gpg` (detached, binary or
 * armored) per the Debian wiki "DebianRepository/Format"; `.dsc` and `.changes` (Debian Policy §5.4, §5.5, usually
 * clearsigned); and debsig-verify's `_gpg<role>` members inside a .deb (a detached OpenPGP signature over
 * debian-binary + control + data). The OpenPGP detector parses the signatures (cleartext framework and packets); this
 * detector claims these files by name and adds what only Debian knows: which file the signature vouches for, and which
 * hash lists (MD5Sum / SHA1 / SHA256 / SHA512, Files / Checksums-*) bind the signature to the files it covers.
 * A signature over MD5/SHA-1-only lists protects nothing once those collide, so the signature finding carries
 * `details.weakHashesOnly: true` and the artifact the annotation `debian.hashes` (the choice: a detail on the
 * signature, not a finding of its own, because the exposure belongs to that signature).
 * @module
 */
import type { DetectContext, Finding } from '../model.js';
import { openpgpDetector } from './openpgp.js';
import type { Detector, DetectResult } from './types.js';

const HASH_FIELDS: Record<string, string> = {
  MD5Sum: 'MD5',
  Files: 'MD5',
  SHA1: 'SHA-1',
  'Checksums-Sha1': 'SHA-1',
  SHA256: 'SHA-256',
  'Checksums-Sha256': 'SHA-256',
  SHA512: 'SHA-512',
  'Checksums-Sha512': 'SHA-512',
};
const STRONG = new Set(['SHA-256', 'SHA-512']);

export const debianDetector: Detector = {
  format: 'debian',
  description: 'Debian InRelease / Release / Release.gpg, .dsc, .changes and debsig _gpg members (signatures via OpenPGP; hash lists)',
  claims: { names: ['InRelease', '*_InRelease', 'Release', '*_Release', 'Release.gpg', '*_Release.gpg', '*.dsc', '*.changes', '_gpg*'] },
  detect: detectDebian,
};

type DebianKind = 'InRelease' | 'Release' | 'Release.gpg' | 'dsc' | 'changes' | 'debsig';

function kindOf(name: string): DebianKind | undefined {
  const base = name.split('/').pop() ?? name;
  if (/^_gpg/.test(base)) return 'debsig';
  if (/(^|_)InRelease$/.test(base)) return 'InRelease';
  if (/(^|_)Release\.gpg$/.test(base)) return 'Release.gpg';
  if (/(^|_)Release$/.test(base)) return 'Release';
  if (/\.dsc$/i.test(base)) return 'dsc';
  if (/\.changes$/i.test(base)) return 'changes';
  return undefined;
}

function detectDebian(bytes: Uint8Array, ctx: DetectContext): DetectResult {
  const kind = kindOf(ctx.name);
  if (!kind || ctx.baseOffset !== 0) return { findings: [] };
  const annotations: Record<string, string> = { 'debian.file': kind };
  let hashes: string[] = [];
  if (kind !== 'debsig' && kind !== 'Release.gpg') {
    hashes = hashLists(Buffer.from(bytes.buffer, bytes.byteOffset, Math.min(bytes.byteLength, 16 << 20)).toString('utf8'));
    if (hashes.length) annotations['debian.hashes'] = hashes.join(',');
  }
  const weakHashesOnly = hashes.length > 0 && !hashes.some((h) => STRONG.has(h));
  if (kind === 'Release') {
    // The signature lives beside it (Release.gpg) or in InRelease; a Release alone is not signed.
    annotations['debian.signed'] = 'false';
    if (weakHashesOnly) annotations['debian.weakHashesOnly'] = 'true';
    return { findings: [], annotations };
  }
  const out = openpgpDetector.detect(bytes, ctx);
  const r: DetectResult = Array.isArray(out) ? { findings: out } : out;
  const findings: Finding[] = r.findings.map((f) =>
    f.kind !== 'signature'
      ? f
      : {
          ...f,
          details: {
            ...(f.details ?? {}),
            debian: kind,
            signs:
              kind === 'Release.gpg'
                ? 'Release (detached)'
                : kind === 'debsig'
                  ? `debian-binary+control+data (debsig role ${ctx.name.replace(/^.*_gpg/, '')})`
                  : kind,
            ...(hashes.length ? { hashLists: hashes } : {}),
            ...(weakHashesOnly ? { weakHashesOnly: true } : {}),
          },
        },
  );
  if (kind !== 'debsig') annotations['debian.signed'] = findings.some((f) => f.kind === 'signature') ? 'true' : 'false';
  if (weakHashesOnly) annotations['debian.weakHashesOnly'] = 'true';
  return { findings, errors: r.errors, annotations: { ...(r.annotations ?? {}), ...annotations } };
}

/** Hash-list field names present in a deb822 document (clearsign armor lines are not fields, so they never match). */
export function hashLists(text: string): string[] {
  const found = new Set<string>();
  for (const m of text.matchAll(/^([A-Za-z0-9-]+):[ \t]*\r?\n[ \t]+[0-9a-fA-F]{32,128}[ \t]/gm)) {
    const h = HASH_FIELDS[m[1]];
    if (h) found.add(h);
  }
  return [...found].sort((a, b) => Number(STRONG.has(b)) - Number(STRONG.has(a)) || a.localeCompare(b));
}
