/** The one YAML loader under hostile rule and config files: bombs and oversized files are configuration errors (exit 2). */
import { spawnSync } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { z } from 'zod';
import { loadConfig, parseConfig } from '../../src/config.js';
import { ShelflifeError } from '../../src/errors.js';
import { MAX_RULES_FILE_BYTES } from '../../src/limits.js';
import { loadRulesFile } from '../../src/rules/loader.js';

const BIN = join(import.meta.dirname, '..', '..', 'bin', 'shelflife.js');

/** "Billion laughs": each level holds ten aliases of the previous one, so `levels` levels expand to 10^levels nodes. */
function aliasBomb(levels: number, head = 'version: 1'): string {
  const lines = [head, 'l0: &a0 [x, x, x, x, x, x, x, x, x, x]'];
  for (let i = 1; i <= levels; i++) lines.push(`l${i}: &a${i} [${Array.from({ length: 10 }, () => `*a${i - 1}`).join(', ')}]`);
  return `${lines.join('\n')}\n`;
}

const tmp = () => mkdtempSync(join(tmpdir(), 'shelflife-loader-'));

describe('rules loader against hostile YAML', () => {
  it('refuses an alias bomb in a config as a rules error naming the file', () => {
    let err: unknown;
    try {
      parseConfig(aliasBomb(9), 'bomb.yaml');
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(ShelflifeError);
    expect((err as ShelflifeError).code).toBe('rules');
    expect(err).toMatchObject({ uri: 'bomb.yaml', message: expect.stringMatching(/^aliases expand past \d+ nodes/) });
  });

  it('refuses an alias bomb in a rule file the same way', () => {
    const file = join(tmp(), 'policy.yaml');
    writeFileSync(file, aliasBomb(8, 'id: x'));
    expect(() => loadRulesFile(file, z.object({}).passthrough())).toThrow(
      expect.objectContaining({ uri: file, message: expect.stringMatching(/^aliases expand past/) }),
    );
  });

  it('still loads a file that uses a few aliases', () => {
    const file = join(tmp(), 'ok.yaml');
    writeFileSync(file, 'a: &x [1, 2]\nb: *x\nc: *x\n');
    expect(loadRulesFile(file, z.object({ a: z.array(z.number()), b: z.array(z.number()), c: z.array(z.number()) }))).toEqual({
      a: [1, 2],
      b: [1, 2],
      c: [1, 2],
    });
  });

  it('refuses a file larger than the limit before parsing it, also from a device that never ends', () => {
    const file = join(tmp(), 'huge.yaml');
    writeFileSync(file, `# ${'x'.repeat(MAX_RULES_FILE_BYTES)}\nversion: 1\n`);
    expect(() => loadConfig(file)).toThrow(expect.objectContaining({ uri: file, message: expect.stringMatching(/^larger than the \d+-byte limit/) }));
    expect(() => loadConfig('/dev/zero')).toThrow(
      expect.objectContaining({ uri: '/dev/zero', message: expect.stringMatching(/^larger than the \d+-byte limit/) }),
    );
  });

  it('scan --config with an alias bomb exits 2 (configuration error), not 3 (a bug), and names the file', () => {
    const file = join(tmp(), 'shelflife.config.yaml');
    writeFileSync(file, aliasBomb(9));
    const r = spawnSync(process.execPath, [BIN, 'scan', '--config', file, '--no-db', file], { encoding: 'utf8' });
    expect(r.stderr).toContain(file);
    expect(r.stderr).toMatch(/alias/);
    expect(r.status).toBe(2);
  });
});
