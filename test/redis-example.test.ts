/**
 * examples/redis runs as documented: a producer and two worker processes on one Redis
 * (the tour's stop, which starts its own redis-server), every job done, all exit cleanly.
 */
import { execFile } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { describe, expect, it } from 'vitest';
import { requireRedis } from './helpers/redis.js';

const tour = fileURLToPath(new URL('../examples/redis/tour.ts', import.meta.url));

describe.skipIf(!requireRedis('the examples/redis run'))('examples/redis', () => {
  it('a producer and two workers share one queue on Redis and finish every job', async () => {
    const { stdout } = await promisify(execFile)(process.execPath, ['--import', 'tsx', tour], { timeout: 60_000 });
    const lines = stdout.trim().split('\n');
    expect(lines).toContain('producer: all done: 13 completed, 0 failed attempts, 0 dead letters');
    expect(lines.filter((line) => / job \d+ done /.test(line))).toHaveLength(13);
    expect(lines.filter((line) => line.endsWith('waiting for jobs'))).toHaveLength(2);
  });
});
