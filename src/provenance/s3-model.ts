/**
 * A model stored under an S3 prefix (`s3://bucket/models/ft-2026-10/`): every object under the prefix is a file of
 * the model (its key relative to the prefix), streamed with GetObject (ranged for shards); `model.sig` under the prefix
 * is its OpenSSF Model Signing signature. Attestations are sidecars kept beside the prefix, outside the model's bytes:
 * objects named `<prefix without its slash>.<suffix>` (`ft-2026-10.intoto.jsonl`, `ft-2026-10.sigstore.json`,
 * `ft-2026-10.vsa.json` …) and everything under `<prefix without its slash>.attestations/`. Client and endpoint as
 * the S3 source makes them (src/sources/s3.ts: the SDK's credential chain, AWS_ENDPOINT_URL_S3).
 * @module
 */
import { GetObjectCommand, ListObjectsV2Command, type S3Client } from '@aws-sdk/client-s3';
import { ShelflifeError, UsageError } from '../errors.js';
import { defaultS3Client, describeAwsError } from '../net/s3.js';
import { parseS3Target, s3Uri } from '../sources/s3.js';
import { MAX_MODEL_FILES, type ModelFile } from './model-files.js';
import { MODEL_SIGNATURE_FILE } from './model-signing.js';
import type { FetchedDocument, ModelSource, ModelSourceOptions } from './model-source.js';
import { MAX_DOCUMENT_BYTES } from './model-source.js';

const SIDECAR = /\.(intoto\.jsonl|sigstore\.json|dsse\.json|bundle|vsa\.json|svr\.json|att\.json|slsa\.json)$/;
const MAX_SIDECARS = 1000;

interface Listed {
  key: string;
  size: number;
  modified?: Date;
}

export async function openS3Model(target: string, options: ModelSourceOptions): Promise<ModelSource> {
  const t = parseS3Target(target);
  if (t.versionId) throw new UsageError(`${target}: a model is a prefix (s3://bucket/prefix/), not one object version`);
  const prefix = t.prefix === '' || t.prefix.endsWith('/') ? t.prefix : `${t.prefix}/`;
  const remote = (options.remote ?? {}) as { endpoint?: string; s3Client?: S3Client };
  const client = remote.s3Client ?? defaultS3Client(remote.endpoint ? { endpoint: remote.endpoint } : {});
  const close = async () => {
    if (!remote.s3Client) client.destroy();
  };
  try {
    const objects = await listAll(client, t.bucket, prefix, MAX_MODEL_FILES, target);
    if (!objects.length) throw new UsageError('no objects under this prefix', { uri: s3Uri(t.bucket, prefix) });
    const files = objects.filter((o) => !o.key.endsWith('/')).map((o) => objectFile(client, t.bucket, o, o.key.slice(prefix.length)));
    const problems: ModelSource['problems'] = [];
    const sigFile = files.find((f) => f.path === MODEL_SIGNATURE_FILE);
    const signatureUri = s3Uri(t.bucket, `${prefix}${MODEL_SIGNATURE_FILE}`);
    let signature: FetchedDocument | undefined;
    if (sigFile) signature = { uri: signatureUri, bytes: await sigFile.readSmall(MAX_DOCUMENT_BYTES) };
    const base = prefix.replace(/\/$/, '');
    const evidence: FetchedDocument[] = [];
    if (base) {
      const beside = await listAll(client, t.bucket, `${base}.`, MAX_SIDECARS, target);
      for (const o of beside.filter((x) => x.key.startsWith(`${base}.attestations/`) || SIDECAR.test(x.key.slice(base.length)))) {
        const uri = s3Uri(t.bucket, o.key);
        if (o.size > MAX_DOCUMENT_BYTES) {
          problems.push({ uri, message: `larger than ${MAX_DOCUMENT_BYTES} bytes; not read as an attestation` });
          continue;
        }
        evidence.push({ uri, bytes: await getRange(client, t.bucket, o.key, 0, o.size, uri) });
      }
    }
    return {
      tree: { uri: s3Uri(t.bucket, prefix), name: base.split('/').pop() || t.bucket, dir: '', single: false, files, skipped: [] },
      ...(signature ? { signature } : {}),
      signatureUri,
      evidence,
      identities: [],
      declared: [],
      problems,
      close,
    };
  } catch (e) {
    await close();
    throw e;
  }
}

async function listAll(client: S3Client, bucket: string, prefix: string, limit: number, target: string): Promise<Listed[]> {
  const out: Listed[] = [];
  let token: string | undefined;
  do {
    let page;
    try {
      page = await client.send(new ListObjectsV2Command({ Bucket: bucket, Prefix: prefix, ContinuationToken: token }));
    } catch (e) {
      throw new ShelflifeError('remote', `${target}: cannot list: ${describeAwsError(e)}`, { cause: e });
    }
    for (const o of page.Contents ?? []) {
      if (!o.Key) continue;
      if (out.length >= limit) throw new ShelflifeError('limit-entries', `${target}: more than ${limit} objects; not a model prefix shelflife reads`);
      out.push({ key: o.Key, size: Number(o.Size ?? 0), ...(o.LastModified ? { modified: o.LastModified } : {}) });
    }
    token = page.IsTruncated ? page.NextContinuationToken : undefined;
  } while (token);
  return out;
}

function objectFile(client: S3Client, bucket: string, o: Listed, path: string): ModelFile {
  const uri = s3Uri(bucket, o.key);
  return {
    path,
    size: o.size,
    mtimeMs: o.modified?.getTime() ?? 0,
    uri,
    open: (start = 0, end = o.size) =>
      (async function* () {
        if (end <= start) return;
        const r = await client.send(new GetObjectCommand({ Bucket: bucket, Key: o.key, Range: `bytes=${start}-${end - 1}` })).catch((e: unknown) => {
          throw new ShelflifeError('remote', `cannot read: ${describeAwsError(e)}`, { uri, cause: e });
        });
        let n = 0;
        for await (const chunk of r.Body as AsyncIterable<Uint8Array>) {
          // Held to the listed size: an object that grew since the listing is cut, not read on.
          const take = Math.min(chunk.length, end - start - n);
          if (take > 0) yield chunk.subarray(0, take);
          n += chunk.length;
          if (n >= end - start) break;
        }
        if (n < end - start) throw new ShelflifeError('truncated', `ended after ${n} of ${end - start} bytes (changed while read?)`, { uri });
      })(),
    readSmall: async (limit) => {
      if (o.size > limit) throw new ShelflifeError('limit-size', `larger than ${limit} bytes; not read as metadata`, { uri });
      return getRange(client, bucket, o.key, 0, o.size, uri);
    },
  };
}

async function getRange(client: S3Client, bucket: string, key: string, start: number, end: number, uri: string): Promise<Uint8Array> {
  if (end <= start) return new Uint8Array();
  let r;
  try {
    r = await client.send(new GetObjectCommand({ Bucket: bucket, Key: key, Range: `bytes=${start}-${end - 1}` }));
  } catch (e) {
    throw new ShelflifeError('remote', `cannot read: ${describeAwsError(e)}`, { uri, cause: e });
  }
  const parts: Uint8Array[] = [];
  let n = 0;
  for await (const chunk of r.Body as AsyncIterable<Uint8Array>) {
    n += chunk.length;
    if (n > end - start) throw new ShelflifeError('limit-size', `the store sends more than the ${end - start} bytes asked for`, { uri });
    parts.push(chunk);
  }
  return new Uint8Array(Buffer.concat(parts));
}
