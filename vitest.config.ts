import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    testTimeout: 30_000,
    hookTimeout: 30_000,
    // One fork per file keeps worker threads, sockets and child processes of one
    // behaviour from disturbing another's timing.
    pool: 'forks',
  },
});
