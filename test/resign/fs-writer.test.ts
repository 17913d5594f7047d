/**
 * resign on local files, attacked: member names that climb out of their archive (plain or percent-encoded, the URL
 * parser turns `%2e%2e` into `..`), and a directory swapped for a symlink between scan and resign. Nothing may be
 * written outside the directory that held the scanned file.
 */
import { existsSync, mkdirSync, readdirSync, readFileSync, renameSync, symlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { describe, expect, it } from 'vitest';
import type { ScanResult } from '../../src/model.js';
import { makePlan } from '../../src/resign/plan.js';
import { SignerPool } from '../../src/resign/pool.js';
import { runResign, type ResignOutcome } from '../../src/resign/resign.js';
import { scan } from '../../src/scan/scan.js';
import { FIXTURES } from '../helpers/scan.js';
import { tar } from '../helpers/registry.js';
import { tempDir } from './_helpers.js';
import { signingIdentity } from '../helpers/signing.js';

const ENV = { SHELFLIFE_KEY_PASSPHRASE: 'test passphrase' };
const CERT = readFileSync(join(FIXTURES, 'pki', 'certs', 'rsa2048.der'));
const PEM = `-----BEGIN CERTIFICATE-----\n${CERT.toString('base64').replace(/(.{64})/g, '$1\n')}\n-----END CERTIFICATE-----\n`;

function identity(dir: string) {
  return signingIdentity(join(dir, 'keys', 'k'), undefined, ENV);
}

async function resignAll(doc: ScanResult, dir: string): Promise<ResignOutcome[]> {
  const { key, cert } = identity(dir);
  const pool = new SignerPool(key, 0);
  try {
    return await runResign(makePlan(doc, {}, 'p7s'), { key, cert, format: 'p7s', pool });
  } finally {
    await pool.close();
  }
}

/** Every file under `dir`, relative. */
function files(dir: string): string[] {
  return readdirSync(dir, { recursive: true, encoding: 'utf8' }).sort();
}

describe('resign never writes outside the directory that held the scanned file', () => {
  it('member names climbing out of the archive, plain or percent-encoded, are traversal errors and never write targets', async () => {
    const base = tempDir();
    const root = join(base, 'a', 'b', 'c');
    mkdirSync(root, { recursive: true });
    // The victim: a file outside the scan root with the same bytes as the members (a public CA is on every machine).
    mkdirSync(join(base, 'victim'));
    writeFileSync(join(base, 'victim', 'ca.pem'), PEM);
    writeFileSync(
      join(root, 'bundle.tar'),
      tar({ '%2e%2e/%2e%2e/%2e%2e/victim/ca.pem': PEM, '../../../victim/ca.pem': PEM, '%252e%252e/x.pem': PEM, 'ok/ca.pem': PEM }),
    );
    const doc = await scan({ targets: [root], scoring: false });
    const archive = doc.artifacts.find((a) => a.uri.endsWith('/bundle.tar'))!;
    const traversal = archive.errors.filter((e) => e.code === 'path-traversal').map((e) => e.message);
    expect(traversal).toHaveLength(3);
    for (const name of ['%2e%2e/%2e%2e/%2e%2e/victim/ca.pem', '../../../victim/ca.pem', '%252e%252e/x.pem'])
      expect(traversal.some((m) => m.includes(JSON.stringify(name)))).toBe(true);

    const plan = makePlan(doc, { status: ['vulnerable'] }, 'p7s');
    expect(plan.refused.map((r) => r.reason)).toEqual([
      expect.stringMatching(/escapes its archive; never a write target/),
      expect.stringMatching(/escapes its archive; never a write target/),
      expect.stringMatching(/escapes its archive; never a write target/),
    ]);
    for (const item of plan.items) for (const l of item.locations) expect(l.address.startsWith(`${root}/`)).toBe(true);

    const outcomes = await resignAll(doc, base);
    expect(outcomes.filter((o) => o.status === 'signed').map((o) => o.location)).toEqual([pathToFileURL(join(root, 'bundle.tar!ok%2Fca.pem.p7s')).href]);
    expect(files(join(base, 'victim'))).toEqual(['ca.pem']);
    expect(files(root).filter((f) => f.endsWith('.p7s'))).toEqual(['bundle.tar!ok%2Fca.pem.p7s']);
  });

  it('refuses a directory swapped for a symlink between scan and resign, and writes nothing there', async () => {
    const base = tempDir();
    const root = join(base, 'tree');
    mkdirSync(join(root, 'sub'), { recursive: true });
    writeFileSync(join(root, 'sub', 'ca.pem'), PEM);
    mkdirSync(join(base, 'elsewhere'));
    writeFileSync(join(base, 'elsewhere', 'ca.pem'), PEM); // same bytes, so the sha256 check alone would pass
    const doc = await scan({ targets: [root], scoring: false });
    renameSync(join(root, 'sub'), join(root, 'sub.moved'));
    symlinkSync(join(base, 'elsewhere'), join(root, 'sub'));

    const outcomes = await resignAll(doc, base);
    expect(outcomes).toHaveLength(1);
    expect(outcomes[0].status).not.toBe('signed');
    expect(outcomes[0].reason).toMatch(/not the directory the scan saw/);
    expect(files(join(base, 'elsewhere'))).toEqual(['ca.pem']);
    expect(existsSync(join(root, 'sub.moved', 'ca.pem.p7s'))).toBe(false);
  });

  it('signs in place when nothing moved (the same tree, scanned and re-signed)', async () => {
    const base = tempDir();
    const root = join(base, 'tree');
    mkdirSync(join(root, 'sub'), { recursive: true });
    writeFileSync(join(root, 'sub', 'ca.pem'), PEM);
    const doc = await scan({ targets: [root], scoring: false });
    const outcomes = await resignAll(doc, base);
    expect(outcomes.map((o) => o.status)).toEqual(['signed']);
    expect(existsSync(join(root, 'sub', 'ca.pem.p7s'))).toBe(true);
  });
});
