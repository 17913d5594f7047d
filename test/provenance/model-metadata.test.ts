/**
 * Declared model metadata readers on the fixtures built to the published layouts, and on hostile headers: a GGUF
 * that claims billions of entries or a 2^60-byte string, a safetensors header length past the file, an ONNX field
 * longer than the file or a runaway varint. Each is a ParseError naming the file, found without reading or
 * allocating what the header claims.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { ParseError } from '../../src/errors.js';
import {
  readEvalResults,
  readGgufMetadata,
  readKitfile,
  readMlmodel,
  readModelCard,
  readModelPackConfig,
  readOnnxMetadata,
  readSafetensorsMetadata,
  type ReadAt,
} from '../../src/provenance/model-metadata.js';
import { FIXTURES } from '../helpers/scan.js';

const HF = join(FIXTURES, 'provenance', 'models', 'hf-model');

function reader(bytes: Uint8Array): { readAt: ReadAt; reads: number[] } {
  const reads: number[] = [];
  return {
    reads,
    readAt: async (offset, length) => {
      reads.push(length);
      return bytes.subarray(offset, Math.min(bytes.length, offset + length));
    },
  };
}

const u32 = (n: number) => {
  const b = Buffer.alloc(4);
  b.writeUInt32LE(n);
  return b;
};
const u64 = (n: bigint) => {
  const b = Buffer.alloc(8);
  b.writeBigUInt64LE(n);
  return b;
};

async function rejects(p: Promise<unknown>, message: RegExp) {
  let err: unknown;
  try {
    await p;
  } catch (e) {
    err = e;
  }
  expect(err).toBeInstanceOf(ParseError);
  expect((err as Error).message).toMatch(message);
}

describe('declared model metadata', () => {
  it('GGUF: general.* keys, base models and datasets; other keys (a tokenizer vocabulary) skipped', async () => {
    const b = readFileSync(join(HF, 'model.gguf'));
    const md = await readGgufMetadata(reader(b).readAt, b.length, 'm.gguf');
    expect(md).toMatchObject({
      'general.architecture': 'llama',
      'general.base_model.count': 1,
      'general.base_model.0.organization': 'Meta Llama',
      'general.base_model.0.repo_url': 'https://huggingface.co/meta-llama/Llama-3.1-8B',
      'general.dataset.count': 2,
      'general.dataset.1.name': 'GSM8K',
    });
    expect(Object.keys(md!).some((k) => k.startsWith('tokenizer.'))).toBe(false);
    expect(await readGgufMetadata(reader(readFileSync(join(HF, 'config.json'))).readAt, 60, 'x')).toBeUndefined();
  });

  it('GGUF: hostile counts and lengths are refused before anything is read or allocated', async () => {
    const head = (kv: bigint) => Buffer.concat([Buffer.from('GGUF'), u32(3), u64(0n), u64(kv)]);
    await rejects(readGgufMetadata(reader(head(4_000_000_000n)).readAt, 24, 'big.gguf'), /big\.gguf: gguf claims 4000000000 metadata entries/);
    const hugeString = Buffer.concat([head(1n), u64(1n << 60n), Buffer.alloc(16)]);
    const r = reader(hugeString);
    await rejects(readGgufMetadata(r.readAt, hugeString.length, 's.gguf'), /64-bit count|gguf string of/);
    expect(Math.max(...r.reads)).toBeLessThanOrEqual(1024 * 1024);
    const truncated = Buffer.concat([head(1n), u64(5n), Buffer.from('gen')]);
    await rejects(readGgufMetadata(reader(truncated).readAt, truncated.length, 't.gguf'), /t\.gguf: gguf: truncated/);
    const v1 = Buffer.concat([Buffer.from('GGUF'), u32(1), Buffer.alloc(16)]);
    await rejects(readGgufMetadata(reader(v1).readAt, v1.length, 'v1.gguf'), /version 1 is not 2 or 3/);
    const bigArray = Buffer.concat([head(1n), u64(15n), Buffer.from('general.strings'), u32(9), u32(8), u64(1n << 40n)]);
    await rejects(readGgufMetadata(reader(bigArray).readAt, bigArray.length, 'a.gguf'), /array of 1099511627776 elements/);
  });

  it('safetensors: __metadata__; a header length past the end is refused', async () => {
    const b = readFileSync(join(HF, 'model.safetensors'));
    expect(await readSafetensorsMetadata(reader(b).readAt, b.length, 'm')).toEqual({ format: 'pt', base_model: 'meta-llama/Llama-3.1-8B' });
    const bad = Buffer.concat([u64(1n << 40n), Buffer.from('{}')]);
    await rejects(readSafetensorsMetadata(reader(bad).readAt, bad.length, 'bad.safetensors'), /header length 1099511627776 is out of range/);
  });

  it('ONNX: producer and metadata_props, the graph skipped by length; hostile lengths and varints refused', async () => {
    const b = readFileSync(join(HF, 'model.onnx'));
    const r = reader(b);
    const md = await readOnnxMetadata(r.readAt, b.length, 'm.onnx');
    expect(md).toEqual({
      producerName: 'pytorch',
      producerVersion: '2.3.0',
      modelVersion: 3,
      metadataProps: { base_model: 'meta-llama/Llama-3.1-8B', training_dataset: 'HuggingFaceFW/fineweb-edu' },
    });
    const past = Buffer.from([0x3a, 0xff, 0xff, 0xff, 0x0f, 1, 2, 3]); // field 7 (graph), length 2^32-1
    await rejects(readOnnxMetadata(reader(past).readAt, past.length, 'p.onnx'), /field 7 runs past the end/);
    const runaway = Buffer.from([0x08, ...Array(12).fill(0xff)]);
    await rejects(readOnnxMetadata(reader(runaway).readAt, runaway.length, 'v.onnx'), /varint/);
    const group = Buffer.from([0x0b]); // wire type 3 (start group): not ONNX
    await rejects(readOnnxMetadata(reader(group).readAt, group.length, 'g.onnx'), /wire type 3/);
  });

  it('text metadata: card front matter, eval results, MLmodel, Kitfile, ModelPack config', () => {
    const card = readModelCard(readFileSync(join(HF, 'README.md'), 'utf8'), 'README.md')!;
    expect(card.baseModels).toEqual(['meta-llama/Llama-3.1-8B']);
    expect(card.baseModelRelation).toBe('finetune');
    expect(card.datasets).toEqual(['HuggingFaceFW/fineweb-edu', 'openai/gsm8k']);
    expect(card.results[0]).toMatchObject({
      dataset: 'cais/mmlu',
      datasetName: 'MMLU',
      metric: 'accuracy',
      value: 68.4,
      revision: 'c30699e8356da336a370243923dbaf21066bb9fe',
    });
    expect(readModelCard('# no front matter\n', 'x')).toBeUndefined();
    expect(readEvalResults(readFileSync(join(HF, '.eval_results', 'gsm8k.yaml'), 'utf8'), 'e')[0]).toMatchObject({
      dataset: 'openai/gsm8k',
      value: 79.6,
      date: '2026-10-02',
    });
    expect(readMlmodel(readFileSync(join(HF, 'MLmodel'), 'utf8'), 'MLmodel')).toMatchObject({
      runId: '9d8c7b6a5f4e3d2c1b0a99887766554433',
      flavors: ['python_function', 'transformers'],
    });
    expect(readKitfile(readFileSync(join(HF, 'Kitfile'), 'utf8'), 'Kitfile')).toMatchObject({
      name: 'llama-3.1-8b-ft',
      version: '1.2.0',
      datasets: [{ name: 'fineweb-edu-sample' }],
    });
    const mp = readModelPackConfig(
      JSON.stringify({
        descriptor: {
          name: 'ft',
          createdAt: '2026-10-01T00:00:00Z',
          authors: ['ML'],
          sourceURL: 'https://git.example/ft',
          revision: 'abc',
          datasetsURL: ['s3://d'],
        },
      }),
      'config',
    );
    expect(mp).toMatchObject({ name: 'ft', sourceURL: 'https://git.example/ft', datasetsURL: ['s3://d'] });
    expect(() => readModelCard('---\na: [\n---\n', 'bad.md')).toThrow(/bad\.md: front matter: not YAML/);
  });
});
