import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { describe, expect, it } from 'vitest';
import { arHandler } from '../../src/containers/ar.js';
import { FIXTURES, findingsUnder, scanPaths, summary } from '../helpers/scan.js';
import { members } from './_collect.js';

const PKG = join(FIXTURES, 'packages');
const hdr = (name: string, size: number) =>
  Buffer.from(`${name.padEnd(16)}${'0'.padEnd(12)}${'0'.padEnd(6)}${'0'.padEnd(6)}${'100644'.padEnd(8)}${String(size).padEnd(10)}\`\n`);
const member = (name: string, data: Buffer) => Buffer.concat([hdr(name, data.length), data, data.length % 2 ? Buffer.from('\n') : Buffer.alloc(0)]);
const ar = (...parts: Buffer[]) => new Uint8Array(Buffer.concat([Buffer.from('!<arch>\n'), ...parts]));

describe('ar container', () => {
  it('sniffs a .deb made by dpkg-deb and lists its members in order', async () => {
    const bytes = new Uint8Array(readFileSync(join(PKG, 'shelflife-fixture_1.0_all.deb')));
    expect(arHandler.sniff(bytes.subarray(0, 512), 'x.deb')).toBe(true);
    const r = await members(arHandler, bytes);
    expect(r.error).toBeUndefined();
    expect(r.members.map((m) => m.path)).toEqual(['debian-binary', 'control.tar.xz', 'data.tar.xz']);
    expect(Buffer.from(r.members[0].bytes!).toString()).toBe('2.0\n');
  });

  it('opens the data.tar.xz through the engine and finds the certificate inside', async () => {
    const path = join(PKG, 'shelflife-fixture_1.0_all.deb');
    const result = await scanPaths(path);
    const uri = pathToFileURL(path).href;
    expect(result.artifacts.map((a) => a.uri)).toContain(`${uri}!/data.tar.xz!/./usr/share/shelflife/pkg.crt`);
    expect(summary(findingsUnder(result, uri).findings)).toEqual(['certificate x509 RSA-2048/SHA-256']);
  });

  it('reports a debsig _gpgorigin member as an OpenPGP signature with its Debian role', async () => {
    const path = join(PKG, 'shelflife-fixture_1.0_all.debsig.deb');
    const result = await scanPaths(path);
    const gpg = result.artifacts.find((a) => a.uri.endsWith('!/_gpgorigin'))!;
    expect(summary(gpg.findings)).toEqual(['signature openpgp Ed25519/SHA-256']);
    expect(gpg.findings[0].details).toMatchObject({ debian: 'debsig' });
  });

  it('reads GNU long names (// table) and BSD #1/len names, and skips symbol tables', async () => {
    const names = Buffer.from('a-rather-long-member-name.pem/\n');
    const r = await members(
      arHandler,
      ar(
        member('/', Buffer.from('symtab')),
        member('//', names),
        member('/0', Buffer.from('one')),
        member('#1/8', Buffer.from('bsd.name' + 'two')),
        member('short.txt/', Buffer.from('x')),
      ),
    );
    expect(r.error).toBeUndefined();
    expect(r.members.map((m) => [m.path, Buffer.from(m.bytes!).toString()])).toEqual([
      ['a-rather-long-member-name.pem', 'one'],
      ['bsd.name', 'two'],
      ['short.txt', 'x'],
    ]);
  });

  it('flags ../ member names as path traversal (recorded, content still scanned)', async () => {
    const r = await members(arHandler, new Uint8Array(readFileSync(join(PKG, 'traversal.a'))));
    expect(r.members.map((m) => [m.path, m.problem])).toEqual([
      ['../evil.pem', 'path-traversal'],
      ['ok.txt', undefined],
    ]);
  });

  it('rejects truncated members, bad sizes and bad terminators with a clear error', async () => {
    const good = ar(member('a.txt/', Buffer.from('hello world')));
    const cut = await members(arHandler, good.subarray(0, good.length - 4));
    expect(cut.error?.message).toMatch(/truncated/);
    expect((cut.error as { code?: string }).code).toBe('truncated');
    const badSize = Buffer.from(ar(member('a.txt/', Buffer.from('hi'))));
    badSize.write('-1        ', 8 + 48, 'latin1');
    expect((await members(arHandler, new Uint8Array(badSize))).error?.message).toMatch(/bad ar member size/);
    const badTerm = Buffer.from(ar(member('a.txt/', Buffer.from('hi'))));
    badTerm[8 + 58] = 0x41;
    expect((await members(arHandler, new Uint8Array(badTerm))).error?.message).toMatch(/no "`\\n" terminator/);
    expect((await members(arHandler, ar(member('/99', Buffer.from('x'))))).error?.message).toMatch(/without a name table/);
  });

  it('does not claim non-ar bytes', () => {
    expect(arHandler.sniff(new Uint8Array(Buffer.from('!<arch>\nnot a header at all, no terminator'.padEnd(100))), 'x')).toBe(false);
    expect(arHandler.sniff(new Uint8Array(512), 'x.deb')).toBe(false);
  });
});
