/**
 * What a source yields: one ArtifactRef per object, with small capabilities. Writing back (resign) is a separate
 * interface so that scanning can never modify a store.
 * @module
 */
import type { ArtifactCoverage, Finding } from '../model.js';

export interface ArtifactRef {
  uri: string;
  /** Name used for name-based claims and messages: a path relative to the walk root, or a member path. */
  name: string;
  size?: number;
  modified?: string;
  /** `sha256:<hex>` when the store already knows it (OCI digests); still verified when the bytes are read. */
  digest?: string;
  mediaType?: string;
  etag?: string;
  annotations: Record<string, string>;
  /** Bytes already in memory (members of small containers, fetched manifests). */
  bytes?: Uint8Array;
  /** Stream the bytes. May be called again only when `reopenable`. */
  open(): AsyncIterable<Uint8Array>;
  reopenable: boolean;
  /** Random access where the store supports it (local files, HTTP range, S3 range). `end` is exclusive. */
  read?(start: number, end: number): Promise<Uint8Array>;
  /** URI of the artifact this one belongs to (an image's layer or key blob); top-level when absent. */
  parent?: string;
  /**
   * Sampled reading (remote stores, `--digest none`): with `read` and `size`, the engine reads only a head and a tail
   * window by range instead of streaming every byte, and computes no sha256 of its own (a content-addressed store's
   * digest is reported instead). A container found in the head is still streamed, because opening it needs every byte.
   */
  sample?: { head: number; tail: number };
  /** Facts held elsewhere (signatures, tags, metadata), fetched while the artifact is scanned so the walk stays fast. */
  related?(): Promise<RelatedInfo>;
}

/** What a source knows about an artifact besides its bytes. */
export interface RelatedInfo {
  /**
   * In-memory objects that belong to this artifact (its signatures, attestations, attached certificates). They are run
   * through the detectors and their findings are reported on this artifact, with `location.member` naming the object.
   */
  attached?: ArtifactRef[];
  /** Set by sources that can tell: true when a signature for this artifact was found, false when none was. */
  signed?: boolean;
  annotations?: Record<string, string>;
  errors?: { code: 'remote' | 'malformed' | 'unsupported' | 'limit-size'; message: string }[];
  /** Release stores: how the artifact is vouched for, and the findings its index chain gives it (src/sources/_release.ts). */
  coverage?: ArtifactCoverage;
  findings?: Finding[];
}

/** A location a source could not read: reported as an artifact with an error, and the walk goes on. */
export interface SourceProblem {
  uri: string;
  code: 'io' | 'path-traversal' | 'remote' | 'unsupported';
  message: string;
}

export interface Source {
  /** The target as the user wrote it. */
  readonly target: string;
  walk(): AsyncIterable<ArtifactRef | SourceProblem>;
}

export function isProblem(x: ArtifactRef | SourceProblem): x is SourceProblem {
  return (x as SourceProblem).code !== undefined && (x as ArtifactRef).open === undefined;
}

/** An in-memory ref (container members, fetched documents). */
export function bytesRef(uri: string, name: string, bytes: Uint8Array, extra: Partial<ArtifactRef> = {}): ArtifactRef {
  return {
    uri,
    name,
    size: bytes.length,
    annotations: {},
    bytes,
    reopenable: true,
    async *open() {
      yield bytes;
    },
    read: async (start, end) => bytes.subarray(start, Math.min(end, bytes.length)),
    ...extra,
  };
}
