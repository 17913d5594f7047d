/**
 * The OCI writer: a hybrid signature for an image/index/artifact manifest `oci://host/repo@sha256:…`, attached as an
 * OCI 1.1 artifact (image-spec v1.1 "Guidelines for Artifact Usage"; distribution-spec v1.1 "Pushing Manifests with
 * Subject"):
 *
 *   image manifest { artifactType: application/vnd.shelflife.hybrid-signature.v1+cms,
 *                    config: the empty descriptor (application/vnd.oci.empty.v1+json, `{}`),
 *                    layers: [ the detached CMS SignedData, mediaType application/pkcs7-signature ],
 *                    subject: the signed manifest's descriptor }
 *
 * What is signed is the subject manifest's exact bytes (its digest is its sha256), as cosign and notation sign the
 * manifest, never the image's layers. The manifest is pushed by digest; a registry with the referrers API indexes it
 * (it answers `OCI-Subject`), otherwise the `sha256-<hex>` referrers tag index is updated, keeping every entry other
 * tools put there. Nothing existing is ever modified: the subject, its tags and other referrers are left as they are.
 * @module
 */
import { createHash } from 'node:crypto';
import { errorMessage, ShelflifeError, UsageError } from '../../errors.js';
import type { ArtifactResult } from '../../model.js';
import type { NetOptions } from '../../net/http.js';
import { dockerCredentials } from '../../oci/docker-auth.js';
import { MANIFEST_ACCEPT, MEDIA, parseOciTarget, pullScope } from '../../oci/reference.js';
import { listReferrers, pushReferrer } from '../../oci/referrers.js';
import { RegistryClient, RegistryError } from '../../oci/registry.js';
import { MAX_SIDECAR_BYTES, type SignatureFormat, type SignatureLocation, type SignatureWriter } from './types.js';

/** `artifactType` of the referrer manifest, per signature format. */
export const HYBRID_ARTIFACT_TYPE: Record<SignatureFormat, string> = {
  p7s: 'application/vnd.shelflife.hybrid-signature.v1+cms',
  dsse: 'application/vnd.shelflife.hybrid-signature.v1+json',
};

/**
 * Media type of the layer holding the signature: RFC 8551 §3.2.1 registers `application/pkcs7-signature` for a
 * detached CMS signature; the JSON bundle keeps its own type (docs/resign.md).
 */
export const HYBRID_LAYER_MEDIA_TYPE: Record<SignatureFormat, string> = {
  p7s: 'application/pkcs7-signature',
  dsse: 'application/vnd.shelflife.hybrid-signature.v1+json',
};

const LAYER_TITLE: Record<SignatureFormat, string> = { p7s: 'hybrid-signature.p7s', dsse: 'hybrid-signature.json' };
/** Our referrers read back for the idempotence check (each a manifest + one small blob). */
const MAX_OWN_REFERRERS = 64;
const EMPTY_JSON = new TextEncoder().encode('{}');
const EMPTY_DESCRIPTOR = {
  mediaType: MEDIA.emptyJson,
  digest: 'sha256:44136fa355b3678a1146ad16f7e8649e94fb4fc21fe77e8310c060f61caaff8a',
  size: 2,
  data: 'e30=',
};

export interface OciWriterOptions extends NetOptions {
  /** Allow plain HTTP to a non-loopback registry. */
  plainHttp?: boolean;
  registryCa?: string[];
  /** Token-realm hosts besides the registry that may receive its credentials (`--registry-auth-host`). */
  authHosts?: string | string[];
  /** docker config.json to read credentials from instead of $DOCKER_CONFIG / ~/.docker. */
  dockerConfig?: string;
}

interface OciAddress {
  host: string;
  repo: string;
  digest: string;
  format: SignatureFormat;
}

interface Subject {
  mediaType: string;
  size: number;
}

const sha256 = (b: Uint8Array) => `sha256:${createHash('sha256').update(b).digest('hex')}`;

function target(uri: string): OciAddress & { uri: string } {
  const t = parseOciTarget(uri);
  if (!t.repo || !t.digest) throw new UsageError('not an oci://host/repository@sha256:… artifact', { uri });
  return { uri, host: t.host, repo: t.repo, digest: t.digest, format: 'p7s' };
}

export class OciWriter implements SignatureWriter {
  readonly kind = 'oci';
  private readonly clients = new Map<string, RegistryClient>();
  /** Media type and size of each subject manifest read by openArtifact, for the `subject` descriptor. */
  private readonly subjects = new Map<string, Subject>();

  constructor(private readonly options: OciWriterOptions = {}) {}

  handles(uri: string): boolean {
    return uri.startsWith('oci://');
  }

  locate(uri: string, format: SignatureFormat): SignatureLocation[] {
    const t = target(uri);
    const address: OciAddress = { host: t.host, repo: t.repo, digest: t.digest, format };
    // Referrers accumulate side by side: one location, never "taken" (see listExisting).
    return [{ uri: `oci://${t.host}/${t.repo}@${t.digest} referrer, artifactType ${HYBRID_ARTIFACT_TYPE[format]}`, address: JSON.stringify(address) }];
  }

  private client(host: string): RegistryClient {
    let c = this.clients.get(host);
    if (!c) {
      const { registryCa, ...rest } = this.options;
      c = new RegistryClient(host, {
        ...rest,
        ca: [...(typeof rest.ca === 'string' ? [rest.ca] : (rest.ca ?? [])), ...(registryCa ?? [])],
        credentials: () => dockerCredentials(host, this.options.dockerConfig ? { configPath: this.options.dockerConfig } : {}),
      });
      this.clients.set(host, c);
    }
    return c;
  }

  async close(): Promise<void> {
    await Promise.all([...this.clients.values()].map((c) => c.close()));
    this.clients.clear();
  }

  /** The OCI source marks layer blobs (`oci.blob`) and names the manifest listing them as `parent`. */
  refuses(a: ArtifactResult): string | undefined {
    if (!a.annotations?.['oci.blob']) return undefined;
    return `a layer blob, not a manifest: a referrer's subject must be a manifest; sign the manifest that lists it (${a.parent ?? 'its parent'}), which pins this blob by digest`;
  }

  /** The manifest's exact bytes, fetched by digest and checked against it (resign then checks the scan's sha256). */
  async *openArtifact(uri: string): AsyncIterable<Uint8Array> {
    const t = target(uri);
    const c = this.client(t.host);
    let r: Awaited<ReturnType<RegistryClient['getJsonDocument']>> | undefined;
    let failure: unknown;
    try {
      r = await c.getJsonDocument(`/v2/${t.repo}/manifests/${t.digest}`, pullScope(t.repo), MANIFEST_ACCEPT);
    } catch (e) {
      // distribution 2.8 answers 500 when asked for a layer blob's digest as a manifest.
      if (!(e instanceof RegistryError)) throw e;
      failure = e;
    }
    if (!r || r.status === 404) {
      const blob = await c.request(`/v2/${t.repo}/blobs/${t.digest}`, { method: 'HEAD', scope: pullScope(t.repo), accept: [404] });
      await blob.discard();
      if (blob.status === 200)
        throw new ShelflifeError('resign', `a layer blob, not a manifest: a referrer's subject must be a manifest; sign the manifest that lists it`, { uri });
      if (failure) throw failure;
      throw new ShelflifeError('resign', 'manifest not found in the registry (deleted since the scan?)', { uri });
    }
    if (sha256(r.bytes) !== t.digest)
      throw new ShelflifeError('resign', `the registry served a manifest whose digest is ${sha256(r.bytes)}; not signed`, { uri });
    let mediaType = r.mediaType;
    try {
      const doc = JSON.parse(new TextDecoder().decode(r.bytes)) as { mediaType?: unknown };
      if (typeof doc.mediaType === 'string') mediaType = doc.mediaType;
    } catch {
      /* not JSON: the descriptor keeps the Content-Type the registry served */
    }
    this.subjects.set(`${t.host}/${t.repo}@${t.digest}`, { mediaType: mediaType ?? MEDIA.ociManifest, size: r.bytes.length });
    yield r.bytes;
  }

  /**
   * The OpenSSF Model Signing signature of the model artifact `uri` names (a `model.sig` layer, or a Sigstore-bundle
   * referrer carrying the model-signing predicate), found as `provenance` finds it (src/provenance/oci-model.ts),
   * or undefined when the artifact has none.
   */
  async modelSignature(uri: string): Promise<{ uri: string; bytes: Uint8Array } | undefined> {
    const { openOciModel } = await import('../../provenance/oci-model.js');
    const source = await openOciModel(uri, { remote: { ...this.options } });
    try {
      return source.signature;
    } finally {
      await source.close();
    }
  }

  /** The first hybrid signature of this format attached to the subject (see listExisting for all of them). */
  async readExisting(location: SignatureLocation): Promise<Uint8Array | undefined> {
    return (await this.listExisting(location))[0];
  }

  /**
   * Every hybrid signature of this format attached to the subject: referrers with our artifactType (API or tag
   * index), each manifest fetched by digest and checked (artifactType, subject), its signature layer read (bounded,
   * digest-checked). Referrers that are not ours are never read.
   */
  async listExisting(location: SignatureLocation): Promise<Uint8Array[]> {
    const a = JSON.parse(location.address) as OciAddress;
    const c = this.client(a.host);
    const type = HYBRID_ARTIFACT_TYPE[a.format];
    const found: Uint8Array[] = [];
    for (const d of (await listReferrers(c, a.repo, a.digest, type)).slice(0, MAX_OWN_REFERRERS)) {
      const what = `oci://${a.host}/${a.repo}@${d.digest}`;
      const m = await c.getJsonDocument(`/v2/${a.repo}/manifests/${d.digest}`, pullScope(a.repo), MANIFEST_ACCEPT);
      if (m.status === 404 || sha256(m.bytes) !== d.digest) continue;
      let doc: { artifactType?: unknown; subject?: { digest?: unknown }; layers?: { mediaType?: unknown; digest?: unknown; size?: unknown }[] };
      try {
        doc = JSON.parse(new TextDecoder().decode(m.bytes));
      } catch {
        continue;
      }
      if (doc.artifactType !== type || doc.subject?.digest !== a.digest || !Array.isArray(doc.layers)) continue;
      for (const l of doc.layers.slice(0, 4)) {
        if (l.mediaType !== HYBRID_LAYER_MEDIA_TYPE[a.format] || typeof l.digest !== 'string' || !/^sha256:[0-9a-f]{64}$/.test(l.digest)) continue;
        if (typeof l.size !== 'number' || l.size > MAX_SIDECAR_BYTES) continue;
        try {
          const bytes = await c.blobBytes(a.repo, l.digest, MAX_SIDECAR_BYTES);
          if (sha256(bytes) === l.digest) found.push(bytes);
        } catch (e) {
          throw new ShelflifeError('remote', `reading its signature layer: ${errorMessage(e)}`, { uri: what });
        }
      }
    }
    return found;
  }

  /** Push the signature blob, the empty config and the referrer manifest; update the referrers tag where needed. */
  async write(location: SignatureLocation, bytes: Uint8Array): Promise<void> {
    const a = JSON.parse(location.address) as OciAddress;
    const c = this.client(a.host);
    const key = `${a.host}/${a.repo}@${a.digest}`;
    let subject = this.subjects.get(key);
    if (!subject) {
      // Not read through openArtifact (a caller writing directly): read the subject now for its descriptor.
      for await (const _ of this.openArtifact(`oci://${key}`)) void _;
      subject = this.subjects.get(key)!;
    }
    try {
      const layerDigest = await c.pushBlob(a.repo, bytes);
      await c.pushBlob(a.repo, EMPTY_JSON);
      const manifest = {
        schemaVersion: 2,
        mediaType: MEDIA.ociManifest,
        artifactType: HYBRID_ARTIFACT_TYPE[a.format],
        config: EMPTY_DESCRIPTOR,
        layers: [
          {
            mediaType: HYBRID_LAYER_MEDIA_TYPE[a.format],
            digest: layerDigest,
            size: bytes.length,
            annotations: { 'org.opencontainers.image.title': LAYER_TITLE[a.format] },
          },
        ],
        subject: { mediaType: subject.mediaType, digest: a.digest, size: subject.size },
        annotations: { 'org.opencontainers.image.created': new Date().toISOString() },
      };
      await pushReferrer(c, a.repo, a.digest, new TextEncoder().encode(JSON.stringify(manifest)), MEDIA.ociManifest, HYBRID_ARTIFACT_TYPE[a.format]);
    } catch (e) {
      if (e instanceof RegistryError) throw new ShelflifeError('remote', `attaching the hybrid signature: ${errorMessage(e)}`, { uri: `oci://${key}` });
      throw e;
    }
  }
}
