import { describe, expect, it } from 'vitest';
import { ManualClock } from '../src/clock.js';
import type { Queue } from '../src/queue.js';
import { parseScheduleKey } from '../src/schedule-slots.js';
import { flush } from './helpers/flush.js';
import { useJournalDir } from './helpers/journal.js';
import { seededRandom } from './helpers/random.js';

// Random runs against a journal: time passes in uneven steps, handlers fail at random and
// retry, the application upserts (the same schedule, new data, a new period) and the
// process crashes and restarts, sometimes upserting again at start and sometimes not.
// After every step: exactly one pending job, and no slot ever starts twice as a new job or
// after a later one.

const dir = useJournalDir('docket-schedules-model-');
const PERIODS = [30_000, 60_000, 90_000];

function pendingSlots(q: Queue<string>): number[] {
  return [...q.listJobs('ready'), ...q.listJobs('delayed')]
    .filter((job) => job.processedOn === undefined && parseScheduleKey(job.dedupeId)?.id === 's')
    .map((job) => parseScheduleKey(job.dedupeId)?.slot as number);
}

describe('schedules under random restarts, failures and upserts', () => {
  for (const seed of [1, 2, 3]) {
    it(`keeps one pending job and starts every slot at most once (seed ${seed})`, async () => {
      const random = seededRandom(seed);
      let now = Date.UTC(2026, 0, 1);
      let period = PERIODS[0];
      let data = 'v0';
      /** Slots whose job made its first attempt, in order. */
      const firstStarts: number[] = [];
      /** When each first attempt started, and under which period. */
      const startedAt: Array<{ at: number; every: number }> = [];
      let clock = new ManualClock(now);
      const open = async (): Promise<Queue<string>> => {
        clock = new ManualClock(now);
        const q = await dir.start<string>({ clock, retry: { attempts: 3, backoff: 10_000 } });
        q.process((job) => {
          const link = parseScheduleKey(job.job.dedupeId);
          if (job.attemptsMade === 1 && link !== undefined) {
            firstStarts.push(link.slot);
            startedAt.push({ at: clock.now(), every: (link.rule as { every: number }).every });
          }
          if (random() < 0.3) throw new Error('flaky');
        });
        return q;
      };
      let q = await open();
      await q.schedule('s', { every: period }, data);
      for (let step = 0; step < 150; step++) {
        const roll = random();
        if (roll < 0.1) {
          await dir.crash(q);
          now = clock.now() + Math.floor(random() * 5 * period);
          q = await open();
          if (random() < 0.5) await q.schedule('s', { every: period }, data);
          // A timer already due fires on the next turn of a real clock; a manual one needs a nudge.
          clock.advance(0);
        } else if (roll < 0.15) {
          data = `v${step}`;
          await q.schedule('s', { every: period }, data);
        } else if (roll < 0.2) {
          period = PERIODS[Math.floor(random() * PERIODS.length)];
          await q.schedule('s', { every: period }, data);
        } else {
          clock.advance(Math.floor(random() * 2 * period));
        }
        await flush();
        const pending = pendingSlots(q);
        expect(pending, `step ${step}`).toHaveLength(1);
        // Nothing due is left waiting: the handler is free, so the pending job lies ahead.
        expect(pending[0], `step ${step}`).toBeGreaterThan(clock.now() - 1);
        expect(pending[0], `step ${step}`).toBeGreaterThan(firstStarts.at(-1) ?? -Infinity);
      }
      for (let i = 1; i < firstStarts.length; i++) expect(firstStarts[i], `start ${i}`).toBeGreaterThan(firstStarts[i - 1]);
      // Missed slots merge into one run: under one rule, never two first attempts at one instant.
      for (let i = 1; i < startedAt.length; i++) {
        if (startedAt[i].every === startedAt[i - 1].every) expect(startedAt[i].at, `start ${i}`).toBeGreaterThan(startedAt[i - 1].at);
      }
      expect(firstStarts.length).toBeGreaterThan(20);
    });
  }
});
