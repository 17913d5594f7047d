/**
 * bench/image: `shelflife scan oci://… --layers` of a ~1 GB container image (3 gzip layers, tens of thousands of
 * members) in a real registry (Debian's docker-registry, started as test/setup/registry.ts starts it), against
 * `gzip -dc` of the same three layers in the same run. Targets (issue 17): scan wall time ≤ 2× `gzip -dc`, peak RSS
 * < 300 MB.
 *
 *   npm run build && npx tsx bench/image.ts [--runs 3] [--cpu-prof] [--heap-prof] [--budget-mib 1100]
 *
 * The layers are made once from files on this machine (system libraries, a JDK under /usr/lib/jvm when there is one,
 * /etc and /usr/share: regular files only, sorted, up to a byte budget per layer) with `tar` and `gzip -6`, and cached
 * under /tmp/shelflife-bench-image/ (outside the repository). Each run times `gzip -dc` of the layers, then the scan
 * (the built CLI, JSON report to a file, no inventory), interleaved, with /usr/bin/time for wall time, CPU and peak
 * RSS. Printed: medians and spread over the runs, the time ratio, peak RSS, and the load average (the machine is
 * shared). `--cpu-prof` / `--heap-prof` run the scan once more under Node's profilers (written to the cache dir).
 */
import { spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { closeSync, existsSync, lstatSync, mkdirSync, openSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { loadavg } from 'node:os';
import { join, relative } from 'node:path';
import { RegistryClient } from '../src/oci/registry.js';
import { MEDIA } from '../src/oci/reference.js';
import { freePort, startRegistry, waitReady } from '../test/setup/registry.js';

const ROOT = join(import.meta.dirname, '..');
const BIN = join(ROOT, 'bin', 'shelflife.js');
const arg = (name: string, dflt: number) => {
  const i = process.argv.indexOf(`--${name}`);
  return i > 0 ? Number(process.argv[i + 1]) : dflt;
};
const flag = (name: string) => process.argv.includes(`--${name}`);
const RUNS = arg('runs', 3);
const BUDGET = arg('budget-mib', 1100) * 1024 * 1024;
const CACHE = '/tmp/shelflife-bench-image';

/** The three layers: where their files come from, and each one's share of the byte budget. */
const LAYERS: { name: string; roots: string[]; share: number }[] = [
  { name: 'libs', roots: ['/usr/lib/x86_64-linux-gnu', '/usr/lib/aarch64-linux-gnu', '/usr/lib64'], share: 0.4 },
  { name: 'jdk', roots: ['/usr/lib/jvm', '/usr/lib/python3', '/usr/lib/node_modules'], share: 0.3 },
  { name: 'share', roots: ['/etc', '/usr/share'], share: 0.3 },
];

/** Regular, readable files under the roots, sorted, until `budget` bytes (paths relative to /). */
function listFiles(roots: string[], budget: number): { files: string[]; bytes: number } {
  const files: string[] = [];
  let bytes = 0;
  const walk = (dir: string): boolean => {
    let names: string[];
    try {
      names = readdirSync(dir).sort();
    } catch {
      return true; // unreadable directory: left out of the layer
    }
    for (const n of names) {
      const p = join(dir, n);
      const st = lstatSync(p, { throwIfNoEntry: false });
      if (!st) continue;
      if (st.isDirectory()) {
        if (!walk(p)) return false;
      } else if (st.isFile()) {
        if (bytes + st.size > budget) continue; // too big for what is left: smaller files may still fit
        try {
          closeSync(openSync(p, 'r'));
        } catch {
          continue;
        }
        files.push(relative('/', p));
        bytes += st.size;
      }
    }
    return bytes < budget - 1024 * 1024;
  };
  for (const r of roots) if (existsSync(r) && !walk(r)) break;
  return { files, bytes };
}

interface Layer {
  path: string;
  members: number;
  tarBytes: number;
}

function buildLayers(): Layer[] {
  mkdirSync(CACHE, { recursive: true });
  const key = `v2-b${Math.round(BUDGET / 1024 / 1024)}`;
  return LAYERS.map((l) => {
    const path = join(CACHE, `${key}-${l.name}.tar.gz`);
    const meta = `${path}.json`;
    if (existsSync(meta) && existsSync(path)) return { path, ...(JSON.parse(readFileSync(meta, 'utf8')) as Omit<Layer, 'path'>) };
    const { files, bytes } = listFiles(l.roots, BUDGET * l.share);
    const list = join(CACHE, `${key}-${l.name}.list`);
    writeFileSync(list, files.map((f) => `${f}\0`).join(''));
    console.log(`building layer ${l.name}: ${files.length} files, ${(bytes / 1e6).toFixed(0)} MB …`);
    const r = spawnSync(
      'bash',
      ['-c', `set -o pipefail; tar -C / -cf - --no-recursion --null --ignore-failed-read -T "$1" | gzip -6 -n > "$2"`, 'bash', list, path],
      {
        stdio: ['ignore', 'ignore', 'inherit'],
      },
    );
    if (r.status !== 0) throw new Error(`building ${path} failed (${r.status})`);
    const layer = {
      members: files.length,
      tarBytes: Number(spawnSync('bash', ['-c', 'gzip -dc "$1" | wc -c', 'bash', path], { encoding: 'utf8' }).stdout.trim()),
    };
    writeFileSync(meta, JSON.stringify(layer));
    return { path, ...layer };
  });
}

/** Push the layers as one image; returns its oci:// reference. */
async function pushLayers(host: string, layers: Layer[]): Promise<string> {
  const c = new RegistryClient(host);
  const descriptors = [];
  for (const l of layers) {
    const bytes = readFileSync(l.path);
    const digest = await c.pushBlob('bench/image', bytes);
    descriptors.push({ mediaType: 'application/vnd.oci.image.layer.v1.tar+gzip', digest, size: bytes.length });
  }
  const config = Buffer.from(JSON.stringify({ architecture: 'amd64', os: 'linux', rootfs: { type: 'layers', diff_ids: [] } }));
  const cfg = { mediaType: 'application/vnd.oci.image.config.v1+json', digest: await c.pushBlob('bench/image', config), size: config.length };
  const manifest = Buffer.from(JSON.stringify({ schemaVersion: 2, mediaType: MEDIA.ociManifest, config: cfg, layers: descriptors }));
  await c.pushManifest('bench/image', 'v1', manifest, MEDIA.ociManifest);
  return `oci://${host}/bench/image:v1`;
}

interface Timed {
  wall: number;
  cpu: number;
  rssMiB: number;
}

/** Run a command under /usr/bin/time: wall seconds, user+system CPU seconds, peak RSS. */
function timed(cmd: string, args: string[], stdout: 'ignore' | number = 'ignore'): Timed {
  const out = join(CACHE, `time-${process.pid}`);
  const r = spawnSync('/usr/bin/time', ['-f', '%e %U %S %M', '-o', out, cmd, ...args], { stdio: ['ignore', stdout, 'inherit'] });
  if (r.status !== 0) throw new Error(`${cmd} ${args.join(' ')} failed (${r.status})`);
  const [e, u, s, m] = readFileSync(out, 'utf8').trim().split('\n').pop()!.split(' ').map(Number);
  rmSync(out, { force: true });
  return { wall: e, cpu: u + s, rssMiB: m / 1024 };
}

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
const spread = (xs: number[], d = 2) => `${Math.min(...xs).toFixed(d)}–${Math.max(...xs).toFixed(d)}`;

async function main(): Promise<void> {
  if (!existsSync(join(ROOT, 'dist', 'cli', 'main.js'))) throw new Error('run `npm run build` first');
  const layers = buildLayers();
  const members = layers.reduce((n, l) => n + l.members, 0);
  const tarBytes = layers.reduce((n, l) => n + l.tarBytes, 0);
  const gzBytes = layers.reduce((n, l) => n + statSync(l.path).size, 0);

  const dir = join(CACHE, `registry-${process.pid}`);
  mkdirSync(dir, { recursive: true });
  const port = await freePort();
  const child = startRegistry(dir, 'bench', port, '');
  const cleanup = () => {
    child.kill();
    rmSync(dir, { recursive: true, force: true });
  };
  process.on('exit', cleanup);
  await waitReady(`http://127.0.0.1:${port}/v2/`, child, join(dir, 'bench.log'));
  const target = await pushLayers(`127.0.0.1:${port}`, layers);

  const report = join(CACHE, `report-${process.pid}.json`);
  const scanArgs = [BIN, 'scan', target, '--layers', '--quiet', '--no-db', '--format', 'json', '-o', report];
  const load0 = loadavg()[0];
  const gz: Timed[] = [];
  const sc: Timed[] = [];
  for (let r = 0; r < RUNS; r++) {
    gz.push(timed('gzip', ['-dc', ...layers.map((l) => l.path)]));
    sc.push(timed(process.execPath, scanArgs));
  }
  const load1 = loadavg()[0];
  const result = JSON.parse(readFileSync(report, 'utf8')) as { scan: { stats: { artifacts: number; findings: number; errors: number } } };
  const digest = createHash('sha256').update(readFileSync(report)).digest('hex').slice(0, 16);
  rmSync(report, { force: true });

  if (flag('cpu-prof') || flag('heap-prof')) {
    const prof = join(CACHE, 'profiles');
    mkdirSync(prof, { recursive: true });
    const opts = [...(flag('cpu-prof') ? ['--cpu-prof'] : []), ...(flag('heap-prof') ? ['--heap-prof'] : [])];
    timed(process.execPath, [
      ...opts,
      `--${flag('cpu-prof') ? 'cpu' : 'heap'}-prof-dir=${prof}`,
      ...(flag('cpu-prof') && flag('heap-prof') ? [`--heap-prof-dir=${prof}`] : []),
      ...scanArgs,
    ]);
    console.log(`profiles written to ${prof}`);
  }

  const s = result.scan.stats;
  console.log(`\nbench/image: 3 gzip layers, ${members} members, ${(tarBytes / 1e9).toFixed(2)} GB uncompressed, ${(gzBytes / 1e6).toFixed(0)} MB compressed`);
  console.log(`${RUNS} runs, load average ${load0.toFixed(2)} → ${load1.toFixed(2)} (2-core machine)`);
  console.log(`report: ${s.artifacts} artifacts, ${s.findings} findings, ${s.errors} errors (sha256 ${digest}…)`);
  const row = (what: string, t: Timed[]) =>
    console.log(
      `${what.padEnd(34)} wall ${median(t.map((x) => x.wall)).toFixed(2)} s (${spread(t.map((x) => x.wall))})   cpu ${median(t.map((x) => x.cpu)).toFixed(2)} s   peak RSS ${median(t.map((x) => x.rssMiB)).toFixed(0)} MiB (${spread(
        t.map((x) => x.rssMiB),
        0,
      )})`,
    );
  row('gzip -dc (the layers)', gz);
  row('shelflife scan --layers', sc);
  const ratios = sc.map((x, i) => x.wall / gz[i].wall);
  const ratio = median(ratios);
  const rss = median(sc.map((x) => x.rssMiB));
  console.log(`time ratio (scan / gzip -dc, per run, median): ${ratio.toFixed(2)}x (${spread(ratios)})   target <= 2x   ${ratio <= 2 ? 'PASS' : 'FAIL'}`);
  // On a loaded machine wall time is mostly waiting for a core: the CPU ratio says what the work itself costs.
  const cpuRatios = sc.map((x, i) => x.cpu / gz[i].cpu);
  console.log(`cpu ratio (scan / gzip -dc, per run, median): ${median(cpuRatios).toFixed(2)}x (${spread(cpuRatios)})`);
  console.log(`peak RSS: ${rss.toFixed(0)} MiB   target < 300 MB (${(300e6 / 1024 / 1024).toFixed(0)} MiB)   ${rss * 1024 * 1024 < 300e6 ? 'PASS' : 'FAIL'}`);
  cleanup();
}

await main();
