/**
 * The S3 writer: a sidecar object `<key>.p7s` (alternate `<key>.hybrid.p7s`; `.hybrid.json` / `.hybrid-2.json` for
 * the JSON bundle, the same names as the fs writer) in the artifact's bucket.
 *
 * - The artifact is read with GetObject pinned to the scanned version (`?versionId=` in the URI); without a version
 *   id the current object is read, and resign's sha256 check refuses it if it is not the bytes the scan saw.
 * - The sidecar is written with one PutObject carrying `If-None-Match: *` (S3 conditional writes, 2024): the store
 *   refuses (412) when the key exists, so an existing object is never overwritten, even by a concurrent writer. A
 *   PutObject is atomic: readers see the whole sidecar or none. moto (the test server) honours the header.
 * @module
 */
import { GetObjectCommand, HeadObjectCommand, PutObjectCommand, type S3Client } from '@aws-sdk/client-s3';
import { ShelflifeError, UsageError } from '../../errors.js';
import type { NetOptions } from '../../net/http.js';
import { defaultS3Client, describeAwsError } from '../../net/s3.js';
import { parseS3Target, s3Uri } from '../../sources/s3.js';
import { MAX_SIDECAR_BYTES, SIDECAR_SUFFIX, type SignatureFormat, type SignatureLocation, type SignatureWriter } from './types.js';

/** S3's limit on a key, in UTF-8 bytes. */
const MAX_KEY_BYTES = 1024;

export const SIDECAR_CONTENT_TYPE: Record<SignatureFormat, string> = {
  // RFC 8551 §3.2.1: a detached CMS signature.
  p7s: 'application/pkcs7-signature',
  dsse: 'application/vnd.shelflife.hybrid-signature.v1+json',
};

export interface S3WriterOptions extends NetOptions {
  /** A client to use (tests); otherwise defaultS3Client() is made on first use, from the environment. */
  client?: S3Client;
  endpoint?: string;
}

interface S3Address {
  bucket: string;
  key: string;
  format: SignatureFormat;
}

interface S3Artifact {
  bucket: string;
  key: string;
  versionId?: string;
}

function artifact(uri: string): S3Artifact {
  const t = parseS3Target(uri);
  if (!t.prefix || t.prefix.endsWith('/')) throw new UsageError('not an s3://bucket/key object', { uri });
  return { bucket: t.bucket, key: t.prefix, ...(t.versionId ? { versionId: t.versionId } : {}) };
}

function httpStatus(e: unknown): number | undefined {
  return (e as { $metadata?: { httpStatusCode?: number } })?.$metadata?.httpStatusCode;
}

export class S3Writer implements SignatureWriter {
  readonly kind = 's3';
  private s3?: S3Client;

  constructor(private readonly options: S3WriterOptions = {}) {}

  /** Made lazily, so the environment (credentials, AWS_ENDPOINT_URL_S3) is read when a resign runs, not at import. */
  private get client(): S3Client {
    this.s3 ??= this.options.client ?? defaultS3Client(this.options);
    return this.s3;
  }

  handles(uri: string): boolean {
    return uri.startsWith('s3://');
  }

  locate(uri: string, format: SignatureFormat): SignatureLocation[] {
    const a = artifact(uri);
    const suffix = SIDECAR_SUFFIX[format];
    const keys = [`${a.key}${suffix}`, `${a.key}.hybrid${suffix === '.p7s' ? '.p7s' : '-2.json'}`];
    return keys.map((key) => {
      if (Buffer.byteLength(key) > MAX_KEY_BYTES)
        throw new ShelflifeError('resign', `the sidecar key would exceed S3's ${MAX_KEY_BYTES}-byte limit; not signed`, { uri });
      const address: S3Address = { bucket: a.bucket, key, format };
      return { uri: s3Uri(a.bucket, key), address: JSON.stringify(address) };
    });
  }

  async *openArtifact(uri: string): AsyncIterable<Uint8Array> {
    const a = artifact(uri);
    let r;
    try {
      r = await this.client.send(new GetObjectCommand({ Bucket: a.bucket, Key: a.key, ...(a.versionId ? { VersionId: a.versionId } : {}) }));
    } catch (e) {
      throw new ShelflifeError('remote', `GetObject: ${describeAwsError(e)}`, { uri });
    }
    if (!r.Body) return;
    for await (const chunk of r.Body as AsyncIterable<Uint8Array>) yield chunk;
  }

  async readExisting(location: SignatureLocation): Promise<Uint8Array | undefined> {
    const a = JSON.parse(location.address) as S3Address;
    let head;
    try {
      head = await this.client.send(new HeadObjectCommand({ Bucket: a.bucket, Key: a.key }));
    } catch (e) {
      if (httpStatus(e) === 404) return undefined;
      throw new ShelflifeError('remote', `HeadObject: ${describeAwsError(e)}`, { uri: location.uri });
    }
    // Too large to be a shelflife signature: occupied by something that is not ours (kept untouched).
    if ((head.ContentLength ?? 0) > MAX_SIDECAR_BYTES) return Uint8Array.of();
    try {
      // Pinned to the ETag just seen, so the size check above holds for the bytes read.
      const r = await this.client.send(new GetObjectCommand({ Bucket: a.bucket, Key: a.key, ...(head.ETag ? { IfMatch: head.ETag } : {}) }));
      const parts: Uint8Array[] = [];
      let n = 0;
      for await (const chunk of (r.Body ?? []) as AsyncIterable<Uint8Array>) {
        n += chunk.length;
        if (n > MAX_SIDECAR_BYTES) return Uint8Array.of();
        parts.push(chunk);
      }
      return new Uint8Array(Buffer.concat(parts));
    } catch (e) {
      if (httpStatus(e) === 404) return undefined;
      throw new ShelflifeError('remote', `GetObject: ${describeAwsError(e)}`, { uri: location.uri });
    }
  }

  async write(location: SignatureLocation, bytes: Uint8Array): Promise<void> {
    const a = JSON.parse(location.address) as S3Address;
    try {
      await this.client.send(
        new PutObjectCommand({ Bucket: a.bucket, Key: a.key, Body: bytes, ContentType: SIDECAR_CONTENT_TYPE[a.format], IfNoneMatch: '*' }),
      );
    } catch (e) {
      const status = httpStatus(e);
      // 412: the key exists; 409: a concurrent conditional write to the same key is in flight (S3 docs).
      if (status === 412 || status === 409) throw new ShelflifeError('resign', 'already exists; not overwritten', { uri: location.uri });
      throw new ShelflifeError('remote', `PutObject: ${describeAwsError(e)}`, { uri: location.uri });
    }
  }
}
