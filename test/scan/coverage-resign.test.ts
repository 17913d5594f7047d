/**
 * After `resign`, a plain rescan with the inventory (incremental: unchanged artifacts are reused) shows what was done
 * (issue 16 items 8 and 9; docs/coverage.md): the original carries the hybrid signature (`signedBy`, `migration:
 * hybrid-signed`), its exposure reflects it, the sidecar is shown as its signature with its class, and `diff` says
 * the signature was gained. On files (sidecars beside them) and on an OCI image in the real registry (a referrer the
 * manifest digest does not change for).
 */
import { mkdirSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, inject, it } from 'vitest';
import { renderDiff } from '../../src/cli/inventory-commands.js';
import { Inventory } from '../../src/inventory/inventory.js';
import { SEVERITIES, type ArtifactResult, type ScanResult } from '../../src/model.js';
import { RegistryClient } from '../../src/oci/registry.js';
import { REPORTERS } from '../../src/report/index.js';
import { makePlan } from '../../src/resign/plan.js';
import { SignerPool } from '../../src/resign/pool.js';
import { runResign } from '../../src/resign/resign.js';
import { scan, type ScanOptions } from '../../src/scan/scan.js';
import { fileUri } from '../../src/sources/fs.js';
import { requirePrerequisiteForAll } from '../helpers/prerequisites.js';
import { gz, makeCert, pushImage, tar } from '../helpers/registry.js';
import { FIXTURES } from '../helpers/scan.js';
import { signingIdentity } from '../helpers/signing.js';

const ENV = { SHELFLIFE_KEY_PASSPHRASE: 'test passphrase' };
const NOW = () => new Date('2026-12-01T00:00:00Z');
const reg = inject('registry');
const REGISTRY_MISSING = !reg.available && reg.reason;

function identity(dir: string) {
  return signingIdentity(join(dir, 'keys', 'release'), undefined, ENV);
}

async function resign(doc: ScanResult, dir: string): Promise<void> {
  const id = identity(dir);
  const pool = new SignerPool(id.key, 0);
  try {
    const out = await runResign(makePlan(JSON.parse(JSON.stringify(doc)) as ScanResult, {}, 'p7s'), { key: id.key, cert: id.cert, format: 'p7s', pool });
    expect(out.filter((o) => o.status === 'signed').length).toBeGreaterThan(0);
  } finally {
    await pool.close();
  }
}

/** A scan recorded in the inventory at `db` (incremental: what is unchanged is reused). */
async function scanInto(db: string, options: ScanOptions): Promise<ScanResult> {
  const inv = await Inventory.open(db);
  try {
    return await scan({ ...options, inventory: inv, now: NOW });
  } finally {
    await inv.close();
  }
}

async function diffOf(db: string, from: ScanResult, to: ScanResult) {
  const inv = await Inventory.open(db);
  try {
    return await inv.diff(from.scan.id, to.scan.id);
  } finally {
    await inv.close();
  }
}

function art(r: ScanResult, uri: string): ArtifactResult {
  const a = r.artifacts.find((x) => x.uri === uri);
  if (!a) throw new Error(`no ${uri} among ${r.artifacts.map((x) => x.uri).join(', ')}`);
  return a;
}

const tempDir = (prefix: string) => mkdtempSync(join(tmpdir(), prefix));
const rank = (a: ArtifactResult) => SEVERITIES.indexOf(a.exposure?.severity ?? 'none');

/** A quantum-vulnerable RSA-2048 certificate as PEM (fixtures/pki/certs/rsa2048.der, made by fixtures/gen/pki.sh). */
function rsaCertPem(): Buffer {
  const b64 = readFileSync(join(FIXTURES, 'pki', 'certs', 'rsa2048.der')).toString('base64');
  return Buffer.from(`-----BEGIN CERTIFICATE-----\n${b64.match(/.{1,64}/g)!.join('\n')}\n-----END CERTIFICATE-----\n`);
}

describe('a rescan after resign on files', () => {
  it('reuses the unchanged original, links the new sidecar to it, and shows it hybrid-signed everywhere', async () => {
    const dir = tempDir('shelflife-coverage-resign-');
    const tree = join(dir, 'firmware');
    mkdirSync(tree);
    // Firmware that embeds its RSA-2048 update certificate (which vouches for it, classically), and firmware with
    // nothing in it (unsigned).
    writeFileSync(join(tree, 'fw.bin'), Buffer.concat([Buffer.alloc(3000, 7), rsaCertPem()]));
    writeFileSync(join(tree, 'plain.bin'), Buffer.alloc(4096, 3));
    const db = join(dir, 'inv.db');
    const first = await scanInto(db, { targets: [tree], concurrency: 2 });
    const fwUri = fileUri(join(tree, 'fw.bin'));
    const plainUri = fileUri(join(tree, 'plain.bin'));
    const before = art(first, fwUri);
    expect(before.class).toBe('firmware');
    expect(before.signed).toBeUndefined();
    expect(art(first, plainUri).signed).toBe(false);

    await resign(first, dir);
    const second = await scanInto(db, { targets: [tree], concurrency: 2 });
    // The originals did not change: they were reused, and the reuse did not hide the sidecars beside them.
    expect(second.scan.stats.reused).toBeGreaterThanOrEqual(2);
    for (const [uri, name] of [
      [fwUri, 'fw.bin.p7s'],
      [plainUri, 'plain.bin.p7s'],
    ]) {
      const a = art(second, uri);
      const sidecar = fileUri(join(tree, name));
      expect(a.signed, uri).toBeUndefined();
      expect(a.coverage).toBe('signed');
      expect(a.migration).toBe('hybrid-signed');
      expect(a.signedBy).toMatchObject([{ uri: sidecar, via: 'detached', verification: 'verified', algorithm: 'ML-DSA-65+ECDSA-P256', quantum: 'hybrid' }]);
      // The sidecar is the original's signature: scored with its class, listing what it signs.
      const s = art(second, sidecar);
      expect(s.signs).toEqual([uri]);
      expect(s.class).toBe('firmware');
    }
    // Its exposure reflects the verifiable hybrid signature: the classical certificate no longer decides it.
    const after = art(second, fwUri);
    expect(rank(after)).toBeLessThan(rank(before));
    expect(after.exposure?.inputs).toMatchObject({ migration: 'hybrid-signed' });

    // diff: the signatures gained; the human formats say hybrid-signed and name the sidecar as the signature.
    const d = await diffOf(db, first, second);
    expect(d.coverageGained.map((c) => c.uri).sort()).toEqual([fwUri, plainUri].sort());
    expect(d.coverageGained.find((c) => c.uri === fwUri)).toMatchObject({
      after: { migration: 'hybrid-signed', coverage: 'signed' },
      signatures: [fileUri(join(tree, 'fw.bin.p7s'))],
    });
    expect(d.coverageLost).toEqual([]);
    expect(renderDiff(d, tree)).toContain('+ signature gained: fw.bin (fw.bin.p7s): now hybrid-signed');
    const md = REPORTERS.md.render(second, { cwd: tree });
    expect(md).toMatch(/\| `fw\.bin` \| firmware \| hybrid-signed; signed by fw\.bin\.p7s \(ML-DSA-65\+ECDSA-P256, verified\) \|/);
    expect(md).toMatch(/2 hybrid-signed, \*\*0 unsigned\*\*/);
    const html = REPORTERS.html.render(second, { cwd: tree });
    expect(html).toContain('hybrid-signed; signed by fw.bin.p7s (ML-DSA-65+ECDSA-P256, verified)');
    expect(html).not.toMatch(/<code>fw\.bin\.p7s<\/code>/);
    expect(REPORTERS.table.render(second, { cwd: tree })).toMatch(/2 hybrid-signed, 0 unsigned that should be signed/);

    // A third scan with nothing changed reports no coverage change at all.
    const third = await scanInto(db, { targets: [tree], concurrency: 2 });
    const d2 = await diffOf(db, second, third);
    expect([d2.coverageLost, d2.coverageGained]).toEqual([[], []]);
    expect(art(third, fwUri).migration).toBe('hybrid-signed');
  });
});

describe('a rescan after resign on an OCI image (real registry)', () => {
  requirePrerequisiteForAll(REGISTRY_MISSING);

  it('sees the new referrer although the manifest digest did not change', async () => {
    const host = reg.anonymous;
    const repo = `coverage/rescan-${Date.now()}`;
    const client = new RegistryClient(host);
    const rsa = makeCert('old release key', 'rsa');
    const img = await pushImage(client, repo, 'v1', [{ bytes: gz(tar({ 'usr/bin/app': 'v1' })) }], { 'shelflife.class': 'container-image' });
    // A second image carrying a certificate (a blob artifact of its own, so the rescan has more than one image).
    await pushImage(client, repo, 'keys', [{ bytes: new TextEncoder().encode(rsa.certPem), mediaType: 'application/x-pem-file' }]);
    const dir = tempDir('shelflife-coverage-oci-');
    const db = join(dir, 'inv.db');
    const target = { targets: [`oci://${host}/${repo}`], concurrency: 2, sourceOptions: { backoffMs: 1 } };
    const uri = `oci://${host}/${repo}@${img.digest}`;
    const first = await scanInto(db, target);
    expect(art(first, uri).signed).toBe(false);
    const severityBefore = rank(art(first, uri));

    await resign(first, dir);
    const second = await scanInto(db, target);
    // Its manifest digest is what it was: reusing its result by that digest would hide the referrer resign pushed.
    expect(art(second, uri).sha256).toBe(art(first, uri).sha256);
    const a = art(second, uri);
    expect(a.signed).toBe(true);
    expect(a.coverage).toBe('signed');
    expect(a.migration).toBe('hybrid-signed');
    expect(a.signedBy).toMatchObject([{ via: 'attached', verification: 'verified', algorithm: 'ML-DSA-65+ECDSA-P256', quantum: 'hybrid' }]);
    expect(rank(a)).toBeLessThanOrEqual(severityBefore);
    const d = await diffOf(db, first, second);
    expect(d.coverageGained.map((c) => c.uri)).toContain(uri);
    expect(d.coverageGained.find((c) => c.uri === uri)?.after).toMatchObject({ signed: true, migration: 'hybrid-signed' });
    expect(REPORTERS.md.render(second, {})).toMatch(/hybrid-signed; signed \(cms, ML-DSA-65\+ECDSA-P256, verified\)/);
  });
});
