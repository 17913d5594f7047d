/**
 * The one way a test says it needs something from outside the repository: a program (openssl, gpg, a Debian tool),
 * a server the global setup could not start (registry, moto, rsyslog, PostgreSQL), or the network. `npm test` must
 * pass on a machine that has nothing but Node, and a green CI must never hide a check that did not run. So:
 *   - in CI (`CI` set, as .ci/run and every CI service do), a missing prerequisite FAILS the test: CI installs
 *     everything in .ci/apt-packages.txt;
 *   - elsewhere the test is left out (skipped) with a loud "NOT RUN" line naming the check and what is missing.
 * Use `requirePrerequisite(ctx, reason)` inside one test, or `requirePrerequisiteForAll(reason)` in a `describe` (or
 * at the top of a file) for every test in it; a `beforeAll` that needs the prerequisite returns early when `reason` is
 * set. `reason` is false/undefined when everything is there. Never `describe.runIf`/`skipIf` on a prerequisite: those
 * skip silently in CI too.
 * @module
 */
import { spawnSync } from 'node:child_process';
import { accessSync, constants, statSync } from 'node:fs';
import { delimiter, join } from 'node:path';
import { beforeEach, type TestContext } from 'vitest';

/** A CI run: `CI` is set to anything but an empty string, `0` or `false`. */
export function inCI(): boolean {
  const v = (process.env.CI ?? '').trim().toLowerCase();
  return v !== '' && v !== '0' && v !== 'false';
}

/** The Debian package that provides a program, for the hint in the NOT RUN line (.ci/apt-packages.txt lists them). */
const DEBIAN_PACKAGE: Record<string, string> = {
  openssl: 'openssl',
  gpg: 'gnupg',
  gpgconf: 'gnupg',
  gpgv: 'gpgv',
  sq: 'sq',
  'ssh-keygen': 'openssh-client',
  xz: 'xz-utils',
  gcab: 'gcab',
  'jcat-tool': 'jcat',
  dtc: 'device-tree-compiler',
  apksigner: 'apksigner',
  chromium: 'chromium',
  'dpkg-deb': 'dpkg',
  'apt-get': 'apt',
  'apt-cache': 'apt',
  python3: 'python3',
  rsyslogd: 'rsyslog',
  'docker-registry': 'docker-registry',
  htpasswd: 'apache2-utils',
};

/** Where `name` is on PATH (an executable regular file), searched in-process: no shell, no `which`. */
export function findProgram(name: string): string | undefined {
  for (const dir of (process.env.PATH ?? '').split(delimiter)) {
    if (!dir) continue;
    const p = join(dir, name);
    try {
      if (!statSync(p).isFile()) continue;
      accessSync(p, constants.X_OK);
      return p;
    } catch {
      // not in this directory: look in the next one
    }
  }
  return undefined;
}

/** The programs of `names` that are not on PATH. */
export function missingPrograms(...names: string[]): string[] {
  return names.filter((n) => !findProgram(n));
}

/**
 * A reason naming `check` and the programs it lacks (with the Debian packages that provide them), or false when all
 * are on PATH: `needPrograms('cross-check with openssl', 'openssl')`.
 */
export function needPrograms(check: string, ...names: string[]): string | false {
  const missing = missingPrograms(...names);
  if (!missing.length) return false;
  const pkgs = [...new Set(missing.map((m) => DEBIAN_PACKAGE[m] ?? m))];
  return `${check}: ${missing.join(', ')} not installed (apt-get install ${pkgs.join(' ')})`;
}

const announced = new Set<string>();

/** Fail (in CI) or leave this test out, loudly (elsewhere), when `missing` names a missing prerequisite. */
export function requirePrerequisite(ctx: Pick<TestContext, 'skip'>, missing: string | undefined | false | null): void {
  if (!missing) return;
  if (inCI()) throw new Error(`prerequisite missing in CI: ${missing} (.ci/run installs it; this check must run)`);
  if (!announced.has(missing)) {
    announced.add(missing);
    console.warn(`\n*** NOT RUN (outside CI only): ${missing} ***\n`);
  }
  ctx.skip(missing);
}

/** `requirePrerequisite` for every test of the enclosing `describe` (or of the file, at top level). */
export function requirePrerequisiteForAll(missing: string | undefined | false | null): void {
  beforeEach((ctx) => requirePrerequisite(ctx, missing));
}

/**
 * `apt-get download` of `packages` into `dir`, for the real-world checks on Debian's own signed files. Returns why it
 * could not (no apt-get, no dpkg-deb, the archive unreachable) or false. Short network timeouts and no retries: a
 * machine without the archive learns it in seconds, not after apt's minutes of retrying.
 */
export function aptDownload(check: string, packages: string[], dir: string): string | false {
  const missing = needPrograms(check, 'apt-get', 'dpkg-deb');
  if (missing) return missing;
  const fast = ['-o', 'Acquire::http::Timeout=10', '-o', 'Acquire::https::Timeout=10', '-o', 'Acquire::Retries=0'];
  const r = spawnSync('apt-get', ['download', '-q', ...fast, ...packages], { cwd: dir, encoding: 'utf8', timeout: 120_000 });
  if (r.status === 0) return false;
  const why =
    r.error?.message ??
    String(r.stderr ?? '')
      .trim()
      .split('\n')
      .pop() ??
    `exit ${r.status}`;
  return `${check}: apt-get download ${packages.join(' ')} failed (${why}): the Debian archive is needed`;
}
