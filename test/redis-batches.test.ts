/**
 * The batched hot path of docket/redis on a real redis-server: a consumer with thousands
 * of free slots reserves, and acks, thousands of jobs per script call. A script's batched
 * commands (one ZADD of every new lease, one ZREM and one DEL of every acked job) go out
 * in slices, because Lua cannot pass more than a few thousand values to one command.
 */
import { createClient } from 'redis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openRedisQueue } from '../src/redis/index.js';
import { requireRedis, startRedis, type RunningRedis } from './helpers/redis.js';

describe.skipIf(!requireRedis('the docket/redis batch tests'))('docket/redis in large batches', () => {
  let server: RunningRedis;
  let admin: ReturnType<typeof createClient>;

  beforeAll(async () => {
    server = await startRedis();
    admin = createClient({ url: server.url });
    await admin.connect();
  });
  afterAll(async () => {
    await admin?.close();
    await server?.stop();
  });

  async function scriptCalls(): Promise<number> {
    const info = await admin.info('commandstats');
    return Number(/cmdstat_evalsha:calls=(\d+)/.exec(info)?.[1] ?? 0) + Number(/cmdstat_eval:calls=(\d+)/.exec(info)?.[1] ?? 0);
  }

  it('a consumer with 5,000 free slots takes 5,000 jobs in one call and acks them in the next; each job runs once and leaves nothing behind', async () => {
    const jobs = 6000;
    const q = await openRedisQueue<{ n: number }>({ url: server.url, name: 'batches', concurrency: 5000 });
    try {
      // Every other job has a dedupe id: acking it must free the id too.
      await q.addBulk(Array.from({ length: jobs }, (_, n) => ({ data: { n }, options: n % 2 === 0 ? { id: `job-${n}` } : undefined })));
      const before = await scriptCalls();
      const runs = new Map<number, number>();
      let completed = 0;
      const done = new Promise<void>((resolve, reject) => {
        q.on('completed', () => void (++completed === jobs && resolve()));
        // A script the server refuses (a batch too large for one command) is reported here.
        q.on('error', reject);
      });
      q.process(async (job) => void runs.set(job.data.n, (runs.get(job.data.n) ?? 0) + 1), { concurrency: 5000 });
      await done;
      // 5,000 taken, then 5,000 acked with the last 1,000 taken, then those acked: a few
      // calls (a slow machine may split a stretch of acks in two), never one per job.
      expect(await scriptCalls()).toBeLessThan(before + 20);
      expect(runs.size).toBe(jobs);
      expect([...runs.values()].every((count) => count === 1)).toBe(true);
      const stats = await q.stats();
      expect([stats.completed, stats.ready, stats.reserved, stats.buried]).toEqual([jobs, 0, 0, 0]);
      const keys = (await admin.keys('docket:{batches}:*')).sort();
      expect(keys).toEqual(['docket:{batches}:events', 'docket:{batches}:meta']);
      // The dedupe ids are free again.
      expect((await q.add({ n: 0 }, { id: 'job-0' })).duplicate).toBe(false);
    } finally {
      await q.close({ timeout: 1000 });
    }
  });
});
