/**
 * What a plain scan loads (issue 17, start-up): the validators (zod, yaml) are for rules and config files, and a scan
 * of one certificate with the bundled rules parses none, so neither may be loaded, bundled into a chunk or required at
 * run time. Checked on the built CLI (the test setup builds dist/), with Node's own module hooks: the ESM chunks it
 * imports, mapped to their inputs through esbuild's metafile (dist/cli-meta.json), and every CommonJS `require`.
 * Not a timing test: bench/startup.ts measures the time.
 */
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { describe, expect, it } from 'vitest';

const ROOT = join(import.meta.dirname, '..', '..');
const BIN = join(ROOT, 'bin', 'shelflife.js');
const CERT = join(ROOT, 'fixtures', 'pki', 'certs', 'ec-P-256.pem');

/** The modules one command loads: bundled inputs of the chunks it imports, and the packages it requires. */
function loadedModules(args: string[]): { inputs: Set<string>; required: Set<string> } {
  const dir = mkdtempSync(join(tmpdir(), 'shelflife-startup-'));
  const log = join(dir, 'loaded.txt');
  writeFileSync(
    join(dir, 'hooks.mjs'),
    `import { appendFileSync } from 'node:fs';
export async function load(url, context, next) {
  if (url.startsWith('file:')) appendFileSync(${JSON.stringify(log)}, 'esm ' + url + '\\n');
  return next(url, context);
}`,
  );
  writeFileSync(
    join(dir, 'register.mjs'),
    `import { register } from 'node:module';\nregister(${JSON.stringify(pathToFileURL(join(dir, 'hooks.mjs')).href)});\n`,
  );
  writeFileSync(
    join(dir, 'require.cjs'),
    `const Module = require('node:module');
const { appendFileSync } = require('node:fs');
const load = Module._load;
Module._load = function (request, ...rest) {
  appendFileSync(${JSON.stringify(log)}, 'cjs ' + request + '\\n');
  return load.call(this, request, ...rest);
};`,
  );
  const r = spawnSync(process.execPath, ['--require', join(dir, 'require.cjs'), '--import', join(dir, 'register.mjs'), BIN, ...args], { encoding: 'utf8' });
  expect(r.status, r.stderr).toBe(0);
  const meta = JSON.parse(readFileSync(join(ROOT, 'dist', 'cli-meta.json'), 'utf8')) as { outputs: Record<string, { inputs: Record<string, unknown> }> };
  const inputs = new Set<string>();
  const required = new Set<string>();
  for (const line of readFileSync(log, 'utf8').trim().split('\n')) {
    const [kind, what] = [line.slice(0, 3), line.slice(4)];
    if (kind === 'cjs') required.add(what);
    const at = what.indexOf('/dist/cli/');
    if (kind === 'esm' && at >= 0) for (const i of Object.keys(meta.outputs[`dist/cli/${what.slice(at + '/dist/cli/'.length)}`]?.inputs ?? {})) inputs.add(i);
  }
  return { inputs, required };
}

describe('start-up: what a one-file scan loads', () => {
  it('loads no rules or config validator (zod, yaml), bundled or required', () => {
    const { inputs, required } = loadedModules(['scan', CERT, '--no-db', '--quiet', '--format', 'json', '-o', '/dev/null']);
    // The hooks saw the scan: the detectors and the scan engine were loaded.
    expect([...inputs].some((i) => i.startsWith('src/detectors/'))).toBe(true);
    expect([...inputs].some((i) => i.startsWith('src/scan/'))).toBe(true);
    expect([...inputs].filter((i) => /node_modules\/(zod|yaml)\//.test(i))).toEqual([]);
    expect([...required].filter((r) => r === 'zod' || r === 'yaml')).toEqual([]);
  });

  it('a --trust file is still read and validated (zod loaded on demand)', () => {
    const dir = mkdtempSync(join(tmpdir(), 'shelflife-trust-'));
    writeFileSync(join(dir, 'trust.yaml'), 'keys: []\nunknown: 1\n');
    const r = spawnSync(process.execPath, [BIN, 'scan', CERT, '--no-db', '--quiet', '--trust', join(dir, 'trust.yaml')], { encoding: 'utf8' });
    expect(r.status).not.toBe(0);
    expect(r.stderr).toMatch(/trust\.yaml/);
    expect(r.stderr).toMatch(/unknown/i);
  });
});
