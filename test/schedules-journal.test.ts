import { spawn } from 'node:child_process';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { ManualClock } from '../src/clock.js';
import { cron } from '../src/cron/index.js';
import { InvalidOptionError } from '../src/errors.js';
import { journalOf } from '../src/journal/index.js';
import type { Job } from '../src/job.js';
import type { Queue } from '../src/queue.js';
import { parseScheduleKey } from '../src/schedule-slots.js';
import { flush } from './helpers/flush.js';
import { useJournalDir } from './helpers/journal.js';
import { cutFileSystem, RecordKind } from './helpers/journal-cut.js';

// Schedules kept by the journal: they survive restarts (with and without the application
// upserting them again), a slot missed while down runs once, and a process that dies at
// the worst moment (a job started, its successor not yet stored) loses nothing and
// duplicates nothing, across two restarts.

const MINUTE = 60_000;
const T = Date.UTC(2026, 0, 1, 12, 0, 0);
const CHILD = fileURLToPath(new URL('./fixtures/journal/schedule-child.ts', import.meta.url));

const dir = useJournalDir('docket-schedules-');

function jobsOf(q: Queue<string>, id: string): Job<string>[] {
  const all = [...q.listJobs('ready'), ...q.listJobs('delayed'), ...q.listJobs('reserved'), ...q.listJobs('buried')];
  return all.filter((job) => parseScheduleKey(job.dedupeId)?.id === id).sort((a, b) => a.id - b.id);
}

/** The schedule's jobs that have not started, as [slot, data]: the promise is exactly one. */
function pending(q: Queue<string>, id: string): Array<[number | undefined, string]> {
  return jobsOf(q, id)
    .filter((job) => job.processedOn === undefined)
    .map((job) => [parseScheduleKey(job.dedupeId)?.slot, job.data]);
}

describe('schedules in a journal', () => {
  it('survive two restarts, with and without the application upserting them again', async () => {
    const first = await dir.start<string>({ clock: new ManualClock(T + 1) });
    const created = await first.schedule('s', { every: MINUTE }, 'x', { priority: 5 });
    await dir.crash(first);

    // Restart 1: nobody upserts; the schedule is back with its pending job.
    const second = await dir.start<string>({ clock: new ManualClock(T + 30_000) });
    expect(second.schedules().map((s) => [s.id, s.rule, s.next, s.job?.id, s.options.priority])).toEqual([
      ['s', { every: MINUTE }, T + MINUTE, created.job?.id, 5],
    ]);
    await dir.crash(second);

    // Restart 2: the application upserts the same schedule: nothing changes, nothing is added.
    const third = await dir.start<string>({ clock: new ManualClock(T + 40_000) });
    const added: number[] = [];
    third.on('added', (job) => added.push(job.id));
    const again = await third.schedule('s', { every: MINUTE }, 'x', { priority: 5 });
    expect(again.job?.id).toBe(created.job?.id);
    expect(added).toEqual([]);
    expect(pending(third, 's')).toEqual([[T + MINUTE, 'x']]);
    expect(third.size).toBe(1);
  });

  it('survive a compaction: the rewritten file keeps each pending job with its key', async () => {
    const first = await dir.start<string>({ clock: new ManualClock(T + 1), compactionSlack: Infinity });
    const created = await first.schedule('s', { every: MINUTE }, 'x');
    for (let i = 0; i < 50; i++) first.remove((await first.add(`filler ${i}`)).id);
    expect(await journalOf(first)?.compact()).toBeDefined();
    await dir.crash(first);
    const second = await dir.start<string>({ clock: new ManualClock(T + 2) });
    expect(second.schedules().map((s) => [s.id, s.next, s.job?.id])).toEqual([['s', T + MINUTE, created.job?.id]]);
    expect(second.size).toBe(1);
  });

  it('a slot missed while the process was down runs once at start, not once per missed slot', async () => {
    const first = await dir.start<string>({ clock: new ManualClock(T + 1) });
    await first.schedule('s', { every: MINUTE }, 'x');
    await dir.crash(first);

    // Down for ten and a half minutes: ten slots passed.
    const clock = new ManualClock(T + 10 * MINUTE + 30_000);
    const q = await dir.start<string>({ clock });
    const runs: Array<[number, number | undefined]> = [];
    q.process((job) => {
      runs.push([clock.now(), parseScheduleKey(job.job.dedupeId)?.slot]);
    });
    clock.advance(0);
    await flush();
    expect(runs).toEqual([[T + 10 * MINUTE + 30_000, T + MINUTE]]);
    expect(pending(q, 's')).toEqual([[T + 11 * MINUTE, 'x']]);
    clock.advance(MINUTE);
    await flush();
    expect(runs.map(([, slot]) => slot)).toEqual([T + MINUTE, T + 11 * MINUTE]);
  });

  it('a kill -9 between a job starting and its successor being stored: one pending job, across two restarts', async () => {
    const file = join(dir.dir, 'q.journal');
    const child = spawn(process.execPath, ['--import', 'tsx', CHILD, file, String(T + 1)], { stdio: ['ignore', 'ignore', 'pipe'] });
    let stderr = '';
    child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
    const signal = await new Promise<NodeJS.Signals | null>((resolve) => child.once('exit', (_code, sig) => resolve(sig)));
    expect(signal, stderr).toBe('SIGKILL');

    // Restart 1: the started job comes back as a retry (its attempt counted); the successor
    // it never stored is created now, for the next slot.
    const second = await dir.start<string>({ clock: new ManualClock(T + MINUTE + 5_000) });
    const afterFirst = jobsOf(second, 's').map((job) => [parseScheduleKey(job.dedupeId)?.slot, job.state, job.attemptsMade]);
    expect(afterFirst).toEqual([
      [T + MINUTE, 'ready', 1],
      [T + 2 * MINUTE, 'delayed', 0],
    ]);
    expect(pending(second, 's')).toEqual([[T + 2 * MINUTE, 'x']]);
    const successor = second.schedules()[0].job?.id;
    await dir.crash(second);

    // Restart 2: the same two jobs, the same successor, nothing added.
    const third = await dir.start<string>({ clock: new ManualClock(T + MINUTE + 10_000) });
    expect(jobsOf(third, 's').map((job) => [parseScheduleKey(job.dedupeId)?.slot, job.state, job.attemptsMade])).toEqual(afterFirst);
    expect(third.schedules()[0].job?.id).toBe(successor);
    // The retry starting creates no second successor.
    const started: number[] = [];
    third.process((job) => {
      started.push(job.id);
    });
    await flush();
    expect(started).toHaveLength(1);
    expect(pending(third, 's')).toEqual([[T + 2 * MINUTE, 'x']]);
  });

  it('a job kicked early and acked, then two restarts and two rule changes: no new rule lands at or before the slot that ran', async () => {
    // 12:00:30: the 12:01 job is kicked, runs and is acked; its successor waits for 12:02.
    const clock = new ManualClock(T + 30_000);
    const first = await dir.start<string>({ clock });
    const created = await first.schedule('s', { every: MINUTE }, 'x');
    const ran: Array<number | undefined> = [];
    first.process((job) => {
      ran.push(parseScheduleKey(job.job.dedupeId)?.slot);
    });
    first.kickJob(created.job?.id as number);
    await flush();
    expect(ran).toEqual([T + MINUTE]);
    expect(pending(first, 's')).toEqual([[T + 2 * MINUTE, 'x']]);
    expect(jobsOf(first, 's')).toHaveLength(1); // the kicked job is gone: only its key knew it ran
    await dir.crash(first);

    // Restart 1 at 12:00:50, then every 20 s: 12:01:00 already ran, so the next slot is 12:01:20.
    const second = await dir.start<string>({ clock: new ManualClock(T + 50_000) });
    expect((await second.schedule('s', { every: 20_000 }, 'x')).next).toBe(T + MINUTE + 20_000);
    await dir.crash(second);

    // Restart 2 at 12:00:55, then every 15 s: 12:01:00 still ran, so 12:01:15, not 12:01:00.
    const third = await dir.start<string>({ clock: new ManualClock(T + 55_000) });
    expect((await third.schedule('s', { every: 15_000 }, 'x')).next).toBe(T + MINUTE + 15_000);
    expect(pending(third, 's')).toEqual([[T + MINUTE + 15_000, 'x']]);
  });

  it('a change cut short between the new pending job and the deletion of the old: the restart keeps the new one only', async () => {
    const fileSystem = cutFileSystem();
    const first = await dir.start<string>({ clock: new ManualClock(T + 1), fileSystem });
    await first.schedule('s', { every: MINUTE }, 'old');
    fileSystem.arm((record) => record[16] === RecordKind.delete);
    // What the process wrote before it died resolves; the deletion never reached the file.
    await first.schedule('s', { every: MINUTE }, 'new');
    expect(fileSystem.cut).toBe(true);
    await dir.crash(first);

    const second = await dir.start<string>({ clock: new ManualClock(T + 2) });
    expect(pending(second, 's')).toEqual([[T + MINUTE, 'new']]);
    await dir.crash(second);
    const third = await dir.start<string>({ clock: new ManualClock(T + 3) });
    expect(pending(third, 's')).toEqual([[T + MINUTE, 'new']]);
    expect(third.size).toBe(1);
  });

  it('unschedule survives a restart: a job of it still retrying runs on as an ordinary job', async () => {
    const clock = new ManualClock(T + 1);
    const first = await dir.start<string>({ clock, retry: { attempts: 3, backoff: 30_000 } });
    first.process(() => {
      throw new Error('down');
    });
    await first.schedule('s', { every: MINUTE }, 'x');
    clock.advance(MINUTE); // the 12:01 job fails and waits for its retry
    await flush();
    const retrying = first.listJobs('delayed').find((job) => job.attemptsMade === 1);
    expect(retrying).toBeDefined();
    expect(await first.unschedule('s')).toBe(true);
    await dir.crash(first);

    const second = await dir.start<string>({ clock: new ManualClock(T + MINUTE + 1) });
    expect(second.schedules()).toEqual([]);
    expect(second.size).toBe(1);
    expect(second.peek(retrying?.id as number)).toMatchObject({ state: 'delayed', attemptsMade: 1, dedupeId: undefined });
  });

  it('a cron schedule is restored with `cron` from docket/cron, and refused by name without it', async () => {
    const first = await dir.start<string>({ clock: new ManualClock(T + 1) });
    const created = await first.schedule('nightly', cron('30 2 * * *', { tz: 'Europe/Berlin' }), 'report');
    await dir.crash(first);

    const refused = await dir.start<string>({ clock: new ManualClock(T + 2) }).then(
      () => undefined,
      (error: unknown) => error,
    );
    expect(refused).toBeInstanceOf(InvalidOptionError);
    expect((refused as Error).message).toMatch(/cron schedules \("nightly"\): pass `cron` from 'docket\/cron'/);

    const q = await dir.start<string>({ clock: new ManualClock(T + 3), cron });
    expect(q.schedules().map((s) => [s.id, s.rule, s.next, s.job?.id])).toEqual([
      ['nightly', { cron: '30 2 * * *', tz: 'Europe/Berlin' }, Date.UTC(2026, 0, 2, 1, 30), created.job?.id],
    ]);
  });
});
