/**
 * Worker-thread throughput: `node --import tsx bench/cases/threads-pool.ts <subject> <task> [tasks] [concurrency]`
 *
 * subject: docket (jobs through a Queue whose handler is `threads()`), docket-pool
 *   (`ThreadPool.run` directly), piscina, tinypool. Every subject runs 2 threads, started
 *   and warmed before the clock starts.
 * task: tiny (x => x + 1, 100k tasks) or hash (~1 ms of SHA-256, 2k tasks).
 * concurrency: jobs the docket queue hands to the pool at once (default: the handler's
 *   `concurrency`, size * concurrentPerThread = 2, as the README (docket/threads) recommends).
 *
 * All tasks are submitted at once, then the case waits for every result and checks each.
 * Reports tasks/s.
 */
import { availableParallelism } from 'node:os';
import { Piscina } from 'piscina';
import Tinypool from 'tinypool';
import { args, main, perSecond, pick, report, scaled, timeMs } from '../harness.js';
import { loadQueue } from './queue-docket.js';

const THREADS = 2;
const tasks = {
  tiny: { url: new URL('./threads-add-one.mjs', import.meta.url), count: 100_000 },
  hash: { url: new URL('./threads-hash.mjs', import.meta.url), count: 2_000 },
};

type Run = (url: URL, n: number, concurrency: number) => Promise<{ ms: number; sum: number }>;

async function all(n: number, run: (i: number) => Promise<number>): Promise<number> {
  const pending: Promise<number>[] = new Array(n);
  for (let i = 0; i < n; i++) pending[i] = run(i);
  let sum = 0;
  for (const value of await Promise.all(pending)) sum += value;
  return sum;
}

const subjects: Record<string, () => Promise<Run>> = {
  docket: async () => {
    const Queue = await loadQueue();
    const { threads } = await import('../../src/threads/index.js');
    return async (url, n, concurrency) => {
      const handler = threads<number, number>(url, { size: THREADS });
      await Promise.all([handler.pool.run(0), handler.pool.run(0)]);
      const q = new Queue<number>();
      let sum = 0;
      q.on('completed', (_job, result) => (sum += result as number));
      q.process(handler, { concurrency: concurrency > 0 ? concurrency : handler.concurrency });
      const ms = await timeMs(async () => {
        for (let i = 0; i < n; i++) void q.add(i);
        await q.onIdle();
      });
      await q.close();
      return { ms, sum };
    };
  },
  'docket-pool': async () => {
    const { ThreadPool } = await import('../../src/threads/index.js');
    return async (url, n) => {
      const pool = new ThreadPool<number, number>(url, { size: THREADS });
      await Promise.all([pool.run(0), pool.run(0)]);
      let sum = 0;
      const ms = await timeMs(async () => (sum = await all(n, (i) => pool.run(i))));
      await pool.close();
      return { ms, sum };
    };
  },
  piscina: async () => async (url, n) => {
    const pool = new Piscina<number, number>({ filename: url.href, minThreads: THREADS, maxThreads: THREADS });
    await Promise.all([pool.run(0), pool.run(0)]);
    let sum = 0;
    const ms = await timeMs(async () => (sum = await all(n, (i) => pool.run(i))));
    await pool.destroy();
    return { ms, sum };
  },
  tinypool: async () => async (url, n) => {
    const pool = new Tinypool({ filename: url.href, minThreads: THREADS, maxThreads: THREADS });
    await Promise.all([pool.run(0), pool.run(0)]);
    let sum = 0;
    const ms = await timeMs(async () => (sum = await all(n, (i) => pool.run(i) as Promise<number>)));
    await pool.destroy();
    return { ms, sum };
  },
};

main(async () => {
  const [name, taskName = 'tiny', count, concurrency = '0'] = args();
  const run = await pick(subjects, name)();
  const task = pick(tasks, taskName);
  const n = scaled(count === undefined ? task.count : Number(count));
  const { ms, sum } = await run(task.url, n, Number(concurrency));
  // tiny: the sum of i + 1 over 0..n-1; hash: only that every task answered.
  const expected = taskName === 'tiny' ? (n * (n + 1)) / 2 : undefined;
  if (expected !== undefined && sum !== expected) throw new Error(`wrong results: sum ${sum}, expected ${expected}`);
  report(perSecond(n, ms), { tasks: n, threads: THREADS, cores: availableParallelism() });
});
