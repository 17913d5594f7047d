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
import { MAX_SMALL_DOCUMENT_BYTES, type HttpClient } from '../net/http.js';
import { redactUrl } from '../net/secrets.js';
import { errorEntry, fetchMode, listedRef, releaseClient, type FetchMode, type ReleaseSourceOptions } from './_release.js';
import { CHECKSUM_FILE, parseChecksums } from './checksum-lists.js';
import { weaker } from './hashes.js';
import { tokens } from './markup.js';

export { parseChecksums };
import type { SourceOptions } from './index.js';
import { bytesRef, type ArtifactRef, type IndexChain, type RelatedInfo, type Source, type SourceProblem } from './types.js';

const CHECKSUM_SIGNATURE_SUFFIXES = ['.asc', '.gpg', '.sig', '.minisig', '.sigstore.json', '.sigstore'];
const SIBLING_SUFFIXES = ['.sig', '.asc', '.minisig', '.intoto.jsonl', '.sigstore.json', '.sigstore', '.pem', '.cert'];
const MAX_LISTING_ENTRIES = 100_000;

export function checksumSource(target: string, options: SourceOptions): Source {
  return new ChecksumSource(target, options as ReleaseSourceOptions);
}

/**
 * hrefs of an HTML directory listing (Apache/nginx/lighttpd autoindex, python http.server): same directory only.
 * Read with the linear tokenizer (src/sources/markup.ts), so a hostile listing costs time in proportion to its size.
 */
export function parseListing(html: string): string[] {
  const out = new Set<string>();
  for (const tok of tokens(html, true)) {
    if (out.size >= MAX_LISTING_ENTRIES) break;
    if (tok.type !== 'open' || tok.name !== 'a' || tok.attrs.href === undefined) continue;
    let href = tok.attrs.href;
    if (!href || /^[a-z]+:|^\/|^\?|^#|\.\.|\/./i.test(href)) continue;
    href = href.replace(/^\.\//, '');
    if (!href || href.endsWith('/')) continue;
    try {
      out.add(decodeURIComponent(href));
    } catch {
      continue; // not percent-encoding: names no file
    }
  }
  return [...out];
}

/** A checksum file and where its signatures are (itself, when cleartext-signed, and its detached signature files). */
interface ChecksumIndex {
  name: string;
  signatures: ArtifactRef[];
}

class ChecksumSource implements Source {
  readonly target: string;
  private readonly dir: string;
  private readonly file?: string;
  private readonly single?: string;
  private readonly http: HttpClient;
  private readonly owned: boolean;
  private readonly fetch: FetchMode;

  constructor(target: string, options: ReleaseSourceOptions) {
    this.target = redactUrl(target);
    if (!/^https?:\/\//i.test(target)) throw new UsageError('not an http(s) URL', { uri: this.target });
    const c = releaseClient(target, options);
    const u = new URL(c.url);
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
    this.http = c.http;
    this.owned = c.owned;
    this.fetch = fetchMode(options.fetch, 'none');
  }

  async close(): Promise<void> {
    if (this.owned) await this.http.close();
  }

  private async *walkSingle(name: string): AsyncIterable<ArtifactRef | SourceProblem> {
    const url = this.dir + encodeURIComponent(name);
    let size: number | undefined;
    if (this.fetch !== 'all') {
      try {
        size = await this.http.size(url);
      } catch (e) {
        yield { uri: url, ...errorEntry(e, url) };
        return;
      }
      if (size === undefined) {
        yield { uri: url, code: 'remote', message: 'the server gives no size for it (HEAD); not read' };
        return;
      }
    }
    // Without a listing, each sibling is an optional GET (404 = absent).
    const siblings = ['.sig', '.asc', '.minisig', '.sigstore.json', '.intoto.jsonl'].map((x) => name + x);
    yield listedRef(
      { url, name, ...(size !== undefined ? { size } : {}), annotations: {}, errors: [], extra: () => this.siblingSignatures(siblings) },
      this.http,
      this.fetch,
    );
  }

  async *walk(): AsyncIterable<ArtifactRef | SourceProblem> {
    if (this.single) {
      yield* this.walkSingle(this.single);
      return;
    }
    let listing: string[] | undefined;
    if (!this.file) {
      try {
        const doc = await this.http.get(this.dir, { limit: MAX_SMALL_DOCUMENT_BYTES });
        listing = parseListing(new TextDecoder().decode(doc!.bytes));
      } catch (e) {
        yield { uri: this.dir, ...errorEntry(e, this.dir) };
        return;
      }
    }
    const present = (name: string) => !listing || listing.includes(name);
    const checksumFiles = this.file ? [this.file] : listing!.filter((n) => CHECKSUM_FILE.test(n));
    // file → every checksum file listing it, the strongest hash first (the first one found signed vouches).
    const covered = new Map<string, { index: ChecksumIndex; hash: string; hex: string }[]>();
    const consumed = new Set<string>(checksumFiles);
    // Which checksum files carry a signature is the detectors' call (the engine's): each file is vouched for by the
    // strongest listing that names it, the verdict (covered or index-unsigned) follows from what is found there.
    for (const name of checksumFiles) {
      const url = this.dir + encodeURIComponent(name);
      let bytes: Uint8Array;
      try {
        bytes = (await this.http.get(url, { limit: MAX_SMALL_DOCUMENT_BYTES * 4 }))!.bytes;
      } catch (e) {
        yield { uri: url, ...errorEntry(e, url) };
        continue;
      }
      const self = bytesRef(url, name, bytes);
      // A cleartext-signed checksum file (Ubuntu's old style, Alpine) signs itself.
      const index: ChecksumIndex = { name, signatures: [self] };
      const attached: ArtifactRef[] = [];
      const errs: NonNullable<RelatedInfo['errors']> = [];
      for (const suffix of CHECKSUM_SIGNATURE_SUFFIXES) {
        const sigName = name + suffix;
        if (!present(sigName)) continue;
        consumed.add(sigName);
        const sigUrl = this.dir + encodeURIComponent(sigName);
        try {
          const sig = await this.http.get(sigUrl, { optional: true });
          if (!sig) continue;
          const ref = bytesRef(sigUrl, sigName, sig.bytes);
          attached.push(ref);
          index.signatures.push(ref);
        } catch (e) {
          errs.push(errorEntry(e, sigUrl));
        }
      }
      const entries = parseChecksums(new TextDecoder().decode(bytes), name);
      if (entries.length === 0) errs.push({ code: 'malformed', message: 'no checksum lines found', uri: url });
      self.reusable = false;
      self.related = async () => ({
        attached,
        errors: errs,
        vouching: { unsigned: 'no signature on this checksum file; the files it lists are index-unsigned' },
      });
      yield self;
      for (const e of entries) {
        const list = covered.get(e.name) ?? [];
        if (!list.length) covered.set(e.name, list);
        list.push({ index, hash: e.hash, hex: e.hex });
        list.sort((a, b) => (a.hash === b.hash ? 0 : weaker(a.hash, b.hash) === a.hash ? 1 : -1));
      }
    }
    const names = new Set<string>([...covered.keys()]);
    for (const n of listing ?? [])
      if (!consumed.has(n) && !SIBLING_SUFFIXES.some((s) => n.endsWith(s) && names.has(n.slice(0, -s.length))) && !CHECKSUM_FILE.test(n)) names.add(n);
    const sorted = [...names].sort();
    const urlOf = (n: string) => this.dir + n.split('/').map(encodeURIComponent).join('/');
    // HEADs for sizes run ahead of the walk, bounded by the client's connections per host.
    const sizes = new Map<string, Promise<{ size?: number; error?: unknown }>>();
    const sizeOf = (n: string) => {
      let p = sizes.get(n);
      if (!p) {
        p =
          this.fetch === 'all'
            ? Promise.resolve({})
            : this.http.size(urlOf(n)).then(
                (size) => ({ size }),
                (error: unknown) => ({ error }),
              );
        sizes.set(n, p);
      }
      return p;
    };
    for (let i = 0; i < Math.min(16, sorted.length); i++) void sizeOf(sorted[i]);
    for (let i = 0; i < sorted.length; i++) {
      if (i + 16 < sorted.length) void sizeOf(sorted[i + 16]);
      const n = sorted[i];
      const url = urlOf(n);
      const listings = covered.get(n) ?? [];
      const c = listings[0];
      const errors: NonNullable<RelatedInfo['errors']> = [];
      if (c && (c.hash === 'MD5' || c.hash === 'SHA-1'))
        errors.push({
          code: 'malformed',
          message: `${c.index.name} gives only ${c.hash} for this file; a collision-broken hash breaks the signed chain`,
          uri: url,
        });
      const got = await sizeOf(n);
      sizes.delete(n);
      if (got.error !== undefined) {
        const entry = errorEntry(got.error, url);
        // Listed by a checksum file but not in the directory: say so, it is the likelier story than a broken server.
        if (listing && c && !listing.includes(n) && (got.error as { status?: number }).status === 404)
          entry.message = `listed in ${c.index.name} but absent from the directory (HTTP 404)`;
        yield { uri: url, ...entry };
        continue;
      }
      if (got.size === undefined && this.fetch !== 'all') {
        // Without a size the engine would have to stream the file to learn anything: report it instead.
        yield { uri: url, code: 'remote', message: 'the server gives no size for it (HEAD); not read' };
        continue;
      }
      const siblings = SIBLING_SUFFIXES.map((s) => n + s).filter((s) => listing?.includes(s));
      const chains: IndexChain[] = listings.map((l) => ({ index: l.index.name, signatures: l.index.signatures, hashes: [l.hash] }));
      yield listedRef(
        {
          url,
          name: n,
          ...(got.size !== undefined ? { size: got.size } : {}),
          ...(c?.hash === 'SHA-256' ? { digest: `sha256:${c.hex}` } : {}),
          annotations: c ? { 'release.index': c.index.name } : {},
          errors,
          ...(chains.length ? { chains } : {}),
          ...(siblings.length ? { extra: () => this.siblingSignatures(siblings) } : {}),
        },
        this.http,
        this.fetch,
      );
    }
  }

  /** Per-file detached signatures and attestations, for the engine: the file is `signed` when any holds a signature. */
  private async siblingSignatures(siblings: string[]): Promise<Partial<RelatedInfo>> {
    const attached: ArtifactRef[] = [];
    const errors: NonNullable<RelatedInfo['errors']> = [];
    for (const s of siblings) {
      const sigUrl = this.dir + s.split('/').map(encodeURIComponent).join('/');
      try {
        const doc = await this.http.get(sigUrl, { optional: true });
        if (doc) attached.push(bytesRef(sigUrl, s, doc.bytes));
      } catch (e) {
        errors.push(errorEntry(e, sigUrl));
      }
    }
    return { attached, errors };
  }
}
