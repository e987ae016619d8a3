import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: [
      '{packages,services,apps}/*/src/**/*.test.ts',
      'test/**/*.test.ts',
      'infra/{src,test}/**/*.test.ts',
    ],
    testTimeout: 60_000,
    hookTimeout: 120_000,
    // End-to-end tests start real PostgreSQL servers and write large files: keep them from
    // fighting over the two cores of the CI machine.
    maxWorkers: 2,
  },
});
