/**
 * Declared (unsigned) lineage and evaluation metadata in model files, each reader pure and bounded:
 * - GGUF (ggml gguf.md, versions 2 and 3): the header's key/value metadata, keeping `general.*`
 *   (`general.base_model.{i}.*`, `general.dataset.{i}.*`, `general.source.*` …). Counts and lengths in the header are
 *   attacker-chosen, so every one is checked against limits before anything is read or allocated.
 * - safetensors: 8-byte little-endian header length, a JSON header, its free-form `__metadata__` string map.
 * - ONNX (onnx.proto ModelProto): producer_name (2), producer_version (3), domain (4), model_version (5),
 *   doc_string (6), metadata_props (14: StringStringEntryProto {key 1, value 2}); the graph (7) is skipped by length,
 *   never read.
 * - Hugging Face model cards (README.md YAML front matter: base_model, base_model_relation, datasets, model-index) and
 *   `.eval_results/*.yaml` (dataset id/revision, value, date, source).
 * - MLflow `MLmodel` (run_id, model_uuid, utc_time_created), KitOps `Kitfile` (package, model, datasets) and CNCF
 *   ModelPack configs (`descriptor`: createdAt, authors, sourceURL, revision, datasetsURL).
 * @module
 */
import { parse as parseYaml } from 'yaml';
import { ParseError } from '../errors.js';

/** Random access to a file's bytes: [offset, offset+length), shorter at the end of the file. */
export type ReadAt = (offset: number, length: number) => Promise<Uint8Array>;

const MAX_GGUF_KV = 100_000;
const MAX_GGUF_STRING = 1024 * 1024;
/** Header bytes walked in one GGUF (tokenizer vocabularies are megabytes of strings). */
const MAX_GGUF_HEADER = 256 * 1024 * 1024;
const MAX_ARRAY = 100_000_000;
const MAX_SAFETENSORS_HEADER = 100 * 1024 * 1024;
const MAX_ONNX_FIELDS = 100_000;
const MAX_METADATA_VALUE = 64 * 1024;

/** A sequential reader over ReadAt with a window buffer. */
class Cursor {
  private buf: Uint8Array = new Uint8Array(0);
  private bufAt = 0;
  constructor(
    private readonly readAt: ReadAt,
    readonly size: number,
    public pos: number,
    private readonly what: string,
  ) {}
  async take(n: number): Promise<Uint8Array> {
    if (n < 0 || this.pos + n > this.size) throw new ParseError(`${this.what}: truncated at offset ${this.pos}`, this.pos, 'truncated');
    if (this.pos < this.bufAt || this.pos + n > this.bufAt + this.buf.length) {
      this.buf = await this.readAt(this.pos, Math.max(n, 1024 * 1024));
      this.bufAt = this.pos;
      if (this.buf.length < n) throw new ParseError(`${this.what}: truncated at offset ${this.pos}`, this.pos, 'truncated');
    }
    const out = this.buf.subarray(this.pos - this.bufAt, this.pos - this.bufAt + n);
    this.pos += n;
    return out;
  }
  advance(n: number): void {
    if (n < 0 || this.pos + n > this.size) throw new ParseError(`${this.what}: truncated at offset ${this.pos}`, this.pos, 'truncated');
    this.pos += n;
  }
  async u32(): Promise<number> {
    const b = await this.take(4);
    return new DataView(b.buffer, b.byteOffset, 4).getUint32(0, true);
  }
  async u64(): Promise<number> {
    const b = await this.take(8);
    const v = new DataView(b.buffer, b.byteOffset, 8).getBigUint64(0, true);
    if (v > BigInt(Number.MAX_SAFE_INTEGER)) throw new ParseError(`${this.what}: a 64-bit count of ${v} at offset ${this.pos - 8}`, this.pos - 8);
    return Number(v);
  }
}

export type MetadataValue = string | number | boolean | (string | number | boolean)[];

// GGUF value types (gguf.md "GGUFValueType").
const GGUF_FIXED: Record<number, number> = { 0: 1, 1: 1, 2: 2, 3: 2, 4: 4, 5: 4, 6: 4, 7: 1, 10: 8, 11: 8, 12: 8 };

/** `general.*` metadata of a GGUF file (or undefined when it is not GGUF). */
export async function readGgufMetadata(readAt: ReadAt, size: number, what: string): Promise<Record<string, MetadataValue> | undefined> {
  const c = new Cursor(readAt, size, 0, `${what}: gguf`);
  if (size < 24) return undefined;
  const magic = await c.take(4);
  if (Buffer.from(magic).toString('latin1') !== 'GGUF') return undefined;
  const version = await c.u32();
  if (version !== 2 && version !== 3) throw new ParseError(`${what}: gguf version ${version} is not 2 or 3`, 4, 'unsupported');
  await c.u64(); // tensor_count
  const kvCount = await c.u64();
  if (kvCount > MAX_GGUF_KV) throw new ParseError(`${what}: gguf claims ${kvCount} metadata entries (limit ${MAX_GGUF_KV})`, 16);
  const out: Record<string, MetadataValue> = {};
  const str = async () => {
    const n = await c.u64();
    if (n > MAX_GGUF_STRING) throw new ParseError(`${what}: gguf string of ${n} bytes at offset ${c.pos - 8}`, c.pos - 8);
    return Buffer.from(await c.take(n)).toString('utf8');
  };
  const scalar = async (type: number): Promise<string | number | boolean> => {
    const b = await c.take(GGUF_FIXED[type]);
    const v = new DataView(b.buffer, b.byteOffset, b.length);
    switch (type) {
      case 0: return v.getUint8(0);
      case 1: return v.getInt8(0);
      case 2: return v.getUint16(0, true);
      case 3: return v.getInt16(0, true);
      case 4: return v.getUint32(0, true);
      case 5: return v.getInt32(0, true);
      case 6: return v.getFloat32(0, true);
      case 7: return v.getUint8(0) !== 0;
      case 10: return Number(v.getBigUint64(0, true));
      case 11: return Number(v.getBigInt64(0, true));
      default: return v.getFloat64(0, true);
    }
  }; // prettier-ignore
  for (let i = 0; i < kvCount; i++) {
    if (c.pos > MAX_GGUF_HEADER) throw new ParseError(`${what}: gguf header larger than ${MAX_GGUF_HEADER} bytes`, c.pos);
    const key = await str();
    const type = await c.u32();
    const keep = key.startsWith('general.');
    if (type === 8) {
      const s = await str();
      if (keep) out[key] = s.slice(0, MAX_METADATA_VALUE);
    } else if (type === 9) {
      const et = await c.u32();
      const n = await c.u64();
      if (n > MAX_ARRAY) throw new ParseError(`${what}: gguf array of ${n} elements for ${key}`, c.pos - 8);
      if (et === 8) {
        const vals: string[] = [];
        for (let j = 0; j < n; j++) {
          const s = await str();
          if (keep && vals.length < 1000) vals.push(s.slice(0, 4096));
        }
        if (keep) out[key] = vals;
      } else if (GGUF_FIXED[et]) {
        if (keep && n <= 1000) {
          const vals: (string | number | boolean)[] = [];
          for (let j = 0; j < n; j++) vals.push(await scalar(et));
          out[key] = vals;
        } else c.advance(n * GGUF_FIXED[et]);
      } else throw new ParseError(`${what}: gguf array element type ${et} for ${key}`, c.pos - 12, 'unsupported');
    } else if (GGUF_FIXED[type]) {
      const v = await scalar(type);
      if (keep) out[key] = v;
    } else throw new ParseError(`${what}: gguf value type ${type} for ${key}`, c.pos - 4, 'unsupported');
  }
  return out;
}

/** The `__metadata__` map of a safetensors file (or undefined when it is not safetensors). */
export async function readSafetensorsMetadata(readAt: ReadAt, size: number, what: string): Promise<Record<string, string> | undefined> {
  if (size < 10) return undefined;
  const c = new Cursor(readAt, size, 0, `${what}: safetensors`);
  const n = await c.u64();
  if (n < 2 || n > MAX_SAFETENSORS_HEADER || n + 8 > size) throw new ParseError(`${what}: safetensors header length ${n} is out of range`, 0);
  let header: unknown;
  try {
    header = JSON.parse(Buffer.from(await c.take(n)).toString('utf8'));
  } catch (e) {
    throw new ParseError(`${what}: safetensors header is not JSON: ${(e as Error).message}`, 8);
  }
  const md = (header as { __metadata__?: unknown })?.__metadata__;
  if (typeof md !== 'object' || md === null || Array.isArray(md)) return {};
  const out: Record<string, string> = {};
  for (const [k, v] of Object.entries(md).slice(0, 10_000)) if (typeof v === 'string') out[k] = v.slice(0, MAX_METADATA_VALUE);
  return out;
}

export interface OnnxMetadata {
  producerName?: string;
  producerVersion?: string;
  domain?: string;
  modelVersion?: number;
  docString?: string;
  metadataProps: Record<string, string>;
}

/** ModelProto's descriptive fields; the graph and initializers are skipped by their lengths. */
export async function readOnnxMetadata(readAt: ReadAt, size: number, what: string): Promise<OnnxMetadata> {
  const c = new Cursor(readAt, size, 0, `${what}: onnx`);
  const varint = async (): Promise<number> => {
    let v = 0n;
    for (let shift = 0n; shift < 70n; shift += 7n) {
      const b = (await c.take(1))[0];
      v |= BigInt(b & 0x7f) << shift;
      if (!(b & 0x80)) {
        if (v > BigInt(Number.MAX_SAFE_INTEGER)) throw new ParseError(`${what}: onnx varint too large at ${c.pos}`, c.pos);
        return Number(v);
      }
    }
    throw new ParseError(`${what}: onnx varint longer than 10 bytes at ${c.pos}`, c.pos);
  };
  const out: OnnxMetadata = { metadataProps: {} };
  const text = async (n: number) => {
    if (n > MAX_METADATA_VALUE) {
      c.advance(n);
      return undefined;
    }
    return Buffer.from(await c.take(n)).toString('utf8');
  };
  for (let fields = 0; c.pos < size; fields++) {
    if (fields > MAX_ONNX_FIELDS) throw new ParseError(`${what}: more than ${MAX_ONNX_FIELDS} top-level fields; not an ONNX model`, c.pos);
    const key = await varint();
    const field = key >>> 3;
    const wire = key & 7;
    if (wire === 0) {
      const v = await varint();
      if (field === 5) out.modelVersion = v;
    } else if (wire === 2) {
      const n = await varint();
      if (c.pos + n > size) throw new ParseError(`${what}: onnx field ${field} runs past the end of the file`, c.pos, 'truncated');
      if (field === 2) out.producerName = await text(n);
      else if (field === 3) out.producerVersion = await text(n);
      else if (field === 4) out.domain = await text(n);
      else if (field === 6) out.docString = await text(n);
      else if (field === 14 && n <= 2 * MAX_METADATA_VALUE) {
        const entry = await c.take(n);
        const kv = readStringPair(entry);
        if (kv && Object.keys(out.metadataProps).length < 10_000) out.metadataProps[kv[0]] = kv[1];
      } else c.advance(n);
    } else if (wire === 5) c.advance(4);
    else if (wire === 1) c.advance(8);
    else throw new ParseError(`${what}: onnx wire type ${wire} at offset ${c.pos}; not an ONNX model`, c.pos);
  }
  return out;
}

/** StringStringEntryProto {1: key, 2: value}, both short. */
function readStringPair(b: Uint8Array): [string, string] | undefined {
  let at = 0;
  let key: string | undefined;
  let value = '';
  while (at < b.length) {
    const tag = b[at++];
    if ((tag & 7) !== 2 || tag >= 0x80) return undefined;
    let n = 0;
    for (let shift = 0; shift < 28; shift += 7) {
      const x = b[at++];
      n |= (x & 0x7f) << shift;
      if (!(x & 0x80)) break;
    }
    if (at + n > b.length) return undefined;
    const s = Buffer.from(b.subarray(at, at + n)).toString('utf8');
    at += n;
    if (tag >> 3 === 1) key = s;
    else if (tag >> 3 === 2) value = s;
  }
  return key === undefined ? undefined : [key, value];
}

// ---------------------------------------------------------------------------------------------------------------
// Text metadata (YAML / JSON): model cards, eval results, MLmodel, Kitfile, ModelPack config.

function yamlOf(text: string, what: string): unknown {
  try {
    return parseYaml(text, { maxAliasCount: 100, uniqueKeys: false });
  } catch (e) {
    throw new ParseError(`${what}: not YAML: ${(e as Error).message}`);
  }
}

const asRecord = (v: unknown): Record<string, unknown> | undefined =>
  typeof v === 'object' && v !== null && !Array.isArray(v) ? (v as Record<string, unknown>) : undefined;
const strings = (v: unknown): string[] =>
  (typeof v === 'string' ? [v] : Array.isArray(v) ? v : []).filter((x): x is string => typeof x === 'string').slice(0, 1000);
const optStr = (v: unknown): string | undefined => (typeof v === 'string' && v ? v.slice(0, 4096) : typeof v === 'number' ? String(v) : undefined);

export interface CardResult {
  model?: string;
  task?: string;
  dataset?: string;
  datasetName?: string;
  revision?: string;
  split?: string;
  metric?: string;
  value?: number | string;
  date?: string;
  source?: string;
}

export interface ModelCard {
  baseModels: string[];
  baseModelRelation?: string;
  datasets: string[];
  results: CardResult[];
}

/** A Hugging Face model card's YAML front matter (huggingface_hub ModelCardData). */
export function readModelCard(text: string, what: string): ModelCard | undefined {
  const m = /^\uFEFF?---\r?\n([\s\S]*?)\r?\n---\s*(\r?\n|$)/.exec(text);
  if (!m) return undefined;
  const d = asRecord(yamlOf(m[1], `${what}: front matter`)) ?? {};
  const results: CardResult[] = [];
  for (const entry of Array.isArray(d['model-index']) ? d['model-index'].slice(0, 100) : []) {
    const e = asRecord(entry);
    for (const r of Array.isArray(e?.results) ? e!.results.slice(0, 1000) : []) {
      const rr = asRecord(r) ?? {};
      const task = asRecord(rr.task) ?? {};
      const ds = asRecord(rr.dataset) ?? {};
      const src = asRecord(rr.source) ?? {};
      for (const metric of Array.isArray(rr.metrics) ? rr.metrics.slice(0, 100) : []) {
        const mt = asRecord(metric) ?? {};
        results.push({
          ...opt('model', e?.name),
          ...opt('task', task.type),
          ...opt('dataset', ds.type),
          ...opt('datasetName', ds.name),
          ...opt('revision', ds.revision),
          ...opt('split', ds.split),
          ...opt('metric', mt.name ?? mt.type),
          ...(typeof mt.value === 'number' || typeof mt.value === 'string' ? { value: mt.value } : {}),
          ...opt('source', src.url),
        });
      }
    }
  }
  return {
    baseModels: strings(d.base_model),
    ...opt('baseModelRelation', d.base_model_relation),
    datasets: strings(d.datasets),
    results,
  };
}

/** `.eval_results/<benchmark>.yaml`: a list of results (dataset {id, task_id, revision}, value, date, source, notes). */
export function readEvalResults(text: string, what: string): CardResult[] {
  const doc = yamlOf(text, what);
  const list = Array.isArray(doc) ? doc : asRecord(doc) ? [doc] : [];
  return list.slice(0, 1000).map((x) => {
    const e = asRecord(x) ?? {};
    const ds = asRecord(e.dataset) ?? {};
    const src = asRecord(e.source) ?? {};
    const date = e.date instanceof Date ? e.date.toISOString().slice(0, 10) : optStr(e.date);
    return {
      ...opt('dataset', ds.id ?? e.dataset),
      ...opt('task', ds.task_id),
      ...opt('revision', ds.revision),
      ...(typeof e.value === 'number' || typeof e.value === 'string' ? { value: e.value } : {}),
      ...(date ? { date } : {}),
      ...opt('source', src.url ?? src.name),
      ...opt('metric', e.metric ?? e.notes),
    };
  });
}

export interface MlflowModel {
  runId?: string;
  modelUuid?: string;
  created?: string;
  flavors: string[];
}

export function readMlmodel(text: string, what: string): MlflowModel {
  const d = asRecord(yamlOf(text, what)) ?? {};
  return {
    ...opt('runId', d.run_id),
    ...opt('modelUuid', d.model_uuid),
    ...opt('created', d.utc_time_created),
    flavors: Object.keys(asRecord(d.flavors) ?? {}).slice(0, 100),
  };
}

export interface Kitfile {
  name?: string;
  version?: string;
  authors: string[];
  model?: string;
  datasets: { name?: string; path?: string }[];
}

export function readKitfile(text: string, what: string): Kitfile {
  const d = asRecord(yamlOf(text, what)) ?? {};
  const pkg = asRecord(d.package) ?? {};
  const model = asRecord(d.model) ?? {};
  return {
    ...opt('name', pkg.name),
    ...opt('version', pkg.version ?? model.version),
    authors: strings(pkg.authors),
    ...opt('model', model.name ?? model.path),
    datasets: (Array.isArray(d.datasets) ? d.datasets.slice(0, 1000) : []).map((x) => {
      const e = asRecord(x) ?? {};
      return { ...opt('name', e.name), ...opt('path', e.path) };
    }),
  };
}

export interface ModelPackConfig {
  name?: string;
  version?: string;
  createdAt?: string;
  authors: string[];
  sourceURL?: string;
  revision?: string;
  datasetsURL: string[];
}

/** CNCF ModelPack model config (`application/vnd.cncf.model.config.v1+json`): the `descriptor` object. */
export function readModelPackConfig(text: string, what: string): ModelPackConfig {
  let d: unknown;
  try {
    d = JSON.parse(text);
  } catch (e) {
    throw new ParseError(`${what}: not JSON: ${(e as Error).message}`);
  }
  const desc = asRecord(asRecord(d)?.descriptor) ?? {};
  return {
    ...opt('name', desc.name),
    ...opt('version', desc.version),
    ...opt('createdAt', desc.createdAt),
    authors: strings(desc.authors),
    ...opt('sourceURL', desc.sourceURL),
    ...opt('revision', desc.revision),
    datasetsURL: strings(desc.datasetsURL),
  };
}

function opt<K extends string>(key: K, v: unknown): { [k in K]?: string } {
  const s = optStr(v);
  return s ? ({ [key]: s } as { [k in K]: string }) : {};
}
