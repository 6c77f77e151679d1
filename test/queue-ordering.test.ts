import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { ManualClock } from '../src/clock.js';
import type { Job } from '../src/job.js';
import { Queue } from '../src/queue.js';
import type { ReservedJob } from '../src/reserved-job.js';

// A reference model of the beanstalkd order: the ready job with the lowest priority number
// runs first, the lowest id among equals; delayed jobs wait for their due time; kick takes
// buried jobs (oldest burial first), else delayed ones (soonest due first).

type Op =
  | { kind: 'add'; priority: number; delay: number }
  | { kind: 'reserve' }
  | { kind: 'release'; pick: number; delay: number; priority: number | undefined }
  | { kind: 'bury'; pick: number }
  | { kind: 'kick'; bound: number }
  | { kind: 'kickJob'; pick: number }
  | { kind: 'ack'; pick: number }
  | { kind: 'advance'; ms: number }
  | { kind: 'touch'; pick: number };

interface ModelJob {
  id: number;
  priority: number;
  state: 'ready' | 'delayed' | 'reserved' | 'buried';
  dueAt: number;
  /** Order of entering the delayed heap (ties of due time are FIFO). */
  delayedSeq: number;
  /** Order of burial (kick takes the oldest first). */
  buriedSeq: number;
  /** Lease deadline while reserved. */
  leaseEnd: number;
}

const priority = fc.integer({ min: 0, max: 3 });
const delay = fc.oneof({ weight: 3, arbitrary: fc.constant(0) }, { weight: 1, arbitrary: fc.integer({ min: 1, max: 50 }) });
const pick = fc.nat(1000);
const op: fc.Arbitrary<Op> = fc.oneof(
  { weight: 5, arbitrary: fc.record({ kind: fc.constant('add' as const), priority, delay }) },
  { weight: 5, arbitrary: fc.constant({ kind: 'reserve' as const }) },
  {
    weight: 3,
    arbitrary: fc.record({ kind: fc.constant('release' as const), pick, delay, priority: fc.option(priority, { nil: undefined }) }),
  },
  { weight: 1, arbitrary: fc.record({ kind: fc.constant('bury' as const), pick }) },
  { weight: 1, arbitrary: fc.record({ kind: fc.constant('kick' as const), bound: fc.integer({ min: 1, max: 4 }) }) },
  { weight: 1, arbitrary: fc.record({ kind: fc.constant('kickJob' as const), pick }) },
  { weight: 3, arbitrary: fc.record({ kind: fc.constant('ack' as const), pick }) },
  { weight: 2, arbitrary: fc.record({ kind: fc.constant('advance' as const), ms: fc.integer({ min: 1, max: 60 }) }) },
  { weight: 1, arbitrary: fc.record({ kind: fc.constant('touch' as const), pick }) },
);

function byPriorityThenId(a: ModelJob, b: ModelJob): number {
  return a.priority - b.priority || a.id - b.id;
}

/** `ttr` Infinity: leases never run out. Releases never bury: only the order is under test. */
async function runModel(ops: Op[], ttr: number): Promise<void> {
  const clock = new ManualClock(1_000_000);
  const q = new Queue<number>({ clock, ttr, retry: { attempts: Infinity } });
  let lastAdded: Job<number> | undefined;
  q.on('added', (job) => (lastAdded = job));
  const model = new Map<number, ModelJob>();
  const leases: ReservedJob<number>[] = [];
  let delayedSeq = 0;
  let buriedSeq = 0;
  const inState = (state: ModelJob['state']): ModelJob[] => [...model.values()].filter((j) => j.state === state);
  const toDelayed = (job: ModelJob, ms: number): void => {
    job.state = 'delayed';
    job.dueAt = clock.now() + ms;
    job.delayedSeq = delayedSeq++;
  };
  const takeLease = (n: number): ReservedJob<number> | undefined => (leases.length === 0 ? undefined : leases.splice(n % leases.length, 1)[0]);

  try {
    for (const step of ops) {
      switch (step.kind) {
        case 'add': {
          lastAdded = undefined;
          void q.add(0, { priority: step.priority, delay: step.delay });
          const job = lastAdded as Job<number> | undefined;
          expect(job).toBeDefined();
          const m: ModelJob = { id: job!.id, priority: step.priority, state: 'ready', dueAt: Infinity, delayedSeq: -1, buriedSeq: -1, leaseEnd: Infinity };
          if (step.delay > 0) toDelayed(m, step.delay);
          model.set(m.id, m);
          break;
        }
        case 'reserve': {
          const expected = inState('ready').sort(byPriorityThenId)[0];
          const lease = q.tryReserve();
          expect(lease?.id).toBe(expected?.id);
          if (lease !== undefined && expected !== undefined) {
            // Never before its due time.
            expect(expected.dueAt === Infinity || expected.dueAt <= clock.now()).toBe(true);
            expected.state = 'reserved';
            expected.leaseEnd = clock.now() + ttr;
            leases.push(lease);
          }
          break;
        }
        case 'release': {
          const lease = takeLease(step.pick);
          if (lease === undefined) break;
          await lease.release({ delay: step.delay, ...(step.priority === undefined ? {} : { priority: step.priority }) });
          const m = model.get(lease.id)!;
          if (step.priority !== undefined) m.priority = step.priority;
          if (step.delay > 0) toDelayed(m, step.delay);
          else m.state = 'ready';
          break;
        }
        case 'bury': {
          const lease = takeLease(step.pick);
          if (lease === undefined) break;
          await lease.bury();
          const m = model.get(lease.id)!;
          m.state = 'buried';
          m.buriedSeq = buriedSeq++;
          break;
        }
        case 'kick': {
          const buried = inState('buried').sort((a, b) => a.buriedSeq - b.buriedSeq);
          const targets = buried.length > 0 ? buried : inState('delayed').sort((a, b) => a.dueAt - b.dueAt || a.delayedSeq - b.delayedSeq);
          const kicked = targets.slice(0, step.bound);
          expect(q.kick(step.bound)).toBe(kicked.length);
          for (const m of kicked) {
            m.state = 'ready';
            m.dueAt = Infinity;
          }
          break;
        }
        case 'kickJob': {
          const all = [...model.values()];
          if (all.length === 0) break;
          const m = all[step.pick % all.length]!;
          const kickable = m.state === 'buried' || m.state === 'delayed';
          expect(q.kickJob(m.id)).toBe(kickable);
          if (kickable) {
            m.state = 'ready';
            m.dueAt = Infinity;
          }
          break;
        }
        case 'ack': {
          const lease = takeLease(step.pick);
          if (lease === undefined) break;
          await lease.ack();
          model.delete(lease.id);
          break;
        }
        case 'touch': {
          if (leases.length === 0) break;
          const lease = leases[step.pick % leases.length]!;
          lease.touch();
          model.get(lease.id)!.leaseEnd = clock.now() + ttr;
          break;
        }
        case 'advance': {
          clock.advance(step.ms);
          for (const m of inState('delayed')) {
            if (m.dueAt <= clock.now()) {
              m.state = 'ready';
              m.dueAt = Infinity;
            }
          }
          // Lost leases: the job is redelivered (ready again), its old holder refused.
          for (const m of inState('reserved')) {
            if (m.leaseEnd <= clock.now()) {
              m.state = 'ready';
              m.leaseEnd = Infinity;
              const at = leases.findIndex((l) => l.id === m.id);
              const [lost] = leases.splice(at, 1);
              expect(lost!.isCurrent).toBe(false);
            }
          }
          break;
        }
      }
      const stats = q.stats();
      expect({ ready: stats.ready, delayed: stats.delayed, reserved: stats.reserved, buried: stats.buried }).toEqual({
        ready: inState('ready').length,
        delayed: inState('delayed').length,
        reserved: inState('reserved').length,
        buried: inState('buried').length,
      });
      expect(q.peekReady()?.id).toBe(inState('ready').sort(byPriorityThenId)[0]?.id);
    }
    // Drain: everything that is ready comes out in model order.
    for (const m of inState('delayed')) m.state = 'ready';
    // Advancing past every lease as well: unacknowledged jobs come back.
    if (ttr < 1_000) for (const m of inState('reserved')) m.state = 'ready';
    clock.advance(1_000);
    const rest = inState('ready')
      .sort(byPriorityThenId)
      .map((m) => m.id);
    const drained: number[] = [];
    for (let lease = q.tryReserve(); lease !== undefined; lease = q.tryReserve()) drained.push(lease.id);
    expect(drained).toEqual(rest);
  } finally {
    await q.close({ timeout: 0 });
  }
}

describe('queue order (model-based)', () => {
  it('reserves by priority, then FIFO by id, and never a delayed job early', async () => {
    await fc.assert(
      fc.asyncProperty(fc.array(op, { minLength: 1, maxLength: 150 }), async (ops) => {
        await runModel(ops, Infinity);
      }),
      { numRuns: 300 },
    );
  });

  it('keeps that order when leases run out and jobs are redelivered (touch renews)', async () => {
    await fc.assert(
      fc.asyncProperty(fc.array(op, { minLength: 1, maxLength: 150 }), async (ops) => {
        await runModel(ops, 100);
      }),
      { numRuns: 300 },
    );
  });

  it('puts a released job with a smaller id ahead of newer jobs of its priority', async () => {
    const clock = new ManualClock();
    const q = new Queue<string>({ clock, ttr: Infinity, retry: { attempts: Infinity } });
    try {
      await q.add('a', { priority: 5 });
      await q.add('b', { priority: 5 });
      const a = q.tryReserve()!;
      await q.add('c', { priority: 5 });
      await a.release();
      expect([q.tryReserve()?.data, q.tryReserve()?.data, q.tryReserve()?.data]).toEqual(['a', 'b', 'c']);
    } finally {
      await q.close({ timeout: 0 });
    }
  });

  it('runs a released job at its new priority', async () => {
    const clock = new ManualClock();
    const q = new Queue<string>({ clock, ttr: Infinity, retry: { attempts: Infinity } });
    try {
      await q.add('a', { priority: 1 });
      await q.add('b', { priority: 2 });
      await q.add('c', { priority: 3 });
      const a = q.tryReserve()!;
      await a.release({ priority: 10 });
      expect([q.tryReserve()?.data, q.tryReserve()?.data, q.tryReserve()?.data]).toEqual(['b', 'c', 'a']);
    } finally {
      await q.close({ timeout: 0 });
    }
  });

  it('keeps a delayed job out of reach until exactly its due time', async () => {
    const clock = new ManualClock();
    const q = new Queue<string>({ clock });
    try {
      await q.add('later', { delay: 100, priority: 0 });
      await q.add('now', { priority: 9 });
      expect(q.tryReserve()?.data).toBe('now');
      clock.advance(99);
      expect(q.tryReserve()).toBeUndefined();
      clock.advance(1);
      expect(q.tryReserve()?.data).toBe('later');
    } finally {
      await q.close({ timeout: 0 });
    }
  });

  it('process() dispatches in the same order as reserve()', async () => {
    const clock = new ManualClock();
    const q = new Queue<string>({ clock });
    try {
      q.pause();
      await q.add('p2-a', { priority: 2 });
      await q.add('p1-a', { priority: 1 });
      await q.add('p2-b', { priority: 2 });
      await q.add('p0', { priority: 0 });
      await q.add('p1-b', { priority: 1 });
      const seen: string[] = [];
      q.process((job) => {
        seen.push(job.data);
      });
      q.resume();
      await q.onIdle();
      expect(seen).toEqual(['p0', 'p1-a', 'p1-b', 'p2-a', 'p2-b']);
    } finally {
      await q.close({ timeout: 0 });
    }
  });
});
