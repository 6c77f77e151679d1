/**
 * Round-trip bound socket throughput: a client that waits for each reply before it sends
 * the next command. `node --import tsx bench/cases/socket-sequential.ts <server> <client> <connections> [jobs]`
 *
 * server: docket (`serve()`, child process) | beanstalkd (1.12, child process) | node-floor
 *   (bench/cases/socket-floor-server.ts: what Node's sockets alone cost; jackd only)
 * client:
 * - `jackd`: the npm beanstalkd client; each connection `use`s and `watch`es its own tube,
 *   then loops `await put(body)`, `await reserve()`, `await delete(id)`.
 * - `docket`: docket's own client (`connect()`), one per connection, one command in flight:
 *   `await add(data)`, `await reserve()`, `await job.ack()` (a delete).
 *
 * The same client runs against both servers, so that the ratio is the servers'. Jobs are
 * split evenly over the connections, which run at once; 64-byte bodies (jackd) or a small
 * JSON payload (docket's client). jobs/s from the first put to the last delete.
 */
import JackdDefault, * as jackdModule from 'jackd';
import { args, main, perSecond, pick, report, scaled, skip } from '../harness.js';
import { startBeanstalkd, startDocket, startNodeFloor, type Server } from './servers.js';

// jackd is CommonJS; depending on the loader its class is the default export or a named one.
const JackdClient: typeof jackdModule.JackdClient = typeof JackdDefault === 'function' ? JackdDefault : jackdModule.JackdClient;

const body = Buffer.alloc(64, 'x');

/** Runs `jobs` put/reserve/delete round trips on one connection; resolves the jobs done. */
type Connection = (port: number, tube: string, jobs: number) => Promise<number>;

const clients: Record<string, Connection> = {
  jackd: async (port, tube, jobs) => {
    const c = new JackdClient();
    await c.connect({ host: '127.0.0.1', port });
    await c.use(tube);
    await c.watch(tube);
    await c.ignore('default');
    let done = 0;
    for (let i = 0; i < jobs; i++) {
      await c.put(body);
      const job = await c.reserve();
      await c.delete(job.id);
      done++;
    }
    await c.quit();
    return done;
  },
  docket: async (port, tube, jobs) => {
    const { connect } = await import('../../src/socket/client/remote-queue.js');
    const q = await connect<{ i: number }>(`beanstalk://127.0.0.1:${port}/${tube}`);
    let done = 0;
    for (let i = 0; i < jobs; i++) {
      await q.add({ i });
      const job = await q.reserve();
      if (job === undefined || job.data.i !== i) throw new Error(`expected job ${i}, got ${JSON.stringify(job?.data)}`);
      await job.ack();
      done++;
    }
    await q.close();
    return done;
  },
};

const servers: Record<string, () => Promise<Server | string>> = {
  docket: startDocket,
  beanstalkd: startBeanstalkd,
  'node-floor': startNodeFloor,
};

main(async () => {
  const [serverName, clientName, connectionsText = '1', jobsText] = args();
  const start = pick(servers, serverName);
  const client = pick(clients, clientName);
  const connections = Number(connectionsText);
  if (!Number.isInteger(connections) || connections < 1) throw new Error(`bad connection count ${connectionsText}`);
  const total = jobsText === undefined ? scaled(20_000) : Number(jobsText);
  const perConnection = Math.ceil(total / connections);
  const server = await start();
  if (typeof server === 'string') return skip(server);
  try {
    const started = performance.now();
    const done = await Promise.all(Array.from({ length: connections }, (_, k) => client(server.port, `seq${k}`, perConnection)));
    const ms = performance.now() - started;
    const jobs = done.reduce((a, b) => a + b, 0);
    if (jobs !== perConnection * connections) throw new Error(`${jobs} jobs done, expected ${perConnection * connections}`);
    report(perSecond(jobs, ms), { jobs, connections, ms: Math.round(ms) });
  } finally {
    await server.stop();
  }
  // Sockets of a client may linger; the result is printed, so leave now.
  process.exit(0);
});
