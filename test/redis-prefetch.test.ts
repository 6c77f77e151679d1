/**
 * The prefetch of a push consumer on a real redis-server: while its handlers finish faster
 * than a take's round trip, `process()` takes jobs beyond its free slots, with two takes
 * on the wire, and holds at most four times `concurrency` jobs (running, prefetched and
 * asked for). Those jobs are leased early, so: their leases are renewed with the running
 * ones, they go back to the queue (uncounted) at close and at pause, a prefetched job whose
 * lease was lost is never run on it, and slow handlers prefetch nothing.
 */
import { describe, expect, it } from 'vitest';
import { openRedisQueue, type RedisJob, type RedisQueue, type RedisQueueOptions } from '../src/redis/index.js';
import { deferred, type Deferred, until } from './helpers/flush.js';
import { requireRedis } from './helpers/redis.js';
import { closedAfterEach, sharedRedis } from './helpers/redis-suite.js';

interface Payload {
  n: number;
}

let names = 0;

describe.skipIf(!requireRedis('the docket/redis prefetch tests'))('docket/redis prefetch', () => {
  const redis = sharedRedis();
  const queues = closedAfterEach<RedisQueue<Payload>>();

  /** A consumer and an observer on one fresh queue. */
  async function pair(options: Partial<RedisQueueOptions<Payload>> = {}): Promise<{ q: RedisQueue<Payload>; other: RedisQueue<Payload> }> {
    const name = `prefetch-${++names}`;
    const q = await openRedisQueue<Payload>({ url: redis.server.url, name, ...options });
    const other = await openRedisQueue<Payload>({ url: redis.server.url, name, ...options });
    queues.push(q, other);
    return { q, other };
  }

  /** Jobs 0..count-1; the handler records each start and holds jobs from `held` on until the gate opens. */
  async function holding(
    q: RedisQueue<Payload>,
    other: RedisQueue<Payload>,
    count: number,
    held: number,
    concurrency: number,
  ): Promise<{ ids: number[]; starts: Array<{ id: number; attempt: number }>; door: Deferred<void> }> {
    const door = deferred();
    const starts: Array<{ id: number; attempt: number }> = [];
    q.process(
      async (job) => {
        starts.push({ id: job.id, attempt: (job as RedisJob<Payload>).attemptsMade });
        if (job.data.n >= held) await door.promise;
      },
      { concurrency },
    );
    const ids = (await other.addBulk(Array.from({ length: count }, (_, n) => ({ data: { n } })))).map((job) => job.id);
    // The first jobs finish at once (so the consumer prefetches); then `concurrency` run
    // until the gate opens and the others wait in the prefetch, up to the window of four
    // times `concurrency`.
    await until(async () => {
      const stats = await other.stats();
      return stats.completed === held && stats.reserved === Math.min(count - held, 4 * concurrency);
    });
    return { ids, starts, door };
  }

  it('close() gives the prefetched jobs back at once, uncounted, while the running handlers finish', async () => {
    const { q, other } = await pair();
    // 14 left after the first 6: 2 run, 6 are prefetched (the window is 8), 6 stay ready.
    const { ids, starts, door } = await holding(q, other, 20, 6, 2);
    const closing = q.close({ timeout: 30_000 });
    // Before the running handlers end: the six prefetched jobs are ready for anyone.
    await until(async () => (await other.stats()).reserved === 2, 5000);
    const stats = await other.stats();
    expect([stats.ready, stats.reserved, stats.completed]).toEqual([12, 2, 6]);
    const next = await other.reserve({ timeout: 0 });
    expect([next?.id, next?.attemptsMade]).toEqual([ids[8], 1]);
    await next!.ack();
    door.resolve();
    await closing;
    expect(starts.map((start) => start.id)).toEqual(ids.slice(0, 8));
    const after = await other.stats();
    expect([after.completed, after.ready, after.reserved]).toEqual([9, 11, 0]);
  });

  it('pause() gives the prefetched jobs back, and none of them starts until resume()', async () => {
    const { q, other } = await pair();
    const { ids, starts, door } = await holding(q, other, 6, 3, 1);
    await q.pause();
    let stats = await other.stats();
    expect([stats.reserved, stats.ready]).toEqual([1, 2]);
    door.resolve();
    await until(async () => (await other.stats()).completed === 4);
    // The slot that freed would have started a prefetched job at once.
    expect(starts.map((start) => start.id)).toEqual(ids.slice(0, 4));
    stats = await other.stats();
    expect([stats.reserved, stats.ready]).toEqual([0, 2]);
    await q.resume();
    await until(async () => (await other.stats()).completed === 6);
    expect(starts.slice(4)).toEqual([
      { id: ids[4], attempt: 1 },
      { id: ids[5], attempt: 1 },
    ]);
  });

  it('renews prefetched leases: a job waiting in the prefetch longer than its ttr keeps its lease', async () => {
    const { q, other } = await pair({ ttr: 600 });
    const { ids, starts, door } = await holding(q, other, 5, 3, 1);
    // Two whole ttrs with the slot taken and job 4 prefetched.
    await new Promise((resolve) => setTimeout(resolve, 1500));
    door.resolve();
    await until(async () => (await other.stats()).completed === 5);
    expect(starts).toEqual(ids.map((id) => ({ id, attempt: 1 })));
    expect((await other.stats()).leaseTimeouts).toBe(0);
  });

  it('a prefetched job whose lease was lost is not run on it: it runs once Redis reclaims it, as its next attempt', async () => {
    const ttr = 4500;
    const { q, other } = await pair({ ttr, retry: { attempts: 2 } });
    const { ids, starts, door } = await holding(q, other, 5, 3, 1);
    const [running, prefetched] = [ids[3], ids[4]];
    // Another token: as if the lease had run out and gone to another worker.
    await redis.admin.hSet(`docket:{${q.name}}:job:${prefetched}`, 'reserves', '99');
    // Each renewal (every ttr / 3) covers both leases, and the first after the change finds
    // the prefetched one gone. The running job's deadline shows a renewal ran in Redis;
    // after a second one the consumer has long had the first one's answer, and the gate
    // still opens well before the prefetched job's own deadline.
    const deadlineOf = async (): Promise<string | null> => (await redis.admin.hGet(`docket:{${q.name}}:job:${running}`, 'deadline')) ?? null;
    for (let renewals = 0; renewals < 2; renewals++) {
      const before = await deadlineOf();
      await until(async () => (await deadlineOf()) !== before);
    }
    door.resolve();
    await until(async () => (await other.stats()).completed === 5, 3 * ttr);
    expect(starts.find((start) => start.id === prefetched)).toEqual({ id: prefetched, attempt: 2 });
    expect((await other.stats()).leaseTimeouts).toBe(1);
  });

  it('slow handlers prefetch nothing: the next job stays ready for any worker', async () => {
    const { q, other } = await pair();
    const starts: number[] = [];
    q.process(async (job) => {
      starts.push(job.id);
      await new Promise((resolve) => setTimeout(resolve, 500));
    });
    await other.addBulk(Array.from({ length: 3 }, (_, n) => ({ data: { n } })));
    await until(async () => starts.length === 2);
    const stats = await other.stats();
    expect([stats.reserved, stats.ready]).toEqual([1, 1]);
    await until(async () => (await other.stats()).completed === 3);
  });
});
