/**
 * Checksum files, the one parser: GNU coreutils `<hex>  <name>` / `<hex> *<name>` (sha256sum(1) and friends, a leading
 * `\` marking an escaped name), BSD `SHA256 (<name>) = <hex>` (`shasum --tag`, `sha256 -r` reversed is coreutils form),
 * and one-file lists (`fw.bin.sha256` holding `<hex>` alone or `<hex>  fw.bin`). Used by the checksum-directory
 * release source (src/sources/checksums.ts) and by signature coverage over any store (src/scan/coverage.ts). Pure.
 * @module
 */

/** Checksum files of whole directories: `SHA256SUMS`, `sha512sums`, `checksums.txt`, `sha256sum.txt`, `app-1.0_checksums.txt` … */
export const CHECKSUM_FILE =
  /^(SHA(1|224|256|384|512)SUMS|sha(1|224|256|384|512)sums|MD5SUMS|md5sums|CHECKSUMS|checksums(\.txt)?|sha(1|224|256|384|512)sum\.txt|[^/]*[._-](checksums|sha256sums|SHA256SUMS)(\.txt)?)$/;
/** One file's checksum beside it: `fw.bin.sha256`, `fw.bin.sha512`. */
export const ONE_FILE_CHECKSUM = /^(.+)\.(sha1|sha224|sha256|sha384|sha512|md5)$/i;

const MAX_CHECKSUM_LINE = 8192;
/** Hash ids (DESIGN.md `algorithm.hash`) by hex length. */
export const HEX_HASH: Record<number, string> = { 32: 'MD5', 40: 'SHA-1', 56: 'SHA-224', 64: 'SHA-256', 96: 'SHA-384', 128: 'SHA-512' };

export interface ChecksumEntry {
  /** The file's name relative to the checksum file's directory (`./` removed). */
  name: string;
  /** `SHA-256` … (from the hex length, or the BSD tag). */
  hash: string;
  /** Lower-case hex. */
  hex: string;
}

/** Is this file name a checksum list (a whole directory's, or one file's)? */
export function isChecksumFile(name: string): boolean {
  return CHECKSUM_FILE.test(name) || ONE_FILE_CHECKSUM.test(name);
}

/**
 * Entries of a checksum file. `fileName` (the list's own name) lets a one-file list (`fw.bin.sha256` holding only the
 * hex) name the file it is about. Names that climb (`..`) or are absolute are dropped: they name nothing beside it.
 */
export function parseChecksums(text: string, fileName?: string): ChecksumEntry[] {
  const out: ChecksumEntry[] = [];
  const single = fileName ? ONE_FILE_CHECKSUM.exec(fileName.slice(fileName.lastIndexOf('/') + 1)) : null;
  for (const raw of text.split('\n')) {
    // A line no checksum tool writes (a name of kilobytes) is not read: it keeps the patterns below linear.
    if (raw.length > MAX_CHECKSUM_LINE) continue;
    const line = raw.replace(/\r$/, '');
    let m = line.match(/^\\?([0-9a-fA-F]{32,128})\s[ *]?(.+)$/);
    let hex: string | undefined;
    let name: string | undefined;
    if (m) [hex, name] = [m[1], m[2]];
    else if ((m = line.match(/^(?:SHA\d+|MD5|SHA1)\s*\((.+)\)\s*=\s*([0-9a-fA-F]{32,128})$/))) [name, hex] = [m[1], m[2]];
    else if (single && (m = line.match(/^\s*([0-9a-fA-F]{32,128})\s*$/))) [hex, name] = [m[1], single[1]];
    if (!hex || !name || !HEX_HASH[hex.length]) continue;
    name = name.replace(/^\.\//, '');
    if (name.includes('..') || name.startsWith('/')) continue;
    out.push({ name, hash: HEX_HASH[hex.length], hex: hex.toLowerCase() });
  }
  return out;
}
