/**
 * Network queue throughput, producer + consumer in one process:
 * `node --import tsx bench/cases/socket-client-throughput.ts <subject> <concurrency> [jobs]`
 *
 * subject:
 * - `docket`      docket's client against docket's server (`serve()`, in a child process)
 * - `beanstalkd`  docket's client against a real beanstalkd (child process)
 * - `bullmq`      BullMQ Queue + Worker against redis-server (child process,
 *                 `--save '' --appendonly no`)
 *
 * The consumer starts first (concurrency as given), then the producer adds N jobs with a
 * `{ i }` payload in batches of 1000 (`addBulk` for both clients); the case ends when
 * every job completed (handler no-op). Completed jobs are removed (BullMQ:
 * `removeOnComplete`), as a beanstalk `delete` does. Reports jobs/s over the whole run and
 * checks every job ran exactly once.
 */
import { freePort } from '../../test/helpers/net.js';
import { args, main, perSecond, pick, report, scaled, skip } from '../harness.js';
import { loadBullmq, type Payload } from './bullmq.js';
import { has, startBeanstalkd, startDocket, startProcess, type Server } from './servers.js';

const BATCH = 1000;

/** The `{ i }` payloads in batches of {@link BATCH}, each made as the producer gets to it. */
function* payloads(n: number): Generator<Payload[]> {
  for (let start = 0; start < n; start += BATCH) {
    const batch: Payload[] = [];
    for (let i = start; i < Math.min(n, start + BATCH); i++) batch.push({ i });
    yield batch;
  }
}

/** Runs docket's client against a server on `port`. */
async function docketClient(port: number, n: number, concurrency: number, counter: { ran: number; acked: number }): Promise<void> {
  const { connect } = await import('../../src/socket/client/remote-queue.js');
  const q = await connect<Payload>(`beanstalk://127.0.0.1:${port}/bench`);
  const done = new Promise<void>((resolve) => {
    q.on('completed', () => {
      if (++counter.acked === n) resolve();
    });
  });
  q.process(
    async () => {
      counter.ran++;
    },
    { concurrency },
  );
  for (const batch of payloads(n)) await q.addBulk(batch.map((data) => ({ data })));
  await done;
  await q.close();
}

type Run = (n: number, concurrency: number, counter: { ran: number; acked: number }) => Promise<void>;

/** docket's client against `server` (docket's or beanstalkd), which stops after the run. */
function docketClientRun(server: Server): Run {
  return async (n, concurrency, counter) => {
    try {
      await docketClient(server.port, n, concurrency, counter);
    } finally {
      await server.stop();
    }
  };
}

const subjects: Record<string, () => Promise<Run | string>> = {
  docket: async () => docketClientRun(await startDocket()),
  beanstalkd: async () => {
    const server = await startBeanstalkd();
    return typeof server === 'string' ? server : docketClientRun(server);
  },
  bullmq: async () => {
    if (!(await has('/usr/bin/redis-server'))) return 'redis-server is not installed';
    const port = await freePort();
    const server = await startProcess('/usr/bin/redis-server', ['--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no'], port);
    const run = await loadBullmq();
    return async (n, concurrency, counter) => {
      try {
        await run(port, n, payloads(n), concurrency, () => counter.ran++);
      } finally {
        await server.stop();
      }
    };
  },
};

main(async () => {
  const [name, concurrencyText = '64', jobsText] = args();
  const concurrency = Number(concurrencyText);
  const n = jobsText === undefined ? scaled(50_000) : Number(jobsText);
  const run = await pick(subjects, name)();
  if (typeof run === 'string') {
    skip(run);
    return;
  }
  const counter = { ran: 0, acked: 0 };
  const started = performance.now();
  await run(n, concurrency, counter);
  const ms = performance.now() - started;
  if (counter.ran !== n) throw new Error(`${name}: ${counter.ran} handler calls for ${n} jobs`);
  report(perSecond(n, ms), { jobs: n, concurrency });
  // Sockets of a peer may linger; the result is printed, so leave now.
  process.exit(0);
});
