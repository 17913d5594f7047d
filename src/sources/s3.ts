/**
 * `s3://bucket[/prefix]` (and `s3://bucket/key?versionId=…`): objects of any S3-compatible store, read in place with
 * `@aws-sdk/client-s3` — the SDK's standard credential chain, region and endpoint settings (`AWS_PROFILE`,
 * `AWS_ENDPOINT_URL_S3` …), its retries and throttling. ListObjectsV2 (or ListObjectVersions with `--versions`: every
 * non-current version, delete markers reported as such), object metadata and tags as annotations, ETag recorded.
 *
 * Reads: objects up to the digest threshold are streamed once (sha256 + detectors). Larger ones, and every object with
 * `--digest none`, are read by range: a head and a tail window (ArtifactRef.sample), unless the head shows a container.
 * @module
 */
import { createHash } from 'node:crypto';
import {
  GetObjectCommand,
  GetObjectTaggingCommand,
  HeadObjectCommand,
  ListObjectVersionsCommand,
  ListObjectsV2Command,
  type S3Client,
} from '@aws-sdk/client-s3';
import { LimitError, ShelflifeError, UsageError, isErrorCode } from '../errors.js';
import type { NetOptions } from '../net/http.js';
import { defaultS3Client, describeAwsError } from '../net/s3.js';
import type { SourceOptions } from './index.js';
import type { ArtifactResult } from '../model.js';
import { REMOTE_SAMPLE_THRESHOLD, type ArtifactRef, type RelatedInfo, type Source, type SourceProblem, type WorkUnit } from './types.js';
import { compileGlobs } from '../glob.js';

/** Objects above this are sampled (head/tail windows) when `--digest` is `auto` (the default). */
export const S3_DIGEST_THRESHOLD = REMOTE_SAMPLE_THRESHOLD;
const MAX_META_CHARS = 2048;
/** Listing pages followed before the listing stops with a limit error. */
const MAX_PAGES = 1_000_000;
/** Pages in a row that list nothing (a token that never ends) before the listing stops with a limit error. */
const MAX_EMPTY_PAGES = 1000;
/** A store that ignores Range is read from the start up to the window's end only within this many bytes. */
const MAX_UNRANGED_READ = 64 * 1024 * 1024;

export interface S3SourceOptions extends SourceOptions, NetOptions {
  versions?: boolean;
  digest?: 'full' | 'none' | 'auto';
  /** Overrides the SDK's endpoint resolution (tests); otherwise AWS_ENDPOINT_URL_S3 / AWS_ENDPOINT_URL / config. */
  endpoint?: string;
  /** Tests and benchmarks: the client, to count requests with middleware. */
  s3Client?: S3Client;
  /** MaxKeys per listing page (tests exercise pagination with small pages). */
  pageSize?: number;
}

export interface S3Target {
  bucket: string;
  prefix: string;
  versionId?: string;
}

export function parseS3Target(target: string): S3Target {
  const m = target.match(/^s3:\/\/([^/?#]+)(\/[^?#]*)?(?:\?([^#]*))?$/i);
  if (!m) throw new UsageError('not an s3://bucket[/prefix] URI', { uri: target });
  const bucket = m[1];
  // S3 bucket naming rules (3–63 chars, lower case, digits, dots, hyphens); compatible stores are laxer about case.
  if (!/^[A-Za-z0-9][A-Za-z0-9._-]{1,62}$/.test(bucket)) throw new UsageError(`"${bucket}" is not a valid bucket name`, { uri: target });
  let prefix: string;
  try {
    prefix = decodeURIComponent((m[2] ?? '').replace(/^\//, ''));
  } catch {
    throw new UsageError('the key is not valid percent-encoding', { uri: target });
  }
  const q = new URLSearchParams(m[3] ?? '');
  const versionId = q.get('versionId') ?? undefined;
  if (versionId !== undefined && (!prefix || prefix.endsWith('/'))) throw new UsageError('versionId needs an object key', { uri: target });
  return { bucket, prefix, ...(versionId ? { versionId } : {}) };
}

export function s3Uri(bucket: string, key: string, versionId?: string): string {
  const path = key.split('/').map(encodeURIComponent).join('/');
  return `s3://${bucket}/${path}${versionId ? `?versionId=${encodeURIComponent(versionId)}` : ''}`;
}

/** Window per side when sampling: about 1/64 of the object (so under ~3% is read), at least 4 KiB, at most 1 MiB. */
export function sampleWindow(size: number): number {
  return Math.min(1024 * 1024, Math.max(4096, Math.floor(size / 64)));
}

/**
 * Pagination under guard: a continuation token (or key/version marker pair) seen before is a loop, and a run of empty
 * pages or the page cap is a limit. Both stop the listing with an error that says so; what was listed is kept. Tokens
 * are remembered by a short hash, so a long listing costs a few dozen bytes per page.
 */
class PageGuard {
  private readonly seen = new Set<string>();
  private empty = 0;
  private pages = 0;

  constructor(private readonly operation: string) {}

  next(token: string, listed: number): void {
    if (++this.pages >= MAX_PAGES)
      throw new LimitError('limit-entries', `${this.operation}: more than ${MAX_PAGES} pages; the rest of the listing was not read`);
    this.empty = listed ? 0 : this.empty + 1;
    if (this.empty >= MAX_EMPTY_PAGES)
      throw new LimitError('limit-entries', `${this.operation}: ${MAX_EMPTY_PAGES} pages in a row listed nothing; the listing was stopped there`);
    const h = createHash('sha256').update(token).digest('base64');
    if (this.seen.has(h))
      throw new ShelflifeError('malformed', `${this.operation}: the store answered a pagination token it gave before (a loop); the listing was stopped there`);
    this.seen.add(h);
  }
}

/** At most `end` bytes of a body, the window [start, end) of them; the rest of the body is not read. */
async function window(body: AsyncIterable<Uint8Array>, start: number, end: number): Promise<Uint8Array> {
  const parts: Uint8Array[] = [];
  let pos = 0;
  for await (const c of body) {
    const from = Math.max(start - pos, 0);
    const to = Math.min(end - pos, c.length);
    if (to > from) parts.push(c.subarray(from, to));
    pos += c.length;
    if (pos >= end) break;
  }
  return new Uint8Array(Buffer.concat(parts));
}

/** What a GET or HEAD response says about the object. */
interface ObjectHead {
  ContentType?: string;
  Metadata?: Record<string, string>;
  TagCount?: number;
}

interface Listed {
  key: string;
  size: number;
  etag?: string;
  modified?: Date;
  versionId?: string;
  isLatest?: boolean;
  deleteMarker?: boolean;
  storageClass?: string;
}

export class S3Source implements Source {
  private readonly t: S3Target;
  private readonly client: S3Client;
  private readonly match?: (key: string) => boolean;

  constructor(
    readonly target: string,
    private readonly options: S3SourceOptions = {},
  ) {
    this.t = parseS3Target(target);
    this.client = options.s3Client ?? defaultS3Client(options);
    // User globs, matched against keys a bucket's owner chose: bounded complexity, no backtracking (src/glob.ts).
    const inc = options.include?.length ? compileGlobs(options.include, '--include') : undefined;
    const exc = options.exclude?.length ? compileGlobs(options.exclude, '--exclude') : undefined;
    if (inc || exc) this.match = (k) => (!inc || inc(k)) && !exc?.(k);
  }

  /** The client is ours unless the caller passed one (tests, benchmarks). */
  async close(): Promise<void> {
    if (!this.options.s3Client) this.client.destroy();
  }

  async *walk(unit?: WorkUnit): AsyncIterable<ArtifactRef | SourceProblem> {
    const range =
      typeof unit?.part.last === 'string' ? { after: typeof unit.part.after === 'string' ? unit.part.after : undefined, last: unit.part.last } : undefined;
    try {
      for await (const o of this.list(range)) {
        const rel = o.key.startsWith(this.t.prefix) && this.t.prefix.endsWith('/') ? o.key.slice(this.t.prefix.length) : o.key;
        if (this.match && !this.match(rel)) continue;
        yield this.ref(o);
      }
    } catch (e) {
      // A limit or a loop keeps its code; anything the SDK threw is a remote failure.
      const code = e instanceof ShelflifeError && isErrorCode(e.code) ? e.code : 'remote';
      yield { uri: this.target, code, message: e instanceof ShelflifeError ? e.message : describeAwsError(e) };
    }
  }

  /**
   * Distributed scans: one unit per listing page (`pageSize` keys, 1000 by default), named by the keys that bound it,
   * so a worker lists exactly that range again (StartAfter) whatever page size the store answers with. Versioned
   * listings and single objects are one unit.
   */
  async *units(): AsyncIterable<WorkUnit | SourceProblem> {
    const { bucket } = this.t;
    if (this.t.versionId || this.options.versions) {
      yield { uri: this.target, part: {} };
      return;
    }
    const size = this.options.pageSize ?? 1000;
    let after: string | undefined;
    let first: string | undefined;
    let last: string | undefined;
    let n = 0;
    const unit = (): WorkUnit => ({ uri: s3Uri(bucket, first!), part: { ...(after !== undefined ? { after } : {}), last: last! } });
    try {
      for await (const o of this.list()) {
        first ??= o.key;
        last = o.key;
        if (++n < size) continue;
        yield unit();
        after = last;
        first = undefined;
        n = 0;
      }
      if (n) yield unit();
    } catch (e) {
      const code = e instanceof ShelflifeError && isErrorCode(e.code) ? e.code : 'remote';
      yield { uri: this.target, code, message: e instanceof ShelflifeError ? e.message : describeAwsError(e) };
    }
  }

  /** Every object under the target, or (a work unit) only the keys after `after` up to `last`. */
  private async *list(range?: { after?: string; last: string }): AsyncIterable<Listed> {
    const { bucket, prefix, versionId } = this.t;
    if (versionId) {
      const h = await this.client.send(new HeadObjectCommand({ Bucket: bucket, Key: prefix, VersionId: versionId }));
      yield { key: prefix, size: h.ContentLength ?? 0, etag: h.ETag, modified: h.LastModified, versionId, isLatest: undefined, storageClass: h.StorageClass };
      return;
    }
    if (this.options.versions) {
      let keyMarker: string | undefined;
      let versionMarker: string | undefined;
      const guard = new PageGuard('ListObjectVersions');
      for (;;) {
        const r = await this.client.send(
          new ListObjectVersionsCommand({
            Bucket: bucket,
            Prefix: prefix || undefined,
            MaxKeys: this.options.pageSize,
            KeyMarker: keyMarker,
            VersionIdMarker: versionMarker,
          }),
        );
        for (const v of r.Versions ?? []) {
          if (v.Key === undefined) continue;
          yield {
            key: v.Key,
            size: v.Size ?? 0,
            etag: v.ETag,
            modified: v.LastModified,
            versionId: v.VersionId,
            isLatest: v.IsLatest,
            storageClass: v.StorageClass,
          };
        }
        for (const d of r.DeleteMarkers ?? []) {
          if (d.Key === undefined) continue;
          yield { key: d.Key, size: 0, modified: d.LastModified, versionId: d.VersionId, isLatest: d.IsLatest, deleteMarker: true };
        }
        if (!r.IsTruncated) return;
        if (r.NextKeyMarker === undefined && r.NextVersionIdMarker === undefined)
          throw new ShelflifeError('malformed', 'ListObjectVersions: a truncated page without a next marker; the rest of the listing cannot be read');
        guard.next(`${r.NextKeyMarker ?? ''}\u0000${r.NextVersionIdMarker ?? ''}`, (r.Versions?.length ?? 0) + (r.DeleteMarkers?.length ?? 0));
        keyMarker = r.NextKeyMarker;
        versionMarker = r.NextVersionIdMarker;
      }
    }
    let token: string | undefined;
    const guard = new PageGuard('ListObjectsV2');
    for (;;) {
      const r = await this.client.send(
        new ListObjectsV2Command({
          Bucket: bucket,
          Prefix: prefix || undefined,
          MaxKeys: this.options.pageSize,
          ContinuationToken: token,
          ...(range?.after !== undefined && !token ? { StartAfter: range.after } : {}),
        }),
      );
      for (const o of r.Contents ?? []) {
        // Keys are listed in UTF-8 byte order: a unit's range ends at its last key.
        if (range && o.Key !== undefined && Buffer.compare(Buffer.from(o.Key), Buffer.from(range.last)) > 0) return;
        if (o.Key === undefined || o.Key.endsWith('/')) continue; // "folder" placeholders hold nothing
        yield { key: o.Key, size: o.Size ?? 0, etag: o.ETag, modified: o.LastModified, storageClass: o.StorageClass };
      }
      if (!r.IsTruncated) return;
      if (!r.NextContinuationToken)
        throw new ShelflifeError('malformed', 'ListObjectsV2: a truncated page without a continuation token; the rest of the listing cannot be read');
      guard.next(r.NextContinuationToken, r.Contents?.length ?? 0);
      token = r.NextContinuationToken;
    }
  }

  private ref(o: Listed): ArtifactRef {
    const { bucket } = this.t;
    const client = this.client;
    // Every version named by its id when versions were asked for (and the latest marked), so copies stay distinct.
    const pinVersion = this.options.versions || this.t.versionId ? o.versionId : undefined;
    const uri = s3Uri(bucket, o.key, pinVersion && pinVersion !== 'null' ? pinVersion : undefined);
    const etag = o.etag?.replace(/^"|"$/g, '');
    const annotations: Record<string, string> = {
      's3.bucket': bucket,
      's3.key': o.key,
      ...(etag ? { 's3.etag': etag } : {}),
      ...(o.versionId ? { 's3.versionId': o.versionId } : {}),
      ...(o.isLatest !== undefined ? { 's3.isLatest': String(o.isLatest) } : {}),
      ...(o.storageClass ? { 's3.storageClass': o.storageClass } : {}),
    };
    if (o.deleteMarker) {
      // A delete marker has no bytes; it is listed so that "deleted" objects whose old versions remain are visible.
      annotations['s3.deleteMarker'] = 'true';
      const empty = new Uint8Array();
      return {
        uri,
        name: o.key,
        size: 0,
        annotations,
        bytes: empty,
        reopenable: true,
        ...(o.modified ? { modified: o.modified.toISOString() } : {}),
        async *open() {},
      };
    }
    const versionId = o.versionId && o.versionId !== 'null' ? o.versionId : undefined;
    // If-Match pins every read to the version listed: an object replaced mid-scan fails (412) instead of mixing bytes.
    const common = { Bucket: bucket, Key: o.key, ...(versionId ? { VersionId: versionId } : {}), ...(o.etag && !versionId ? { IfMatch: o.etag } : {}) };
    const mode = this.options.digest ?? 'auto';
    const sampled = mode === 'none' || (mode === 'auto' && o.size > S3_DIGEST_THRESHOLD);
    const w = sampleWindow(o.size);
    // A GET already answered with the object's metadata and tag count: related() then needs no HeadObject, and no
    // GetObjectTagging when there are no tags.
    let seen: ObjectHead | undefined;
    return {
      uri,
      name: o.key,
      size: o.size,
      ...(o.modified ? { modified: o.modified.toISOString() } : {}),
      ...(etag ? { etag } : {}),
      annotations,
      reopenable: true,
      // The listed size is a promise: a body that runs past it is cut there and reported.
      async *open() {
        const r = await client.send(new GetObjectCommand(common));
        seen = r;
        if (!r.Body) return;
        let n = 0;
        for await (const chunk of r.Body as AsyncIterable<Uint8Array>) {
          if (n + chunk.length > o.size) {
            yield chunk.subarray(0, o.size - n);
            throw new LimitError('limit-size', `the object runs past its listed size of ${o.size} bytes; cut there`, { uri });
          }
          n += chunk.length;
          yield chunk;
        }
      },
      read: async (start, end) => {
        if (end <= start) return new Uint8Array();
        const r = await client.send(new GetObjectCommand({ ...common, Range: `bytes=${start}-${end - 1}` }));
        seen = r;
        const body = (r.Body ?? []) as AsyncIterable<Uint8Array>;
        if (r.ContentRange) return window(body, 0, end - start);
        // A store that ignores Range answers 200 from the first byte: read up to the window, and only when it is near.
        if (end > MAX_UNRANGED_READ) {
          (r.Body as { destroy?: () => void } | undefined)?.destroy?.();
          throw new ShelflifeError('remote', `the store ignored the Range request; not reading ${end} bytes to reach offset ${start}`, { uri });
        }
        return window(body, start, end);
      },
      ...(sampled ? { sample: { head: w, tail: w } } : {}),
      related: () => this.related(common.Bucket, o.key, versionId, seen),
    };
  }

  /**
   * An object of this bucket read again (a signature beside it needs another digest of it), pinned to the version or
   * ETag the scan saw, so other bytes fail (412) instead of being checked as the ones scanned.
   */
  reread(a: ArtifactResult): AsyncIterable<Uint8Array> | undefined {
    const ann = a.annotations ?? {};
    if (ann['s3.bucket'] !== this.t.bucket || !ann['s3.key'] || ann['s3.deleteMarker'] || !a.sha256) return undefined;
    const v = ann['s3.versionId'] && ann['s3.versionId'] !== 'null' ? ann['s3.versionId'] : undefined;
    const input = { Bucket: this.t.bucket, Key: ann['s3.key'], ...(v ? { VersionId: v } : ann['s3.etag'] ? { IfMatch: `"${ann['s3.etag']}"` } : {}) };
    const client = this.client;
    return (async function* () {
      const r = await client.send(new GetObjectCommand(input));
      if (r.Body) for await (const chunk of r.Body as AsyncIterable<Uint8Array>) yield chunk;
    })();
  }

  /** Object metadata (HeadObject) and tags (GetObjectTagging) as annotations; `shelflife.*` ones also verbatim. */
  private async related(bucket: string, key: string, versionId?: string, seen?: ObjectHead): Promise<RelatedInfo> {
    const uri = s3Uri(bucket, key, versionId);
    const annotations: Record<string, string> = {};
    const errors: NonNullable<RelatedInfo['errors']> = [];
    try {
      const h = seen ?? (await this.client.send(new HeadObjectCommand({ Bucket: bucket, Key: key, ...(versionId ? { VersionId: versionId } : {}) })));
      if (h.ContentType) annotations['s3.contentType'] = h.ContentType.slice(0, 255);
      for (const [k, v] of Object.entries(h.Metadata ?? {}).slice(0, 64)) {
        annotations[`s3.meta.${k}`] = String(v).slice(0, MAX_META_CHARS);
        if (k.startsWith('shelflife.')) annotations[k] = String(v).slice(0, MAX_META_CHARS);
      }
    } catch (e) {
      errors.push({ code: 'remote', message: `HeadObject: ${describeAwsError(e)}`, uri });
    }
    if (seen && !seen.TagCount) return { annotations, errors };
    try {
      const t = await this.client.send(new GetObjectTaggingCommand({ Bucket: bucket, Key: key, ...(versionId ? { VersionId: versionId } : {}) }));
      for (const tag of (t.TagSet ?? []).slice(0, 64)) {
        if (tag.Key === undefined) continue;
        annotations[`s3.tag.${tag.Key}`] = String(tag.Value ?? '').slice(0, MAX_META_CHARS);
        if (tag.Key.startsWith('shelflife.')) annotations[tag.Key] = String(tag.Value ?? '').slice(0, MAX_META_CHARS);
      }
    } catch (e) {
      // Tagging is often denied to read-only roles: say so on the artifact and go on.
      errors.push({ code: 'remote', message: `GetObjectTagging: ${describeAwsError(e)}`, uri });
    }
    return { annotations, errors };
  }
}

export function s3Source(target: string, options: SourceOptions): S3Source {
  return new S3Source(target, options as S3SourceOptions);
}
