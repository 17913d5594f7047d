/** A missing prerequisite fails in CI (so a green CI never hides a check that did not run) and is left out elsewhere. */
import { afterEach, describe, expect, it, vi } from 'vitest';
import { requirePrerequisite } from './helpers/prerequisites.js';

describe('requirePrerequisite', () => {
  const saved = process.env.CI;
  afterEach(() => {
    if (saved === undefined) delete process.env.CI;
    else process.env.CI = saved;
  });
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

  it('leaves the test out, loudly, outside CI', () => {
    delete process.env.CI;
    const ctx = fakeCtx();
    const warn = vi.spyOn(console, 'warn').mockImplementation(() => undefined);
    requirePrerequisite(ctx, 'sbverify not installed');
    expect(ctx.skip).toHaveBeenCalledWith('sbverify not installed');
    expect(warn.mock.calls[0][0]).toContain('NOT RUN (outside CI only): sbverify not installed');
    warn.mockRestore();
  });
});
