/**
 * Where a model is: a local directory or file, an OCI artifact (ModelPack, KitOps, Docker model artifacts), or an S3
 * prefix. Each source gives the same things to the answer: the model's files (streamed, never held in memory), its
 * OpenSSF Model Signing signature when it found one, the attestations kept beside it (OCI referrers, S3 sidecars),
 * the digests that name it in its store (an OCI manifest digest), and what its store declares (a ModelPack config).
 * Remote sources load lazily, so a local answer never loads the network code.
 * @module
 */
import { readFile, stat } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { errorMessage, ShelflifeError, UsageError } from '../errors.js';
import { fileUri } from '../sources/fs.js';
import { readModelTree, type ModelTree } from './model-files.js';
import { MODEL_SIGNATURE_FILE } from './model-signing.js';

/** A document fetched from the store (a signature, an attestation), bounded when it was read. */
export interface FetchedDocument {
  uri: string;
  bytes: Uint8Array;
}

/** A dependency the store declares (ModelPack `sourceURL`/`datasetsURL`, Kitfile datasets). */
export interface DeclaredDependency {
  name?: string;
  uri?: string;
  relation: 'parent' | 'dataset' | 'source';
  from: string;
}

export interface ModelSource {
  tree: ModelTree;
  /** The model signature the source found (model.sig, a Sigstore-bundle layer or referrer), when any. */
  signature?: FetchedDocument;
  /** Where the signature would be, for messages when it is missing or unreadable. */
  signatureUri: string;
  /** Attestations beside the model: OCI referrers, S3 sidecars. */
  evidence: FetchedDocument[];
  /**
   * Hybrid re-signatures of the model signature's statement the store keeps apart from the model's files (OCI: a
   * referrer of the model manifest with artifactType `application/vnd.shelflife.hybrid-signature.v1+json`). In a
   * directory or under an S3 prefix they are files of the tree (`model.sig.hybrid.json`).
   */
  cosignatures?: FetchedDocument[];
  /** Digests (hex SHA-256) that name the model in its store: statements about them are about the model. */
  identities: string[];
  declared: DeclaredDependency[];
  problems: { uri: string; message: string }[];
  close(): Promise<void>;
}

export interface ModelSourceOptions {
  /** The model signature file (local models). */
  signature?: string;
  /** Network options for remote stores (registry CA, plain HTTP, S3 endpoint …), passed to src/oci and src/sources. */
  remote?: Record<string, unknown>;
}

/** Signatures and attestations larger than this are not read. */
export const MAX_DOCUMENT_BYTES = 16 * 1024 * 1024;

export async function openModelSource(target: string, options: ModelSourceOptions = {}): Promise<ModelSource> {
  if (/^oci:\/\//i.test(target)) return (await import('./oci-model.js')).openOciModel(target, options);
  if (/^s3:\/\//i.test(target)) return (await import('./s3-model.js')).openS3Model(target, options);
  if (/^[a-z][a-z0-9+.-]*:\/\//i.test(target) && !/^file:\/\//i.test(target))
    throw new UsageError('provenance reads models from a directory or file, oci:// or s3://', { uri: target });
  return openLocalModel(/^file:\/\//i.test(target) ? fileURLToPath(target) : target, options);
}

async function openLocalModel(target: string, options: ModelSourceOptions): Promise<ModelSource> {
  const tree = await readModelTree(target);
  const problems: ModelSource['problems'] = [];
  const sigPath = options.signature ? resolve(options.signature) : join(tree.dir, MODEL_SIGNATURE_FILE);
  const signatureUri = fileUri(sigPath);
  let signature: FetchedDocument | undefined;
  try {
    const inside = !options.signature && !tree.single ? tree.files.find((f) => f.path === MODEL_SIGNATURE_FILE) : undefined;
    if (inside) signature = { uri: signatureUri, bytes: await inside.readSmall(MAX_DOCUMENT_BYTES) };
    else if (options.signature || tree.single) {
      const s = await stat(sigPath).catch((e: NodeJS.ErrnoException) => {
        if (e.code === 'ENOENT' && !options.signature) return undefined; // no signature beside a single-file model
        throw e;
      });
      if (s) {
        if (s.size > MAX_DOCUMENT_BYTES) throw new ShelflifeError('limit-size', `larger than ${MAX_DOCUMENT_BYTES} bytes; not a model signature`);
        signature = { uri: signatureUri, bytes: new Uint8Array(await readFile(sigPath)) };
      }
    }
  } catch (e) {
    problems.push({ uri: signatureUri, message: `cannot read the signature: ${(e as NodeJS.ErrnoException).code ?? errorMessage(e)}` });
  }
  return { tree, ...(signature ? { signature } : {}), signatureUri, evidence: [], identities: [], declared: [], problems, close: async () => {} };
}
