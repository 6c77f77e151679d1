import { afterEach, describe, expect, it } from 'vitest';
import { ManualClock } from '../src/clock.js';
import { UnrecoverableError } from '../src/errors.js';
import type { Job } from '../src/job.js';
import type { QueueOptions } from '../src/options.js';
import { Queue } from '../src/queue.js';
import type { DeadReason } from '../src/lifecycle.js';
import { flush } from './helpers/flush.js';

const queues: Queue<string>[] = [];
afterEach(async () => {
  for (const q of queues.splice(0)) await q.close({ timeout: 0 });
});

function makeQueue(options: QueueOptions<string> = {}) {
  const clock = (options.clock as ManualClock | undefined) ?? new ManualClock(5_000);
  const q = new Queue<string>({ ...options, clock });
  queues.push(q);
  const dead: Array<[string, DeadReason]> = [];
  q.on('dead', (job, reason) => dead.push([job.data, reason]));
  return { q, clock, dead };
}

describe('dead letters: every reason', () => {
  it("'failed': attempts exhausted by errors", async () => {
    const { q, dead } = makeQueue({ retry: { attempts: 2 } });
    q.process(() => {
      throw new Error('boom');
    });
    const job = await q.add('a');
    await flush();
    expect(dead).toEqual([['a', 'failed']]);
    expect(job).toMatchObject({ state: 'buried', deadReason: 'failed', attemptsMade: 2 });
    expect(job.finishedOn).toBe(5_000);
  });

  it("'unrecoverable': UnrecoverableError", async () => {
    const { q, dead } = makeQueue({ retry: { attempts: 9 } });
    q.process(() => Promise.reject(new UnrecoverableError('never')));
    await q.add('a');
    await flush();
    expect(dead).toEqual([['a', 'unrecoverable']]);
  });

  it("'lease-expired': the last lease ran out", async () => {
    const { q, clock, dead } = makeQueue({ ttr: 100 });
    await q.add('a');
    q.tryReserve();
    clock.advance(100);
    expect(dead).toEqual([['a', 'lease-expired']]);
  });

  it("'timeout': the last push attempt ran past its timeout", async () => {
    const { q, clock, dead } = makeQueue({ timeout: 100 });
    q.process(() => new Promise<never>(() => {}));
    await q.add('a');
    clock.advance(100);
    expect(dead).toEqual([['a', 'timeout']]);
  });

  it("'expired': it waited past its ttl before it started", async () => {
    const { q, clock, dead } = makeQueue();
    const stale = await q.add('stale', { ttl: 100 });
    const fresh = await q.add('fresh', { ttl: 100 });
    const delayed = await q.add('delayed', { ttl: 100, delay: 1_000 });
    clock.advance(50);
    expect(q.tryReserve()?.id).toBe(stale.id);
    clock.advance(51);
    // 'fresh' has now waited 101 ms: buried on the way, never handed out.
    expect(q.tryReserve()).toBeUndefined();
    expect(fresh.deadReason).toBe('expired');
    // The ttl of a delayed job counts from its due time.
    clock.advance(1_000 - 101 + 100);
    expect(q.tryReserve()?.id).toBe(delayed.id);
    expect(dead).toEqual([['fresh', 'expired']]);
  });

  it("'manual': bury() on purpose, with a note and a priority", async () => {
    const { q, dead } = makeQueue();
    const job = await q.add('a');
    await q.tryReserve()!.bury('needs a human', { priority: 7 });
    expect(dead).toEqual([['a', 'manual']]);
    expect(job.priority).toBe(7);
    expect(job.errors.at(-1)).toMatchObject({ message: 'needs a human' });
  });

  it("'released': released once more than its attempts allow", async () => {
    const { q, dead } = makeQueue({ retry: { attempts: 2 } });
    await q.add('a');
    await q.tryReserve()!.release();
    await q.tryReserve()!.release();
    expect(dead).toEqual([['a', 'released']]);
  });
});

describe('dead letters: list, redrive, purge', () => {
  async function threeDead() {
    const ctx = makeQueue({ retry: { attempts: 2 } });
    const jobs: Job<string>[] = [];
    for (const data of ['a', 'b', 'c']) {
      jobs.push(await ctx.q.add(data));
      await ctx.q.tryReserve()!.bury();
    }
    return { ...ctx, jobs };
  }

  it('list() gives the buried jobs, oldest first, with payload, errors and reason', async () => {
    const { q } = makeQueue({ retry: { attempts: 1 } });
    q.process((job) => {
      throw new Error(`no ${job.data}`);
    });
    await q.add('a');
    await q.add('b');
    await flush();
    const list = q.deadLetters.list();
    expect(list.map((j) => [j.data, j.deadReason, j.errors[0]?.message])).toEqual([
      ['a', 'failed', 'no a'],
      ['b', 'failed', 'no b'],
    ]);
    expect(q.deadLetters.size).toBe(2);
    expect(q.peekBuried()?.data).toBe('a');
    expect(q.stats().buried).toBe(2);
  });

  it('redrive(ids) moves only those back to ready', async () => {
    const { q, jobs } = await threeDead();
    expect(q.deadLetters.redrive([jobs[1]!.id, 999_999_999])).toBe(1);
    expect(jobs[1]).toMatchObject({ state: 'ready', deadReason: undefined });
    expect(q.deadLetters.list().map((j) => j.data)).toEqual(['a', 'c']);
    expect(q.tryReserve()?.data).toBe('b');
  });

  it('redrive() moves all of them back, in order', async () => {
    const { q } = await threeDead();
    expect(q.deadLetters.redrive()).toBe(3);
    expect(q.deadLetters.size).toBe(0);
    expect([q.tryReserve()?.data, q.tryReserve()?.data, q.tryReserve()?.data]).toEqual(['a', 'b', 'c']);
  });

  it('purge(ids) and purge() delete them for good', async () => {
    const { q, jobs } = await threeDead();
    expect(q.deadLetters.purge([jobs[0]!.id])).toBe(1);
    expect(q.peek(jobs[0]!.id)).toBeUndefined();
    expect(q.deadLetters.purge()).toBe(2);
    expect(q.deadLetters.list()).toEqual([]);
    expect(q.stats().total).toBe(0);
    expect(q.deadLetters.redrive()).toBe(0);
  });

  it('purge() and redrive() ignore jobs that are not dead', async () => {
    const { q } = makeQueue();
    const ready = await q.add('ready');
    expect(q.deadLetters.purge([ready.id])).toBe(0);
    expect(q.deadLetters.redrive([ready.id])).toBe(0);
    expect(q.peek(ready.id)?.state).toBe('ready');
  });

  it('redrive gives a fresh attempt budget', async () => {
    const { q, dead } = makeQueue({ retry: { attempts: 3 } });
    let starts = 0;
    q.process(() => {
      starts++;
      throw new Error('no');
    });
    const job = await q.add('a');
    await flush();
    expect(starts).toBe(3);
    expect(job.state).toBe('buried');
    q.deadLetters.redrive();
    await flush();
    expect(starts).toBe(6);
    expect(job.attemptsMade).toBe(3);
    expect(job.state).toBe('buried');
    expect(job.errors).toHaveLength(6);
    expect(dead).toEqual([
      ['a', 'failed'],
      ['a', 'failed'],
    ]);
  });
});

describe('dead letters: onDead and routing', () => {
  it('calls onDead once per dead job, after it is buried', async () => {
    const calls: Array<[string, string | undefined, string]> = [];
    const { q } = makeQueue({ deadLetter: { onDead: (job) => calls.push([job.data, job.deadReason, job.state]) } });
    q.process((job) => {
      if (job.data === 'bad') throw new Error('no');
    });
    await q.add('ok');
    await q.add('bad');
    await flush();
    expect(calls).toEqual([['bad', 'failed', 'buried']]);
  });

  it('an onDead that throws is reported as an error event, and the job stays dead', async () => {
    const { q } = makeQueue({
      deadLetter: {
        onDead: () => {
          throw new Error('callback broke');
        },
      },
    });
    const errors: string[] = [];
    q.on('error', (error) => errors.push(error.message));
    q.process(() => {
      throw new Error('no');
    });
    const job = await q.add('a');
    await flush();
    expect(errors).toEqual(['callback broke']);
    expect(job.state).toBe('buried');
  });

  it('deadLetter.queue moves dead jobs into another queue', async () => {
    const clock = new ManualClock();
    const parking = new Queue<string>({ clock, name: 'parking' });
    queues.push(parking);
    const { q, dead } = makeQueue({ clock, retry: { attempts: 2 }, deadLetter: { queue: parking } });
    q.process((job) => {
      throw new Error(`no ${job.data}`);
    });
    const job = await q.add('a', { priority: 3 });
    await flush();
    expect(dead).toEqual([['a', 'failed']]);
    // Moved: gone from here, a new job with the same payload and priority over there.
    expect(q.peek(job.id)).toBeUndefined();
    expect(q.deadLetters.size).toBe(0);
    const moved = parking.tryReserve();
    expect(moved?.data).toBe('a');
    expect(moved?.priority).toBe(3);
    expect(parking.stats().added).toBe(1);
  });

  it('deadLetter.queue routes every automatic reason, but keeps manual buries here', async () => {
    const clock = new ManualClock();
    const parking = new Queue<string>({ clock, name: 'parking' });
    queues.push(parking);
    const { q } = makeQueue({ clock, ttr: 10, deadLetter: { queue: parking } });
    await q.add('lease');
    q.tryReserve();
    clock.advance(10);
    await q.add('manual');
    await q.tryReserve()!.bury();
    await q.add('released');
    await q.tryReserve()!.release();
    await flush();
    expect(q.deadLetters.list().map((j) => j.data)).toEqual(['manual']);
    const parked: string[] = [];
    for (let lease = parking.tryReserve(); lease !== undefined; lease = parking.tryReserve()) parked.push(lease.data);
    expect(parked).toEqual(['lease', 'released']);
  });
});
