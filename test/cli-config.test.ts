/** `scan --config`: a scheduled job as one command (targets, outputs, inventory from the config file). */
import { spawnSync } from 'node:child_process';
import { copyFileSync, existsSync, mkdirSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { parseConfig } from '../src/config.js';
import { FIXTURES } from './helpers/scan.js';

const BIN = join(import.meta.dirname, '..', 'bin', 'shelflife.js');

describe('scan --config', () => {
  it('takes targets, outputs and the inventory from the config, relative to the config file', () => {
    const dir = mkdtempSync(join(tmpdir(), 'shelflife-conf-'));
    mkdirSync(join(dir, 'releases'));
    copyFileSync(join(FIXTURES, 'core', 'bundle.tar.gz'), join(dir, 'releases', 'r1.tar.gz'));
    writeFileSync(
      join(dir, 'shelflife.config.yaml'),
      [
        'version: 1',
        'scan:',
        '  targets: [releases]',
        '  db: state/inventory.db',
        '  outputs:',
        '    - { format: json, path: "out/scan-{date}.json" }',
        '    - { format: sarif, path: out/shelflife.sarif }',
        '    - { format: html, path: out/exposure.html }',
        '',
      ].join('\n'),
    );
    const r = spawnSync(process.execPath, [BIN, 'scan', '--config', join(dir, 'shelflife.config.yaml'), '--quiet', '--now', '2026-11-28'], {
      encoding: 'utf8',
      cwd: tmpdir(),
    });
    expect(r.status, r.stderr).toBe(0);
    const json = JSON.parse(readFileSync(join(dir, 'out', 'scan-2026-11-28.json'), 'utf8'));
    expect(json.artifacts.some((a: { uri: string }) => a.uri.endsWith('/releases/r1.tar.gz!/etc/pki/leaf.crt'))).toBe(true);
    expect(JSON.parse(readFileSync(join(dir, 'out', 'shelflife.sarif'), 'utf8')).version).toBe('2.1.0');
    expect(readFileSync(join(dir, 'out', 'exposure.html'), 'utf8')).toContain('<svg');
    expect(existsSync(join(dir, 'state', 'inventory.db'))).toBe(true);
  });

  it('rejects unknown keys with file and line, and bad output formats before scanning', () => {
    expect(() => parseConfig('version: 1\nscan:\n  targets: [x]\n  outptus: []\n', 'c.yaml')).toThrow(/c\.yaml:4: unknown key "outptus"/);
    const dir = mkdtempSync(join(tmpdir(), 'shelflife-conf-'));
    writeFileSync(join(dir, 'c.yaml'), 'version: 1\nscan:\n  targets: [.]\n  outputs: [{ format: pdf, path: x.pdf }]\n');
    const r = spawnSync(process.execPath, [BIN, 'scan', '--config', join(dir, 'c.yaml'), '--no-db'], { encoding: 'utf8' });
    expect(r.status).toBe(2);
    expect(r.stderr).toContain('unknown format "pdf"');
    const none = spawnSync(process.execPath, [BIN, 'scan', '--no-db'], { encoding: 'utf8' });
    expect(none.status).toBe(2);
    expect(none.stderr).toContain('no targets');
  });
});
