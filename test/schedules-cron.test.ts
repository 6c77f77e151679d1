import { afterEach, describe, expect, it } from 'vitest';
import { ManualClock } from '../src/clock.js';
import { cron } from '../src/cron/index.js';
import { InvalidOptionError } from '../src/errors.js';
import { Queue } from '../src/queue.js';
import { parseScheduleKey } from '../src/schedule-slots.js';
import { flush } from './helpers/flush.js';

// Cron rules (docket/cron, parsed by croner) on a queue driven by a ManualClock: 5- and
// 6-field syntax, time zones across both DST changes of Europe/Berlin, and bad patterns.

const HOUR = 3_600_000;
const queues: Queue<string>[] = [];
afterEach(async () => {
  for (const q of queues.splice(0)) await q.close({ timeout: 0 });
});

/** Runs the schedule from `from` for `span` ms in steps of `step`, returning when each job started (ISO). */
async function starts(rule: ReturnType<typeof cron>, from: string, span: number, step: number): Promise<string[]> {
  const clock = new ManualClock(Date.parse(from));
  const q = new Queue<string>({ clock });
  queues.push(q);
  const seen: string[] = [];
  q.process((job) => {
    // The job starts at its slot, and the schedule already has its next job, for a later slot.
    const slot = parseScheduleKey(job.job.dedupeId)?.slot as number;
    const next = q.schedules()[0].next as number;
    expect(clock.now()).toBe(slot);
    expect(next).toBeGreaterThan(slot);
    seen.push(new Date(clock.now()).toISOString());
  });
  await q.schedule('c', rule, 'x');
  for (let t = 0; t < span; t += step) {
    clock.advance(step);
    await flush();
  }
  return seen;
}

describe('cron rules', () => {
  it('standard 5-field syntax', async () => {
    expect(await starts(cron('*/20 * * * *', { tz: 'UTC' }), '2026-05-01T10:00:30Z', HOUR, 60_000)).toEqual([
      '2026-05-01T10:20:00.000Z',
      '2026-05-01T10:40:00.000Z',
      '2026-05-01T11:00:00.000Z',
    ]);
  });

  it('6-field syntax, seconds first', async () => {
    expect(await starts(cron('15,45 * * * * *', { tz: 'UTC' }), '2026-05-01T10:00:00Z', 90_000, 1_000)).toEqual([
      '2026-05-01T10:00:15.000Z',
      '2026-05-01T10:00:45.000Z',
      '2026-05-01T10:01:15.000Z',
    ]);
  });

  it('a local time in the spring-forward gap runs once, just after the gap (Europe/Berlin)', async () => {
    // 2026-03-29: 02:00 CET jumps to 03:00 CEST, so 02:30 does not exist that night.
    expect(await starts(cron('30 2 * * *', { tz: 'Europe/Berlin' }), '2026-03-27T12:00:00Z', 72 * HOUR, HOUR / 4)).toEqual([
      '2026-03-28T01:30:00.000Z', // 02:30 CET
      '2026-03-29T01:00:00.000Z', // 03:00 CEST, the first instant after the gap
      '2026-03-30T00:30:00.000Z', // 02:30 CEST
    ]);
  });

  it('a local time that occurs twice in the fall-back night runs once; an hourly rule runs every real hour (Europe/Berlin)', async () => {
    // 2026-10-25: 03:00 CEST falls back to 02:00 CET, so 02:30 happens twice.
    expect(await starts(cron('30 2 * * *', { tz: 'Europe/Berlin' }), '2026-10-23T12:00:00Z', 72 * HOUR, HOUR / 4)).toEqual([
      '2026-10-24T00:30:00.000Z',
      '2026-10-25T00:30:00.000Z', // the first 02:30 (CEST) only
      '2026-10-26T01:30:00.000Z',
    ]);
    const hourly = await starts(cron('0 * * * *', { tz: 'Europe/Berlin' }), '2026-10-24T22:30:00Z', 4 * HOUR, HOUR / 4);
    // Local 01:00, 02:00 CEST, 02:00 CET, 03:00: four real hours, four runs.
    expect(hourly).toEqual(['2026-10-24T23:00:00.000Z', '2026-10-25T00:00:00.000Z', '2026-10-25T01:00:00.000Z', '2026-10-25T02:00:00.000Z']);
  });

  it('keeps its pattern and time zone as plain data (what a journal stores)', () => {
    expect(cron('0 3 * * *', { tz: 'Europe/Berlin' }).spec).toEqual({ cron: '0 3 * * *', tz: 'Europe/Berlin' });
    expect(cron('0 3 * * *').spec).toEqual({ cron: '0 3 * * *' });
  });

  it('refuses bad patterns and time zones with an InvalidOptionError naming them', () => {
    const cases: Array<[() => unknown, RegExp]> = [
      [() => cron('61 * * * *'), /"61 \* \* \* \*".*minute/],
      [() => cron('every day'), /"every day".*five, six, or seven/],
      [() => cron('* * * *'), /"\* \* \* \*".*five, six, or seven/],
      [() => cron(''), /cron pattern ""/],
      [() => cron('0 0 30 2 *'), /"0 0 30 2 \*" never matches/],
      [() => cron('* * * * *', { tz: 'Mars/Olympus_Mons' }), /in Mars\/Olympus_Mons.*timezone/i],
      [() => cron('* * * * *', { tz: '' }), /`tz` to be an IANA time zone name/],
      [() => cron(5 as unknown as string), /cron pattern to be a string, got `5`/],
    ];
    for (const [call, message] of cases) {
      let error: unknown;
      try {
        call();
      } catch (e) {
        error = e;
      }
      expect(error, String(message)).toBeInstanceOf(InvalidOptionError);
      expect((error as Error).message).toMatch(message);
    }
  });
});
