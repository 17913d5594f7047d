/**
 * User globs (src/glob.ts): the same answers as picomatch (`dot: true`) on ordinary patterns, refused when their
 * complexity is unbounded, and matched in pattern × subject steps on the patterns that make a backtracking regular
 * expression run for minutes.
 */
import { join } from 'node:path';
import picomatch from 'picomatch';
import { describe, expect, it } from 'vitest';
import { UsageError } from '../src/errors.js';
import { compileGlob, compileGlobs, staticPrefix } from '../src/glob.js';
import { MAX_GLOB_ALTERNATIVES, MAX_GLOB_LENGTH } from '../src/limits.js';
import { bundledRulesDir } from '../src/rules/loader.js';
import { loadLifetimes } from '../src/scoring/rules.js';

const PATTERNS = [
  '*.pem',
  '**/*.pem',
  'etc/ssl/**',
  'etc/**/certs/*.crt',
  '**/node_modules/**',
  '*.{pem,crt,der}',
  '**/*.t{ar,gz,xz}',
  'fw/v{1..3}/*.bin',
  'fw/[a-c]*.bin',
  'fw/[^a-c]*.bin',
  'a?c',
  '**',
  'a/**/b',
  '.git/**',
  '**/.*',
  'file:///srv/fw/**',
  'a\\*b',
  'src/*/x.ts',
];
const SUBJECTS = [
  'x.pem',
  'a/x.pem',
  'etc/ssl/certs/a.pem',
  'etc/ssl',
  'etc/pki/certs/b.crt',
  'etc/pki/tls/certs/b.crt',
  'app/node_modules/x/y.js',
  'node_modules/y.js',
  'k.crt',
  'k.der',
  'k.key',
  'd/r.tar',
  'd/r.tgz',
  'fw/v2/a.bin',
  'fw/v4/a.bin',
  'fw/b1.bin',
  'fw/d1.bin',
  'abc',
  'a/c',
  'a/b',
  'a/x/y/b',
  '.git/config',
  'd/.hidden',
  'file:///srv/fw/a/b.bin',
  'file:///srv/other',
  'a*b',
  'axb',
  'src/m/x.ts',
  'src/m/n/x.ts',
];

describe('compileGlob', () => {
  it('agrees with picomatch (dot: true) on ordinary patterns', () => {
    for (const p of PATTERNS) {
      const ours = compileGlob(p, 'test');
      const theirs = picomatch(p, { dot: true });
      for (const s of SUBJECTS) expect(ours(s), `${p} vs ${s}`).toBe(theirs(s));
    }
  });

  it('agrees with picomatch on the class rules’ globs (a literal each must contain rejects most subjects first)', () => {
    const lifetimes = loadLifetimes(join(bundledRulesDir(), 'lifetimes.yaml'));
    const globs = lifetimes.rules.flatMap((r) => r.paths ?? []);
    expect(globs.length).toBeGreaterThan(20);
    const subjects = [
      ...SUBJECTS,
      'srv/EFI/BOOT/bootx64.efi',
      'boot/efi/shimx64.efi',
      'a/b/U-Boot.bin',
      'models/checkpoint-500/model.safetensors',
      'x/run.ckpt',
      'x/ckpt',
      'lib/firmware/iwlwifi.ucode',
      'lib/firmwarex/a',
      'backups/db.sql.gz',
      'x/sql.gz',
      'r/META-INF/CERT.RSA',
      'r/META-INF/x/CERT.RSA',
      'home/u/.ssh/id_ed25519',
      'home/u/.ssh/id_ed25519.pub',
      'boot/Image.gz',
      'boot/Imagex',
      'data/train/part-0.bin',
      'srv/dist/app.deb',
      'a.deb.sig',
    ];
    for (const g of globs) {
      const ours = compileGlob(g, 'test', { nocase: true });
      const theirs = picomatch(g, { dot: true, nocase: true });
      for (const s of subjects) expect(ours(s), `${g} vs ${s}`).toBe(theirs(s));
    }
  });

  it('supports negation, case folding, basename matching and lists', () => {
    expect(compileGlob('!*.pem', 't')('a.pem')).toBe(false);
    expect(compileGlob('!*.pem', 't')('a.crt')).toBe(true);
    expect(compileGlob('*.PEM', 't', { nocase: true })('a.pem')).toBe(true);
    expect(compileGlob('*.pem', 't', { basename: true })('x/y/a.pem')).toBe(true);
    expect(compileGlob('x/*.pem', 't', { basename: true })('y/x/a.pem')).toBe(false);
    expect(compileGlobs(['*.a', '*.b'], 't')('q.b')).toBe(true);
    expect(compileGlobs([], 't')('q.b')).toBe(false);
    // `[!…]` negates, as in POSIX sh (picomatch reads the `!` as a member of the set).
    expect(compileGlob('fw/[!a-c]*.bin', 't')('fw/b1.bin')).toBe(false);
    expect(compileGlob('fw/[!a-c]*.bin', 't')('fw/d1.bin')).toBe(true);
  });

  it('refuses extglobs, oversized patterns and brace expansions past the limit, naming the flag and the pattern', () => {
    const refused = (p: string) => {
      try {
        compileGlob(p, '--include');
      } catch (e) {
        expect(e).toBeInstanceOf(UsageError);
        return (e as Error).message;
      }
      return undefined;
    };
    expect(refused('@(*a)*(*a)b')).toMatch(/^--include: glob "@\(\*a\)\*\(\*a\)b": extglob "@\(…\)" is not supported/);
    expect(refused('+(a|aa)b')).toMatch(/extglob/);
    expect(refused('x'.repeat(MAX_GLOB_LENGTH + 1))).toMatch(/longer than the limit/);
    expect(refused('{a,b}'.repeat(9))).toMatch(new RegExp(`more than ${MAX_GLOB_ALTERNATIVES} patterns`));
    expect(refused('{1..100000}')).toMatch(/range \{1\.\.100000\} has more than/);
    // Escaped parentheses are literal text.
    expect(refused('a*\\(1\\).txt')).toBeUndefined();
    expect(compileGlob('a*\\(1\\).txt', 't')('ab(1).txt')).toBe(true);
  });

  it('matches the patterns that make backtracking regular expressions run for minutes', () => {
    // picomatch needs ~9 s for five such stars on a 255-character name and grows by the name length per star.
    const stars = compileGlob(`${'*a'.repeat(40)}*b`, 't');
    expect(stars('a'.repeat(4096))).toBe(false);
    expect(stars(`${'a'.repeat(4095)}b`)).toBe(true);
    const globstars = compileGlob(`${'**/a/'.repeat(20)}**/b`, 't');
    expect(globstars(`${'a/'.repeat(2000)}c`)).toBe(false);
    expect(globstars(`${'a/'.repeat(2000)}b`)).toBe(true);
  });

  it('gives the static prefix a walk may prune by', () => {
    expect(staticPrefix('etc/ssl/**/*.pem')).toEqual(['etc', 'ssl']);
    expect(staticPrefix('etc/ssl/x.pem')).toEqual(['etc', 'ssl']);
    expect(staticPrefix('**/*.pem')).toEqual([]);
    expect(staticPrefix('{etc,usr}/x')).toEqual([]);
    expect(staticPrefix('!etc/x')).toEqual([]);
  });
});
