import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { describe, expect, it } from 'vitest';
import { rpmHandler } from '../../src/containers/rpm.js';
import { parseRpmHeaders } from '../../src/formats/rpm.js';
import { FIXTURES, findingsUnder, scanPaths, summary } from '../helpers/scan.js';
import { members } from './_collect.js';

const PKG = join(FIXTURES, 'packages');
const read = (f: string) => new Uint8Array(readFileSync(join(PKG, f)));

describe('rpm container', () => {
  it.each([
    ['zstd', 'shelflife-fixture-1.0-1.noarch.rsa.rpm'],
    ['gzip', 'shelflife-fixture-1.0-1.noarch.gzip.rpm'],
  ])('opens a %s payload made by rpmbuild and yields its files', async (_c, f) => {
    const bytes = read(f);
    expect(rpmHandler.sniff(bytes.subarray(0, 512), f)).toBe(true);
    const r = await members(rpmHandler, bytes);
    expect(r.error).toBeUndefined();
    expect(r.members.map((m) => m.path)).toEqual(['usr/share/shelflife/pkg.crt']);
    expect(Buffer.from(r.members[0].bytes!).toString('latin1')).toMatch(/^-----BEGIN CERTIFICATE-----/);
  });

  it('scans the payload members and the header signature of a signed package together', async () => {
    const path = join(PKG, 'shelflife-fixture-1.0-1.noarch.eddsa.rpm');
    const result = await scanPaths(path);
    const uri = pathToFileURL(path).href;
    expect(summary(findingsUnder(result, uri).findings)).toEqual(['certificate x509 RSA-2048/SHA-256', 'signature rpm Ed25519/SHA-256']);
    expect(result.artifacts.find((a) => a.uri === uri)!.annotations).toMatchObject({ 'rpm.signed': 'true', 'rpm.payloadCompressor': 'zstd' });
  });

  it('reports a truncated package as truncated', async () => {
    const r = await members(rpmHandler, read('truncated.rpm'));
    expect(r.members).toEqual([]);
    expect((r.error as { code?: string }).code).toBe('truncated');
    expect(r.error?.message).toMatch(/signature header at offset 96 is truncated/);
  });

  it('says which payload compressor it cannot open', async () => {
    const bytes = read('shelflife-fixture-1.0-1.noarch.gzip.rpm');
    const { payloadOffset } = parseRpmHeaders(bytes);
    const bz = new Uint8Array(bytes.subarray(0, payloadOffset + 64));
    bz.set(Buffer.from('BZh91AY&SY'), payloadOffset);
    const r = await members(rpmHandler, bz);
    expect((r.error as { code?: string }).code).toBe('unsupported');
    expect(r.error?.message).toMatch(/is bzip2-compressed, which is not supported/);
  });

  it("opens rpm's SHA-256-checked xz payloads (re-framed for the decoder), and names a corrupt payload as corrupt", async () => {
    const xz = await members(rpmHandler, read('shelflife-fixture-1.0-1.noarch.xz-rsa.rpm'));
    expect(xz.error).toBeUndefined();
    expect(xz.members.map((m) => m.path)).toEqual(['usr/share/shelflife/pkg.crt']);
    const bytes = read('shelflife-fixture-1.0-1.noarch.gzip.rpm');
    const { payloadOffset } = parseRpmHeaders(bytes);
    const bad = new Uint8Array(bytes);
    bad.fill(0xff, payloadOffset + 12, payloadOffset + 40);
    const r = await members(rpmHandler, bad);
    expect(r.error?.message).toMatch(/RPM payload at offset \d+ \(gzip\) is corrupt: /);
  });

  it('treats a header-only package as having no members', async () => {
    const bytes = read('shelflife-fixture-1.0-1.noarch.gzip.rpm');
    const { payloadOffset } = parseRpmHeaders(bytes);
    const r = await members(rpmHandler, bytes.subarray(0, payloadOffset));
    expect(r).toEqual({ members: [], error: undefined });
  });
});
