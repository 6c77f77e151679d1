import { afterEach, describe, expect, it } from 'vitest';
import { ManualClock } from '../src/clock.js';
import { InvalidOptionError } from '../src/errors.js';
import type { Job } from '../src/job.js';
import type { QueueOptions } from '../src/options.js';
import { Queue } from '../src/queue.js';
import { parseScheduleKey } from '../src/schedule-slots.js';
import { flush } from './helpers/flush.js';

// Schedules on the in-memory queue, driven by a ManualClock: one pending job per schedule
// at any time, the successor created as the current job starts, idempotent upserts,
// unschedule, retries, and bad input.

const MINUTE = 60_000;
/** A whole hour, so that `every` slots (multiples of the period since the epoch) are round. */
const START = Date.UTC(2026, 0, 1, 12, 0, 0);

const queues: Queue<string>[] = [];
afterEach(async () => {
  for (const q of queues.splice(0)) await q.close({ timeout: 0 });
});

function makeQueue(options: QueueOptions<string> = {}): { q: Queue<string>; clock: ManualClock } {
  const clock = new ManualClock(START + 1);
  const q = new Queue<string>({ clock, ...options });
  queues.push(q);
  return { q, clock };
}

/** Jobs of schedule `id` that have not started: the promise is exactly one. */
function pendingOf(q: Queue<string>, id: string): Job<string>[] {
  return [...q.listJobs('ready'), ...q.listJobs('delayed')].filter((job) => job.processedOn === undefined && parseScheduleKey(job.dedupeId)?.id === id);
}

function slotOf(job: Job<string>): number | undefined {
  return parseScheduleKey(job.dedupeId)?.slot;
}

describe('schedule({ every })', () => {
  it('keeps exactly one pending job, due at the next slot, and creates the next one when it starts', async () => {
    const { q, clock } = makeQueue();
    const info = await q.schedule('tick', { every: MINUTE }, 'payload');
    expect(info.next).toBe(START + MINUTE);
    expect(pendingOf(q, 'tick').map(slotOf)).toEqual([START + MINUTE]);
    expect(q.size).toBe(1);

    const seen: Array<{ at: number; slot: number | undefined; pendingSlots: Array<number | undefined> }> = [];
    q.process((job) => {
      // While this job runs, its successor is already there, and it is the only pending one.
      seen.push({ at: clock.now(), slot: slotOf(job.job), pendingSlots: pendingOf(q, 'tick').map(slotOf) });
    });
    for (let i = 0; i < 3; i++) {
      clock.advance(MINUTE);
      await flush();
    }
    expect(seen).toEqual([
      { at: START + MINUTE, slot: START + MINUTE, pendingSlots: [START + 2 * MINUTE] },
      { at: START + 2 * MINUTE, slot: START + 2 * MINUTE, pendingSlots: [START + 3 * MINUTE] },
      { at: START + 3 * MINUTE, slot: START + 3 * MINUTE, pendingSlots: [START + 4 * MINUTE] },
    ]);
    expect(q.schedules().map((s) => [s.id, s.next])).toEqual([['tick', START + 4 * MINUTE]]);
  });

  it('runs a slot that is now at once', async () => {
    const clock = new ManualClock(START);
    const q = new Queue<string>({ clock });
    queues.push(q);
    const info = await q.schedule('now', { every: MINUTE }, 'x');
    expect(info.next).toBe(START);
    expect(info.job?.state).toBe('ready');
  });

  it('a first slot that is now starts at once on a free consumer, and its successor is the pending job', async () => {
    const clock = new ManualClock(START);
    const q = new Queue<string>({ clock });
    queues.push(q);
    const started: Array<number | undefined> = [];
    q.process((job) => {
      started.push(slotOf(job.job));
    });
    const info = await q.schedule('now', { every: MINUTE }, 'x');
    expect(started).toEqual([START]);
    expect(info.next).toBe(START + MINUTE);
    expect(pendingOf(q, 'now').map(slotOf)).toEqual([START + MINUTE]);
    expect(await q.unschedule('now')).toBe(true);
    expect(q.size).toBe(0);
  });

  it('gives the jobs the data and options, with the queue defaults filled in', async () => {
    const { q } = makeQueue({ retry: { attempts: 4 }, ttr: 5_000 });
    const info = await q.schedule('s', { every: MINUTE }, 'data', { priority: 7 });
    expect(info.options).toEqual({ priority: 7, attempts: 4, ttr: 5_000, timeout: Infinity });
    expect(info.job).toMatchObject({ data: 'data', priority: 7, maxAttempts: 4, ttr: 5_000 });
    expect(info.rule).toEqual({ every: MINUTE });
  });
});

describe('upsert', () => {
  it('upserting the same schedule again changes nothing: no second job, same slot', async () => {
    const { q } = makeQueue();
    const added: number[] = [];
    q.on('added', (job) => added.push(job.id));
    const first = await q.schedule('s', { every: MINUTE }, 'x', { priority: 3 });
    const second = await q.schedule('s', { every: MINUTE }, 'x', { priority: 3 });
    expect(second.job?.id).toBe(first.job?.id);
    expect(added).toEqual([first.job?.id]);
    expect(pendingOf(q, 's')).toHaveLength(1);
  });

  it('new data or options replace the pending job at the same slot', async () => {
    const { q } = makeQueue();
    const first = await q.schedule('s', { every: MINUTE }, 'old');
    const second = await q.schedule('s', { every: MINUTE }, 'new', { priority: 1 });
    expect(second.job?.id).not.toBe(first.job?.id);
    expect(second.next).toBe(first.next);
    expect(q.peek(first.job?.id as number)).toBeUndefined();
    expect(pendingOf(q, 's').map((job) => [job.data, job.priority, slotOf(job)])).toEqual([['new', 1, first.next]]);
  });

  it('a new rule takes effect from its next slot, and never re-runs a slot already started', async () => {
    const { q, clock } = makeQueue();
    const starts: number[] = [];
    q.process((job) => {
      starts.push(slotOf(job.job) as number);
    });
    await q.schedule('s', { every: 10 * MINUTE }, 'x');
    clock.advance(10 * MINUTE); // the 12:10 job starts; the next one is 12:20
    await flush();
    clock.advance(MINUTE); // 12:11
    const changed = await q.schedule('s', { every: 5 * MINUTE }, 'x');
    expect(changed.next).toBe(START + 15 * MINUTE);
    expect(pendingOf(q, 's').map(slotOf)).toEqual([START + 15 * MINUTE]);
    clock.advance(14 * MINUTE); // to 12:25
    await flush();
    expect(starts).toEqual([START + 10 * MINUTE, START + 15 * MINUTE, START + 20 * MINUTE, START + 25 * MINUTE]);
    expect(pendingOf(q, 's')).toHaveLength(1);
  });
});

describe('catch-up', () => {
  it('slots that pass while the queue cannot start the job merge into one run', async () => {
    const { q, clock } = makeQueue();
    const starts: number[] = [];
    q.process(() => {
      starts.push(clock.now());
    });
    q.pause();
    await q.schedule('s', { every: MINUTE }, 'x');
    clock.advance(10 * MINUTE + 30_000); // ten slots pass while paused
    await flush();
    q.resume();
    await flush();
    expect(starts).toEqual([START + 10 * MINUTE + 30_001]);
    expect(pendingOf(q, 's').map(slotOf)).toEqual([START + 11 * MINUTE]);
  });
});

describe('unschedule', () => {
  it('removes the pending job; a job of it already running finishes and has no successor', async () => {
    const { q, clock } = makeQueue();
    let finish!: () => void;
    const running = new Promise<void>((resolve) => (finish = resolve));
    const completed: string[] = [];
    q.on('completed', (job) => completed.push(job.data));
    q.process(() => running);
    const info = await q.schedule('s', { every: MINUTE }, 'x');
    clock.advance(MINUTE);
    await flush();
    expect(q.pending).toBe(1);
    const successor = pendingOf(q, 's')[0];
    expect(await q.unschedule('s')).toBe(true);
    expect(q.peek(successor.id)).toBeUndefined();
    expect(q.schedules()).toEqual([]);
    // The running job is an ordinary job now: it keeps running, and its key is gone.
    const runningJob = q.listJobs('reserved')[0];
    expect(runningJob.id).toBe(info.job?.id);
    expect(runningJob.dedupeId).toBeUndefined();
    finish();
    await flush();
    expect(completed).toEqual(['x']);
    clock.advance(5 * MINUTE);
    await flush();
    expect(q.size).toBe(0);
    expect(await q.unschedule('s')).toBe(false);
  });

  it('deleting the pending job by hand skips its slot: the next slot gets a job', async () => {
    const { q } = makeQueue();
    const info = await q.schedule('s', { every: MINUTE }, 'x');
    expect(q.remove(info.job?.id as number)).toBe(true);
    expect(pendingOf(q, 's').map(slotOf)).toEqual([START + 2 * MINUTE]);
  });
});

describe('retries', () => {
  it('a failing job that retries never adds a second pending job', async () => {
    const { q, clock } = makeQueue({ retry: { attempts: 3, backoff: 20_000 } });
    const attempts: Array<{ slot: number | undefined; attempt: number; pending: Array<number | undefined> }> = [];
    q.process((job) => {
      attempts.push({ slot: slotOf(job.job), attempt: job.attemptsMade, pending: pendingOf(q, 's').map(slotOf) });
      if (slotOf(job.job) === START + MINUTE) throw new Error('upstream down');
    });
    await q.schedule('s', { every: MINUTE }, 'x');
    for (let t = 0; t < 13; t++) {
      clock.advance(10_000);
      await flush();
      // Whatever the retries do, the schedule has one job that has not started.
      expect(pendingOf(q, 's')).toHaveLength(1);
    }
    // The 12:01 job fails at 12:01:00 and 12:01:20 and runs its last attempt at 12:01:40;
    // the 12:02 job runs once, on time.
    expect(attempts).toEqual([
      { slot: START + MINUTE, attempt: 1, pending: [START + 2 * MINUTE] },
      { slot: START + MINUTE, attempt: 2, pending: [START + 2 * MINUTE] },
      { slot: START + MINUTE, attempt: 3, pending: [START + 2 * MINUTE] },
      { slot: START + 2 * MINUTE, attempt: 1, pending: [START + 3 * MINUTE] },
    ]);
    expect(q.deadLetters.list().map((job) => slotOf(job))).toEqual([START + MINUTE]);
  });
});

describe('bad input', () => {
  it('throws an InvalidOptionError naming what was wrong', async () => {
    const { q } = makeQueue();
    const cases: Array<[() => Promise<unknown>, RegExp]> = [
      [() => q.schedule('', { every: MINUTE }, 'x'), /schedule `id` to be a non-empty string, got `""`/],
      [() => q.schedule(42 as unknown as string, { every: MINUTE }, 'x'), /schedule `id` to be a non-empty string, got `42`/],
      [() => q.schedule('s', { every: 0 }, 'x'), /`every` to be a whole number of milliseconds >= 1, got `0`/],
      [() => q.schedule('s', { every: -5 }, 'x'), /`every` .* got `-5`/],
      [() => q.schedule('s', { every: 1.5 }, 'x'), /`every` .* got `1.5`/],
      [() => q.schedule('s', { every: Infinity }, 'x'), /`every` .* got `Infinity`/],
      [() => q.schedule('s', { cron: '* * * * *' } as never, 'x'), /a cron rule needs `cron\(\)` from 'docket\/cron'/],
      [() => q.schedule('s', 'every minute' as never, 'x'), /schedule rule to be `\{ every: ms \}`/],
      [() => q.schedule('s', { spec: { hourly: true }, next: (t: number) => t + 1 } as never, 'x'), /rule's `spec` to be `\{ every \}` or `\{ cron, tz\? \}`/],
      [() => q.schedule('s', { every: MINUTE }, 'x', { delay: 5 } as never), /`delay` is not one/],
      [() => q.schedule('s', { every: MINUTE }, 'x', { priority: -1 }), /`priority` to be an integer/],
      [() => q.schedule('s', { every: MINUTE }, 'x', { attempts: 0 }), /`attempts` to be an integer/],
      [() => q.unschedule(''), /schedule `id` to be a non-empty string/],
      [() => q.add('x', { id: 'docket:schedule:["s",1,{"every":1}]' }), /`id` to be a key not starting with "docket:schedule:"/],
    ];
    for (const [call, message] of cases) {
      const error = await call().then(
        () => undefined,
        (e: unknown) => e,
      );
      expect(error, String(message)).toBeInstanceOf(InvalidOptionError);
      expect((error as Error).message).toMatch(message);
    }
    expect(q.schedules()).toEqual([]);
    expect(q.size).toBe(0);
  });

  it('refuses to schedule on a closed queue', async () => {
    const { q } = makeQueue();
    await q.close();
    await expect(q.schedule('s', { every: MINUTE }, 'x')).rejects.toThrow(/closed/);
  });
});
