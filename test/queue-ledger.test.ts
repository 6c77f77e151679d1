import { afterEach, describe, expect, it } from 'vitest';
import { ManualClock } from '../src/clock.js';
import { JobTimeoutError, LeaseExpiredError, NonErrorThrownError } from '../src/errors.js';
import type { ReservedJob } from '../src/reserved-job.js';
import { Queue } from '../src/queue.js';
import { flush, seededRandom, trackUnhandledRejections } from './helpers/flush.js';

// The ledger: whatever mix of failures the handler produces, every job ends exactly once,
// as completed or as dead, and never runs more often than its attempts allow.

const JOBS = 100_000;
const ATTEMPTS = 5;
const TIMEOUT = 1_000;

const queues: Queue<number>[] = [];
afterEach(async () => {
  for (const q of queues.splice(0)) await q.close({ timeout: 0 });
});

describe('queue ledger', () => {
  it(`ends each of ${JOBS} jobs exactly once under 30% random failures`, async () => {
    const unhandled = trackUnhandledRejections();
    const clock = new ManualClock();
    const random = seededRandom(0xd0c7e7);
    const q = new Queue<number>({
      clock,
      concurrency: 64,
      timeout: TIMEOUT,
      retry: { attempts: ATTEMPTS, backoff: { type: 'fixed', delay: 10 } },
    });
    queues.push(q);

    const completed = new Map<number, number>();
    const dead = new Map<number, number>();
    const failedKinds = { throw: 0, reject: 0, nonError: 0, hang: 0, late: 0 };
    let overAttempts = 0;
    const badReasons: string[] = [];
    let timeouts = 0;
    let nonErrors = 0;
    q.on('completed', (job) => {
      completed.set(job.id, (completed.get(job.id) ?? 0) + 1);
      if (job.attemptsMade > ATTEMPTS) overAttempts++;
    });
    q.on('dead', (job, reason) => {
      dead.set(job.id, (dead.get(job.id) ?? 0) + 1);
      if (reason !== 'failed' && reason !== 'timeout') badReasons.push(reason);
      if (job.attemptsMade !== ATTEMPTS) overAttempts++;
    });
    q.on('failed', (job, error) => {
      if (job.attemptsMade > ATTEMPTS) overAttempts++;
      if (error instanceof JobTimeoutError) timeouts++;
      if (error instanceof NonErrorThrownError) nonErrors++;
    });

    q.process((job) => {
      const roll = random();
      if (roll >= 0.3) return random() < 0.5 ? job.data : Promise.resolve(job.data);
      switch (Math.floor(random() * 4)) {
        case 0:
          failedKinds.throw++;
          throw new Error(`sync failure of ${job.id}`);
        case 1:
          failedKinds.reject++;
          return Promise.reject(new Error(`async failure of ${job.id}`));
        case 2:
          failedKinds.nonError++;
          return Promise.reject({ not: 'an error' });
        default:
          // Past the timeout: half never settle, half settle late (after the abort), which
          // must not count as a completion.
          if (random() < 0.5) {
            failedKinds.hang++;
            return new Promise<never>(() => {});
          }
          failedKinds.late++;
          return new Promise((resolve) => job.signal.addEventListener('abort', () => resolve('too late')));
      }
    });

    for (let i = 0; i < JOBS; i++) void q.add(i);

    let rounds = 0;
    await flush();
    while (completed.size + dead.size < JOBS && rounds < 5_000) {
      clock.advance(TIMEOUT);
      rounds++;
      await flush();
    }
    await flush();

    expect(completed.size + dead.size).toBe(JOBS);
    let twice = 0;
    for (const [id, count] of completed) if (count !== 1 || dead.has(id)) twice++;
    for (const count of dead.values()) if (count !== 1) twice++;
    expect(twice).toBe(0);
    expect(overAttempts).toBe(0);
    expect(badReasons).toEqual([]);
    expect(dead.size).toBeGreaterThan(0);

    // Every kind of failure happened, and each was one failed attempt.
    expect(Math.min(...Object.values(failedKinds))).toBeGreaterThan(100);
    expect(timeouts).toBe(failedKinds.hang + failedKinds.late);
    expect(nonErrors).toBe(failedKinds.nonError);
    const stats = q.stats();
    expect(stats.completed).toBe(completed.size);
    expect(stats.dead).toBe(dead.size);
    expect(stats.failed).toBe(failedKinds.throw + failedKinds.reject + failedKinds.nonError + failedKinds.hang + failedKinds.late);
    expect(stats.buried).toBe(dead.size);
    expect(stats.ready + stats.delayed + stats.reserved).toBe(0);
    expect(q.pending).toBe(0);

    await flush();
    expect(unhandled.stop()).toEqual([]);
  });

  it('ends each of 20,000 pulled jobs exactly once under acks, failures, releases, lost leases and late acks', async () => {
    const N = 20_000;
    const TTR = 500;
    const unhandled = trackUnhandledRejections();
    const clock = new ManualClock();
    const random = seededRandom(0x1ea5e);
    const q = new Queue<number>({ clock, ttr: TTR, retry: { attempts: ATTEMPTS, backoff: { type: 'linear', delay: 50 } } });
    queues.push(q);
    const ended = new Map<number, number>();
    const reasons = new Map<string, number>();
    let overAttempts = 0;
    const end = (id: number, attemptsMade: number): void => {
      ended.set(id, (ended.get(id) ?? 0) + 1);
      if (attemptsMade > ATTEMPTS) overAttempts++;
    };
    q.on('completed', (job) => end(job.id, job.attemptsMade));
    q.on('dead', (job, reason) => {
      end(job.id, job.attemptsMade);
      reasons.set(reason, (reasons.get(reason) ?? 0) + 1);
    });
    for (let i = 0; i < N; i++) void q.add(i);

    let lateRefused = 0;
    let lateAccepted = 0;
    const lateOtherErrors: unknown[] = [];
    let rounds = 0;
    while (ended.size < N && rounds < 2_000) {
      rounds++;
      const abandoned: ReservedJob<number>[] = [];
      const settling: Promise<void>[] = [];
      for (let lease = q.tryReserve(); lease !== undefined; lease = q.tryReserve()) {
        const roll = random();
        if (roll < 0.55) settling.push(lease.ack());
        else if (roll < 0.7) settling.push(lease.fail(new Error('no')));
        else if (roll < 0.8) settling.push(lease.release({ delay: Math.floor(random() * 100) }));
        else abandoned.push(lease);
      }
      await Promise.all(settling);
      // Abandoned leases run out; half of their holders try to ack afterwards.
      clock.advance(TTR);
      for (const lease of abandoned) {
        if (random() < 0.5) continue;
        await lease.ack().then(
          () => lateAccepted++,
          (error: unknown) => {
            if (error instanceof LeaseExpiredError) lateRefused++;
            else lateOtherErrors.push(error);
          },
        );
      }
      await flush();
    }

    expect(ended.size).toBe(N);
    expect([...ended.values()].filter((count) => count !== 1)).toEqual([]);
    expect(overAttempts).toBe(0);
    expect(lateAccepted).toBe(0);
    // A late ack is refused as LeaseExpiredError and nothing else.
    expect(lateOtherErrors).toEqual([]);
    expect(lateRefused).toBeGreaterThan(100);
    expect([...reasons.keys()].sort()).toEqual(['failed', 'lease-expired', 'released']);
    expect(q.stats()).toMatchObject({ ready: 0, delayed: 0, reserved: 0, completed: N - q.stats().dead });
    await flush();
    expect(unhandled.stop()).toEqual([]);
  });
});
