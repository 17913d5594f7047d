/**
 * yum/dnf (rpm-md) repositories over HTTP(S), walked in place (createrepo_c's format; rpm.org docs/manual/format.md):
 * `repodata/repomd.xml` and its detached `repomd.xml.asc`, the primary metadata it lists (checked against repomd's
 * checksum, decompressed under caps), then each package as an artifact identified by primary's `pkgid` checksum.
 * With the default `--fetch headers`, each RPM's lead + signature header + main header is read with ONE Range
 * request up to primary's `rpm:header-range end`, and its signature tags (v4 RSA/DSA/EdDSA, v6 OPENPGP) are parsed as
 * OpenPGP packets by the rpm detector (src/detectors/rpm.ts), never guessed from tag names.
 * @module
 */
import { createHash } from 'node:crypto';
import { LimitError, UsageError } from '../errors.js';
import { HttpError, type HttpClient } from '../net/http.js';
import { inflate } from '../net/inflate.js';
import { redactUrl } from '../net/secrets.js';
import { errorEntry, fetchMode, listedRef, releaseClient, xmlBlocks, type FetchMode, type ReleaseSourceOptions } from './_release.js';
import { hashId } from './hashes.js';
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

const XML_ENTITIES: Record<string, string> = { amp: '&', lt: '<', gt: '>', quot: '"', apos: "'" };
function unescapeXml(s: string): string {
  return s.replace(/&(amp|lt|gt|quot|apos|#\d+|#x[0-9a-f]+);/gi, (_, e: string) =>
    e[0] === '#' ? String.fromCodePoint(e[1] === 'x' || e[1] === 'X' ? parseInt(e.slice(2), 16) : Number(e.slice(1))) : XML_ENTITIES[e],
  );
}

function attr(tag: string, name: string): string | undefined {
  const m = tag.match(new RegExp(`\\s${name}\\s*=\\s*("([^"]*)"|'([^']*)')`));
  return m ? unescapeXml(m[2] ?? m[3]) : undefined;
}

export interface RepomdData {
  type: string;
  href: string;
  checksumType?: string;
  checksum?: string;
  size?: number;
}

/** `<data type="primary">` entries of repomd.xml. */
export function parseRepomd(xml: string): RepomdData[] {
  const out: RepomdData[] = [];
  for (const d of xmlBlocks(xml, 'data', 1000)) {
    const type = attr(d.attrs, 'type');
    if (!type) continue;
    const body = d.body;
    const loc = body.match(/<location\s[^>]*>/)?.[0];
    const ck = body.match(/<checksum\s([^>]*)>\s*([0-9a-fA-F]+)\s*<\/checksum>/);
    const size = body.match(/<size>\s*(\d+)\s*<\/size>/)?.[1];
    const href = loc ? attr(loc, 'href') : undefined;
    if (!href) continue;
    out.push({
      type,
      href,
      ...(ck ? { checksumType: attr(` ${ck[1]}`, 'type'), checksum: ck[2].toLowerCase() } : {}),
      ...(size ? { size: Number(size) } : {}),
    });
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

/** `<package type="rpm">` entries of primary.xml (createrepo_c writes `rpm:header-range start= end=`). */
export function* parsePrimary(xml: string, max = MAX_PACKAGES): Iterable<PrimaryPackage> {
  let n = 0;
  for (const m of xmlBlocks(xml, 'package')) {
    if (++n > max) throw new LimitError('limit-entries', `primary.xml lists more than ${max} packages; the rest were not read`);
    const b = m.body;
    const loc = b.match(/<location\s[^>]*>/)?.[0];
    const href = loc ? attr(loc, 'href') : undefined;
    if (!href) continue;
    const ck = b.match(/<checksum\s([^>]*)>\s*([0-9a-fA-F]+)\s*<\/checksum>/);
    const sizeTag = b.match(/<size\s[^>]*>/)?.[0];
    const hr = b.match(/<rpm:header-range\s[^>]*>/)?.[0];
    const ver = b.match(/<version\s[^>]*>/)?.[0];
    const end = hr ? Number(attr(hr, 'end')) : NaN;
    const size = sizeTag ? Number(attr(sizeTag, 'package')) : NaN;
    yield {
      name: unescapeXml(b.match(/<name>([^<]*)<\/name>/)?.[1] ?? ''),
      href,
      ...(ck ? { checksumType: attr(` ${ck[1]}`, 'type'), checksum: ck[2].toLowerCase() } : {}),
      ...(Number.isSafeInteger(size) && size >= 0 ? { size } : {}),
      ...(Number.isSafeInteger(end) && end > 0 ? { headerEnd: end } : {}),
      ...(ver ? { version: `${attr(ver, 'ver') ?? ''}-${attr(ver, 'rel') ?? ''}` } : {}),
      arch: b.match(/<arch>([^<]*)<\/arch>/)?.[1],
    };
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
    let xml: string | undefined;
    try {
      if (primary.href.includes('..') || /^[a-z]+:/i.test(primary.href)) throw new HttpError('location escapes the repository', { uri: primaryUrl });
      const doc = await this.http.get(primaryUrl, { limit: MAX_INDEX_BYTES });
      const got = createHash(nodeHash(primary.checksumType)).update(doc!.bytes).digest('hex');
      if (!primary.checksum || got !== primary.checksum)
        throw new HttpError(`${primary.checksumType} ${got} does not match repomd.xml's ${primary.checksum}; index not used`, { uri: primaryUrl });
      xml = new TextDecoder().decode(await inflate(doc!.bytes, primaryUrl));
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
    if (xml === undefined) return;
    try {
      for (const p of parsePrimary(xml)) {
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
    const bytes = await this.http.range(url, 0, headerEnd);
    return { attached: [bytesRef(`${url}#header`, 'rpm signature header', bytes)] };
  }
}
