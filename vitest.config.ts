import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    setupFiles: ['test/support/private-tmpdir.ts'],
    testTimeout: 60_000,
    hookTimeout: 60_000,
    // DuckDB instances and s3rver ports are per file; forks keep native handles isolated.
    pool: 'forks',
  },
});
