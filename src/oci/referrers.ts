/**
 * The write side of OCI referrers (distribution-spec v1.1 "Pushing Manifests with Subject", "Listing Referrers",
 * "Referrers Tag Schema" and "Unavailable Referrers API"): attach an artifact manifest to a subject, and list what is
 * attached. Used by the scanner (src/sources/oci.ts), the re-signer (src/resign/writers/oci.ts) and the test helpers
 * that lay out cosign/notation signatures the way those tools do.
 * @module
 */
import { createHash } from 'node:crypto';
import { errorMessage, LimitError, reasonAt } from '../errors.js';
import { DIGEST_RE, MEDIA, pullScope, pushScope } from './reference.js';
import { MAX_DOCUMENT_BYTES, RegistryClient, RegistryError } from './registry.js';

const OCI_INDEX = MEDIA.ociIndex;
/** Entries read from one referrers list: a hostile registry cannot make a client walk more. */
export const MAX_REFERRER_ENTRIES = 4096;
/** Pages of one referrers answer followed (spec v1.1 "Listing Referrers": a registry MAY paginate with `Link`). */
export const MAX_REFERRER_PAGES = 64;
/** Read-modify-write rounds on the referrers tag before giving up (a concurrent writer keeps replacing it). */
const TAG_UPDATE_ATTEMPTS = 4;

export interface ReferrerDescriptor {
  mediaType: string;
  digest: string;
  size: number;
  artifactType?: string;
  annotations?: Record<string, string>;
}

/** `sha256-<hex>`: the tag that holds the referrers index of `digest` when the registry has no referrers API. */
export function referrersTag(subjectDigest: string): string {
  return `sha256-${subjectDigest.slice('sha256:'.length)}`;
}

function validEntry(d: unknown): d is ReferrerDescriptor {
  const x = d as ReferrerDescriptor;
  return (
    !!x &&
    typeof x === 'object' &&
    typeof x.digest === 'string' &&
    DIGEST_RE.test(x.digest) &&
    typeof x.mediaType === 'string' &&
    Number.isSafeInteger(x.size) &&
    x.size >= 0
  );
}

interface IndexDoc {
  schemaVersion?: number;
  mediaType?: string;
  manifests: unknown[];
  [k: string]: unknown;
}

function parseIndex(bytes: Uint8Array, what: string): IndexDoc {
  let doc: IndexDoc;
  try {
    doc = JSON.parse(new TextDecoder().decode(bytes)) as IndexDoc;
  } catch (e) {
    throw new RegistryError(`not JSON: ${errorMessage(e)}`, { uri: what });
  }
  if (!doc || typeof doc !== 'object' || !Array.isArray(doc.manifests) || (doc.mediaType !== undefined && doc.mediaType !== OCI_INDEX)) {
    throw new RegistryError('not an OCI image index', { uri: what });
  }
  if (doc.manifests.length > MAX_REFERRER_ENTRIES) throw new RegistryError(`${doc.manifests.length} entries, more than ${MAX_REFERRER_ENTRIES}`, { uri: what });
  return doc;
}

/**
 * Every entry the referrers API lists for `subjectDigest`, page after page (`Link: <…>; rel="next"`, spec v1.1 "Listing
 * Referrers"); `undefined` when the registry has no referrers API (404 on the first page). The links are followed
 * through the registry client, so one pointing off the registry is refused like any URL a registry hands back
 * (docs/security.md). A loop, a missing page and the page and entry caps stop the listing: the entries read before are
 * returned with the reason in `stopped`, so a caller can say the list is incomplete without losing what it read.
 */
export async function referrersFromApi(
  client: RegistryClient,
  repo: string,
  subjectDigest: string,
  query = '',
): Promise<{ entries: unknown[]; stopped?: Error } | undefined> {
  const what = `oci://${client.host}/${repo}@${subjectDigest} referrers`;
  const entries: unknown[] = [];
  const seen = new Set<string>();
  let url: string | undefined = `/v2/${repo}/referrers/${subjectDigest}${query}`;
  try {
    for (let page = 0; url; page++) {
      if (page >= MAX_REFERRER_PAGES)
        throw new LimitError('limit-entries', `more than ${MAX_REFERRER_PAGES} pages of referrers; the rest were not read (limit)`, { uri: what });
      if (seen.has(url)) throw new RegistryError('the referrers pages loop; the rest were not read', { uri: what });
      seen.add(url);
      const r = await client.getJsonDocument(url, pullScope(repo), OCI_INDEX);
      if (r.status === 404) {
        if (page === 0) return undefined;
        throw new RegistryError(`page ${page + 1} of the referrers is not found`, { uri: what });
      }
      entries.push(...parseIndex(r.bytes, what).manifests);
      if (entries.length > MAX_REFERRER_ENTRIES)
        throw new LimitError('limit-entries', `more than ${MAX_REFERRER_ENTRIES} referrers; the rest were not read (limit)`, { uri: what });
      url = r.next;
    }
  } catch (e) {
    if (!(e instanceof Error)) throw e;
    return { entries: entries.slice(0, MAX_REFERRER_ENTRIES), stopped: e };
  }
  return { entries };
}

/**
 * The referrers of `subjectDigest`: through the API when the registry has it (`?artifactType=` filters where the
 * registry supports filtering; the filter is applied here too, since support is optional), else the tag schema.
 * Remembers on the client that the API is absent (404), as the scanner does.
 */
export async function listReferrers(client: RegistryClient, repo: string, subjectDigest: string, artifactType?: string): Promise<ReferrerDescriptor[]> {
  const base = `oci://${client.host}/${repo}@${subjectDigest}`;
  let entries: unknown[] | undefined;
  if (!client.referrersUnsupported) {
    const q = artifactType ? `?artifactType=${encodeURIComponent(artifactType)}` : '';
    const r = await referrersFromApi(client, repo, subjectDigest, q);
    if (!r) client.referrersUnsupported = true;
    else if (r.stopped) throw r.stopped;
    else entries = r.entries;
  }
  if (!entries) {
    const r = await client.getJsonDocument(`/v2/${repo}/manifests/${referrersTag(subjectDigest)}`, pullScope(repo), OCI_INDEX);
    entries = r.status === 404 ? [] : parseIndex(r.bytes, `${base} referrers tag ${referrersTag(subjectDigest)}`).manifests;
  }
  return entries.filter(validEntry).filter((d) => !artifactType || d.artifactType === artifactType);
}

/**
 * Push `manifest` (which carries `subject`) by its digest, then make it discoverable: a registry with the referrers API
 * says so with an `OCI-Subject` response header and indexes it itself; otherwise the client maintains the
 * `sha256-<hex>` referrers tag (spec "Pushing Manifests with Subject": without the header the client falls back to the
 * tag schema). Returns the manifest's descriptor.
 */
export async function pushReferrer(
  client: RegistryClient,
  repo: string,
  subjectDigest: string,
  manifest: Uint8Array,
  mediaType: string,
  artifactType: string,
): Promise<ReferrerDescriptor> {
  const digest = `sha256:${createHash('sha256').update(manifest).digest('hex')}`;
  const res = await client.request(`/v2/${repo}/manifests/${digest}`, {
    method: 'PUT',
    scope: pushScope(repo),
    body: manifest,
    headers: { 'content-type': mediaType },
  });
  await res.discard();
  const descriptor: ReferrerDescriptor = { mediaType, digest, size: manifest.length, artifactType };
  if (res.headers['oci-subject'] !== subjectDigest) await addToReferrersTag(client, repo, subjectDigest, descriptor);
  return descriptor;
}

/**
 * Append `referrer` to the subject's referrers tag index (spec "Referrers Tag Schema"): pull it (404 → a new empty
 * index), keep every existing entry and field (cosign, notation and oras entries stay), append once, push. The spec
 * allows conditional requests against a concurrent writer: the PUT carries `If-Match` with the ETag pulled (a
 * registry that honours it answers 412 and the round is retried); registries that ignore it (distribution 2.8) are
 * re-read after the push, and the round is retried if our entry, or any entry we saw, went missing.
 */
export async function addToReferrersTag(client: RegistryClient, repo: string, subjectDigest: string, referrer: ReferrerDescriptor): Promise<void> {
  const tag = referrersTag(subjectDigest);
  const what = `oci://${client.host}/${repo}:${tag}`;
  for (let attempt = 0; attempt < TAG_UPDATE_ATTEMPTS; attempt++) {
    const current = await readTagIndex(client, repo, tag, what);
    const doc: IndexDoc = current?.doc ?? { schemaVersion: 2, mediaType: OCI_INDEX, manifests: [] };
    const seen = doc.manifests.filter(validEntry).map((d) => d.digest);
    if (seen.includes(referrer.digest)) return;
    doc.mediaType ??= OCI_INDEX;
    doc.manifests.push({
      mediaType: referrer.mediaType,
      digest: referrer.digest,
      size: referrer.size,
      ...(referrer.artifactType ? { artifactType: referrer.artifactType } : {}),
      ...(referrer.annotations ? { annotations: referrer.annotations } : {}),
    });
    const body = new TextEncoder().encode(JSON.stringify(doc));
    const headers: Record<string, string> = { 'content-type': OCI_INDEX, ...(current?.etag ? { 'if-match': current.etag } : {}) };
    const res = await client.request(`/v2/${repo}/manifests/${tag}`, { method: 'PUT', scope: pushScope(repo), body, headers, accept: [412] });
    await res.discard();
    if (res.status === 412) continue;
    const after = await readTagIndex(client, repo, tag, what);
    const now = new Set(after?.doc.manifests.filter(validEntry).map((d) => d.digest));
    if (now.has(referrer.digest) && seen.every((d) => now.has(d))) return;
  }
  throw new RegistryError(
    `the referrers tag kept changing under a concurrent writer; ${referrer.digest} not listed after ${TAG_UPDATE_ATTEMPTS} attempts (rerun)`,
    { uri: what },
  );
}

async function readTagIndex(client: RegistryClient, repo: string, tag: string, what: string): Promise<{ doc: IndexDoc; etag?: string } | undefined> {
  const res = await client.request(`/v2/${repo}/manifests/${tag}`, { scope: pushScope(repo), headers: { accept: OCI_INDEX }, accept: [404] });
  if (res.status === 404) {
    await res.discard();
    return undefined;
  }
  let bytes: Uint8Array;
  try {
    bytes = await res.bytes(MAX_DOCUMENT_BYTES);
  } catch (e) {
    throw new RegistryError(reasonAt(e, what), { uri: what, cause: e });
  }
  // A tag of that name holding something other than an index is not ours to replace (spec: report a failure).
  const ct = res.headers['content-type']?.split(';')[0].trim();
  if (ct && ct !== OCI_INDEX) throw new RegistryError(`holds a ${ct}, not an OCI index; not overwritten`, { uri: what });
  return { doc: parseIndex(bytes, what), etag: res.headers.etag };
}
