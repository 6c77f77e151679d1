/**
 * The queue contract's conformance suite: one set of behaviours, written only against
 * `JobQueue<T>`, registered once per home (in-process, socket client on docket's server,
 * socket client on beanstalkd, Redis, Redis Cluster). A home that differs says so in its
 * `Differences`, and the test of that behaviour asserts the documented difference.
 */
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import type { JobQueue, LeasedJob } from '../../src/contract.js';
import { LeaseExpiredError, QueueClosedError } from '../../src/errors.js';
import { threads } from '../../src/threads/index.js';
import { until } from '../helpers/flush.js';

export interface Payload {
  n: number;
}

/** Per-queue settings every home can express. */
export interface QueueSettings {
  /** Deliveries before a failing job is dead-lettered. @defaultValue 1 */
  attempts?: number;
  /** Handlers `process()` runs at once. @defaultValue 1 */
  concurrency?: number;
}

/** A documented difference of a home from the in-process queue. */
export interface Differences {
  /**
   * The shortest time the home can express, ms: the beanstalkd protocol carries whole
   * seconds, so delays and leases there are multiples of 1000.
   */
  readonly tick: number;
  /**
   * Whether a lease that ran out and came back to the same consumer connection still
   * refuses the old holder's ack (beanstalkd has no lease tokens: a delete from the
   * connection that holds the job again succeeds).
   */
  readonly fencedAfterRedelivery: boolean;
  /**
   * Some activity on the connection that holds `job`, after its lease ran out. beanstalkd
   * 1.12 can wake a hair before a lease's deadline and then miss the expiry until the
   * holder's connection is active again; other homes hand the job over on time without it.
   */
  readonly nudgeHolder?: (job: LeasedJob<Payload>) => Promise<void>;
}

export interface Home {
  /** A fresh, empty queue (a new name) for one test. */
  open(settings?: QueueSettings): Promise<JobQueue<Payload>>;
  readonly differences: Differences;
  /** Stops the servers the home started. */
  close(): Promise<void>;
}

async function next(queue: JobQueue<Payload>, timeout = 20_000): Promise<LeasedJob<Payload>> {
  const job = await queue.reserve({ timeout });
  if (job === undefined) throw new Error(`no job within ${timeout} ms`);
  return job;
}

/** Registers the contract's behaviours against the home `makeHome` sets up. */
export function describeConformance(label: string, makeHome: () => Promise<Home>): void {
  describe(`the queue contract on ${label}`, () => {
    let home: Home;
    const opened: JobQueue<Payload>[] = [];
    const warnings: Error[] = [];
    const onWarning = (warning: Error): void => void warnings.push(warning);

    beforeAll(async () => {
      home = await makeHome();
    });
    afterAll(async () => {
      await home?.close();
    });
    afterEach(async () => {
      await Promise.all(opened.splice(0).map((queue) => queue.close({ timeout: 1000 })));
      process.off('warning', onWarning);
      // Failures with no other channel become process warnings: none may appear here.
      expect(warnings.splice(0).map((w) => `${w.name}: ${w.message}`)).toEqual([]);
    });

    async function open(settings?: QueueSettings): Promise<JobQueue<Payload>> {
      process.on('warning', onWarning);
      const queue = await home.open(settings);
      opened.push(queue);
      return queue;
    }

    it('adds a job, leases it with the same id and data, and an ack removes it', async () => {
      const q = await open();
      const added = await q.add({ n: 1 });
      expect(added.id).toBeGreaterThan(0);
      const job = await next(q);
      expect([job.id, job.data]).toEqual([added.id, { n: 1 }]);
      expect(job.isCurrent).toBe(true);
      expect((await q.stats()).reserved).toBe(1);
      await job.ack();
      expect(await q.peek(added.id)).toBeUndefined();
      const stats = await q.stats();
      expect([stats.ready, stats.delayed, stats.reserved, stats.buried]).toEqual([0, 0, 0, 0]);
      expect(stats.added).toBeGreaterThanOrEqual(1);
    });

    it('hands out lower priorities first over the full u32 range, FIFO among equals, also after a release', async () => {
      // A release uses an attempt (as a failure does): give the job a second one.
      const q = await open({ attempts: 2 });
      const max = 2 ** 32 - 1;
      await q.addBulk([
        { data: { n: 1 }, options: { priority: max } },
        { data: { n: 2 }, options: { priority: 1024 } },
        { data: { n: 3 }, options: { priority: 0 } },
        { data: { n: 4 }, options: { priority: 1024 } },
        { data: { n: 5 }, options: { priority: max - 1 } },
        { data: { n: 6 }, options: { priority: 1024 } },
      ]);
      const first = await next(q);
      expect(first.data.n).toBe(3);
      await first.ack();
      // The oldest of the 1024s goes out and comes back: it is still first among them.
      const oldest = await next(q);
      expect(oldest.data.n).toBe(2);
      await oldest.release({ priority: 1024 });
      const order: number[] = [];
      for (let i = 0; i < 5; i++) {
        const job = await next(q);
        order.push(job.data.n);
        await job.ack();
      }
      expect(order).toEqual([2, 4, 6, 5, 1]);
    });

    it('keeps the order of addBulk and resolves each job', async () => {
      const q = await open();
      const added = await q.addBulk(Array.from({ length: 50 }, (_, n) => ({ data: { n } })));
      expect(added.map((job) => job.data.n)).toEqual(Array.from({ length: 50 }, (_, n) => n));
      expect(new Set(added.map((job) => job.id)).size).toBe(50);
      const seen: number[] = [];
      for (let i = 0; i < 50; i++) {
        const job = await next(q);
        seen.push(job.data.n);
        await job.ack();
      }
      expect(seen).toEqual(Array.from({ length: 50 }, (_, n) => n));
    });

    it('holds a delayed job until it is due (or kicked), and peekDelayed shows it', async () => {
      const q = await open();
      const far = await q.add({ n: 1 }, { delay: 3_600_000 });
      const soon = await q.add({ n: 2 }, { delay: home.differences.tick });
      expect((await q.stats()).delayed).toBe(2);
      expect((await q.peekDelayed())?.id).toBe(soon.id);
      expect(await q.reserve({ timeout: 0 })).toBeUndefined();
      // Due: the soon one arrives by itself; the far one only when kicked.
      const due = await next(q);
      expect(due.id).toBe(soon.id);
      await due.ack();
      expect(await q.kick(10)).toBe(1);
      const kicked = await next(q);
      expect(kicked.id).toBe(far.id);
      await kicked.ack();
    });

    it('a release with a delay holds the job back; kickJob brings it now', async () => {
      const q = await open({ attempts: 2 });
      const added = await q.add({ n: 1 });
      const job = await next(q);
      await job.release({ delay: 3_600_000 });
      expect((await q.stats()).delayed).toBe(1);
      expect(await q.reserve({ timeout: 0 })).toBeUndefined();
      expect(await q.kickJob(added.id)).toBe(true);
      expect(await q.kickJob(added.id)).toBe(false);
      const again = await next(q);
      expect(again.id).toBe(added.id);
      await again.ack();
    });

    it('refuses to settle a lease twice (LeaseExpiredError), and the job is not touched again', async () => {
      const q = await open();
      await q.add({ n: 1 });
      await q.add({ n: 2 });
      const job = await next(q);
      await job.ack();
      expect(job.isCurrent).toBe(false);
      await expect(job.ack()).rejects.toBeInstanceOf(LeaseExpiredError);
      await expect(job.release()).rejects.toBeInstanceOf(LeaseExpiredError);
      await expect(job.bury()).rejects.toBeInstanceOf(LeaseExpiredError);
      const other = await next(q);
      expect(other.data.n).toBe(2);
      await other.ack();
    });

    it('gives a job whose lease ran out to another consumer; the old holder can no longer ack it', async () => {
      const q = await open({ attempts: 3 });
      const { tick, fencedAfterRedelivery } = home.differences;
      const added = await q.add({ n: 1 }, { ttr: tick });
      const first = await next(q);
      const nudge = home.differences.nudgeHolder === undefined ? undefined : setTimeout(() => void home.differences.nudgeHolder!(first), 1.5 * tick);
      const second = await next(q).finally(() => clearTimeout(nudge));
      expect(second.id).toBe(added.id);
      if (fencedAfterRedelivery) {
        await expect(first.ack()).rejects.toBeInstanceOf(LeaseExpiredError);
        expect(second.isCurrent).toBe(true);
      }
      await second.ack().catch((error: unknown) => {
        // Without fencing, the first ack may have deleted the job already.
        if (fencedAfterRedelivery) throw error;
      });
      expect((await q.stats()).reserved).toBe(0);
    });

    it('touch() keeps a lease alive past its ttr', async () => {
      const q = await open();
      const { tick } = home.differences;
      await q.add({ n: 1 }, { ttr: 3 * tick });
      const job = await next(q);
      for (let i = 0; i < 4; i++) {
        await new Promise((resolve) => setTimeout(resolve, tick));
        await job.touch();
      }
      // Four ticks after the start (past the ttr of three), the lease still holds.
      await job.ack();
      expect((await q.stats()).reserved).toBe(0);
    });

    it('buries a job: peekBuried shows it, kick brings it back, purge deletes it', async () => {
      const q = await open();
      const a = await q.add({ n: 1 });
      const b = await q.add({ n: 2 });
      await (await next(q)).bury('bad input');
      await (await next(q)).bury();
      expect((await q.stats()).buried).toBe(2);
      expect((await q.peekBuried())?.id).toBe(a.id);
      expect(await q.deadLetters.purge([a.id])).toBe(1);
      expect(await q.deadLetters.purge([a.id])).toBe(0);
      expect(await q.deadLetters.redrive()).toBe(1);
      const back = await next(q);
      expect(back.id).toBe(b.id);
      await back.bury();
      expect(await q.kick(5)).toBe(1);
      await (await next(q)).ack();
      expect((await q.stats()).buried).toBe(0);
    });

    it('remove() deletes a waiting job, not a reserved or missing one', async () => {
      const q = await open();
      const a = await q.add({ n: 1 });
      const b = await q.add({ n: 2 });
      expect(await q.remove(b.id)).toBe(true);
      expect(await q.remove(b.id)).toBe(false);
      const job = await next(q);
      expect(job.id).toBe(a.id);
      expect(await q.remove(a.id)).toBe(false);
      await job.ack();
      expect(await q.peek(b.id)).toBeUndefined();
    });

    it('process() acks what a handler returns, at most `concurrency` at once, and reports completed', async () => {
      const q = await open({ concurrency: 4 });
      let running = 0;
      let most = 0;
      const completed: number[] = [];
      q.on('completed', (job) => completed.push(job.data.n));
      q.process(async (job, { signal }) => {
        expect(signal.aborted).toBe(false);
        running++;
        most = Math.max(most, running);
        await new Promise((resolve) => setTimeout(resolve, 5));
        running--;
        return job.data.n;
      });
      await q.addBulk(Array.from({ length: 40 }, (_, n) => ({ data: { n } })));
      await until(() => completed.length === 40);
      expect([...completed].sort((x, y) => x - y)).toEqual(Array.from({ length: 40 }, (_, n) => n));
      expect(most).toBeLessThanOrEqual(4);
      expect(most).toBeGreaterThan(1);
      await q.onIdle();
    });

    it('a failing handler is retried up to its attempts, then dead-lettered; failed is reported each time', async () => {
      const q = await open({ attempts: 2 });
      const failures: string[] = [];
      q.on('failed', (job, error) => failures.push(`${job.data.n}:${error.message}`));
      let calls = 0;
      q.process(async (job) => {
        calls++;
        if (job.data.n === 1 && calls === 1) throw new Error('flaky');
        if (job.data.n === 2) throw new Error('broken');
        return 'ok';
      });
      await q.add({ n: 1 });
      await until(async () => (await q.stats()).ready + (await q.stats()).reserved === 0 && failures.length >= 1);
      await q.add({ n: 2 });
      await until(async () => (await q.stats()).buried === 1);
      expect(failures).toEqual(['1:flaky', '2:broken', '2:broken']);
      expect((await q.peekBuried())?.data).toEqual({ n: 2 });
    });

    it('process() runs a threads() handler: worker results complete jobs, a worker throw fails the attempt, close() stops the pool', async () => {
      const q = await open({ concurrency: 2, attempts: 2 });
      const handler = threads<Payload, number>(new URL('../fixtures/threads/conformance.mjs', import.meta.url), { size: 2 });
      const results = new Map<number, unknown>();
      const failures: string[] = [];
      q.on('completed', (job, result) => void results.set(job.data.n, result));
      q.on('failed', (job, error) => void failures.push(`${job.data.n}:${error.message}`));
      try {
        q.process(handler, { concurrency: handler.concurrency });
        await q.addBulk([1, 2, 3, -1, 4, 5].map((n) => ({ data: { n } })));
        await until(async () => results.size === 5 && (await q.stats()).buried === 1);
        expect([...results].sort(([a], [b]) => a - b)).toEqual([1, 2, 3, 4, 5].map((n) => [n, n * 2]));
        expect(failures).toEqual(['-1:negative -1', '-1:negative -1']);
        expect(handler.pool.stats().threads).toBeGreaterThan(0);
        await q.close();
        expect(handler.pool.stats().threads).toBe(0);
      } finally {
        await handler.close();
      }
    });

    it('pause() stops the hand-out to every consumer; resume() restarts it', async () => {
      const q = await open();
      await q.pause();
      await q.add({ n: 1 });
      expect(await q.reserve({ timeout: home.differences.tick })).toBeUndefined();
      await q.resume();
      const job = await next(q);
      expect(job.data.n).toBe(1);
      await job.ack();
    });

    it('onIdle() resolves once everything added was processed', async () => {
      const q = await open({ concurrency: 2 });
      let done = 0;
      q.process(async () => {
        await new Promise((resolve) => setTimeout(resolve, 2));
        done++;
      });
      await q.addBulk(Array.from({ length: 20 }, (_, n) => ({ data: { n } })));
      await q.onIdle();
      expect(done).toBe(20);
    });

    it('jobs() yields leased jobs until its signal aborts; reserve() gives up on timeout 0 and on abort', async () => {
      const q = await open();
      expect(await q.reserve({ timeout: 0 })).toBeUndefined();
      const aborted = new AbortController();
      const waiting = q.reserve({ signal: aborted.signal });
      aborted.abort();
      expect(await waiting).toBeUndefined();
      await q.addBulk([{ data: { n: 1 } }, { data: { n: 2 } }]);
      const stop = new AbortController();
      const seen: number[] = [];
      for await (const job of q.jobs({ signal: stop.signal })) {
        seen.push(job.data.n);
        await job.ack();
        if (seen.length === 2) stop.abort();
      }
      expect(seen).toEqual([1, 2]);
    });

    it('after close(), add rejects and reserve resolves undefined', async () => {
      const q = await open();
      await q.close();
      expect(q.isClosed).toBe(true);
      await expect(q.add({ n: 1 })).rejects.toBeInstanceOf(QueueClosedError);
      expect(await q.reserve({ timeout: 0 })).toBeUndefined();
    });
  });
}
