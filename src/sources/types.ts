/**
 * What a source yields: one ArtifactRef per object, with small capabilities. Writing back (resign) is a separate
 * interface so that scanning can never modify a store.
 * @module
 */
import type { ArtifactResult, ErrorCode, ErrorEntry } from '../model.js';

/**
 * Remote content above this size is sampled (head and tail windows by range) under `--digest auto`, the default:
 * S3 objects, and an OCI artifact's blobs and models.
 */
export const REMOTE_SAMPLE_THRESHOLD = 64 * 1024 * 1024;

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
  /**
   * False when what the scan reports for it depends on more than its bytes, fetched by `related()` (an OCI manifest's
   * referrers, a release index's signatures): an incremental scan then reads it again even if its bytes are unchanged.
   */
  reusable?: boolean;
  /** Random access where the store supports it (local files, HTTP range, S3 range). `end` is exclusive. */
  read?(start: number, end: number): Promise<Uint8Array>;
  /** URI of the artifact this one belongs to (an image's layer or key blob); top-level when absent. */
  parent?: string;
  /**
   * Sampled reading (remote stores, `--digest none`): with `read` and `size`, the engine reads only a head and a tail
   * window by range instead of streaming every byte, and computes no sha256 of its own (the artifact says it was
   * sampled). A container found in the head is still streamed, because opening it needs every byte.
   */
  sample?: {
    head: number;
    tail: number;
    /**
     * `index`: `digest` comes from a (signed) release index that names the artifact by it, and stands as its sha256
     * (inventory copies join by it without a download). Otherwise a sampled artifact reports no sha256: only a
     * `store.digest` annotation with what the store claims.
     */
    digestFrom?: 'index';
  };
  /** Facts held elsewhere (signatures, tags, metadata), fetched while the artifact is scanned so the walk stays fast. */
  related?(): Promise<RelatedInfo>;
  /** A local file found by the fs source: where it is, as resign needs it (src/resign/writers/fs.ts). */
  local?: LocalFile;
  /**
   * An attached signature (`RelatedInfo.attached`) that signs a part of the artifact rather than its bytes: a
   * cabinet's `.jcat` item signs the member its id names (libjcat), not the cabinet. The engine checks the signature
   * over `bytes` instead of the artifact; without them, `reason` says why it is not checked.
   */
  signs?: { name: string; bytes?: Uint8Array; reason?: string };
}

/** A top-level local file: its path, and the identity of the directory that held it when it was scanned. */
export interface LocalFile {
  /** Absolute path as scanned (a symlink's own path when the file was reached through one). */
  path: string;
  /** `<device>:<inode>` of the directory holding `path`: resign writes beside the file only into that directory. */
  dirId: string;
}

/** A location a source listed but did not read on purpose (a symlink out of the root, a FIFO, a device): a note, not an error. */
export interface SkippedLocation {
  uri: string;
  /** Why, in words: `symlink outside the root (to /usr/share/…); not followed`. */
  skipped: string;
}

/** What a source knows about an artifact besides its bytes. Sources yield bytes; the engine runs the detectors. */
export interface RelatedInfo {
  /**
   * In-memory objects that belong to this artifact (its signatures, attestations, attached certificates). They are run
   * through the detectors and their findings are reported on this artifact, with `location.member` naming the object.
   */
  attached?: ArtifactRef[];
  /** Set by sources that can tell: true when a signature for this artifact was found, false when none was. */
  signed?: boolean;
  annotations?: Record<string, string>;
  /** Problems found on the way; `uri` names the object one is about when it is not this artifact (an index, a signature). */
  errors?: Omit<ErrorEntry, 'source'>[];
  /** Release stores: what vouches for the artifact; the engine decides its coverage from what the detectors find. */
  vouching?: Vouching;
}

/**
 * How a release-store artifact may be vouched for (docs/release-stores.md). The engine (src/scan/vouching.ts) sets
 * `coverage`: `signed` when the artifact's own bytes or its `attached` objects hold a signature; else `covered` when
 * an index listing it is signed (that index's signatures become findings on the artifact), `index-unsigned` when none
 * is; `unsigned` when no index lists it.
 */
export interface Vouching {
  /**
   * The indexes that list this artifact, in order of preference (the strongest hash first): the first one found
   * signed vouches for it.
   */
  chains?: IndexChain[];
  /** Keys the store publishes or the user gave, checked against the artifact's own signatures (an index's). */
  keys?: ArtifactRef[];
  /** Recorded (`unsupported`) when the artifact carries no signature of its own (an index: what it lists is then index-unsigned); the reason alone. */
  unsigned?: string;
}

export interface IndexChain {
  /** The index's path in the store: `location.member` of the findings it gives. */
  index: string;
  /**
   * Where the index's signatures are: the inline-signed index itself and/or its detached signature files. The same
   * objects are shared by everything the index lists, and the engine detects them once.
   */
  signatures: ArtifactRef[];
  /** Keys the store publishes or the user gave, for the expiry check of the index's signatures. */
  keys?: ArtifactRef[];
  /** Hash names on the way down (index → sub-index → artifact): the weakest replaces a stronger signature hash. */
  hashes: (string | undefined)[];
  /** apt refuses RSA keys below 3072 bits from a cutoff date: noted on the chain's findings. */
  apt?: boolean;
}

/** A location a source could not read: reported as an artifact (at `uri`) with an error, and the walk goes on. */
export interface SourceProblem {
  uri: string;
  code: ErrorCode;
  /** The reason alone (the URI is `uri`). */
  message: string;
}

/**
 * A part of a target that one worker scans alone in a distributed scan (src/queue/, docs/scale-out.md): a directory's
 * entries, one OCI repository or manifest, one S3 listing page. Plain JSON that names what to read, never bytes: the
 * worker resolves the target again and walks just this part.
 */
export interface WorkUnit {
  /** What the part covers, for people (progress, a failed unit) and for the error recorded when it keeps failing. */
  uri: string;
  /** Source-specific description handed back to `walk(unit)` (and `units(unit)` when `split`). */
  part: Record<string, unknown>;
  /** Split again by a worker (`units(unit)`) rather than walked: a repository fans out into one unit per manifest. */
  split?: boolean;
}

export interface Source {
  /** The target as the user wrote it, without any password it carried (src/net/secrets.ts). */
  readonly target: string;
  /** Every artifact of the target, or only those of one unit this source planned (`units`). */
  walk(unit?: WorkUnit): AsyncIterable<ArtifactRef | SourceProblem | SkippedLocation>;
  /**
   * The target (or a unit marked `split`) as independent work units whose walks together yield what `walk()` yields.
   * Cheap: listing, never reading artifacts. A source without it is one unit (the whole target).
   */
  units?(within?: WorkUnit): AsyncIterable<WorkUnit | SourceProblem>;
  /**
   * A second read of an artifact this source yielded, after the walk (a detached signature beside it needs another
   * digest of its bytes: src/scan/coverage.ts), or undefined when this source did not yield it or cannot read it
   * again. The caller checks the bytes against the scan's SHA-256. Called before `close()`.
   */
  reread?(artifact: ArtifactResult): AsyncIterable<Uint8Array> | undefined;
  /**
   * Release connections and other resources. Called once every artifact the walk yielded has been scanned (the
   * engine reads bytes and related material after the walk has moved on), also when the scan fails.
   */
  close(): Promise<void>;
}

export function isProblem(x: ArtifactRef | SourceProblem | SkippedLocation): x is SourceProblem {
  return (x as SourceProblem).code !== undefined && (x as ArtifactRef).open === undefined;
}

export function isSkipped(x: ArtifactRef | SourceProblem | SkippedLocation): x is SkippedLocation {
  return typeof (x as SkippedLocation).skipped === 'string' && (x as ArtifactRef).open === undefined;
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
