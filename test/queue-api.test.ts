import { describe, expect, it } from 'vitest';
import type { Job, JobChange, Store } from '../src/index.js';
import { LeaseExpiredError, ManualClock, Queue, QueueClosedError, StoreFailedError } from '../src/index.js';
import { flush } from './helpers/flush.js';
import { closingQueues } from './helpers/queues.js';

const queue = closingQueues();

describe('producing', () => {
  it('gives every job a positive id, unique across queues', async () => {
    const a = queue<string>();
    const b = queue<string>();
    const ids = [await a.add('x'), await b.add('y'), await a.add('z')].map((job) => job.id);
    expect(new Set(ids).size).toBe(3);
    expect(ids.every((id) => Number.isInteger(id) && id > 0)).toBe(true);
    expect(ids[1]).toBeGreaterThan(ids[0]);
  });

  it('returns the live job for a dedupe id, and accepts the id again once it is gone', async () => {
    const q = queue<string>();
    const first = await q.add('first', { id: 'order-7' });
    const again = await q.add('second', { id: 'order-7' });
    expect(again).toBe(first);
    expect(q.size).toBe(1);
    const lease = (await q.reserve())!;
    await lease.ack();
    const fresh = await q.add('third', { id: 'order-7' });
    expect(fresh.id).not.toBe(first.id);
    expect(fresh.data).toBe('third');
  });

  it('addBulk adds in order and returns the jobs', async () => {
    const q = queue<number>();
    const jobs = await q.addBulk([{ data: 1 }, { data: 2, options: { priority: 1 } }, { data: 3 }]);
    expect(jobs.map((job) => job.data)).toEqual([1, 2, 3]);
    expect(q.peekReady()?.data).toBe(2);
  });

  it('rejects add after close with QueueClosedError', async () => {
    const q = queue<number>();
    await q.close();
    await expect(q.add(1)).rejects.toBeInstanceOf(QueueClosedError);
  });
});

describe('pull consumers', () => {
  it('reserve hands out priority order, FIFO among equals, and waits for the next add', async () => {
    const q = queue<string>();
    await q.add('b1', { priority: 5 });
    await q.add('a', { priority: 1 });
    await q.add('b2', { priority: 5 });
    const order: string[] = [];
    for (let i = 0; i < 3; i++) {
      const lease = (await q.reserve())!;
      order.push(lease.data);
      await lease.ack();
    }
    expect(order).toEqual(['a', 'b1', 'b2']);
    const waiting = q.reserve();
    await q.add('late');
    expect((await waiting)?.data).toBe('late');
  });

  it('reserve with a timeout resolves undefined when nothing comes', async () => {
    const clock = new ManualClock();
    const q = queue<string>({ clock });
    const waiting = q.reserve({ timeout: 500 });
    clock.advance(499);
    await q.add('in time');
    expect((await waiting)?.data).toBe('in time');
    const empty = q.reserve({ timeout: 500 });
    clock.advance(500);
    expect(await empty).toBeUndefined();
  });

  it('reserve gives up when its signal aborts, and when the queue closes', async () => {
    const q = queue<string>();
    const controller = new AbortController();
    const aborted = q.reserve({ signal: controller.signal });
    controller.abort();
    expect(await aborted).toBeUndefined();
    const closing = q.reserve();
    await q.close();
    expect(await closing).toBeUndefined();
  });

  it('release puts a job back with a new priority; a settled lease refuses everything', async () => {
    const q = queue<string>({ retry: { attempts: 3 } });
    await q.add('x');
    await q.add('y', { priority: 10 });
    const lease = (await q.reserve())!;
    await lease.release({ priority: 20 });
    expect(q.peekReady()?.data).toBe('y');
    await expect(lease.ack()).rejects.toBeInstanceOf(LeaseExpiredError);
    expect(() => lease.touch()).toThrow(LeaseExpiredError);
    expect(lease.signal.aborted).toBe(true);
    expect(q.peek(lease.id)?.priority).toBe(20);
  });

  it('release without counting the attempt gives it back', async () => {
    const q = queue<string>();
    await q.add('x');
    const lease = (await q.reserve())!;
    expect(lease.attemptsMade).toBe(1);
    await lease.release({ countAttempt: false });
    const again = (await q.reserve())!;
    expect(again.attemptsMade).toBe(1);
    await again.ack();
    expect(q.stats().completed).toBe(1);
  });

  it('jobs() iterates reserved jobs until the signal aborts', async () => {
    const q = queue<number>();
    await q.addBulk([1, 2, 3].map((data) => ({ data })));
    const controller = new AbortController();
    const seen: number[] = [];
    for await (const lease of q.jobs({ signal: controller.signal })) {
      seen.push(lease.data);
      await lease.ack();
      if (seen.length === 3) controller.abort();
    }
    expect(seen).toEqual([1, 2, 3]);
  });

  it('reserveJob takes a specific delayed or buried job, even when paused', async () => {
    const q = queue<string>();
    const delayed = await q.add('later', { delay: 60_000 });
    q.pause();
    expect(q.tryReserve()).toBeUndefined();
    const lease = q.reserveJob(delayed.id);
    expect(lease.data).toBe('later');
    expect(() => q.reserveJob(delayed.id)).toThrow(/already reserved/);
    expect(() => q.reserveJob(123456789)).toThrow(/no job 123456789/);
  });
});

describe('push consumers', () => {
  it('process() acks on return and passes the result to completed', async () => {
    const q = queue<number>();
    const results: unknown[] = [];
    q.on('completed', (job, result) => results.push([job.data, result]));
    q.process(async (job) => job.data * 2);
    await q.addBulk([{ data: 1 }, { data: 2 }]);
    await q.onIdle();
    expect(results).toEqual([
      [1, 2],
      [2, 4],
    ]);
    expect(() => q.process(async () => undefined)).toThrow(/already has a handler/);
  });

  it('pause stops dispatch and resume restarts it', async () => {
    const q = queue<number>();
    const seen: number[] = [];
    q.pause();
    q.process((job) => {
      seen.push(job.data);
    });
    await q.add(1);
    expect(seen).toEqual([]);
    expect(q.isPaused).toBe(true);
    q.resume();
    await q.onIdle();
    expect(seen).toEqual([1]);
  });

  it('progress reaches the progress event', async () => {
    const q = queue<number>();
    const progress: unknown[] = [];
    q.on('progress', (job, value) => progress.push([job.data, value]));
    q.process((_job, ctx) => {
      ctx.progress(50);
      ctx.progress(100);
    });
    await q.add(7);
    await q.onIdle();
    expect(progress).toEqual([
      [7, 50],
      [7, 100],
    ]);
  });
});

describe('waiting for the queue', () => {
  it('onIdle and onEmpty resolve at once when already true', async () => {
    const q = queue<number>();
    let resolved = 0;
    void q.onIdle().then(() => resolved++);
    void q.onEmpty().then(() => resolved++);
    await Promise.resolve();
    expect(resolved).toBe(2);
  });

  it('onEmpty resolves when nothing is ready, onIdle when nothing runs or waits, drained fires', async () => {
    const clock = new ManualClock();
    const q = queue<number>({ clock });
    await q.add(1);
    await q.add(2, { delay: 100 });
    const events: string[] = [];
    q.on('drained', () => events.push('drained'));
    void q.onEmpty().then(() => events.push('empty'));
    void q.onIdle().then(() => events.push('idle'));
    const first = (await q.reserve())!;
    await Promise.resolve();
    expect(events).toEqual(['empty']);
    await first.ack();
    clock.advance(100);
    const second = (await q.reserve())!;
    await second.ack();
    await Promise.resolve();
    expect(events).toEqual(['empty', 'drained', 'idle']);
  });

  it("onEmpty and onIdle resolve, and 'drained' fires, when the last ready jobs expire instead of starting", async () => {
    const clock = new ManualClock();
    const q = queue<number>({ clock });
    for (const data of [1, 2, 3]) q.push(data, { ttl: 50 });
    const events: string[] = [];
    q.on('drained', () => events.push('drained'));
    void q.onEmpty().then(() => events.push('empty'));
    void q.onIdle().then(() => events.push('idle'));
    clock.advance(100);
    expect(q.tryReserve()).toBeUndefined();
    await Promise.resolve();
    expect(events).toEqual(['drained', 'empty', 'idle']);
    expect(q.stats()).toMatchObject({ ready: 0, buried: 3 });
  });

  it('onSizeLessThan, onEmpty and onIdle each resolve at their own moment while a handler works through the queue', async () => {
    const clock = new ManualClock();
    const q = queue<number>({ clock });
    const running: (() => void)[] = [];
    q.process(() => new Promise<void>((resolve) => running.push(resolve)));
    for (let i = 0; i < 6; i++) q.push(i);
    q.push(99, { delay: 100 });
    const seen: string[] = [];
    void q.onIdle().then(() => seen.push('idle'));
    void q.onEmpty().then(() => seen.push('empty'));
    void q.onSizeLessThan(4).then(() => seen.push('size<4'));
    /** Completes the running job, lets the next one start, and says what has resolved. */
    const completeOne = async (): Promise<string> => {
      (running.shift() as () => void)();
      await flush();
      return `${running.length} running, ${q.stats().ready} ready: ${seen.join(' ')}`;
    };
    expect(await completeOne()).toBe('1 running, 4 ready: ');
    expect(await completeOne()).toBe('1 running, 3 ready: ');
    expect(await completeOne()).toBe('1 running, 2 ready: size<4');
    expect(await completeOne()).toBe('1 running, 1 ready: size<4');
    expect(await completeOne()).toBe('1 running, 0 ready: size<4 empty');
    // Nothing ready, one delayed: not idle yet.
    expect(await completeOne()).toBe('0 running, 0 ready: size<4 empty');
    clock.advance(100);
    await flush();
    expect(await completeOne()).toBe('0 running, 0 ready: size<4 empty idle');
  });

  it('onSizeLessThan resolves once the backlog shrinks', async () => {
    const q = queue<number>();
    await q.addBulk([1, 2, 3].map((data) => ({ data })));
    let done = false;
    void q.onSizeLessThan(2).then(() => (done = true));
    await (await q.reserve())!.ack();
    await Promise.resolve();
    expect(done).toBe(false);
    await (await q.reserve())!.ack();
    await Promise.resolve();
    expect(done).toBe(true);
  });
});

describe('management', () => {
  it('peek finds jobs in every state; peekReady/peekDelayed/peekBuried pick the next of each', async () => {
    const q = queue<string>();
    const ready = await q.add('ready', { priority: 3 });
    await q.add('urgent', { priority: 1 });
    const soon = await q.add('soon', { delay: 1000 });
    await q.add('later', { delay: 5000 });
    const lease = q.reserveJob(ready.id);
    await lease.bury('looked wrong');
    expect(q.peek(ready.id)?.state).toBe('buried');
    expect(q.peekReady()?.data).toBe('urgent');
    expect(q.peekDelayed()?.id).toBe(soon.id);
    expect(q.peekBuried()?.id).toBe(ready.id);
    expect(q.peekBuried()?.errors.at(-1)?.message).toBe('looked wrong');
  });

  it('kick moves buried jobs first (oldest first), else delayed ones; remove deletes', async () => {
    const q = queue<string>();
    const d1 = await q.add('d1', { delay: 1000 });
    await q.add('d2', { delay: 2000 });
    const b = await q.add('b');
    await q.reserveJob(b.id).bury();
    expect(q.kick(10)).toBe(1);
    expect(q.peek(b.id)?.state).toBe('ready');
    expect(q.kick(1)).toBe(1);
    expect(q.peek(d1.id)?.state).toBe('ready');
    expect(q.kickJob(d1.id)).toBe(false);
    expect(q.remove(d1.id)).toBe(true);
    expect(q.peek(d1.id)).toBeUndefined();
    expect(q.remove(d1.id)).toBe(false);
  });

  it('changePriority moves a waiting job', async () => {
    const q = queue<string>();
    await q.add('a', { priority: 5 });
    const b = await q.add('b', { priority: 9 });
    q.changePriority(b.id, 1);
    expect(q.peekReady()?.data).toBe('b');
    expect(() => q.changePriority(b.id, -1)).toThrow(/`priority`/);
  });

  it('stats counts states, outcomes and latency percentiles', async () => {
    const clock = new ManualClock(1_000);
    const q = queue<number>({ clock, retry: { attempts: 2 } });
    await q.addBulk([1, 2, 3].map((data) => ({ data })));
    await q.add(4, { delay: 50 });
    clock.advance(10);
    const a = (await q.reserve())!;
    clock.advance(20);
    await a.ack();
    const b = (await q.reserve())!;
    await b.fail(new Error('x'));
    const stats = q.stats();
    expect(stats).toMatchObject({ ready: 2, delayed: 1, reserved: 0, buried: 0, added: 4, completed: 1, failed: 1, retried: 1 });
    expect(stats.waitTime.p50).toBeGreaterThanOrEqual(10);
    expect(stats.runTime).toMatchObject({ p50: 20, p99: 20, count: 1 });
  });
});

describe('close', () => {
  it('waits for running handlers, releases leftovers after the timeout, and is idempotent', async () => {
    const clock = new ManualClock();
    const q = new Queue<number>({ clock });
    let finish!: () => void;
    q.process(() => new Promise<void>((resolve) => (finish = resolve)));
    await q.add(1);
    const pulled = new Queue<number>({ clock });
    await pulled.add(2);
    const lease = (await pulled.reserve())!;

    const closing = q.close();
    expect(q.close()).toBe(closing);
    finish();
    await closing;
    expect(q.stats().completed).toBe(1);

    const closingPulled = pulled.close({ timeout: 1000 });
    clock.advance(1000);
    await closingPulled;
    expect(lease.signal.aborted).toBe(true);
    await expect(lease.ack()).rejects.toBeInstanceOf(LeaseExpiredError);
    expect(pulled.peek(lease.id)).toMatchObject({ state: 'ready', attemptsMade: 0 });
    expect(clock.pendingTimers).toBe(0);
  });
});

describe('the store seam', () => {
  class MemoryStore implements Store<string> {
    readonly changes: Array<{ type: string; id: number; state: string }> = [];
    fail: Error | undefined;
    append(change: JobChange<string>): void | Promise<void> {
      if (this.fail) return Promise.reject(this.fail);
      this.changes.push({ type: change.type, id: change.job.id, state: change.job.state });
    }
    async close(): Promise<void> {}
  }

  it('sees every state change once, in order', async () => {
    const store = new MemoryStore();
    const q = queue<string>({ store, retry: { attempts: 2 } });
    const job = await q.add('x');
    const lease = (await q.reserve())!;
    await lease.release();
    await (await q.reserve())!.ack();
    expect(store.changes).toEqual([
      { type: 'put', id: job.id, state: 'ready' },
      { type: 'update', id: job.id, state: 'reserved' },
      { type: 'update', id: job.id, state: 'ready' },
      { type: 'update', id: job.id, state: 'reserved' },
      { type: 'delete', id: job.id, state: 'reserved' },
    ]);
  });

  it('a failed write rejects the add, drops the job and fails the queue closed', async () => {
    const store = new MemoryStore();
    const q = queue<string>({ store });
    await q.add('kept');
    store.fail = new Error('EIO');
    await expect(q.add('lost')).rejects.toBeInstanceOf(StoreFailedError);
    expect(q.size).toBe(1);
    store.fail = undefined;
    await expect(q.add('refused')).rejects.toThrow(/store failed \(EIO\)/);
    expect((await q.reserve())?.data).toBe('kept');
  });

  it('a store that refuses one put (throws) fails that add only', async () => {
    const store = new MemoryStore();
    const refusing: Store<string> = {
      append: (change) => {
        if (change.type === 'put' && change.job.data === 'bad') throw new TypeError('cannot encode');
        return store.append(change);
      },
      close: async () => undefined,
    };
    const q = queue<string>({ store: refusing });
    await expect(q.add('bad')).rejects.toThrow(TypeError);
    expect(q.stats()).toMatchObject({ total: 0, added: 0 });
    const good = await q.add('good');
    expect(q.peekReady()).toBe(good);
    expect(store.changes.map((c) => c.type)).toEqual(['put']);
  });

  it('restore brings jobs back with their ids; a reserved one comes back ready with its attempt counted', async () => {
    const source = queue<string>({ retry: { attempts: 3 } });
    const a = await source.add('a');
    const b = await source.add('b', { delay: 10_000 });
    const lease = (await source.reserve())!;
    const snapshots = [source.peek(a.id)!.snapshot(), source.peek(b.id)!.snapshot()];
    await lease.ack();

    const restored = queue<string>();
    restored.restore(snapshots);
    expect(restored.peek(a.id)).toMatchObject({ state: 'ready', attemptsMade: 1, timeouts: 1, data: 'a' });
    expect(restored.peek(b.id)?.state).toBe('delayed');
    expect(restored.peek(b.id)?.dueAt).toBe(b.dueAt);
    const fresh: Job<string> = await restored.add('c');
    expect(fresh.id).toBeGreaterThan(b.id);
  });
});

describe('pause events and last delay', () => {
  it('emits paused and resumed once per change', async () => {
    const q = queue<number>();
    const events: string[] = [];
    q.on('paused', () => events.push('paused'));
    q.on('resumed', () => events.push('resumed'));
    q.pause();
    q.pause();
    q.resume();
    q.resume();
    expect(events).toEqual(['paused', 'resumed']);
  });

  it('a release without delay resets the job delay, as beanstalkd shows it', async () => {
    const q = queue<string>({ retry: { attempts: 3 } });
    const job = await q.add('x', { delay: 100_000 });
    q.kickJob(job.id);
    await q.tryReserve()!.release({ delay: 0 });
    expect(q.peek(job.id)?.delay).toBe(0);
    await q.tryReserve()!.release({ delay: 5 });
    expect(q.peek(job.id)?.delay).toBe(5);
  });
});
