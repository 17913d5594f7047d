/**
 * A model stored as an OCI artifact (distribution-spec v1.1): CNCF ModelPack (`application/vnd.cncf.model.config.v1+json`
 * config, layers annotated `org.cncf.model.filepath`), KitOps ModelKits (the Kitfile as config) and Docker model
 * artifacts. The manifest digest names the model in the registry; each layer is a file of the model (by its file-path
 * or title annotation), streamed from the registry and held to its descriptor's digest (src/oci/registry.ts); the
 * attestations are the manifest's referrers (referrers API, or the `sha256-<hex>` tag schema on registries without
 * it), and an OpenSSF Model Signing signature is a `model.sig` layer or a Sigstore-bundle referrer carrying the
 * model-signing predicate. A tar layer (ModelPack and KitOps pack files as tar, plain or compressed) holds model
 * files: its members, by their paths, are the model's files (src/provenance/tar-layer.ts).
 * @module
 */
import { createHash } from 'node:crypto';
import { errorMessage, ShelflifeError, UsageError } from '../errors.js';
import { dockerCredentials } from '../oci/docker-auth.js';
import { MANIFEST_ACCEPT, MEDIA, ociUri, parseOciTarget, pullScope } from '../oci/reference.js';
import { listReferrers } from '../oci/referrers.js';
import { RegistryClient, type RegistryClientOptions } from '../oci/registry.js';
import { MAX_MODEL_FILES, type ModelFile } from './model-files.js';
import { readKitfile, readModelPackConfig } from './model-metadata.js';
import { MODEL_SIGNATURE_FILE, OMS_PREDICATE_LEGACY, OMS_PREDICATE_V1 } from './model-signing.js';
import type { DeclaredDependency, FetchedDocument, ModelSource, ModelSourceOptions } from './model-source.js';
import { MAX_DOCUMENT_BYTES } from './model-source.js';
import { readTarLayer, TAR_HEAD_BYTES, TAR_LAYER_MEDIA } from './tar-layer.js';

export const MODELPACK_CONFIG = 'application/vnd.cncf.model.config.v1+json';
export const KITOPS_CONFIG = 'application/vnd.kitops.modelkit.config.v1+json';
const FILEPATH_ANNOTATIONS = ['org.cncf.model.filepath', 'org.opencontainers.image.title'];
/** Referrers and their layers read for one model. */
const MAX_REFERRERS = 64;
const MAX_LAYERS = 10_000;
/** Layer media types that may hold a DSSE envelope or a Sigstore bundle. */
const ATTESTATION_MEDIA = /^application\/vnd\.(dev\.sigstore\.bundle|in-toto\+json|dsse\.envelope|shelflife\.hybrid-signature\.v1\+json)/;

interface Descriptor {
  mediaType: string;
  digest: string;
  size: number;
  annotations?: Record<string, string>;
  artifactType?: string;
}

export async function openOciModel(target: string, options: ModelSourceOptions): Promise<ModelSource> {
  // Credentials come from the docker config and credential helpers; a URI's userinfo is refused by parseOciTarget.
  const url = target;
  const t = parseOciTarget(url);
  if (!t.repo || (!t.tag && !t.digest)) throw new UsageError('name the model artifact: oci://host/repository:tag or @sha256:…', { uri: url });
  const repo = t.repo;
  const remote = (options.remote ?? {}) as RegistryClientOptions & { registryCa?: string | string[]; dockerConfig?: string };
  const client = new RegistryClient(t.host, {
    ...remote,
    ca: [...list(remote.ca), ...list(remote.registryCa)],
    credentials: () => dockerCredentials(t.host, remote.dockerConfig ? { configPath: remote.dockerConfig } : {}),
  });
  try {
    return await readArtifact(client, t.host, repo, t.digest ?? t.tag!, url);
  } catch (e) {
    await client.close();
    throw e;
  }
}

const list = (v: string | string[] | undefined): string[] => (v === undefined ? [] : Array.isArray(v) ? v : [v]);

async function readArtifact(client: RegistryClient, host: string, repo: string, reference: string, target: string): Promise<ModelSource> {
  const doc = await client.getJsonDocument(`/v2/${repo}/manifests/${reference}`, pullScope(repo), MANIFEST_ACCEPT);
  if (doc.status === 404) throw new ShelflifeError('remote', `${target}: no such manifest`);
  const digest = `sha256:${createHash('sha256').update(doc.bytes).digest('hex')}`;
  if (reference.startsWith('sha256:') && reference !== digest)
    throw new ShelflifeError('malformed', `${target}: the registry served a manifest whose digest is ${digest}`);
  const manifest = parseJson(doc.bytes, target) as { mediaType?: string; config?: Descriptor; layers?: unknown[]; manifests?: unknown[] };
  if (Array.isArray(manifest.manifests)) throw new UsageError(`${target}: an index, not a model artifact; name one of its manifests by digest`);
  const layers = (Array.isArray(manifest.layers) ? manifest.layers : []).filter(isDescriptor);
  if (layers.length > MAX_LAYERS) throw new ShelflifeError('limit-entries', `${target}: more than ${MAX_LAYERS} layers`);
  const uri = ociUri(host, repo, digest);
  const problems: ModelSource['problems'] = [];
  const files: ModelFile[] = [];
  let signature: FetchedDocument | undefined;
  const seen = new Set<string>();
  for (const l of layers) {
    const path = FILEPATH_ANNOTATIONS.map((k) => l.annotations?.[k]).find((p) => typeof p === 'string' && p) ?? l.digest.replace(':', '-');
    if (!safePath(path) || seen.has(path)) {
      problems.push({
        uri: ociUri(host, repo, l.digest),
        message: `layer file path ${JSON.stringify(path)} is not a unique relative path inside the model; not read`,
      });
      continue;
    }
    seen.add(path);
    if (TAR_LAYER_MEDIA.test(l.mediaType)) {
      // A tar layer: its members are the model's files (ModelPack and KitOps pack files as tar).
      const layerUri = ociUri(host, repo, l.digest);
      try {
        const listed = await readTarLayer(
          {
            uri: layerUri,
            name: path,
            size: l.size,
            open: () => client.blob(repo, l.digest, l.size),
            head: () => client.blobRange(repo, l.digest, 0, Math.min(TAR_HEAD_BYTES, l.size)),
          },
          MAX_MODEL_FILES - files.length,
        );
        problems.push(...listed.problems);
        for (const f of listed.files) {
          if (!safePath(f.path) || seen.has(`/${f.path}`)) {
            problems.push({ uri: f.uri!, message: `member path ${JSON.stringify(f.path)} is not a unique relative path inside the model; not read` });
            continue;
          }
          seen.add(`/${f.path}`);
          if (f.path === MODEL_SIGNATURE_FILE && f.size <= MAX_DOCUMENT_BYTES) signature = { uri: f.uri!, bytes: await f.readSmall(MAX_DOCUMENT_BYTES) };
          files.push(f);
        }
      } catch (e) {
        if (!(e instanceof ShelflifeError)) throw e;
        problems.push({ uri: layerUri, message: `tar layer not read as model files: ${errorMessage(e)}` });
      }
      continue;
    }
    if (seen.has(`/${path}`)) {
      problems.push({ uri: ociUri(host, repo, l.digest), message: `layer file path ${JSON.stringify(path)} is also a member of a tar layer; not read` });
      continue;
    }
    seen.add(`/${path}`);
    if (path === MODEL_SIGNATURE_FILE && l.size <= MAX_DOCUMENT_BYTES)
      signature = { uri: ociUri(host, repo, l.digest), bytes: await client.blobBytes(repo, l.digest, MAX_DOCUMENT_BYTES) };
    files.push(layerFile(client, host, repo, l, path));
  }
  const declared = await readConfig(client, host, repo, manifest.config, problems);
  const evidence: FetchedDocument[] = [];
  const cosignatures: FetchedDocument[] = [];
  const referrers = (await listReferrers(client, repo, digest)).slice(0, MAX_REFERRERS);
  for (const r of referrers) {
    try {
      const rd = await client.getJsonDocument(`/v2/${repo}/manifests/${r.digest}`, pullScope(repo), MANIFEST_ACCEPT);
      if (rd.status === 404) continue;
      const rm = parseJson(rd.bytes, ociUri(host, repo, r.digest)) as { layers?: unknown[]; artifactType?: string };
      for (const l of (Array.isArray(rm.layers) ? rm.layers : []).filter(isDescriptor).slice(0, 16)) {
        if (!ATTESTATION_MEDIA.test(l.mediaType) && !ATTESTATION_MEDIA.test(rm.artifactType ?? r.artifactType ?? '')) continue;
        if (l.size > MAX_DOCUMENT_BYTES) {
          problems.push({ uri: ociUri(host, repo, l.digest), message: `larger than ${MAX_DOCUMENT_BYTES} bytes; not read as an attestation` });
          continue;
        }
        const d = { uri: ociUri(host, repo, l.digest), bytes: await client.blobBytes(repo, l.digest, MAX_DOCUMENT_BYTES) };
        // resign's re-signature of the model signature's statement (src/resign/model-signature.ts).
        if (l.mediaType === MEDIA.shelflifeHybridJson && (rm.artifactType ?? r.artifactType) === MEDIA.shelflifeHybridJson) cosignatures.push(d);
        else if (!signature && isModelSignature(d.bytes)) signature = d;
        else evidence.push(d);
      }
    } catch (e) {
      if (!(e instanceof ShelflifeError)) throw e;
      problems.push({ uri: ociUri(host, repo, r.digest), message: errorMessage(e) });
    }
  }
  const name = repo.split('/').pop() ?? repo;
  return {
    tree: { uri, name, dir: '', single: false, files, skipped: [] },
    ...(signature ? { signature } : {}),
    signatureUri: `${uri} (model.sig layer or referrer)`,
    evidence,
    cosignatures,
    identities: [digest.slice('sha256:'.length)],
    declared,
    problems,
    close: () => client.close(),
  };
}

function layerFile(client: RegistryClient, host: string, repo: string, l: Descriptor, path: string): ModelFile {
  return {
    path,
    size: l.size,
    mtimeMs: 0,
    uri: ociUri(host, repo, l.digest),
    sha256: l.digest.slice('sha256:'.length),
    open: (start = 0, end = l.size) =>
      start === 0 && end >= l.size
        ? client.blob(repo, l.digest, l.size)
        : (async function* () {
            // Shards: one ranged read per window, never the whole blob.
            for (let at = start; at < end; at += 8 * 1024 * 1024) yield await client.blobRange(repo, l.digest, at, Math.min(end, at + 8 * 1024 * 1024));
          })(),
    readSmall: async (limit) => {
      if (l.size > limit) throw new ShelflifeError('limit-size', `${ociUri(host, repo, l.digest)}: larger than ${limit} bytes; not read as metadata`);
      return client.blobBytes(repo, l.digest, limit);
    },
  };
}

/** The ModelPack config's `descriptor` (sourceURL, datasetsURL), or a KitOps Kitfile's datasets. */
async function readConfig(
  client: RegistryClient,
  host: string,
  repo: string,
  config: Descriptor | undefined,
  problems: ModelSource['problems'],
): Promise<DeclaredDependency[]> {
  if (!config || !isDescriptor(config) || config.mediaType === MEDIA.emptyJson || config.size > MAX_DOCUMENT_BYTES) return [];
  if (config.mediaType !== MODELPACK_CONFIG && config.mediaType !== KITOPS_CONFIG) return [];
  const from = ociUri(host, repo, config.digest);
  try {
    const text = new TextDecoder().decode(await client.blobBytes(repo, config.digest, MAX_DOCUMENT_BYTES));
    if (config.mediaType === MODELPACK_CONFIG) {
      const c = readModelPackConfig(text, from);
      return [
        ...(c.sourceURL
          ? [{ uri: c.sourceURL, relation: 'source' as const, from: `${from} (descriptor.sourceURL${c.revision ? ` @ ${c.revision}` : ''})` }]
          : []),
        ...c.datasetsURL.map((d) => ({ uri: d, relation: 'dataset' as const, from: `${from} (descriptor.datasetsURL)` })),
      ];
    }
    // KitOps stores the Kitfile as the config, in JSON (YAML is a superset of JSON).
    return readKitfile(text, from).datasets.map((d) => ({
      ...(d.name ? { name: d.name } : {}),
      ...(d.path ? { uri: d.path } : {}),
      relation: 'dataset' as const,
      from,
    }));
  } catch (e) {
    if (!(e instanceof ShelflifeError)) throw e;
    problems.push({ uri: from, message: errorMessage(e) });
    return [];
  }
}

function isModelSignature(bytes: Uint8Array): boolean {
  try {
    const b = JSON.parse(new TextDecoder().decode(bytes)) as { dsseEnvelope?: { payload?: string } };
    const p = b?.dsseEnvelope?.payload;
    if (typeof p !== 'string') return false;
    const st = JSON.parse(Buffer.from(p, 'base64').toString('utf8')) as { predicateType?: string };
    return st?.predicateType === OMS_PREDICATE_V1 || st?.predicateType === OMS_PREDICATE_LEGACY;
  } catch {
    return false; // not JSON: an attestation reader will say what it is
  }
}

function isDescriptor(d: unknown): d is Descriptor {
  const x = d as Descriptor;
  return (
    !!x &&
    typeof x.mediaType === 'string' &&
    typeof x.digest === 'string' &&
    /^sha256:[0-9a-f]{64}$/.test(x.digest) &&
    Number.isSafeInteger(x.size) &&
    x.size >= 0
  );
}

function safePath(p: string): boolean {
  return p.length <= 4096 && !p.startsWith('/') && !p.includes('\0') && !p.split('/').some((s) => s === '..' || s === '' || s === '.');
}

function parseJson(bytes: Uint8Array, what: string): Record<string, unknown> {
  try {
    const v = JSON.parse(new TextDecoder('utf-8', { fatal: true }).decode(bytes));
    if (typeof v === 'object' && v !== null && !Array.isArray(v)) return v;
  } catch (e) {
    throw new ShelflifeError('malformed', `${what}: not JSON: ${errorMessage(e)}`);
  }
  throw new ShelflifeError('malformed', `${what}: not a JSON object`);
}
