/**
 * The local walk against what a real system holds: symlinks out of the root (Debian's /etc/ssl), FIFOs, pseudo file
 * systems whose sizes lie (/proc), system directories, and globs that would take a backtracking matcher minutes.
 */
import { execFileSync, spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { copyFileSync, existsSync, mkdirSync, mkdtempSync, readdirSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { UsageError } from '../../src/errors.js';
import { PSEUDO_FILE_READ_LIMIT } from '../../src/limits.js';
import type { ScanResult } from '../../src/model.js';
import { scan } from '../../src/scan/scan.js';
import { FsSource, fileUri } from '../../src/sources/fs.js';
import { isProblem, isSkipped } from '../../src/sources/types.js';
import { requirePrerequisite } from '../helpers/prerequisites.js';
import { FIXTURES } from '../helpers/scan.js';

const CERT = join(FIXTURES, 'pki', 'certs');
const BIN = join(import.meta.dirname, '..', '..', 'bin', 'shelflife.js');
const tmp = () => mkdtempSync(join(tmpdir(), 'shelflife-fs-'));

function firstCert(): string {
  const pem = readdirSync(CERT).find((f) => f.endsWith('.pem') || f.endsWith('.crt'));
  if (!pem) throw new Error('no certificate fixture in fixtures/pki');
  return join(CERT, pem);
}

/** A tree shaped like Debian's /etc/ssl/certs: hash links and name links into a store outside the root, one local file. */
function sslLikeTree(): { root: string; store: string; outside: number } {
  const base = tmp();
  const store = join(base, 'usr-share-ca-certificates');
  const root = join(base, 'etc-ssl', 'certs');
  mkdirSync(store, { recursive: true });
  mkdirSync(root, { recursive: true });
  const cert = firstCert();
  for (const n of ['A_Root.crt', 'B_Root.crt', 'C_Root.crt']) copyFileSync(cert, join(store, n));
  let outside = 0;
  for (const n of ['A_Root', 'B_Root', 'C_Root']) {
    symlinkSync(join(store, `${n}.crt`), join(root, `${n}.pem`)); // name link, out of the root
    symlinkSync(`${n}.pem`, join(root, `${n.toLowerCase()}.0`)); // hash link to the name link: resolves out of the root too
    outside += 2;
  }
  copyFileSync(cert, join(root, 'local-ca.pem'));
  symlinkSync('local-ca.pem', join(root, 'deadbeef.0')); // an in-root link: read under its own name
  symlinkSync(join(base, 'nowhere'), join(root, 'dangling.pem'));
  return { root, store, outside };
}

const byUri = (r: ScanResult) => new Map(r.artifacts.map((a) => [a.uri, a]));

describe('fs source: symlinks out of the root', () => {
  it('lists each as a note (skipped), not a path-traversal error, and reads in-root links', async () => {
    const { root, outside } = sslLikeTree();
    const r = await scan({ targets: [root], scoring: false });
    const notes = r.artifacts.filter((a) => a.skipped);
    expect(notes).toHaveLength(outside);
    for (const n of notes) {
      expect(n.skipped).toMatch(/^symlink outside the root \(to .*usr-share-ca-certificates\/[ABC]_Root\.crt\); not followed/);
      expect(n.errors).toEqual([]);
      expect(n.findings).toEqual([]);
    }
    expect(r.artifacts.flatMap((a) => a.errors)).toEqual([]);
    const arts = byUri(r);
    expect(arts.get(fileUri(join(root, 'local-ca.pem')))?.findings.some((f) => f.kind === 'certificate')).toBe(true);
    expect(arts.get(fileUri(join(root, 'deadbeef.0')))?.findings.some((f) => f.kind === 'certificate')).toBe(true);
    expect(arts.has(fileUri(join(root, 'dangling.pem')))).toBe(false);
  });

  it('reads the targets with followSymlinks, under the links’ names', async () => {
    const { root } = sslLikeTree();
    const r = await scan({ targets: [root], scoring: false, sourceOptions: { followSymlinks: true } });
    expect(r.artifacts.filter((a) => a.skipped)).toEqual([]);
    const a = byUri(r).get(fileUri(join(root, 'A_Root.pem')));
    expect(a?.findings.some((f) => f.kind === 'certificate')).toBe(true);
    // Reached through a link out of the root: no local identity, so resign will not write beside it.
    expect(a?.local).toBeUndefined();
    expect(byUri(r).get(fileUri(join(root, 'local-ca.pem')))?.local?.dirId).toMatch(/^\d+:\d+$/);
  });

  it('the CLI takes --follow-symlinks', () => {
    const { root } = sslLikeTree();
    const run = (...flags: string[]) => {
      const r = spawnSync(process.execPath, [BIN, 'scan', root, '--no-db', '--format', 'json', ...flags], { encoding: 'utf8' });
      expect(r.status, r.stderr).toBe(0);
      return (JSON.parse(r.stdout) as ScanResult).artifacts;
    };
    expect(run().filter((a) => a.skipped)).toHaveLength(6);
    expect(run('--follow-symlinks').filter((a) => a.skipped)).toHaveLength(0);
  });

  it('on the real /etc/ssl/certs: no path-traversal error, a note per link into /usr/share', async (t) => {
    requirePrerequisite(t, !existsSync('/etc/ssl/certs') && '/etc/ssl/certs not present (Debian ca-certificates)');
    const r = await scan({ targets: ['/etc/ssl/certs'], scoring: false });
    expect(r.artifacts.filter((a) => a.errors.some((e) => e.code === 'path-traversal'))).toEqual([]);
    const links = readdirSync('/etc/ssl/certs').filter((n) => n.endsWith('.pem') || /\.\d$/.test(n)).length;
    const notes = r.artifacts.filter((a) => a.skipped?.startsWith('symlink outside the root'));
    expect(notes.length).toBeGreaterThan(0);
    expect(notes.length).toBeLessThanOrEqual(links);
  });
});

describe('fs source: files that are not files', () => {
  it('lists a FIFO, a socket and a device as skipped and never opens them', async () => {
    const root = tmp();
    writeFileSync(join(root, 'a.txt'), 'hello');
    execFileSync('mkfifo', [join(root, 'pipe.pem')]);
    symlinkSync('/dev/zero', join(root, 'zero.bin'));
    const r = await scan({ targets: [root], scoring: false, sourceOptions: { followSymlinks: true } });
    const arts = byUri(r);
    expect(arts.get(fileUri(join(root, 'pipe.pem')))?.skipped).toBe('a FIFO; not read');
    expect(arts.get(fileUri(join(root, 'zero.bin')))?.skipped).toBe('symlink to a character device (/dev/zero); not read');
    expect(arts.get(fileUri(join(root, 'a.txt')))?.sha256).toMatch(/^[0-9a-f]{64}$/);
  });

  it('a FIFO named as the target is skipped, not read', async () => {
    const root = tmp();
    execFileSync('mkfifo', [join(root, 'p')]);
    const items = [];
    for await (const x of new FsSource(join(root, 'p')).walk()) items.push(x);
    expect(items).toHaveLength(1);
    expect(isSkipped(items[0]) && items[0].skipped).toBe('a FIFO; not read');
  });

  it('reads a procfs file whose size lies up to the cap and says it stopped there (/proc/self/pagemap)', async (t) => {
    requirePrerequisite(t, !existsSync('/proc/self/pagemap') && '/proc/self/pagemap not present (Linux procfs)');
    const r = await scan({ targets: ['/proc/self/pagemap'], scoring: false });
    expect(r.artifacts).toHaveLength(1);
    const a = r.artifacts[0];
    expect(a.size).toBe(PSEUDO_FILE_READ_LIMIT);
    expect(a.errors).toEqual([expect.objectContaining({ code: 'limit-size', message: expect.stringMatching(/file on proc.*stopped at \d+ bytes/) })]);
    expect(r.scan.stats.bytes).toBe(PSEUDO_FILE_READ_LIMIT);
  });

  it('walks /proc/self when named as the target, every file capped', async (t) => {
    requirePrerequisite(t, !existsSync('/proc/self/status') && '/proc not mounted');
    const r = await scan({ targets: ['/proc/self/net'], scoring: false, concurrency: 2 });
    expect(r.artifacts.length).toBeGreaterThan(3);
    for (const a of r.artifacts) expect(a.size).toBeLessThanOrEqual(PSEUDO_FILE_READ_LIMIT);
  });

  it('does not enter /proc, /sys, /dev or another pseudo file system unless named as the target', async () => {
    const root = tmp();
    symlinkSync('/proc', join(root, 'proc'));
    symlinkSync('/sys', join(root, 'sys'));
    symlinkSync('/dev', join(root, 'dev'));
    writeFileSync(join(root, 'x.txt'), 'x');
    const items: { uri: string; skipped?: string }[] = [];
    for await (const x of new FsSource(root, { followSymlinks: true }).walk()) items.push(isProblem(x) ? { uri: x.uri } : x);
    const skipped = Object.fromEntries(items.filter((i) => i.skipped).map((i) => [i.uri.slice(fileUri(root).length + 1), i.skipped]));
    expect(skipped).toEqual({
      proc: '/proc is a system directory; not entered unless named as the target',
      sys: '/sys is a system directory; not entered unless named as the target',
      dev: '/dev is a system directory; not entered unless named as the target',
    });
    expect(items).toHaveLength(4);
  });
});

describe('fs source: globs', () => {
  it('includes and excludes with globs that a backtracking matcher would take minutes over', async () => {
    const root = tmp();
    mkdirSync(join(root, 'keep'));
    mkdirSync(join(root, 'node_modules', 'x'), { recursive: true });
    const long = 'a'.repeat(200);
    writeFileSync(join(root, 'keep', long), 'x');
    writeFileSync(join(root, 'keep', `${long}b`), 'x');
    writeFileSync(join(root, 'node_modules', 'x', `${long}b`), 'x');
    const r = await scan({ targets: [root], scoring: false, include: [`**/${'*a'.repeat(30)}*b`], exclude: ['node_modules/**'] });
    expect(r.artifacts.map((a) => a.uri)).toEqual([fileUri(join(root, 'keep', `${long}b`))]);
  });

  it('refuses an extglob or an exploding brace pattern before walking, naming the flag', async () => {
    await expect(scan({ targets: [tmp()], scoring: false, include: ['@(*a)*(*a)b'] })).rejects.toThrow(UsageError);
    await expect(scan({ targets: [tmp()], scoring: false, exclude: ['{a,b}{c,d}{e,f}{g,h}{i,j}{k,l}{m,n}{o,p}{q,r}'] })).rejects.toThrow(
      /^--exclude: glob .* braces expand to more than \d+ patterns/,
    );
  });
});

describe('fs source: reading', () => {
  it('reads a file whole on either side of the small-file size (synchronous and streamed reads), one digest each', async () => {
    const dir = tmp();
    const sizes = [0, 1, 64 * 1024 - 1, 64 * 1024, 64 * 1024 + 1, 5 * 1024 * 1024 + 3];
    const expected = new Map<string, string>();
    for (const n of sizes) {
      const bytes = Buffer.alloc(n);
      for (let i = 0; i < n; i++) bytes[i] = (i * 7 + n) & 0xff;
      const f = join(dir, `f${n}.bin`);
      writeFileSync(f, bytes);
      expected.set(fileUri(f), createHash('sha256').update(bytes).digest('hex'));
    }
    const r = await scan({ targets: [dir], scoring: false });
    expect(r.artifacts).toHaveLength(sizes.length);
    for (const a of r.artifacts) {
      expect(a.errors, a.uri).toEqual([]);
      expect(a.sha256, a.uri).toBe(expected.get(a.uri));
    }
    expect(r.scan.stats.bytes).toBe(sizes.reduce((x, y) => x + y, 0));
  });

  it('does not follow a symlink swapped in for a small file after the walk listed it', async () => {
    const dir = tmp();
    const f = join(dir, 'a.pem');
    copyFileSync(firstCert(), f);
    const src = new FsSource(dir, {});
    for await (const item of src.walk()) {
      if (isProblem(item) || isSkipped(item)) continue;
      rmSync(f);
      symlinkSync(firstCert(), f);
      await expect(
        (async () => {
          for await (const chunk of item.open!()) void chunk;
        })(),
      ).rejects.toThrow(/ELOOP|symbolic link/);
    }
  });
});
