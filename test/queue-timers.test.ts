import { afterEach, describe, expect, it } from 'vitest';
import type { Clock, TimerHandle } from '../src/clock.js';
import { MAX_TIMER_MS, ManualClock, systemClock } from '../src/clock.js';
import { Queue } from '../src/queue.js';
import { seededRandom } from './helpers/flush.js';

// One timer per queue for delays and one for leases, never one per job.

const queues: Queue<number>[] = [];
afterEach(async () => {
  for (const q of queues.splice(0)) await q.close({ timeout: 0 });
});

function activeTimeouts(): number {
  return process.getActiveResourcesInfo().filter((kind) => kind === 'Timeout').length;
}

/** The system clock, counting the timers it has armed and not yet fired or cleared. */
function countingClock(): Clock & { live: number; peak: number } {
  const live = new Set<TimerHandle>();
  const clock = {
    live: 0,
    peak: 0,
    now: () => systemClock.now(),
    setTimer(fn: () => void, ms: number, keepAlive?: boolean): TimerHandle {
      const handle = systemClock.setTimer(
        () => {
          live.delete(handle);
          clock.live = live.size;
          fn();
        },
        ms,
        keepAlive,
      );
      live.add(handle);
      clock.live = live.size;
      clock.peak = Math.max(clock.peak, live.size);
      return handle;
    },
    clearTimer(handle: TimerHandle): void {
      live.delete(handle);
      clock.live = live.size;
      systemClock.clearTimer(handle);
    },
  };
  return clock;
}

describe('queue timers', () => {
  it('holds 1,000,000 delayed jobs and many leases with at most 2 timers', async () => {
    const before = activeTimeouts();
    const clock = countingClock();
    const q = new Queue<number>({ clock, ttr: 600_000 });
    queues.push(q);
    const random = seededRandom(42);
    // Due times in random order, so the earliest keeps changing and the timer is re-armed.
    for (let i = 0; i < 1_000_000; i++) void q.add(i, { delay: 600_000 + Math.floor(random() * 3_600_000) });
    for (let i = 0; i < 1_000; i++) void q.add(-i, { priority: 0 });
    for (let i = 0; i < 1_000; i++) expect(q.tryReserve()).toBeDefined();
    expect(q.stats()).toMatchObject({ delayed: 1_000_000, reserved: 1_000 });

    // Awaiting idleness makes the queue's timers hold the process (ref'd), so Node lists them.
    void q.onIdle();
    const during = activeTimeouts();
    expect(during - before).toBeGreaterThanOrEqual(1);
    expect(during - before).toBeLessThanOrEqual(2);
    expect(clock.peak).toBeLessThanOrEqual(2);
    expect(clock.live).toBeGreaterThanOrEqual(1);

    await q.close({ timeout: 0 });
    expect(clock.live).toBe(0);
    expect(activeTimeouts()).toBe(before);
  });

  it('keeps its timers unref()d while nobody awaits them', async () => {
    const before = activeTimeouts();
    const q = new Queue<number>({ ttr: 600_000 });
    queues.push(q);
    await q.add(1, { delay: 600_000 });
    await q.add(2);
    q.tryReserve();
    expect(activeTimeouts()).toBe(before);
  });

  it('uses at most 2 timers whatever mix of delays, leases, timeouts and retries (manual clock)', async () => {
    const clock = new ManualClock();
    const q = new Queue<number>({ clock, ttr: 5_000, timeout: 3_000, retry: { attempts: 3, backoff: { type: 'exponential', delay: 100 } } });
    queues.push(q);
    const random = seededRandom(7);
    let peak = 0;
    for (let i = 0; i < 10_000; i++) {
      void q.add(i, { delay: Math.floor(random() * 10_000) });
      if (i % 10 === 0) q.tryReserve();
      peak = Math.max(peak, clock.pendingTimers);
    }
    q.process(() => new Promise<never>(() => {}), { concurrency: 50 });
    for (let t = 0; t < 100; t++) {
      clock.advance(250);
      peak = Math.max(peak, clock.pendingTimers);
    }
    expect(q.stats().failed).toBeGreaterThan(0);
    expect(peak).toBeLessThanOrEqual(2);
    await q.close({ timeout: 0 });
    expect(clock.pendingTimers).toBe(0);
  });

  it('does not run a delay beyond 2^31-1 ms early (Node caps a single timer there)', async () => {
    const clock = new ManualClock();
    const q = new Queue<number>({ clock });
    queues.push(q);
    const delay = MAX_TIMER_MS + 5_000;
    const job = await q.add(1, { delay });
    expect(job.dueAt).toBe(delay);
    clock.advance(MAX_TIMER_MS);
    // The capped timer fired: the job is still delayed and a new timer covers the rest.
    expect(job.state).toBe('delayed');
    expect(clock.pendingTimers).toBe(1);
    clock.advance(4_999);
    expect(job.state).toBe('delayed');
    expect(q.tryReserve()).toBeUndefined();
    clock.advance(1);
    expect(job.state).toBe('ready');
    expect(q.tryReserve()?.id).toBe(job.id);
  });

  it('does not expire a lease beyond 2^31-1 ms early', async () => {
    const clock = new ManualClock();
    const ttr = 30 * 24 * 3_600_000;
    const q = new Queue<number>({ clock, ttr });
    queues.push(q);
    await q.add(1);
    const lease = q.tryReserve()!;
    clock.advance(MAX_TIMER_MS + 1);
    expect(lease.isCurrent).toBe(true);
    clock.advance(ttr - MAX_TIMER_MS - 2);
    expect(lease.isCurrent).toBe(true);
    clock.advance(1);
    expect(lease.isCurrent).toBe(false);
  });

  it('clears every timer on close', async () => {
    const clock = new ManualClock();
    const q = new Queue<number>({ clock, ttr: 1_000 });
    queues.push(q);
    await q.add(1, { delay: 1_000 });
    await q.add(2);
    q.tryReserve();
    void q.reserve({ timeout: 5_000 });
    expect(clock.pendingTimers).toBeGreaterThanOrEqual(2);
    await q.close({ timeout: 0 });
    expect(clock.pendingTimers).toBe(0);
  });

  it('leaves no timer armed when close() is called from a listener while timers fire', async () => {
    const clock = new ManualClock();
    const q = new Queue<number>({ clock });
    queues.push(q);
    await q.add(1, { delay: 10 });
    await q.add(2, { delay: 3_600_000 });
    q.once('ready', () => void q.close({ timeout: 0 }));
    clock.advance(10);
    await Promise.resolve();
    expect(q.isClosed).toBe(true);
    expect(clock.pendingTimers).toBe(0);
  });
});
