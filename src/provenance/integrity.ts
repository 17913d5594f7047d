/**
 * Model integrity: recompute a model's OpenSSF Model Signing manifest from the bytes now, with the signature's own
 * serialization (files or shards; SHA-256, BLAKE2b-512 or BLAKE3), and compare it with the signed one.
 * Follows model-transparency's serializers: every regular file not ignored is a resource (files), or is cut into
 * [start, end) shards of `shard_size` bytes with the last one short (shards; an empty file has no shard); ignored are
 * the default git paths, the signature file and the signature's own `ignore_paths`.
 * Files are streamed once each; the per-file SHA-256 is computed in the same pass (statements about one file of the
 * model match by it).
 * @module
 */
import { createHash } from 'node:crypto';
import { blake3 } from '@noble/hashes/blake3.js';
import type { ModelFile, ModelTree } from './model-files.js';
import {
  compareResourceNames,
  DEFAULT_IGNORED_PATHS,
  isIgnored,
  MODEL_SIGNATURE_FILE,
  rootDigest,
  splitShard,
  type ModelHash,
  type ModelManifest,
  type ModelResource,
  type Serialization,
} from './model-signing.js';

export interface Hasher {
  update(b: Uint8Array): void;
  digest(): string;
}

/** BLAKE2b is OpenSSL's `blake2b512` (Python's hashlib.blake2b default); BLAKE3 comes from @noble/hashes. */
export function newHasher(h: ModelHash): Hasher {
  if (h === 'blake3') {
    const x = blake3.create();
    return { update: (b) => x.update(b), digest: () => Buffer.from(x.digest()).toString('hex') };
  }
  const x = createHash(h === 'sha256' ? 'sha256' : 'blake2b512');
  return { update: (b) => x.update(b), digest: () => x.digest('hex') };
}

export interface HashedModel {
  serialization: Serialization;
  /** Canonical order. */
  resources: ModelResource[];
  rootDigest: string;
  /** SHA-256 of every file hashed (path → hex). */
  fileSha256: Map<string, string>;
  /** Files left out by the ignore rules. */
  ignored: string[];
}

/** Ignore list in force: the defaults, the signature file, the signature's own list, and the caller's. */
export function ignoreList(serialization: Pick<Serialization, 'ignorePaths'> | undefined, extra: readonly string[] = []): string[] {
  return [...DEFAULT_IGNORED_PATHS, MODEL_SIGNATURE_FILE, ...(serialization?.ignorePaths ?? []), ...extra];
}

/** Hash the model as `serialization` says. Reads each file once. */
export async function hashModel(tree: ModelTree, serialization: Serialization, extraIgnores: readonly string[] = []): Promise<HashedModel> {
  const ignore = tree.single ? [] : ignoreList(serialization, extraIgnores);
  const resources: ModelResource[] = [];
  const fileSha256 = new Map<string, string>();
  const ignored: string[] = [];
  const algorithm = serialization.method === 'shards' ? `${serialization.hashType}-sharded-${serialization.shardSize}` : serialization.hashType;
  for (const f of tree.files) {
    if (isIgnored(f.path, ignore)) {
      ignored.push(f.path);
      continue;
    }
    const { digests, sha256 } = await hashFile(f, serialization);
    fileSha256.set(f.path, sha256);
    for (const d of digests) resources.push({ name: d.name, algorithm, digest: d.digest });
  }
  resources.sort((a, b) => compareResourceNames(a.name, b.name, serialization.method));
  return { serialization, resources, rootDigest: rootDigest(resources.map((r) => r.digest)), fileSha256, ignored };
}

async function hashFile(f: ModelFile, ser: Serialization): Promise<{ digests: { name: string; digest: string }[]; sha256: string }> {
  // A digest that pins the file (an OCI layer descriptor, the scan that just read it) is its SHA-256.
  if (ser.method === 'files' && ser.hashType === 'sha256' && f.sha256) return { digests: [{ name: f.path, digest: f.sha256 }], sha256: f.sha256 };
  const whole = createHash('sha256');
  if (ser.method === 'files') {
    const h = ser.hashType === 'sha256' ? undefined : newHasher(ser.hashType);
    for await (const chunk of f.open()) {
      whole.update(chunk);
      h?.update(chunk);
    }
    const sha256 = whole.digest('hex');
    return { digests: [{ name: f.path, digest: h ? h.digest() : sha256 }], sha256 };
  }
  // Shards: [0, s), [s, 2s) … [ks, size); an empty file has none (model-transparency file_shard._get_shards).
  const size = ser.shardSize!;
  const digests: { name: string; digest: string }[] = [];
  let start = 0;
  let current = newHasher(ser.hashType);
  let filled = 0;
  for await (const chunk of f.open()) {
    whole.update(chunk);
    let at = 0;
    while (at < chunk.length) {
      const take = Math.min(size - filled, chunk.length - at);
      current.update(chunk.subarray(at, at + take));
      filled += take;
      at += take;
      if (filled === size) {
        digests.push({ name: `${f.path}:${start}:${start + size}`, digest: current.digest() });
        start += size;
        current = newHasher(ser.hashType);
        filled = 0;
      }
    }
  }
  if (filled > 0) digests.push({ name: `${f.path}:${start}:${start + filled}`, digest: current.digest() });
  return { digests, sha256: whole.digest('hex') };
}

export type IntegrityStatus = 'verified' | 'modified';

export interface ManifestComparison {
  status: IntegrityStatus;
  /** Files whose bytes differ from what was signed (shards: any shard differs or the shards do not line up). */
  changed: string[];
  /** Files the signature lists that are not there. */
  missing: string[];
  /** Files there that the signature does not list (and no ignore rule covers). */
  added: string[];
}

/** Compare the signed manifest with the recomputed one, file by file. */
export function compareManifests(signed: ModelManifest, actual: HashedModel): ManifestComparison {
  const method = signed.serialization.method;
  const fileOf = (name: string) => (method === 'shards' ? splitShard(name).path : name);
  const group = (rs: ModelResource[]) => {
    const m = new Map<string, Map<string, string>>();
    for (const r of rs) {
      const f = fileOf(r.name);
      if (!m.has(f)) m.set(f, new Map());
      m.get(f)!.set(r.name, r.digest);
    }
    return m;
  };
  const want = group(signed.resources);
  const have = group(actual.resources);
  const changed: string[] = [];
  const missing: string[] = [];
  const added: string[] = [];
  for (const [file, shards] of want) {
    const got = have.get(file);
    if (!got) {
      missing.push(file);
      continue;
    }
    if (got.size !== shards.size || [...shards].some(([name, digest]) => got.get(name) !== digest)) changed.push(file);
  }
  for (const file of have.keys()) if (!want.has(file)) added.push(file);
  const cmp = (a: string, b: string) => compareResourceNames(a, b, 'files');
  return {
    status: changed.length || missing.length || added.length ? 'modified' : 'verified',
    changed: changed.sort(cmp),
    missing: missing.sort(cmp),
    added: added.sort(cmp),
  };
}
