/**
 * The files inside an OCI model layer that is a tar archive (CNCF ModelPack `application/vnd.cncf.model.*.v1.tar`,
 * `+gzip`, `+zstd`; KitOps `…modelkit.*.v1.tar+gzip`): packers tar each file (or a directory) from the model's root, so
 * the members are the model's files by their paths, and the integrity check compares them, not the archive. The
 * layer is opened through the one container `open` (src/containers/open.ts: decompression, traversal judged, the
 * expansion budget), listed once while each member's SHA-256 is computed and small members are kept for metadata;
 * a member read again (another hash, shards, a weight header) streams the layer again up to that member. Only
 * regular files are members (links, devices, directories are not model files).
 * @module
 */
import { createHash } from 'node:crypto';
import { ExpansionBudget, type Member } from '../containers/index.js';
import { openContainer } from '../containers/open.js';
import { ShelflifeError } from '../errors.js';
import { MAX_EXPANDED_BYTES } from '../limits.js';
import type { ModelFile } from './model-files.js';

/** Layer media types that are tar archives of model files (plain or compressed). */
export const TAR_LAYER_MEDIA = /(?:^|[./+])tar(?:$|[+.])/;
/** Members kept in memory from the listing pass (cards, configs, eval results), each and in all. */
const KEEP_MEMBER_BYTES = 1024 * 1024;
const KEEP_TOTAL_BYTES = 16 * 1024 * 1024;
/** Bytes of a layer's start needed to tell its compression and container kind. */
export const TAR_HEAD_BYTES = 512;

export interface TarLayer {
  uri: string;
  name: string;
  size: number;
  open(): AsyncIterable<Uint8Array>;
  head(): Promise<Uint8Array>;
}

export interface TarLayerFiles {
  files: ModelFile[];
  problems: { uri: string; message: string }[];
}

/** List the layer's members as model files (paths relative to the model root), with their SHA-256. */
export async function readTarLayer(layer: TarLayer, maxFiles: number): Promise<TarLayerFiles> {
  const problems: TarLayerFiles['problems'] = [];
  const files: ModelFile[] = [];
  let kept = 0;
  let index = 0;
  for await (const m of members(layer, await layer.head())) {
    const i = index++;
    const path = m.path.replace(/^(?:\.\/)+/, '');
    const uri = `${layer.uri}!/${path}`;
    if (m.problem) {
      problems.push({ uri, message: m.problem.message });
      await drain(m);
      continue;
    }
    if (files.length >= maxFiles) throw new ShelflifeError('limit-entries', `more than ${maxFiles} files in the model`, { uri: layer.uri });
    const h = createHash('sha256');
    const small: Uint8Array[] = [];
    let size = 0;
    for await (const c of bytesOf(m)) {
      h.update(c);
      size += c.length;
      if (size <= KEEP_MEMBER_BYTES && kept + size <= KEEP_TOTAL_BYTES) small.push(c);
    }
    const keep = size <= KEEP_MEMBER_BYTES && kept + size <= KEEP_TOTAL_BYTES ? new Uint8Array(Buffer.concat(small)) : undefined;
    if (keep) kept += size;
    files.push(memberFile(layer, i, path, uri, size, h.digest('hex'), keep));
  }
  return { files, problems };
}

function members(layer: TarLayer, head: Uint8Array): AsyncIterable<Member> {
  // A plain tar expands to its own size; a compressed one may expand further, up to the scan's default budget.
  const budget = new ExpansionBudget(Math.max(MAX_EXPANDED_BYTES, 2 * layer.size));
  const opened = openContainer({ uri: layer.uri, name: layer.name, size: layer.size, open: () => layer.open() }, head, budget);
  if (!opened || opened.randomAccess)
    throw new ShelflifeError('unsupported', 'its media type says tar, but it is not a tar archive (plain, gzip or zstd)', { uri: layer.uri });
  return opened.members;
}

async function* bytesOf(m: Member): AsyncIterable<Uint8Array> {
  if (m.bytes) yield m.bytes;
  else if (m.stream) yield* m.stream;
}

async function drain(m: Member): Promise<void> {
  for await (const _ of bytesOf(m)) void _;
}

function memberFile(layer: TarLayer, index: number, path: string, uri: string, size: number, sha256: string, kept: Uint8Array | undefined): ModelFile {
  const open = (start = 0, end = size): AsyncIterable<Uint8Array> =>
    kept
      ? (async function* () {
          if (end > start) yield kept.subarray(start, end);
        })()
      : streamMember(layer, index, uri, start, end);
  return {
    path,
    size,
    mtimeMs: 0,
    uri,
    sha256,
    open,
    readSmall: async (limit) => {
      if (size > limit) throw new ShelflifeError('limit-size', `larger than ${limit} bytes; not read as metadata`, { uri });
      if (kept) return kept;
      const parts: Uint8Array[] = [];
      for await (const c of open()) parts.push(c);
      return new Uint8Array(Buffer.concat(parts));
    },
  };
}

/** The member's bytes in [start, end): the layer streamed again up to it (members before it are skipped unread). */
async function* streamMember(layer: TarLayer, index: number, uri: string, start: number, end: number): AsyncIterable<Uint8Array> {
  let i = 0;
  for await (const m of members(layer, await layer.head())) {
    if (i++ !== index) {
      await drain(m);
      continue;
    }
    let at = 0;
    for await (const c of bytesOf(m)) {
      const from = Math.max(start - at, 0);
      const to = Math.min(end - at, c.length);
      if (to > from) yield c.subarray(from, to);
      at += c.length;
      if (at >= end) return;
    }
    return;
  }
  throw new ShelflifeError('remote', 'the layer no longer holds this member', { uri });
}
