import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    // A guard against hangs, not a speed bound: the CPU-heavy model and crash tests take
    // seconds alone and several times that on a loaded 2-core machine.
    testTimeout: 120_000,
    hookTimeout: 120_000,
    // One fork per file keeps worker threads, sockets and child processes of one
    // behaviour from disturbing another's timing.
    pool: 'forks',
  },
});
