import { defineConfig } from 'vitest/config';

// Two projects: unit tests run in-process; e2e tests spawn real processes (redis-server,
// xctl start, xsh, redis-cli) and get longer timeouts and a process per file (forks).
export default defineConfig({
  test: {
    // Two test files at a time (vitest's default is one less than the cores: one on CI's two). The
    // pool is shared by both projects (vitest sizes it from this root option only, not per
    // project). Most of an e2e file's time is spent waiting on the processes it started, so two
    // overlap well on two cores: the whole e2e project took 240 s instead of ~385 s of file time.
    maxWorkers: 2,
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
