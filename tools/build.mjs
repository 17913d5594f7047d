#!/usr/bin/env node
/**
 * `npm run build`: everything a user's `npm ci` (prepare) and the test setup need, in three steps.
 *
 *   1. tsc → dist/src/ (the library: `exports`, typings);
 *   2. the bundled rules (rules/**.yaml) parsed and validated by the runtime's own loaders and schemas, written as
 *      one data module, dist/rules.compiled.json (src/rules/loader.ts uses an entry only while the YAML it came from is
 *      unchanged; YAML stays the source and the format of user rules);
 *   3. the CLI bundled by esbuild into dist/cli/ (bin/shelflife.js loads it): one file for what every command needs,
 *      one chunk per lazily imported command or store, so a start-up reads a handful of files instead of ~150 modules.
 *
 *   node tools/build.mjs [--skip-tsc]   (--skip-tsc: step 1 was run by the caller, e.g. the test setup)
 */
import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { mkdirSync, readdirSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { join, relative, sep } from 'node:path';
import { pathToFileURL } from 'node:url';

const ROOT = join(import.meta.dirname, '..');
const DIST = join(ROOT, 'dist');

/**
 * Packages left to Node's resolver: native code, packages loaded through createRequire, the large lazily used SDKs, and
 * BullMQ (it reads its PostgreSQL command files and Lua scripts from its own directory) with its Redis client.
 */
const EXTERNAL = ['better-sqlite3', 'pg', '@aws-sdk/*', '@smithy/*', '@sigstore/*', 'xz-decompress', 'bullmq', 'ioredis'];

function runTsc() {
  execFileSync(process.execPath, [join(ROOT, 'node_modules', 'typescript', 'bin', 'tsc'), '-p', join(ROOT, 'tsconfig.build.json')], {
    cwd: ROOT,
    stdio: 'inherit',
  });
}

/** Which runtime loader validates each bundled rules file: every file under rules/ must have one. */
async function loaders() {
  const load = (p) => import(pathToFileURL(join(DIST, 'src', p)).href);
  const { loadCatalogue } = await load('catalogue/index.js');
  const { loadLifetimes, loadTimelines, loadPolicy } = await load('scoring/rules.js');
  return [
    [/^algorithms\.yaml$/, (f) => loadCatalogue(f).data],
    [/^lifetimes\.yaml$/, loadLifetimes],
    [/^timelines\.yaml$/, loadTimelines],
    [/^policies\/[^/]+\.ya?ml$/, loadPolicy],
  ];
}

function walk(dir) {
  return readdirSync(dir, { withFileTypes: true }).flatMap((e) => (e.isDirectory() ? walk(join(dir, e.name)) : [join(dir, e.name)]));
}

async function compileRules() {
  const out = join(DIST, 'rules.compiled.json');
  // The loaders below must parse the YAML, not read back a previous build's output.
  rmSync(out, { force: true });
  const rulesDir = join(ROOT, 'rules');
  const table = await loaders();
  const files = {};
  for (const file of walk(rulesDir).sort()) {
    const rel = relative(rulesDir, file).split(sep).join('/');
    const hit = table.find(([re]) => re.test(rel));
    if (!hit) throw new Error(`rules/${rel}: no loader validates this file; add it to tools/build.mjs`);
    const data = hit[1](file);
    files[rel] = { sha256: createHash('sha256').update(readFileSync(file, 'utf8')).digest('hex'), data };
  }
  const tmp = `${out}.${process.pid}.tmp`;
  writeFileSync(tmp, JSON.stringify({ format: 1, files }));
  renameSync(tmp, out);
}

async function bundleCli() {
  const { build } = await import('esbuild');
  const outdir = join(DIST, 'cli');
  rmSync(outdir, { recursive: true, force: true });
  mkdirSync(outdir, { recursive: true });
  const result = await build({
    absWorkingDir: ROOT,
    // The resign pool starts `./sign-worker.js` and the scan's detection pool `./detect-worker.js` beside their own code:
    // each lands at the top of dist/cli/, as their chunks do.
    entryPoints: { main: 'src/cli/main.ts', 'sign-worker': 'src/resign/sign-worker.ts', 'detect-worker': 'src/scan/detect-worker.ts' },
    outdir,
    entryNames: '[name]',
    chunkNames: '[name]-[hash]',
    bundle: true,
    splitting: true,
    format: 'esm',
    platform: 'node',
    target: 'node20',
    external: EXTERNAL,
    // SHELFLIFE_BUILD_READABLE=1: names kept in full, for CPU profiles of the CLI.
    minify: !process.env.SHELFLIFE_BUILD_READABLE,
    // Error classes and commands are told apart by name in places (and stack traces stay readable).
    keepNames: true,
    legalComments: 'linked',
    logLevel: 'warning',
    write: false,
    metafile: true,
  });
  // Bundled CommonJS packages (commander, undici) require() Node's built-in modules: the chunk holding esbuild's require shim gets a
  // `require` (made there only: one per chunk would cost a start-up ~0.5 ms each).
  // What went into each chunk, for start-up work (which modules a command loads): esbuild's metafile.
  writeFileSync(join(DIST, 'cli-meta.json'), JSON.stringify(result.metafile));
  for (const f of result.outputFiles) {
    const text = f.path.endsWith('.js') && f.text.includes('Dynamic require of') ? `${REQUIRE_BANNER}\n${f.text}` : f.text;
    writeFileSync(f.path, text);
  }
}

const REQUIRE_BANNER = "import { createRequire as __shelflifeCreateRequire } from 'node:module'; const require = __shelflifeCreateRequire(import.meta.url);";

const skipTsc = process.argv.includes('--skip-tsc');
if (!skipTsc) runTsc();
await compileRules();
await bundleCli();
