/**
 * Job queues on Redis, end to end, producer and consumer in one process:
 * `node --import tsx bench/cases/redis-throughput.ts <subject> <concurrency> <measure> [jobs]`
 *
 * subject: `docket` (docket/redis), `bullmq` (Queue + Worker), `bee-queue`; each against
 * its own fresh redis-server (child process, `--save '' --appendonly no`), the same binary.
 * measure: `rate` reports jobs/s over the whole run; `commands` the Redis commands the
 * server executed per job (INFO commandstats before and after: a script counts once for
 * EVALSHA plus once per command it runs); `scripts` the script calls per job (EVALSHA,
 * EVAL, FCALL: each one a round trip).
 *
 * The consumer starts first, then N jobs with a `{ i }` payload are added in batches of
 * 1000 with each library's bulk call (docket `addBulk`, BullMQ `addBulk`, bee-queue
 * `saveAll`); handlers are no-ops; completed jobs are deleted (BullMQ `removeOnComplete`,
 * bee-queue `removeOnSuccess`, docket by default). Every library runs with its defaults
 * otherwise (docket and BullMQ write their event streams). Checks every job ran once.
 * Each library is imported and the payloads are built before the clock starts (module
 * loading is not queue work). `extra.nodeCpuUsPerJob` is this process's CPU time per job.
 *
 * `BENCH_REDIS_PORT=<port>` runs against a redis-server already listening there instead
 * of a fresh one, so that its INFO commandstats and CPU time can be read around the run.
 */
import { createClient } from 'redis';
import { freePort } from '../../test/helpers/net.js';
import { args, main, perSecond, pick, report, scaled, skip } from '../harness.js';
import { loadBullmq, type Payload } from './bullmq.js';
import { has, startProcess, type Server } from './servers.js';

const BATCH = 1000;
const REDIS = '/usr/bin/redis-server';

type Run = (port: number, jobs: Payload[][], concurrency: number, counter: { ran: number }) => Promise<void>;
/** Loads a library (outside the timed part: module loading is not queue work), then gives its run. */
type Load = () => Promise<Run>;

function batches(n: number): Payload[][] {
  const out: Payload[][] = [];
  for (let start = 0; start < n; start += BATCH) {
    const batch: Payload[] = [];
    for (let i = start; i < Math.min(n, start + BATCH); i++) batch.push({ i });
    out.push(batch);
  }
  return out;
}

function total(jobs: Payload[][]): number {
  return jobs.reduce((sum, batch) => sum + batch.length, 0);
}

const subjects: Record<string, Load> = {
  docket: async () => {
    const { openRedisQueue } = await import('../../src/redis/index.js');
    return async (port, jobs, concurrency, counter) => {
      const n = total(jobs);
      const q = await openRedisQueue<Payload>({ url: `redis://127.0.0.1:${port}`, name: 'bench' });
      let completed = 0;
      const done = new Promise<void>((resolve) => q.on('completed', () => void (++completed === n && resolve())));
      q.process(
        async () => {
          counter.ran++;
        },
        { concurrency },
      );
      for (const batch of jobs) await q.addBulk(batch.map((data) => ({ data })));
      await done;
      await q.close();
    };
  },
  bullmq: async () => {
    const run = await loadBullmq();
    return (port, jobs, concurrency, counter) => run(port, total(jobs), jobs, concurrency, () => counter.ran++);
  },
  'bee-queue': async () => {
    const { default: BeeQueue } = await import('bee-queue');
    return async (port, jobs, concurrency, counter) => {
      const n = total(jobs);
      // The fastest documented settings for a fire-and-forget workload.
      const settings = {
        redis: { host: '127.0.0.1', port },
        removeOnSuccess: true,
        removeOnFailure: true,
        getEvents: false,
        sendEvents: false,
        storeJobs: false,
      };
      const worker = new BeeQueue<Payload>('bench', { ...settings, isWorker: true });
      const producer = new BeeQueue<Payload>('bench', { ...settings, isWorker: false });
      let completed = 0;
      let resolveDone: () => void = () => {};
      const done = new Promise<void>((resolve) => (resolveDone = resolve));
      worker.on('succeeded', () => void (++completed === n && resolveDone()));
      worker.process(concurrency, async () => {
        counter.ran++;
      });
      await worker.ready();
      await producer.ready();
      for (const batch of jobs) {
        const errors = await producer.saveAll(batch.map((data) => producer.createJob(data)));
        if (errors.size > 0) throw new Error(`bee-queue saveAll: ${errors.size} failed`);
      }
      await done;
      await worker.close();
      await producer.close();
    };
  },
};

/** Commands the server has executed so far (INFO commandstats, INFO itself excluded): all, and script calls. */
async function commandsSoFar(port: number): Promise<{ all: number; scripts: number }> {
  const client = createClient({ url: `redis://127.0.0.1:${port}` });
  await client.connect();
  const info = await client.info('commandstats');
  await client.close();
  const counts = { all: 0, scripts: 0 };
  for (const line of info.split('\n')) {
    if (!line.startsWith('cmdstat_') || line.startsWith('cmdstat_info')) continue;
    const calls = Number(/calls=(\d+)/.exec(line)?.[1] ?? 0);
    counts.all += calls;
    if (/^cmdstat_(evalsha|eval|fcall)(_ro)?:/.test(line)) counts.scripts += calls;
  }
  return counts;
}

main(async () => {
  const [name, concurrencyText = '64', measure = 'rate', jobsText] = args();
  const concurrency = Number(concurrencyText);
  const n = jobsText === undefined ? scaled(20_000) : Number(jobsText);
  if (measure !== 'rate' && measure !== 'commands' && measure !== 'scripts') throw new Error(`measure must be rate, commands or scripts, got ${measure}`);
  const load = pick(subjects, name);
  if (!(await has(REDIS))) {
    skip('redis-server is not installed');
    return;
  }
  const run = await load();
  const external = process.env.BENCH_REDIS_PORT;
  const port = external ? Number(external) : await freePort();
  const server: Server = external
    ? { port, stop: async () => {} }
    : await startProcess(REDIS, ['--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no'], port);
  try {
    const counter = { ran: 0 };
    const data = batches(n);
    const before = measure === 'rate' ? { all: 0, scripts: 0 } : await commandsSoFar(port);
    const started = performance.now();
    const cpu0 = process.cpuUsage();
    await run(port, data, concurrency, counter);
    const ms = performance.now() - started;
    if (counter.ran !== n) throw new Error(`${name}: ${counter.ran} handler calls for ${n} jobs`);
    const cpu = process.cpuUsage(cpu0);
    if (measure === 'rate') report(perSecond(n, ms), { jobs: n, concurrency, nodeCpuUsPerJob: Math.round((cpu.user + cpu.system) / n) });
    else {
      const after = await commandsSoFar(port);
      report((measure === 'commands' ? after.all - before.all : after.scripts - before.scripts) / n, { jobs: n, concurrency });
    }
  } finally {
    await server.stop();
  }
  // Sockets of a peer may linger; the result is printed, so leave now.
  process.exit(0);
});
