/**
 * Signatures cover what they sign, wherever they sit (issue 20; src/scan/coverage.ts): a release tree signed with the
 * standard tools (fixtures/gen/coverage.sh), whose expected verdicts come from those tools (gpgv, sha256sum -c,
 * minisign -V, signify -V, openssl cms -verify, openssl dgst -verify: fixtures/coverage/expected-coverage.json), the
 * OpenSSF Model Signing samples and slsa-verifier's signed attestation (fixtures/provenance/), walk orders, tampering,
 * second reads, exposure, and every human format.
 */
import { cpSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, unlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, relative } from 'node:path';
import { pathToFileURL } from 'node:url';
import { execFileSync } from 'node:child_process';
import { describe, expect, it } from 'vitest';
import type { ArtifactResult, ScanResult } from '../../src/model.js';
import { REPORTERS } from '../../src/report/index.js';
import { scan } from '../../src/scan/scan.js';
import { Inventory } from '../../src/inventory/inventory.js';
import { renderDiff } from '../../src/cli/inventory-commands.js';
import { FIXTURES } from '../helpers/scan.js';
import { COVERAGE_TREE, EXPECTED_COVERAGE } from '../helpers/coverage-expected.js';
import { needPrograms, requirePrerequisite } from '../helpers/prerequisites.js';
import { tar } from '../helpers/registry.js';

const TREE = COVERAGE_TREE;
const EXPECTED = EXPECTED_COVERAGE;
const NOW = () => new Date('2026-12-01T00:00:00Z');

function tmp(): string {
  return mkdtempSync(join(tmpdir(), 'shelflife-coverage-'));
}

function byPath(r: ScanResult, root: string): Map<string, ArtifactResult> {
  const base = pathToFileURL(root).href;
  return new Map(r.artifacts.filter((a) => a.uri.startsWith(`${base}/`)).map((a) => [decodeURIComponent(a.uri.slice(base.length + 1)), a]));
}

/** signedBy as the expectations write it: tree-relative signature paths. */
function links(a: ArtifactResult, root: string) {
  const rel = (u: string) => relative(root, decodeURIComponent(new URL(u).pathname));
  return (a.signedBy ?? []).map((l) => ({ signature: rel(l.uri), via: l.via, verification: l.verification, ...(l.index ? { index: rel(l.index) } : {}) }));
}

describe('coverage over a directory signed with the standard tools', () => {
  it('links every signature, checksum list and failure as the tools say', async () => {
    const r = await scan({ targets: [TREE], now: NOW, concurrency: 3 });
    const arts = byPath(r, TREE);
    for (const [file, want] of Object.entries(EXPECTED.files)) {
      const a = arts.get(file);
      expect(a, file).toBeDefined();
      expect({ file, coverage: a!.coverage, signed: a!.signed }).toEqual({ file, coverage: want.coverage, signed: want.signed });
      expect(
        links(a!, TREE).sort((x, y) => (x.signature < y.signature ? -1 : 1)),
        file,
      ).toEqual(want.signedBy);
      // A signature that fails over the file is an error on it naming the signature, never a link.
      for (const s of want.failed ?? [])
        expect(a!.errors.find((e) => e.uri === pathToFileURL(join(TREE, s)).href)?.message, file).toMatch(/does not verify over these bytes/);
      for (const l of want.mismatch ?? [])
        expect(a!.errors.find((e) => e.uri === pathToFileURL(join(TREE, l)).href)?.message, file).toBe('does not match the signed checksum in SHA256SUMS');
    }
  });

  it('names the signature by its verifying key, scores it as part of what it signs, and puts the exposure on the signed file', async () => {
    const r = await scan({ targets: [TREE], now: NOW });
    const arts = byPath(r, TREE);
    const fw = arts.get('firmware/fw-1.0.bin')!;
    const sig = arts.get('firmware/fw-1.0.bin.asc')!;
    // gpg's signature alone says "RSA"; the release key in keys/KEYS verified it: RSA-3072.
    const alg = sig.findings.find((f) => f.kind === 'signature')!.algorithm;
    expect(alg).toMatchObject({ id: 'RSA-3072', hash: 'SHA-256' });
    expect(alg.parameterKnown).toBeUndefined();
    // A DSSE envelope that names no key: joined by verification to the key that verifies it, and linked to it.
    const att = arts.get('tools/attested.bin.intoto.jsonl')!.findings.find((f) => f.kind === 'signature')!;
    expect(att.algorithm.id).toBe('ECDSA-P256');
    expect(att.details).toMatchObject({ parameterFrom: 'joined-key', signerInScan: true, signerRef: { uri: arts.get('keys/attestation.pub')!.uri } });
    expect(sig.class).toBe('firmware');
    expect(sig.signs).toEqual([fw.uri]);
    expect(fw.class).toBe('firmware');
    expect(fw.findings).toEqual([]);
    expect(fw.signedBy![0].exposure?.severity).toBe(fw.exposure?.severity);
    expect(fw.exposure?.severity).not.toBe('none');
    expect(fw.exposure?.explanation).toMatch(/^Signed by fw-1\.0\.bin\.asc: RSA-3072 OpenPGP signature on firmware/);
    // The checksum list's signature covers the files it lists with their own class and lifetime.
    const app = arts.get('release/app-2.0.tar.gz')!;
    expect(app.exposure?.explanation).toMatch(/^Covered by SHA256SUMS \(signed by SHA256SUMS\.asc\)|^Covered by SHA512SUMS \(signed by SHA512SUMS\.sig\)/);
    // Unsigned firmware stays unsigned, with nothing to forge.
    expect(arts.get('firmware/orphan.bin')!.exposure?.explanation).toMatch(/No signature found on this firmware/);
  });

  it('gives the same links whichever order the signature and the file are walked in', async () => {
    const files = ['firmware/fw-1.0.bin', 'firmware/fw-1.0.bin.asc', 'keys/KEYS', 'release/SHA256SUMS', 'release/SHA256SUMS.asc', 'release/lib-2.0.tar.gz'].map(
      (f) => join(TREE, f),
    );
    const shape = (r: ScanResult) =>
      r.artifacts
        .filter((a) => a.parent === null)
        .map((a) => ({ uri: a.uri, coverage: a.coverage, signedBy: links(a, TREE), signs: a.signs }))
        .sort((x, y) => (x.uri < y.uri ? -1 : 1));
    const forward = await scan({ targets: files, now: NOW, concurrency: 1 });
    const backward = await scan({ targets: [...files].reverse(), now: NOW, concurrency: 1 });
    const parallel = await scan({ targets: [...files.slice(3), ...files.slice(0, 3)], now: NOW, concurrency: 6 });
    expect(shape(backward)).toEqual(shape(forward));
    expect(shape(parallel)).toEqual(shape(forward));
    const fw = forward.artifacts.find((a) => a.uri.endsWith('/fw-1.0.bin'))!;
    expect(fw.signedBy).toMatchObject([{ via: 'detached', verification: 'verified', algorithm: 'RSA-3072' }]);
    const lib = forward.artifacts.find((a) => a.uri.endsWith('/lib-2.0.tar.gz'))!;
    expect(lib.signedBy).toMatchObject([{ via: 'checksum', verification: 'verified' }]);
  });

  it('reads a local file a second time only when a signature needs another digest of it, and never a member twice', async () => {
    const dir = tmp();
    try {
      // The same release directory inside a tarball: SHA-256 lines check against the digest the scan computed,
      // SHA-512 lines (and OpenPGP signatures over the files) would need a second read of a member: unverifiable.
      // Built in-process (test/helpers/registry.ts), so the test needs no tar program on a Node-only machine.
      const members: Record<string, Uint8Array> = {};
      for (const top of ['release', 'keys'])
        for (const name of readdirSync(join(TREE, top), { recursive: true, encoding: 'utf8' }).sort()) {
          const path = join(TREE, top, name);
          if (statSync(path).isFile()) members[`${top}/${name}`] = readFileSync(path);
        }
      writeFileSync(join(dir, 'release.tar'), tar(members));
      const r = await scan({ targets: [join(dir, 'release.tar')], now: NOW });
      const app = r.artifacts.find((a) => a.uri.endsWith('!/release/app-2.0.tar.gz'))!;
      const by = Object.fromEntries(app.signedBy!.map((l) => [l.uri.replace(/^.*!\//, ''), l]));
      expect(by['release/SHA256SUMS.asc']).toMatchObject({ via: 'checksum', verification: 'verified' });
      expect(by['release/SHA512SUMS.sig']).toMatchObject({ via: 'checksum', verification: 'unverifiable' });
      expect(by['release/SHA512SUMS.sig'].reason).toMatch(/a member of an archive is read once/);
      expect(app.coverage).toBe('covered');
      const tampered = r.artifacts.find((a) => a.uri.endsWith('!/release/tampered.tar.gz'))!;
      expect(tampered.errors.map((e) => e.message)).toContain('does not match the signed checksum in SHA256SUMS');
      // Loose on disk, the SHA-512 lines are checked by reading the file once more.
      const loose = await scan({ targets: [join(TREE, 'release'), join(TREE, 'keys')], now: NOW });
      const app2 = loose.artifacts.find((a) => a.uri.endsWith('/release/app-2.0.tar.gz'))!;
      expect(app2.signedBy!.map((l) => l.verification)).toEqual(['verified', 'verified']);
      // The second read is of the bytes the scan saw: a file changed since then is not checked as the one scanned.
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('never calls a file signed by a signature that fails, whatever the format', async () => {
    // One file per signature format of the tree, each changed by one bit after signing.
    const TAMPERED = [
      'firmware/fw-1.0.bin',
      'firmware/fw-2.0.bin',
      'tools/tool.bin',
      'tools/boot.img',
      'tools/drv.bin',
      'tools/drv-ec.bin',
      'tools/blob.bin',
      'tools/app.bin',
      'tools/attested.bin',
      'release/notes.txt',
    ];
    const dir = tmp();
    try {
      cpSync(TREE, dir, { recursive: true });
      for (const f of TAMPERED) {
        const p = join(dir, f);
        const b = readFileSync(p);
        b[b.length >> 1] ^= 0x01;
        writeFileSync(p, b);
      }
      const r = await scan({ targets: [dir], now: NOW });
      const arts = byPath(r, dir);
      for (const f of TAMPERED) {
        const a = arts.get(f)!;
        expect({ f, signedBy: a.signedBy, coverage: a.coverage === 'signed' }).toEqual({ f, signedBy: undefined, coverage: false });
        expect(
          a.errors.some((e) => e.source === 'coverage' && /does not verify over these bytes/.test(e.message)),
          f,
        ).toBe(true);
      }
      expect(arts.get('firmware/fw-1.0.bin')!.signed).toBe(false);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('agrees with gpgv, minisign and signify run now on the same files', (ctx) => {
    requirePrerequisite(ctx, needPrograms('the live cross-check of the coverage fixtures', 'gpg', 'gpgv', 'minisign', 'signify-openbsd'));
    const home = tmp();
    try {
      const ring = join(home, 'ring.gpg');
      execFileSync('gpg', ['--batch', '--homedir', home, '--dearmor', '-o', ring, join(TREE, 'keys', 'KEYS')]);
      const ok = (cmd: string, args: string[]) => {
        try {
          execFileSync(cmd, args, { stdio: 'ignore' });
          return 'verified';
        } catch {
          return 'failed';
        }
      };
      expect(ok('gpgv', ['--keyring', ring, join(TREE, 'firmware/fw-1.0.bin.asc'), join(TREE, 'firmware/fw-1.0.bin')])).toBe(
        EXPECTED.files['firmware/fw-1.0.bin'].signedBy[0].verification,
      );
      expect(ok('gpgv', ['--keyring', ring, join(TREE, 'firmware/bad.bin.asc'), join(TREE, 'firmware/bad.bin')])).toBe('failed');
      expect(ok('minisign', ['-V', '-p', join(TREE, 'keys/minisign.pub'), '-m', join(TREE, 'tools/tool.bin')])).toBe('verified');
      expect(
        ok('signify-openbsd', ['-V', '-p', join(TREE, 'keys/signify.pub'), '-x', join(TREE, 'tools/boot.img.sig'), '-m', join(TREE, 'tools/boot.img')]),
      ).toBe('verified');
    } finally {
      rmSync(home, { recursive: true, force: true });
    }
  });
});

describe('coverage in reports and diff', () => {
  it('every human format says what signs each file and which should be signed and are not', async () => {
    const r = await scan({ targets: [TREE], now: NOW });
    const md = REPORTERS.md.render(r, { cwd: TREE });
    expect(md).toMatch(/### Signatures/);
    expect(md).toMatch(/\| `firmware\/fw-1\.0\.bin` \| firmware \| signed by fw-1\.0\.bin\.asc \(RSA-3072, verified\) \|/);
    expect(md).toMatch(
      /\| `release\/lib-2\.0\.tar\.gz` \| software-release \| covered by SHA256SUMS \(signed by SHA256SUMS\.asc: RSA-3072, verified\); covered by SHA512SUMS/,
    );
    expect(md).toMatch(/\| `firmware\/orphan\.bin` \| firmware \| unsigned: no signature on it, inside it, around it or beside it \|/);
    // Why a file that had a signature is unsigned: the signature failed over it, or it does not match the signed list.
    expect(md).toMatch(/\| `firmware\/bad\.bin` \| firmware \| unsigned: the signature beside it does not verify over these bytes: .*\(bad\.bin\.asc\) \|/);
    expect(md).toMatch(/\| `release\/tampered\.tar\.gz` \| software-release \| unsigned: does not match the signed checksum in SHA256SUMS \(SHA256SUMS\) \|/);
    const unsigned = r.artifacts.filter((a) => a.signed === false).length;
    expect(md).toContain(`**${unsigned} unsigned** that should be signed`);
    const html = REPORTERS.html.render(r, { cwd: TREE });
    expect(html).toContain('<h2>Signatures</h2>');
    expect(html).toContain('signed by fw-1.0.bin.asc (RSA-3072, verified)');
    expect(html).toContain(`<strong>${unsigned} unsigned</strong>`);
    // Signature files are shown with what they sign, not as artifacts of their own in "Worst artifacts".
    expect(html).not.toMatch(/<code>firmware\/fw-1\.0\.bin\.asc<\/code>/);
    const table = REPORTERS.table.render(r, { cwd: TREE });
    expect(table).toMatch(/unsigned firmware: firmware\/orphan\.bin/);
    expect(table).toMatch(new RegExp(`${unsigned} unsigned that should be signed`));
    // The CBOM links the signed file to its signature and that signature's algorithm.
    const bom = JSON.parse(REPORTERS.cbom.render(r, {}));
    const fw = r.artifacts.find((a) => a.uri.endsWith('/firmware/fw-1.0.bin'))!;
    const deps = bom.dependencies.find((d: { ref: string }) => d.ref === fw.uri).dependsOn as string[];
    // The signature's algorithm with its hash (RSA-3072 with SHA-256), which depends on the key algorithm in turn.
    expect(deps).toContain('crypto/algorithm/RSA-3072/SHA-256');
    expect(bom.dependencies.find((d: { ref: string }) => d.ref === 'crypto/algorithm/RSA-3072/SHA-256').dependsOn).toEqual(['crypto/algorithm/RSA-3072']);
    expect(deps.some((d) => d.startsWith('crypto/signature/'))).toBe(true);
  });

  it('diff reports a signature lost when its file is deleted, and gained when it comes back', async () => {
    const dir = tmp();
    const db = join(dir, 'inv.db');
    const tree = join(dir, 'tree');
    cpSync(TREE, tree, { recursive: true });
    const run = async () => {
      const inv = await Inventory.open(db);
      try {
        return await scan({ targets: [tree], inventory: inv, now: NOW });
      } finally {
        await inv.close();
      }
    };
    try {
      const first = await run();
      const asc = readFileSync(join(tree, 'firmware', 'fw-1.0.bin.asc'));
      unlinkSync(join(tree, 'firmware', 'fw-1.0.bin.asc'));
      const second = await run();
      const fw = second.artifacts.find((a) => a.uri.endsWith('/firmware/fw-1.0.bin'))!;
      expect(fw.signed).toBe(false);
      expect(second.scan.stats.reused).toBeGreaterThan(0);
      const inv = await Inventory.open(db);
      try {
        const d = await inv.diff(first.scan.id, second.scan.id);
        expect(d.coverageLost.map((c) => c.uri)).toEqual([fw.uri]);
        expect(d.coverageLost[0]).toMatchObject({ before: { coverage: 'signed' }, after: { signed: false, coverage: 'unsigned' } });
        const text = renderDiff(d, tree);
        expect(text).toContain('- signature lost:   firmware/fw-1.0.bin (fw-1.0.bin.asc): now unsigned');
        expect(REPORTERS.md.render(second, { cwd: tree })).toMatch(/\| `firmware\/fw-1\.0\.bin` \| firmware \| unsigned/);
      } finally {
        await inv.close();
      }
      writeFileSync(join(tree, 'firmware', 'fw-1.0.bin.asc'), asc);
      const third = await run();
      const inv2 = await Inventory.open(db);
      try {
        const d = await inv2.diff(second.scan.id, third.scan.id);
        expect(d.coverageGained.map((c) => c.uri)).toEqual([fw.uri]);
        expect(d.coverageLost).toEqual([]);
      } finally {
        await inv2.close();
      }
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe('model signatures and real signed material', () => {
  const MODELS = join(FIXTURES, 'provenance', 'models');
  it('an OpenSSF Model Signing model.sig covers the files it lists, digests compared', async () => {
    const model = join(MODELS, 'hf-model');
    const key = join(FIXTURES, 'provenance', 'keys', 'model-signer.pub.pem');
    const r = await scan({ targets: [model, key], now: NOW });
    const arts = byPath(r, model);
    const sig = arts.get('model.sig')!;
    for (const f of ['model.safetensors', 'model.gguf', 'model.onnx', 'config.json']) {
      const a = arts.get(f)!;
      expect(a.signedBy, f).toMatchObject([{ uri: sig.uri, via: 'model', algorithm: 'ECDSA-P384', verification: 'verified' }]);
      expect(a.coverage).toBe('covered');
    }
    expect(sig.signs?.length).toBeGreaterThanOrEqual(4);
    // Without the signer's key in the scan the digests still match, but the signature cannot be checked.
    const alone = await scan({ targets: [model], now: NOW });
    expect(byPath(alone, model).get('model.gguf')!.signedBy).toMatchObject([{ verification: 'unverifiable' }]);
    // A file changed after signing is an error, and not covered.
    const dir = tmp();
    try {
      cpSync(model, dir, { recursive: true });
      const p = join(dir, 'model.gguf');
      const b = readFileSync(p);
      b[b.length - 1] ^= 1;
      writeFileSync(p, b);
      const t = await scan({ targets: [dir, key], now: NOW });
      const gguf = byPath(t, dir).get('model.gguf')!;
      expect(gguf.signedBy).toBeUndefined();
      expect(gguf.errors.map((e) => e.message)).toContain('does not match the model signature model.sig');
      expect(byPath(t, dir).get('model.onnx')!.signedBy).toMatchObject([{ verification: 'verified' }]);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('sharded and BLAKE2b model signatures, and the model-transparency reference samples', async () => {
    const key = join(FIXTURES, 'provenance', 'keys', 'model-signer.pub.pem');
    for (const m of ['sharded-model', 'blake2b-model']) {
      const r = await scan({ targets: [join(MODELS, m), key], now: NOW });
      const weights = byPath(r, join(MODELS, m)).get('weights.bin')!;
      expect(weights.signedBy, m).toMatchObject([{ via: 'model', verification: 'verified' }]);
    }
    // model_signing's own test models, signed by its maintainers (key, certificate and Sigstore signatures).
    const MT = join(FIXTURES, 'provenance', 'realworld', 'model-transparency');
    for (const v of ['v1.0.0-elliptic-key', 'v1.0.0-certificate', 'v1.0.0-sigstore', 'v1.1.0-elliptic-key', 'v0.2.0-certificate']) {
      const dir = join(MT, v);
      const r = await scan({ targets: [dir, join(MT, 'keys')], now: NOW });
      const arts = byPath(r, dir);
      for (const f of ['signme-1', 'signme-2'].filter((n) => arts.has(n))) {
        expect(arts.get(f)?.signedBy?.[0], `${v}/${f}`).toMatchObject({ via: 'model', uri: arts.get('model.sig')!.uri });
        expect(arts.get(f)!.errors, `${v}/${f}`).toEqual([]);
      }
    }
  });

  it("slsa-verifier's signed provenance (Sigstore bundle, Fulcio certificate) covers the file it was made for", async () => {
    const dir = join(FIXTURES, 'provenance', 'realworld', 'slsa-verifier');
    const r = await scan({ targets: [join(dir, 'MODULE.bazel'), join(dir, 'MODULE.bazel.intoto.jsonl')], now: NOW });
    const file = r.artifacts.find((a) => a.uri.endsWith('/MODULE.bazel'))!;
    expect(file.signedBy).toMatchObject([{ via: 'detached', format: 'sigstore', verification: 'verified', algorithm: 'ECDSA-P256' }]);
    expect(file.coverage).toBe('signed');
  });
});
