import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { ManualClock } from '../src/clock.js';
import type { Job } from '../src/job.js';
import { Queue } from '../src/queue.js';
import type { ReservedJob } from '../src/reserved-job.js';

// Random operations on a queue with groups, driven by a pull consumer so that every start
// is observed. At each start the test checks, from the jobs' states alone (its own rules,
// not the dispatch's structures):
//   - order: the job is the first (priority, then id) of the jobs its group may start;
//   - slots: a job that holds no slot yet starts only while its group holds fewer than
//     its concurrency (so a strict group never runs two at once);
//   - priority: no other group (nor the ungrouped jobs) could start a more urgent job;
//   - fairness: while a group could start a job of priority p, no other group starts two
//     jobs of priority p before it starts one (round-robin);
//   - liveness: nothing may start exactly when tryReserve() finds nothing.

const GROUPS = ['g0', 'g1', 'g2', 'g3'];
const NONE = '(none)';

type Op =
  | { kind: 'add'; group: string | undefined; priority: number; delay: number }
  | { kind: 'reserve' }
  | { kind: 'ack' | 'fail' | 'release' | 'bury'; pick: number; delay: number }
  | { kind: 'remove' | 'kickJob'; pick: number }
  | { kind: 'redrive' }
  | { kind: 'concurrency'; group: string; value: number | undefined }
  | { kind: 'pause' | 'resume'; group: string }
  | { kind: 'advance'; ms: number };

const op: fc.Arbitrary<Op> = fc.oneof(
  {
    weight: 6,
    arbitrary: fc.record({
      kind: fc.constant('add' as const),
      group: fc.option(fc.constantFrom(...GROUPS), { nil: undefined }),
      priority: fc.constantFrom(0, 1024, 1024, 1024, 5000),
      delay: fc.constantFrom(0, 0, 0, 50),
    }),
  },
  { weight: 8, arbitrary: fc.record({ kind: fc.constant('reserve' as const) }) },
  {
    weight: 6,
    arbitrary: fc.record({
      kind: fc.constantFrom('ack' as const, 'ack' as const, 'fail' as const, 'release' as const, 'bury' as const),
      pick: fc.nat(),
      delay: fc.constantFrom(0, 0, 30),
    }),
  },
  { weight: 1, arbitrary: fc.record({ kind: fc.constantFrom('remove' as const, 'kickJob' as const), pick: fc.nat() }) },
  { weight: 1, arbitrary: fc.record({ kind: fc.constant('redrive' as const) }) },
  {
    weight: 1,
    arbitrary: fc.record({
      kind: fc.constant('concurrency' as const),
      group: fc.constantFrom(...GROUPS),
      value: fc.option(fc.integer({ min: 1, max: 3 }), { nil: undefined }),
    }),
  },
  { weight: 1, arbitrary: fc.record({ kind: fc.constantFrom('pause' as const, 'resume' as const), group: fc.constantFrom(...GROUPS) }) },
  { weight: 2, arbitrary: fc.record({ kind: fc.constant('advance' as const), ms: fc.constantFrom(10, 50, 100) }) },
);

interface Settings {
  groupConcurrency: number;
  strictGroups: boolean;
}

async function run(settings: Settings, ops: Op[]): Promise<void> {
  const clock = new ManualClock(0);
  const q = new Queue<number>({ clock, ...settings, ttr: 1_000_000, retry: { attempts: 3, backoff: 40 } });
  const jobs: Job<number>[] = [];
  const leases: ReservedJob<number>[] = [];
  const caps = new Map<string, number>();
  const paused = new Set<string>();
  /** Per waiting entry: the priority it could start, and the starts of other entries at it since. */
  const waiting = new Map<string, { priority: number; others: Map<string, number> }>();

  const live = (): Job<number>[] => jobs.filter((j) => q.peek(j.id) === j);
  const entryOf = (job: Job<number>): string => job.group ?? NONE;
  const capOf = (g: string): number => (g === NONE ? Infinity : (caps.get(g) ?? settings.groupConcurrency));
  // The test's own rule: a started, unfinished job of a strict group holds its slot.
  const holds = (job: Job<number>): boolean =>
    job.group !== undefined &&
    (job.state === 'reserved' || (settings.strictGroups && (job.state === 'ready' || job.state === 'delayed') && job.attemptsMade > 0));
  const before = (a: Job<number>, b: Job<number>): boolean => a.priority < b.priority || (a.priority === b.priority && a.id < b.id);

  /** What each entry could start now: its first job among those allowed (order, slots, pause). */
  function startable(): Map<string, Job<number>> {
    const result = new Map<string, Job<number>>();
    const byEntry = new Map<string, Job<number>[]>();
    for (const job of live()) {
      const list = byEntry.get(entryOf(job)) ?? [];
      list.push(job);
      byEntry.set(entryOf(job), list);
    }
    for (const [entry, list] of byEntry) {
      if (paused.has(entry)) continue;
      const held = list.filter(holds).length;
      const allowed = list.filter((j) => j.state === 'ready' && (held < capOf(entry) || holds(j)));
      let best: Job<number> | undefined;
      for (const j of allowed) if (best === undefined || before(j, best)) best = j;
      if (best !== undefined) result.set(entry, best);
    }
    return result;
  }

  /** Keeps `waiting` current: an entry whose startable priority changed (or that stopped) starts over. */
  function observe(): void {
    const now = startable();
    for (const [entry, w] of waiting) if (now.get(entry)?.priority !== w.priority) waiting.delete(entry);
    for (const [entry, job] of now) if (!waiting.has(entry)) waiting.set(entry, { priority: job.priority, others: new Map() });
  }

  const pick = <X>(list: X[], n: number): X | undefined => (list.length === 0 ? undefined : list[n % list.length]);

  for (const o of ops) {
    switch (o.kind) {
      case 'add':
        jobs.push(q.push(jobs.length, { ...(o.group === undefined ? {} : { group: o.group }), priority: o.priority, delay: o.delay }));
        break;
      case 'reserve': {
        const options = startable();
        const lease = q.tryReserve();
        if (lease === undefined) {
          expect(options.size, 'nothing started though a job could').toBe(0);
          break;
        }
        leases.push(lease);
        const job = lease.job;
        const entry = entryOf(job);
        const expected = options.get(entry);
        // Order and slots: the first job its entry may start (a job over the cap is never allowed).
        expect(expected?.id, `group ${entry} started job ${job.id} out of order or over its slots`).toBe(job.id);
        // Priority across entries.
        for (const [other, candidate] of options) expect(candidate.priority >= job.priority, `${other} had a more urgent job`).toBe(true);
        // Fairness: no other entry waiting at this priority has seen this one start twice.
        for (const [other, w] of waiting) {
          if (other === entry || w.priority !== job.priority) continue;
          const count = (w.others.get(entry) ?? 0) + 1;
          expect(count, `${entry} started twice at priority ${job.priority} while ${other} waited`).toBeLessThanOrEqual(1);
          w.others.set(entry, count);
        }
        waiting.delete(entry);
        break;
      }
      case 'ack':
      case 'fail':
      case 'release':
      case 'bury': {
        const current = leases.filter((l) => l.isCurrent);
        const lease = pick(current, o.pick);
        if (lease === undefined) break;
        if (o.kind === 'ack') await lease.ack();
        else if (o.kind === 'fail') await lease.fail(new Error('random failure'));
        else if (o.kind === 'release') await lease.release({ delay: o.delay });
        else await lease.bury();
        break;
      }
      case 'remove': {
        const job = pick(live(), o.pick);
        if (job !== undefined) q.remove(job.id);
        break;
      }
      case 'kickJob': {
        const job = pick(
          live().filter((j) => j.state === 'buried' || j.state === 'delayed'),
          o.pick,
        );
        if (job !== undefined) q.kickJob(job.id);
        break;
      }
      case 'redrive':
        q.deadLetters.redrive();
        break;
      case 'concurrency':
        q.setGroupConcurrency(o.group, o.value);
        if (o.value === undefined) caps.delete(o.group);
        else caps.set(o.group, o.value);
        break;
      case 'pause':
        q.pauseGroup(o.group);
        paused.add(o.group);
        break;
      case 'resume':
        q.resumeGroup(o.group);
        paused.delete(o.group);
        break;
      case 'advance':
        clock.advance(o.ms);
        break;
    }
    observe();
    // Per-group counts agree with the jobs.
    for (const g of GROUPS) {
      const mine = live().filter((j) => j.group === g);
      expect(q.groupStats(g)).toMatchObject({
        ready: mine.filter((j) => j.state === 'ready').length,
        running: mine.filter((j) => j.state === 'reserved').length,
        delayed: mine.filter((j) => j.state === 'delayed').length,
        held: mine.filter(holds).length,
      });
    }
  }
  await q.close({ timeout: 0 });
}

describe('groups (property)', () => {
  it('keeps per-group order, never exceeds a group’s slots, respects priority and takes turns fairly', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.record({ groupConcurrency: fc.integer({ min: 1, max: 3 }), strictGroups: fc.boolean() }),
        fc.array(op, { minLength: 20, maxLength: 150, size: 'max' }),
        run,
      ),
      { numRuns: 200 },
    );
  });
});
