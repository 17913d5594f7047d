/**
 * Release-store benchmark (on demand: `npx tsx bench/release-stores.ts`), on loopback through the test fault server:
 *  - a yum repository of BENCH_RPMS (5,000) packages (hard links of one RSA-signed RPM with BENCH_RPM_KIB (512) KiB of
 *    incompressible payload, indexed by createrepo_c, repomd.xml signed), scanned with the default `--fetch headers`:
 *    artifacts/s, requests per package (target: at most one Range request each), bytes read vs the repository's size
 *    (target: under 2%);
 *  - an apt repository with BENCH_DEBS (20,000) Packages entries (signed InRelease, Packages.xz) scanned with
 *    `--fetch none`: artifacts/s, requests, and a check that nothing but index files was requested.
 * @module
 */
import { execFileSync } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import { linkSync, mkdirSync, mkdtempSync, readdirSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { scan } from '../src/scan/scan.js';
import { startFaultServer } from '../test/helpers/http-faults.js';

const RPMS = Number(process.env.BENCH_RPMS ?? 5000);
const RPM_KIB = Number(process.env.BENCH_RPM_KIB ?? 512);
const DEBS = Number(process.env.BENCH_DEBS ?? 20_000);

const dir = mkdtempSync(join(tmpdir(), 'shelflife-bench-release-'));
const sh = (cmd: string, env: Record<string, string> = {}) =>
  execFileSync('bash', ['-c', cmd], { cwd: dir, env: { ...process.env, ...env }, stdio: ['ignore', 'ignore', 'inherit'] });
const GNUPGHOME = join(dir, 'gnupg');
mkdirSync(GNUPGHOME, { mode: 0o700 });
const gpgEnv = { GNUPGHOME };
sh(`gpg --batch --quiet --pinentry-mode loopback --passphrase '' --quick-gen-key 'Bench <bench@release.test>' rsa3072 sign 1y`, gpgEnv);

function duSize(root: string): number {
  let n = 0;
  const seen = new Set<string>();
  const walk = (d: string) => {
    for (const e of readdirSync(d, { withFileTypes: true })) {
      const p = join(d, e.name);
      if (e.isDirectory()) walk(p);
      else {
        const st = statSync(p);
        n += st.size; // each hard link counts: a mirror serves (and stores) every package as its own file
        seen.add(`${st.ino}`);
      }
    }
  };
  walk(root);
  return n;
}

try {
  // ── yum ──
  const top = join(dir, 'rpmbuild');
  mkdirSync(join(top, 'SPECS'), { recursive: true });
  writeFileSync(join(dir, 'payload.bin'), randomBytes(RPM_KIB * 1024));
  writeFileSync(
    join(top, 'SPECS', 'bench.spec'),
    `Name: bench\nVersion: 1.0\nRelease: 1\nSummary: bench\nLicense: MIT\nBuildArch: noarch\n%description\nbench\n%install\nmkdir -p %{buildroot}/usr/share/bench\ncp ${join(dir, 'payload.bin')} %{buildroot}/usr/share/bench/payload.bin\n%files\n/usr/share/bench/payload.bin\n`,
  );
  sh(`rpmbuild --quiet --define "_topdir ${top}" --define "_binary_payloadio w0.gzdio" -bb ${top}/SPECS/bench.spec >/dev/null 2>&1`);
  const rpm = join(top, 'RPMS', 'noarch', 'bench-1.0-1.noarch.rpm');
  sh(
    `rpmsign --quiet --define "__gpg $(command -v gpg)" --define "_gpg_path ${GNUPGHOME}" --define "_gpg_name bench@release.test" --addsign ${rpm} >/dev/null`,
    gpgEnv,
  );
  const yum = join(dir, 'tree', 'yum');
  mkdirSync(join(yum, 'Packages'), { recursive: true });
  for (let i = 0; i < RPMS; i++) linkSync(rpm, join(yum, 'Packages', `bench-${i}-1.0-1.noarch.rpm`));
  sh(`createrepo_c --quiet --workers 2 ${yum} >/dev/null && gpg --batch --quiet --detach-sign --armor ${yum}/repodata/repomd.xml`, gpgEnv);

  // ── apt: a Packages index of DEBS entries (the pool need not exist: --fetch none never reads it) ──
  const apt = join(dir, 'tree', 'apt');
  const bin = join(apt, 'dists', 'stable', 'main', 'binary-amd64');
  mkdirSync(bin, { recursive: true });
  const stanzas: string[] = [];
  for (let i = 0; i < DEBS; i++) {
    const h = createHash('sha256').update(String(i)).digest('hex');
    stanzas.push(
      `Package: pkg${i}\nVersion: 1.0-${i}\nArchitecture: amd64\nMaintainer: Bench <b@release.test>\nFilename: pool/main/p/pkg${i}/pkg${i}_1.0-${i}_amd64.deb\nSize: ${100_000 + i}\nSHA256: ${h}\nDescription: bench ${i}\n`,
    );
  }
  writeFileSync(join(bin, 'Packages'), stanzas.join('\n'));
  sh(
    `xz -k -6 ${bin}/Packages && cd ${apt}/dists/stable && apt-ftparchive -o APT::FTPArchive::Release::Suite=stable release . > Release.tmp && mv Release.tmp Release && gpg --batch --quiet --clearsign -o InRelease Release`,
    gpgEnv,
  );

  const server = await startFaultServer(join(dir, 'tree'));
  try {
    const yumBytes = duSize(yum);
    let t = performance.now();
    let r = await scan({ targets: [`yum+${server.url}/yum/`], scoring: false, concurrency: 16 });
    let secs = (performance.now() - t) / 1000;
    const pkgReqs = server.requests.filter((q) => q.path.includes('/Packages/'));
    const maxPerPkg = Math.max(...Object.values(pkgReqs.reduce<Record<string, number>>((m, q) => ((m[q.path] = (m[q.path] ?? 0) + 1), m), {})));
    const bytes = server.requests.reduce((n, q) => n + q.bytes, 0);
    const signed = r.artifacts.filter((a) => a.coverage === 'signed').length;
    console.log(
      `yum: ${RPMS} packages (${(yumBytes / 2 ** 20).toFixed(0)} MiB repository) in ${secs.toFixed(2)} s = ${(r.artifacts.length / secs).toFixed(0)} artifacts/s; ${server.requests.length} requests (${(server.requests.length / RPMS).toFixed(3)}/package, max ${maxPerPkg} per package, all Range: ${pkgReqs.every((q) => q.range)}); ${(bytes / 2 ** 20).toFixed(2)} MiB read = ${((100 * bytes) / yumBytes).toFixed(2)}% of the repository, ${(bytes / RPMS).toFixed(0)} B/package; ${signed} packages signed; errors ${r.scan.stats.errors}`,
    );

    server.requests.length = 0;
    const aptIndexBytes = duSize(join(apt, 'dists'));
    t = performance.now();
    r = await scan({ targets: [`apt+${server.url}/apt`], sourceOptions: { suite: 'stable', fetch: 'none' }, scoring: false, concurrency: 16 });
    secs = (performance.now() - t) / 1000;
    const aptBytes = server.requests.reduce((n, q) => n + q.bytes, 0);
    const nonIndex = server.requests.filter((q) => !q.path.startsWith('/apt/dists/'));
    console.log(
      `apt: ${DEBS} Packages entries in ${secs.toFixed(2)} s = ${(r.artifacts.length / secs).toFixed(0)} artifacts/s; ${server.requests.length} requests (${server.requests.map((q) => q.path.replace('/apt/dists/stable/', '')).join(', ')}); ${(aptBytes / 1024).toFixed(0)} KiB read of ${(aptIndexBytes / 1024).toFixed(0)} KiB of index files, ${(aptBytes / r.artifacts.length).toFixed(1)} B/artifact; non-index requests: ${nonIndex.length}; errors ${r.scan.stats.errors}`,
    );
  } finally {
    await server.close();
  }
} finally {
  rmSync(dir, { recursive: true, force: true });
}
