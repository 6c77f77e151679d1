import { afterEach, describe, expect, it } from 'vitest';
import { ManualClock } from '../src/clock.js';
import { Queue } from '../src/queue.js';
import { advanceUntil, seededRandom, trackUnhandledRejections } from './helpers/flush.js';

// The ledger with groups: whatever mix of failures (throws, time-outs of a hung handler,
// retries with a backoff), every job ends exactly once, completed or dead; no two jobs of a
// strict group ever run at once; and a strict group completes its jobs in the order they
// were added, except where a job died on the way.

const JOBS = 20_000;
const GROUP_COUNT = 200;
const ATTEMPTS = 4;

const queues: Queue<{ n: number; group: string | undefined }>[] = [];
afterEach(async () => {
  for (const q of queues.splice(0)) await q.close({ timeout: 0 });
});

describe('queue ledger with groups', () => {
  it(`ends each of ${JOBS} jobs over ${GROUP_COUNT} groups exactly once under random failures, one at a time per group, in order`, async () => {
    const unhandled = trackUnhandledRejections();
    const clock = new ManualClock();
    const random = seededRandom(0x6_2026);
    const q = new Queue<{ n: number; group: string | undefined }>({
      clock,
      concurrency: 32,
      timeout: 1_000,
      retry: { attempts: ATTEMPTS, backoff: { type: 'fixed', delay: 10 } },
    });
    queues.push(q);

    const ended = new Map<number, string>();
    const twice: number[] = [];
    const runningPerGroup = new Map<string, number>();
    const runningJobs = new Set<number>();
    let overlaps = 0;
    let concurrentSameJob = 0;
    const completedOrder = new Map<string, number[]>();
    const deadIn = new Map<string, number[]>();
    const end = (id: number, how: string): void => {
      if (ended.has(id)) twice.push(id);
      ended.set(id, how);
    };
    q.on('completed', (job) => {
      end(job.id, 'completed');
      const g = job.data.group;
      if (g !== undefined) completedOrder.set(g, [...(completedOrder.get(g) ?? []), job.data.n]);
    });
    q.on('dead', (job) => {
      end(job.id, 'dead');
      const g = job.data.group;
      if (g !== undefined) deadIn.set(g, [...(deadIn.get(g) ?? []), job.data.n]);
    });

    q.process(async (job, { signal }) => {
      const g = job.data.group;
      if (runningJobs.has(job.id)) concurrentSameJob++;
      runningJobs.add(job.id);
      if (g !== undefined) {
        const now = (runningPerGroup.get(g) ?? 0) + 1;
        runningPerGroup.set(g, now);
        if (now > 1) overlaps++;
      }
      // The attempt is over when it returns, or at once when its signal aborts (a time-out):
      // a handler that honours its signal stops there, and the group may move on.
      let over = false;
      const stop = (): void => {
        if (over) return;
        over = true;
        runningJobs.delete(job.id);
        if (g !== undefined) runningPerGroup.set(g, (runningPerGroup.get(g) as number) - 1);
      };
      signal.addEventListener('abort', stop, { once: true });
      try {
        const roll = random();
        // A hung handler: only the timeout ends its attempt.
        if (roll < 0.05) await new Promise((resolve) => signal.addEventListener('abort', resolve, { once: true }));
        else for (let i = Math.floor(random() * 4); i > 0; i--) await Promise.resolve();
        if (roll < 0.3) throw new Error('random failure');
      } finally {
        stop();
      }
    });

    const groupOf = new Map<number, string | undefined>();
    for (let n = 0; n < JOBS; n++) {
      // One job in ten has no group; the groups' sizes are skewed (a few big tenants).
      const group = random() < 0.1 ? undefined : `tenant-${Math.floor(random() ** 2 * GROUP_COUNT)}`;
      const job = q.push({ n, group }, group === undefined ? undefined : { group });
      groupOf.set(job.id, group);
    }

    await advanceUntil(clock, 10, () => ended.size === JOBS, 200_000);
    expect(ended.size).toBe(JOBS);
    expect(twice).toEqual([]);
    expect(overlaps).toBe(0);
    expect(concurrentSameJob).toBe(0);
    // Per group, completions in add order (a strict group waits for each retry).
    for (const [g, order] of completedOrder) expect(order, g).toEqual([...order].sort((a, b) => a - b));
    expect([...deadIn.values()].flat().length).toBeGreaterThan(0);
    expect(q.groups()).toEqual([]);
    expect(q.stats()).toMatchObject({ ready: 0, delayed: 0, reserved: 0 });
    expect(unhandled.stop()).toEqual([]);
  });
});
