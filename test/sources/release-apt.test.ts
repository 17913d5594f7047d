import { execFileSync, spawn, spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import type { ArtifactResult } from '../../src/model.js';
import { scan } from '../../src/scan/scan.js';
import { requirePrerequisiteForAll } from '../helpers/prerequisites.js';
import { startPythonHttpServer, useReleaseStores } from '../setup/release-servers.js';

const { missing, stores: s } = useReleaseStores('release-apt');

const strip = (u: string) => u.replace(/^https?:\/\/127\.0\.0\.1:\d+/, '');
async function scanApt(target: string, options: Record<string, unknown>): Promise<Map<string, ArtifactResult>> {
  const r = await scan({ targets: [target], sourceOptions: { backoffMs: 5, timeoutMs: 2000, ...options }, scoring: false });
  return new Map(r.artifacts.map((a) => [strip(a.uri), a]));
}
function run(cmd: string, args: string[]): Promise<{ status: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    const c = spawn(cmd, args, { stdio: ['ignore', 'pipe', 'pipe'], timeout: 30_000 });
    let stdout = '';
    let stderr = '';
    c.stdout.on('data', (d) => (stdout += d));
    c.stderr.on('data', (d) => (stderr += d));
    c.on('close', (status) => resolve({ status, stdout, stderr }));
  });
}
const sha256File = (p: string) => createHash('sha256').update(readFileSync(p)).digest('hex');

describe('apt repositories over HTTP(S)', () => {
  requirePrerequisiteForAll(missing);
  it('reprepro over HTTPS with a private CA: every InRelease signature, each package covered and identified by the index digest, no package fetched', async () => {
    const before = s.https.requests.length;
    const arts = await scanApt(`apt+${s.https.url}/apt/reprepro`, { suite: 'bookworm', ca: s.caFile });
    const inrelease = arts.get('/apt/reprepro/dists/bookworm/InRelease')!;
    expect(inrelease.coverage).toBe('signed');
    // Oracle: gpg --list-packets names the same signers and algorithms (22 = EdDSA, 1 = RSA).
    const text = readFileSync(join(s.root, 'apt/reprepro/dists/bookworm/InRelease'), 'utf8');
    const block = text.slice(text.indexOf('-----BEGIN PGP SIGNATURE-----'));
    const packets = execFileSync('gpg', ['--batch', '--list-packets'], {
      input: block,
      env: { ...process.env, GNUPGHOME: mkdtempSync(join(tmpdir(), 'g-')) },
      stdio: ['pipe', 'pipe', 'ignore'],
    }).toString();
    const algos = [...packets.matchAll(/:signature packet: algo (\d+), keyid ([0-9A-F]+)/g)].map((m) => [m[1], m[2].toLowerCase()]);
    expect(algos.map((a) => a[0]).sort()).toEqual(['1', '22']);
    const sigs = inrelease.findings.filter((f) => f.kind === 'signature');
    expect(sigs.map((f) => f.algorithm.family).sort()).toEqual(['EdDSA', 'RSA']);
    for (const [, keyid] of algos)
      expect(
        sigs.some((f) =>
          String(f.details?.issuerFingerprint ?? f.issuer)
            .toLowerCase()
            .endsWith(keyid),
        ),
      ).toBe(true);
    // Oracle: gpgv verifies the same file with the archive keyring.
    expect(spawnSync('gpgv', ['--keyring', join(s.root, 'keys/archive.gpg'), join(s.root, 'apt/reprepro/dists/bookworm/InRelease')]).status).toBe(0);

    for (const name of ['hello-a', 'hello-b']) {
      const a = arts.get(`/apt/reprepro/pool/main/h/${name}/${name}_1.0-1_amd64.deb`)!;
      expect(a.coverage).toBe('covered');
      // The same links as every other store (docs/coverage.md): each chain signature, via the index that lists it.
      expect(a.signedBy?.length).toBe(a.findings.length);
      expect(a.signedBy).toEqual(
        a.findings.map((f, i) =>
          expect.objectContaining({ via: 'index', index: 'dists/bookworm/InRelease', finding: i, algorithm: f.algorithm.id, verification: 'unverifiable' }),
        ),
      );
      expect(a.sha256).toBe(sha256File(join(s.root, `apt/reprepro/pool/main/h/${name}/${name}_1.0-1_amd64.deb`)));
      expect(a.findings.map((f) => `${f.algorithm.family}@${f.location.member}`).sort()).toEqual([
        'EdDSA@dists/bookworm/InRelease',
        'RSA@dists/bookworm/InRelease',
      ]);
      expect(a.annotations?.['apt.package']).toBe(name);
      expect(a.errors).toEqual([]);
    }
    const paths = s.https.requests.slice(before).map((r) => r.path);
    expect(paths.some((p) => p.includes('/pool/'))).toBe(false);
    expect(paths).toEqual(['/apt/reprepro/dists/bookworm/InRelease', '/apt/reprepro/dists/bookworm/main/binary-amd64/Packages.gz']);
  });

  it('fetches Packages by hash, agrees with apt-get update, and marks an unsigned suite index-unsigned', async () => {
    const before = s.http.requests.length;
    const arts = await scanApt(`apt+${s.http.url}/apt/ftparchive`, { suite: 'stable' });
    const fetched = s.http.requests
      .slice(before)
      .filter((r) => r.status === 200)
      .map((r) => r.path);
    expect(fetched.some((p) => /\/by-hash\/SHA256\/[0-9a-f]{64}$/.test(p))).toBe(true);
    expect(fetched.some((p) => p.endsWith('/Packages.xz'))).toBe(false);
    expect(arts.get('/apt/ftparchive/pool/main/hello-a_1.0-1_amd64.deb')?.coverage).toBe('covered');
    // Sources: each file of a source package is an artifact, covered by the same chain.
    for (const f of ['hello-src_1.0.dsc', 'hello-src_1.0.tar.xz']) {
      const a = arts.get(`/apt/ftparchive/pool/main/${f}`)!;
      expect(a.coverage).toBe('covered');
      expect(a.sha256).toBe(sha256File(join(s.root, 'apt/ftparchive/pool/main', f)));
      expect(a.annotations?.['apt.source']).toBe('hello-src');
    }

    const unsigned = await scanApt(`apt+${s.http.url}/apt/ftparchive`, { suite: 'unsigned' });
    expect(unsigned.get('/apt/ftparchive/dists/unsigned/Release')?.coverage).toBe('unsigned');
    expect(
      unsigned
        .get('/apt/ftparchive/dists/unsigned/Release')
        ?.errors.map((e) => e.message)
        .join(),
    ).toMatch(/carries no signature/);
    const pkg = unsigned.get('/apt/ftparchive/pool/main/hello-a_1.0-1_amd64.deb')!;
    expect(pkg.coverage).toBe('index-unsigned');
    expect(pkg.findings).toEqual([]);

    // Oracle: apt-get update against the loopback repository, with a private state directory and sources list.
    const d = mkdtempSync(join(tmpdir(), 'shelflife-apt-'));
    // Async: the repository is served by this very process, so a synchronous spawn would starve it.
    const aptUpdate = (suite: string) => {
      writeFileSync(join(d, `${suite}.list`), `deb [signed-by=${join(s.root, 'keys/archive.gpg')}] ${s.http.url}/apt/ftparchive ${suite} main\n`);
      const o = (k: string, v: string) => ['-o', `${k}=${v}`];
      return run('apt-get', [
        'update',
        ...o('Dir::Etc::sourcelist', join(d, `${suite}.list`)),
        ...o('Dir::Etc::sourceparts', '-'),
        ...o('Dir::State::Lists', d),
        ...o('Dir::Cache', d),
        ...o('Dir::State::status', '/dev/null'),
        ...o('APT::Sandbox::User', 'root'),
        ...o('Debug::NoLocking', '1'),
        ...o('Acquire::Languages', 'none'),
      ]);
    };
    expect((await aptUpdate('stable')).status).toBe(0);
    const refused = await aptUpdate('unsigned');
    expect(`${refused.stdout}${refused.stderr}`).toMatch(/not signed/);
  });

  it("Python's http.server, which ignores Range: the .deb's embedded signature is still found, read once, and the package says so", async () => {
    const py = await startPythonHttpServer(s.root);
    try {
      const h = await scanApt(`apt+${py.url}/apt/ftparchive`, { suite: 'stable', fetch: 'headers' });
      const signedDeb = h.get('/apt/ftparchive/pool/main/hello-c_1.0-1_amd64.deb')!;
      expect(signedDeb.errors).toEqual([]);
      expect(signedDeb.coverage).toBe('signed');
      expect(signedDeb.findings.filter((f) => f.location.member === '_gpgorigin').map((f) => `${f.format}:${f.algorithm.id}`)).toEqual(['openpgp:Ed25519']);
      expect(signedDeb.annotations?.rangeIgnored).toMatch(/ignored the Range request \(HTTP 200, the whole body\)/);
    } finally {
      await py.close();
    }
  });

  it('--fetch headers walks the ar headers by range; --fetch all reads and checks every byte', async () => {
    const before = s.http.requests.length;
    const h = await scanApt(`apt+${s.http.url}/apt/ftparchive`, { suite: 'stable', fetch: 'headers' });
    const deb = h.get('/apt/ftparchive/pool/main/hello-a_1.0-1_amd64.deb')!;
    expect(deb.coverage).toBe('covered'); // no debsig/dpkg-sig member
    expect(deb.errors).toEqual([]);
    const ranges = s.http.requests.slice(before).filter((r) => r.path.endsWith('hello-a_1.0-1_amd64.deb'));
    expect(ranges.every((r) => r.status === 206)).toBe(true);
    expect(ranges.reduce((n, r) => n + r.bytes, 0)).toBeLessThan(300);
    // A .dsc is read whole with --fetch headers: it is clearsigned, so it is signed on its own.
    const dsc = h.get('/apt/ftparchive/pool/main/hello-src_1.0.dsc')!;
    expect(dsc.coverage).toBe('signed');
    expect(dsc.findings.some((f) => f.format === 'openpgp' && f.location.member === undefined && f.algorithm.id === 'Ed25519')).toBe(true);
    // hello-c has a debsigs origin signature (ar member _gpgorigin): signed on its own, read by range only.
    const signedDeb = h.get('/apt/ftparchive/pool/main/hello-c_1.0-1_amd64.deb')!;
    expect(signedDeb.coverage).toBe('signed');
    expect(signedDeb.findings.filter((f) => f.location.member === '_gpgorigin').map((f) => `${f.format}:${f.algorithm.id}`)).toEqual(['openpgp:Ed25519']);
    expect(
      s.http.requests
        .slice(before)
        .filter((r) => r.path.endsWith('hello-c_1.0-1_amd64.deb'))
        .every((r) => r.status === 206 && r.range),
    ).toBe(true);

    const all = await scan({ targets: [`apt+${s.http.url}/apt/ftparchive`], sourceOptions: { suite: 'stable', fetch: 'all' }, scoring: false });
    const whole = all.artifacts.find((a) => a.uri.endsWith('/pool/main/hello-a_1.0-1_amd64.deb'))!;
    expect(whole.sha256).toBe(sha256File(join(s.root, 'apt/ftparchive/pool/main/hello-a_1.0-1_amd64.deb')));
    expect(whole.errors).toEqual([]);
    // the .deb was opened as the ar archive it is
    expect(all.artifacts.some((a) => a.parent === whole.uri && a.uri.endsWith('!/control.tar.gz'))).toBe(true);
  });

  it('reports a key that has expired (gpgv: EXPKEYSIG) on the Release and on what it covers', async () => {
    const gv = spawnSync('gpgv', ['--status-fd', '1', '--keyring', join(s.root, 'keys/expired.gpg'), join(s.root, 'apt/expired/dists/stable/InRelease')], {
      encoding: 'utf8',
    });
    expect(gv.stdout).toMatch(/EXPKEYSIG/);
    const arts = await scanApt(`apt+${s.http.url}/apt/expired`, { suite: 'stable', keyring: [join(s.root, 'keys/expired.gpg')] });
    const rel = arts.get('/apt/expired/dists/stable/InRelease')!;
    expect(rel.errors.map((e) => e.message).join('\n')).toMatch(/expired on 2020-01-02/);
    expect(
      arts
        .get('/apt/expired/pool/main/hello-a_1.0-1_amd64.deb')!
        .errors.map((e) => e.message)
        .join('\n'),
    ).toMatch(/expired/);
  });

  it('faults: a decompression bomb as Packages.xz, a by-hash mismatch, 500s, 429 + Retry-After: clear errors, the scan goes on', async () => {
    const dist = '/apt/ftparchive/dists/stable/main/binary-amd64';
    const release = readFileSync(join(s.root, 'apt/ftparchive/dists/stable/Release'), 'utf8');
    const xzSha = release.match(/SHA256:[\s\S]*?([0-9a-f]{64})\s+\d+\s+main\/binary-amd64\/Packages\.xz/)![1];
    // By-hash answers with other bytes: the hash check refuses them.
    s.http.faults.set(`${dist}/by-hash/SHA256/${xzSha}`, { body: new Uint8Array(Buffer.from('Package: evil\n')) });
    let arts = await scanApt(`apt+${s.http.url}/apt/ftparchive`, { suite: 'stable' });
    expect(arts.get(`${dist}/Packages.xz`)!.errors[0].message).toMatch(/does not match the Release's/);
    expect(arts.get('/apt/ftparchive/dists/stable/InRelease')!.errors).toEqual([]);
    expect([...arts.keys()].some((k) => k.endsWith('.deb'))).toBe(false); // the Packages index was refused; Sources still walked
    expect(arts.get('/apt/ftparchive/pool/main/hello-src_1.0.dsc')?.coverage).toBe('covered');

    // A bomb: 64 MiB of zeros in a few KB of xz, served where Packages.xz is (and the Release hash matches it).
    const bombDir = join(s.root, 'apt/bomb/dists/stable/main/binary-amd64');
    execFileSync('mkdir', ['-p', bombDir]);
    execFileSync('sh', ['-c', `head -c 67108864 /dev/zero | xz -9 > ${bombDir}/Packages.xz`]);
    const bomb = readFileSync(join(bombDir, 'Packages.xz'));
    writeFileSync(
      join(s.root, 'apt/bomb/dists/stable/Release'),
      `Suite: stable\nSHA256:\n ${createHash('sha256').update(bomb).digest('hex')} ${bomb.length} main/binary-amd64/Packages.xz\n`,
    );
    arts = await scanApt(`apt+${s.http.url}/apt/bomb`, { suite: 'stable' });
    const idx = arts.get('/apt/bomb/dists/stable/main/binary-amd64/Packages.xz')!;
    expect(idx.errors[0].code).toBe('limit-ratio');
    expect(idx.errors[0].message).toMatch(/compression ratio/);
    expect(arts.get('/apt/bomb/dists/stable/Release')!.coverage).toBe('unsigned');

    // 429 with Retry-After then success; a persistent 500 ends in a problem naming the URL.
    s.http.faults.clear();
    s.http.faults.set('/apt/reprepro/dists/bookworm/InRelease', { status: 429, retryAfter: 1, times: 1 });
    const t0 = Date.now();
    arts = await scanApt(`apt+${s.http.url}/apt/reprepro`, { suite: 'bookworm' });
    expect(Date.now() - t0).toBeGreaterThanOrEqual(950); // Retry-After: 1 was honoured (backoffMs is 5)
    expect(arts.get('/apt/reprepro/dists/bookworm/InRelease')!.coverage).toBe('signed');
    s.http.faults.set('/apt/reprepro/dists/bookworm/InRelease', { status: 500 });
    arts = await scanApt(`apt+${s.http.url}/apt/reprepro`, { suite: 'bookworm' });
    expect(arts.get('/apt/reprepro/dists/bookworm/InRelease')!.errors[0].message).toMatch(/HTTP 500/);
    s.http.faults.clear();
  });

  it('without InRelease: Release + Release.gpg (gpgv agrees), packages covered the same way', async () => {
    expect(
      spawnSync('gpgv', [
        '--keyring',
        join(s.root, 'keys/archive.gpg'),
        join(s.root, 'apt/ftparchive/dists/stable/Release.gpg'),
        join(s.root, 'apt/ftparchive/dists/stable/Release'),
      ]).status,
    ).toBe(0);
    s.http.faults.set('/apt/ftparchive/dists/stable/InRelease', { status: 404 });
    const arts = await scanApt(`apt+${s.http.url}/apt/ftparchive`, { suite: 'stable' });
    s.http.faults.clear();
    const rel = arts.get('/apt/ftparchive/dists/stable/Release')!;
    expect(rel.coverage).toBe('signed');
    expect(rel.findings.map((f) => `${f.algorithm.id}@${f.location.member}`)).toEqual(['Ed25519@Release.gpg']);
    const pkg = arts.get('/apt/ftparchive/pool/main/hello-a_1.0-1_amd64.deb')!;
    expect(pkg.coverage).toBe('covered');
    expect(pkg.findings.map((f) => f.location.member)).toEqual(['dists/stable/Release']);
  });

  it('refuses a target without a suite, naming the flag', () => {
    return expect(scan({ targets: [`apt+${s.http.url}/apt/reprepro`], scoring: false })).rejects.toThrow(/--suite/);
  });
});
