/**
 * Signed checksum directories over HTTP(S): a release directory (read from its HTML listing) or one checksum file's
 * URL. Checksum files (`SHA256SUMS`, `sha256sums`, `SHA512SUMS`, `checksums.txt`, … in GNU coreutils `<hex>  <name>`
 * or BSD `SHA256 (name) = <hex>` form) are read with their signatures: OpenPGP `.asc`/`.gpg` (or cleartext-signed
 * content), signify/usign `.sig`, minisign `.minisig`, Sigstore `.sigstore.json`/`.sigstore`; each file they list
 * becomes an artifact identified by the listed digest and covered by those signatures. Per-file siblings
 * (`.sig`, `.asc`, `.minisig`, `.intoto.jsonl`, `.sigstore.json`) make a file `signed` on its own. Files the listing
 * shows that no checksum file names are `unsigned` (unless a sibling signs them). Only the checksum files, their
 * signatures and the siblings are downloaded (plus a HEAD per file for its size); `--fetch all` reads every file.
 * A URL naming one file (`…/fw.img.gz`: a last segment with a non-numeric extension) is read alone, with its siblings.
 * @module
 */
import { UsageError } from '../errors.js';
import type { ErrorEntry, Finding } from '../model.js';
import { HttpClient, httpClientFrom, HttpError, MAX_SMALL_DOCUMENT_BYTES } from './_http.js';
import { chainFindings, fetchMode, listedRef, readSignatures, weaker, type FetchMode, type SignedIndex } from './_release.js';
import type { SourceOptions } from './index.js';
import { bytesRef, type ArtifactRef, type RelatedInfo, type Source, type SourceProblem } from './types.js';

const CHECKSUM_FILE =
  /^(SHA(1|224|256|384|512)SUMS|sha(1|224|256|384|512)sums|MD5SUMS|md5sums|CHECKSUMS|checksums(\.txt)?|[^/]*[._-](checksums|sha256sums|SHA256SUMS)(\.txt)?)$/;
const CHECKSUM_SIGNATURE_SUFFIXES = ['.asc', '.gpg', '.sig', '.minisig', '.sigstore.json', '.sigstore'];
const SIBLING_SUFFIXES = ['.sig', '.asc', '.minisig', '.intoto.jsonl', '.sigstore.json', '.sigstore', '.pem', '.cert'];
const MAX_LISTING_ENTRIES = 100_000;
const HEX_HASH: Record<number, string> = { 32: 'MD5', 40: 'SHA-1', 56: 'SHA-224', 64: 'SHA-256', 96: 'SHA-384', 128: 'SHA-512' };

export interface ChecksumSourceOptions extends SourceOptions {
  fetch?: FetchMode;
  ca?: string | string[];
  http?: HttpClient;
  backoffMs?: number;
  timeoutMs?: number;
}

export function checksumSource(target: string, options: SourceOptions): Source {
  return new ChecksumSource(target, options as ChecksumSourceOptions);
}

/** hrefs of an HTML directory listing (Apache/nginx/lighttpd autoindex, python http.server): same directory only. */
export function parseListing(html: string): string[] {
  const out = new Set<string>();
  for (const m of html.matchAll(/<a\s[^>]*href\s*=\s*"([^"]+)"/gi)) {
    if (out.size >= MAX_LISTING_ENTRIES) break;
    let href = m[1].replace(/&amp;/g, '&');
    if (/^[a-z]+:|^\/|^\?|^#|\.\.|\/./i.test(href)) continue;
    href = href.replace(/^\.\//, '');
    if (!href || href.endsWith('/')) continue;
    try {
      out.add(decodeURIComponent(href));
    } catch {
      /* not a name */
    }
  }
  return [...out];
}

/** Entries of a checksum file: `<hex> [ *]<name>` (coreutils) or `ALG (name) = <hex>` (BSD). */
export function parseChecksums(text: string): { name: string; hash: string; hex: string }[] {
  const out: { name: string; hash: string; hex: string }[] = [];
  for (const raw of text.split('\n')) {
    const line = raw.replace(/\r$/, '');
    let m = line.match(/^\\?([0-9a-fA-F]{32,128})\s[ *]?(.+)$/);
    let hex: string | undefined;
    let name: string | undefined;
    if (m) [hex, name] = [m[1], m[2]];
    else if ((m = line.match(/^(?:SHA\d+|MD5|SHA1)\s*\((.+)\)\s*=\s*([0-9a-fA-F]{32,128})$/))) [name, hex] = [m[1], m[2]];
    if (!hex || !name || !HEX_HASH[hex.length]) continue;
    name = name.replace(/^\.\//, '');
    if (name.includes('..') || name.startsWith('/')) continue;
    out.push({ name, hash: HEX_HASH[hex.length], hex: hex.toLowerCase() });
  }
  return out;
}

class ChecksumSource implements Source {
  private readonly dir: string;
  private readonly file?: string;
  private readonly single?: string;
  private readonly http: HttpClient;
  private readonly fetch: FetchMode;

  constructor(
    readonly target: string,
    options: ChecksumSourceOptions,
  ) {
    if (!/^https?:\/\//i.test(target)) throw new UsageError(`${target}: not an http(s) URL`);
    const u = new URL(target);
    u.search = '';
    u.hash = '';
    const last = u.pathname.split('/').pop() ?? '';
    if (u.pathname.endsWith('/')) this.dir = u.href;
    else if (CHECKSUM_FILE.test(last)) {
      this.file = last;
      this.dir = u.href.slice(0, u.href.length - last.length);
    } else if (/\.[A-Za-z][A-Za-z0-9]*$/.test(last)) {
      // One release file named by URL (`…/fw.img.gz`): read with its per-file signature siblings, no listing.
      this.single = last;
      this.dir = u.href.slice(0, u.href.length - last.length);
    } else this.dir = `${u.href}/`; // `…/24.10.1`: a directory without its trailing slash
    this.http = httpClientFrom(options);
    this.fetch = fetchMode(options.fetch, 'none');
  }

  async *walk(): AsyncIterable<ArtifactRef | SourceProblem> {
    // The client stays open: the engine fetches signature headers and siblings (related()) after the walk ends.
    // undici unrefs idle sockets, so an unclosed client does not hold the process.
    yield* this.walkDir();
  }

  private async *walkSingle(name: string): AsyncIterable<ArtifactRef | SourceProblem> {
    const url = this.dir + encodeURIComponent(name);
    const size = this.fetch === 'all' ? undefined : await this.http.size(url).catch(() => undefined);
    if (size === undefined && this.fetch !== 'all') {
      yield { uri: url, code: 'remote', message: `${url}: not found, or the server gives no size for it (HEAD); not read` };
      return;
    }
    // Without a listing, each sibling is an optional GET (404 = absent).
    const siblings = ['.sig', '.asc', '.minisig', '.sigstore.json', '.intoto.jsonl'].map((x) => name + x);
    yield listedRef(
      {
        url,
        name,
        ...(size !== undefined ? { size } : {}),
        annotations: {},
        findings: [],
        errors: [],
        coverage: 'unsigned',
        extra: () => this.siblingSignatures(siblings),
      },
      this.http,
      this.fetch,
    );
  }

  private async *walkDir(): AsyncIterable<ArtifactRef | SourceProblem> {
    if (this.single) {
      yield* this.walkSingle(this.single);
      return;
    }
    let listing: string[] | undefined;
    if (!this.file) {
      try {
        const doc = await this.http.get(this.dir, { limit: MAX_SMALL_DOCUMENT_BYTES });
        if (!doc) throw new HttpError(`${this.dir}: HTTP 404`, 404);
        listing = parseListing(new TextDecoder().decode(doc.bytes));
      } catch (e) {
        yield { uri: this.dir, code: 'remote', message: (e as Error).message };
        return;
      }
    }
    const present = (name: string) => !listing || listing.includes(name);
    const checksumFiles = this.file ? [this.file] : listing!.filter((n) => CHECKSUM_FILE.test(n));
    const covered = new Map<string, { index: SignedIndex; hash: string; hex: string }>();
    const unsignedCovered = new Set<string>();
    const consumed = new Set<string>(checksumFiles);
    for (const name of checksumFiles) {
      const url = this.dir + encodeURIComponent(name);
      let bytes: Uint8Array;
      try {
        const doc = await this.http.get(url, { limit: MAX_SMALL_DOCUMENT_BYTES * 4 });
        if (!doc) throw new HttpError(`${url}: HTTP 404`, 404);
        bytes = doc.bytes;
      } catch (e) {
        yield { uri: url, code: 'remote', message: (e as Error).message };
        continue;
      }
      const index: SignedIndex = { url, name, signatures: [], errors: [] };
      const attached: ArtifactRef[] = [];
      // A cleartext-signed checksum file (Ubuntu's old SHA256SUMS.gpg style inline, Alpine) signs itself.
      const inline = readSignatures(bytes, name, url);
      index.signatures.push(...inline.signatures);
      for (const suffix of CHECKSUM_SIGNATURE_SUFFIXES) {
        const sigName = name + suffix;
        if (!present(sigName)) continue;
        consumed.add(sigName);
        try {
          const sig = await this.http.get(this.dir + encodeURIComponent(sigName), { optional: true });
          if (!sig) continue;
          const r = readSignatures(sig.bytes, sigName, this.dir + sigName);
          index.signatures.push(...r.signatures);
          index.errors.push(...r.errors);
          attached.push(bytesRef(this.dir + encodeURIComponent(sigName), sigName, sig.bytes));
        } catch (e) {
          index.errors.push({ code: 'remote', message: (e as Error).message, source: 'source' });
        }
      }
      const signed = index.signatures.length > 0;
      const errs = [...index.errors];
      if (!signed)
        errs.push({ code: 'unsupported', message: `${url}: no signature on this checksum file; the files it lists are index-unsigned`, source: 'source' });
      const entries = parseChecksums(new TextDecoder().decode(bytes));
      if (entries.length === 0) errs.push({ code: 'malformed', message: `${url}: no checksum lines found`, source: 'source' });
      // The checksum file's own findings come from the engine's detectors (inline) and from `attached` (detached).
      yield bytesRef(url, name, bytes, {
        related: async () => ({
          attached,
          coverage: signed ? 'signed' : 'unsigned',
          errors: errs.map((e) => ({ code: e.code as 'malformed', message: e.message })),
        }),
      });
      for (const e of entries) {
        const prior = covered.get(e.name);
        // A file listed by several checksum files: keep the signed one, then the stronger hash.
        if (signed && (!prior || weaker(prior.hash, e.hash) === prior.hash)) covered.set(e.name, { index, hash: e.hash, hex: e.hex });
        else if (!signed && !prior) unsignedCovered.add(e.name);
        if (!signed && !prior && !covered.has(e.name)) covered.set(e.name, { index, hash: e.hash, hex: e.hex });
      }
    }
    const names = new Set<string>([...covered.keys()]);
    for (const n of listing ?? [])
      if (!consumed.has(n) && !SIBLING_SUFFIXES.some((s) => n.endsWith(s) && names.has(n.slice(0, -s.length))) && !CHECKSUM_FILE.test(n)) names.add(n);
    const sorted = [...names].sort();
    // HEADs for sizes run ahead of the walk, bounded by the client's per-host concurrency.
    const sizes = new Map<string, Promise<number | undefined>>();
    const sizeOf = (n: string) => {
      let p = sizes.get(n);
      if (!p)
        sizes.set(
          n,
          (p =
            this.fetch === 'all'
              ? Promise.resolve(undefined)
              : this.http.size(this.dir + n.split('/').map(encodeURIComponent).join('/')).catch(() => undefined)),
        );
      return p;
    };
    for (let i = 0; i < Math.min(16, sorted.length); i++) void sizeOf(sorted[i]);
    for (let i = 0; i < sorted.length; i++) {
      if (i + 16 < sorted.length) void sizeOf(sorted[i + 16]);
      const n = sorted[i];
      const url = this.dir + n.split('/').map(encodeURIComponent).join('/');
      const c = covered.get(n);
      const signedIndex = !!c && c.index.signatures.length > 0;
      const errors: ErrorEntry[] = [];
      if (c && (c.hash === 'MD5' || c.hash === 'SHA-1'))
        errors.push({
          code: 'malformed',
          message: `${url}: ${c.index.name} gives only ${c.hash} for this file; a collision-broken hash breaks the signed chain`,
          source: 'source',
        });
      const size = await sizeOf(n);
      if (size === undefined && this.fetch !== 'all') {
        // Without a size the engine would have to stream the file to learn anything: report it instead.
        const why =
          listing && c && !listing.includes(n) ? `listed in ${c.index.name} but absent from the directory` : 'the server gives no size for it (HEAD); not read';
        yield { uri: url, code: 'remote', message: `${url}: ${why}` };
        continue;
      }
      const siblings = SIBLING_SUFFIXES.map((s) => n + s).filter((s) => listing?.includes(s));
      const findings: Finding[] = c && signedIndex ? chainFindings(c.index, [c.hash]) : [];
      yield listedRef(
        {
          url,
          name: n,
          ...(size !== undefined ? { size } : {}),
          ...(c?.hash === 'SHA-256' ? { digest: `sha256:${c.hex}` } : {}),
          annotations: c ? { 'release.index': c.index.name } : {},
          findings,
          errors,
          coverage: c ? (signedIndex ? 'covered' : 'index-unsigned') : 'unsigned',
          ...(siblings.length ? { extra: () => this.siblingSignatures(siblings) } : {}),
        },
        this.http,
        this.fetch,
      );
    }
  }

  /** Per-file detached signatures and attestations: the file is `signed` when any of them holds a signature. */
  private async siblingSignatures(siblings: string[]): Promise<Partial<RelatedInfo>> {
    const findings: Finding[] = [];
    const errors: RelatedInfo['errors'] = [];
    for (const s of siblings) {
      const sigUrl = this.dir + s.split('/').map(encodeURIComponent).join('/');
      try {
        const doc = await this.http.get(sigUrl, { optional: true });
        if (!doc) continue;
        const r = readSignatures(doc.bytes, s, sigUrl);
        for (const f of [...r.signatures, ...r.keys]) findings.push({ ...f, location: { ...f.location, member: s } });
        for (const e of r.errors) errors.push({ code: 'malformed', message: e.message });
      } catch (e) {
        errors.push({ code: 'remote', message: (e as Error).message });
      }
    }
    return { findings, errors, ...(findings.some((f) => f.kind === 'signature') ? { coverage: 'signed' as const } : {}) };
  }
}
