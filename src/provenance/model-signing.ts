/**
 * OpenSSF Model Signing (OMS) v1.0 signatures (`model.sig`): a Sigstore bundle (protobuf-specs sigstore_bundle.proto,
 * v0.1–v0.3 media types) whose DSSE envelope carries an in-toto Statement v1 with predicate
 * `https://model_signing/signature/v1.0` (`resources[] {name, algorithm, digest}` and `serialization {method,
 * hash_type, shard_size, allow_symlinks, ignore_paths}`), or the legacy `https://model_signing/Digests/v0.1` (one
 * subject per file). The model's identity is the root digest: SHA-256 over the concatenated raw bytes of the
 * resources' digests in their canonical order (model-transparency `signing.Payload`), always SHA-256 whatever
 * `hash_type` is.
 *
 * Pure: bytes in, a typed signature out; nothing is verified here (see verify.ts) and nothing is read from disk.
 * Public (not `_`-private) because signature coverage (issue 20) reads model signatures too.
 * @module
 */
import { createHash } from 'node:crypto';
import { ParseError } from '../errors.js';
import { MAX_TEXT_PARSE_BYTES } from '../limits.js';
import { parseDsseEnvelope, parseStatement, type DsseEnvelope, type Statement } from './intoto.js';
import { parseSigstoreBundle, type SigstoreBundle } from './sigstore-bundle.js';

export const MODEL_SIGNATURE_FILE = 'model.sig';
export const OMS_PREDICATE_V1 = 'https://model_signing/signature/v1.0';
export const OMS_PREDICATE_LEGACY = 'https://model_signing/Digests/v0.1';
/** What the signing tool leaves out of the model's bytes by default (model-transparency `hashing.Config.hash`). */
export const DEFAULT_IGNORED_PATHS = ['.git', '.gitattributes', '.github', '.gitignore'];
/** Resources read from one signature: a 1 TB model in 1 GB shards is 1,000; small shards of many files can be more. */
export const MAX_MODEL_RESOURCES = 1_000_000;

export type ModelHash = 'sha256' | 'blake2b' | 'blake3';

export interface ModelResource {
  /** Path relative to the model root (POSIX), `.` for a single-file model; shards are `path:start:end`. */
  name: string;
  algorithm: string;
  /** Lower-case hex. */
  digest: string;
}

export interface Serialization {
  method: 'files' | 'shards';
  hashType: ModelHash;
  /** Shards only (bytes). */
  shardSize?: number;
  allowSymlinks: boolean;
  /** Paths relative to the model root the signer left out (v1.1 records them). */
  ignorePaths: string[];
}

export interface ModelManifest {
  /** Informative only: the model directory's name when it was signed. */
  name: string;
  /** SHA-256 root digest (hex) over the resources, as the statement's subject states it (legacy: recomputed). */
  rootDigest: string;
  resources: ModelResource[];
  serialization: Serialization;
  predicateType: string;
  legacy: boolean;
}

export interface ModelSignature {
  bundle: SigstoreBundle;
  envelope: DsseEnvelope;
  statement: Statement;
  manifest: ModelManifest;
}

/** Parse a `model.sig`; ParseError (naming `what` and the reason) on anything malformed or over a limit. */
export function parseModelSignature(bytes: Uint8Array, what: string): ModelSignature {
  if (bytes.length > MAX_TEXT_PARSE_BYTES) throw new ParseError(`${what}: larger than ${MAX_TEXT_PARSE_BYTES} bytes; not a model signature`);
  const bundle = parseSigstoreBundle(bytes, what);
  if (!bundle.dsseEnvelope) throw new ParseError(`${what}: the Sigstore bundle holds a message signature, not the DSSE envelope a model signature needs`);
  const envelope = parseDsseEnvelope(bundle.dsseEnvelope, what);
  const statement = parseStatement(envelope, what);
  return { bundle, envelope, statement, manifest: manifestOf(statement, what) };
}

/** The manifest a statement describes; throws when the predicate is not a model signature or is inconsistent. */
export function manifestOf(st: Statement, what: string): ModelManifest {
  if (st.predicateType === OMS_PREDICATE_LEGACY) return legacyManifest(st, what);
  if (st.predicateType !== OMS_PREDICATE_V1) throw new ParseError(`${what}: predicate ${st.predicateType} is not a model signature`);
  // OMS v1.0: exactly one subject, the root digest (model-transparency dsse_payload_to_manifest).
  if (st.subjects.length !== 1) throw new ParseError(`${what}: a model signature has exactly one subject, this one has ${st.subjects.length}`);
  const subject = st.subjects[0];
  const root = subject.digest.sha256;
  if (!root || !/^[0-9a-f]{64}$/.test(root)) throw new ParseError(`${what}: the subject has no sha256 root digest`);
  const p = st.predicate;
  const ser = obj(p.serialization, `${what}: predicate.serialization`);
  const serialization = readSerialization(ser, what);
  if (!Array.isArray(p.resources)) throw new ParseError(`${what}: predicate.resources is not a list`);
  if (p.resources.length > MAX_MODEL_RESOURCES) throw new ParseError(`${what}: more than ${MAX_MODEL_RESOURCES} resources`);
  const resources: ModelResource[] = [];
  const seen = new Set<string>();
  p.resources.forEach((r, i) => {
    const o = obj(r, `${what}: predicate.resources[${i}]`);
    const name = text(o.name, `${what}: predicate.resources[${i}].name`);
    const digest = text(o.digest, `${what}: predicate.resources[${i}].digest`).toLowerCase();
    if (!/^[0-9a-f]{2,256}$/.test(digest) || digest.length % 2) throw new ParseError(`${what}: predicate.resources[${i}].digest is not hex`);
    checkResourceName(name, serialization.method, `${what}: predicate.resources[${i}].name`);
    if (seen.has(name)) throw new ParseError(`${what}: resource "${name}" is listed twice`);
    seen.add(name);
    resources.push({ name, algorithm: text(o.algorithm, `${what}: predicate.resources[${i}].algorithm`), digest });
  });
  // The root digest covers the resources in the order the signer wrote them (the verifier hashes them in that order).
  const recomputed = rootDigest(resources.map((r) => r.digest));
  if (recomputed !== root) throw new ParseError(`${what}: the statement is inconsistent: its root digest is ${root}, its resources hash to ${recomputed}`);
  return { name: subject.name ?? '', rootDigest: root, resources, serialization, predicateType: st.predicateType, legacy: false };
}

/**
 * v0.2 signatures (`https://model_signing/Digests/v0.1`): one subject per file with its SHA-256; no root digest and
 * no serialization record (model-transparency `dsse_payload_to_manifest_compat`: files, sha256).
 */
function legacyManifest(st: Statement, what: string): ModelManifest {
  if (st.subjects.length > MAX_MODEL_RESOURCES) throw new ParseError(`${what}: more than ${MAX_MODEL_RESOURCES} subjects`);
  const resources = st.subjects.map((s, i) => {
    const d = s.digest.sha256;
    if (!s.name || !d || !/^[0-9a-f]{64}$/.test(d)) throw new ParseError(`${what}: subject[${i}] has no name or no sha256 digest`);
    checkResourceName(s.name, 'files', `${what}: subject[${i}].name`);
    return { name: s.name, algorithm: 'sha256', digest: d };
  });
  resources.sort((a, b) => compareResourceNames(a.name, b.name, 'files'));
  return {
    name: '',
    rootDigest: rootDigest(resources.map((r) => r.digest)),
    resources,
    serialization: { method: 'files', hashType: 'sha256', allowSymlinks: false, ignorePaths: [] },
    predicateType: st.predicateType,
    legacy: true,
  };
}

function readSerialization(ser: Record<string, unknown>, what: string): Serialization {
  const method = ser.method;
  if (method !== 'files' && method !== 'shards') throw new ParseError(`${what}: serialization method "${String(method)}" is neither files nor shards`);
  const hashType = ser.hash_type;
  if (hashType !== 'sha256' && hashType !== 'blake2b' && hashType !== 'blake3')
    throw new ParseError(`${what}: serialization hash_type "${String(hashType)}" is not sha256, blake2b or blake3`, undefined, 'unsupported');
  let shardSize: number | undefined;
  if (method === 'shards') {
    // Protobuf Struct numbers arrive as JSON numbers, often written 8.0.
    const n = ser.shard_size;
    if (typeof n !== 'number' || !Number.isSafeInteger(n) || n <= 0) throw new ParseError(`${what}: shard_size is not a positive whole number`);
    shardSize = n;
  }
  const ignore = ser.ignore_paths === undefined ? [] : ser.ignore_paths;
  if (!Array.isArray(ignore) || ignore.length > 10_000 || ignore.some((x) => typeof x !== 'string'))
    throw new ParseError(`${what}: serialization ignore_paths is not a list of paths`);
  return {
    method,
    hashType,
    ...(shardSize !== undefined ? { shardSize } : {}),
    allowSymlinks: ser.allow_symlinks === true || ser.allow_symlinks === 'true',
    ignorePaths: ignore as string[],
  };
}

/** Names are relative POSIX paths inside the model: no absolute path, no `..`, no NUL; `.` is the single-file model. */
function checkResourceName(name: string, method: 'files' | 'shards', what: string): void {
  let path = name;
  if (method === 'shards') {
    const m = /^(.*):(\d+):(\d+)$/.exec(name);
    if (!m || Number(m[2]) > Number(m[3])) throw new ParseError(`${what}: "${name}" is not path:start:end`);
    path = m[1];
  }
  if (path === '.') return;
  if (!path || path.startsWith('/') || path.includes('\0') || path.split('/').some((p) => p === '..' || p === '' || p === '.'))
    throw new ParseError(`${what}: "${name}" is not a relative path inside the model`);
}

/** SHA-256 over the concatenated raw digests (OMS root digest). */
export function rootDigest(hexDigests: readonly string[]): string {
  const h = createHash('sha256');
  for (const d of hexDigests) h.update(Buffer.from(d, 'hex'));
  return h.digest('hex');
}

/**
 * The canonical resource order: Python's PurePosixPath ordering (component by component, by code point), and for
 * shards (path, start, end) with numeric offsets, as model-transparency sorts its manifest items.
 */
export function compareResourceNames(a: string, b: string, method: 'files' | 'shards'): number {
  if (method === 'shards') {
    const x = splitShard(a);
    const y = splitShard(b);
    return comparePaths(x.path, y.path) || x.start - y.start || x.end - y.end;
  }
  return comparePaths(a, b);
}

export function splitShard(name: string): { path: string; start: number; end: number } {
  const m = /^(.*):(\d+):(\d+)$/.exec(name);
  return m ? { path: m[1], start: Number(m[2]), end: Number(m[3]) } : { path: name, start: 0, end: 0 };
}

function comparePaths(a: string, b: string): number {
  const x = a.split('/');
  const y = b.split('/');
  for (let i = 0; i < Math.min(x.length, y.length); i++) {
    const c = compareCodePoints(x[i], y[i]);
    if (c) return c;
  }
  return x.length - y.length;
}

function compareCodePoints(a: string, b: string): number {
  const x = [...a];
  const y = [...b];
  for (let i = 0; i < Math.min(x.length, y.length); i++) {
    const d = x[i].codePointAt(0)! - y[i].codePointAt(0)!;
    if (d) return d;
  }
  return x.length - y.length;
}

/** Is `path` (relative, POSIX) one of `ignored` or inside one of them (Python `is_relative_to`)? */
export function isIgnored(path: string, ignored: readonly string[]): boolean {
  for (const raw of ignored) {
    const p = raw.replace(/^\.\//, '').replace(/\/+$/, '');
    if (!p || p === '.') continue;
    if (path === p || path.startsWith(`${p}/`)) return true;
  }
  return false;
}

function obj(v: unknown, what: string): Record<string, unknown> {
  if (typeof v !== 'object' || v === null || Array.isArray(v)) throw new ParseError(`${what} is not an object`);
  return v as Record<string, unknown>;
}

function text(v: unknown, what: string): string {
  if (typeof v !== 'string' || v.length > 4096) throw new ParseError(`${what} is not a string`);
  return v;
}
