/**
 * The scan model: the shared types every stage of the flow speaks (docs/architecture.md).
 * sources → containers → detectors → catalogue → scoring → inventory → report/sinks.
 * @module
 */

export type FindingKind = 'certificate' | 'signature' | 'public-key' | 'private-key' | 'encrypted-data';

export type QuantumStatus = 'vulnerable' | 'weakened' | 'resistant' | 'hybrid' | 'unknown';

export type Severity = 'critical' | 'high' | 'medium' | 'low' | 'none';

export const SEVERITIES: readonly Severity[] = ['none', 'low', 'medium', 'high', 'critical'];

/** Canonical algorithm naming (docs/architecture.md "Canonical algorithm ids"). */
export interface Algorithm {
  /** Canonical id: `RSA-2048`, `ECDSA-P256`, `ML-DSA-65+ECDSA-P256`, `AES-256` … or `unknown:<oid>`. */
  id: string;
  family: string;
  /** Digest used with a signature (not an id of its own). */
  hash?: string;
  oid?: string;
  /** Symmetric mode (CBC, GCM …) or KDF detail. */
  mode?: string;
  /** False when a parameter (key size, curve) cannot be known from the artifact. */
  parameterKnown?: boolean;
  /** Name as the format spells it (`sha256WithRSAEncryption`, `ES256`, `ssh-ed25519`). */
  name?: string;
}

export interface Quantum {
  status: QuantumStatus;
  classicalBits: number | null;
  nistLevel: number | null;
}

export interface Exposure {
  score: number;
  severity: Severity;
  explanation: string;
  /** Everything the score was computed from, for `explain` and auditors. */
  inputs?: Record<string, unknown>;
  deadlinesMissed?: string[];
}

export interface FindingLocation {
  /** Byte offset within the artifact's own bytes (PEM blocks: offset of the BEGIN line). */
  offset?: number;
  /** Member path when the finding came from inside a container read as a unit (e.g. a JAR's META-INF). */
  member?: string;
  /** Structural path inside the object (`signerInfos[0]`, `certificates[2]`, `subkey[1]`). */
  path?: string;
}

export interface Finding {
  kind: FindingKind;
  format: string;
  algorithm: Algorithm;
  quantum: Quantum;
  location: FindingLocation;
  subject?: string;
  issuer?: string;
  serial?: string;
  notBefore?: string;
  notAfter?: string;
  /** Signature/creation time when the format records one. */
  created?: string;
  /** Key id / fingerprint as the format defines it (SHA-256 of the DER for certificates). */
  fingerprint?: string;
  /** Free-form format-specific facts worth keeping (e.g. `{ encrypted: true, kdf: 'scrypt' }`). */
  details?: Record<string, unknown>;
  exposure?: Exposure;
}

/**
 * An error recorded on an artifact: data, not a sentence. `message` is the reason alone (it never starts with a URI);
 * people see it through `renderError` (src/errors.ts) as `<uri>: <message>`.
 */
export interface ErrorEntry {
  code: ErrorCode;
  /** The reason alone. */
  message: string;
  /**
   * The object the error is about when it is not the artifact it is recorded on (an attached signature, a member
   * recorded on its container, a location a source could not read). Absent: the artifact itself.
   */
  uri?: string;
  /** Which detector, container or stage produced it (`x509`, `container`, `engine`, `source`). */
  source?: string;
  /** Byte offset in the artifact where the parser gave up, when known. */
  offset?: number;
}

/** Every code an ErrorEntry can carry: the one closed list (`isErrorCode` checks against it). */
export const ERROR_CODES = [
  'malformed',
  'truncated',
  'unsupported',
  'io',
  'limit-depth',
  'limit-entries',
  'limit-expanded-bytes',
  'limit-ratio',
  'limit-size',
  'path-traversal',
  'detector-crash',
  'remote',
] as const;

export type ErrorCode = (typeof ERROR_CODES)[number];

/**
 * How an artifact is vouched for, whatever store it sits in (docs/coverage.md; release stores: docs/release-stores.md):
 * `signed` (its own signature, attached or detached beside it), `covered` (listed with its digest by a signed checksum
 * file, model signature or index), `unsigned` (nothing signs or lists it, and its class should be signed), or
 * `index-unsigned` (listed only by checksum files or indexes nobody signed).
 */
export type ArtifactCoverage = 'signed' | 'covered' | 'unsigned' | 'index-unsigned';

/** What checking a signature over the bytes it covers gave: a `failed` signature never makes an artifact signed. */
export type SignatureVerification = 'verified' | 'failed' | 'unverifiable';

/**
 * How a signature reaches what it covers: `attached` (read with the artifact: an OCI referrer, a release store's
 * sibling), `detached` (a signature file beside it: `X.asc`, `X.p7s`, `X.sigstore.json` …), `checksum` (its digest
 * listed in a signed checksum file), `model` (listed in an OpenSSF Model Signing `model.sig`), `index` (a release
 * store's signed index chain).
 */
export type CoverageVia = 'attached' | 'detached' | 'checksum' | 'model' | 'index';

/** One signature covering an artifact (`ArtifactResult.signedBy`). */
export interface SignatureLink {
  /** The artifact holding the signature (`X.asc`, `SHA256SUMS.asc`, `model.sig`); for `attached`, the object it came from. */
  uri: string;
  /** The signature finding: an index into the findings of the artifact at `uri` (for `attached` and `index`: of this artifact). */
  finding: number;
  via: CoverageVia;
  /** The checksum file or index that lists this artifact (`checksum`, `index`), signed by the artifact at `uri`. */
  index?: string;
  /** The hash that list names this artifact by, when it is weaker than the signature's own (the weakest link). */
  hash?: string;
  /** The signature's algorithm and quantum status, as the finding names them (for reports and the CBOM). */
  algorithm: string;
  quantum: QuantumStatus;
  format: string;
  verification: Exclude<SignatureVerification, 'failed'>;
  /** Why it could not be checked (`unverifiable`): the key is not in the scan, the bytes were not read twice … */
  reason?: string;
  /** The signature's exposure as the protection of this artifact (its class and lifetime): set by scoring. */
  exposure?: Exposure;
}

/**
 * Whether a link's finding is on the signed artifact itself (`attached`; `index`: a release store's chain signatures,
 * reported on every artifact the index lists) rather than on the artifact at `uri`.
 */
export function findingOnSubject(l: Pick<SignatureLink, 'via'>): boolean {
  return l.via === 'attached' || l.via === 'index';
}

/** Migration state of an artifact's signatures: `hybrid-signed` when a verified hybrid (or post-quantum) signature covers it. */
export type ArtifactMigration = 'hybrid-signed';

export interface ArtifactResult {
  uri: string;
  parent: string | null;
  sha256: string | null;
  size: number;
  mediaType?: string;
  modified?: string;
  class?: string;
  lifetime?: { years: number; source: string };
  created?: { at: string; source: string };
  /** Present (false) when the class is one that should be signed and no signature was found. */
  signed?: boolean;
  /** `signed` (own or detached signature), `covered` (listed by a signed checksum file, model signature or index), `unsigned`, `index-unsigned` (listed by unsigned ones only). */
  coverage?: ArtifactCoverage;
  /** The signatures that cover it, wherever they sit (docs/coverage.md): never one that failed over its bytes. */
  signedBy?: SignatureLink[];
  /** A signature, checksum file or model signature: the artifacts of the scan it signs or lists (at most 100 URIs). */
  signs?: string[];
  /** Set when a verified hybrid or post-quantum signature covers it (after `shelflife resign`). */
  migration?: ArtifactMigration;
  annotations?: Record<string, string>;
  /** Distinct locations holding these bytes, across every store and scan in the inventory (this one included). */
  copies?: number;
  /** Set when these bytes were retired (`shelflife retire`) and a copy still exists. */
  retired?: { at: string; reason: string };
  exposure?: Exposure;
  /** Why a listed location was not read on purpose (a symlink out of the scan root, a FIFO, a device): a note, not an error. */
  skipped?: string;
  /** Members of a container: the member's path inside `parent`, exactly as the container records it. */
  member?: string;
  /** Top-level local files: the path and the identity of the directory that held it (what resign checks before writing). */
  local?: { path: string; dirId: string };
  findings: Finding[];
  errors: ErrorEntry[];
}

export interface ScanStats {
  artifacts: number;
  bytes: number;
  findings: number;
  errors: number;
  /** Artifacts taken unchanged from the inventory's last scan (incremental scans). */
  reused?: number;
}

export interface ScanResult {
  schemaVersion: '1';
  tool: { name: 'shelflife'; version: string };
  scan: {
    id: string;
    startedAt: string;
    finishedAt: string;
    targets: string[];
    stats: ScanStats;
    /**
     * Present (true) when part of what the targets hold could not be read: a missing target, an unreachable registry
     * or bucket, a directory or file the scan may not read. `unread` lists those locations.
     */
    partial?: boolean;
    /** Locations whose contents are unknown to this scan (nothing under them was read); see `unreadLocations`. */
    unread?: UnreadLocation[];
  };
  artifacts: ArtifactResult[];
  /** Signed models the scan found (OpenSSF Model Signing), with their provenance summarized once each (docs/provenance.md). */
  models?: ScanModel[];
}

/** Provenance grades (docs/provenance.md): how much an answer can be trusted. */
export type ProvenanceGrade = 'signed-verified' | 'signed' | 'declared' | 'absent';

/** A signed model found by a scan: where, its root digest, and its provenance in brief (src/provenance/scan-models.ts). */
export interface ScanModel {
  /** OMS root digest, hex. */
  root: string;
  /** The model's location: its directory or prefix URI (trailing slash), or its OCI manifest URI. */
  uri: string;
  signatureUri: string;
  /** The signature's algorithms as the scan named them, with quantum status and exposure severity. */
  signatures: { algorithm: string; quantum: string; severity?: string }[];
  copies?: number;
  retired?: { at: string; reason: string };
  /** `shelflife provenance` for the model, in brief; absent with `provenanceError` when it could not be answered. */
  provenance?: ModelProvenanceSummary;
  provenanceError?: string;
}

export interface ModelProvenanceSummary {
  integrity: { status: 'verified' | 'modified' | 'unsigned'; grade: ProvenanceGrade; changed: string[]; missing: string[]; added: string[] };
  lineage: { grade: ProvenanceGrade; builder?: string; parents: string[]; datasets: string[] };
  evaluation: { grade: ProvenanceGrade; time?: string; result?: string; benchmarks: { name: string; result?: string }[] };
  approval: { grade: ProvenanceGrade; approved: boolean | 'unknown'; verifier?: string; time?: string; reason: string };
}

/** A location (target, directory, repository, file) a scan could not read, and why. */
export interface UnreadLocation {
  uri: string;
  code: ErrorCode;
  message: string;
}

/** Errors that mean a location was not read at all: the file system or the remote store refused or failed. */
const UNREAD_CODES: ReadonlySet<ErrorCode> = new Set(['io', 'remote']);

/**
 * What a scan could not read: artifacts with no bytes read (no sha256), not skipped on purpose, that carry an `io` or
 * `remote` error of their own (a target that does not exist, a registry that does not answer, a directory without read
 * permission). Anything that was under them is unknown to the scan: neither still there nor gone.
 */
export function unreadLocations(artifacts: readonly ArtifactResult[]): UnreadLocation[] {
  const out: UnreadLocation[] = [];
  for (const a of artifacts) {
    if (a.sha256 !== null || a.skipped !== undefined) continue;
    const e = a.errors.find((x) => UNREAD_CODES.has(x.code) && (x.uri === undefined || x.uri === a.uri));
    if (e) out.push({ uri: a.uri, code: e.code, message: e.message });
  }
  return out;
}

/**
 * Is `uri` the location `root` or something inside it (a file in a directory, a member of an archive, a tag or digest
 * of a repository)? `oci://h/repo` holds `oci://h/repo:tag` and `oci://h/repo@sha256:…` but not `oci://h/repo2`.
 */
export function isWithin(uri: string, root: string): boolean {
  if (uri === root) return true;
  if (!uri.startsWith(root)) return false;
  return root.endsWith('/') || '/!:@?#'.includes(uri[root.length]);
}

/** The top-level artifact a URI belongs to: members are `<top>!/<path>` (nested members too). */
export function topUri(uri: string): string {
  const i = uri.indexOf('!/');
  return i < 0 ? uri : uri.slice(0, i);
}

/** What a detector sees besides the bytes. Pure data: no handles, no clock. */
export interface DetectContext {
  /** Artifact name as found (basename or member path), for name-based claims and messages. */
  name: string;
  uri: string;
  /** Total artifact size; bytes may be a window of it. */
  size: number;
  /** Absolute offset of `bytes[0]` within the artifact (non-zero for windows of large files). */
  baseOffset: number;
  /** True when `bytes` is the whole artifact. */
  whole: boolean;
}
