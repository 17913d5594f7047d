/**
 * Global setup: build dist/ once so the CLI tests run the real binary (bin/shelflife.js → dist/cli/, the bundle, with
 * dist/rules.compiled.json), exactly what `npm ci` (prepare → tools/build.mjs) gives a user. Type errors do not stop
 * the emit (CI checks types in its own step), so a type error shows here as a warning and the tests still run against
 * what was emitted; the steps after tsc (compiled rules, bundle) must succeed.
 */
import { execFileSync } from 'node:child_process';
import { join } from 'node:path';

export default function setup(): void {
  const root = join(import.meta.dirname, '..', '..');
  try {
    execFileSync(process.execPath, [join(root, 'node_modules', 'typescript', 'bin', 'tsc'), '-p', join(root, 'tsconfig.build.json')], {
      cwd: root,
      stdio: ['ignore', 'pipe', 'pipe'],
    });
  } catch (e) {
    const out = String((e as { stdout?: Buffer }).stdout ?? '');
    process.stderr.write(`\n[shelflife test setup] WARNING: tsc reported type errors while building dist/:\n${out.slice(0, 4000)}\n`);
  }
  execFileSync(process.execPath, [join(root, 'tools', 'build.mjs'), '--skip-tsc'], { cwd: root, stdio: ['ignore', 'inherit', 'inherit'] });
}
