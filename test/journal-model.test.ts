import fc from 'fast-check';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { ManualClock } from '../src/clock.js';
import type { JobSnapshot } from '../src/job.js';
import { journalOf, openQueue, type OpenQueueOptions } from '../src/journal/index.js';
import type { Queue } from '../src/queue.js';
import type { ReservedJob } from '../src/reserved-job.js';

// Random sequences of every kind of state change on a durable queue; then the journal is
// reopened and must hold exactly what the live queue holds (reserved jobs as restore
// turns them: ready, or buried as 'lease-expired' on their last attempt).

let dir: string;
const open: Array<Queue<unknown>> = [];

beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'docket-journal-model-'));
});

afterEach(async () => {
  for (const q of open.splice(0)) await journalOf(q)?.close();
  rmSync(dir, { recursive: true, force: true });
});

type Op =
  | { kind: 'add'; priority: number; delay: number; attempts: number }
  | { kind: 'reserve'; ttr: number }
  | { kind: 'ack' | 'fail' | 'bury' | 'touch'; pick: number }
  | { kind: 'release'; pick: number; delay: number; priority: number }
  | { kind: 'kick'; bound: number }
  | { kind: 'kickJob' | 'remove' | 'redrive' | 'purge'; pick: number }
  | { kind: 'priority'; pick: number; priority: number }
  | { kind: 'advance'; ms: number }
  | { kind: 'compact' };

const opArb: fc.Arbitrary<Op> = fc.oneof(
  {
    weight: 4,
    arbitrary: fc.record({
      kind: fc.constant('add' as const),
      priority: fc.integer({ min: 0, max: 3 }),
      delay: fc.constantFrom(0, 0, 50, 500),
      attempts: fc.integer({ min: 1, max: 3 }),
    }),
  },
  { weight: 3, arbitrary: fc.record({ kind: fc.constant('reserve' as const), ttr: fc.constantFrom(100, 1000) }) },
  fc.record({ kind: fc.constantFrom('ack' as const, 'fail' as const, 'bury' as const, 'touch' as const), pick: fc.nat() }),
  fc.record({ kind: fc.constant('release' as const), pick: fc.nat(), delay: fc.constantFrom(0, 200), priority: fc.integer({ min: 0, max: 3 }) }),
  fc.record({ kind: fc.constant('kick' as const), bound: fc.integer({ min: 1, max: 3 }) }),
  fc.record({ kind: fc.constantFrom('kickJob' as const, 'remove' as const, 'redrive' as const, 'purge' as const), pick: fc.nat() }),
  fc.record({ kind: fc.constant('priority' as const), pick: fc.nat(), priority: fc.integer({ min: 0, max: 3 }) }),
  fc.record({ kind: fc.constant('advance' as const), ms: fc.constantFrom(10, 60, 150, 600, 1200) }),
  fc.record({ kind: fc.constant('compact' as const) }),
);

/** What a restore makes of a live job. */
function restored(snapshot: JobSnapshot<unknown>): JobSnapshot<unknown> {
  if (snapshot.state !== 'reserved') return snapshot;
  const s = { ...snapshot, dueAt: Infinity, timeouts: snapshot.timeouts + 1 };
  if (s.attemptsMade >= s.maxAttempts) return { ...s, state: 'buried', deadReason: 'lease-expired' };
  return { ...s, state: 'ready' };
}

async function run(ops: Op[], file: string): Promise<void> {
  const clock = new ManualClock(1_000_000);
  const options: OpenQueueOptions<unknown> = {
    clock,
    sync: 'never',
    compactionSlack: 2048,
    retry: { attempts: 2, backoff: { type: 'fixed', delay: 100 } },
  };
  const q = await openQueue<unknown>(file, options);
  open.push(q);
  const ids: number[] = [];
  const leases: Array<ReservedJob<unknown>> = [];
  const pickId = (n: number): number | undefined => (ids.length === 0 ? undefined : ids[n % ids.length]);
  const pickLease = (n: number): ReservedJob<unknown> | undefined => {
    if (leases.length === 0) return undefined;
    return leases.splice(n % leases.length, 1)[0];
  };
  // Settling a lease that expired meanwhile rejects: that is the queue's business, not ours.
  const settle = async (p: Promise<unknown>): Promise<void> => {
    await p.catch((error: Error) => {
      if (error.name !== 'LeaseExpiredError') throw error;
    });
  };
  for (const op of ops) {
    switch (op.kind) {
      case 'add':
        ids.push((await q.add({ n: ids.length }, { priority: op.priority, delay: op.delay, attempts: op.attempts })).id);
        break;
      case 'reserve': {
        const lease = q.tryReserve({ ttr: op.ttr });
        if (lease !== undefined) leases.push(lease);
        break;
      }
      case 'ack':
        await settle(pickLease(op.pick)?.ack() ?? Promise.resolve());
        break;
      case 'fail':
        await settle(pickLease(op.pick)?.fail(new Error('boom')) ?? Promise.resolve());
        break;
      case 'bury':
        await settle(pickLease(op.pick)?.bury('buried by the model') ?? Promise.resolve());
        break;
      case 'touch': {
        const lease = leases[op.pick % Math.max(1, leases.length)];
        try {
          lease?.touch();
        } catch (error) {
          if ((error as Error).name !== 'LeaseExpiredError') throw error;
        }
        break;
      }
      case 'release':
        await settle(pickLease(op.pick)?.release({ delay: op.delay, priority: op.priority }) ?? Promise.resolve());
        break;
      case 'kick':
        q.kick(op.bound);
        break;
      case 'kickJob': {
        const id = pickId(op.pick);
        if (id !== undefined) q.kickJob(id);
        break;
      }
      case 'remove': {
        const id = pickId(op.pick);
        if (id !== undefined) q.remove(id);
        break;
      }
      case 'redrive': {
        const id = pickId(op.pick);
        if (id !== undefined && q.peek(id)?.state === 'buried') q.deadLetters.redrive([id]);
        break;
      }
      case 'purge': {
        const id = pickId(op.pick);
        if (id !== undefined && q.peek(id)?.state === 'buried') q.deadLetters.purge([id]);
        break;
      }
      case 'priority': {
        const id = pickId(op.pick);
        if (id !== undefined && q.peek(id) !== undefined) q.changePriority(id, op.priority);
        break;
      }
      case 'advance':
        clock.advance(op.ms);
        break;
      case 'compact':
        await journalOf(q)!.compact();
        break;
    }
  }
  await journalOf(q)!.flush();
  const expected = new Map<number, JobSnapshot<unknown>>();
  for (const id of ids) {
    const job = q.peek(id);
    if (job !== undefined) expected.set(id, restored(job.snapshot()));
  }
  await journalOf(q)!.close();
  const again = await openQueue<unknown>(file, { ...options, clock: new ManualClock(clock.now()) });
  open.push(again);
  const actual = new Map<number, JobSnapshot<unknown>>();
  for (const id of ids) {
    const job = again.peek(id);
    if (job !== undefined) actual.set(id, job.snapshot());
  }
  expect(actual).toEqual(expected);
  expect(journalOf(again)!.stats().liveJobs).toBe(expected.size);
}

describe('journal model', () => {
  it('reopening gives back exactly the live state after any sequence of operations', async () => {
    let round = 0;
    await fc.assert(
      fc.asyncProperty(fc.array(opArb, { minLength: 1, maxLength: 60 }), async (ops) => {
        await run(ops, join(dir, `model-${round++}.journal`));
        for (const q of open.splice(0)) await journalOf(q)?.close();
      }),
      { numRuns: 60 },
    );
  });
});
