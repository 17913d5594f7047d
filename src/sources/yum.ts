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
import { runDetectors } from '../detectors/index.js';
import { LimitError, UsageError } from '../errors.js';
import type { ErrorEntry } from '../model.js';
import { HttpClient, httpClientFrom, HttpError, MAX_COMPRESSED_INDEX_BYTES, decompressIndex } from './_http.js';
import { chainFindings, checkSigningKeys, fetchMode, hashId, listedRef, readSignatures, xmlBlocks, type FetchMode, type SignedIndex } from './_release.js';
import type { SourceOptions } from './index.js';
import { bytesRef, type ArtifactRef, type RelatedInfo, type Source, type SourceProblem } from './types.js';

/** A signature + main header larger than this is not read (rpm's own header limits are far lower in practice). */
const MAX_HEADER_RANGE = 32 * 1024 * 1024;
const MAX_PACKAGES = 2_000_000;

export interface YumSourceOptions extends SourceOptions {
  fetch?: FetchMode;
  ca?: string | string[];
  http?: HttpClient;
  backoffMs?: number;
  timeoutMs?: number;
  now?: Date;
}

export function yumSource(target: string, options: SourceOptions): Source {
  return new YumSource(target, options as YumSourceOptions);
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
    if (++n > max) throw new LimitError('limit-entries', `primary.xml lists more than ${max} packages`);
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
  private readonly base: string;
  private readonly http: HttpClient;
  private readonly fetch: FetchMode;

  constructor(
    readonly target: string,
    private readonly options: YumSourceOptions,
  ) {
    const url = target.replace(/^(yum|dnf)\+/i, '');
    if (!/^https?:\/\//i.test(url)) throw new UsageError(`${target}: a yum target is yum+https://host/path/ (the directory holding repodata/)`);
    this.base = url.replace(/\/+$/, '').replace(/\/repodata(\/repomd\.xml)?$/, '');
    this.http = httpClientFrom(options);
    this.fetch = fetchMode(options.fetch, 'headers');
  }

  async *walk(): AsyncIterable<ArtifactRef | SourceProblem> {
    // The client stays open: the engine fetches signature headers and siblings (related()) after the walk ends.
    // undici unrefs idle sockets, so an unclosed client does not hold the process.
    yield* this.walkRepo();
  }

  private async *walkRepo(): AsyncIterable<ArtifactRef | SourceProblem> {
    const repomdUrl = `${this.base}/repodata/repomd.xml`;
    const index: SignedIndex = { url: repomdUrl, name: 'repodata/repomd.xml', signatures: [], errors: [] };
    let repomd: Uint8Array;
    const attached: ArtifactRef[] = [];
    const errors: ErrorEntry[] = [];
    try {
      const doc = await this.http.get(repomdUrl, { limit: MAX_COMPRESSED_INDEX_BYTES });
      if (!doc) throw new HttpError(`${repomdUrl}: not found: is ${this.base} a yum repository?`, 404);
      repomd = doc.bytes;
      const asc = await this.http.get(`${repomdUrl}.asc`, { optional: true });
      if (asc) {
        const sig = readSignatures(asc.bytes, 'repomd.xml.asc', `${repomdUrl}.asc`);
        index.signatures = sig.signatures;
        errors.push(...sig.errors);
        attached.push(bytesRef(`${repomdUrl}.asc`, 'repomd.xml.asc', asc.bytes));
        // The repository's published key (createrepo/OBS convention), for the expiry check only: trust is not implied.
        const key = await this.http.get(`${repomdUrl}.key`, { optional: true }).catch(() => undefined);
        if (key)
          errors.push(
            ...checkSigningKeys(
              index.signatures,
              readSignatures(key.bytes, 'repomd.xml.key.asc', `${repomdUrl}.key`).keys,
              this.options.now ?? new Date(),
              repomdUrl,
            ),
          );
      }
    } catch (e) {
      yield { uri: repomdUrl, code: 'remote', message: (e as Error).message };
      return;
    }
    const signed = index.signatures.length > 0;
    if (!signed)
      errors.push({ code: 'unsupported', message: `${repomdUrl}: no repomd.xml.asc signature; every package it lists is index-unsigned`, source: 'source' });
    yield bytesRef(repomdUrl, 'repomd.xml', repomd, {
      related: async () => ({
        attached,
        coverage: signed ? 'signed' : 'unsigned',
        errors: errors.map((e) => ({ code: e.code as 'malformed', message: e.message })),
      }),
    });

    const keyErrors = errors.filter((e) => /expired/.test(e.message));
    const data = parseRepomd(new TextDecoder().decode(repomd));
    const primary = data.find((d) => d.type === 'primary');
    if (!primary) {
      yield { uri: repomdUrl, code: 'remote', message: `${repomdUrl}: lists no primary metadata` };
      return;
    }
    const primaryUrl = `${this.base}/${primary.href}`;
    const primaryHash = hashId(primary.checksumType ?? '');
    const primaryErrors: ErrorEntry[] = [...keyErrors];
    let xml: string | undefined;
    try {
      if (primary.href.includes('..')) throw new HttpError(`${primaryUrl}: location escapes the repository`);
      const doc = await this.http.get(primaryUrl, { limit: MAX_COMPRESSED_INDEX_BYTES });
      if (!doc) throw new HttpError(`${primaryUrl}: HTTP 404`, 404);
      const got = createHash(nodeHash(primary.checksumType)).update(doc.bytes).digest('hex');
      if (!primary.checksum || got !== primary.checksum)
        throw new HttpError(`${primaryUrl}: ${primary.checksumType} ${got} does not match repomd.xml's ${primary.checksum}; index not used`);
      xml = new TextDecoder().decode(await decompressIndex(doc.bytes, primaryUrl));
    } catch (e) {
      primaryErrors.push({
        code: (e as { code?: string }).code?.startsWith('limit-') ? 'limit-size' : 'remote',
        message: (e as Error).message,
        source: 'source',
      });
    }
    const coverage = signed ? 'covered' : 'index-unsigned';
    yield listedRef(
      {
        url: primaryUrl,
        name: primary.href,
        ...(primary.size !== undefined ? { size: primary.size } : {}),
        ...(primaryHash === 'SHA-256' ? { digest: `sha256:${primary.checksum}` } : {}),
        annotations: { 'release.index': index.name, 'release.kind': 'yum-primary' },
        findings: chainFindings(index, [primaryHash]),
        errors: primaryErrors,
        coverage,
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
        const pkgErrors: ErrorEntry[] = [...keyErrors];
        if (linkHash === 'MD5' || linkHash === 'SHA-1')
          pkgErrors.push({
            code: 'malformed',
            message: `${url}: primary.xml identifies this package only by ${linkHash}; a collision-broken hash breaks the signed chain`,
            source: 'source',
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
            findings: chainFindings(index, [primaryHash, linkHash]),
            errors: pkgErrors,
            coverage,
            ...(this.fetch === 'headers' ? { extra: () => this.signatureHeader(url, p.href, headerEnd, p.size) } : {}),
          },
          this.http,
          this.fetch,
        );
      }
    } catch (e) {
      yield { uri: primaryUrl, code: 'remote', message: `${primaryUrl}: ${(e as Error).message}` };
    }
  }

  /** ONE Range request: bytes 0..header-range end cover the lead, the signature header and the main header. */
  private async signatureHeader(url: string, name: string, headerEnd: number | undefined, size: number | undefined): Promise<Partial<RelatedInfo>> {
    if (!headerEnd)
      return {
        errors: [{ code: 'unsupported', message: `${url}: primary.xml gives no rpm:header-range for this package; its signature header was not read` }],
      };
    if (headerEnd > MAX_HEADER_RANGE || (size !== undefined && headerEnd > size))
      return { errors: [{ code: 'limit-size', message: `${url}: header range end ${headerEnd} is implausible; not read` }] };
    const bytes = await this.http.range(url, 0, headerEnd);
    const base = name.split('/').pop() ?? name;
    const r = runDetectors(bytes, { name: base, uri: url, size: size ?? bytes.length, baseOffset: 0, whole: false }, { only: new Set(['rpm']) });
    const findings = r.findings.map((f) => ({ ...f, location: { ...f.location, member: 'rpm signature header' } }));
    const own = findings.some((f) => f.kind === 'signature');
    return {
      findings,
      errors: r.errors.map((e) => ({ code: e.code === 'truncated' || e.code === 'unsupported' ? 'malformed' : 'malformed', message: e.message })),
      ...(own ? { coverage: 'signed' as const } : {}),
      ...(Object.keys(r.annotations).length ? { annotations: r.annotations } : {}),
    };
  }
}
