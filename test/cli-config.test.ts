/**
 * `scan --config`: a scheduled job as one command (targets, outputs, inventory from the config file), and the same
 * mapping as a library call (configureScan, writeReports).
 */
import { spawnSync } from 'node:child_process';
import { copyFileSync, existsSync, mkdirSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { configureScan, loadConfig, parseConfig } from '../src/config.js';
import { UsageError } from '../src/errors.js';
import type { ScanResult } from '../src/model.js';
import { outputPath, writeReports } from '../src/report/write.js';
import { scan } from '../src/scan/scan.js';
import { FIXTURES } from './helpers/scan.js';
import { sampleResult } from './report/sample.js';

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
    expect(() => parseConfig('version: 1\nscan:\n  targets: [x]\n  outptus: []\n', 'c.yaml')).toThrow(
      expect.objectContaining({ uri: 'c.yaml:4', message: expect.stringMatching(/^unknown key "outptus"/) }),
    );
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

describe('configureScan: the config → scan options mapping, in the library', () => {
  const text = [
    'version: 1',
    'failOn: high',
    'timeline: gri-2024-low',
    'scan:',
    '  targets: [releases, "oci://registry.example/app"]',
    '  exclude: ["**/tmp/**"]',
    '  concurrency: 2',
    '  db: state/inventory.db',
    '  remote: { versions: true, digest: none }',
    '  credentials: { dockerConfig: docker, awsProfile: sec, awsEndpointUrlS3: "http://127.0.0.1:9000" }',
    '  outputs: [{ format: sarif, path: "out/{date}.sarif" }]',
    '  sinks: [{ url: "syslog+tls://siem.example:6514", ca: pki/ca.pem, format: ocsf }]',
    '',
  ].join('\n');

  it('maps every setting, relative paths against the config file, and lets the request win', () => {
    const config = parseConfig(text, '/etc/shelflife/c.yaml', '/etc/shelflife');
    const job = configureScan(config, {}, {});
    expect(job.options).toMatchObject({
      targets: ['/etc/shelflife/releases', 'oci://registry.example/app'],
      exclude: ['**/tmp/**'],
      concurrency: 2,
      sourceOptions: { versions: true, digest: 'none' },
      scoring: { config },
    });
    expect(job.db).toBe('/etc/shelflife/state/inventory.db');
    expect(job.outputs).toEqual([{ format: 'sarif', path: '/etc/shelflife/out/{date}.sarif' }]);
    expect(job.failOn).toBe('high');
    expect(job.sinks).toEqual([{ url: 'syslog+tls://siem.example:6514', ca: '/etc/shelflife/pki/ca.pem', format: 'ocsf' }]);
    expect(job.env).toEqual({ DOCKER_CONFIG: '/etc/shelflife/docker', AWS_PROFILE: 'sec', AWS_ENDPOINT_URL_S3: 'http://127.0.0.1:9000' });
    // The environment wins over the config's credential references; the request over everything else.
    expect(configureScan(config, {}, { AWS_PROFILE: 'ops' }).env).not.toHaveProperty('AWS_PROFILE');
    const asked = configureScan(
      config,
      { targets: ['/x'], concurrency: 8, sourceOptions: { digest: 'full', versions: undefined }, db: '/db', failOn: 'low' },
      {},
    );
    expect(asked.options).toMatchObject({ targets: ['/x'], concurrency: 8, sourceOptions: { versions: true, digest: 'full' } });
    expect([asked.db, asked.failOn]).toEqual(['/db', 'low']);
    expect(configureScan(config, { scoring: false }, {}).options.scoring).toBe(false);
  });

  it('says when there is nothing to scan, and refuses a bad concurrency', () => {
    expect(() => configureScan(undefined, {})).toThrow(UsageError);
    expect(() => configureScan(undefined, {})).toThrow(/no targets/);
    expect(() => configureScan(undefined, { targets: ['.'], concurrency: 0 })).toThrow(/concurrency/);
  });

  it('a library user gets what `scan --config` gives', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'shelflife-conf-'));
    mkdirSync(join(dir, 'releases'));
    copyFileSync(join(FIXTURES, 'core', 'bundle.tar.gz'), join(dir, 'releases', 'r1.tar.gz'));
    copyFileSync(join(FIXTURES, 'pki', 'certs', 'rsa2048.der'), join(dir, 'releases', 'leaf.der'));
    const file = join(dir, 'c.yaml');
    writeFileSync(file, 'version: 1\nclasses: { key-material: { lifetime: 30y } }\nscan:\n  targets: [releases]\n  exclude: ["**/*.der"]\n');
    const cli = spawnSync(process.execPath, [BIN, 'scan', '--config', file, '--no-db', '-f', 'json', '--now', '2026-11-28'], {
      encoding: 'utf8',
      cwd: tmpdir(),
    });
    expect(cli.status, cli.stderr).toBe(0);
    const now = new Date('2026-11-28T00:00:00Z');
    const job = configureScan(loadConfig(file), { scoring: { now }, now: () => now });
    const lib = await scan(job.options);
    const strip = (r: ScanResult) => r.artifacts;
    expect(strip(lib)).toEqual(strip(JSON.parse(cli.stdout) as ScanResult));
    expect(lib.artifacts.some((a) => a.uri.endsWith('leaf.der'))).toBe(false);
    // The config's class override reached scoring: key material lives 30 years here, not the bundled 5.
    const keys = lib.artifacts.filter((a) => a.class === 'key-material' && a.findings.length);
    expect(keys.length).toBeGreaterThan(0);
    for (const a of keys) expect(a.findings[0].exposure?.inputs?.lifetimeYears).toBe(30);
  });
});

describe('writeReports', () => {
  it('fills in {date} and {scan}, makes directories, and writes every format', () => {
    const dir = mkdtempSync(join(tmpdir(), 'shelflife-out-'));
    const result = sampleResult();
    const paths = writeReports(result, [
      { format: 'md', path: join(dir, 'a', '{date}-{scan}.md') },
      { format: 'csv', path: join(dir, 'b.csv') },
    ]);
    expect(paths).toEqual([join(dir, 'a', '2026-11-28-scan-0001.md'), join(dir, 'b.csv')]);
    expect(readFileSync(paths[0], 'utf8')).toContain('## shelflife scan');
    expect(outputPath({ ...result, scan: { ...result.scan, id: '../../x' } }, '/r/{scan}.json')).toBe('/r/.._.._x.json');
  });
});
