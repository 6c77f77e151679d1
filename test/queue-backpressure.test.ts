import { afterEach, describe, expect, it } from 'vitest';
import { ManualClock } from '../src/clock.js';
import { QueueClosedError, QueueFullError } from '../src/errors.js';
import { Queue } from '../src/queue.js';
import { deferred, flush, type Deferred } from './helpers/flush.js';

const MAX = 1_000;
const PRODUCED = 20_000;

const queues: Queue<number>[] = [];
afterEach(async () => {
  for (const q of queues.splice(0)) await q.close({ timeout: 0 });
});

/** A consumer that only moves when told: `finish(n)` completes the n oldest running jobs. */
function slowConsumer(q: Queue<number>) {
  const running: Deferred<void>[] = [];
  const started: number[] = [];
  const completed = new Set<number>();
  q.on('completed', (job) => completed.add(job.data));
  q.process(
    (job) => {
      started.push(job.data);
      const d = deferred();
      running.push(d);
      return d.promise;
    },
    { concurrency: 10 },
  );
  return {
    started,
    completed,
    async finish(n: number) {
      for (const d of running.splice(0, n)) d.resolve();
      await flush();
    },
  };
}

/** Watches the bound: jobs held (waiting plus in flight) never above `MAX`. */
function watchBound(q: Queue<number>) {
  const seen = { peak: 0 };
  const check = (): void => {
    seen.peak = Math.max(seen.peak, q.size + q.pending);
  };
  q.on('added', check);
  q.on('active', check);
  return { seen, check };
}

describe('queue backpressure (maxSize)', () => {
  it("'wait': a fast producer is held at maxSize, admitted first come first served, and loses nothing", async () => {
    const q = new Queue<number>({ clock: new ManualClock(), maxSize: MAX });
    queues.push(q);
    const { seen, check } = watchBound(q);
    const consumer = slowConsumer(q);
    const admitted: number[] = [];
    const ids: number[] = [];
    const adds: Promise<unknown>[] = [];
    for (let i = 0; i < PRODUCED; i++) {
      adds.push(
        q.add(i).then((job) => {
          admitted.push(job.data);
          ids.push(job.id);
        }),
      );
    }
    await flush();
    check();
    expect(q.size + q.pending).toBe(MAX);
    expect(q.stats().waitingProducers).toBe(PRODUCED - MAX);

    while (consumer.completed.size < PRODUCED) {
      await consumer.finish(7);
      check();
      expect(seen.peak).toBeLessThanOrEqual(MAX);
    }
    await Promise.all(adds);
    expect(seen.peak).toBe(MAX);
    // Producers were admitted in the order they called add(), and ids follow that order.
    expect(admitted).toEqual(Array.from({ length: PRODUCED }, (_, i) => i));
    expect(ids.every((id, i) => i === 0 || id > ids[i - 1]!)).toBe(true);
    expect(consumer.started).toEqual(admitted);
    expect(consumer.completed.size).toBe(PRODUCED);
    expect(q.stats()).toMatchObject({ added: PRODUCED, completed: PRODUCED, waitingProducers: 0 });
  });

  it("'reject': jobs over maxSize are refused with QueueFullError, every accepted one completes", async () => {
    const q = new Queue<number>({ clock: new ManualClock(), maxSize: MAX, onFull: 'reject' });
    queues.push(q);
    const { seen, check } = watchBound(q);
    const consumer = slowConsumer(q);
    const accepted = new Set<number>();
    const refused: unknown[] = [];
    let next = 0;
    while (next < PRODUCED) {
      // Bursts of 500 producers between slices of slow consumption.
      const burst: Promise<void>[] = [];
      for (let i = 0; i < 500 && next < PRODUCED; i++, next++) {
        burst.push(
          q.add(next).then(
            (job) => void accepted.add(job.data),
            (error: unknown) => void refused.push(error),
          ),
        );
      }
      await Promise.all(burst);
      check();
      await consumer.finish(60);
    }
    while (consumer.completed.size < accepted.size) await consumer.finish(50);

    expect(seen.peak).toBe(MAX);
    expect(accepted.size + refused.length).toBe(PRODUCED);
    expect(accepted.size).toBeGreaterThan(MAX);
    expect(refused.length).toBeGreaterThan(0);
    expect(refused.every((e) => e instanceof QueueFullError && (e as QueueFullError).code === 'DOCKET_QUEUE_FULL')).toBe(true);
    expect([...accepted].every((data) => consumer.completed.has(data))).toBe(true);
    expect(consumer.completed.size).toBe(accepted.size);
  });

  it('tryAdd() refuses at once when full, while add() waits for room', async () => {
    const q = new Queue<number>({ clock: new ManualClock(), maxSize: 2 });
    queues.push(q);
    await q.add(1);
    await q.add(2);
    await expect(q.tryAdd(3)).rejects.toBeInstanceOf(QueueFullError);
    let admitted = false;
    const waiting = q.add(4).then(() => (admitted = true));
    await flush();
    expect(admitted).toBe(false);
    // Room appears, but the waiting producer is first in line: tryAdd may not jump it.
    const lease = q.tryReserve()!;
    await lease.ack();
    await waiting;
    expect(admitted).toBe(true);
    await expect(q.tryAdd(5)).rejects.toBeInstanceOf(QueueFullError);
    expect(q.size + q.pending).toBe(2);
  });

  it('buried jobs do not count toward maxSize', async () => {
    const q = new Queue<number>({ clock: new ManualClock(), maxSize: 2, onFull: 'reject' });
    queues.push(q);
    await q.add(1);
    await q.add(2);
    await q.tryReserve()!.bury();
    await expect(q.tryAdd(3)).resolves.toMatchObject({ data: 3 });
    await expect(q.tryAdd(4)).rejects.toBeInstanceOf(QueueFullError);
  });

  it('close() rejects waiting producers with QueueClosedError, and their jobs never enter', async () => {
    const q = new Queue<number>({ clock: new ManualClock(), maxSize: 1 });
    queues.push(q);
    await q.add(1);
    const waiting = [q.add(2), q.add(3)];
    await q.close({ timeout: 0 });
    for (const w of waiting) await expect(w).rejects.toBeInstanceOf(QueueClosedError);
    expect(q.stats().added).toBe(1);
    await expect(q.add(4)).rejects.toBeInstanceOf(QueueClosedError);
  });

  it('onSizeLessThan() resolves once the backlog falls under the limit', async () => {
    const q = new Queue<number>({ clock: new ManualClock() });
    queues.push(q);
    for (let i = 0; i < 5; i++) await q.add(i);
    let resolved = false;
    const below = q.onSizeLessThan(3).then(() => (resolved = true));
    await q.tryReserve()!.ack();
    await q.tryReserve()!.ack();
    await flush();
    expect(resolved).toBe(false);
    await q.tryReserve()!.ack();
    await below;
    expect(q.size).toBe(2);
  });
});

describe('a producer waiting for room when the store fails', () => {
  it('is refused with StoreFailedError instead of being added', async () => {
    let failing = false;
    const store = {
      append: () => (failing ? Promise.reject(new Error('EIO')) : undefined),
      close: async () => undefined,
    };
    const q = new Queue<number>({ maxSize: 1, store, retry: { attempts: 3 } });
    const reported: Error[] = [];
    q.on('error', (error) => reported.push(error));
    await q.add(1);
    const waiting = q.add(2);
    failing = true;
    // The reservation's record fails: the queue fails closed (reported, nobody awaits it).
    const lease = q.tryReserve()!;
    await flush();
    expect(reported).toHaveLength(1);
    // The ack frees the room the producer waited for, but the queue refuses new jobs now.
    await expect(lease.ack()).rejects.toThrow(/store failed/);
    await expect(waiting).rejects.toThrow(/refuses new jobs/);
    expect(q.size).toBe(0);
    await q.close({ timeout: 0 });
  });
});
