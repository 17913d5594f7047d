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
import { errorAbout, errorMessage, LimitError, reasonAt, UsageError } from '../errors.js';
import { asList, type NetOptions } from '../net/http.js';
import { splitUserinfo } from '../net/secrets.js';
import { dockerCredentials, type RegistryCredential } from '../oci/docker-auth.js';
import { COSIGN_ANNOTATION, DIGEST_RE, MANIFEST_ACCEPT, MEDIA, REPO_RE, TAG_RE, ociUri, parseOciTarget, pullScope, type OciTarget } from '../oci/reference.js';
import { parseJsonStrict, type StrictJson } from '../oci/json.js';
import { referrersFromApi } from '../oci/referrers.js';
import { MAX_DOCUMENT_BYTES, RegistryClient, RegistryError } from '../oci/registry.js';
import type { SourceOptions } from './index.js';
import type { ArtifactResult } from '../model.js';
import { isChecksumFile } from './checksum-lists.js';
import { DETACHED_SUFFIXES, isEvidenceName, isModelSignatureName } from './signature-names.js';
import { REMOTE_SAMPLE_THRESHOLD, type ArtifactRef, type RelatedInfo, type Source, type SourceProblem, type WorkUnit } from './types.js';

const MAX_INDEX_CHILDREN = 1024;
const MANIFEST_PREFETCH = 8;
/** Manifest bytes held while a repository's tags are grouped by digest (past it, manifests are fetched again). */
const GROUPING_BYTES = 16 * 1024 * 1024;
const MAX_INDEX_DEPTH = 4;
const MAX_REFERRERS = 256;
/** Signature material read for one subject, across all its referrers: a hostile registry cannot make us hold more. */
const MAX_ATTACHED_BYTES = 32 * 1024 * 1024;
const MAX_LAYERS = 4096;
/** Tags read for one repository (they are held for the walk and the signature lookups). */
const MAX_TAGS = 100_000;
/** Layers of one signature manifest read for signature material. */
const MAX_SIGNATURE_LAYERS = 64;
const MAX_ANNOTATIONS = 256;
const MAX_ANNOTATION_CHARS = 8192;
/** Content blobs (models, an artifact's files) above this are sampled (head/tail) unless `--digest full`: S3's threshold. */
const SAMPLE_THRESHOLD = REMOTE_SAMPLE_THRESHOLD;
const SAMPLE_WINDOW = 1024 * 1024;
/** Key and certificate blobs are read whole up to this size. */
const KEY_BLOB_LIMIT = 4 * 1024 * 1024;

export interface OciSourceOptions extends SourceOptions, NetOptions {
  allRepositories?: boolean;
  layers?: boolean;
  /** Allow plain HTTP to a non-loopback registry. */
  plainHttp?: boolean;
  /** `--registry-ca`: PEM files of private CAs for the registry (added to Node's roots, like `ca`). */
  registryCa?: string[] | string;
  /** `--registry-auth-host`: token-realm hosts besides the registry that may receive its credentials. */
  authHosts?: string | string[];
  digest?: 'full' | 'none' | 'auto';
  /** docker config.json to read instead of $DOCKER_CONFIG / ~/.docker (tests). */
  dockerConfig?: string;
  /** Tests and the benchmark: observe the client. */
  onClient?: (client: RegistryClient) => void;
  /** `n` for catalog and tag-list pages (tests exercise pagination with small pages). */
  pageSize?: number;
}

const SIG_TAG_RE = /^sha256-([0-9a-f]{64})(?:\.(sig|att|sbom))?$/;

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
  /** Every candidate blob list (`layers`, `blobs`, and their case variants and repeats), in document order. */
  layers: unknown[];
  /** Every candidate `manifests` list of an index, likewise. */
  manifests: unknown[];
  /** Member names that collide (repeated, or equal but for case): the manifest means different things to different clients. */
  ambiguous: string[];
}

/** A top-level manifest of a repository with every tag naming it; `m` while its bytes are held (manifestsByDigest). */
interface TaggedManifest {
  digest: string;
  tags: string[];
  m?: Fetched;
}

/** All values of the top-level members whose lower-case name is one of `names`, flattened when they are lists. */
function candidates(members: Map<string, unknown[]>, ...names: string[]): unknown[] {
  return names.flatMap((n) => (members.get(n) ?? []).flatMap((v) => (Array.isArray(v) ? v : [])));
}

function sha256(bytes: Uint8Array): string {
  return `sha256:${createHash('sha256').update(bytes).digest('hex')}`;
}

/** Config media types of container images: a manifest with another config (or an `artifactType`) is an artifact. */
const IMAGE_CONFIGS = new Set(['application/vnd.oci.image.config.v1+json', 'application/vnd.docker.container.image.v1+json']);
/** Configs that hold nothing (OCI 1.1 "empty descriptor"; ORAS and cosign's `{}`). */
const EMPTY_CONFIGS = new Set<string>([MEDIA.emptyJson]);

function isArtifact(doc: ManifestDoc): boolean {
  if (typeof doc.artifactType === 'string' && doc.artifactType) return true;
  const ct = doc.config?.mediaType;
  return typeof ct === 'string' && !IMAGE_CONFIGS.has(ct);
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

/**
 * Blobs of a manifest that signature coverage links by title (docs/coverage.md), read whatever their media type: a
 * release pushed as an artifact (`oras push … fw.bin fw.bin.asc SHA256SUMS SHA256SUMS.asc`) holds signature files,
 * checksum lists and model signatures, and the files they sign beside them. By index into `layers`.
 */
function linkedTitles(layers: readonly unknown[]): Set<number> {
  const titles = layers.map((d) => (validDescriptor(d) ? d.annotations?.['org.opencontainers.image.title'] : undefined));
  const present = new Set(titles.filter((t): t is string => typeof t === 'string'));
  // A checksum list or model signature names files we cannot see without reading it: every titled blob beside it.
  // Titles may be paths (`release/SHA256SUMS`): names are judged by their last segment.
  const base = (t: string) => t.slice(t.lastIndexOf('/') + 1);
  const lists = [...present].some((t) => isChecksumFile(base(t)) || isModelSignatureName(base(t)));
  const out = new Set<number>();
  titles.forEach((t, i) => {
    if (typeof t !== 'string' || !t || t.includes('\0')) return;
    if (lists || isEvidenceName(base(t)) || DETACHED_SUFFIXES.some((s) => present.has(t + s))) out.add(i);
  });
  return out;
}

function layerName(d: Descriptor, i: number): string {
  const title = d.annotations?.['org.opencontainers.image.title'];
  if (title && !title.includes('\0')) return title.replace(/^\/+/, '').slice(0, 255);
  const mt = d.mediaType ?? '';
  const ext = /zstd/.test(mt) ? '.tar.zst' : /gzip/.test(mt) ? '.tar.gz' : /tar/.test(mt) ? '.tar' : '';
  return `layers[${i}]${ext}`;
}

/** What a subject's referrers and signature tags say, without the blob bytes (cached per subject; bytes are not). */
interface SignatureSummary {
  kinds: { signatures: Set<string>; attestations: Set<string>; other: Set<string> };
  /** Blobs holding signature material, and in-memory objects (cosign certificates in annotations). */
  blobs: { uri: string; name: string; digest: string; mediaType?: string; size?: number }[];
  inline: { uri: string; name: string; text: string }[];
  errors: NonNullable<RelatedInfo['errors']>;
  /** False when a listing that could hold signatures could not be read: `signed: false` would be a guess. */
  complete: boolean;
}

export class OciSource implements Source {
  readonly target: string;
  private readonly t: OciTarget;
  private readonly client: RegistryClient;
  private readonly tagLists = new Map<string, Promise<Set<string> | null>>();
  private readonly summaries = new Map<string, Promise<SignatureSummary>>();
  private readonly blobs = new Map<string, Promise<Uint8Array> | WeakRef<Uint8Array>>();

  constructor(
    target: string,
    private readonly options: OciSourceOptions = {},
  ) {
    // `oci://user:pass@host/…`: the password is used for this registry's requests and appears nowhere else.
    const { url, authorization } = splitUserinfo(target);
    this.target = url;
    this.t = parseOciTarget(url);
    if (!this.t.repo && !options.allRepositories)
      throw new UsageError("no repository named; add /<repository>, or --all-repositories to scan the registry's catalog", { uri: url });
    const fromUri = authorization ? userinfoCredential(authorization) : undefined;
    this.client = new RegistryClient(this.t.host, {
      ...options,
      ca: [...asList(options.ca), ...asList(options.registryCa)],
      credentials: fromUri ? async () => fromUri : () => dockerCredentials(this.t.host, options.dockerConfig ? { configPath: options.dockerConfig } : {}),
    });
    options.onClient?.(this.client);
  }

  async close(): Promise<void> {
    await this.client.close();
  }

  /** A blob this source yielded, fetched again by digest (held to the digest and size by the client). */
  reread(a: ArtifactResult): AsyncIterable<Uint8Array> | undefined {
    const repo = a.annotations?.['oci.repository'];
    const digest = a.uri.slice(a.uri.lastIndexOf('@') + 1);
    if (!a.annotations?.['oci.blob'] || !repo || a.uri !== this.uri(repo, digest) || !DIGEST_RE.test(digest)) return undefined;
    return this.client.blob(repo, digest, a.size);
  }

  private get pageSize(): number {
    const n = this.options.pageSize ?? 1000;
    return Number.isInteger(n) && n > 0 && n <= 10_000 ? n : 1000;
  }

  private uri(repo: string, digest: string): string {
    return ociUri(this.t.host, repo, digest);
  }

  async *walk(unit?: WorkUnit): AsyncIterable<ArtifactRef | SourceProblem> {
    if (unit && typeof unit.part.digest === 'string') {
      yield* this.walkUnit(unit.part);
      return;
    }
    try {
      for await (const repo of this.repositories()) {
        if (typeof repo === 'string') yield* this.walkRepo(repo);
        else yield repo;
      }
    } catch (e) {
      yield { ...errorAbout(this.target, e), uri: this.target };
    }
  }

  /**
   * The repositories the target names: its own, or every one the catalog lists (`--all-repositories`); an invalid
   * name in the catalog, or a catalog that fails, is a problem on the registry, and the walk goes on without it.
   */
  private async *repositories(): AsyncIterable<string | SourceProblem> {
    if (this.t.repo) {
      yield this.t.repo;
      return;
    }
    try {
      for await (const repo of this.client.paginate<string>(`/v2/_catalog?n=${this.pageSize}`, 'registry:catalog:*', 'repositories')) {
        if (typeof repo === 'string' && REPO_RE.test(repo)) yield repo;
        else
          yield {
            uri: `oci://${this.t.host}`,
            code: 'remote',
            message: `oci://${this.t.host}: catalog lists an invalid repository name ${JSON.stringify(String(repo)).slice(0, 100)}; skipped`,
          };
      }
    } catch (e) {
      yield { ...errorAbout(this.target, e), uri: this.target };
    }
  }

  /** The repository's tags; null when the repository is unknown (404). Other failures are thrown to the caller. */
  private tags(repo: string): Promise<Set<string> | null> {
    let p = this.tagLists.get(repo);
    if (!p) {
      p = (async () => {
        const s = new Set<string>();
        try {
          for await (const t of this.client.paginate<string>(`/v2/${repo}/tags/list?n=${this.pageSize}`, pullScope(repo), 'tags')) {
            if (typeof t === 'string' && TAG_RE.test(t)) s.add(t);
            if (s.size > MAX_TAGS)
              throw new LimitError('limit-entries', `more than ${MAX_TAGS} tags; the rest of the tag list was not read`, {
                uri: `oci://${this.t.host}/${repo}`,
              });
          }
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
      throw new RegistryError(`manifest content digest ${digest} does not match`, { uri: this.uri(repo, reference) });
    let parsed: StrictJson;
    try {
      parsed = parseJsonStrict(new TextDecoder().decode(r.bytes));
      if (!parsed.value || typeof parsed.value !== 'object' || Array.isArray(parsed.value)) throw new Error('not an object');
    } catch (e) {
      throw new RegistryError(`manifest is not JSON: ${errorMessage(e)}`, { uri: this.uri(repo, digest) });
    }
    const doc = parsed.value as ManifestDoc;
    const mediaType = typeof doc.mediaType === 'string' ? doc.mediaType : (r.mediaType ?? MEDIA.ociManifest);
    // A blob list under two spellings is read in full: whichever one a client takes, its blobs are scanned.
    const layers = candidates(parsed.members, 'layers', 'blobs');
    const manifests = candidates(parsed.members, 'manifests');
    const ambiguous = parsed.collisions.map((c) => `${c.path === '$' ? '' : `${c.path}: `}${c.keys.map((k) => JSON.stringify(k)).join(' and ')}`);
    return { digest, mediaType, bytes: r.bytes, doc, layers, manifests, ambiguous };
  }

  private async *walkRepo(repo: string): AsyncIterable<ArtifactRef | SourceProblem> {
    const { problems, entries, tagsOf } = await this.manifestsByDigest(repo);
    yield* problems;
    // digest → the annotations of the artifact yielded for it; a manifest an index listed before is not walked again
    // (the index named it with its tags, from tagsOf).
    const seen = new Map<string, Record<string, string>>();
    for (const entry of entries) {
      if (seen.has(entry.digest)) continue;
      const got = await this.heldOrFetched(repo, entry);
      if ('m' in got) yield* this.walkManifest(repo, got.m, entry.tags, undefined, {}, 0, seen, tagsOf);
      else yield got;
    }
  }

  /**
   * The repository's top-level manifests, each once with every tag that names it, in the order of their first tag.
   * All tags are grouped before any manifest is walked, so an artifact names every tag of its digest whatever the
   * scan's timing (and the one-process walk and the distributed units agree). The grouping holds manifest bytes up to
   * GROUPING_BYTES; past that, only digest and tags are kept and the manifest is fetched again by digest.
   */
  private async manifestsByDigest(repo: string): Promise<{ problems: SourceProblem[]; entries: TaggedManifest[]; tagsOf: Map<string, string[]> }> {
    const problems: SourceProblem[] = [];
    const entries: TaggedManifest[] = [];
    const tagsOf = new Map<string, string[]>();
    let held = 0;
    for await (const got of this.manifestsOf(repo)) {
      if (!('m' in got)) {
        problems.push(got);
        continue;
      }
      const prior = tagsOf.get(got.m.digest);
      if (prior) {
        prior.push(...got.tags);
        continue;
      }
      const tags = [...got.tags];
      tagsOf.set(got.m.digest, tags);
      const keep = held + got.m.bytes.length <= GROUPING_BYTES;
      if (keep) held += got.m.bytes.length;
      entries.push({ digest: got.m.digest, tags, ...(keep ? { m: got.m } : {}) });
    }
    return { problems, entries, tagsOf };
  }

  /** A grouped manifest's bytes: the ones held, or fetched again by digest (and checked against it). */
  private async heldOrFetched(repo: string, entry: TaggedManifest): Promise<{ m: Fetched } | SourceProblem> {
    const m = entry.m;
    entry.m = undefined;
    if (m) return { m };
    const uri = this.uri(repo, entry.digest);
    try {
      const again = await this.fetchManifest(repo, entry.digest);
      return again ? { m: again } : { uri, code: 'remote', message: 'manifest not found' };
    } catch (e) {
      return { ...errorAbout(uri, e), uri };
    }
  }

  /** The repository's top-level manifests (what the target or its tags name), fetched in order, a few ahead. */
  private async *manifestsOf(repo: string): AsyncIterable<{ m: Fetched; tags: string[] } | SourceProblem> {
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
        yield { ...errorAbout(repoUri, e), uri: repoUri };
        return;
      }
      if (!tags) {
        yield { uri: repoUri, code: 'remote', message: 'repository not found' };
        return;
      }
      for (const tag of [...tags].sort()) if (!SIG_TAG_RE.test(tag)) wanted.set(tag, [tag]);
    }
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
      const refUri = `${repoUri}${reference.startsWith('sha256:') ? '@' : ':'}${reference}`;
      if (got.e !== undefined) yield { ...errorAbout(refUri, got.e), uri: refUri };
      else if (!got.m) yield { uri: refUri, code: 'remote', message: 'manifest not found' };
      else yield { m: got.m, tags };
    }
  }

  /**
   * Distributed scans: a registry is one unit per repository (split again by a worker), a repository one unit per
   * top-level manifest, named by digest with every tag that names it. A manifest an index listed before is left to
   * that index's unit (`claimed`), as the one-process walk leaves it.
   */
  async *units(within?: WorkUnit): AsyncIterable<WorkUnit | SourceProblem> {
    if (within && typeof within.part.repo === 'string') {
      const repo = within.part.repo;
      const { problems, entries, tagsOf } = await this.manifestsByDigest(repo);
      yield* problems;
      const claimed: string[] = [];
      for (const entry of entries) {
        if (claimed.includes(entry.digest)) continue;
        const got = await this.heldOrFetched(repo, entry);
        if (!('m' in got)) {
          yield got;
          continue;
        }
        const before = [...claimed];
        claimed.push(entry.digest);
        // The children an index claims are walked in its unit, named with their own tags as the one-process walk names them.
        const childTags: Record<string, string[]> = {};
        if (isIndex(got.m.mediaType, got.m.doc))
          for (const d of got.m.manifests)
            if (validDescriptor(d) && !claimed.includes(d.digest)) {
              claimed.push(d.digest);
              const tags = tagsOf.get(d.digest);
              if (tags) childTags[d.digest] = tags;
            }
        yield { uri: this.uri(repo, entry.digest), part: { repo, digest: entry.digest, tags: entry.tags, claimed: before, childTags } };
      }
      return;
    }
    for await (const repo of this.repositories()) yield typeof repo === 'string' ? { uri: `oci://${this.t.host}/${repo}`, part: { repo }, split: true } : repo;
  }

  /** One manifest unit (units()): fetched again by digest and walked as the repository walk walks it. */
  private async *walkUnit(part: Record<string, unknown>): AsyncIterable<ArtifactRef | SourceProblem> {
    const repo = String(part.repo);
    const digest = String(part.digest);
    if (!REPO_RE.test(repo) || !DIGEST_RE.test(digest)) throw new UsageError('work unit names no valid repository and digest', { uri: this.target });
    const uri = this.uri(repo, digest);
    let m: Fetched | undefined;
    try {
      m = await this.fetchManifest(repo, digest);
    } catch (e) {
      yield { ...errorAbout(uri, e), uri };
      return;
    }
    if (!m) {
      yield { uri, code: 'remote', message: 'manifest not found' };
      return;
    }
    const tags = Array.isArray(part.tags) ? part.tags.filter((t): t is string => typeof t === 'string' && TAG_RE.test(t)) : [];
    const seen = new Map<string, Record<string, string>>();
    for (const d of Array.isArray(part.claimed) ? part.claimed : []) if (typeof d === 'string') seen.set(d, {});
    const tagsOf = new Map<string, string[]>();
    const childTags = part.childTags && typeof part.childTags === 'object' ? (part.childTags as Record<string, unknown>) : {};
    for (const [d, list] of Object.entries(childTags))
      if (DIGEST_RE.test(d) && Array.isArray(list))
        tagsOf.set(
          d,
          list.filter((t): t is string => typeof t === 'string' && TAG_RE.test(t)),
        );
    yield* this.walkManifest(repo, m, tags, undefined, {}, 0, seen, tagsOf);
  }

  private async *walkManifest(
    repo: string,
    m: Fetched,
    tags: string[],
    parent: string | undefined,
    inherited: Record<string, string>,
    depth: number,
    seen: Map<string, Record<string, string>>,
    tagsOf: ReadonlyMap<string, string[]> = new Map(),
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
    // What is wrong with the manifest itself is reported on it (never as a second artifact under its URI).
    const problems: NonNullable<RelatedInfo['errors']> = [];
    if (m.ambiguous.length)
      problems.push({
        code: 'malformed',
        message: `ambiguous manifest: member names collide (${m.ambiguous.join('; ')}); clients disagree on which one counts, so every candidate list was read`,
      });
    const listed = m.layers;
    if (listed.length > MAX_LAYERS)
      problems.push({ code: 'limit-entries', message: `lists ${listed.length} layers; only the first ${MAX_LAYERS} were read (limit)`, uri });
    const layers = listed.slice(0, MAX_LAYERS);
    const encrypted = layers.filter((l) => validDescriptor(l) && classifyBlob(l) === 'encrypted-layer').length;
    if (encrypted) annotations['oci.encryptedLayers'] = String(encrypted);
    const children = index ? m.manifests : [];
    if (children.length > MAX_INDEX_CHILDREN)
      problems.push({
        code: 'limit-entries',
        message: `index lists ${children.length} manifests; only the first ${MAX_INDEX_CHILDREN} were read (limit)`,
        uri,
      });
    if (index && children.length && depth >= MAX_INDEX_DEPTH)
      problems.push({ code: 'limit-depth', message: `indexes nested deeper than ${MAX_INDEX_DEPTH}; its manifests were not read (limit)`, uri });
    if (!index)
      layers.forEach((d, i) => {
        if (!validDescriptor(d)) problems.push({ code: 'malformed', message: `layers[${i}] has no valid sha256 digest; skipped`, uri });
      });
    seen.set(m.digest, annotations);
    const bytes = m.bytes;
    yield {
      uri,
      name: `${repo}@${m.digest}`,
      size: bytes.length,
      digest: m.digest,
      mediaType: m.mediaType,
      annotations,
      bytes,
      reopenable: true,
      // Its referrers (signatures added by `resign` or cosign) can change while its digest does not: never reused.
      reusable: false,
      ...(parent ? { parent } : {}),
      async *open() {
        yield bytes;
      },
      read: async (s, e) => bytes.subarray(s, Math.min(e, bytes.length)),
      // A signature manifest pushed without a subject is still someone's signature: it is not itself "unsigned".
      related: async () => {
        const info = await this.related(repo, m.digest, parent);
        return { ...info, errors: [...problems, ...(info.errors ?? [])] };
      },
    };

    if (index) {
      if (depth >= MAX_INDEX_DEPTH) return;
      for (const d of children.slice(0, MAX_INDEX_CHILDREN)) {
        if (!validDescriptor(d)) {
          problems.push({ code: 'malformed', message: 'index entry without a valid sha256 digest; skipped', uri });
          continue;
        }
        if (seen.has(d.digest)) continue;
        const childUri = this.uri(repo, d.digest);
        let child: Fetched | undefined;
        try {
          child = await this.fetchManifest(repo, d.digest);
        } catch (e) {
          yield { ...errorAbout(childUri, e), uri: childUri };
          continue;
        }
        if (!child) {
          yield { uri: childUri, code: 'remote', message: `listed in ${uri} but not found` };
          continue;
        }
        const p = d.platform;
        const platform = p && typeof p.os === 'string' ? [p.os, p.architecture, p.variant].filter((x) => typeof x === 'string').join('/') : undefined;
        yield* this.walkManifest(
          repo,
          child,
          tagsOf.get(d.digest) ?? [],
          uri,
          { ...cleanAnnotations(d.annotations), ...(platform ? { 'oci.platform': platform } : {}) },
          depth + 1,
          seen,
          tagsOf,
        );
      }
      return;
    }

    // An artifact (OCI 1.1 `artifactType`, or a config that is not an image config) is content, not an image: every
    // blob it holds is read, whatever its media type or title (a JAR or a CMS file pushed as octet-stream), its config
    // too when it holds anything. Image layers wait for --layers (unless a signature or checksum list beside them
    // names them: docs/coverage.md); encrypted layers cannot be read.
    const artifact = isArtifact(m.doc);
    if (artifact && validDescriptor(m.doc.config) && !EMPTY_CONFIGS.has(m.doc.config.mediaType ?? '') && m.doc.config.size !== 0)
      yield this.blobRef(
        repo,
        { ...m.doc.config, annotations: { 'org.opencontainers.image.title': 'config', ...(m.doc.config.annotations ?? {}) } },
        -1,
        uri,
        'other',
      );
    const linked = linkedTitles(layers);
    for (const [i, d] of layers.entries()) {
      if (!validDescriptor(d)) continue;
      const kind = classifyBlob(d);
      const read =
        kind === 'layer'
          ? !!this.options.layers || linked.has(i)
          : kind === 'encrypted-layer'
            ? false
            : kind === 'key' || kind === 'model' || artifact || linked.has(i);
      if (read && !(kind === 'other' && d.mediaType === MEDIA.emptyJson)) yield this.blobRef(repo, d, i, uri, kind);
    }
  }

  private blobRef(repo: string, d: Descriptor, i: number, parent: string, kind: LayerKind): ArtifactRef {
    const client = this.client;
    const size = d.size;
    const digestMode = this.options.digest ?? 'auto';
    // Content blobs (models, an artifact's files) are read whole up to the threshold S3's `--digest auto` uses, and by
    // head and tail ranges beyond it; an image layer is a container and is streamed whole.
    const sampled = kind !== 'layer' && kind !== 'key' && size !== undefined && (digestMode === 'none' || (digestMode === 'auto' && size > SAMPLE_THRESHOLD));
    return {
      uri: this.uri(repo, d.digest),
      name: layerName(d, i),
      ...(size !== undefined ? { size } : {}),
      digest: d.digest,
      ...(d.mediaType ? { mediaType: d.mediaType } : {}),
      annotations: { ...cleanAnnotations(d.annotations), 'oci.repository': repo, 'oci.blob': kind },
      parent,
      reopenable: true,
      // Every open is held to the descriptor (size, digest): a second GET answered with other bytes is an error.
      open: () => (kind === 'key' ? oneChunk(client.blobBytes(repo, d.digest, KEY_BLOB_LIMIT)) : client.blob(repo, d.digest, size)),
      read: (s, e) => client.blobRange(repo, d.digest, s, e),
      ...(sampled ? { sample: { head: SAMPLE_WINDOW, tail: SAMPLE_WINDOW } } : {}),
    };
  }

  /**
   * Signature material for a manifest: its own referrers and cosign tags, fetched now (the bytes are handed to the
   * engine and not kept). A platform manifest reached through a signed index is covered by the index's signature
   * (the index names it by digest), so it is not reported as unsigned.
   */
  private async related(repo: string, digest: string, parent: string | undefined): Promise<RelatedInfo> {
    const own = await this.summary(repo, digest);
    const attached: ArtifactRef[] = [];
    const errors = [...own.errors];
    let held = 0;
    for (const o of own.inline) attached.push(memRef(o.uri, o.name, new TextEncoder().encode(o.text)));
    for (const b of own.blobs) {
      if (b.size !== undefined && b.size > MAX_DOCUMENT_BYTES) {
        errors.push({ code: 'limit-size', message: `signature blob of ${b.size} bytes exceeds ${MAX_DOCUMENT_BYTES}; not read (limit)`, uri: b.uri });
        continue;
      }
      if (held + (b.size ?? MAX_DOCUMENT_BYTES) > MAX_ATTACHED_BYTES) {
        errors.push({
          code: 'limit-size',
          message: `more than ${MAX_ATTACHED_BYTES} bytes of signature material for one subject; not read (limit)`,
          uri: b.uri,
        });
        continue;
      }
      try {
        const bytes = await this.sharedBlob(repo, b.digest);
        held += bytes.length;
        attached.push(memRef(b.uri, b.name, bytes, b.digest, b.mediaType));
      } catch (e) {
        errors.push(errorAbout(b.uri, e, 'remote'));
      }
    }
    const annotations: Record<string, string> = {};
    if (own.kinds.signatures.size) annotations['oci.signatures'] = [...own.kinds.signatures].sort().join(',');
    if (own.kinds.attestations.size) annotations['oci.attestations'] = [...own.kinds.attestations].sort().join(',');
    if (own.kinds.other.size) annotations['oci.referrers.other'] = [...own.kinds.other].sort().join(',').slice(0, 1024);
    let signed: boolean | undefined = own.kinds.signatures.size > 0 ? true : own.complete ? false : undefined;
    if (!signed && parent) {
      const p = await this.summary(repo, parent.slice(parent.lastIndexOf('@') + 1));
      if (p.kinds.signatures.size > 0) {
        signed = true;
        annotations['oci.signedVia'] = parent;
      }
    }
    return { attached, annotations, errors, ...(signed !== undefined ? { signed } : {}) };
  }

  /**
   * A signature blob, one copy by digest: the subjects that share it (an index's children signed by one bundle) get
   * the same bytes, fetched once while any of them is held.
   */
  private async sharedBlob(repo: string, digest: string): Promise<Uint8Array> {
    const key = `${repo}@${digest}`;
    const c = this.blobs.get(key);
    if (c instanceof Promise) return c;
    const live = c?.deref();
    if (live) return live;
    const p = this.client.blobBytes(repo, digest);
    this.blobs.set(key, p);
    try {
      const bytes = await p;
      this.blobs.set(key, new WeakRef(bytes));
      return bytes;
    } catch (e) {
      this.blobs.delete(key);
      throw e;
    }
  }

  private summary(repo: string, digest: string): Promise<SignatureSummary> {
    const key = `${repo}@${digest}`;
    let p = this.summaries.get(key);
    if (!p) {
      p = this.summarise(repo, digest);
      this.summaries.set(key, p);
    }
    return p;
  }

  /** Referrers of `digest` (API, else tag schema) plus cosign's `.sig`/`.att` tags: what signs it, and where the bytes are. */
  private async summarise(repo: string, digest: string): Promise<SignatureSummary> {
    const out: SignatureSummary = {
      kinds: { signatures: new Set(), attestations: new Set(), other: new Set() },
      blobs: [],
      inline: [],
      errors: [],
      complete: true,
    };
    const subjectUri = this.uri(repo, digest);
    const referrers: Descriptor[] = [];
    if (!this.client.referrersUnsupported) {
      // Spec v1.1 "Listing Referrers": a registry with the API answers 200 (an empty index when there are none), in
      // pages linked by `Link`; a 404 means no API, and clients fall back to the tag schema. Remembered per registry.
      const r = await referrersFromApi(this.client, repo, digest);
      if (!r) this.client.referrersUnsupported = true;
      else {
        referrers.push(...r.entries.filter(validDescriptor));
        if (r.stopped) {
          out.complete = false;
          out.errors.push({
            code: r.stopped instanceof LimitError ? r.stopped.code : 'remote',
            message: `the referrers list could not be read in full: ${reasonAt(r.stopped, subjectUri)}`,
          });
        }
      }
    }
    const hex = digest.slice(7);
    let tags: Set<string>;
    try {
      tags = (await this.tags(repo)) ?? new Set<string>();
    } catch (e) {
      // Without the tag list the tag-schema signatures cannot be looked for: say so, and do not call it unsigned.
      out.complete = false;
      out.errors.push({
        code: 'remote',
        message: `the tag list could not be read, so signatures kept under tags were not looked for: ${reasonAt(e, subjectUri)}`,
      });
      tags = new Set<string>();
    }
    if (this.client.referrersUnsupported && tags.has(`sha256-${hex}`)) {
      try {
        const idx = await this.fetchManifest(repo, `sha256-${hex}`);
        if (idx) referrers.push(...this.indexEntries(idx.bytes, `the referrers tag sha256-${hex}`, out.errors));
      } catch (e) {
        out.complete = false;
        out.errors.push(errorAbout(`oci://${this.t.host}/${repo}:sha256-${hex}`, e, 'remote'));
      }
    }
    const handled = new Set<string>();
    if (referrers.length > MAX_REFERRERS)
      out.errors.push({ code: 'limit-entries', message: `${referrers.length} referrers; only the first ${MAX_REFERRERS} were read (limit)` });
    for (const d of referrers.slice(0, MAX_REFERRERS)) {
      if (handled.has(d.digest)) continue;
      handled.add(d.digest);
      try {
        const m = await this.fetchManifest(repo, d.digest);
        if (m) this.collectSignature(repo, m, d.artifactType ?? m.doc.artifactType ?? m.doc.config?.mediaType, `referrer ${m.digest}`, out);
      } catch (e) {
        out.complete = false;
        out.errors.push(errorAbout(this.uri(repo, d.digest), e, 'remote'));
      }
    }
    // Cosign's own tag convention (also used next to the referrers API by cosign ≤ 2).
    for (const [suffix, type] of [
      ['sig', MEDIA.cosignSig],
      ['att', MEDIA.dsse],
    ] as const) {
      const tag = `sha256-${hex}.${suffix}`;
      if (!tags.has(tag)) continue;
      try {
        const m = await this.fetchManifest(repo, tag);
        if (m && !handled.has(m.digest)) {
          handled.add(m.digest);
          this.collectSignature(repo, m, m.doc.artifactType ?? type, tag, out);
        }
      } catch (e) {
        out.complete = false;
        out.errors.push(errorAbout(`oci://${this.t.host}/${repo}:${tag}`, e, 'remote'));
      }
    }
    return out;
  }

  private indexEntries(bytes: Uint8Array, what: string, errors: NonNullable<RelatedInfo['errors']>): Descriptor[] {
    try {
      const doc = JSON.parse(new TextDecoder().decode(bytes)) as ManifestDoc;
      if (!Array.isArray(doc?.manifests)) throw new Error('no "manifests" list');
      return doc.manifests.filter(validDescriptor);
    } catch (e) {
      errors.push({ code: 'malformed', message: `${what} is not an OCI index: ${errorMessage(e)}` });
      return [];
    }
  }

  /** One referrer / signature manifest: note the blobs that hold signature material, and what kind it is. */
  private collectSignature(repo: string, m: Fetched, artifactType: string | undefined, label: string, out: SignatureSummary): void {
    const type = (artifactType ?? '').toLowerCase();
    const all = m.layers.filter(validDescriptor);
    if (all.length > MAX_SIGNATURE_LAYERS)
      out.errors.push({
        code: 'limit-entries',
        message: `signature manifest lists ${all.length} layers; only the first ${MAX_SIGNATURE_LAYERS} were read (limit)`,
        uri: this.uri(repo, m.digest),
      });
    const layers = all.slice(0, MAX_SIGNATURE_LAYERS);
    let kindOfManifest: string | undefined;
    if (type === MEDIA.notarySig) kindOfManifest = 'notation';
    else if (type === MEDIA.cosignSig || layers.some((l) => l.mediaType === MEDIA.simpleSigning)) kindOfManifest = 'cosign';
    else if (type.startsWith('application/vnd.dev.sigstore.bundle')) kindOfManifest = 'sigstore';
    else if (type === MEDIA.shelflifeHybridCms || type === MEDIA.shelflifeHybridJson) kindOfManifest = 'shelflife-hybrid';
    else if (type === MEDIA.inToto || type === MEDIA.dsse || type.includes('in-toto') || type.includes('slsa')) kindOfManifest = 'in-toto';
    // Not signature material (an SBOM, a scan report): only key/certificate blobs in it are read.
    if (!kindOfManifest && type) out.kinds.other.add(type.slice(0, 128));
    for (const [i, l] of layers.entries()) {
      const lk = classifyBlob(l);
      // Every blob a referrer holds is read (a signature, an attestation, an SBOM, a certificate pushed as
      // octet-stream), within the per-subject limits; image layers and the empty descriptor hold nothing to read here.
      const interesting = lk !== 'layer' && lk !== 'encrypted-layer' && l.mediaType !== MEDIA.emptyJson;
      const base = `${label}/layers[${i}]`;
      if (interesting)
        out.blobs.push({
          uri: this.uri(repo, l.digest),
          name: `${base}/${attachedName(l, kindOfManifest)}`,
          digest: l.digest,
          mediaType: l.mediaType,
          size: l.size,
        });
      // Cosign keeps the signature and the Fulcio certificate (and chain) in the layer's annotations.
      const ann = l.annotations ?? {};
      const cert = ann[COSIGN_ANNOTATION.certificate];
      const chain = ann[COSIGN_ANNOTATION.chain];
      const sigUri = `${this.uri(repo, m.digest)}#layers[${i}]`;
      if (typeof cert === 'string' && cert.length < MAX_ANNOTATION_CHARS * 8)
        out.inline.push({ uri: `${sigUri}/certificate`, name: `${base}/certificate.pem`, text: cert });
      if (typeof chain === 'string' && chain.length < MAX_ANNOTATION_CHARS * 32)
        out.inline.push({ uri: `${sigUri}/chain`, name: `${base}/chain.pem`, text: chain });
      const sig = ann[COSIGN_ANNOTATION.signature];
      if (kindOfManifest === 'cosign' && typeof sig === 'string') {
        out.kinds.signatures.add('cosign');
        // The signature is handed to the detectors as cosign's own signature document (`{base64Signature}`, as
        // `cosign sign-blob --bundle` writes it), so the image gets a signature finding, not only `signed: true`: with
        // what its bytes say of the algorithm, and the certificate of the same layer (keyless) when there is one (the
        // signer join, src/scan/signers.ts). The certificate stays out of the document: cosign signs the payload blob,
        // not the image, so the document is not to be verified over the image. It names the payload it signs
        // (`payloadDigest`, this layer): a signature made with a key names no key id, so the scan joins it to a key it
        // holds by verifying it over that payload (src/scan/coverage.ts).
        if (sig.length < MAX_ANNOTATION_CHARS)
          out.inline.push({
            uri: `${sigUri}/signature`,
            name: `${base}/signature.cosign.bundle`,
            text: JSON.stringify({ base64Signature: sig, payloadDigest: l.digest }),
          });
      }
    }
    if (kindOfManifest === 'notation' && layers.length) out.kinds.signatures.add('notation');
    if (kindOfManifest === 'sigstore' && layers.length) out.kinds.signatures.add('sigstore');
    if (kindOfManifest === 'shelflife-hybrid' && layers.length) out.kinds.signatures.add('shelflife-hybrid');
    if (kindOfManifest === 'in-toto' && layers.length) out.kinds.attestations.add('in-toto');
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

/** `Basic base64(user:pass)` from a target's userinfo → the credential the registry client answers challenges with. */
function userinfoCredential(authorization: string): RegistryCredential {
  const decoded = Buffer.from(authorization.slice('Basic '.length), 'base64').toString('utf8');
  const i = decoded.indexOf(':');
  return { username: i < 0 ? decoded : decoded.slice(0, i), password: i < 0 ? '' : decoded.slice(i + 1), source: 'the target URI' };
}

export function ociSource(target: string, options: SourceOptions): OciSource {
  return new OciSource(target, options as OciSourceOptions);
}
