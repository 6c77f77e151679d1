/**
 * Priorities: `node --import tsx bench/cases/queue-priority.ts <subject>`
 *
 * subject: docket | async.priorityQueue
 *
 * docket: `pause()`, `push(job, { priority })` (synchronous, no promise), `resume()`, an
 * `async` handler. async.priorityQueue: `pause()`, `push(job, priority, callback)` with one
 * callback for all (without it, async v3 allocates a promise per push), `resume()`, a
 * callback worker that calls back in a microtask (its cheapest documented worker).
 *
 * N jobs with seeded random priorities 0..9 (lower runs first in both) are added to a
 * paused queue, which is then resumed with one consumer (concurrency 1). Every job was
 * queued before processing started, so the run order must be by priority, then FIFO within
 * a priority; the case counts the jobs that ran out of that order and reports them as
 * `extra.violations` (the suite flags any). Jobs per CPU-second over the whole (add + run).
 */
import async from 'async';
import { cpuTimeMs, main, perSecond, pick, report, scaled, seededRandom, timeMs } from '../harness.js';
import { loadQueue } from './queue-docket.js';

interface Payload {
  i: number;
  priority: number;
}

/** Counts jobs run out of (priority, insertion) order. */
class OrderCheck {
  ran = 0;
  violations = 0;
  private lastPriority = -1;
  private lastIndex = -1;

  see(job: Payload): void {
    this.ran++;
    if (job.priority < this.lastPriority || (job.priority === this.lastPriority && job.i < this.lastIndex)) this.violations++;
    this.lastPriority = job.priority;
    this.lastIndex = job.i;
  }
}

const noop = (): void => {};

type Run = (jobs: Payload[], check: OrderCheck) => Promise<{ addMs: number }>;

const subjects: Record<string, () => Promise<Run>> = {
  docket: async () => {
    const Queue = await loadQueue();
    return async (jobs, check) => {
      const q = new Queue<Payload>();
      q.pause();
      q.process(
        async (job) => {
          check.see(job.data);
        },
        { concurrency: 1 },
      );
      const addMs = await timeMs(() => {
        for (const job of jobs) q.push(job, { priority: job.priority });
      });
      q.resume();
      await q.onIdle();
      await q.close();
      return { addMs };
    };
  },
  'async.priorityQueue': async () => async (jobs, check) => {
    const q = async.priorityQueue<Payload>((job: Payload, cb) => {
      check.see(job);
      queueMicrotask(cb);
    }, 1);
    q.pause();
    const addMs = await timeMs(() => {
      for (const job of jobs) q.push(job, job.priority, noop);
    });
    q.resume();
    await q.drain();
    return { addMs };
  },
};

main(async () => {
  const setup = pick(subjects);
  const n = scaled(1_000_000);
  const random = seededRandom(7);
  const jobs: Payload[] = Array.from({ length: n }, (_, i) => ({ i, priority: Math.floor(random() * 10) }));
  const run = await setup();
  const check = new OrderCheck();
  let addMs = 0;
  const { cpuMs, wallMs } = await cpuTimeMs(async () => {
    ({ addMs } = await run(jobs, check));
  });
  if (check.ran !== n) throw new Error(`${check.ran} jobs ran, expected ${n}`);
  report(perSecond(n, cpuMs), { n, violations: check.violations, cpuMs: Math.round(cpuMs), wallMs: Math.round(wallMs), addMs: Math.round(addMs) });
});
