import { defineConfig } from 'tsup';

export default defineConfig({
  entry: {
    index: 'src/index.ts',
    'heap/index': 'src/heap/index.ts',
    'socket/index': 'src/socket/index.ts',
    'threads/index': 'src/threads/index.ts',
    'journal/index': 'src/journal/index.ts',
    'journal/cli': 'src/journal/cli.ts',
    'redis/index': 'src/redis/index.ts',
    'dashboard/index': 'src/dashboard/index.ts',
    'dashboard/prom-client': 'src/dashboard/prom-client.ts',
    'cron/index': 'src/cron/index.ts',
    'cli/docket': 'src/cli/docket.ts',
  },
  format: ['esm', 'cjs'],
  // Declarations marked @internal (Queue.restore, ReservedJob.record, ...) stay out of the published types.
  dts: { compilerOptions: { stripInternal: true } },
  target: 'node20',
  platform: 'node',
  // No sourcemaps: the output is unminified, readable JavaScript, and maps doubled the tarball.
  sourcemap: false,
  clean: true,
  splitting: true,
  treeshake: true,
});
