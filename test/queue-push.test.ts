import { describe, expect, it } from 'vitest';
import type { JobChange, Store } from '../src/index.js';
import { InvalidOptionError, ManualClock, QueueClosedError, QueueFullError, StoreFailedError } from '../src/index.js';
import { flush } from './helpers/flush.js';
import { closingQueues } from './helpers/queues.js';

const queue = closingQueues();

describe('push(): the synchronous producer', () => {
  it('returns the job at once, already in the queue, and the job runs like an added one', async () => {
    const q = queue<string>();
    const events: string[] = [];
    q.on('added', (job) => events.push(`added ${job.data}`));
    q.on('completed', (job, result) => events.push(`completed ${job.data} ${String(result)}`));
    const job = q.push('a');
    expect(job).toMatchObject({ data: 'a', state: 'ready', attemptsMade: 0 });
    expect(q.peek(job.id)).toBe(job);
    expect(q.size).toBe(1);
    expect(q.stats().added).toBe(1);
    q.process(async (lease) => `${lease.data}!`);
    await q.onIdle();
    expect(events).toEqual(['added a', 'completed a a!']);
    expect(q.stats()).toMatchObject({ added: 1, completed: 1, total: 0 });
  });

  it('keeps one order with add(): priority first, then the order of the calls', async () => {
    const q = queue<string>();
    q.push('p5-first', { priority: 5 });
    void q.add('p5-second', { priority: 5 });
    q.push('p1', { priority: 1 });
    q.push('p5-third', { priority: 5 });
    const order: string[] = [];
    for (let lease = q.tryReserve(); lease !== undefined; lease = q.tryReserve()) {
      order.push(lease.data);
      await lease.ack();
    }
    expect(order).toEqual(['p1', 'p5-first', 'p5-second', 'p5-third']);
  });

  it('honours delay and the per-job settings', () => {
    const clock = new ManualClock(1_000);
    const q = queue<string>({ clock });
    const job = q.push('later', { delay: 500, attempts: 7, ttr: 2_000 });
    expect(job).toMatchObject({ state: 'delayed', dueAt: 1_500, delay: 500, maxAttempts: 7, ttr: 2_000 });
    expect(q.tryReserve()).toBeUndefined();
    clock.advance(500);
    expect(q.tryReserve()?.data).toBe('later');
  });

  it('keeps each job its own settings when producers override them in turn', () => {
    const q = queue<number>({ retry: { attempts: 3 }, ttr: 1_000 });
    // Each setting in turn differs from the job before it alone.
    const overrides = [
      { ttr: 5_000 },
      { ttr: 5_000 },
      { ttr: 7_000 },
      {},
      { attempts: 2 },
      { attempts: 4 },
      { timeout: 50 },
      { timeout: 60 },
      { ttl: 9 },
      { ttl: 4 },
      { ttr: 5_000 },
    ];
    const jobs = overrides.map((options, i) => q.push(i, options));
    expect(jobs.map((j) => [j.ttr, j.maxAttempts, j.timeout, j.ttl])).toEqual([
      [5_000, 3, Infinity, Infinity],
      [5_000, 3, Infinity, Infinity],
      [7_000, 3, Infinity, Infinity],
      [1_000, 3, Infinity, Infinity],
      [1_000, 2, Infinity, Infinity],
      [1_000, 4, Infinity, Infinity],
      [1_000, 3, 50, Infinity],
      [1_000, 3, 60, Infinity],
      [1_000, 3, Infinity, 9],
      [1_000, 3, Infinity, 4],
      [5_000, 3, Infinity, Infinity],
    ]);
  });
  it('returns the live job for a dedupe id instead of adding another', () => {
    const q = queue<string>();
    const first = q.push('first', { id: 'order-7' });
    expect(q.push('second', { id: 'order-7' })).toBe(first);
    expect(q.size).toBe(1);
  });

  it('retries and dead-letters a pushed job like any other', async () => {
    const q = queue<string>({ retry: { attempts: 2, backoff: { type: 'fixed', delay: 0 } } });
    const dead: string[] = [];
    q.on('dead', (job, reason) => dead.push(`${job.data} ${reason}`));
    q.process(async () => {
      throw new Error('boom');
    });
    const job = q.push('doomed');
    await q.onIdle();
    expect(dead).toEqual(['doomed failed']);
    expect(job).toMatchObject({ state: 'buried', attemptsMade: 2 });
    expect(job.errors.map((e) => e.message)).toEqual(['boom', 'boom']);
  });
});

describe('push() refuses what it cannot take, and adds nothing then', () => {
  it('throws QueueFullError at maxSize, whatever onFull says', () => {
    for (const onFull of ['wait', 'reject'] as const) {
      const q = queue<number>({ maxSize: 2, onFull });
      q.push(1);
      q.push(2);
      expect(() => q.push(3)).toThrow(QueueFullError);
      expect(q.size).toBe(2);
    }
  });

  it('leaves the room an ack makes to the producer that waited for it', async () => {
    const q = queue<number>({ maxSize: 1 });
    q.push(1);
    const waiting = q.add(2);
    const lease = q.tryReserve()!;
    // Room is made and given to the waiting producer: push finds the queue full again.
    await lease.ack();
    expect(() => q.push(3)).toThrow(QueueFullError);
    expect((await waiting).data).toBe(2);
    expect(q.tryReserve()?.data).toBe(2);
  });

  it('throws QueueClosedError once the queue is closed', async () => {
    const q = queue<number>();
    await q.close();
    expect(() => q.push(1)).toThrow(QueueClosedError);
  });

  it('throws InvalidOptionError naming the bad option', () => {
    const q = queue<number>();
    expect(() => q.push(1, { priority: -1 })).toThrow(InvalidOptionError);
    expect(() => q.push(1, { delay: Number.NaN })).toThrow(/delay/);
    expect(() => q.push(1, { id: '' })).toThrow(/id/);
    expect(q.stats()).toMatchObject({ added: 0, total: 0 });
  });
});

describe('push() with a store', () => {
  class MemoryStore implements Store<string> {
    readonly changes: string[] = [];
    fail: Error | undefined;
    append(change: JobChange<string>): void | Promise<void> {
      if (change.type === 'put' && change.job.data === 'unencodable') throw new TypeError('cannot encode');
      if (this.fail !== undefined) return Promise.reject(this.fail);
      this.changes.push(`${change.type} ${change.job.data}`);
    }
    async close(): Promise<void> {}
  }

  it('a store that refuses the job (throws) fails that push only', () => {
    const store = new MemoryStore();
    const q = queue<string>({ store });
    expect(() => q.push('unencodable')).toThrow(TypeError);
    expect(q.stats()).toMatchObject({ added: 0, total: 0 });
    q.push('fine');
    expect(store.changes).toEqual(['put fine']);
  });

  it('a write that fails later takes the job back out, is reported, and fails the queue closed', async () => {
    const store = new MemoryStore();
    const q = queue<string>({ store });
    const reported: Error[] = [];
    q.on('error', (error) => reported.push(error));
    q.push('kept');
    store.fail = new Error('EIO');
    const lost = q.push('lost');
    expect(q.peek(lost.id)).toBe(lost);
    await flush();
    expect(reported).toHaveLength(1);
    expect(reported[0]).toBeInstanceOf(StoreFailedError);
    expect(q.peek(lost.id)).toBeUndefined();
    expect(q.size).toBe(1);
    expect(() => q.push('refused')).toThrow(StoreFailedError);
  });
});
