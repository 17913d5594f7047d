/**
 * Where a hybrid signature goes, per source kind. A writer both reads the artifact's exact bytes (resign signs what
 * the scan saw) and stores the signature beside it, without ever modifying the artifact or an existing signature:
 * - fs (writers/fs.ts): `<file>.p7s` sidecar; a member of an archive gets `<archive>!<member path, escaped>.p7s`
 *   next to the archive (one path component, so no traversal, and the archive is never rewritten), written only into
 *   the directory that held the scanned file, checked by device and inode on the opened directory.
 * - oci (writers/oci.ts): an artifact manifest whose `subject` is the signed manifest, pushed through the referrers
 *   API (tag-schema fallback), `artifactType` `application/vnd.shelflife.hybrid-signature.v1+cms`.
 * - s3 (writers/s3.ts): a sidecar object `<key>.p7s`, written with `If-None-Match: *` so it never overwrites.
 * @module
 */

import type { ArtifactResult } from '../../model.js';

export type SignatureFormat = 'p7s' | 'dsse';

/** The file-name suffix of each format's sidecar. */
export const SIDECAR_SUFFIX: Record<SignatureFormat, string> = { p7s: '.p7s', dsse: '.hybrid.json' };

export interface SignatureLocation {
  /** Where the signature is (a file:// URI, an OCI referrer, an s3:// URI): printed in the plan. */
  uri: string;
  /** Writer-private address (a filesystem path, a repository + subject digest, a bucket + key). */
  address: string;
  /** fs: the directory the signature goes into, and its `<device>:<inode>` when it was scanned (checked before writing). */
  directory?: { path: string; id?: string };
}

/**
 * What the scan recorded about an artifact to sign: its own record first, then the record of each container holding
 * it, out to the top-level artifact. Writers locate the artifact from these fields (`member`, `parent`, `local`),
 * never by decoding its URI.
 */
export interface SignatureSubject {
  records: ArtifactResult[];
}

export interface SignatureWriter {
  readonly kind: string;
  /** Does this writer serve the artifact URI (by scheme)? */
  handles(artifactUri: string): boolean;
  /**
   * Candidate locations in order of preference: the conventional sidecar first, then an alternate used only when
   * the first is occupied by a signature that is not ours (which is kept untouched). Pure: used by --dry-run.
   */
  locate(artifactUri: string, format: SignatureFormat, subject?: SignatureSubject): SignatureLocation[];
  /**
   * Why this writer cannot sign the artifact, judged from what the scan recorded (an OCI layer blob cannot be a
   * referrer's subject), or undefined. Pure: used by the plan, so --dry-run already lists the refusal.
   */
  refuses?(artifact: ArtifactResult): string | undefined;
  /** The artifact's exact bytes, streamed (a member is extracted from its container, never written out). */
  openArtifact(artifactUri: string, subject?: SignatureSubject): AsyncIterable<Uint8Array>;
  /** An existing signature at the location, or undefined; bounded in size. */
  readExisting(location: SignatureLocation): Promise<Uint8Array | undefined>;
  /**
   * Stores where signatures accumulate side by side instead of at one name (OCI referrers): every hybrid signature
   * already attached at the location (bounded), so resign can skip when one of them is valid for this key. A writer
   * that has it never has a "taken" location: a new signature is added next to the others, which stay untouched.
   */
  listExisting?(location: SignatureLocation): Promise<Uint8Array[]>;
  /**
   * Stores that keep a model's OpenSSF Model Signing signature apart from its files (OCI: a model.sig layer or a
   * Sigstore-bundle referrer of the model manifest): that signature, or undefined when the artifact has none.
   */
  modelSignature?(artifactUri: string): Promise<{ uri: string; bytes: Uint8Array } | undefined>;
  /** Store atomically and durably; refuse (ShelflifeError 'resign') when something is already there. */
  write(location: SignatureLocation, bytes: Uint8Array): Promise<void>;
}

/** Sidecars larger than this are not ours and are not read. */
export const MAX_SIDECAR_BYTES = 4 * 1024 * 1024;
