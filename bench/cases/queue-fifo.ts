/**
 * FIFO throughput: `node --import tsx bench/cases/queue-fifo.ts <subject> <concurrency> [jobs]`
 *
 * subject: docket.push | docket.add | async.queue | fastq | fastq.promise | p-queue
 *
 * The consumer is started first, then N jobs with a `{ i }` payload are added in one loop,
 * then the case waits until all completed. Each job is a no-op that completes
 * asynchronously: an `async () => {}` handler, or for the callback APIs (async.queue's and
 * fastq's) a callback called in a microtask (what an `async` function's resolution costs).
 * Every peer is driven by its cheapest documented producer call:
 *
 * - docket.push: `q.push(data)`, synchronous, returns the job (no promise);
 *   docket.add: `q.add(data)`, the returned promise not awaited;
 * - async.queue: `q.push(task, callback)` with one callback for all (without a callback,
 *   async v3 allocates a promise per push);
 * - fastq: `q.push(task)` (callback API, no per-task callback);
 * - fastq.promise: `q.push(task)`, the returned promise not awaited;
 * - p-queue: `q.add(() => handler(data))`, as its README shows.
 *
 * Reports jobs per CPU-second over the whole (add + run), with the wall time in `extra`, and
 * checks every job ran exactly once.
 */
import async from 'async';
import fastq from 'fastq';
import PQueue from 'p-queue';
import { args, main, perSecond, pick, report, scaled, cpuTimeMs } from '../harness.js';
import { loadQueue } from './queue-docket.js';

interface Payload {
  i: number;
}

/** Adds `n` jobs, resolves once all completed; `ran` counts handler calls. */
type Run = (n: number, concurrency: number, counter: { ran: number }) => Promise<void>;

function docket(producer: 'push' | 'add'): () => Promise<Run> {
  return async () => {
    const Queue = await loadQueue();
    return async (n, concurrency, counter) => {
      const q = new Queue<Payload>();
      q.process(
        async () => {
          counter.ran++;
        },
        { concurrency },
      );
      if (producer === 'push') for (let i = 0; i < n; i++) q.push({ i });
      else for (let i = 0; i < n; i++) void q.add({ i });
      await q.onIdle();
      await q.close();
    };
  };
}

const noop = (): void => {};

const subjects: Record<string, () => Promise<Run>> = {
  'docket.push': docket('push'),
  'docket.add': docket('add'),
  'async.queue': async () => async (n, concurrency, counter) => {
    const q = async.queue<Payload>((_task, cb) => {
      counter.ran++;
      queueMicrotask(cb);
    }, concurrency);
    for (let i = 0; i < n; i++) q.push({ i }, noop);
    await q.drain();
  },
  fastq: async () => async (n, concurrency, counter) => {
    await new Promise<void>((resolve) => {
      const q = fastq<unknown, Payload, void>((_task, cb) => {
        counter.ran++;
        queueMicrotask(() => cb(null));
      }, concurrency);
      q.drain = resolve;
      for (let i = 0; i < n; i++) q.push({ i });
    });
  },
  'fastq.promise': async () => async (n, concurrency, counter) => {
    const q = fastq.promise<unknown, Payload, void>(async () => {
      counter.ran++;
    }, concurrency);
    for (let i = 0; i < n; i++) void q.push({ i });
    await q.drained();
  },
  'p-queue': async () => async (n, concurrency, counter) => {
    const q = new PQueue({ concurrency });
    const handler = async (_data: Payload): Promise<void> => {
      counter.ran++;
    };
    for (let i = 0; i < n; i++) {
      const data = { i };
      void q.add(() => handler(data));
    }
    await q.onIdle();
  },
};

main(async () => {
  const setup = pick(subjects);
  const concurrency = Number(args()[1] ?? 1);
  if (!Number.isInteger(concurrency) || concurrency < 1) throw new Error(`bad concurrency ${args()[1]}`);
  const jobs = Number(args()[2] ?? 1_000_000);
  if (!Number.isInteger(jobs) || jobs < 1) throw new Error(`bad job count ${args()[2]}`);
  const n = scaled(jobs);
  const run = await setup();
  const counter = { ran: 0 };
  const { cpuMs, wallMs } = await cpuTimeMs(() => run(n, concurrency, counter));
  if (counter.ran !== n) throw new Error(`${counter.ran} jobs ran, expected ${n}`);
  report(perSecond(n, cpuMs), { n, concurrency, cpuMs: Math.round(cpuMs), wallMs: Math.round(wallMs) });
});
