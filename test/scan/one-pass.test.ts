/**
 * The bytes whose digest is checked are the bytes scanned (issue 21 item 1): a large blob is read once, hashed,
 * detected and expanded in the same pass, so a store that serves other bytes on a second read changes nothing, and a
 * blob that does not match its digest reports nothing its bytes said.
 */
import { createHash, randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import { describe, expect, it } from 'vitest';
import { ScanEngine } from '../../src/scan/engine.js';
import type { ArtifactRef } from '../../src/sources/types.js';
import { tar } from '../helpers/registry.js';
import { FIXTURES } from '../helpers/scan.js';

const KEY = readFileSync(join(FIXTURES, 'pki', 'certs', 'rsa2048.der'));
const PEM = `-----BEGIN CERTIFICATE-----\n${KEY.toString('base64').replace(/(.{64})/g, '$1\n')}\n-----END CERTIFICATE-----\n`;
const sha = (b: Uint8Array) => createHash('sha256').update(b).digest('hex');
/** Incompressible filler, so the layer is large after gzip too. */
const filler = (n: number) => randomBytes(n);

/** A ref (as a registry blob looks to the engine) whose every open() serves the next of `serves`, in 64 KiB chunks. */
function blob(digestOf: Uint8Array, serves: Uint8Array[]): ArtifactRef & { opens: number } {
  const ref = {
    uri: `oci://127.0.0.1:1/r@sha256:${sha(digestOf)}`,
    name: 'layer.tar.gz',
    size: digestOf.length,
    digest: `sha256:${sha(digestOf)}`,
    annotations: {},
    reopenable: true,
    opens: 0,
    open() {
      const bytes = serves[Math.min(ref.opens++, serves.length - 1)];
      return (async function* () {
        for (let i = 0; i < bytes.length; i += 65536) yield bytes.subarray(i, i + 65536);
      })();
    },
  };
  return ref;
}

describe('one pass: hashed, detected and expanded from the same read', () => {
  // wholeReadLimit 1 MiB stands for the 32 MiB of production: the layers below are larger, so they take the streamed path.
  const opts = { wholeReadLimit: 1 << 20 };
  const real = gzipSync(tar({ 'etc/ssl/private/server.pem': PEM, 'usr/share/filler.bin': filler(3 << 20) }));
  const harmless = gzipSync(tar({ 'README.txt': 'nothing here\n', 'usr/share/filler.bin': filler(3 << 20) }));

  it('a store serving other bytes on a second read: the layer is read once, its key is found, the digest matches', async () => {
    expect(real.length).toBeGreaterThan(opts.wholeReadLimit);
    const ref = blob(real, [real, harmless]);
    const engine = new ScanEngine(opts);
    await engine.scan(ref);
    expect(ref.opens).toBe(1);
    const layer = engine.results.find((r) => r.uri === ref.uri)!;
    expect(layer.sha256).toBe(sha(real));
    expect(layer.errors).toEqual([]);
    const key = engine.results.find((r) => r.uri.endsWith('!/etc/ssl/private/server.pem'));
    expect(key?.findings.some((f) => f.kind === 'certificate')).toBe(true);
    expect(engine.results.some((r) => r.uri.endsWith('!/README.txt'))).toBe(false);
    // Each byte once: the layer's compressed bytes, plus its two members' expanded bytes.
    expect(engine.bytesRead).toBe(real.length + PEM.length + (3 << 20));
  });

  it('bytes that do not match the promised digest: an error on the artifact, and nothing they hold is reported', async () => {
    const ref = blob(real, [harmless]);
    const engine = new ScanEngine(opts);
    await engine.scan(ref);
    const layer = engine.results.find((r) => r.uri === ref.uri)!;
    expect(layer.errors.map((e) => e.message)).toEqual([expect.stringMatching(/does not match the store's sha256:.*members read from them dropped/)]);
    expect(layer.findings).toEqual([]);
    expect(engine.results).toHaveLength(1);
  });

  it('a small blob that does not match is not opened at all', async () => {
    const small = gzipSync(tar({ 'etc/ssl/private/server.pem': PEM }));
    const other = gzipSync(tar({ 'etc/other.pem': PEM }));
    const ref = blob(small, [other]);
    const engine = new ScanEngine();
    await engine.scan(ref);
    expect(engine.results).toHaveLength(1);
    expect(engine.results[0].errors[0].message).toMatch(/does not match the store's/);
  });

  it('a stream the store says is large is read along from its head, not held up to the whole-read limit first', async () => {
    const layer = gzipSync(tar({ 'etc/ssl/private/server.pem': PEM, 'usr/share/filler.bin': filler(3 << 20) }));
    const scanWith = async (size: number | undefined) => {
      let pulled = 0;
      let pulledAtFirstMember = -1;
      const ref: ArtifactRef = {
        uri: 'file:///layer.tar.gz',
        name: 'layer.tar.gz',
        ...(size !== undefined ? { size } : {}),
        annotations: {},
        reopenable: false,
        open: () =>
          (async function* () {
            for (let i = 0; i < layer.length; i += 65536) {
              pulled += Math.min(65536, layer.length - i);
              yield layer.subarray(i, i + 65536);
            }
          })(),
      };
      const engine = new ScanEngine({
        ...opts,
        onArtifact: (a) => {
          if (a.parent && pulledAtFirstMember < 0) pulledAtFirstMember = pulled;
        },
      });
      await engine.scan(ref);
      return { results: engine.results, pulledAtFirstMember };
    };
    const known = await scanWith(layer.length);
    const unknown = await scanWith(undefined);
    // The key is the layer's first member: found after one chunk when the size is known, after the limit otherwise.
    expect(known.pulledAtFirstMember).toBeLessThan(opts.wholeReadLimit);
    expect(unknown.pulledAtFirstMember).toBeGreaterThan(opts.wholeReadLimit);
    // And the same answer either way.
    expect(known.results).toEqual(unknown.results);
    expect(known.results.find((r) => r.uri.endsWith('!/etc/ssl/private/server.pem'))?.findings.some((f) => f.kind === 'certificate')).toBe(true);
  });
});
