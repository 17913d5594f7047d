/**
 * OpenSSF Model Signing: the reference samples of sigstore/model-transparency (every format version it keeps, with
 * the files they sign), their tampered copies, its golden payloads for shard serialization, and signatures made here
 * by following the specification (BLAKE2b, shards) whose digests come from Python's hashlib.
 */
import { cpSync, mkdtempSync, readdirSync, readFileSync, rmSync, unlinkSync, writeFileSync, mkdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { ParseError } from '../../src/errors.js';
import { compareManifests, hashModel, newHasher } from '../../src/provenance/integrity.js';
import { readModelTree } from '../../src/provenance/model-files.js';
import { compareResourceNames, isIgnored, parseModelSignature, rootDigest, type ModelSignature } from '../../src/provenance/model-signing.js';
import { FIXTURES } from '../helpers/scan.js';

const MT = join(FIXTURES, 'provenance', 'realworld', 'model-transparency');
const OWN = join(FIXTURES, 'provenance');
const SAMPLES = readdirSync(MT).filter((d) => d.startsWith('v'));
const expected = JSON.parse(readFileSync(join(OWN, 'expected-provenance.json'), 'utf8')) as {
  models: Record<string, { root: string; resources?: { name: string; digest: string }[] }>;
};

const sig = (dir: string): ModelSignature => parseModelSignature(readFileSync(join(dir, 'model.sig')), `${dir}/model.sig`);
const singleFile = (s: ModelSignature) => s.manifest.resources.length === 1 && s.manifest.resources[0].name === '.';

function tamperedCopy(sample: string): string {
  const d = mkdtempSync(join(tmpdir(), 'shelflife-oms-'));
  cpSync(join(MT, sample), d, { recursive: true });
  return d;
}

describe('model.sig reader', () => {
  it('reads every reference sample, v0.2 to v1.1, key-, certificate- and Sigstore-signed', () => {
    expect(SAMPLES.length).toBe(13);
    for (const v of SAMPLES) {
      const s = sig(join(MT, v));
      expect(s.bundle.mediaType).toBe('application/vnd.dev.sigstore.bundle.v0.3+json');
      expect(s.envelope.payloadType).toBe('application/vnd.in-toto+json');
      // The subject root digest is SHA-256 over the concatenated raw digests (recomputed by the reader).
      expect(s.manifest.rootDigest).toBe(rootDigest(s.manifest.resources.map((r) => r.digest)));
      const kind = v.endsWith('-sigstore') ? 'certificate' : v.endsWith('-certificate') ? 'certificate-chain' : 'public-key';
      expect(s.bundle.material.kind, v).toBe(kind);
      if (v.endsWith('-sigstore')) expect(s.bundle.tlogTimes[0]).toMatch(/^2025-/);
    }
    expect(sig(join(MT, 'v0.2.0-certificate')).manifest.legacy).toBe(true);
    expect(sig(join(MT, 'v1.1.0-certificate')).manifest.serialization.ignorePaths).toContain('ignore-me');
    // The root digests published in the samples, recomputed independently (sha256sum + Python) in the reference notes.
    expect(sig(join(MT, 'v1.1.0-certificate')).manifest.rootDigest).toBe('61d4849d9d90076d6215f4d525f13d6574af8e3f67aef3e6f36fc40a14fdd226');
    expect(sig(join(MT, 'v1.0.0-elliptic-key')).manifest.rootDigest).toBe('afa48c8674afe334b8a7dea34f7b46ab256e9255edf8da2132792341b667a45b');
  });

  it('recomputes every sample from its files: verified', async () => {
    for (const v of SAMPLES) {
      const s = sig(join(MT, v));
      const tree = await readModelTree(singleFile(s) ? join(MT, v, 'signme-1') : join(MT, v));
      // v1.0.1 recorded no ignore list; model_signing's own test passes --ignore-paths ignore-me, so do we.
      const hashed = await hashModel(tree, s.manifest.serialization, v.startsWith('v1.0.1') ? ['ignore-me'] : []);
      expect(compareManifests(s.manifest, hashed), v).toEqual({ status: 'verified', changed: [], missing: [], added: [] });
      expect(hashed.rootDigest, v).toBe(s.manifest.legacy ? s.manifest.rootDigest : s.manifest.rootDigest);
    }
  });

  it('without the ignore list v1.0.1 would not accept: ignore-me is an added file', async () => {
    const s = sig(join(MT, 'v1.0.1-elliptic-key'));
    const c = compareManifests(s.manifest, await hashModel(await readModelTree(join(MT, 'v1.0.1-elliptic-key')), s.manifest.serialization));
    expect(c).toEqual({ status: 'modified', changed: [], missing: [], added: ['ignore-me'] });
  });

  it('tampered copies: a byte changed, a file added, a file removed', async () => {
    const d = tamperedCopy('v1.1.0-certificate');
    try {
      const s = sig(d);
      const b = readFileSync(join(d, 'signme-2'));
      b[0] ^= 1;
      writeFileSync(join(d, 'signme-2'), b);
      writeFileSync(join(d, 'extra.bin'), 'not signed');
      unlinkSync(join(d, 'signme-1'));
      const c = compareManifests(s.manifest, await hashModel(await readModelTree(d), s.manifest.serialization));
      expect(c).toEqual({ status: 'modified', changed: ['signme-2'], missing: ['signme-1'], added: ['extra.bin'] });
      // The default exclusions and the signature's own ignore list still hold.
      mkdirSync(join(d, '.git'));
      writeFileSync(join(d, '.git', 'HEAD'), 'ref: refs/heads/main\n');
      writeFileSync(join(d, '.gitattributes'), '*.bin filter=lfs\n');
      const c2 = compareManifests(s.manifest, await hashModel(await readModelTree(d), s.manifest.serialization));
      expect(c2.added).toEqual(['extra.bin']);
    } finally {
      rmSync(d, { recursive: true, force: true });
    }
  });

  it('BLAKE2b and sharded signatures made here match the digests Python computed', async () => {
    for (const name of ['blake2b-model', 'sharded-model', 'hf-model']) {
      const d = join(OWN, 'models', name);
      const s = sig(d);
      expect(s.manifest.rootDigest).toBe(expected.models[name].root);
      const hashed = await hashModel(await readModelTree(d), s.manifest.serialization);
      expect(hashed.resources.map((r) => [r.name, r.digest])).toEqual(expected.models[name].resources!.map((r) => [r.name, r.digest]));
      expect(compareManifests(s.manifest, hashed).status).toBe('verified');
    }
    const sharded = sig(join(OWN, 'models', 'sharded-model')).manifest;
    expect(sharded.serialization).toMatchObject({ method: 'shards', shardSize: 16, hashType: 'sha256' });
    // 52 bytes in 16-byte shards: 0:16 16:32 32:48 48:52; the empty file has no shard.
    expect(sharded.resources.filter((r) => r.name.startsWith('weights.bin')).map((r) => r.name)).toEqual([
      'weights.bin:0:16',
      'weights.bin:16:32',
      'weights.bin:32:48',
      'weights.bin:48:52',
    ]);
    expect(sharded.resources.some((r) => r.name.startsWith('empty'))).toBe(false);
  });

  it("shards and files match model-transparency's golden payloads for its test models", async () => {
    // tests/conftest.py sample_model_folder: d0/f00..d1/f12 and f0..f3 with fixed texts.
    const d = join(mkdtempSync(join(tmpdir(), 'shelflife-oms-golden-')), 'sample_model');
    for (let i = 0; i < 2; i++) {
      mkdirSync(join(d, `d${i}`), { recursive: true });
      for (let j = 0; j < 3; j++) writeFileSync(join(d, `d${i}`, `f${i}${j}`), `This is file f${i}${j} in d${i}.`);
    }
    for (let i = 0; i < 4; i++) writeFileSync(join(d, `f${i}`), `This is file f${i} in root.`);
    for (const [golden, ser] of [
      ['sample_model_folder', { method: 'files', hashType: 'sha256' }],
      ['sample_model_folder_small_shards', { method: 'shards', hashType: 'sha256', shardSize: 8 }],
    ] as const) {
      const g = JSON.parse(readFileSync(join(MT, 'goldens', `${golden}.json`), 'utf8'));
      const hashed = await hashModel(await readModelTree(d), { ...ser, allowSymlinks: true, ignorePaths: [] });
      expect(
        hashed.resources.map((r) => [r.name, r.algorithm, r.digest]),
        golden,
      ).toEqual(g.predicate.resources.map((r: { name: string; algorithm: string; digest: string }) => [r.name, r.algorithm, r.digest]));
      expect(hashed.rootDigest, golden).toBe(g.subject[0].digest.sha256);
    }
    rmSync(join(d, '..'), { recursive: true, force: true });
  });

  it('BLAKE3 follows the official test vector', () => {
    const h = newHasher('blake3');
    h.update(new Uint8Array(0));
    expect(h.digest()).toBe('af1349b9f5f9a1a6a0404dea36dcc9499bcb25c9adc112b7cc9a93cae41f3262');
  });

  it('orders paths component by component and shards numerically, as Python does', () => {
    const names = ['a.b', 'a/b', 'a', 'B', 'a/b:16:20', 'é'];
    expect([...names].sort((x, y) => compareResourceNames(x, y, 'files'))).toEqual(['B', 'a', 'a/b', 'a/b:16:20', 'a.b', 'é']);
    expect(['w:16:32', 'w:0:16', 'w:100:116', 'v:0:1'].sort((x, y) => compareResourceNames(x, y, 'shards'))).toEqual([
      'v:0:1',
      'w:0:16',
      'w:16:32',
      'w:100:116',
    ]);
    expect(isIgnored('.git/HEAD', ['.git'])).toBe(true);
    expect(isIgnored('.github', ['.git'])).toBe(false);
    expect(isIgnored('sub/ignore-me', ['./sub/'])).toBe(true);
  });

  it('hostile signatures are ParseErrors that name the file and the reason', () => {
    const base = JSON.parse(readFileSync(join(OWN, 'models', 'hf-model', 'model.sig'), 'utf8'));
    const payload = JSON.parse(Buffer.from(base.dsseEnvelope.payload, 'base64').toString());
    const withPayload = (p: unknown) => {
      const b = structuredClone(base);
      b.dsseEnvelope.payload = Buffer.from(JSON.stringify(p)).toString('base64');
      return new TextEncoder().encode(JSON.stringify(b));
    };
    const cases: [string, Uint8Array, RegExp][] = [
      ['not JSON', new TextEncoder().encode('{"mediaType":'), /x\/model\.sig: not JSON/],
      ['wrong media type', new TextEncoder().encode(JSON.stringify({ ...base, mediaType: 'text/plain' })), /not a Sigstore bundle/],
      [
        'inconsistent root',
        withPayload({ ...payload, subject: [{ name: 'm', digest: { sha256: '0'.repeat(64) } }] }),
        /inconsistent: its root digest is 0{64}/,
      ],
      [
        'path traversal',
        withPayload({ ...payload, predicate: { ...payload.predicate, resources: [{ name: '../etc/passwd', algorithm: 'sha256', digest: 'ab' }] } }),
        /not a relative path inside the model/,
      ],
      [
        'absolute path',
        withPayload({ ...payload, predicate: { ...payload.predicate, resources: [{ name: '/etc/passwd', algorithm: 'sha256', digest: 'ab' }] } }),
        /not a relative path/,
      ],
      [
        'bad shard',
        withPayload({ ...payload, predicate: { ...payload.predicate, serialization: { method: 'shards', hash_type: 'sha256', shard_size: 0 } } }),
        /shard_size is not a positive/,
      ],
      [
        'unknown hash',
        withPayload({ ...payload, predicate: { ...payload.predicate, serialization: { method: 'files', hash_type: 'md5' } } }),
        /hash_type "md5"/,
      ],
      ['two subjects', withPayload({ ...payload, subject: [payload.subject[0], payload.subject[0]] }), /exactly one subject/],
      [
        'duplicate resource',
        withPayload({ ...payload, predicate: { ...payload.predicate, resources: [payload.predicate.resources[0], payload.predicate.resources[0]] } }),
        /listed twice/,
      ],
      ['not a statement', withPayload({ hello: 1 }), /not an in-toto Statement/],
      ['other predicate', withPayload({ ...payload, predicateType: 'https://slsa.dev/provenance/v1' }), /is not a model signature/],
    ];
    for (const [what, bytes, message] of cases) {
      let err: unknown;
      try {
        parseModelSignature(bytes, 'file:///x/model.sig');
      } catch (e) {
        err = e;
      }
      expect(err, what).toBeInstanceOf(ParseError);
      expect((err as Error).message, what).toMatch(message);
    }
  });
});
