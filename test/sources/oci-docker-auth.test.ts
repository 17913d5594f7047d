import { chmodSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { dockerConfigPath, dockerCredentials } from '../../src/oci/docker-auth.js';

const dir = mkdtempSync(join(tmpdir(), 'shelflife-dockercfg-'));
function config(obj: unknown): string {
  const p = join(dir, `c${Math.random().toString(36).slice(2)}.json`);
  writeFileSync(p, JSON.stringify(obj));
  return p;
}

describe('docker config.json credentials', () => {
  it('reads auths entries under every key spelling docker writes', async () => {
    const auth = Buffer.from('alice:s3cr:et').toString('base64');
    for (const key of ['reg.example:5000', 'https://reg.example:5000', 'http://reg.example:5000/v1/']) {
      expect(await dockerCredentials('reg.example:5000', { configPath: config({ auths: { [key]: { auth } } }) })).toEqual({
        username: 'alice',
        password: 's3cr:et',
        source: expect.any(String),
      });
    }
    expect(await dockerCredentials('other:5000', { configPath: config({ auths: { 'reg.example:5000': { auth } } }) })).toBeUndefined();
    expect(await dockerCredentials('r', { configPath: config({ auths: { r: { identitytoken: 'tok' } } }) })).toMatchObject({ identityToken: 'tok' });
  });

  it('is anonymous when there is no config, or it is not JSON', async () => {
    expect(await dockerCredentials('r', { configPath: join(dir, 'missing.json') })).toBeUndefined();
    const bad = join(dir, 'bad.json');
    writeFileSync(bad, '{not json');
    expect(await dockerCredentials('r', { configPath: bad })).toBeUndefined();
    expect(dockerConfigPath({ DOCKER_CONFIG: '/x' })).toBe('/x/config.json');
  });

  it('runs docker-credential-<helper> get (credHelpers before credsStore) and falls back when it is missing', async () => {
    const bin = join(dir, 'bin');
    const { mkdirSync } = await import('node:fs');
    mkdirSync(bin, { recursive: true });
    // A credential helper speaking the docker-credential-helpers protocol: server on stdin, JSON on stdout.
    writeFileSync(
      join(bin, 'docker-credential-shelflifetest'),
      '#!/bin/sh\nread server\nif [ "$server" = "reg.example:5000" ]; then printf \'{"ServerURL":"%s","Username":"bob","Secret":"pw"}\' "$server"; else echo "credentials not found in native keychain"; exit 1; fi\n',
    );
    writeFileSync(
      join(bin, 'docker-credential-tokenhelper'),
      '#!/bin/sh\nread server\nprintf \'{"ServerURL":"%s","Username":"<token>","Secret":"refresh-me"}\' "$server"\n',
    );
    chmodSync(join(bin, 'docker-credential-shelflifetest'), 0o755);
    chmodSync(join(bin, 'docker-credential-tokenhelper'), 0o755);
    const oldPath = process.env.PATH;
    process.env.PATH = `${bin}:${oldPath}`;
    try {
      const cfg = config({
        credHelpers: { 'reg.example:5000': 'shelflifetest' },
        credsStore: 'tokenhelper',
        auths: { 'reg.example:5000': { auth: Buffer.from('not:used').toString('base64') } },
      });
      expect(await dockerCredentials('reg.example:5000', { configPath: cfg })).toEqual({
        username: 'bob',
        password: 'pw',
        source: 'docker-credential-shelflifetest',
      });
      expect(await dockerCredentials('elsewhere:1', { configPath: cfg })).toEqual({ identityToken: 'refresh-me', source: 'docker-credential-tokenhelper' });
      expect(await dockerCredentials('reg.example:5000', { configPath: config({ credsStore: 'not-installed-anywhere' }) })).toBeUndefined();
      expect(await dockerCredentials('reg.example:5000', { configPath: config({ credHelpers: { 'reg.example:5000': '../evil' } }) })).toBeUndefined();
    } finally {
      process.env.PATH = oldPath;
    }
  });
});
