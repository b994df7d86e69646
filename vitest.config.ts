import { defineConfig } from 'vitest/config';

// Two projects: unit tests run in-process and in parallel; e2e tests spawn real processes
// (redis-server, xctl start, xsh, redis-cli) and get longer timeouts and fewer workers.
export default defineConfig({
  test: {
    projects: [
      {
        test: {
          name: 'unit',
          include: ['test/unit/**/*.test.ts'],
          environment: 'node',
          testTimeout: 20_000,
        },
      },
      {
        test: {
          name: 'e2e',
          include: ['test/e2e/**/*.test.ts'],
          environment: 'node',
          testTimeout: 60_000,
          hookTimeout: 60_000,
          pool: 'forks',
          // The AWS SDK releases in the lockfile run on Node 20; their notice about later ones is noise here.
          env: { AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED: 'true' },
        },
      },
    ],
  },
});
