/**
 * yum/dnf (rpm-md) repositories over HTTP(S), walked in place (createrepo_c's format; rpm.org docs/manual/format.md):
 * `repodata/repomd.xml` and its detached `repomd.xml.asc`, the primary metadata it lists (checked against repomd's
 * checksum, decompressed under caps), then each package as an artifact identified by primary's `pkgid` checksum.
 * With the default `--fetch headers`, each RPM's lead + signature header + main header is read with ONE Range
 * request up to primary's `rpm:header-range end`, and its signature tags (v4 RSA/DSA/EdDSA, v6 OPENPGP) are parsed as
 * OpenPGP packets by the rpm detector (src/detectors/rpm.ts, reading src/formats/rpm.ts), never guessed from tag names.
 * @module
 */
import { createHash } from 'node:crypto';
import { UsageError } from '../errors.js';
import { HttpError, type HttpClient } from '../net/http.js';
import { inflateChunks } from '../net/inflate.js';
import { redactUrl } from '../net/secrets.js';
import { errorEntry, fetchMode, listedRef, rangeIgnoredNote, releaseClient, type FetchMode, type ReleaseSourceOptions } from './_release.js';
import { hashId } from './hashes.js';
import { countRecords, decodeChunks, tokenizeStream, tokens, type MarkupToken } from './markup.js';
import type { SourceOptions } from './index.js';
import { bytesRef, type ArtifactRef, type IndexChain, type RelatedInfo, type Source, type SourceProblem } from './types.js';

/** A signature + main header larger than this is not read (rpm's own header limits are far lower in practice). */
const MAX_HEADER_RANGE = 32 * 1024 * 1024;
const MAX_PACKAGES = 2_000_000;
/** repomd.xml and compressed primary metadata larger than this are refused. */
const MAX_INDEX_BYTES = 128 * 1024 * 1024;

export function yumSource(target: string, options: SourceOptions): Source {
  return new YumSource(target, options as ReleaseSourceOptions);
}

export interface RepomdData {
  type: string;
  href: string;
  checksumType?: string;
  checksum?: string;
  size?: number;
}

const MAX_REPOMD_ENTRIES = 1000;
const HEX = /^[0-9a-fA-F]+$/;

/** `<data type="…">` entries of repomd.xml (rpm-md: `<checksum type>`, `<location href>`, `<size>`), token by token. */
export class RepomdReader {
  private cur?: Partial<RepomdData>;
  private field?: 'checksum' | 'size';
  private text = '';

  take(t: MarkupToken): RepomdData | undefined {
    if (t.type === 'open') {
      if (t.name === 'data') this.cur = { type: t.attrs.type };
      else if (this.cur && t.name === 'location') this.cur.href ??= t.attrs.href;
      else if (this.cur && (t.name === 'checksum' || t.name === 'size')) {
        this.field = t.name;
        this.text = '';
        if (t.name === 'checksum') this.cur.checksumType ??= t.attrs.type;
      }
      return undefined;
    }
    if (t.type === 'text') {
      if (this.field) this.text += t.text;
      return undefined;
    }
    if (this.cur && this.field && t.name === this.field) {
      const v = this.text.trim();
      if (this.field === 'checksum' && HEX.test(v)) this.cur.checksum ??= v.toLowerCase();
      if (this.field === 'size' && /^\d+$/.test(v)) this.cur.size ??= Number(v);
      this.field = undefined;
    }
    if (t.name !== 'data' || !this.cur) return undefined;
    const d = this.cur;
    this.cur = undefined;
    return d.type && d.href ? (d as RepomdData) : undefined;
  }
}

/** `<data>` entries of a whole repomd.xml. */
export function parseRepomd(xml: string): RepomdData[] {
  const r = new RepomdReader();
  const count = countRecords(MAX_REPOMD_ENTRIES, 'repomd.xml');
  const out: RepomdData[] = [];
  for (const t of tokens(xml)) {
    const d = r.take(t);
    if (d) {
      count();
      out.push(d);
    }
  }
  return out;
}

export interface PrimaryPackage {
  name: string;
  href: string;
  checksumType?: string;
  checksum?: string;
  size?: number;
  headerEnd?: number;
  version?: string;
  arch?: string;
}

/**
 * `<package type="rpm">` entries of primary.xml (createrepo_c writes `rpm:header-range start= end=`), token by token:
 * one package held at a time, so a primary of any size streams through in bounded memory.
 */
export class PrimaryReader {
  private cur?: Partial<PrimaryPackage>;
  private field?: 'name' | 'arch' | 'checksum';
  private text = '';

  take(t: MarkupToken): PrimaryPackage | undefined {
    if (t.type === 'open') {
      if (t.name === 'package') {
        this.cur = {};
        return undefined;
      }
      const p = this.cur;
      if (!p) return undefined;
      if (t.name === 'location') p.href ??= t.attrs.href;
      else if (t.name === 'size') {
        const n = Number(t.attrs.package);
        if (p.size === undefined && Number.isSafeInteger(n) && n >= 0) p.size = n;
      } else if (t.name === 'rpm:header-range') {
        const n = Number(t.attrs.end);
        if (p.headerEnd === undefined && Number.isSafeInteger(n) && n > 0) p.headerEnd = n;
      } else if (t.name === 'version') p.version ??= `${t.attrs.ver ?? ''}-${t.attrs.rel ?? ''}`;
      else if (t.name === 'name' || t.name === 'arch' || t.name === 'checksum') {
        this.field = t.name;
        this.text = '';
        if (t.name === 'checksum') p.checksumType ??= t.attrs.type;
      }
      return undefined;
    }
    if (t.type === 'text') {
      if (this.field) this.text += t.text;
      return undefined;
    }
    const p = this.cur;
    if (p && this.field && t.name === this.field) {
      const v = this.text.trim();
      if (this.field === 'checksum') {
        if (HEX.test(v)) p.checksum ??= v.toLowerCase();
      } else p[this.field] ??= v;
      this.field = undefined;
    }
    if (t.name !== 'package' || !p) return undefined;
    this.cur = undefined;
    return p.href ? { name: p.name ?? '', ...p, href: p.href } : undefined;
  }
}

/** The packages of a whole primary.xml (tests; the source streams it). */
export function* parsePrimary(xml: string, max = MAX_PACKAGES): Iterable<PrimaryPackage> {
  const r = new PrimaryReader();
  const count = countRecords(max, 'primary.xml');
  for (const t of tokens(xml)) {
    const p = r.take(t);
    if (p) {
      count();
      yield p;
    }
  }
}

function nodeHash(type: string | undefined): string {
  return { sha: 'sha1', sha1: 'sha1', sha224: 'sha224', sha256: 'sha256', sha384: 'sha384', sha512: 'sha512', md5: 'md5' }[type ?? ''] ?? 'sha256';
}

class YumSource implements Source {
  readonly target: string;
  private readonly base: string;
  private readonly http: HttpClient;
  private readonly owned: boolean;
  private readonly fetch: FetchMode;

  constructor(target: string, options: ReleaseSourceOptions) {
    const c = releaseClient(target.replace(/^(yum|dnf)\+/i, ''), options);
    this.target = redactUrl(target);
    if (!/^https?:\/\//i.test(c.url)) throw new UsageError('a yum target is yum+https://host/path/ (the directory holding repodata/)', { uri: this.target });
    this.base = c.url.replace(/\/+$/, '').replace(/\/repodata(\/repomd\.xml)?$/, '');
    this.http = c.http;
    this.owned = c.owned;
    this.fetch = fetchMode(options.fetch, 'headers');
  }

  async close(): Promise<void> {
    if (this.owned) await this.http.close();
  }

  async *walk(): AsyncIterable<ArtifactRef | SourceProblem> {
    const repomdUrl = `${this.base}/repodata/repomd.xml`;
    let repomd: Uint8Array;
    const attached: ArtifactRef[] = [];
    const keys: ArtifactRef[] = [];
    try {
      const doc = await this.http.get(repomdUrl, { limit: MAX_INDEX_BYTES, optional: true });
      if (!doc) throw new HttpError(`not found: is ${this.base} a yum repository?`, { uri: repomdUrl, status: 404 });
      repomd = doc.bytes;
      const asc = await this.http.get(`${repomdUrl}.asc`, { optional: true });
      if (asc) {
        attached.push(bytesRef(`${repomdUrl}.asc`, 'repomd.xml.asc', asc.bytes));
        // The repository's published key (createrepo/OBS convention), for the expiry check only: trust is not implied.
        const key = await this.http.get(`${repomdUrl}.key`, { optional: true });
        if (key) keys.push(bytesRef(`${repomdUrl}.key`, 'repomd.xml.key.asc', key.bytes));
      }
    } catch (e) {
      yield { uri: repomdUrl, ...errorEntry(e, repomdUrl) };
      return;
    }
    yield bytesRef(repomdUrl, 'repomd.xml', repomd, {
      reusable: false,
      related: async () => ({
        attached,
        vouching: { keys, unsigned: 'no repomd.xml.asc signature; every package it lists is index-unsigned' },
      }),
    });
    // Everything repomd lists is covered by repomd's signature (the same objects for every package: detected once).
    const chain = (hashes: (string | undefined)[]): IndexChain => ({ index: 'repodata/repomd.xml', signatures: attached, keys, hashes });

    const data = parseRepomd(new TextDecoder().decode(repomd));
    const primary = data.find((d) => d.type === 'primary');
    if (!primary) {
      yield { uri: repomdUrl, code: 'malformed', message: 'lists no primary metadata' };
      return;
    }
    const primaryUrl = `${this.base}/${primary.href}`;
    const primaryHash = hashId(primary.checksumType ?? '');
    const primaryErrors: NonNullable<RelatedInfo['errors']> = [];
    let compressed: Uint8Array | undefined;
    try {
      if (primary.href.includes('..') || /^[a-z]+:/i.test(primary.href)) throw new HttpError('location escapes the repository', { uri: primaryUrl });
      const doc = await this.http.get(primaryUrl, { limit: MAX_INDEX_BYTES });
      const got = createHash(nodeHash(primary.checksumType)).update(doc!.bytes).digest('hex');
      if (!primary.checksum || got !== primary.checksum)
        throw new HttpError(`${primary.checksumType} ${got} does not match repomd.xml's ${primary.checksum}; index not used`, { uri: primaryUrl });
      compressed = doc!.bytes;
    } catch (e) {
      primaryErrors.push(errorEntry(e, primaryUrl));
    }
    yield listedRef(
      {
        url: primaryUrl,
        name: primary.href,
        ...(primary.size !== undefined ? { size: primary.size } : {}),
        ...(primaryHash === 'SHA-256' ? { digest: `sha256:${primary.checksum}` } : {}),
        annotations: { 'release.index': 'repodata/repomd.xml', 'release.kind': 'yum-primary' },
        errors: primaryErrors,
        chains: [chain([primaryHash])],
      },
      this.http,
      'none',
    );
    if (!compressed) return;
    // Decompressed and parsed as it streams: one package is held at a time, whatever the metadata expands to.
    try {
      const reader = new PrimaryReader();
      const count = countRecords(MAX_PACKAGES, primaryUrl);
      for await (const t of tokenizeStream(decodeChunks(inflateChunks(compressed, primaryUrl)))) {
        const p = reader.take(t);
        if (!p) continue;
        count();
        if (p.href.includes('..') || /^[a-z]+:/i.test(p.href)) continue;
        const url = `${this.base}/${p.href}`;
        const linkHash = hashId(p.checksumType ?? '');
        const pkgErrors: NonNullable<RelatedInfo['errors']> = [];
        if (linkHash === 'MD5' || linkHash === 'SHA-1')
          pkgErrors.push({
            code: 'malformed',
            message: `primary.xml identifies this package only by ${linkHash}; a collision-broken hash breaks the signed chain`,
            uri: url,
          });
        const headerEnd = p.headerEnd;
        yield listedRef(
          {
            url,
            name: p.href,
            ...(p.size !== undefined ? { size: p.size } : {}),
            ...(linkHash === 'SHA-256' && p.checksum ? { digest: `sha256:${p.checksum}` } : {}),
            annotations: {
              'release.index': primary.href,
              'rpm.name': p.name,
              ...(p.version ? { 'rpm.version': p.version } : {}),
              ...(p.arch ? { 'rpm.arch': p.arch } : {}),
            },
            errors: pkgErrors,
            chains: [chain([primaryHash, linkHash])],
            ...(this.fetch === 'headers' ? { extra: () => this.signatureHeader(url, headerEnd, p.size) } : {}),
          },
          this.http,
          this.fetch,
        );
      }
    } catch (e) {
      // Recorded on the primary metadata's artifact (scan() merges a problem into the artifact of its URI).
      yield { uri: primaryUrl, ...errorEntry(e, primaryUrl) };
    }
  }

  /**
   * ONE Range request: bytes 0..header-range end cover the lead, the signature header and the main header; the engine
   * reads its signature tags with the rpm detector (`attached`).
   */
  private async signatureHeader(url: string, headerEnd: number | undefined, size: number | undefined): Promise<Partial<RelatedInfo>> {
    if (!headerEnd)
      return {
        errors: [{ code: 'unsupported', message: 'primary.xml gives no rpm:header-range for this package; its signature header was not read', uri: url }],
      };
    if (headerEnd > MAX_HEADER_RANGE || (size !== undefined && headerEnd > size))
      return { errors: [{ code: 'limit-size', message: `header range end ${headerEnd} is implausible; not read`, uri: url }] };
    // A server that ignores Range answers 200 with the whole package: its start is read up to the header's end and the
    // stream cancelled there (src/net/http.ts readRange), and the artifact says so.
    const { bytes, rangeIgnored } = await this.http.readRange(url, 0, headerEnd);
    return {
      attached: [bytesRef(`${url}#header`, 'rpm signature header', bytes)],
      ...(rangeIgnored ? { annotations: { rangeIgnored: rangeIgnoredNote(bytes.length) } } : {}),
    };
  }
}
