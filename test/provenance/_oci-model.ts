/**
 * Test helper: pushes a model directory to the real registry as a CNCF ModelPack artifact (one layer per file,
 * annotated `org.cncf.model.filepath`; a ModelPack config), with its `model.sig` as a Sigstore-bundle referrer
 * (tag-schema fallback on registry 2.8), as model_signing users lay it out next to the model.
 * @module
 */
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join, relative } from 'node:path';
import { MEDIA } from '../../src/oci/reference.js';
import type { RegistryClient } from '../../src/oci/registry.js';
import { addToReferrersTag, pushArtifact, pushBlob, pushManifest, type Descriptor } from '../helpers/registry.js';

export const SIGSTORE_BUNDLE_TYPE = 'application/vnd.dev.sigstore.bundle.v0.3+json';
export const MODELPACK_MANIFEST_TYPE = 'application/vnd.cncf.model.manifest.v1+json';
const enc = (s: string) => new TextEncoder().encode(s);

export function modelFiles(dir: string): { path: string; bytes: Uint8Array }[] {
  const out: { path: string; bytes: Uint8Array }[] = [];
  const walk = (d: string) => {
    for (const n of readdirSync(d)) {
      const f = join(d, n);
      if (statSync(f).isDirectory()) walk(f);
      else out.push({ path: relative(dir, f), bytes: readFileSync(f) });
    }
  };
  walk(dir);
  return out.sort((a, b) => (a.path < b.path ? -1 : 1));
}

export const layerMediaType = (path: string) =>
  path.endsWith('.safetensors') || path.endsWith('.gguf') || path.endsWith('.onnx')
    ? 'application/vnd.cncf.model.weight.v1.raw'
    : 'application/vnd.cncf.model.doc.v1.raw';

export interface PushedModel {
  manifest: Descriptor & { bytes: Uint8Array };
  layers: Descriptor[];
  config: Descriptor;
  /** The Sigstore-bundle referrer carrying model.sig, when the directory had one. */
  signature?: Descriptor;
}

/** Push `dir` (every file but model.sig as a layer) under `repo:tag`; model.sig as a referrer of the manifest. */
export async function pushModel(
  c: RegistryClient,
  repo: string,
  tag: string,
  dir: string,
  /** The layer of a file (undefined: packed into another file's layer). */
  layerOf: (f: { path: string; bytes: Uint8Array }) => Promise<Descriptor | undefined> = (f) =>
    pushBlob(c, repo, f.bytes, layerMediaType(f.path), { annotations: { 'org.cncf.model.filepath': f.path } }),
): Promise<PushedModel> {
  const files = modelFiles(dir).filter((f) => f.path !== 'model.sig');
  const layers: Descriptor[] = [];
  for (const f of files) {
    const l = await layerOf(f);
    if (l) layers.push(l);
  }
  const config = await pushBlob(
    c,
    repo,
    enc(JSON.stringify({ descriptor: { name: repo.split('/').pop(), sourceURL: 'https://git.example.org/ml/ft', revision: 'abc123' } })),
    'application/vnd.cncf.model.config.v1+json',
  );
  const manifest = await pushManifest(c, repo, tag, { schemaVersion: 2, mediaType: MEDIA.ociManifest, artifactType: MODELPACK_MANIFEST_TYPE, config, layers });
  let signature: Descriptor | undefined;
  try {
    const sig = readFileSync(join(dir, 'model.sig'));
    signature = await pushArtifact(c, repo, undefined, SIGSTORE_BUNDLE_TYPE, [{ bytes: sig, mediaType: SIGSTORE_BUNDLE_TYPE }], manifest);
    await addToReferrersTag(c, repo, manifest, signature);
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code !== 'ENOENT') throw e;
  }
  return { manifest, layers, config, ...(signature ? { signature } : {}) };
}
