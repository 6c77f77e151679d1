/**
 * Memory per waiting job: `node --expose-gc --import tsx bench/cases/queue-memory.ts <subject>`
 *
 * subject: docket | fastq | async.queue | p-queue
 *
 * A paused queue (its consumer set up) receives N jobs with a `{ i }` payload; the value is
 * (heapUsed after - heapUsed before) / N after full collections, in bytes per job. The
 * payload objects are counted for every subject alike. Each producer call is the cheapest
 * one that keeps nothing of the caller's alive: docket `push(data)`, async.queue
 * `push(task, callback)` with one callback for all (without it, async v3 keeps a promise per
 * job), fastq `push(task)`, p-queue `add(fn)` with its promise dropped.
 */
import async from 'async';
import fastq from 'fastq';
import PQueue from 'p-queue';
import { heapUsedAfterGc, main, pick, report, scaled } from '../harness.js';
import { loadQueue } from './queue-docket.js';

interface Payload {
  i: number;
}

/** Creates a paused queue; returns a function adding N jobs (and settling the adds). */
type Setup = () => Promise<{ fill: (n: number) => Promise<void>; keep: unknown }>;

const noopAsync = async (): Promise<void> => {};
const noop = (): void => {};

const subjects: Record<string, Setup> = {
  docket: async () => {
    const Queue = await loadQueue();
    const q = new Queue<Payload>();
    q.pause();
    q.process(noopAsync);
    return {
      keep: q,
      fill: async (n) => {
        for (let i = 0; i < n; i++) q.push({ i });
      },
    };
  },
  fastq: async () => {
    const q = fastq<unknown, Payload, void>((_task, cb) => cb(null), 1);
    q.pause();
    return {
      keep: q,
      fill: async (n) => {
        for (let i = 0; i < n; i++) q.push({ i });
      },
    };
  },
  'async.queue': async () => {
    const q = async.queue<Payload>(noopAsync, 1);
    q.pause();
    return {
      keep: q,
      fill: async (n) => {
        for (let i = 0; i < n; i++) q.push({ i }, noop);
      },
    };
  },
  'p-queue': async () => {
    const q = new PQueue({ concurrency: 1 });
    q.pause();
    const handler = async (_data: Payload): Promise<void> => {};
    return {
      keep: q,
      fill: async (n) => {
        for (let i = 0; i < n; i++) {
          const data = { i };
          void q.add(() => handler(data));
        }
      },
    };
  },
};

main(async () => {
  const setup = pick(subjects);
  const n = scaled(1_000_000);
  const { fill, keep } = await setup();
  // Let the setup's own allocations settle before the baseline.
  await new Promise((resolve) => setImmediate(resolve));
  const before = heapUsedAfterGc();
  await fill(n);
  await new Promise((resolve) => setImmediate(resolve));
  const after = heapUsedAfterGc();
  // Keeps the queue reachable until after the measurement.
  if (keep === undefined) throw new Error('unreachable');
  report((after - before) / n, { n, before, after });
});
