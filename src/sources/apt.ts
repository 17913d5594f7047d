/**
 * apt repositories over HTTP(S), walked in place (Debian Repository Format, wiki.debian.org/DebianRepository/Format):
 * `dists/<suite>/InRelease` (cleartext-signed, every signature on it) or `Release` + `Release.gpg`; the Release hash
 * lists (MD5Sum, SHA1, SHA256, SHA512); the Packages and Sources indexes it lists, fetched by hash
 * (`by-hash/<Hash>/<hex>`) when the Release says `Acquire-By-Hash: yes`, checked against the Release's hash, and
 * decompressed under size and ratio caps; then each package (and each source file) as an artifact identified by the
 * digest its index gives and covered by the Release's signatures. Package bytes are read only with `--fetch all`;
 * `--fetch headers` reads a .deb's ar member headers by range to find embedded debsig/dpkg-sig signatures (`_gpg*`).
 * @module
 */
import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { UsageError } from '../errors.js';
import { HttpError, MAX_UNRANGED_PREFIX, asList, type HttpClient } from '../net/http.js';
import { inflateChunks } from '../net/inflate.js';
import { redactUrl } from '../net/secrets.js';
import { errorEntry, fetchMode, listedRef, rangeIgnoredNote, releaseClient, type FetchMode, type ReleaseSourceOptions } from './_release.js';
import type { SourceOptions } from './index.js';
import { countRecords, decodeChunks } from './markup.js';
import { bytesRef, type ArtifactRef, type IndexChain, type RelatedInfo, type Source, type SourceProblem } from './types.js';

/** Release hash fields, strongest first. */
const RELEASE_HASHES: [field: string, hash: string, byHashDir: string][] = [
  ['SHA512', 'SHA-512', 'SHA512'],
  ['SHA256', 'SHA-256', 'SHA256'],
  ['SHA1', 'SHA-1', 'SHA1'],
  ['MD5Sum', 'MD5', 'MD5Sum'],
];
/** Packages/Sources stanza hash fields, strongest first. */
const PACKAGE_HASHES: [field: string, hash: string][] = [
  ['SHA512', 'SHA-512'],
  ['SHA256', 'SHA-256'],
  ['SHA1', 'SHA-1'],
  ['MD5sum', 'MD5'],
];
const MAX_STANZAS = 2_000_000;
/** ar members read when looking for embedded signatures (debian-binary, control, data, then _gpg*). */
const MAX_AR_MEMBERS = 8;
const MAX_EMBEDDED_SIGNATURE = 64 * 1024;
/** Release files and compressed Packages/Sources indexes larger than this are refused. */
const MAX_INDEX_BYTES = 128 * 1024 * 1024;

export function aptSource(target: string, options: SourceOptions): Source {
  return new AptSource(target, options as ReleaseSourceOptions);
}

/** A stanza holding more than this (all its fields together) is cut: index stanzas are a few KiB. */
const MAX_STANZA_CHARS = 1024 * 1024;

/** Deb822 stanzas (RFC 822-like: `Field: value`, continuation lines start with a space), line by line. */
export class StanzaReader {
  private cur = new Map<string, string>();
  private last = '';
  private chars = 0;

  /** One line (without its newline); a stanza when the line ends one. */
  line(line: string): Map<string, string> | undefined {
    if (line.trim() === '') return this.end();
    if (this.chars > MAX_STANZA_CHARS) return undefined;
    this.chars += line.length;
    if ((line[0] === ' ' || line[0] === '\t') && this.last) {
      this.cur.set(this.last, `${this.cur.get(this.last)}\n${line.trim()}`);
      return undefined;
    }
    const c = line.indexOf(':');
    if (c <= 0) return undefined;
    this.last = line.slice(0, c).trim();
    this.cur.set(this.last, line.slice(c + 1).trim());
    return undefined;
  }

  /** The stanza in progress, if any (at a blank line or the end of the document). */
  end(): Map<string, string> | undefined {
    const done = this.cur.size ? this.cur : undefined;
    this.cur = new Map();
    this.last = '';
    this.chars = 0;
    return done;
  }
}

/** The stanzas of a whole (small) document: a Release file. */
export function parseStanzas(text: string, max = MAX_STANZAS): Map<string, string>[] {
  const out: Map<string, string>[] = [];
  const r = new StanzaReader();
  const count = countRecords(max, 'deb822 document');
  for (const line of text.split('\n')) {
    const st = r.line(line);
    if (st) {
      count();
      out.push(st);
    }
  }
  const st = r.end();
  if (st) {
    count();
    out.push(st);
  }
  return out;
}

/** Lines of a stream of text chunks; a line longer than `max` is cut there (the rest of it is dropped). */
export async function* linesOf(chunks: AsyncIterable<string>, max = MAX_STANZA_CHARS): AsyncIterable<string> {
  let pending = '';
  let dropping = false;
  for await (const c of chunks) {
    let at = 0;
    for (;;) {
      const nl = c.indexOf('\n', at);
      const piece = c.slice(at, nl < 0 ? undefined : nl);
      if (!dropping) {
        pending += piece;
        if (pending.length > max) {
          pending = pending.slice(0, max);
          dropping = true;
        }
      }
      if (nl < 0) break;
      yield pending;
      pending = '';
      dropping = false;
      at = nl + 1;
    }
  }
  if (pending) yield pending;
}

/** The payload of a cleartext-signed message (RFC 9580 §7): dash-unescaped text between the header and the signature. */
export function cleartextPayload(text: string): string {
  const begin = text.indexOf('-----BEGIN PGP SIGNED MESSAGE-----');
  if (begin < 0) return text;
  // Armor headers ("Hash: …") end at the first empty line; the signature block starts at its own BEGIN line. Found
  // line by line with indexOf, each character looked at once, however long a hostile header is.
  let bodyStart = -1;
  for (let at = begin; bodyStart < 0;) {
    const nl = text.indexOf('\n', at);
    if (nl < 0) return text;
    const next = text[nl + 1] === '\r' ? nl + 2 : nl + 1;
    if (text[next] === '\n') bodyStart = next + 1;
    at = nl + 1;
  }
  const sig = text.indexOf('\n-----BEGIN PGP SIGNATURE-----', bodyStart - 1);
  if (sig < 0) return text;
  return text.slice(bodyStart, sig).replace(/\r$/, '').replace(/^- /gm, '');
}

interface IndexEntry {
  path: string;
  size: number;
  hashes: Map<string, string>; // hash id → hex
}

function releaseEntries(release: Map<string, string>): Map<string, IndexEntry> {
  const out = new Map<string, IndexEntry>();
  for (const [field, hash] of RELEASE_HASHES) {
    const v = release.get(field);
    if (!v) continue;
    for (const line of v.split('\n')) {
      const m = line.trim().match(/^([0-9a-fA-F]+)\s+(\d+)\s+(\S+)$/);
      if (!m) continue;
      const e = out.get(m[3]) ?? { path: m[3], size: Number(m[2]), hashes: new Map() };
      e.hashes.set(hash, m[1].toLowerCase());
      out.set(m[3], e);
    }
  }
  return out;
}

function strongest(hashes: Map<string, string>): [string, string] | undefined {
  for (const [, h] of RELEASE_HASHES) {
    const v = hashes.get(h);
    if (v) return [h, v];
  }
  return undefined;
}

function digestOf(bytes: Uint8Array, hash: string): string {
  const algo = { 'SHA-512': 'sha512', 'SHA-256': 'sha256', 'SHA-1': 'sha1', MD5: 'md5' }[hash] ?? 'sha256';
  return createHash(algo).update(bytes).digest('hex');
}

class AptSource implements Source {
  readonly target: string;
  private readonly base: string;
  private readonly suite: string;
  private readonly http: HttpClient;
  private readonly owned: boolean;
  private readonly fetch: FetchMode;

  constructor(
    target: string,
    private readonly options: ReleaseSourceOptions,
  ) {
    this.target = redactUrl(target);
    const url = target.replace(/^apt\+/i, '');
    if (!/^https?:\/\//i.test(url))
      throw new UsageError('an apt target is apt+https://host/path (the directory holding dists/ and pool/)', { uri: this.target });
    const c = releaseClient(url, options);
    const u = new URL(c.url);
    const suite = options.suite ?? u.searchParams.get('suite') ?? undefined;
    u.search = '';
    if (!suite || !/^[A-Za-z0-9._/-]{1,100}$/.test(suite) || suite.includes('..'))
      throw new UsageError('name the suite with --suite <name> (e.g. bookworm)', { uri: this.target });
    this.suite = suite;
    this.base = u.href.replace(/\/+$/, '');
    this.http = c.http;
    this.owned = c.owned;
    this.fetch = fetchMode(options.fetch, 'none');
  }

  async close(): Promise<void> {
    if (this.owned) await this.http.close();
  }

  async *walk(): AsyncIterable<ArtifactRef | SourceProblem> {
    const dists = `${this.base}/dists/${this.suite}`;
    let releaseText: string;
    let releaseRef: ArtifactRef;
    let indexName: string;
    // The objects holding the Release signatures: InRelease itself (cleartext-signed), or Release.gpg.
    const signatures: ArtifactRef[] = [];
    try {
      const inrelease = await this.http.get(`${dists}/InRelease`, { optional: true, limit: MAX_INDEX_BYTES });
      if (inrelease) {
        indexName = `dists/${this.suite}/InRelease`;
        releaseText = cleartextPayload(new TextDecoder().decode(inrelease.bytes));
        releaseRef = bytesRef(`${dists}/InRelease`, 'InRelease', inrelease.bytes, { etag: inrelease.etag });
        signatures.push(releaseRef);
      } else {
        const release = await this.http.get(`${dists}/Release`, { limit: MAX_INDEX_BYTES, optional: true });
        if (!release) throw new HttpError(`not found (nor InRelease): is ${this.suite} a suite of ${this.base}?`, { uri: `${dists}/Release`, status: 404 });
        const gpg = await this.http.get(`${dists}/Release.gpg`, { optional: true });
        releaseText = new TextDecoder().decode(release.bytes);
        indexName = `dists/${this.suite}/Release`;
        if (gpg) signatures.push(bytesRef(`${dists}/Release.gpg`, 'Release.gpg', gpg.bytes));
        releaseRef = bytesRef(`${dists}/Release`, 'Release', release.bytes, { etag: release.etag });
      }
    } catch (e) {
      yield { uri: `${dists}/InRelease`, ...errorEntry(e, `${dists}/InRelease`) };
      return;
    }
    // A Release file is one paragraph: only the first is read (no limit error for trailing junk).
    const stanzas = parseStanzas(releaseText.split(/\n[ \t]*\r?\n/, 1)[0] ?? '', 1);
    const release = stanzas[0] ?? new Map<string, string>();
    const now = this.options.now instanceof Date ? this.options.now : new Date();
    const releaseErrors: NonNullable<RelatedInfo['errors']> = [];
    const validUntil = release.get('Valid-Until');
    if (validUntil && Date.parse(validUntil) < now.getTime())
      releaseErrors.push({ code: 'malformed', message: `Valid-Until ${validUntil} has passed; apt refuses this Release as expired` });
    // `--keyring` files the user gave, for the signing keys' expiry (apt's own keyrings are not read).
    const keys = asList(this.options.keyring).map((f) => bytesRef(`file://${f}`, f.endsWith('.asc') ? 'key.asc' : 'key.gpg', new Uint8Array(readFileSync(f))));
    const detached = signatures.filter((r) => r !== releaseRef);
    releaseRef.reusable = false;
    releaseRef.related = async () => ({
      attached: detached,
      errors: releaseErrors,
      vouching: { keys, unsigned: 'the Release file carries no signature; everything it lists is index-unsigned' },
      annotations: { 'apt.suite': this.suite, ...(release.get('Codename') ? { 'apt.codename': release.get('Codename')! } : {}) },
    });
    yield releaseRef;

    const chain = (hashes: (string | undefined)[]): IndexChain => ({ index: indexName, signatures, keys, hashes, apt: true });
    const entries = releaseEntries(release);
    const byHash = /^yes$/i.test(release.get('Acquire-By-Hash') ?? '');
    // One variant per index: xz, then gz, then uncompressed (bzip2 has no decoder here).
    const chosen = new Map<string, IndexEntry>();
    const rank = (p: string) => (p.endsWith('.xz') ? 0 : p.endsWith('.gz') ? 1 : /\.(bz2|lzma|zst)$/.test(p) ? 9 : 2);
    for (const e of entries.values()) {
      if (!/(^|\/)(binary-[^/]+\/Packages|source\/Sources)(\.xz|\.gz|\.bz2)?$/.test(e.path) || e.path.includes('/debian-installer/')) continue;
      const key = e.path.replace(/\.(xz|gz|bz2|lzma|zst)$/, '');
      const prior = chosen.get(key);
      if (!prior || rank(e.path) < rank(prior.path)) chosen.set(key, e);
    }
    const seenFiles = new Set<string>();
    for (const e of [...chosen.values()].sort((a, b) => (a.path < b.path ? -1 : 1))) {
      yield* this.walkIndex(e, chain, byHash, seenFiles);
    }
  }

  private async *walkIndex(
    e: IndexEntry,
    chain: (hashes: (string | undefined)[]) => IndexChain,
    byHash: boolean,
    seenFiles: Set<string>,
  ): AsyncIterable<ArtifactRef | SourceProblem> {
    const dists = `${this.base}/dists/${this.suite}`;
    const url = `${dists}/${e.path}`;
    const best = strongest(e.hashes)!;
    const dir = e.path.includes('/') ? e.path.slice(0, e.path.lastIndexOf('/')) : '';
    // By-hash (Acquire-By-Hash): the strongest hash's directory first, then the others, then the plain path, as apt
    // does (a mirror may publish by-hash for SHA256 only). Content-addressed names never change, so rescans of an
    // unchanged suite re-fetch nothing but the Release file (and the ETag cache answers that with a 304).
    const candidates = [
      ...(byHash
        ? RELEASE_HASHES.filter(([, h]) => e.hashes.has(h) && h !== 'MD5').map(([, h, d]) => ({
            url: `${dists}/${dir ? `${dir}/` : ''}by-hash/${d}/${e.hashes.get(h)}`,
            hash: h,
          }))
        : []),
      { url, hash: best[0] },
    ];
    const errors: NonNullable<RelatedInfo['errors']> = [];
    let compressed: Uint8Array | undefined;
    try {
      let doc;
      let used = candidates[0];
      for (const c of candidates) {
        used = c;
        doc = await this.http.get(c.url, { limit: MAX_INDEX_BYTES, optional: true });
        if (doc) break;
      }
      if (!doc) throw new HttpError('HTTP 404 (not found)', { uri: url, status: 404 });
      const want = e.hashes.get(used.hash)!;
      const got = digestOf(doc.bytes, used.hash);
      if (doc.bytes.length !== e.size || got !== want) {
        throw new HttpError(`${used.hash} ${got} (${doc.bytes.length} bytes) does not match the Release's ${want} (${e.size} bytes); index not used`, {
          uri: used.url,
        });
      }
      compressed = doc.bytes;
    } catch (err) {
      errors.push(errorEntry(err, url));
    }
    const sha256 = e.hashes.get('SHA-256');
    yield listedRef(
      {
        url,
        name: e.path,
        size: e.size,
        ...(sha256 ? { digest: `sha256:${sha256}` } : {}),
        annotations: { 'release.index': chain([]).index, 'release.kind': 'apt-index' },
        errors,
        chains: [chain([best[0]])],
      },
      this.http,
      'none',
    );
    if (compressed === undefined) return;
    try {
      yield* this.walkStanzas(compressed, url, e, chain, best[0], seenFiles);
    } catch (err) {
      // Recorded on the index's artifact (scan() merges a problem into the artifact of its URI).
      yield { uri: url, ...errorEntry(err, url) };
    }
  }

  /** Packages/Sources decompressed and parsed as they stream: one stanza is held at a time. */
  private async *walkStanzas(
    compressed: Uint8Array,
    url: string,
    e: IndexEntry,
    chain: (hashes: (string | undefined)[]) => IndexChain,
    releaseHash: string,
    seenFiles: Set<string>,
  ): AsyncIterable<ArtifactRef> {
    const reader = new StanzaReader();
    const count = countRecords(MAX_STANZAS, url);
    const lines = linesOf(decodeChunks(inflateChunks(compressed, url)));
    const it = lines[Symbol.asyncIterator]();
    for (;;) {
      const next = await it.next();
      const s = next.done ? reader.end() : reader.line(next.value);
      if (s) {
        count();
        yield* this.stanzaRefs(s, e, chain, releaseHash, seenFiles);
      }
      if (next.done) return;
    }
  }

  private async *stanzaRefs(
    s: Map<string, string>,
    e: IndexEntry,
    chain: (hashes: (string | undefined)[]) => IndexChain,
    releaseHash: string,
    seenFiles: Set<string>,
  ): AsyncIterable<ArtifactRef> {
    if (/source\/Sources$/.test(e.path.replace(/\.(xz|gz)$/, ''))) {
      yield* this.sourceFiles(s, e, chain, releaseHash, seenFiles);
      return;
    }
    const filename = s.get('Filename');
    if (!filename || filename.includes('..') || filename.startsWith('/')) return;
    if (seenFiles.has(filename)) return;
    seenFiles.add(filename);
    const hashes = new Map<string, string>();
    for (const [f, h] of PACKAGE_HASHES) if (s.get(f)) hashes.set(h, s.get(f)!.toLowerCase());
    const linkHash = PACKAGE_HASHES.map(([, h]) => h).find((h) => hashes.has(h));
    const size = Number(s.get('Size'));
    const pkgUrl = `${this.base}/${filename}`;
    const pkgErrors: NonNullable<RelatedInfo['errors']> = [];
    if (linkHash === 'MD5' || linkHash === 'SHA-1')
      pkgErrors.push({
        code: 'malformed',
        message: `${e.path} lists only ${linkHash} for this package; a collision-broken hash breaks the signed chain`,
        uri: pkgUrl,
      });
    yield listedRef(
      {
        url: pkgUrl,
        name: filename,
        ...(Number.isSafeInteger(size) && size >= 0 ? { size } : {}),
        ...(hashes.get('SHA-256') ? { digest: `sha256:${hashes.get('SHA-256')}` } : {}),
        annotations: {
          'release.index': `dists/${this.suite}/${e.path}`,
          'apt.package': s.get('Package') ?? '',
          'apt.version': s.get('Version') ?? '',
          'apt.architecture': s.get('Architecture') ?? '',
        },
        errors: pkgErrors,
        chains: [chain([releaseHash, linkHash])],
        ...(this.fetch === 'headers' && filename.endsWith('.deb') ? { extra: () => this.embeddedSignatures(pkgUrl, size) } : {}),
      },
      this.http,
      this.fetch,
    );
  }

  private async *sourceFiles(
    s: Map<string, string>,
    e: IndexEntry,
    chain: (hashes: (string | undefined)[]) => IndexChain,
    releaseHash: string,
    seenFiles: Set<string>,
  ): AsyncIterable<ArtifactRef> {
    const dir = s.get('Directory');
    if (!dir || dir.includes('..') || dir.startsWith('/')) return;
    const files = new Map<string, { size: number; hashes: Map<string, string> }>();
    for (const [field, hash] of [
      ['Checksums-Sha512', 'SHA-512'],
      ['Checksums-Sha256', 'SHA-256'],
      ['Checksums-Sha1', 'SHA-1'],
      ['Files', 'MD5'],
    ] as const) {
      for (const line of (s.get(field) ?? '').split('\n')) {
        const m = line.trim().match(/^([0-9a-f]+)\s+(\d+)\s+(\S+)$/i);
        if (!m || m[3].includes('/')) continue;
        const f = files.get(m[3]) ?? { size: Number(m[2]), hashes: new Map() };
        f.hashes.set(hash, m[1].toLowerCase());
        files.set(m[3], f);
      }
    }
    for (const [name, f] of files) {
      const path = `${dir}/${name}`;
      if (seenFiles.has(path)) continue;
      seenFiles.add(path);
      const linkHash = ['SHA-512', 'SHA-256', 'SHA-1', 'MD5'].find((h) => f.hashes.has(h));
      yield listedRef(
        {
          url: `${this.base}/${path}`,
          name: path,
          size: f.size,
          ...(f.hashes.get('SHA-256') ? { digest: `sha256:${f.hashes.get('SHA-256')}` } : {}),
          annotations: { 'release.index': `dists/${this.suite}/${e.path}`, 'apt.source': s.get('Package') ?? '', 'apt.version': s.get('Version') ?? '' },
          errors: [],
          chains: [chain([releaseHash, linkHash])],
        },
        this.http,
        // A .dsc is itself (clear)signed by its uploader: with --fetch headers it is small enough to read whole.
        this.fetch === 'headers' ? (name.endsWith('.dsc') ? 'all' : 'none') : this.fetch,
      );
    }
  }

  /**
   * debsig-verify (`_gpgorigin`) and dpkg-sig (`_gpgbuilder`) signatures are ar members of the .deb (deb(5)): walk the
   * 60-byte ar member headers by range and fetch only the `_gpg*` members, for the engine to read.
   */
  private async embeddedSignatures(url: string, size: number): Promise<Partial<RelatedInfo>> {
    const attached: ArtifactRef[] = [];
    let off = 8;
    // A server that ignores Range (issue 15) answers with the whole body: a small .deb is then read once, from memory
    // after that, and the artifact says so; a large one is refused by readRange past its prefix limit.
    let whole: Uint8Array | undefined;
    const range = async (start: number, end: number): Promise<Uint8Array> => {
      if (whole) return whole.subarray(start, end);
      const r = await this.http.readRange(url, start, end);
      if (!r.rangeIgnored) return r.bytes;
      whole = size <= MAX_UNRANGED_PREFIX ? (await this.http.readRange(url, 0, size)).bytes : undefined;
      return whole ? whole.subarray(start, end) : r.bytes;
    };
    const annotations = () => (whole ? { rangeIgnored: rangeIgnoredNote(whole.length) } : undefined);
    const magic = await range(0, Math.min(68, size));
    if (new TextDecoder().decode(magic.subarray(0, 8)) !== '!<arch>\n')
      return { errors: [{ code: 'malformed', message: 'not an ar archive (deb(5))', uri: url }] };
    let header = magic.subarray(8);
    for (let i = 0; i < MAX_AR_MEMBERS && off + 60 <= size; i++) {
      if (header.length < 60) header = await range(off, off + 60);
      const name = new TextDecoder().decode(header.subarray(0, 16)).trim().replace(/\/$/, '');
      const len = Number(new TextDecoder().decode(header.subarray(48, 58)).trim());
      if (!Number.isSafeInteger(len) || len < 0 || off + 60 + len > size)
        return { errors: [{ code: 'malformed', message: `ar member header at ${off} is damaged`, uri: url }] };
      if (name.startsWith('_gpg') && len <= MAX_EMBEDDED_SIGNATURE) attached.push(bytesRef(`${url}!/${name}`, name, await range(off + 60, off + 60 + len)));
      off += 60 + len + (len % 2);
      header = new Uint8Array();
    }
    const a = annotations();
    return { ...(attached.length ? { attached } : {}), ...(a ? { annotations: a } : {}) };
  }
}
