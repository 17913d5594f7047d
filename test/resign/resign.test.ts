/**
 * resign end to end: selection, the plan, member sidecars (never traversal, never rewriting the archive), the sha256
 * pin, idempotence, "never over an original", and a child process killed mid-run (every sidecar absent or complete;
 * a rerun finishes the job). Then a new scan sees each sidecar as a hybrid signature.
 */
import { spawn, spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { parseDer } from '../../src/pkix/der.js';
import { runResignCommand } from '../../src/cli/resign-command.js';
import { runVerifyCommand } from '../../src/cli/verify-command.js';
import type { ArtifactResult, ScanResult } from '../../src/model.js';
import { loadSigningIdentity } from '../../src/resign/keyfiles.js';
import { makePlan, selects } from '../../src/resign/plan.js';
import { SignerPool } from '../../src/resign/pool.js';
import { runResign, verifyArtifact } from '../../src/resign/resign.js';
import { FsWriter, memberSidecarName } from '../../src/resign/writers/fs.js';
import { scan } from '../../src/scan/scan.js';
import { fileUri } from '../../src/sources/fs.js';
import { FIXTURES } from '../helpers/scan.js';
import { tar } from '../helpers/registry.js';
import { CLI_ENTRY, REPO, flip, tempDir } from './_helpers.js';
import { quietKeygen } from '../helpers/signing.js';

const ENV = { SHELFLIFE_KEY_PASSPHRASE: 'test passphrase' };
const sha256 = (b: Uint8Array) => createHash('sha256').update(b).digest('hex');

/** A quantum-vulnerable RSA-2048 certificate as PEM (fixtures/pki/certs/rsa2048.der, made by fixtures/gen/pki.sh). */
function rsaCertPem(dir: string, name: string): string {
  const b64 = readFileSync(join(FIXTURES, 'pki', 'certs', 'rsa2048.der')).toString('base64');
  const out = join(dir, name);
  writeFileSync(out, `-----BEGIN CERTIFICATE-----\n${b64.match(/.{1,64}/g)!.join('\n')}\n-----END CERTIFICATE-----\n`);
  return out;
}

async function scanTo(dir: string, out: string): Promise<ScanResult> {
  const result = await scan({ targets: [dir], concurrency: 2 });
  writeFileSync(out, JSON.stringify(result));
  return result;
}

function keygen(base: string, alg = 'mldsa65-ecdsa-p256'): void {
  quietKeygen(base, alg, ENV);
}

function artifact(over: Partial<ArtifactResult>): ArtifactResult {
  return { uri: 'file:///a', parent: null, sha256: 'a'.repeat(64), size: 1, findings: [], errors: [], ...over };
}
const vulnerable = (format = 'x509', severity?: 'high' | 'low') => ({
  kind: 'certificate' as const,
  format,
  algorithm: { id: 'RSA-2048', family: 'RSA' },
  quantum: { status: 'vulnerable' as const, classicalBits: 112, nistLevel: null },
  location: {},
  ...(severity ? { exposure: { score: 1, severity, explanation: '' } } : {}),
});

describe('selection', () => {
  it('filters by quantum status, severity, class, format and URI glob', () => {
    const a = artifact({ uri: 'file:///srv/fw/a.bin', class: 'firmware', findings: [vulnerable('x509', 'high')] });
    expect(selects(a, {})).toMatch(/1 vulnerable RSA-2048 finding/);
    expect(selects(a, { minSeverity: 'high' })).toMatch(/severity high/);
    expect(selects(a, { minSeverity: 'critical' })).toBeUndefined();
    expect(selects(a, { classes: ['firmware'] })).toMatch(/class firmware/);
    expect(selects(a, { classes: ['container-image'] })).toBeUndefined();
    expect(selects(a, { formats: ['cms'] })).toBeUndefined();
    expect(selects(a, { uriGlobs: ['**/*.bin'] })).toBeDefined();
    expect(selects(a, { uriGlobs: ['**/*.tar'] })).toBeUndefined();
    // No exposure score at all (scan without scoring): --min-severity cannot select it.
    expect(selects(artifact({ findings: [vulnerable()] }), { minSeverity: 'low' })).toBeUndefined();
    // Already hybrid: not selected by default; unsigned firmware is.
    expect(selects(artifact({ findings: [{ ...vulnerable(), quantum: { status: 'hybrid', classicalBits: 128, nistLevel: 3 } }] }), {})).toBeUndefined();
    expect(selects(artifact({ signed: false }), {})).toBe('unsigned');
  });

  it('refuses artifacts without a sha256 and from stores without a writer', () => {
    const doc = {
      schemaVersion: '1',
      artifacts: [artifact({ sha256: null, findings: [vulnerable()] }), artifact({ uri: 'gopher://x/y', findings: [vulnerable()] })],
    } as unknown as ScanResult;
    const plan = makePlan(doc, {}, 'p7s');
    expect(plan.items).toHaveLength(0);
    expect(plan.refused.map((r) => r.reason)).toEqual([expect.stringMatching(/no sha256/), expect.stringMatching(/no signature writer for gopher/)]);
  });

  it('member sidecar names are one path component, whatever the member path', () => {
    expect(memberSidecarName('/x/fw.tar', ['../../etc/passwd'], '.p7s')).toBe('fw.tar!..%2F..%2Fetc%2Fpasswd.p7s');
    expect(memberSidecarName('/x/a.zip', ['lib/x.jar', 'META-INF/A.RSA'], '.p7s')).toBe('a.zip!lib%2Fx.jar!META-INF%2FA.RSA.p7s');
    expect(memberSidecarName('/x/a.tar', ['a\\b\0c'], '')).toBe('a.tar!a%5Cb%00c');
    const w = new FsWriter();
    const loc = w.locate('file:///x/fw.tar!/%2E%2E/%2E%2E/evil', 'p7s')[0];
    expect(loc.address.startsWith('/x/fw.tar!')).toBe(true);
    expect(loc.address.split('/')).toHaveLength(3);
  });
});

describe('resign a tree', () => {
  it('signs files and archive members beside them, pins sha256, is idempotent, never overwrites, and a rescan sees hybrid', async () => {
    const dir = tempDir();
    const tree = join(dir, 'tree');
    mkdirSync(tree);
    const cert = readFileSync(rsaCertPem(dir, 'leaf.pem'));
    writeFileSync(join(tree, 'fw.bin'), Buffer.concat([Buffer.alloc(3000, 7), cert]));
    writeFileSync(join(tree, 'other.pem'), cert);
    writeFileSync(join(tree, 'gone.pem'), cert);
    // An archive whose member path tries to climb out: its sidecar must stay next to the archive.
    writeFileSync(join(tree, 'bundle.tar'), tar({ 'certs/leaf.pem': cert, '../../evil.pem': cert }));
    // An original signature already sits where our sidecar would go: it must be kept as is.
    writeFileSync(join(tree, 'other.pem.p7s'), 'original signature, not ours');
    const before = Object.fromEntries(readdirSync(tree).map((f) => [f, sha256(readFileSync(join(tree, f)))]));
    const scanFile = join(dir, 'scan.json');
    await scanTo(tree, scanFile);
    writeFileSync(join(tree, 'gone.pem'), 'changed after the scan');
    const keys = join(dir, 'keys', 'release');
    keygen(keys);
    const { key, cert: signer } = loadSigningIdentity(keys, ENV);

    const writer = new FsWriter();
    const scanDoc = JSON.parse(readFileSync(scanFile, 'utf8')) as ScanResult;
    const plan = makePlan(scanDoc, {}, 'p7s');
    // A member whose name climbs out of its archive is never a write target.
    expect(plan.refused).toEqual([
      { uri: `${fileUri(join(tree, 'bundle.tar'))}!/%2E%2E/%2E%2E/evil.pem`, reason: expect.stringMatching(/escapes its archive; never a write target/) },
    ]);
    expect(plan.items.map((i) => i.uri).sort()).toEqual(
      [
        `${fileUri(join(tree, 'bundle.tar'))}!/certs/leaf.pem`,
        fileUri(join(tree, 'fw.bin')),
        fileUri(join(tree, 'gone.pem')),
        fileUri(join(tree, 'other.pem')),
      ].sort(),
    );
    const pool = new SignerPool(key, 2);
    try {
      const outcomes = await runResign(plan, { key, cert: signer, format: 'p7s', pool });
      const byUri = Object.fromEntries(outcomes.map((o) => [o.uri.slice(fileUri(tree).length + 1), o]));
      expect(byUri['fw.bin']).toMatchObject({ status: 'signed', location: fileUri(join(tree, 'fw.bin.p7s')) });
      expect(byUri['gone.pem'].status).toBe('refused');
      expect(byUri['gone.pem'].reason).toMatch(/changed since the scan/);
      expect(byUri['other.pem']).toMatchObject({ status: 'signed', location: fileUri(join(tree, 'other.pem.hybrid.p7s')) });
      expect(byUri['bundle.tar!/certs/leaf.pem']).toMatchObject({ status: 'signed', location: fileUri(join(tree, 'bundle.tar!certs%2Fleaf.pem.p7s')) });
      expect(byUri['bundle.tar!/%2E%2E/%2E%2E/evil.pem'].status).toBe('refused');

      // Originals untouched (gone.pem was changed by the test itself), nothing written outside the tree.
      for (const [f, h] of Object.entries(before)) if (f !== 'gone.pem') expect(sha256(readFileSync(join(tree, f))), f).toBe(h);
      expect(existsSync(join(dir, 'evil.pem.p7s')) || existsSync(join(dir, '..', 'evil.pem.p7s'))).toBe(false);
      expect(readdirSync(tree).filter((f) => f.includes('shelflife-tmp'))).toEqual([]);

      // Members verify as members, straight from the archive.
      const member = `${fileUri(join(tree, 'bundle.tar'))}!/certs/leaf.pem`;
      const sig = readFileSync(join(tree, 'bundle.tar!certs%2Fleaf.pem.p7s'));
      expect(await verifyArtifact(() => writer.openArtifact(member), sig, signer, 'm')).toMatchObject({ valid: true });

      // Idempotent: a rerun skips everything already signed by this key.
      const again = await runResign(makePlan(scanDoc, {}, 'p7s'), { key, cert: signer, format: 'p7s', pool });
      expect(again.filter((o) => o.status === 'skipped')).toHaveLength(3);
      expect(again.filter((o) => o.status === 'signed')).toHaveLength(0);
    } finally {
      await pool.close();
    }

    // A new scan sees each sidecar as a hybrid CMS signature.
    const rescan = await scan({ targets: [tree], concurrency: 2 });
    const sidecar = rescan.artifacts.find((a) => a.uri === fileUri(join(tree, 'fw.bin.p7s')));
    expect(sidecar?.findings.find((f) => f.kind === 'signature')?.quantum.status).toBe('hybrid');
    expect(sidecar?.findings.find((f) => f.kind === 'signature')?.algorithm.id).toBe('ML-DSA-65+ECDSA-P256');
  });

  it('CLI: dry-run writes nothing; verify without a signature names the missing file', async () => {
    const dir = tempDir();
    const tree = join(dir, 'tree');
    mkdirSync(tree);
    writeFileSync(join(tree, 'fw.bin'), readFileSync(rsaCertPem(dir, 'c.pem')));
    const scanFile = join(dir, 'scan.json');
    await scanTo(tree, scanFile);
    const out: string[] = [];
    const write = process.stdout.write;
    process.stdout.write = ((s: string) => out.push(s) > 0) as typeof process.stdout.write;
    try {
      expect(await runResignCommand(scanFile, { signature: 'p7s', dryRun: true })).toBe(0);
      expect(out.join('')).toMatch(/plan: 1 to sign[\s\S]*where: file:\/\/.*fw\.bin\.p7s/);
      expect(readdirSync(tree)).toEqual(['fw.bin']);
      await expect(runVerifyCommand(join(tree, 'fw.bin'), {})).rejects.toThrow(/no such signature file/);
    } finally {
      process.stdout.write = write;
    }
  });

  it('CLI binary: keygen, resign, verify; a flipped byte in either half exits 1 and names that half', async () => {
    const dir = tempDir();
    const tree = join(dir, 'tree');
    mkdirSync(tree);
    writeFileSync(join(tree, 'fw.bin'), readFileSync(rsaCertPem(dir, 'c.pem')));
    const scanFile = join(dir, 'scan.json');
    await scanTo(tree, scanFile);
    const cli = (...args: string[]) =>
      spawnSync(process.execPath, ['--import', 'tsx', CLI_ENTRY, ...args], { cwd: REPO, env: { ...process.env, ...ENV }, encoding: 'utf8' });
    const keys = join(dir, 'keys', 'release');
    expect(cli('keygen', '--out', keys).status).toBe(0);
    const noPass = spawnSync(process.execPath, ['--import', 'tsx', CLI_ENTRY, 'resign', scanFile, '--key', keys], {
      cwd: REPO,
      env: { ...process.env, SHELFLIFE_KEY_PASSPHRASE: 'wrong' },
      encoding: 'utf8',
    });
    expect(noPass.stderr).toMatch(/release\.key: wrong passphrase/);
    expect(cli('resign', scanFile, '--key', keys).status).toBe(0);
    const fw = join(tree, 'fw.bin');
    const ok = cli('verify', fw, '--cert', `${keys}.crt`);
    expect(ok.status).toBe(0);
    expect(ok.stdout).toMatch(/^OK .*fw\.bin: id-MLDSA65-ECDSA-P256-SHA512: both halves verify/);
    const p7s = readFileSync(`${fw}.p7s`);
    // The signature OCTET STRING is the last field of the SignerInfo: ML-DSA-65 half (3309 bytes), then ECDSA.
    const signerInfo = parseDer(p7s).child(1).inner().children().at(-1)!.child(0);
    const sigStart = signerInfo.children().at(-1)!.contentStart;
    for (const [at, half] of [
      [sigStart + 100, 'ML-DSA-65'],
      [sigStart + 3309 + 10, 'ECDSA-P256'],
    ] as const) {
      const bad = join(dir, `bad-${half}.p7s`);
      writeFileSync(bad, flip(p7s, at));
      const r = cli('verify', fw, '--sig', bad, '--cert', `${keys}.crt`);
      expect(r.status, r.stdout + r.stderr).toBe(1);
      expect(r.stdout).toMatch(new RegExp(`FAILED .*the ${half} half`));
    }
  }, 120_000);

  it('a resign killed mid-run leaves every sidecar absent or complete, and a rerun finishes the job', async () => {
    const dir = tempDir();
    const tree = join(dir, 'tree');
    mkdirSync(tree);
    const cert = readFileSync(rsaCertPem(dir, 'c.pem'));
    const N = 120;
    for (let i = 0; i < N; i++) writeFileSync(join(tree, `a${String(i).padStart(3, '0')}.pem`), Buffer.concat([cert, Buffer.from(`\n# ${i}\n`)]));
    const scanFile = join(dir, 'scan.json');
    await scanTo(tree, scanFile);
    const keys = join(dir, 'release');
    keygen(keys);
    const run = () =>
      spawn(process.execPath, ['--import', 'tsx', CLI_ENTRY, 'resign', scanFile, '--key', keys, '--jobs', '1'], {
        cwd: REPO,
        env: { ...process.env, ...ENV },
        stdio: 'ignore',
      });
    const sidecars = () => readdirSync(tree).filter((f) => f.endsWith('.p7s'));

    const child = run();
    const exited = new Promise<void>((r) => child.on('exit', () => r()));
    const t0 = Date.now();
    while (sidecars().length < 3 && Date.now() - t0 < 60_000) await new Promise((r) => setTimeout(r, 10));
    child.kill('SIGKILL');
    await exited;
    const done = sidecars().length;
    expect(done).toBeGreaterThanOrEqual(3);
    expect(done, 'the kill must land mid-run for this test to mean anything').toBeLessThan(N);

    // Every sidecar present is complete and valid.
    const { cert: signer } = loadSigningIdentity(keys, ENV);
    const writer = new FsWriter();
    for (const s of sidecars()) {
      const uri = fileUri(join(tree, s.replace(/\.p7s$/, '')));
      const r = await verifyArtifact(() => writer.openArtifact(uri), readFileSync(join(tree, s)), signer, s);
      expect(r.valid, s).toBe(true);
    }

    const rerun = run();
    const code = await new Promise<number | null>((r) => rerun.on('exit', (c) => r(c)));
    expect(code).toBe(0);
    expect(sidecars()).toHaveLength(N);
    expect(readdirSync(tree).filter((f) => f.includes('shelflife-tmp'))).toEqual([]);
  }, 180_000);
});
