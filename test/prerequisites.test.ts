/** A missing prerequisite fails in CI (so a green CI never hides a check that did not run) and is left out elsewhere. */
import { mkdtempSync, symlinkSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { findProgram, inCI, needPrograms, requirePrerequisite } from './helpers/prerequisites.js';

const saved = { CI: process.env.CI, PATH: process.env.PATH };
afterEach(() => {
  for (const [k, v] of Object.entries(saved)) {
    if (v === undefined) delete process.env[k];
    else process.env[k] = v;
  }
  vi.restoreAllMocks();
});

describe('requirePrerequisite', () => {
  const fakeCtx = () => ({ skip: vi.fn() }) as unknown as Parameters<typeof requirePrerequisite>[0] & { skip: ReturnType<typeof vi.fn> };

  it('does nothing when the prerequisite is there', () => {
    const ctx = fakeCtx();
    requirePrerequisite(ctx, false);
    requirePrerequisite(ctx, undefined);
    expect(ctx.skip).not.toHaveBeenCalled();
  });

  it('fails in CI', () => {
    process.env.CI = 'true';
    const ctx = fakeCtx();
    expect(() => requirePrerequisite(ctx, 'sbverify not installed')).toThrow(/prerequisite missing in CI: sbverify not installed/);
    expect(ctx.skip).not.toHaveBeenCalled();
  });

  it('leaves the test out, loudly and once per reason, outside CI', () => {
    delete process.env.CI;
    const warn = vi.spyOn(console, 'warn').mockImplementation(() => undefined);
    const [a, b] = [fakeCtx(), fakeCtx()];
    requirePrerequisite(a, 'osslsigncode not installed');
    requirePrerequisite(b, 'osslsigncode not installed');
    expect(a.skip).toHaveBeenCalledWith('osslsigncode not installed');
    expect(b.skip).toHaveBeenCalledWith('osslsigncode not installed');
    expect(warn).toHaveBeenCalledTimes(1);
    expect(warn.mock.calls[0][0]).toContain('NOT RUN (outside CI only): osslsigncode not installed');
  });
});

describe('inCI', () => {
  it('is true for any CI value but empty, 0 and false', () => {
    for (const [v, want] of [
      ['true', true],
      ['1', true],
      ['woodpecker', true],
      ['', false],
      ['0', false],
      ['false', false],
      ['FALSE', false],
    ] as const) {
      process.env.CI = v;
      expect(inCI(), v).toBe(want);
    }
    delete process.env.CI;
    expect(inCI()).toBe(false);
  });
});

describe('programs on PATH', () => {
  // A PATH holding node alone, as on a machine with nothing but Node.
  const bin = mkdtempSync(join(tmpdir(), 'shelflife-path-'));
  symlinkSync(process.execPath, join(bin, 'node'));

  it('finds programs on PATH only, in-process', () => {
    process.env.PATH = bin;
    expect(findProgram('node')).toBe(join(bin, 'node'));
    expect(findProgram('gpg')).toBeUndefined();
    process.env.PATH = '';
    expect(findProgram('node')).toBeUndefined();
  });

  it('names the check, what is missing and the Debian package that provides it', () => {
    process.env.PATH = bin;
    expect(needPrograms('the node check', 'node')).toBe(false);
    expect(needPrograms('the gpg cross-check', 'node', 'gpg', 'shelflife-no-such-program')).toBe(
      'the gpg cross-check: gpg, shelflife-no-such-program not installed (apt-get install gnupg shelflife-no-such-program)',
    );
  });
});
