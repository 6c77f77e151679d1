import { afterEach, describe, expect, it } from 'vitest';
import { ManualClock } from '../src/clock.js';
import { Queue } from '../src/queue.js';
import { JobTimeoutError, WorkerCrashedError } from '../src/errors.js';
import { threads, type ThreadsHandler, type ThreadsOptions } from '../src/threads/index.js';
import { flush } from './helpers/flush.js';

const fixture = (name: string) => new URL(`./fixtures/threads/${name}`, import.meta.url);
const queues: Queue<any>[] = [];
const handlers: ThreadsHandler<any, any>[] = [];

function setup<T = any>(queueOptions: ConstructorParameters<typeof Queue<T>>[0] = {}, options: ThreadsOptions = {}, name = 'behaviours.mjs') {
  const q = new Queue<T>({ concurrency: 2, ...queueOptions });
  const handler = threads<T, unknown>(fixture(name), { size: 2, ...options });
  q.process(handler);
  queues.push(q);
  handlers.push(handler);
  return { q, handler };
}

function settle(q: Queue<any>, count: number) {
  const completed = new Map<number, unknown>();
  const dead = new Map<number, string>();
  const done = new Promise<void>((resolve) => {
    const check = () => {
      if (completed.size + dead.size >= count) resolve();
    };
    q.on('completed', (job, result) => {
      completed.set(job.id, result);
      check();
    });
    q.on('dead', (job, reason) => {
      dead.set(job.id, reason);
      check();
    });
  });
  return { completed, dead, done };
}

afterEach(async () => {
  await Promise.all(queues.splice(0).map((q) => q.close({ timeout: 0 })));
  await Promise.all(handlers.splice(0).map((h) => h.pool.destroy()));
});

describe('threads() as a queue handler', () => {
  it('completes jobs with the worker results', async () => {
    const { q } = setup<number>({}, {}, 'add-one.mjs');
    const { completed, done } = settle(q, 20);
    const jobs = await q.addBulk(Array.from({ length: 20 }, (_, i) => ({ data: i })));
    await done;
    for (const job of jobs) expect(completed.get(job.id)).toBe(job.data + 1);
  });

  it('forwards worker progress to the job progress event', async () => {
    const { q } = setup();
    const seen: unknown[] = [];
    q.on('progress', (_job, value) => seen.push(value));
    const { done } = settle(q, 1);
    await q.add({ op: 'progress', steps: 3 });
    await done;
    expect(seen).toEqual([1, 2, 3]);
  });

  it('sends an UnrecoverableError thrown in the worker straight to the dead letters', async () => {
    const { q } = setup({ retry: { attempts: 5 } });
    const { dead, done } = settle(q, 1);
    const job = await q.add({ op: 'unrecoverable' });
    await done;
    expect(dead.get(job.id)).toBe('unrecoverable');
    expect(job.attemptsMade).toBe(1);
    expect(job.errors[0]).toMatchObject({ name: 'UnrecoverableError', message: 'give up' });
  });

  it.each([undefined, 'queue'] as const)(
    'a RateLimitError thrown in the worker gives the job back unspent and holds its group, or the queue (scope %s)',
    async (scope) => {
      const clock = new ManualClock(0);
      const { q } = setup({ clock, retry: { attempts: 1 } });
      // The attempt ends either way: given back (ready again) or failed.
      const ended = new Promise<string>((resolve) => {
        let readies = 0;
        q.on('ready', () => ++readies === 2 && resolve('given back'));
        q.on('failed', (_job, error) => resolve(`failed: ${error.name}`));
      });
      const limited = await q.add({ op: 'rateLimitOnce', seen: new SharedArrayBuffer(4), delay: 500, scope }, { group: 'a' });
      expect(await ended).toBe('given back');
      const meanwhile = settle(q, 1);
      const sameGroup = await q.add({ op: 'echo', value: 'a1' }, { group: 'a' });
      const otherGroup = await q.add({ op: 'echo', value: 'b0' }, { group: 'b' });
      // Held for 500 ms: the limited job's group, and with scope 'queue' every group.
      if (scope === 'queue') {
        await flush();
        expect(q.peek(otherGroup.id)?.state).toBe('ready');
      } else {
        await meanwhile.done;
        expect(meanwhile.completed.get(otherGroup.id)).toBe('b0');
      }
      expect([q.peek(limited.id)?.state, q.peek(sameGroup.id)?.state]).toEqual(['ready', 'ready']);
      const rest = settle(q, scope === 'queue' ? 3 : 2);
      clock.advance(500);
      await rest.done;
      expect(rest.completed.get(limited.id)).toBe('after the limit');
      // One attempt allowed, and the job still completed: the limit used none.
      expect(q.stats()).toMatchObject({ completed: 3, failed: 0, dead: 0 });
    },
  );

  it('retries a job whose thread crashed, and completes it', async () => {
    const { q, handler } = setup({ retry: { attempts: 3 } });
    const failures: Error[] = [];
    q.on('failed', (_job, error) => failures.push(error));
    const { completed, done } = settle(q, 1);
    const job = await q.add({ op: 'crashOnce', seen: new SharedArrayBuffer(4) });
    await done;
    expect(completed.get(job.id)).toBe('second time lucky');
    expect(failures).toHaveLength(1);
    expect(failures[0]).toBeInstanceOf(WorkerCrashedError);
    expect(handler.pool.stats().crashed).toBe(1);
  });

  it('dead-letters a job that crashes its thread on every attempt', async () => {
    const { q, handler } = setup({ retry: { attempts: 3 } });
    const { dead, done } = settle(q, 1);
    const job = await q.add({ op: 'exit' });
    await done;
    expect(dead.get(job.id)).toBe('failed');
    expect(job.attemptsMade).toBe(3);
    expect(job.errors.map((e) => e.name)).toEqual(['WorkerCrashedError', 'WorkerCrashedError', 'WorkerCrashedError']);
    expect(handler.pool.stats().crashed).toBe(3);
    // The pool still works after its threads were replaced.
    const after = settle(q, 1);
    const next = await q.add({ op: 'echo', value: 'alive' });
    await after.done;
    expect(after.completed.get(next.id)).toBe('alive');
  });

  it('times out a job that ignores its signal, terminates its thread and carries on', async () => {
    const { q, handler } = setup({ concurrency: 1 }, { size: 1, abortGrace: 50 });
    await handler.pool.run({ op: 'echo', value: 'warm' }); // the timeout should not cover start-up
    const failures: Error[] = [];
    q.on('failed', (_job, error) => failures.push(error));
    const { completed, dead, done } = settle(q, 2);
    const hung = await q.add({ op: 'spin' }, { timeout: 100 });
    const next = await q.add({ op: 'echo', value: 'next' });
    await done;
    expect(dead.get(hung.id)).toBeDefined();
    expect(failures[0]).toBeInstanceOf(JobTimeoutError);
    expect(completed.get(next.id)).toBe('next');
    expect(handler.pool.stats().crashed).toBe(1);
  });

  it('aborts ctx.signal in the worker on timeout, keeping the thread', async () => {
    const { q, handler } = setup({ timeout: 100 }, { size: 1 });
    await handler.pool.run({ op: 'echo', value: 'warm' });
    const { dead, done } = settle(q, 1);
    const job = await q.add({ op: 'abortable' });
    await done;
    expect(dead.get(job.id)).toBeDefined();
    await expect.poll(() => handler.pool.stats().running).toBe(0);
    expect(handler.pool.stats()).toMatchObject({ crashed: 0, threads: 1 });
  });

  it('closes the pool when the queue closes', async () => {
    const { q, handler } = setup<number>({}, {}, 'add-one.mjs');
    const { done } = settle(q, 4);
    await q.addBulk([1, 2, 3, 4].map((data) => ({ data })));
    await done;
    expect(handler.pool.stats().threads).toBeGreaterThan(0);
    await q.close();
    expect(handler.pool.isClosed).toBe(true);
    expect(handler.pool.stats().threads).toBe(0);
  });

  it('closes promptly with a job still running that has no timeout, stopping its thread', async () => {
    const { q, handler } = setup({}, { size: 1 });
    const active = new Promise((resolve) => q.once('active', resolve));
    await q.add({ op: 'spin', ms: 60_000 });
    await active;
    const started = Date.now();
    await q.close({ timeout: 100 });
    expect(Date.now() - started).toBeLessThan(5_000);
    expect(handler.pool.stats().threads).toBe(0);
    expect(q.stats().ready).toBe(1); // given back, not failed
  });

  it('keeps a ledger: 10,000 jobs with random crashes and failures each end exactly once', async () => {
    const { q, handler } = setup({ concurrency: 8, retry: { attempts: 3 } }, { size: 2, concurrentPerThread: 2 });
    const count = 10_000;
    const ends = new Map<number, number>();
    let completedCount = 0;
    let deadCount = 0;
    const done = new Promise<void>((resolve) => {
      const end = (id: number) => {
        ends.set(id, (ends.get(id) ?? 0) + 1);
        if (completedCount + deadCount === count) resolve();
      };
      q.on('completed', (job, result) => {
        expect(result).toBe((job.data as { id: number }).id);
        completedCount++;
        end(job.id);
      });
      q.on('dead', (job) => {
        deadCount++;
        end(job.id);
      });
    });
    const jobs = await q.addBulk(Array.from({ length: count }, (_, id) => ({ data: { op: 'chance', id, crash: 0.002, fail: 0.2 } })));
    await done;
    expect(ends.size).toBe(count);
    for (const job of jobs) expect(ends.get(job.id)).toBe(1);
    expect(completedCount).toBeGreaterThan(count * 0.9);
    expect(deadCount).toBeGreaterThan(0); // 0.2^3 of 10,000: about 80 jobs
    expect(handler.pool.stats().crashed).toBeGreaterThan(0);
    const stats = q.stats();
    expect(stats.reserved + stats.ready + stats.delayed).toBe(0);
  });
});
