/**
 * What a source yields: one ArtifactRef per object, with small capabilities. Writing back (resign) is a separate
 * interface so that scanning can never modify a store.
 * @module
 */

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
