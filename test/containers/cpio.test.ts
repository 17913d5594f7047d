import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { describe, expect, it } from 'vitest';
import { cpioHandler, cpioMembers } from '../../src/containers/cpio.js';
import { ExpansionBudget } from '../../src/containers/types.js';
import { FIXTURES, findingsUnder, scanPaths, summary } from '../helpers/scan.js';
import { members } from './_collect.js';

const PKG = join(FIXTURES, 'packages');
const read = (f: string) => new Uint8Array(readFileSync(join(PKG, f)));

function newc(name: string, data: Buffer, mode = 0o100644, size = data.length): Buffer {
  const n = Buffer.from(`${name}\0`);
  const fields = [1, mode, 0, 0, 1, 0, size, 0, 0, 0, 0, n.length, 0].map((v) => v.toString(16).toUpperCase().padStart(8, '0')).join('');
  const head = Buffer.concat([Buffer.from(`070701${fields}`), n]);
  const pad = (b: Buffer) => Buffer.concat([b, Buffer.alloc((4 - (b.length % 4)) % 4)]);
  return Buffer.concat([pad(head), pad(data)]);
}
const trailer = newc('TRAILER!!!', Buffer.alloc(0), 0);

describe('cpio container', () => {
  it.each(['newc.cpio', 'crc.cpio', 'odc.cpio'])('reads %s written by GNU cpio', async (f) => {
    const bytes = read(f);
    expect(cpioHandler.sniff(bytes.subarray(0, 512), f)).toBe(true);
    const r = await members(cpioHandler, bytes);
    expect(r.error).toBeUndefined();
    const paths = r.members.map((m) => m.path);
    expect(paths).toContain('etc/pkg.crt');
    const crt = r.members.find((m) => m.path === 'etc/pkg.crt')!;
    expect(Buffer.from(crt.bytes!).toString('latin1')).toMatch(/^-----BEGIN CERTIFICATE-----/);
  });

  it('scans members through the engine (directories are skipped, files found)', async () => {
    const path = join(PKG, 'newc.cpio');
    const result = await scanPaths(path);
    const uri = pathToFileURL(path).href;
    expect(result.artifacts.map((a) => a.uri).sort()).toEqual([uri, `${uri}!/etc/pkg.crt`, `${uri}!/etc/readme`]);
    expect(summary(findingsUnder(result, uri).findings)).toEqual(['certificate x509 RSA-2048/SHA-256']);
  });

  it('records ../ names as path traversal', async () => {
    const r = await members(cpioHandler, read('traversal.cpio'));
    expect(r.members.map((m) => [m.path, m.problem])).toEqual([['../../etc/evil.crt', 'path-traversal']]);
  });

  it('stops a gzip cpio bomb at the ratio limit', async () => {
    const path = join(PKG, 'bomb.cpio.gz');
    const { errors } = findingsUnder(await scanPaths(path), pathToFileURL(path).href);
    expect(errors.map((e) => e.code)).toContain('limit-ratio');
  });

  it('charges every member to the expansion budget', async () => {
    const bytes = new Uint8Array(Buffer.concat([newc('a', Buffer.from('aaaa')), newc('b', Buffer.from('bbbb')), trailer]));
    const r = await members(cpioHandler, bytes, new ExpansionBudget(1 << 20, 1));
    expect(r.members.map((m) => m.path)).toEqual(['a']);
    expect(r.error?.message).toMatch(/more than 1 members/);
  });

  it('errors clearly on truncation, a missing trailer, bad magic and hostile name sizes', async () => {
    const full = Buffer.concat([newc('a.txt', Buffer.from('hello')), trailer]);
    expect((await members(cpioHandler, new Uint8Array(full.subarray(0, 120)))).error?.message).toMatch(/truncated/);
    expect((await members(cpioHandler, new Uint8Array(newc('a.txt', Buffer.from('hello'))))).error?.message).toMatch(/without a TRAILER!!! entry/);
    const bad = Buffer.from(full);
    bad.write('070799', 0, 'latin1');
    expect((await members(cpioHandler, new Uint8Array(bad))).error?.message).toMatch(/bad cpio magic "070799"/);
    const huge = Buffer.from(full);
    huge.write('7FFFFFFF', 6 + 88, 'latin1');
    expect((await members(cpioHandler, new Uint8Array(huge))).error?.message).toMatch(/bad cpio name size/);
    const hex = Buffer.from(full);
    hex.write('zzzzzzzz', 6 + 48, 'latin1');
    expect((await members(cpioHandler, new Uint8Array(hex))).error?.message).toMatch(/bad cpio filesize field/);
  });

  it("resolves rpm's stripped 07070X entries through the header, and refuses them elsewhere", async () => {
    const data = Buffer.from('payload!');
    const stripped = Buffer.concat([Buffer.from('07070X00000000'), Buffer.alloc(2), data, trailer]);
    const input = {
      uri: 'file:///t/p',
      name: 'p',
      open: async function* () {
        yield new Uint8Array(stripped);
      },
    };
    const got: string[] = [];
    for await (const m of cpioMembers(input, new ExpansionBudget(), (i) => (i === 0 ? { path: 'usr/bin/tool', size: data.length } : undefined)))
      got.push(`${m.path}=${Buffer.from(m.bytes!).toString()}`);
    expect(got).toEqual(['usr/bin/tool=payload!']);
    expect((await members(cpioHandler, new Uint8Array(stripped))).error?.message).toMatch(/outside an RPM payload/);
  });
});
