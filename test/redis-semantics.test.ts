/**
 * What docket/redis promises beyond the contract, on a real redis-server: dedupe, ttl,
 * dead letters with every attempt's error, redrive, memory bounded by live jobs, one hash
 * tag per queue, scripts surviving SCRIPT FLUSH, idle consumers that send nothing, the
 * cross-process event stream, and batches larger than one Lua command can take.
 */
import { describe, expect, it } from 'vitest';
import { InvalidOptionError, LeaseExpiredError, UnrecoverableError } from '../src/errors.js';
import { MAX_REDIS_CONCURRENCY, openRedisQueue, watchRedisQueue, type RedisQueue, type RedisQueueOptions } from '../src/redis/index.js';
import { until } from './helpers/flush.js';
import { requireRedis } from './helpers/redis.js';
import { closedAfterEach, sharedRedis } from './helpers/redis-suite.js';

interface Payload {
  n: number;
}

let names = 0;

describe.skipIf(!requireRedis('the docket/redis semantics tests'))('docket/redis on a real redis-server', () => {
  const redis = sharedRedis();
  const queues = closedAfterEach<RedisQueue<Payload>>();

  async function open(options: Partial<RedisQueueOptions<Payload>> = {}): Promise<RedisQueue<Payload>> {
    const q = await openRedisQueue<Payload>({ url: redis.server.url, name: `semantics-${++names}`, ...options });
    queues.push(q);
    return q;
  }

  async function keysOf(q: RedisQueue<Payload>): Promise<string[]> {
    return (await redis.admin.keys(`docket:{${q.name}}:*`)).sort();
  }

  it('a dedupe id still in the queue returns the job already there, and is free again once it is gone', async () => {
    const q = await open();
    const first = await q.add({ n: 1 }, { id: 'order-7' });
    const again = await q.add({ n: 2 }, { id: 'order-7' });
    expect([again.id, again.duplicate, first.duplicate]).toEqual([first.id, true, false]);
    expect((await q.stats()).ready).toBe(1);
    const job = await q.reserve({ timeout: 5000 });
    await job!.ack();
    const later = await q.add({ n: 3 }, { id: 'order-7' });
    expect(later.duplicate).toBe(false);
    expect(later.id).not.toBe(first.id);
  });

  it('refuses a group or a per-job timeout (core options it has no field for) and stores nothing', async () => {
    const q = await open();
    await expect(q.add({ n: 1 }, { group: 'tenant' } as never)).rejects.toThrow(/`group` is not supported by the Redis queue/);
    await expect(q.add({ n: 1 }, { timeout: 1000 } as never)).rejects.toThrow(/`timeout` is not supported by the Redis queue/);
    await expect(q.addBulk([{ data: { n: 2 } }, { data: { n: 3 }, options: { group: 'tenant' } as never }])).rejects.toThrow(/`group`/);
    expect((await q.stats()).ready).toBe(0);
  });

  it('a reserved job says the priority it was added or released with, over the full u32 range', async () => {
    const q = await open({ retry: { attempts: 2 } });
    const max = 2 ** 32 - 1;
    await q.addBulk([
      { data: { n: 1 }, options: { priority: max } },
      { data: { n: 2 }, options: { priority: 0 } },
      { data: { n: 3 }, options: { priority: 1024 } },
    ]);
    const seen: Array<[number, number]> = [];
    for (let i = 0; i < 3; i++) {
      const job = (await q.reserve({ timeout: 5000 }))!;
      seen.push([job.data.n, job.priority]);
      if (job.data.n === 2) await job.release({ priority: max - 1 });
      else await job.ack();
    }
    const again = (await q.reserve({ timeout: 5000 }))!;
    seen.push([again.data.n, again.priority]);
    await again.ack();
    expect(seen).toEqual([
      [2, 0],
      [3, 1024],
      [2, max - 1],
      [1, max],
    ]);
  });

  it('a job that waited past its ttl is dead-lettered as expired, not run late', async () => {
    const q = await open();
    const stale = await q.add({ n: 1 }, { ttl: 50 });
    await new Promise((resolve) => setTimeout(resolve, 120));
    const fresh = await q.add({ n: 2 });
    const job = await q.reserve({ timeout: 5000 });
    expect(job!.id).toBe(fresh.id);
    await job!.ack();
    expect((await q.peek(stale.id))?.deadReason).toBe('expired');
  });

  it('dead letters keep the reason and every attempt error; redrive gives a fresh attempt budget', async () => {
    const q = await open({ retry: { attempts: 3 } });
    const added = await q.add({ n: 1 });
    for (let attempt = 1; attempt <= 3; attempt++) {
      const job = await q.reserve({ timeout: 5000 });
      expect(job!.attemptsMade).toBe(attempt);
      await job!.fail(new Error(`boom ${attempt}`));
    }
    const [dead] = await q.deadLetters.list();
    expect(dead!.id).toBe(added.id);
    expect(dead!.deadReason).toBe('failed');
    expect(dead!.errors.map((e) => [e.attempt, e.message])).toEqual([
      [1, 'boom 1'],
      [2, 'boom 2'],
      [3, 'boom 3'],
    ]);
    expect(await q.deadLetters.redrive()).toBe(1);
    const again = await q.reserve({ timeout: 5000 });
    expect(again!.attemptsMade).toBe(1);
    await again!.fail(new UnrecoverableError('give up'));
    expect((await q.peekBuried())?.deadReason).toBe('unrecoverable');
    expect(await q.deadLetters.purge()).toBe(1);
    expect(await keysOf(q)).not.toContain(`docket:{${q.name}}:job:${added.id}`);
  });

  it('a lease that runs out counts as an attempt, and the last one dead-letters the job as lease-expired', async () => {
    const q = await open({ retry: { attempts: 2 } });
    await q.add({ n: 1 }, { ttr: 100 });
    const first = await q.reserve({ timeout: 5000 });
    const second = await q.reserve({ timeout: 5000 });
    expect(second!.attemptsMade).toBe(2);
    await expect(first!.ack()).rejects.toBeInstanceOf(LeaseExpiredError);
    // The second lease runs out too: no attempts left.
    expect(await q.reserve({ timeout: 400 })).toBeUndefined();
    const [dead] = await q.deadLetters.list();
    expect(dead!.deadReason).toBe('lease-expired');
    expect(dead!.errors.map((e) => e.name)).toEqual(['LeaseExpiredError', 'LeaseExpiredError']);
    await expect(second!.bury()).rejects.toBeInstanceOf(LeaseExpiredError);
    expect((await q.stats()).leaseTimeouts).toBe(2);
  });

  it('process() renews the leases of running handlers: a handler longer than ttr keeps its job', async () => {
    // Renewed every ttr/3: a stall of a whole ttr (600 ms) would be needed to lose it.
    const q = await open({ ttr: 600 });
    const runs: number[] = [];
    q.process(async (job) => {
      runs.push(job.id);
      await new Promise((resolve) => setTimeout(resolve, 2000));
    });
    await q.add({ n: 1 });
    await q.onIdle();
    expect(runs).toHaveLength(1);
    expect((await q.stats()).leaseTimeouts).toBe(0);
  });

  it('acked jobs leave nothing behind; keepCompleted keeps only the newest N', async () => {
    const plain = await open({ eventsMaxLength: 0 });
    plain.process(async () => 'ok');
    await plain.addBulk(Array.from({ length: 300 }, (_, n) => ({ data: { n } })));
    await plain.onIdle();
    // Only the queue's own bookkeeping (counters) stays: no job, no set, no stream.
    expect(await keysOf(plain)).toEqual([`docket:{${plain.name}}:meta`]);

    const kept = await open({ keepCompleted: 5 });
    kept.process(async (job) => ({ doubled: job.data.n * 2 }));
    await kept.addBulk(Array.from({ length: 50 }, (_, n) => ({ data: { n } })));
    await kept.onIdle();
    const done = await kept.completed();
    expect(done).toHaveLength(5);
    expect(JSON.parse(done[0]!.result!)).toEqual({ doubled: 2 * done[0]!.data.n });
    expect(await redis.admin.xLen(`docket:{${kept.name}}:events`)).toBeLessThanOrEqual(10_000);
  });

  it('every key of a queue carries its hash tag (one Redis Cluster slot)', async () => {
    const q = await open({ keepCompleted: 1 });
    await q.add({ n: 1 }, { id: 'x' });
    await q.add({ n: 2 }, { delay: 60_000 });
    const job = await q.reserve({ timeout: 5000 });
    await job!.bury('why');
    await q.add({ n: 3 });
    await (await q.reserve({ timeout: 5000 }))!.ack();
    const keys = await keysOf(q);
    expect(keys.length).toBeGreaterThanOrEqual(7);
    const all = await redis.admin.keys('*');
    const ofQueue = all.filter((key) => key.includes(`{${q.name}}`));
    expect(ofQueue.sort()).toEqual(keys);
    expect(ofQueue.every((key) => key.startsWith(`docket:{${q.name}}:`))).toBe(true);
  });

  it('keeps working after the server forgets its scripts (SCRIPT FLUSH: restart, failover)', async () => {
    const q = await open();
    await q.add({ n: 1 });
    await redis.admin.scriptFlush();
    await q.add({ n: 2 });
    const job = await q.reserve({ timeout: 5000 });
    await redis.admin.scriptFlush();
    await job!.ack();
    expect((await q.stats()).ready).toBe(1);
  });

  it('an idle consumer sends nothing: no polling, no periodic wake-up; an add wakes it', async () => {
    const q = await open();
    const seen: number[] = [];
    q.process(async (job) => void seen.push(job.data.n));
    await q.add({ n: 1 });
    await q.onIdle();
    // Let the consumer settle into its blocking wait, then count what the server gets.
    await new Promise((resolve) => setTimeout(resolve, 100));
    const before = await redis.admin.info('commandstats');
    await new Promise((resolve) => setTimeout(resolve, 1500));
    const after = await redis.admin.info('commandstats');
    const calls = (info: string): number =>
      info
        .split('\n')
        .filter((line) => line.startsWith('cmdstat_') && !line.startsWith('cmdstat_info'))
        .reduce((sum, line) => sum + Number(/calls=(\d+)/.exec(line)?.[1] ?? 0), 0);
    expect(calls(after) - calls(before)).toBe(0);
    await q.add({ n: 2 });
    await q.onIdle();
    expect(seen).toEqual([1, 2]);
  });

  it('other processes see every event through the capped stream', async () => {
    const q = await open({ retry: { attempts: 1 } });
    const events = await watchRedisQueue({ url: redis.server.url, name: q.name });
    const log: string[] = [];
    for (const name of ['added', 'active', 'completed', 'failed', 'dead'] as const) events.on(name, (event: { id: number }) => log.push(`${name}:${event.id}`));
    const done = new Promise<void>((resolve) => events.on('dead', () => resolve()));
    q.process(async (job) => {
      if (job.data.n === 2) throw new Error('no');
    });
    const a = await q.add({ n: 1 });
    await q.onIdle();
    const b = await q.add({ n: 2 });
    await done;
    await events.close();
    expect(log).toEqual([`added:${a.id}`, `active:${a.id}`, `completed:${a.id}`, `added:${b.id}`, `active:${b.id}`, `failed:${b.id}`, `dead:${b.id}`]);
  });

  it('a job that completes while another process has the queue paused still shows as completed in the stream', async () => {
    const q = await open();
    const events = await watchRedisQueue({ url: redis.server.url, name: q.name });
    const completed: number[] = [];
    events.on('completed', (event: { id: number }) => completed.push(event.id));
    let finish: () => void = () => {};
    const running = new Promise<void>((resolve) => {
      q.process(
        () =>
          new Promise<void>((done) => {
            finish = done;
            resolve();
          }),
      );
    });
    const job = await q.add({ n: 1 });
    await running;
    const paused = await openRedisQueue<Payload>({ url: redis.server.url, name: q.name });
    queues.push(paused);
    await paused.pause();
    finish();
    await until(async () => (await paused.stats()).completed === 1);
    await until(() => completed.length === 1);
    await events.close();
    expect(completed).toEqual([job.id]);
  });

  async function scriptCalls(): Promise<number> {
    const info = await redis.admin.info('commandstats');
    return Number(/cmdstat_evalsha:calls=(\d+)/.exec(info)?.[1] ?? 0) + Number(/cmdstat_eval:calls=(\d+)/.exec(info)?.[1] ?? 0);
  }

  it('a consumer with 5,000 free slots takes 5,000 jobs in one call and acks them in the next; each job runs once and leaves nothing behind', async () => {
    const jobs = 6000;
    const q = await open({ concurrency: 5000 });
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
    expect(await keysOf(q)).toEqual([`docket:{${q.name}}:events`, `docket:{${q.name}}:meta`]);
    // The dedupe ids are free again.
    expect((await q.add({ n: 0 }, { id: 'job-0' })).duplicate).toBe(false);
  });

  it('concurrency must be a finite count (each slot is a lease asked for by count): Infinity is refused, naming the option and the limit', async () => {
    const message = `Expected \`concurrency\` to be an integer from 1 to ${MAX_REDIS_CONCURRENCY}, got \`Infinity\` (number)`;
    await expect(open({ concurrency: Infinity })).rejects.toThrow(new InvalidOptionError(message));
    const q = await open();
    expect(() => q.process(async () => {}, { concurrency: Infinity })).toThrow(new InvalidOptionError(message));
    expect(() => (q.concurrency = Infinity)).toThrow(new InvalidOptionError(message));
    expect(() => (q.concurrency = MAX_REDIS_CONCURRENCY + 1)).toThrow(InvalidOptionError);
    q.concurrency = MAX_REDIS_CONCURRENCY;
    expect(q.concurrency).toBe(MAX_REDIS_CONCURRENCY);
  });
});
