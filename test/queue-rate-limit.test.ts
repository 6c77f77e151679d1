import { describe, expect, it } from 'vitest';
import { ManualClock } from '../src/clock.js';
import { InvalidOptionError, RateLimitError } from '../src/errors.js';
import type { QueueOptions } from '../src/options.js';
import { Queue } from '../src/queue.js';
import { StartWindow } from '../src/rate-limiter.js';
import { flush } from './helpers/flush.js';
import { closingQueues } from './helpers/queues.js';
import { groupEntriesOf, reserveAll } from './helpers/groups.js';

const newQueue = closingQueues();

function makeQueue(options: QueueOptions<string> = {}): { q: Queue<string>; clock: ManualClock } {
  const clock = new ManualClock(0);
  return { q: newQueue<string>({ clock, ...options }), clock };
}

/** Starts of a push consumer, as [time, data], with every job acked at once. */
function recordStarts(q: Queue<string>, clock: ManualClock): Array<[number, string]> {
  const starts: Array<[number, string]> = [];
  q.process((job) => {
    starts.push([clock.now(), job.data]);
  });
  return starts;
}

async function advance(clock: ManualClock, ms: number, step = 50): Promise<void> {
  for (let t = 0; t < ms; t += step) {
    clock.advance(Math.min(step, ms - t));
    await flush();
  }
}

describe('StartWindow (sliding window)', () => {
  it('allows max starts in any window of duration ms, never more', () => {
    const w = new StartWindow({ max: 3, duration: 1000 });
    for (const t of [0, 100, 900]) {
      expect(w.openAt(t)).toBe(t);
      w.record(t);
    }
    // The 4th waits until the 1st is 1000 ms old; a fixed window would allow it at 1000 and 3 more.
    expect(w.openAt(950)).toBe(1000);
    w.record(1000);
    expect(w.openAt(1000)).toBe(1100);
    expect(w.openAt(1200)).toBe(1200);
  });

  it('a pause holds every start until it ends, and a shorter one never shortens it', () => {
    const w = new StartWindow(undefined);
    w.pauseUntil(500);
    w.pauseUntil(200);
    expect(w.openAt(0)).toBe(500);
    expect(w.openAt(600)).toBe(600);
    expect(w.quietAt()).toBe(500);
  });
});

describe('limiter (per queue)', () => {
  it('starts at most max jobs in any window; the rest wait and none is dropped', async () => {
    const { q, clock } = makeQueue({ limiter: { max: 2, duration: 1000 } });
    const starts = recordStarts(q, clock);
    for (let i = 0; i < 5; i++) q.push(`j${i}`);
    await flush();
    expect(starts).toEqual([
      [0, 'j0'],
      [0, 'j1'],
    ]);
    await advance(clock, 999);
    expect(starts).toHaveLength(2);
    await advance(clock, 1);
    expect(starts.map(([t]) => t)).toEqual([0, 0, 1000, 1000]);
    await advance(clock, 1000);
    expect(starts.map(([, d]) => d)).toEqual(['j0', 'j1', 'j2', 'j3', 'j4']);
    // Sliding: no `duration` window ever holds more than max starts.
    for (let i = 2; i < starts.length; i++) expect(starts[i][0] - starts[i - 2][0]).toBeGreaterThanOrEqual(1000);
  });

  it('wakes a waiting reserve() when the window opens, with one timer', async () => {
    const { q, clock } = makeQueue({ limiter: { max: 1, duration: 1000 } });
    q.push('a');
    q.push('b');
    expect(q.tryReserve()!.data).toBe('a');
    expect(q.tryReserve()).toBeUndefined();
    // The lease of 'a' and the queue's gate; the waiter adds none, and nothing polls.
    expect(clock.pendingTimers).toBe(2);
    const waiting = q.reserve();
    await flush();
    expect(clock.pendingTimers).toBe(2);
    clock.advance(1000);
    expect((await waiting)!.data).toBe('b');
  });
});

describe('groupLimit (per group)', () => {
  it('limits each group on its own; other groups and ungrouped jobs run on', async () => {
    const { q, clock } = makeQueue({ groupConcurrency: Infinity, groupLimit: { max: 1, duration: 1000 } });
    const starts = recordStarts(q, clock);
    for (let i = 0; i < 3; i++) {
      q.push(`a${i}`, { group: 'a' });
      q.push(`b${i}`, { group: 'b' });
    }
    q.push('u0');
    q.push('u1');
    await flush();
    expect(starts.map(([, d]) => d).sort()).toEqual(['a0', 'b0', 'u0', 'u1']);
    await advance(clock, 1000);
    expect(
      starts
        .filter(([t]) => t === 1000)
        .map(([, d]) => d)
        .sort(),
    ).toEqual(['a1', 'b1']);
    await advance(clock, 1000);
    expect(starts).toHaveLength(8);
    expect(q.size).toBe(0);
  });

  it('forgets a limited group once its window is quiet', async () => {
    const { q, clock } = makeQueue({ concurrency: 4, groupLimit: { max: 1, duration: 1000 } });
    recordStarts(q, clock);
    for (let i = 0; i < 50; i++) q.push('x', { group: `g${i}` });
    await flush();
    expect(q.groups()).toEqual([]);
    // Kept while their windows count: a new job now must still wait.
    expect(groupEntriesOf(q)).toBe(50);
    await advance(clock, 1000);
    // The next start sweeps the quiet windows away.
    // A new group's job after the window: starts at once.
    q.push('late', { group: 'g0' });
    await flush();
    expect(q.size).toBe(0);
    expect(groupEntriesOf(q)).toBeLessThanOrEqual(1);
  });
});

describe('rateLimit(ms) and RateLimitError', () => {
  it('ctx.rateLimit gives the job back unspent and holds its group for ms', async () => {
    const { q, clock } = makeQueue({ concurrency: 10, groupConcurrency: Infinity });
    const starts: Array<[number, string, number]> = [];
    let limited = false;
    q.process(async (job, ctx) => {
      starts.push([clock.now(), job.data, job.attemptsMade]);
      if (job.data === 'a0' && !limited) {
        limited = true;
        await ctx.rateLimit(500);
      }
    });
    q.push('a0', { group: 'a' });
    q.push('a1', { group: 'a' });
    q.push('b0', { group: 'b' });
    await flush();
    // a0 asked for 500 ms as it started: a1 waits, group b runs on.
    expect(starts.map(([, d]) => d)).toEqual(['a0', 'b0']);
    q.push('b1', { group: 'b' });
    await flush();
    expect(starts.map(([, d]) => d)).toEqual(['a0', 'b0', 'b1']);
    await advance(clock, 450);
    expect(starts).toHaveLength(3);
    await advance(clock, 50);
    const again = starts.slice(3);
    // a0 again first (its place kept), at 500, as attempt 1 (the limit used no attempt).
    expect(again).toEqual([
      [500, 'a0', 1],
      [500, 'a1', 1],
    ]);
    expect(q.stats()).toMatchObject({ completed: 4, failed: 0 });
  });

  it('a thrown RateLimitError holds the whole queue for a job without a group', async () => {
    const { q, clock } = makeQueue({ retry: { attempts: 1 } });
    const starts: Array<[number, string]> = [];
    let thrown = false;
    q.process((job) => {
      starts.push([clock.now(), job.data]);
      if (!thrown) {
        thrown = true;
        throw new RateLimitError(300);
      }
    });
    q.push('x');
    q.push('y');
    await flush();
    expect(starts).toEqual([[0, 'x']]);
    await advance(clock, 300);
    expect(starts).toEqual([
      [0, 'x'],
      [300, 'x'],
      [300, 'y'],
    ]);
    // One attempt allowed, and the job still completed: the limit used none.
    expect(q.stats()).toMatchObject({ completed: 2, failed: 0, dead: 0 });
  });

  it("scope 'queue' from a grouped job holds every group", async () => {
    const { q, clock } = makeQueue();
    const lease = q.push('a0', { group: 'a' }) && q.tryReserve()!;
    q.push('b0', { group: 'b' });
    await lease.fail(new RateLimitError(200, { scope: 'queue' }));
    expect(q.tryReserve()).toBeUndefined();
    clock.advance(199);
    expect(q.tryReserve()).toBeUndefined();
    clock.advance(1);
    // Group b waited longer for its turn; a0 keeps its place in group a.
    expect([q.tryReserve()!.data, q.tryReserve()!.data]).toEqual(['b0', 'a0']);
  });

  it('a group whose limit opens joins the back of the line: the groups already waiting go first', async () => {
    const { q, clock } = makeQueue();
    for (const group of ['a', 'b', 'c']) for (const i of [0, 1]) q.push(`${group}${i}`, { group });
    const a0 = q.tryReserve()!;
    expect(a0.data).toBe('a0');
    await a0.rateLimit(500); // group a held until 500
    const leases = [q.tryReserve()!, q.tryReserve()!];
    expect(leases.map((lease) => lease.data)).toEqual(['b0', 'c0']);
    expect(q.tryReserve(), 'group a is held').toBeUndefined();
    // b, then c, wait for their turn again before a's limit opens.
    for (const lease of leases) await lease.ack();
    clock.advance(500);
    expect(reserveAll(q).map((lease) => lease.data)).toEqual(['b1', 'c1', 'a0']);
  });

  it('rejects a bad delay and keeps the lease', async () => {
    const { q } = makeQueue();
    q.push('x');
    const lease = q.tryReserve()!;
    await expect(lease.rateLimit(-1)).rejects.toThrow(InvalidOptionError);
    await expect(lease.rateLimit(Number.NaN)).rejects.toThrow('rate-limit delay');
    expect(lease.isCurrent).toBe(true);
  });
});

describe('limiter options', () => {
  it('names the bad field', () => {
    expect(() => new Queue({ limiter: { max: 0, duration: 1000 } })).toThrow('Expected `limiter.max` to be an integer from 1 to');
    expect(() => new Queue({ limiter: { max: 1, duration: Infinity } })).toThrow('Expected `limiter.duration` to be a finite number of milliseconds >= 1');
    expect(() => new Queue({ groupLimit: { max: 1.5, duration: 10 } })).toThrow('`groupLimit.max`');
    expect(() => new Queue({ groupLimit: 5 as never })).toThrow('Expected `groupLimit` to be a { max, duration } object, got `5`');
  });
});
