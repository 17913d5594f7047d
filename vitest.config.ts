import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    // Servers (registry, S3, syslog …) are started once per run by these global setups; each skips loudly when
    // its program cannot be installed. Add one file per server.
    globalSetup: [
      'test/setup/build.ts',
      'test/setup/postgres.ts',
      'test/setup/redis.ts',
      'test/setup/registry.ts',
      'test/setup/s3.ts',
      'test/setup/rsyslog.ts',
    ],
    testTimeout: 60_000,
    hookTimeout: 120_000,
    pool: 'forks',
    maxWorkers: 2,
  },
});
