/**
 * Tests that need something from outside the repository: a Debian tool, the Debian archive, ../shared beside the
 * checkout. CI installs and provides all of it (.ci/run), so there a missing prerequisite FAILS the test: a green CI
 * can never hide a check that did not run. On a developer machine without the tool, the test is left out with a loud
 * line saying which check did not run and why.
 */
import type { TestContext } from 'vitest';

export function requirePrerequisite(ctx: TestContext, missing: string | undefined | false): void {
  if (!missing) return;
  if (process.env.CI) throw new Error(`prerequisite missing in CI: ${missing} (.ci/run installs it; this check must run)`);
  console.warn(`\n*** NOT RUN (outside CI only): ${missing} ***\n`);
  ctx.skip(missing);
}
