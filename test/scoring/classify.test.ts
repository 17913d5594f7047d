/** Artifact classes, lifetimes, creation evidence and `signed: false`, through scoreScan as the scan calls it. */
import { copyFileSync, mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { describe, expect, it } from 'vitest';
import { parseConfig } from '../../src/config.js';
import type { ArtifactResult } from '../../src/model.js';
import { scan } from '../../src/scan/scan.js';
import { bundledScoringRules, locationPath, scoreScan } from '../../src/scoring/index.js';
import { FIXTURES } from '../helpers/scan.js';
import { artifact, finding, NOW, scanOf } from './helpers.js';

function classify(arts: ArtifactResult[], options: Parameters<typeof scoreScan>[1] = {}): ArtifactResult[] {
  scoreScan(scanOf(arts), { now: NOW, ...options });
  return arts;
}

describe('classification', () => {
  it('uses path globs, media types, OCI annotations, formats and kinds', () => {
    const [fw, boot, img, weights, ckpt, cert, key, rel, other] = classify([
      artifact('file:///x/lib/firmware/iwlwifi.ucode', []),
      artifact('file:///esp/EFI/BOOT/BOOTX64.EFI', []),
      artifact('oci://127.0.0.1:5000/app@sha256:ab', [], { mediaType: 'application/vnd.oci.image.manifest.v1+json' }),
      artifact('s3://models/llama/model-00001.safetensors', []),
      artifact('file:///runs/7/checkpoint-500/model.safetensors', []),
      artifact('file:///x/server.pem', [finding('certificate', 'RSA-2048')]),
      artifact('file:///x/thing.pem', [finding('private-key', 'ECDSA-P256')]),
      artifact('file:///x/setup.bin', [finding('signature', 'RSA-3072', { format: 'authenticode' })]),
      artifact('file:///x/notes.txt', []),
    ]);
    expect([fw, boot, img, weights, ckpt, cert, key, rel, other].map((a) => `${a.class} ${a.lifetime?.source}`)).toEqual([
      'firmware rule:firmware',
      'bootloader rule:bootloader',
      'container-image rule:container-image',
      'model-weights rule:model-weights',
      'checkpoint rule:checkpoint',
      'certificate rule:certificate',
      'key-material rule:key-material',
      'software-release rule:software-release',
      'other rule:other',
    ]);
  });

  it("a member no rule matches takes its container's class; a member a rule matches keeps its own", () => {
    const [outer, plain, key] = classify([
      artifact('file:///srv/firmware/image.tar', []),
      artifact('file:///srv/firmware/image.tar!/data/blob', [], { parent: 'file:///srv/firmware/image.tar' }),
      artifact('file:///srv/firmware/image.tar!/keys/id_ed25519', [], { parent: 'file:///srv/firmware/image.tar' }),
    ]);
    expect(outer.class).toBe('firmware');
    expect(plain.class).toBe('firmware');
    expect(key.class).toBe('key-material');
  });

  it('annotations override class and lifetime; config targets override rules; flags-free config class overrides apply', () => {
    const config = parseConfig(
      'version: 1\nclasses:\n  software-release: { lifetime: 9y }\ntargets:\n  - { match: "fleet/**", class: bootloader, migration: 6y }\n',
      'cfg.yaml',
      '/site',
    );
    const [ann, target, classOver] = classify(
      [
        artifact('file:///x/blob', [], { annotations: { 'shelflife.class': 'firmware', 'shelflife.lifetime': '12y' } }),
        artifact('file:///site/fleet/gw/u.bin', [finding('signature', 'RSA-2048', { format: 'cms' })], { modified: '2026-01-01T00:00:00Z' }),
        artifact('file:///x/app.deb', []),
      ],
      { config },
    );
    expect([ann.class, ann.lifetime]).toEqual(['firmware', { years: 12, source: 'annotation:shelflife.lifetime' }]);
    expect(target.class).toBe('bootloader');
    expect((target.findings[0].exposure!.inputs as { migrationYears: number }).migrationYears).toBe(6);
    expect(classOver.lifetime).toEqual({ years: 9, source: 'config:classes.software-release' });
  });

  it('creation time takes the best evidence and records it', () => {
    const [sig, cert, oci, mtime, none, future] = classify([
      artifact(
        'file:///a',
        [finding('signature', 'RSA-2048', { created: '2024-05-01T00:00:00Z' }), finding('certificate', 'RSA-2048', { notBefore: '2023-01-01T00:00:00Z' })],
        { modified: '2025-01-01T00:00:00Z' },
      ),
      artifact('file:///b', [finding('certificate', 'RSA-2048', { notBefore: '2023-01-01T00:00:00Z' })], { modified: '2025-01-01T00:00:00Z' }),
      artifact('file:///c', [], { annotations: { 'org.opencontainers.image.created': '2022-03-04T05:06:07Z' }, modified: '2025-01-01T00:00:00Z' }),
      artifact('file:///d', [], { modified: '2025-01-01T00:00:00Z' }),
      artifact('file:///e', []),
      artifact('file:///f', [], { modified: '2031-01-01T00:00:00Z' }),
    ]);
    expect(sig.created).toEqual({ at: '2024-05-01T00:00:00Z', source: 'signature:x509' });
    expect(cert.created).toEqual({ at: '2023-01-01T00:00:00Z', source: 'certificate:notBefore' });
    expect(oci.created).toEqual({ at: '2022-03-04T05:06:07Z', source: 'annotation:org.opencontainers.image.created' });
    expect(mtime.created).toEqual({ at: '2025-01-01T00:00:00Z', source: 'mtime' });
    expect(none.created).toEqual({ at: NOW.toISOString(), source: 'assumed:now' });
    expect(future.created?.at).toBe(NOW.toISOString());
    expect(future.created?.source).toMatch(/^mtime \(future date 2031-01-01T00:00:00Z clamped to now\)$/);
  });

  it('ignores hostile dates and durations', () => {
    const [a] = classify([
      artifact('file:///x/fw.rom', [finding('signature', 'RSA-2048', { created: 'not a date' })], {
        modified: '9999-99-99',
        annotations: { 'shelflife.lifetime': '1e308y', 'shelflife.copies': '-5' },
      }),
    ]);
    expect(a.created?.source).toBe('assumed:now');
    expect(a.lifetime).toEqual({ years: 15, source: 'rule:firmware' });
    expect((a.findings[0].exposure!.inputs as { remainingYears: number }).remainingYears).toBe(15);
  });

  it('takes copies from duplicates in the scan and the inventory, and retirement from the inventory', () => {
    const enc = () => [finding('encrypted-data', 'RSA-2048', { format: 'cms' })];
    const [one, dupA, dupB, inv] = classify([
      artifact('file:///db/a.sql', enc(), { sha256: '1'.repeat(64), modified: '2026-01-01T00:00:00Z' }),
      artifact('file:///db/b.sql', enc(), { sha256: '2'.repeat(64), modified: '2026-01-01T00:00:00Z' }),
      artifact('s3://bucket/b.sql', enc(), { sha256: '2'.repeat(64), modified: '2026-01-01T00:00:00Z' }),
      artifact('file:///db/c.sql', enc(), { sha256: '3'.repeat(64), modified: '2026-01-01T00:00:00Z', copies: 5 }),
    ]);
    const copies = (a: ArtifactResult) => (a.findings[0].exposure!.inputs as { copies: number }).copies;
    expect([copies(one), copies(dupA), copies(dupB), copies(inv)]).toEqual([1, 2, 2, 5]);
    const [retired] = classify([
      artifact('file:///srv/firmware/old.rom', [finding('signature', 'RSA-2048', { format: 'cms' })], {
        modified: '2020-01-01T00:00:00Z',
        retired: { at: '2024-01-01T00:00:00Z', reason: 'replaced' },
      }),
    ]);
    expect(retired.lifetime).toEqual({ years: 4, source: 'retired' });
    expect(retired.findings[0].exposure?.explanation).toMatch(/retired since 2024/);
  });

  it('locationPath decodes members and remote URIs', () => {
    expect(locationPath('file:///a/b%20c.tar!/x/y.bin')).toBe('a/b c.tar!/x/y.bin');
    expect(locationPath('s3://bucket/k/e.y?versionId=1')).toBe('bucket/k/e.y');
    expect(locationPath('oci://127.0.0.1:5000/repo@sha256:ab')).toBe('127.0.0.1:5000/repo@sha256:ab');
  });
});

describe('classification by what the artifact is before where it sits (issue 16 item 3)', () => {
  /** Real fixtures laid out as a Debian tree and a release folder, scanned through the whole pipeline. */
  async function scanTree(files: Record<string, string>): Promise<Record<string, string>> {
    const root = mkdtempSync(join(tmpdir(), 'shelflife-classes-'));
    try {
      for (const [to, from] of Object.entries(files)) {
        mkdirSync(dirname(join(root, to)), { recursive: true });
        copyFileSync(join(FIXTURES, from), join(root, to));
      }
      const result = await scan({ targets: [root], now: () => NOW, concurrency: 2 });
      const top = result.artifacts.filter((a) => !a.parent);
      return Object.fromEntries(top.map((a) => [decodeURI(a.uri.slice(pathToFileURL(root).href.length + 1)), a.class ?? '']));
    } finally {
      rmSync(root, { recursive: true, force: true });
    }
  }

  it('kernel modules under drivers/firmware stay os-image; an encrypted SQL dump under release/ is a database snapshot', async () => {
    const classes = await scanTree({
      'lib/modules/6.1.0/kernel/drivers/firmware/signed.ko': 'firmware/rsa4096-sha256.ko',
      'lib/modules/6.1.0/kernel/drivers/firmware/unsigned.ko': 'firmware/unsigned.ko',
      'lib/modules/6.1.0/kernel/drivers/net/e1000.ko': 'firmware/ecdsa-p384-sha384.ko',
      'lib/firmware/iwlwifi.bin': 'core/firmware-blob.bin',
      'release/customers.sql.gpg': 'openpgp/to-rsa2048.gpg',
      'release/payload.bin.gpg': 'openpgp/passphrase-aes256.gpg',
      'release/tool.deb.asc': 'openpgp/detached-rsa-sha256.asc',
      'backup/keys/pubring.kbx': 'openpgp/pubring.kbx',
      'firmware/EFI/BOOT/BOOTX64.EFI': 'firmware/app-sbsign.efi',
    });
    expect(classes).toEqual({
      'backup/keys/pubring.kbx': 'key-material',
      'firmware/EFI/BOOT/BOOTX64.EFI': 'bootloader',
      'lib/firmware/iwlwifi.bin': 'firmware',
      'lib/modules/6.1.0/kernel/drivers/firmware/signed.ko': 'os-image',
      'lib/modules/6.1.0/kernel/drivers/firmware/unsigned.ko': 'os-image',
      'lib/modules/6.1.0/kernel/drivers/net/e1000.ko': 'os-image',
      'release/customers.sql.gpg': 'database-snapshot',
      // Encrypted, and its name says nothing more: the folder decides.
      'release/payload.bin.gpg': 'software-release',
      'release/tool.deb.asc': 'software-release',
    });
  });

  it('the rules file is ordered by the strength of its evidence: store, format, name, folder, findings', () => {
    const rules = bundledScoringRules().lifetimes.rules;
    const tier = (r: (typeof rules)[number]) =>
      r.mediaTypes || r.annotations
        ? 1
        : r.formats && !r.formats.includes('authenticode') && !r.formats.includes('pkcs8')
          ? 2
          : r.paths?.some((g) => g.endsWith('/**') && !g.includes('EFI/BOOT') && !g.includes('checkpoint'))
            ? 4
            : r.paths?.some((g) => /\{tar,/.test(g))
              ? 5
              : r.paths
                ? 3
                : 5;
    const tiers = rules.map(tier);
    expect(tiers).toEqual([...tiers].sort((x, y) => x - y));
    expect(new Set(tiers)).toEqual(new Set([1, 2, 3, 4, 5]));
  });
});

describe('signed: false', () => {
  it('marks unsigned artifacts of classes that should be signed, and only those', () => {
    const arts = classify([
      artifact('file:///r/app.deb', []), // unsigned release → false
      artifact('file:///r/signed.deb', [finding('signature', 'RSA-2048', { format: 'openpgp' })]),
      // signed by a detached signature beside it, as the coverage pass links them (src/scan/coverage.ts)
      artifact('file:///r/tool.tar.gz', [], {
        signedBy: [
          {
            uri: 'file:///r/tool.tar.gz.asc',
            finding: 0,
            via: 'detached',
            algorithm: 'Ed25519',
            quantum: 'vulnerable',
            format: 'openpgp',
            verification: 'verified',
          },
        ],
      }),
      artifact('file:///r/tool.tar.gz.asc', [finding('signature', 'Ed25519', { format: 'openpgp' })], { signs: ['file:///r/tool.tar.gz'] }),
      artifact('file:///r/bundle.zip', []), // a member inside carries the signature
      artifact('file:///r/bundle.zip!/META-INF/CERT.RSA', [finding('signature', 'RSA-2048', { format: 'cms' })], { parent: 'file:///r/bundle.zip' }),
      artifact('file:///r/bundle.zip!/lib/inner.jar', [], { parent: 'file:///r/bundle.zip' }), // a sibling member signs the container
      artifact('file:///r/notes.txt', []), // class other: no signature expected
      artifact('file:///r/unread.deb', [], { sha256: null }), // not read: unknown
      artifact('file:///r/plain.zip', []), // unsigned container → false; its member inherits the class → not flagged
      artifact('file:///r/plain.zip!/payload', [], { parent: 'file:///r/plain.zip' }),
      artifact('file:///r/plain.zip!/tool.exe', [], { parent: 'file:///r/plain.zip' }), // classified itself → false
    ]);
    const signed = Object.fromEntries(arts.map((a) => [a.uri.replace('file:///r/', ''), a.signed]));
    expect(signed).toEqual({
      'app.deb': false,
      'signed.deb': undefined,
      'tool.tar.gz': undefined,
      'tool.tar.gz.asc': undefined,
      'bundle.zip': undefined,
      'bundle.zip!/META-INF/CERT.RSA': undefined,
      'bundle.zip!/lib/inner.jar': undefined,
      'notes.txt': undefined,
      'unread.deb': undefined,
      'plain.zip': false,
      'plain.zip!/payload': undefined,
      'plain.zip!/tool.exe': false,
    });
    expect(arts[0].exposure).toMatchObject({ score: 0, severity: 'none' });
    expect(arts[0].exposure?.explanation).toMatch(/No signature found on this software-release/);
  });

  it('the artifact takes its worst finding and lists every deadline of its findings', () => {
    const [a] = classify([
      artifact(
        'file:///srv/firmware/fw.cap',
        [finding('signature', 'ML-DSA-65+ECDSA-P256', { format: 'cms' }), finding('signature', 'RSA-2048', { format: 'cms', hash: 'SHA-256' })],
        { modified: '2026-01-01T00:00:00Z' },
      ),
    ]);
    expect(a.exposure?.score).toBe(80);
    expect(a.exposure?.severity).toBe('critical');
    expect(a.exposure?.deadlinesMissed).toHaveLength(2);
    expect(a.findings[0].exposure?.severity).toBe('none');
  });
});
