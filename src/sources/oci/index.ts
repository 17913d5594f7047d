/**
 * `oci://host[:port]/repo[:tag|@sha256:…]` and `oci://host[:port] --all-repositories`: container images, model
 * artifacts and their signatures, read in place over the OCI Distribution API (spec v1.1).
 *
 * Every manifest (Docker v2, OCI image manifest, OCI index and each platform it lists, OCI 1.1 artifacts with
 * `artifactType`) is one artifact; its signatures are found through the referrers API
 * (`GET /v2/<name>/referrers/<digest>`) or, where the registry has none (404), the referrers tag schema
 * (`sha256-<hex>` index) and cosign's tags (`sha256-<hex>.sig`, `.att`); the signature material (cosign simple-signing
 * payloads with their `dev.cosignproject.cosign/signature` and attached certificates, Sigstore bundles, in-toto/DSSE
 * attestations, Notary Project JWS/COSE envelopes) is reported on the artifact it signs, and `signed` says whether one
 * was found. Layers are streamed as containers only with `--layers`; blobs whose media types are key material,
 * certificates or models are scanned directly.
 * @module
 */
import { createHash } from 'node:crypto';
import { UsageError, errorMessage } from '../../errors.js';
import type { SourceOptions } from '../index.js';
import type { ArtifactRef, RelatedInfo, Source, SourceProblem } from '../types.js';
import { dockerCredentials } from '../docker-auth.js';
import { MANIFEST_ACCEPT, MAX_DOCUMENT_BYTES, RegistryClient, RegistryError, pullScope } from './_http.js';

export const MEDIA = {
  ociIndex: 'application/vnd.oci.image.index.v1+json',
  ociManifest: 'application/vnd.oci.image.manifest.v1+json',
  ociArtifact: 'application/vnd.oci.artifact.manifest.v1+json',
  dockerList: 'application/vnd.docker.distribution.manifest.list.v2+json',
  dockerManifest: 'application/vnd.docker.distribution.manifest.v2+json',
  cosignSig: 'application/vnd.dev.cosign.artifact.sig.v1+json',
  simpleSigning: 'application/vnd.dev.cosign.simplesigning.v1+json',
  notarySig: 'application/vnd.cncf.notary.signature',
  jws: 'application/jose+json',
  cose: 'application/cose',
  inToto: 'application/vnd.in-toto+json',
  dsse: 'application/vnd.dsse.envelope.v1+json',
  emptyJson: 'application/vnd.oci.empty.v1+json',
  /** shelflife's hybrid (composite ML-DSA) signatures, attached by `shelflife resign` (docs/resign.md). */
  shelflifeHybridCms: 'application/vnd.shelflife.hybrid-signature.v1+cms',
  shelflifeHybridJson: 'application/vnd.shelflife.hybrid-signature.v1+json',
} as const;

/** Cosign's annotation names (sigstore/cosign `pkg/oci/static`). */
export const COSIGN_ANNOTATION = {
  signature: 'dev.cosignproject.cosign/signature',
  certificate: 'dev.sigstore.cosign/certificate',
  chain: 'dev.sigstore.cosign/chain',
  bundle: 'dev.sigstore.cosign/bundle',
} as const;

const MAX_INDEX_CHILDREN = 1024;
const MANIFEST_PREFETCH = 8;
const MAX_INDEX_DEPTH = 4;
const MAX_REFERRERS = 256;
/** Signature material read for one subject, across all its referrers: a hostile registry cannot make us hold more. */
const MAX_ATTACHED_BYTES = 32 * 1024 * 1024;
const MAX_LAYERS = 4096;
const MAX_ANNOTATIONS = 256;
const MAX_ANNOTATION_CHARS = 8192;
/** Model/large blobs above this are sampled (head/tail) unless `--digest full`. */
const SAMPLE_THRESHOLD = 64 * 1024 * 1024;
const SAMPLE_WINDOW = 1024 * 1024;
/** Key and certificate blobs are read whole up to this size. */
const KEY_BLOB_LIMIT = 4 * 1024 * 1024;

export interface OciSourceOptions extends SourceOptions {
  allRepositories?: boolean;
  layers?: boolean;
  plainHttp?: boolean;
  registryCa?: string[] | string;
  digest?: 'full' | 'none' | 'auto';
  /** docker config.json to read instead of $DOCKER_CONFIG / ~/.docker (tests). */
  dockerConfig?: string;
  /** Tests and the benchmark: observe every request / the client. */
  onRequest?: (method: string, url: string) => void;
  onClient?: (client: RegistryClient) => void;
  backoffMs?: number;
  /** `n` for catalog and tag-list pages (tests exercise pagination with small pages). */
  pageSize?: number;
}

export interface OciTarget {
  host: string;
  repo?: string;
  tag?: string;
  digest?: string;
}

const REPO_RE = /^[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*(?:\/[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*)*$/;
const TAG_RE = /^[A-Za-z0-9_][A-Za-z0-9._-]{0,127}$/;
const DIGEST_RE = /^sha256:[0-9a-f]{64}$/;
const SIG_TAG_RE = /^sha256-([0-9a-f]{64})(?:\.(sig|att|sbom))?$/;

/** Parse `oci://host[:port][/repo[:tag|@sha256:hex]]` (distribution reference grammar, lower-case repository). */
export function parseOciTarget(target: string): OciTarget {
  const m = target.match(/^oci:\/\/([^/]+)(?:\/(.*))?$/i);
  if (!m) throw new UsageError(`${target}: not an oci:// URI`);
  const host = m[1];
  let rest = (m[2] ?? '').replace(/\/+$/, '');
  if (!rest) return { host };
  let digest: string | undefined;
  let tag: string | undefined;
  const at = rest.indexOf('@');
  if (at >= 0) {
    digest = rest.slice(at + 1);
    rest = rest.slice(0, at);
    if (!DIGEST_RE.test(digest)) throw new UsageError(`${target}: "${digest}" is not a sha256 digest (sha256:<64 hex>)`);
  }
  const colon = rest.lastIndexOf(':');
  if (colon > rest.lastIndexOf('/')) {
    tag = rest.slice(colon + 1);
    rest = rest.slice(0, colon);
    if (!TAG_RE.test(tag)) throw new UsageError(`${target}: "${tag}" is not a valid tag`);
  }
  if (!REPO_RE.test(rest) || rest.length > 255) throw new UsageError(`${target}: "${rest}" is not a valid repository name (lower case, / separated)`);
  return { host, repo: rest, ...(tag ? { tag } : {}), ...(digest ? { digest } : {}) };
}

interface Descriptor {
  mediaType?: string;
  digest: string;
  size?: number;
  artifactType?: string;
  annotations?: Record<string, string>;
  platform?: { os?: string; architecture?: string; variant?: string };
}

interface ManifestDoc {
  mediaType?: string;
  artifactType?: string;
  config?: Descriptor;
  layers?: Descriptor[];
  blobs?: Descriptor[];
  manifests?: Descriptor[];
  subject?: Descriptor;
  annotations?: Record<string, string>;
}

interface Fetched {
  digest: string;
  mediaType: string;
  bytes: Uint8Array;
  doc: ManifestDoc;
}

function sha256(bytes: Uint8Array): string {
  return `sha256:${createHash('sha256').update(bytes).digest('hex')}`;
}

function isIndex(mediaType: string, doc: ManifestDoc): boolean {
  return mediaType === MEDIA.ociIndex || mediaType === MEDIA.dockerList || (!doc.layers && !doc.blobs && Array.isArray(doc.manifests));
}

function validDescriptor(d: unknown): d is Descriptor {
  const x = d as Descriptor;
  return (
    !!x &&
    typeof x === 'object' &&
    typeof x.digest === 'string' &&
    DIGEST_RE.test(x.digest) &&
    (x.size === undefined || (Number.isSafeInteger(x.size) && x.size >= 0))
  );
}

function cleanAnnotations(a: unknown, prefix = ''): Record<string, string> {
  const out: Record<string, string> = {};
  if (!a || typeof a !== 'object') return out;
  let n = 0;
  for (const [k, v] of Object.entries(a as Record<string, unknown>)) {
    if (typeof v !== 'string' || n++ >= MAX_ANNOTATIONS) continue;
    out[prefix + k.slice(0, 256)] = v.slice(0, MAX_ANNOTATION_CHARS);
  }
  return out;
}

type LayerKind = 'layer' | 'encrypted-layer' | 'key' | 'model' | 'signature' | 'attestation' | 'other';

/** What a blob is, by media type (and title): decides whether it is scanned directly, only with --layers, or not. */
export function classifyBlob(d: Descriptor): LayerKind {
  const mt = (d.mediaType ?? '').toLowerCase();
  const title = (d.annotations?.['org.opencontainers.image.title'] ?? '').toLowerCase();
  if (/\+encrypted$/.test(mt)) return 'encrypted-layer';
  if (/image\.layer\.v1\.tar|rootfs\.diff\.tar|\.layer\.v1\.tar/.test(mt)) return 'layer';
  if (mt === MEDIA.simpleSigning || mt === MEDIA.jws || mt === MEDIA.cose || mt.startsWith('application/vnd.dev.sigstore.bundle')) return 'signature';
  if (mt === MEDIA.inToto || mt === MEDIA.dsse || mt.includes('in-toto')) return 'attestation';
  if (
    /pkix|x509|x-pem|pkcs8|pkcs7|pkcs12|x-pkcs|pgp-keys|pgp-signature|jwk|jwks|x-ssh|ssh-key|certificate/.test(mt) ||
    /\.(pem|crt|cer|der|key|p12|pfx|asc|gpg|jwk|pub)$/.test(title)
  )
    return 'key';
  if (/model|gguf|safetensors|onnx|ollama|weights?\b/.test(mt) || /\.(gguf|safetensors|onnx|pt|pth|ckpt|bin|h5|keras|tflite|pb)$/.test(title)) return 'model';
  return 'other';
}

function layerName(d: Descriptor, i: number): string {
  const title = d.annotations?.['org.opencontainers.image.title'];
  if (title && !title.includes('\0')) return title.replace(/^\/+/, '').slice(0, 255);
  const mt = d.mediaType ?? '';
  const ext = /zstd/.test(mt) ? '.tar.zst' : /gzip/.test(mt) ? '.tar.gz' : /tar/.test(mt) ? '.tar' : '';
  return `layers[${i}]${ext}`;
}

export class OciSource implements Source {
  private readonly t: OciTarget;
  private readonly client: RegistryClient;
  private readonly tagLists = new Map<string, Promise<Set<string> | null>>();
  private readonly relatedCache = new Map<string, Promise<RelatedInfo>>();

  constructor(
    readonly target: string,
    private readonly options: OciSourceOptions = {},
  ) {
    this.t = parseOciTarget(target);
    if (!this.t.repo && !options.allRepositories)
      throw new UsageError(`${target}: no repository named; add /<repository>, or --all-repositories to scan the registry's catalog`);
    const cas = options.registryCa === undefined ? [] : Array.isArray(options.registryCa) ? options.registryCa : [options.registryCa];
    this.client = new RegistryClient(this.t.host, {
      plainHttp: options.plainHttp,
      caFiles: cas,
      credentials: () => dockerCredentials(this.t.host, options.dockerConfig ? { configPath: options.dockerConfig } : {}),
      onRequest: options.onRequest,
      backoffMs: options.backoffMs,
    });
    options.onClient?.(this.client);
  }

  private get pageSize(): number {
    const n = this.options.pageSize ?? 1000;
    return Number.isInteger(n) && n > 0 && n <= 10_000 ? n : 1000;
  }

  private uri(repo: string, digest: string): string {
    return `oci://${this.t.host}/${repo}@${digest}`;
  }

  async *walk(): AsyncIterable<ArtifactRef | SourceProblem> {
    let repos: AsyncIterable<string> | string[];
    if (this.t.repo) repos = [this.t.repo];
    else repos = this.client.paginate<string>(`/v2/_catalog?n=${this.pageSize}`, 'registry:catalog:*', 'repositories');
    try {
      for await (const repo of repos) {
        if (typeof repo !== 'string' || !REPO_RE.test(repo)) {
          yield {
            uri: `oci://${this.t.host}`,
            code: 'remote',
            message: `oci://${this.t.host}: catalog lists an invalid repository name ${JSON.stringify(String(repo)).slice(0, 100)}; skipped`,
          };
          continue;
        }
        yield* this.walkRepo(repo);
      }
    } catch (e) {
      yield { uri: this.target, code: 'remote', message: prefixed(this.target, e) };
    }
  }

  /** The repository's tags; null when the repository is unknown (404). */
  private tags(repo: string): Promise<Set<string> | null> {
    let p = this.tagLists.get(repo);
    if (!p) {
      p = (async () => {
        const s = new Set<string>();
        try {
          for await (const t of this.client.paginate<string>(`/v2/${repo}/tags/list?n=${this.pageSize}`, pullScope(repo), 'tags'))
            if (typeof t === 'string' && TAG_RE.test(t)) s.add(t);
        } catch (e) {
          if (e instanceof RegistryError && e.status === 404) return null;
          throw e;
        }
        return s;
      })();
      this.tagLists.set(repo, p);
    }
    return p;
  }

  private async fetchManifest(repo: string, reference: string): Promise<Fetched | undefined> {
    const r = await this.client.getJsonDocument(`/v2/${repo}/manifests/${reference}`, pullScope(repo), MANIFEST_ACCEPT);
    if (r.status === 404) return undefined;
    const digest = sha256(r.bytes);
    if (DIGEST_RE.test(reference) && digest !== reference)
      throw new RegistryError(`${this.uri(repo, reference)}: manifest content digest ${digest} does not match`);
    let doc: ManifestDoc;
    try {
      doc = JSON.parse(new TextDecoder().decode(r.bytes)) as ManifestDoc;
      if (!doc || typeof doc !== 'object' || Array.isArray(doc)) throw new Error('not an object');
    } catch (e) {
      throw new RegistryError(`${this.uri(repo, digest)}: manifest is not JSON: ${errorMessage(e)}`);
    }
    const mediaType = typeof doc.mediaType === 'string' ? doc.mediaType : (r.mediaType ?? MEDIA.ociManifest);
    return { digest, mediaType, bytes: r.bytes, doc };
  }

  private async *walkRepo(repo: string): AsyncIterable<ArtifactRef | SourceProblem> {
    const repoUri = `oci://${this.t.host}/${repo}`;
    // reference → tags naming it; signature tags are reached from their subject, not walked as images.
    const wanted = new Map<string, string[]>();
    if (this.t.digest) wanted.set(this.t.digest, this.t.tag ? [this.t.tag] : []);
    else if (this.t.tag && this.t.repo === repo) wanted.set(this.t.tag, [this.t.tag]);
    else {
      let tags: Set<string> | null;
      try {
        tags = await this.tags(repo);
      } catch (e) {
        yield { uri: repoUri, code: 'remote', message: prefixed(repoUri, e) };
        return;
      }
      if (!tags) {
        yield { uri: repoUri, code: 'remote', message: `${repoUri}: repository not found` };
        return;
      }
      for (const tag of [...tags].sort()) if (!SIG_TAG_RE.test(tag)) wanted.set(tag, [tag]);
    }
    const seen = new Map<string, ArtifactRef>();
    // Manifests are fetched a few ahead of the one being yielded (in order), so the walk is not one round trip per tag.
    const entries = [...wanted];
    const ahead: (Promise<{ m?: Fetched; e?: unknown }> | undefined)[] = [];
    const prefetch = (i: number) => {
      if (i < entries.length && !ahead[i])
        ahead[i] = this.fetchManifest(repo, entries[i][0]).then(
          (m) => ({ m }),
          (e: unknown) => ({ e }),
        );
    };
    for (let i = 0; i < entries.length; i++) {
      for (let j = i; j < i + MANIFEST_PREFETCH; j++) prefetch(j);
      const [reference, tags] = entries[i];
      const got = await ahead[i]!;
      ahead[i] = undefined;
      let m: Fetched | undefined;
      try {
        if (got.e !== undefined) throw got.e;
        m = got.m;
      } catch (e) {
        yield { uri: `${repoUri}:${reference}`, code: 'remote', message: prefixed(`${repoUri}${reference.startsWith('sha256:') ? '@' : ':'}${reference}`, e) };
        continue;
      }
      if (!m) {
        yield {
          uri: `${repoUri}:${reference}`,
          code: 'remote',
          message: `${repoUri}${reference.startsWith('sha256:') ? '@' : ':'}${reference}: manifest not found`,
        };
        continue;
      }
      const prior = seen.get(m.digest);
      if (prior) {
        // Several tags, one manifest: one artifact, every tag named.
        prior.annotations['oci.tags'] = [...prior.annotations['oci.tags'].split(','), ...tags].join(',').slice(0, MAX_ANNOTATION_CHARS);
        continue;
      }
      yield* this.walkManifest(repo, m, tags, undefined, {}, 0, seen);
    }
  }

  private async *walkManifest(
    repo: string,
    m: Fetched,
    tags: string[],
    parent: string | undefined,
    inherited: Record<string, string>,
    depth: number,
    seen: Map<string, ArtifactRef>,
  ): AsyncIterable<ArtifactRef | SourceProblem> {
    const uri = this.uri(repo, m.digest);
    const index = isIndex(m.mediaType, m.doc);
    const annotations: Record<string, string> = {
      ...inherited,
      ...cleanAnnotations(m.doc.annotations),
      'oci.repository': repo,
      'oci.tags': tags.join(','),
      ...(typeof m.doc.artifactType === 'string' ? { 'oci.artifactType': m.doc.artifactType.slice(0, 255) } : {}),
      ...(m.doc.config && typeof m.doc.config.mediaType === 'string' ? { 'oci.config.mediaType': m.doc.config.mediaType.slice(0, 255) } : {}),
      ...(m.doc.subject && validDescriptor(m.doc.subject) ? { 'oci.subject': m.doc.subject.digest } : {}),
    };
    if (!tags.length) delete annotations['oci.tags'];
    const layers = (Array.isArray(m.doc.layers) ? m.doc.layers : Array.isArray(m.doc.blobs) ? m.doc.blobs : []).slice(0, MAX_LAYERS);
    const encrypted = layers.filter((l) => validDescriptor(l) && classifyBlob(l) === 'encrypted-layer').length;
    if (encrypted) annotations['oci.encryptedLayers'] = String(encrypted);
    const ref: ArtifactRef = {
      uri,
      name: `${repo}@${m.digest}`,
      size: m.bytes.length,
      digest: m.digest,
      mediaType: m.mediaType,
      annotations,
      bytes: m.bytes,
      reopenable: true,
      ...(parent ? { parent } : {}),
      async *open() {
        yield m.bytes;
      },
      read: async (s, e) => m.bytes.subarray(s, Math.min(e, m.bytes.length)),
      // A signature manifest pushed without a subject is still someone's signature: it is not itself "unsigned".
      related: () => this.relatedWithParent(repo, m.digest, parent),
    };
    seen.set(m.digest, ref);
    yield ref;

    if (index) {
      const children = Array.isArray(m.doc.manifests) ? m.doc.manifests : [];
      if (children.length > MAX_INDEX_CHILDREN)
        yield { uri, code: 'remote', message: `${uri}: index lists ${children.length} manifests; only the first ${MAX_INDEX_CHILDREN} are read` };
      if (depth >= MAX_INDEX_DEPTH) {
        yield { uri, code: 'remote', message: `${uri}: indexes nested deeper than ${MAX_INDEX_DEPTH}; not followed` };
        return;
      }
      for (const d of children.slice(0, MAX_INDEX_CHILDREN)) {
        if (!validDescriptor(d)) {
          yield { uri, code: 'remote', message: `${uri}: index entry without a valid sha256 digest; skipped` };
          continue;
        }
        if (seen.has(d.digest)) continue;
        let child: Fetched | undefined;
        try {
          child = await this.fetchManifest(repo, d.digest);
        } catch (e) {
          yield { uri: this.uri(repo, d.digest), code: 'remote', message: prefixed(this.uri(repo, d.digest), e) };
          continue;
        }
        if (!child) {
          yield { uri: this.uri(repo, d.digest), code: 'remote', message: `${this.uri(repo, d.digest)}: listed in ${uri} but not found` };
          continue;
        }
        const p = d.platform;
        const platform = p && typeof p.os === 'string' ? [p.os, p.architecture, p.variant].filter((x) => typeof x === 'string').join('/') : undefined;
        yield* this.walkManifest(
          repo,
          child,
          [],
          uri,
          { ...cleanAnnotations(d.annotations), ...(platform ? { 'oci.platform': platform } : {}) },
          depth + 1,
          seen,
        );
      }
      return;
    }

    for (const [i, d] of layers.entries()) {
      if (!validDescriptor(d)) {
        yield { uri, code: 'remote', message: `${uri}: layers[${i}] has no valid sha256 digest; skipped` };
        continue;
      }
      const kind = classifyBlob(d);
      if (kind === 'key' || kind === 'model' || (kind === 'layer' && this.options.layers)) yield this.blobRef(repo, d, i, uri, kind);
    }
  }

  private blobRef(repo: string, d: Descriptor, i: number, parent: string, kind: LayerKind): ArtifactRef {
    const client = this.client;
    const size = d.size;
    const digestMode = this.options.digest ?? 'auto';
    const sampled = kind === 'model' && size !== undefined && (digestMode === 'none' || (digestMode === 'auto' && size > SAMPLE_THRESHOLD));
    return {
      uri: this.uri(repo, d.digest),
      name: layerName(d, i),
      ...(size !== undefined ? { size } : {}),
      digest: d.digest,
      ...(d.mediaType ? { mediaType: d.mediaType } : {}),
      annotations: { ...cleanAnnotations(d.annotations), 'oci.repository': repo, 'oci.blob': kind },
      parent,
      reopenable: true,
      open: () => (kind === 'key' ? oneChunk(client.blobBytes(repo, d.digest, KEY_BLOB_LIMIT)) : client.blob(repo, d.digest)),
      read: (s, e) => client.blobRange(repo, d.digest, s, e),
      ...(sampled ? { sample: { head: SAMPLE_WINDOW, tail: SAMPLE_WINDOW } } : {}),
    };
  }

  /**
   * A platform manifest reached through a signed index is covered by the index's signature (the index names it by
   * digest), so it is not reported as unsigned.
   */
  private async relatedWithParent(repo: string, digest: string, parent: string | undefined): Promise<RelatedInfo> {
    const own = await this.cachedRelated(repo, digest);
    if (own.signed || !parent) return own;
    const parentDigest = parent.slice(parent.lastIndexOf('@') + 1);
    const p = await this.cachedRelated(repo, parentDigest);
    return p.signed ? { ...own, signed: true, annotations: { ...own.annotations, 'oci.signedVia': parent } } : own;
  }

  private cachedRelated(repo: string, digest: string): Promise<RelatedInfo> {
    const key = `${repo}@${digest}`;
    let p = this.relatedCache.get(key);
    if (!p) {
      p = this.related(repo, digest);
      this.relatedCache.set(key, p);
    }
    return p;
  }

  /** Referrers of `digest` (API, else tag schema) plus cosign's `.sig`/`.att` tags → signature material on the subject. */
  private async related(repo: string, digest: string): Promise<RelatedInfo> {
    const attached: ArtifactRef[] = [];
    const errors: NonNullable<RelatedInfo['errors']> = [];
    const kinds = { signatures: new Set<string>(), attestations: new Set<string>(), other: new Set<string>() };
    const subjectUri = this.uri(repo, digest);
    const referrers: Descriptor[] = [];
    if (!this.client.referrersUnsupported) {
      const r = await this.client.getJsonDocument(`/v2/${repo}/referrers/${digest}`, pullScope(repo), MEDIA.ociIndex);
      // Spec v1.1 "Listing Referrers": a registry with the API answers 200 (an empty index when there are none);
      // a 404 means no API, and clients fall back to the tag schema. Remembered per registry.
      if (r.status === 404) this.client.referrersUnsupported = true;
      else referrers.push(...this.indexEntries(r.bytes, `${subjectUri} referrers`, errors));
    }
    const hex = digest.slice(7);
    const tags = (await this.tags(repo).catch(() => null)) ?? new Set<string>();
    if (this.client.referrersUnsupported && tags.has(`sha256-${hex}`)) {
      const idx = await this.fetchManifest(repo, `sha256-${hex}`).catch((e) => {
        errors.push({ code: 'remote', message: prefixed(`${subjectUri} (referrers tag sha256-${hex})`, e) });
        return undefined;
      });
      if (idx) referrers.push(...this.indexEntries(idx.bytes, `${subjectUri} referrers tag`, errors));
    }
    const handled = new Set<string>();
    for (const d of referrers.slice(0, MAX_REFERRERS)) {
      if (handled.has(d.digest)) continue;
      handled.add(d.digest);
      const m = await this.fetchManifest(repo, d.digest).catch((e) => {
        errors.push({ code: 'remote', message: prefixed(this.uri(repo, d.digest), e) });
        return undefined;
      });
      if (m)
        await this.collectSignature(repo, m, d.artifactType ?? m.doc.artifactType ?? m.doc.config?.mediaType, `referrer ${m.digest}`, attached, kinds, errors);
    }
    if (referrers.length > MAX_REFERRERS)
      errors.push({ code: 'limit-size', message: `${subjectUri}: ${referrers.length} referrers; only the first ${MAX_REFERRERS} read` });
    // Cosign's own tag convention (also used next to the referrers API by cosign ≤ 2).
    for (const [suffix, type] of [
      ['sig', MEDIA.cosignSig],
      ['att', MEDIA.dsse],
    ] as const) {
      const tag = `sha256-${hex}.${suffix}`;
      if (!tags.has(tag)) continue;
      const m = await this.fetchManifest(repo, tag).catch((e) => {
        errors.push({ code: 'remote', message: prefixed(`oci://${this.t.host}/${repo}:${tag}`, e) });
        return undefined;
      });
      if (m && !handled.has(m.digest)) {
        handled.add(m.digest);
        await this.collectSignature(repo, m, m.doc.artifactType ?? type, tag, attached, kinds, errors);
      }
    }
    const annotations: Record<string, string> = {};
    if (kinds.signatures.size) annotations['oci.signatures'] = [...kinds.signatures].sort().join(',');
    if (kinds.attestations.size) annotations['oci.attestations'] = [...kinds.attestations].sort().join(',');
    if (kinds.other.size) annotations['oci.referrers.other'] = [...kinds.other].sort().join(',').slice(0, 1024);
    return { attached, annotations, errors, signed: kinds.signatures.size > 0 };
  }

  private indexEntries(bytes: Uint8Array, what: string, errors: NonNullable<RelatedInfo['errors']>): Descriptor[] {
    try {
      const doc = JSON.parse(new TextDecoder().decode(bytes)) as ManifestDoc;
      if (!Array.isArray(doc.manifests)) throw new Error('no "manifests" list');
      return doc.manifests.filter(validDescriptor);
    } catch (e) {
      errors.push({ code: 'malformed', message: `${what}: not an OCI index: ${errorMessage(e)}` });
      return [];
    }
  }

  /** One referrer / signature manifest: fetch the blobs that hold signature material, note what kind it is. */
  private async collectSignature(
    repo: string,
    m: Fetched,
    artifactType: string | undefined,
    label: string,
    attached: ArtifactRef[],
    kinds: { signatures: Set<string>; attestations: Set<string>; other: Set<string> },
    errors: NonNullable<RelatedInfo['errors']>,
  ): Promise<void> {
    const type = (artifactType ?? '').toLowerCase();
    const layers = (Array.isArray(m.doc.layers) ? m.doc.layers : Array.isArray(m.doc.blobs) ? m.doc.blobs : []).filter(validDescriptor).slice(0, 64);
    let kindOfManifest: string | undefined;
    if (type === MEDIA.notarySig) kindOfManifest = 'notation';
    else if (type === MEDIA.cosignSig || layers.some((l) => l.mediaType === MEDIA.simpleSigning)) kindOfManifest = 'cosign';
    else if (type.startsWith('application/vnd.dev.sigstore.bundle')) kindOfManifest = 'sigstore';
    else if (type === MEDIA.shelflifeHybridCms || type === MEDIA.shelflifeHybridJson) kindOfManifest = 'shelflife-hybrid';
    else if (type === MEDIA.inToto || type === MEDIA.dsse || type.includes('in-toto') || type.includes('slsa')) kindOfManifest = 'in-toto';
    if (!kindOfManifest) {
      if (type) kinds.other.add(type.slice(0, 128));
      // Not signature material (an SBOM, a scan report): only key/certificate blobs in it are read.
    }
    for (const [i, l] of layers.entries()) {
      const lk = classifyBlob(l);
      const interesting =
        lk === 'signature' || lk === 'attestation' || lk === 'key' || (kindOfManifest !== undefined && lk === 'other' && l.mediaType !== MEDIA.emptyJson);
      const base = `${label}/layers[${i}]`;
      if (interesting) {
        const held = attached.reduce((n, a) => n + (a.bytes?.length ?? 0), 0);
        if (l.size !== undefined && l.size > MAX_DOCUMENT_BYTES) {
          errors.push({
            code: 'limit-size',
            message: `${this.uri(repo, l.digest)}: signature blob of ${l.size} bytes exceeds ${MAX_DOCUMENT_BYTES}; not read`,
          });
        } else if (held + (l.size ?? MAX_DOCUMENT_BYTES) > MAX_ATTACHED_BYTES) {
          errors.push({
            code: 'limit-size',
            message: `${this.uri(repo, l.digest)}: more than ${MAX_ATTACHED_BYTES} bytes of signature material for one subject; not read`,
          });
        } else {
          try {
            const bytes = await this.client.blobBytes(repo, l.digest);
            attached.push(memRef(this.uri(repo, l.digest), `${base}/${attachedName(l, kindOfManifest)}`, bytes, l.digest, l.mediaType));
          } catch (e) {
            errors.push({ code: 'remote', message: prefixed(this.uri(repo, l.digest), e) });
          }
        }
      }
      // Cosign keeps the signature and the Fulcio certificate (and chain) in the layer's annotations.
      const ann = l.annotations ?? {};
      const cert = ann[COSIGN_ANNOTATION.certificate];
      const chain = ann[COSIGN_ANNOTATION.chain];
      const sigUri = `${this.uri(repo, m.digest)}#layers[${i}]`;
      if (typeof cert === 'string' && cert.length < MAX_ANNOTATION_CHARS * 8)
        attached.push(memRef(`${sigUri}/certificate`, `${base}/certificate.pem`, new TextEncoder().encode(cert)));
      if (typeof chain === 'string' && chain.length < MAX_ANNOTATION_CHARS * 32)
        attached.push(memRef(`${sigUri}/chain`, `${base}/chain.pem`, new TextEncoder().encode(chain)));
      if (kindOfManifest === 'cosign' && typeof ann[COSIGN_ANNOTATION.signature] === 'string') kinds.signatures.add('cosign');
    }
    if (kindOfManifest === 'notation' && layers.length) kinds.signatures.add('notation');
    if (kindOfManifest === 'sigstore' && layers.length) kinds.signatures.add('sigstore');
    if (kindOfManifest === 'shelflife-hybrid' && layers.length) kinds.signatures.add('shelflife-hybrid');
    if (kindOfManifest === 'in-toto' && layers.length) kinds.attestations.add('in-toto');
  }
}

function attachedName(l: Descriptor, kind: string | undefined): string {
  const mt = l.mediaType ?? '';
  if (mt === MEDIA.simpleSigning) return 'simplesigning.json';
  if (mt === MEDIA.jws) return 'signature.jws';
  if (mt === MEDIA.cose) return 'signature.cose';
  if (mt.startsWith('application/vnd.dev.sigstore.bundle')) return 'bundle.sigstore.json';
  if (mt === MEDIA.dsse || mt === MEDIA.inToto || kind === 'in-toto') return 'envelope.intoto.json';
  return layerName(l, 0).replace(/^layers\[0\]/, 'blob');
}

function memRef(uri: string, name: string, bytes: Uint8Array, digest?: string, mediaType?: string): ArtifactRef {
  return {
    uri,
    name,
    size: bytes.length,
    annotations: {},
    bytes,
    reopenable: true,
    ...(digest ? { digest } : {}),
    ...(mediaType ? { mediaType } : {}),
    async *open() {
      yield bytes;
    },
  };
}

async function* oneChunk(p: Promise<Uint8Array>): AsyncIterable<Uint8Array> {
  yield await p;
}

function prefixed(uri: string, e: unknown): string {
  return `${uri}: ${errorMessage(e)}`;
}

export function ociSource(target: string, options: SourceOptions): OciSource {
  return new OciSource(target, options as OciSourceOptions);
}
