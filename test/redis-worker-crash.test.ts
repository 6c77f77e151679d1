/**
 * A worker process killed with SIGKILL mid-job loses no job: its leases run out, and the
 * jobs go to the other workers (each loss counted as an attempt) within ttr plus the
 * sweep, which here is the surviving consumer's wait timed to the next lease deadline.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { createInterface } from 'node:readline';
import { afterEach, describe, expect, it } from 'vitest';
import { openRedisQueue, type RedisQueue } from '../src/redis/index.js';
import { until } from './helpers/flush.js';
import { requireRedis } from './helpers/redis.js';
import { sharedRedis } from './helpers/redis-suite.js';

const WORKER = new URL('./fixtures/redis/worker.ts', import.meta.url).pathname;
const TTR = 1000;

interface Worker {
  child: ChildProcess;
  /** Every line it printed so far. */
  lines: string[];
  /** Resolves when a line matching `pattern` has been printed. */
  waitFor(pattern: RegExp): Promise<string>;
  exited: Promise<void>;
}

describe.skipIf(!requireRedis('the worker crash tests on Redis'))('a worker process killed with SIGKILL mid-job', () => {
  const redis = sharedRedis();
  const children: ChildProcess[] = [];
  const queues: RedisQueue<{ n: number }>[] = [];

  afterEach(async () => {
    for (const child of children.splice(0)) child.kill('SIGKILL');
    await Promise.all(queues.splice(0).map((q) => q.close({ timeout: 1000 })));
  });

  function startWorker(name: string, concurrency: number, workMs: number, instant = 0): Worker {
    const child = spawn(process.execPath, ['--import', 'tsx', WORKER, redis.server.url, name, String(concurrency), String(workMs), String(instant)], {
      stdio: ['ignore', 'pipe', 'inherit'],
    });
    children.push(child);
    const lines: string[] = [];
    const waiters: Array<{ pattern: RegExp; resolve(line: string): void }> = [];
    createInterface({ input: child.stdout! }).on('line', (line) => {
      lines.push(line);
      for (const waiter of [...waiters]) {
        if (waiter.pattern.test(line)) {
          waiters.splice(waiters.indexOf(waiter), 1);
          waiter.resolve(line);
        }
      }
    });
    const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
    return {
      child,
      lines,
      exited,
      waitFor: (pattern) => {
        const seen = lines.find((line) => pattern.test(line));
        return seen !== undefined ? Promise.resolve(seen) : new Promise((resolve) => waiters.push({ pattern, resolve }));
      },
    };
  }

  async function open(name: string): Promise<RedisQueue<{ n: number }>> {
    const q = await openRedisQueue<{ n: number }>({ url: redis.server.url, name, ttr: TTR, retry: { attempts: 3 } });
    queues.push(q);
    return q;
  }

  it('the job it held comes back to another worker within ttr plus the sweep, as its second attempt', async () => {
    const q = await open('crash-one');
    const worker = startWorker('crash-one', 1, -1);
    await worker.waitFor(/^ready$/);
    const added = await q.add({ n: 1 });
    await worker.waitFor(new RegExp(`^start ${added.id}$`));
    worker.child.kill('SIGKILL');
    await worker.exited;
    const killedAt = Date.now();
    const job = await q.reserve({ timeout: 30_000 });
    const after = Date.now() - killedAt;
    expect(job?.id).toBe(added.id);
    expect(job?.attemptsMade).toBe(2);
    // The lease had at most TTR left at the kill; a generous margin covers a loaded machine.
    expect(after).toBeLessThan(TTR + 5_000);
    await job!.ack();
    const stats = await q.stats();
    expect([stats.leaseTimeouts, stats.completed, stats.ready + stats.reserved]).toEqual([1, 1, 0]);
  });

  it('the jobs it had prefetched (leased ahead of a free slot) come back the same way, each as its second attempt', async () => {
    const q = await open('crash-prefetch');
    // Three jobs finish at once (the worker sees fast handlers and prefetches), the next two
    // run forever on its two slots, and it holds the last two in its prefetch.
    const worker = startWorker('crash-prefetch', 2, -1, 3);
    await worker.waitFor(/^ready$/);
    const added = await q.addBulk(Array.from({ length: 7 }, (_, n) => ({ data: { n } })));
    await until(async () => {
      const stats = await q.stats();
      return stats.completed === 3 && stats.reserved === 4;
    });
    worker.child.kill('SIGKILL');
    await worker.exited;
    const killedAt = Date.now();
    const back: Array<Awaited<ReturnType<typeof q.reserve>>> = [];
    for (let i = 0; i < 4; i++) back.push(await q.reserve({ timeout: 30_000 }));
    const after = Date.now() - killedAt;
    expect(back.map((job) => [job?.id, job?.attemptsMade])).toEqual(added.slice(3, 7).map((job) => [job.id, 2]));
    expect(after).toBeLessThan(TTR + 5_000);
    for (const job of back) await job!.ack();
    const stats = await q.stats();
    expect([stats.leaseTimeouts, stats.completed, stats.ready, stats.reserved]).toEqual([4, 7, 0, 0]);
  });

  it('of 60 jobs half-done by a killed worker, every one is completed by the survivors', async () => {
    const q = await open('crash-many');
    const doomed = startWorker('crash-many', 8, 30);
    await doomed.waitFor(/^ready$/);
    const added = await q.addBulk(Array.from({ length: 60 }, (_, n) => ({ data: { n } })));
    // Kill it in the middle: some acks confirmed, some jobs running, some not started.
    await doomed.waitFor(/^done /);
    await doomed.waitFor(/^start /);
    doomed.child.kill('SIGKILL');
    await doomed.exited;
    const confirmedByDoomed = new Set(doomed.lines.filter((line) => line.startsWith('done ')).map((line) => Number(line.slice(5))));
    const survivor = startWorker('crash-many', 4, 1);
    await survivor.waitFor(/^ready$/);
    await q.onIdle();
    const confirmedBySurvivor = new Set(survivor.lines.filter((line) => line.startsWith('done ')).map((line) => Number(line.slice(5))));
    // (A `done` line the killed worker had no time to print is still a completed job:
    // the counts below hold every job, the lines only those reported.)
    for (const id of [...confirmedByDoomed, ...confirmedBySurvivor]) expect(added.some((job) => job.id === id)).toBe(true);
    expect(confirmedByDoomed.size).toBeGreaterThan(0);
    expect(confirmedBySurvivor.size).toBeGreaterThan(0);
    // A job whose ack Redis confirmed is never run again.
    for (const id of confirmedByDoomed) expect(confirmedBySurvivor.has(id)).toBe(false);
    const stats = await q.stats();
    expect(stats.completed).toBe(60);
    expect([stats.ready, stats.delayed, stats.reserved, stats.buried, stats.dead]).toEqual([0, 0, 0, 0, 0]);
    expect(stats.leaseTimeouts).toBeGreaterThan(0);
  });
});
