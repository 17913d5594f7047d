/**
 * Every hard limit in one place. Reaching one is recorded as an error on the artifact, never a crash and never
 * an unbounded read. Values are sized for a 2-core, 24 GiB machine scanning hostile input.
 * @module
 */

/** Artifacts up to this size are read whole into memory and every detector sees all their bytes. */
export const WHOLE_READ_LIMIT = 32 * 1024 * 1024;
/** Larger artifacts are scanned in windows of this size … */
export const WINDOW_SIZE = 8 * 1024 * 1024;
/** … overlapping by this much, so a structure that straddles a boundary (a certificate, a PEM block) is seen whole. */
export const WINDOW_OVERLAP = 256 * 1024;

/** Files on pseudo file systems (procfs, sysfs …), whose stat size is not the truth, are read up to this many bytes. */
export const PSEUDO_FILE_READ_LIMIT = 1024 * 1024;

/** Containers nested deeper than this are not opened (a tar in a zip in a tar … is depth 3). */
export const MAX_CONTAINER_DEPTH = 6;
/** Members read per container. */
export const MAX_CONTAINER_ENTRIES = 50_000;
/** Total bytes expanded from one top-level artifact, across all nesting. */
export const MAX_EXPANDED_BYTES = 4 * 1024 * 1024 * 1024;
/** Expanded/compressed ratio above which a stream is treated as a bomb (once past RATIO_GRACE_BYTES). */
export const MAX_COMPRESSION_RATIO = 200;
export const RATIO_GRACE_BYTES = 1024 * 1024;
/** zstd: the largest window (or single-segment buffer) a frame may ask for; zstd's own default decoder limit is 2^27. */
export const MAX_ZSTD_WINDOW = 128 * 1024 * 1024;
/** A member bigger than this is scanned as a one-pass stream: detected, hashed, but not opened as a container. */
export const MEMBER_BUFFER_LIMIT = 64 * 1024 * 1024;

/**
 * Signature coverage (src/scan/coverage.ts): a signature file, checksum list, key or model signature is kept for the
 * checks after the walk up to this size, and all of them together up to the total; beyond, a local one is read again
 * when needed, a remote one's signature is reported unverifiable.
 */
export const EVIDENCE_FILE_LIMIT = 16 * 1024 * 1024;
export const EVIDENCE_TOTAL_LIMIT = 256 * 1024 * 1024;
/** An OCI image's cosign signature and its simple-signing payload are kept for the coverage pass up to this size each. */
export const ATTACHED_EVIDENCE_LIMIT = 64 * 1024;
/**
 * A signature that names no key (a cosign signature made with a key) is joined to its signer by trying the scan's keys
 * of its family: at most this many per signature, so a scan of many images and many keys stays linear.
 */
export const MAX_SIGNER_CANDIDATES = 64;

/** DER: deepest nesting any walker follows, and the most elements it reads in one constructed value. */
export const MAX_DER_DEPTH = 64;
export const MAX_DER_CHILDREN = 100_000;

/** PEM blocks, OpenPGP packets, SSH keys … parsed from one window before the rest is skipped. */
export const MAX_OBJECTS_PER_ARTIFACT = 10_000;
/** Text formats (JSON, armored data) larger than this are not parsed as text. */
export const MAX_TEXT_PARSE_BYTES = 16 * 1024 * 1024;

/** OpenPGP compressed data packets: bytes inflated per artifact (all packets together), and nesting followed. */
export const MAX_OPENPGP_INFLATED_BYTES = 16 * 1024 * 1024;
export const MAX_OPENPGP_NESTING = 4;
/**
 * OpenPGP partial body lengths (RFC 9580 §4.2.1.4): chunks followed in one packet, and the bytes of one packet kept
 * (a longer literal or encrypted body keeps its head, which is all that is read of it).
 */
export const MAX_OPENPGP_PARTIAL_CHUNKS = 65_536;
export const MAX_OPENPGP_PACKET_BYTES = 16 * 1024 * 1024;

/** Rules, policy and config files (YAML): largest file read, and most alias expansions (a "billion laughs" guard). */
export const MAX_RULES_FILE_BYTES = 4 * 1024 * 1024;
export const MAX_YAML_ALIASES = 100;

/** User-supplied globs (src/glob.ts): longest pattern, and most patterns its braces may expand to. */
export const MAX_GLOB_LENGTH = 1024;
export const MAX_GLOB_ALTERNATIVES = 256;
