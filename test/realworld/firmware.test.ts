/**
 * Real signed Debian boot chain, fetched at test time with `apt-get download` (nothing is vendored): shim (two
 * Authenticode signatures), GRUB, fwupd, the cloud kernel's vmlinuz and a set of its signed modules. What shelflife
 * reports is checked against the independent tools: `sbverify --list`, `osslsigncode verify`, `openssl pkcs7
 * -print_certs -text` and `modinfo`. Where the archive or a tool is unreachable, every test skips with a loud message.
 */
import { execFileSync, spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { afterAll, beforeAll, describe, expect, it, type TestContext } from 'vitest';
import { aptDownload, needPrograms, requirePrerequisite } from '../helpers/prerequisites.js';
import type { ArtifactResult, Finding, ScanResult } from '../../src/model.js';
import { scan } from '../../src/scan/scan.js';

const PACKAGES = ['shim-signed', 'grub-efi-amd64-signed', 'fwupd-amd64-signed', 'ovmf'];
/** Modules taken from the kernel package: enough to cover many files without extracting all 3000. */
const MODULE_GLOB = './lib/modules/*/kernel/crypto/*';

let work = '';
let unavailable = '';
let result: ScanResult | undefined;
const files: { efi: string[]; vmlinuz?: string; modules: string[]; vars: string[] } = { efi: [], modules: [], vars: [] };

function run(cmd: string, args: string[], opts: { cwd?: string; input?: Buffer } = {}): string {
  return execFileSync(cmd, args, { cwd: opts.cwd, input: opts.input, stdio: ['pipe', 'pipe', 'pipe'], maxBuffer: 64 * 1024 * 1024 }).toString();
}

function walk(dir: string, out: string[] = []): string[] {
  for (const e of readdirSync(dir, { withFileTypes: true })) {
    const p = join(dir, e.name);
    if (e.isDirectory()) walk(p, out);
    else if (e.isFile()) out.push(p);
  }
  return out;
}

beforeAll(async () => {
  work = mkdtempSync(join(tmpdir(), 'shelflife-realworld-fw-'));
  const debs = join(work, 'debs');
  const root = join(work, 'root');
  mkdirSync(debs);
  mkdirSync(root);
  try {
    const noApt = needPrograms('realworld/firmware', 'apt-cache', 'tar');
    if (noApt) throw new Error(noApt);
    // The signed kernel: the cloud flavour is a third of the size of the generic one and signed the same way.
    const depends = run('apt-cache', ['depends', 'linux-image-cloud-amd64']);
    const kernel = depends.match(/Depends: (linux-image-[\w.+-]+-cloud-amd64)/)?.[1];
    if (!kernel) throw new Error('apt-cache cannot resolve linux-image-cloud-amd64');
    const failed = aptDownload('realworld/firmware', [...PACKAGES, kernel], debs);
    if (failed) throw new Error(failed);
    for (const deb of readdirSync(debs)) {
      const path = join(debs, deb);
      if (deb.startsWith('linux-image-')) {
        const tar = spawnSync('sh', ['-c', `dpkg-deb --fsys-tarfile "$1" | tar -x -C "$2" --wildcards './boot/vmlinuz-*' '${MODULE_GLOB}'`, 'sh', path, root]);
        if (tar.status !== 0) throw new Error(`extracting ${deb}: ${tar.stderr.toString()}`);
      } else if (deb.startsWith('ovmf_')) {
        // Only the variable stores with enrolled keys (PK/KEK/db as EFI_SIGNATURE_LISTs), not the 4 MB code images.
        const tar = spawnSync('sh', ['-c', `dpkg-deb --fsys-tarfile "$1" | tar -x -C "$2" --wildcards './usr/share/OVMF/OVMF_VARS*.ms.fd'`, 'sh', path, root]);
        if (tar.status !== 0) throw new Error(`extracting ${deb}: ${tar.stderr.toString()}`);
      } else {
        run('dpkg-deb', ['-x', path, root]);
      }
    }
  } catch (e) {
    unavailable = `realworld/firmware: the Debian boot chain could not be fetched (${(e as Error).message.split('\n')[0]})`;
    return;
  }
  for (const f of walk(root)) {
    if (/\.efi\.signed$/.test(f)) files.efi.push(f);
    else if (/\/boot\/vmlinuz-/.test(f)) files.vmlinuz = f;
    else if (/\.ko(\.xz|\.zst)?$/.test(f)) files.modules.push(f);
    else if (/OVMF_VARS.*\.fd$/.test(f)) files.vars.push(f);
  }
  result = await scan({ targets: [root], concurrency: 2 });
}, 120_000);

afterAll(() => {
  if (work) rmSync(work, { recursive: true, force: true });
});

/** Findings of the artifact at `path` and every member nested in it (a .ko.xz's decompressed module). */
function under(path: string): { findings: Finding[]; artifacts: ArtifactResult[] } {
  const uri = pathToFileURL(path).href;
  const artifacts = result!.artifacts.filter((a) => a.uri === uri || a.uri.startsWith(`${uri}!/`));
  return { findings: artifacts.flatMap((a) => a.findings), artifacts };
}

/** CN values of an RFC 4514 subject (ours) or an OpenSSL one-line `/CN=…/O=…` or `CN = …, O = …` subject. */
function cn(subject: string): string {
  return subject.match(/CN\s*=\s*([^,/\n]+?)(?:\s*(?:,|\/|$))/)?.[1]?.trim() ?? subject;
}

const skipUnless = (ctx: TestContext, tools: string[] = []) => {
  requirePrerequisite(ctx, unavailable);
  requirePrerequisite(ctx, needPrograms('realworld/firmware', ...tools));
};

describe('realworld: Debian signed boot chain', () => {
  it('downloaded and scanned the packages', (ctx) => {
    skipUnless(ctx);
    expect(files.efi.length).toBeGreaterThanOrEqual(3); // shimx64, mmx64, fbx64, grubx64, fwupdx64 …
    expect(files.vmlinuz).toBeDefined();
    expect(files.modules.length).toBeGreaterThan(10);
    const crashes = result!.artifacts.flatMap((a) => a.errors).filter((e) => e.code === 'detector-crash');
    expect(crashes).toEqual([]);
  });

  it('Authenticode signatures match sbverify --list (shim carries two)', (ctx) => {
    skipUnless(ctx, ['sbverify']);
    for (const f of [...files.efi, files.vmlinuz!]) {
      const listed = run('sbverify', ['--list', f]);
      const count = (listed.match(/^signature \d+$/gm) ?? []).length;
      const ours = under(f).findings.filter((x) => x.format === 'authenticode');
      const signatures = ours.filter((x) => x.kind === 'signature' && x.details?.role === 'image');
      expect(signatures.length, f).toBe(count);
      // The certificates sbverify lists are those of each signature's own bag (not its timestamp tokens').
      const theirs = [...listed.matchAll(/ - subject: (.+)$/gm)].map((m) => cn(m[1])).sort();
      const mine = ours
        .filter((x) => x.kind === 'certificate' && /^certificateTable\[\d+\]\.certificates\[/.test(x.location.path ?? ''))
        .map((x) => cn(x.subject!))
        .sort();
      expect(mine, f).toEqual(theirs);
    }
    const shim = files.efi.find((f) => /shimx64\.efi\.signed$/.test(f));
    if (shim) expect(under(shim).findings.filter((x) => x.kind === 'signature' && x.details?.role === 'image').length).toBe(2);
  });

  it('digest algorithm and signer match osslsigncode verify (single-signature images)', (ctx) => {
    skipUnless(ctx, ['osslsigncode']);
    // osslsigncode rejects shim's double signature ("Corrupted attribute certificate table"); sbverify covers it above.
    for (const f of [...files.efi.filter((x) => !/shim/.test(x)), files.vmlinuz!]) {
      const out = spawnSync('osslsigncode', ['verify', '-in', f]).stdout.toString();
      const digest = out.match(/Message digest algorithm\s*:\s*(\w+)/)?.[1];
      const signer = out.match(/Signer's certificate:[\s\S]*?Subject:\s*(.+)$/m)?.[1];
      const sig = under(f).findings.find((x) => x.kind === 'signature' && x.details?.role === 'image')!;
      expect(sig, f).toBeDefined();
      expect(sig.details!.imageDigestAlgorithm, f).toBe(digest === 'SHA256' ? 'SHA-256' : digest);
      expect(cn(sig.subject!), f).toBe(cn(signer!));
    }
  });

  it('certificate key sizes match openssl pkcs7 -print_certs -text', (ctx) => {
    skipUnless(ctx, ['openssl']);
    const grub = files.efi.find((f) => /grubx64\.efi\.signed$/.test(f)) ?? files.efi[0];
    // The WIN_CERTIFICATE table: security directory entry of the optional header (PE32+), file offset + size.
    const b = readFileSync(grub);
    const pe = b.readUInt32LE(0x3c);
    const dirs = pe + 24 + (b.readUInt16LE(pe + 24) === 0x20b ? 112 : 96);
    const at = b.readUInt32LE(dirs + 32);
    const len = b.readUInt32LE(at);
    const blob = join(work, 'grub.p7');
    writeFileSync(blob, b.subarray(at + 8, at + len));
    const text = run('openssl', ['pkcs7', '-inform', 'DER', '-in', blob, '-print_certs', '-text', '-noout']);
    const theirs = [...text.matchAll(/Subject: (.+)\n[\s\S]*?Public-Key: \((\d+) bit\)/g)].map((m) => `${cn(m[1])} RSA-${m[2]}`).sort();
    const mine = under(grub)
      .findings.filter((x) => x.kind === 'certificate')
      .map((x) => `${cn(x.subject!)} ${x.algorithm.id}`)
      .sort();
    expect(mine).toEqual(theirs);
  });

  it('module signatures match modinfo (sig_id, signer, sig_hashalgo); RSA size from the signature', (ctx) => {
    skipUnless(ctx, ['modinfo']);
    expect(files.modules.length).toBeGreaterThan(0);
    // One modinfo per module; 40 modules are plenty to compare and keep the suite fast.
    for (const m of files.modules.slice(0, 40)) {
      const info = run('modinfo', [m]);
      const field = (name: string) => info.match(new RegExp(`^${name}:\\s*(.*)$`, 'm'))?.[1].trim() ?? '';
      const sigs = under(m).findings.filter((x) => x.format === 'kmod' && x.kind === 'signature');
      expect(sigs.length, m).toBe(1);
      const [s] = sigs;
      expect(field('sig_id')).toBe('PKCS#7');
      expect(s.details!.idType).toBe('PKCS#7');
      expect(s.algorithm.hash, m).toBe(field('sig_hashalgo').toUpperCase().replace(/^SHA/, 'SHA-'));
      expect(cn(s.issuer!), m).toBe(field('signer'));
      // modinfo's sig_key is the serial number of the signing certificate, colon-separated.
      expect(s.serial!.toUpperCase()).toBe(field('sig_key').replace(/:/g, '').toUpperCase());
      // modinfo prints the raw signature; an RSA signature is as long as the modulus.
      const lines = info.split('\n');
      const first = lines.findIndex((l) => l.startsWith('signature:'));
      const sigText = [
        lines[first].slice('signature:'.length),
        ...lines.slice(first + 1).filter((_, i, rest) => rest.slice(0, i + 1).every((l) => /^\s/.test(l))),
      ].join('');
      const sigBytes = (sigText.match(/[0-9A-F]{2}/gi) ?? []).length;
      expect(s.algorithm.id, m).toBe(`RSA-${sigBytes * 8}`);
    }
    // Debian signs its modules with an RSA-4096 "Build time autogenerated kernel key" (a 512-byte signature).
    expect(new Set(files.modules.map((m) => under(m).findings.find((x) => x.kind === 'signature')!.algorithm.id))).toEqual(new Set(['RSA-4096']));
  });

  it('OVMF variable stores: every enrolled certificate matches openssl x509 at the reported offset', (ctx) => {
    skipUnless(ctx, ['openssl']);
    expect(files.vars.length).toBeGreaterThan(0);
    for (const f of files.vars) {
      const certs = under(f).findings.filter((x) => x.format === 'uefi-esl' && x.kind === 'certificate');
      // PK, KEK (Debian + Microsoft KEK CA 2011), db (Microsoft Windows Production PCA 2011, UEFI CA 2011).
      expect(certs.length, f).toBeGreaterThanOrEqual(4);
      const image = readFileSync(f);
      for (const c of certs) {
        const len = image.readUInt16BE(c.location.offset! + 2) + 4; // 30 82 LL LL
        const der = image.subarray(c.location.offset!, c.location.offset! + len);
        const text = run('openssl', ['x509', '-inform', 'DER', '-noout', '-subject', '-text'], { input: der });
        expect(cn(c.subject!), f).toBe(cn(text.match(/^subject=(.+)$/m)![1]));
        expect(c.algorithm.id).toBe(`RSA-${text.match(/Public-Key: \((\d+) bit\)/)![1]}`);
      }
      expect(certs.map((c) => cn(c.subject!))).toContain('Microsoft Corporation UEFI CA 2011');
    }
  });

  it('scanned quickly', (ctx) => {
    skipUnless(ctx);
    const bytes = [...files.efi, files.vmlinuz!, ...files.modules].reduce((n, f) => n + statSync(f).size, 0);
    expect(bytes).toBeGreaterThan(1_000_000);
    expect(result!.scan.stats.artifacts).toBeGreaterThanOrEqual(files.efi.length + files.modules.length + 1);
  });
});
