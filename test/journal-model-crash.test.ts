import fc from 'fast-check';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { ManualClock } from '../src/clock.js';
import { journalOf, openQueue, type OpenQueueOptions } from '../src/journal/index.js';
import type { Queue } from '../src/queue.js';
import type { ReservedJob } from '../src/reserved-job.js';
import { MemoryFileSystem } from './helpers/memory-fs.js';
import { observe, QueueModel, type ModelJob } from './helpers/queue-model.js';

// Random sequences of operations on a durable queue, mirrored on a reference model the
// test owns; the file system (in memory) is crashed at a random one of its calls (a kill,
// or under sync 'always' a power cut, and the write at hand maybe torn). The crash image
// is reopened: every job must be as the model says after the operations acknowledged
// before the crash, or (for the one operation then in flight) as it says after that one.
// Operations that resolve synchronously (reserve, kick...) count as acknowledged once
// `journal.flush()` has resolved after them.

const FILE = path.resolve('/docket-memory/model.journal');
const BACKOFF = 1000;
const TTR = 1_000_000_000;

type Op =
  | { kind: 'add'; priority: number; delay: number; attempts: number; dedupe: number | undefined; ttl: number | undefined }
  | { kind: 'reserve' | 'ack' | 'fail' | 'kickJob' | 'remove' | 'touch'; pick: number }
  | { kind: 'release'; pick: number; delay: number; priority: number | undefined }
  | { kind: 'bury'; pick: number; reason: string | undefined; priority: number | undefined }
  | { kind: 'priority'; pick: number; priority: number }
  | { kind: 'kick'; bound: number }
  | { kind: 'advance'; ms: number }
  | { kind: 'compact' }
  | { kind: 'restart' };

const priority = fc.integer({ min: 0, max: 3 });
const opArb: fc.Arbitrary<Op> = fc.oneof(
  {
    weight: 5,
    arbitrary: fc.record({
      kind: fc.constant('add' as const),
      priority,
      delay: fc.constantFrom(0, 0, 0, 5000),
      attempts: fc.integer({ min: 1, max: 3 }),
      dedupe: fc.option(fc.integer({ min: 0, max: 3 }), { nil: undefined, freq: 3 }),
      ttl: fc.option(fc.constant(3_600_000), { nil: undefined, freq: 3 }),
    }),
  },
  { weight: 4, arbitrary: fc.record({ kind: fc.constant('reserve' as const), pick: fc.nat() }) },
  { weight: 3, arbitrary: fc.record({ kind: fc.constantFrom('ack' as const, 'fail' as const), pick: fc.nat() }) },
  fc.record({ kind: fc.constantFrom('kickJob' as const, 'remove' as const, 'touch' as const), pick: fc.nat() }),
  fc.record({ kind: fc.constant('release' as const), pick: fc.nat(), delay: fc.constantFrom(0, 2000), priority: fc.option(priority, { nil: undefined }) }),
  fc.record({
    kind: fc.constant('bury' as const),
    pick: fc.nat(),
    reason: fc.option(fc.constant('by the model'), { nil: undefined }),
    priority: fc.option(priority, { nil: undefined }),
  }),
  fc.record({ kind: fc.constant('priority' as const), pick: fc.nat(), priority }),
  fc.record({ kind: fc.constant('kick' as const), bound: fc.integer({ min: 1, max: 3 }) }),
  fc.record({ kind: fc.constant('advance' as const), ms: fc.constantFrom(100, 3000) }),
  fc.record({ kind: fc.constant('compact' as const) }),
  fc.record({ kind: fc.constant('restart' as const) }),
);

interface Crash {
  /** Index of the file system call at which the crash happens (past the last: at the end). */
  at: number;
  power: boolean;
  /** Fraction of the write at hand that reaches the file, or undefined for none of it. */
  torn: number | undefined;
}

const crashArb: fc.Arbitrary<Crash> = fc.record({
  at: fc.nat({ max: 400 }),
  power: fc.boolean(),
  torn: fc.option(fc.double({ min: 0, max: 1, noNaN: true }), { nil: undefined }),
});

function pick(ids: number[], n: number): number | undefined {
  return ids.length === 0 ? undefined : ids[n % ids.length];
}

/** Applies one operation to the queue and the model alike; resolves once it is acknowledged. */
async function apply(
  op: Op,
  q: Queue<unknown>,
  model: QueueModel,
  clock: ManualClock,
  leases: Map<number, ReservedJob<unknown>>,
  serial: number,
): Promise<void> {
  const now = clock.now();
  switch (op.kind) {
    case 'add': {
      const dedupeId = op.dedupe === undefined ? undefined : `key-${op.dedupe}`;
      const existing = dedupeId === undefined ? undefined : model.withDedupeId(dedupeId);
      const options = { priority: op.priority, delay: op.delay, attempts: op.attempts, ttr: TTR, ttl: op.ttl, id: dedupeId };
      const job = await q.add({ serial }, options);
      if (existing !== undefined) expect(job.id, 'a live dedupe id gives back its job').toBe(existing.id);
      else model.add(job.id, { serial }, { ...options, dedupeId }, now);
      return;
    }
    case 'reserve': {
      const id = pick([...model.ids('ready'), ...model.ids('delayed')], op.pick);
      if (id === undefined) return;
      leases.set(id, q.reserveJob(id));
      model.reserve(id, now);
      return;
    }
    case 'ack':
    case 'fail':
    case 'release':
    case 'bury':
    case 'touch': {
      const id = pick(model.ids('reserved'), op.pick);
      if (id === undefined) return;
      const lease = leases.get(id)!;
      if (op.kind === 'touch') return lease.touch();
      leases.delete(id);
      if (op.kind === 'ack') {
        model.ack(id);
        return lease.ack();
      }
      if (op.kind === 'fail') {
        model.fail(id, `failure ${serial}`, now);
        return lease.fail(new Error(`failure ${serial}`));
      }
      if (op.kind === 'release') {
        model.release(id, { delay: op.delay, priority: op.priority }, now);
        return lease.release({ delay: op.delay, priority: op.priority });
      }
      if (op.kind !== 'bury') throw new Error(`unexpected ${op.kind}`);
      model.buryLease(id, op.reason, op.priority, now);
      return lease.bury(op.reason, { priority: op.priority });
    }
    case 'kickJob': {
      const id = pick([...model.ids('buried'), ...model.ids('delayed')], op.pick);
      if (id === undefined) return;
      expect(q.kickJob(id)).toBe(true);
      model.kickJob(id);
      return;
    }
    case 'kick': {
      // Only kicks whose choice of jobs does not depend on an order (which of several
      // buried jobs is oldest, after a restart, or of delayed ones due at the same time).
      const buried = model.ids('buried').length;
      const delayed = model.ids('delayed').map((id) => model.get(id).dueAt);
      if (buried > op.bound || (buried === 0 && new Set(delayed).size < delayed.length)) return;
      q.kick(op.bound);
      model.kick(op.bound);
      return;
    }
    case 'remove': {
      const id = pick([...model.ids('ready'), ...model.ids('delayed'), ...model.ids('buried')], op.pick);
      if (id === undefined) return;
      expect(q.remove(id)).toBe(true);
      model.remove(id);
      return;
    }
    case 'priority': {
      const id = pick(model.ids(), op.pick);
      if (id === undefined) return;
      q.changePriority(id, op.priority);
      model.changePriority(id, op.priority);
      return;
    }
    case 'advance':
      clock.advance(op.ms);
      model.advance(clock.now());
      return;
    case 'compact':
      await journalOf(q)!.compact();
      return;
    case 'restart':
      // Handled by the run: the queue is abandoned as a kill -9 would and reopened.
      return;
  }
}

async function run(ops: Op[], crash: Crash, sync: 'always' | 'never'): Promise<void> {
  let fs = new MemoryFileSystem();
  const clock = new ManualClock(1_000_000);
  const options: OpenQueueOptions<unknown> = { sync, compactionSlack: 512, retry: { attempts: 3, backoff: { type: 'fixed', delay: BACKOFF } } };
  const power = crash.power && sync === 'always';
  const models: QueueModel[] = [new QueueModel(BACKOFF)];
  let acknowledged = 0;
  let image: { fs: MemoryFileSystem; acknowledged: number } | undefined;
  fs.onCall = (_call, index) => {
    if (index !== crash.at) return;
    const pending = fs.pendingWrite;
    const torn =
      pending === undefined || crash.torn === undefined
        ? undefined
        : { ...pending, bytes: pending.bytes.subarray(0, Math.floor(pending.bytes.length * crash.torn)) };
    image = { fs: fs.image(power ? 'power' : 'kill', torn), acknowledged };
  };
  let q = await openQueue<unknown>(FILE, { ...options, clock, fileSystem: fs });
  const leases = new Map<number, ReservedJob<unknown>>();
  let model = models[0];
  for (const [serial, op] of ops.entries()) {
    if (op.kind === 'restart') {
      // A kill -9 and a restart on what it left, the crash still to come counting on.
      const left = fs.image('kill');
      left.onCall = fs.onCall;
      left.calls.push(...fs.calls);
      fs.onCall = undefined;
      // Closed only so that this process does not hold two queues with the same jobs (it
      // writes to the old file system, which the restart has left).
      await journalOf(q)!.close();
      // The abandoned queue still lives here on the shared clock, where a killed process
      // would not: its timers may fire into the closed journal, which is no part of the test.
      q.on('error', () => {});
      fs = left;
      leases.clear();
      q = await openQueue<unknown>(FILE, { ...options, clock, fileSystem: fs });
      model = model.restarted();
    } else {
      model = model.clone();
      await apply(op, q, model, clock, leases, serial);
    }
    models.push(model);
    await journalOf(q)!.flush();
    acknowledged++;
  }
  image ??= { fs: fs.image(power ? 'power' : 'kill'), acknowledged };
  fs.onCall = undefined;
  await journalOf(q)!.close();

  const reopened = await openQueue<unknown>(FILE, { ...options, clock: new ManualClock(clock.now()), fileSystem: image.fs });
  try {
    const before = models[image.acknowledged].afterRestart();
    const after = models[image.acknowledged + 1]?.afterRestart() ?? before;
    const ids = new Set([...before.keys(), ...after.keys()]);
    let present = 0;
    for (const id of ids) {
      const job = reopened.peek(id);
      const actual: ModelJob | undefined = job === undefined ? undefined : observe(job);
      if (actual !== undefined) present++;
      const expected = [before.get(id), after.get(id)];
      const matches = expected.some((candidate) => {
        try {
          expect(actual).toEqual(candidate);
          return true;
        } catch {
          return false;
        }
      });
      if (!matches) expect(actual, `job ${id} after ${image.acknowledged} acknowledged operations`).toEqual(before.get(id));
    }
    expect(reopened.stats().total, 'no job the model does not know').toBe(present);
  } finally {
    await journalOf(reopened)!.close();
  }
}

describe('journal model under crashes', () => {
  it('a crash at any file system call gives back the modelled state of every acknowledged operation', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.array(opArb, { minLength: 1, maxLength: 40 }),
        crashArb,
        fc.constantFrom('always' as const, 'never' as const),
        async (ops, crash, sync) => {
          await run(ops, crash, sync);
        },
      ),
      { numRuns: 1000 },
    );
  });
});
