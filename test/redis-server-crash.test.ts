/**
 * Durability is Redis's: with `appendonly yes` and `appendfsync always`, a write is on
 * disk before Redis answers it, and each docket script is one atomic entry of the
 * append-only file. So a redis-server killed with SIGKILL under load and restarted on its
 * files has lost no add docket acknowledged and resurrected no ack docket acknowledged:
 * twice in a row, with producers and consumers running into the crash.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { openRedisQueue, type RedisQueue } from '../src/redis/index.js';
import { requireRedis, startRedis, type RunningRedis } from './helpers/redis.js';

const AOF = ['--appendonly', 'yes', '--appendfsync', 'always'];

describe.skipIf(!requireRedis('the redis-server crash test'))('redis-server killed with SIGKILL under load (appendfsync always)', () => {
  const servers: RunningRedis[] = [];
  const queues: RedisQueue<{ n: number }>[] = [];

  afterEach(async () => {
    await Promise.all(queues.splice(0).map((q) => q.close({ timeout: 0 })));
    await Promise.all(servers.splice(0).map((server) => server.stop()));
  });

  it('loses no acknowledged add and resurrects no acknowledged ack, over two crashes', async () => {
    let server = await startRedis({ args: AOF });
    servers.push(server);
    const { port, dir } = server;
    const producer = await openRedisQueue<{ n: number }>({ url: server.url, name: 'durable' });
    const consumer = await openRedisQueue<{ n: number }>({ url: server.url, name: 'durable', ttr: 60_000 });
    queues.push(producer, consumer);
    // Connection failures during the crash are expected; they must not become warnings.
    producer.on('error', () => {});
    consumer.on('error', () => {});

    const addedIds = new Set<number>();
    const ackedIds = new Set<number>();
    // An ack that rejected because the server died may still have run: its job may be gone or
    // not, so it is neither lost nor resurrected (an indeterminate outcome, as in a Jepsen ledger).
    const indeterminateAcks = new Set<number>();
    let running = true;

    async function produce(): Promise<void> {
      let n = 0;
      while (running) {
        // Eight adds in flight at once, so some are on the wire when the server dies.
        const batch = Array.from({ length: 8 }, () =>
          producer.add({ n: n++ }).then(
            (job) => void addedIds.add(job.id),
            () => {},
          ),
        );
        await Promise.all(batch);
      }
    }
    async function consume(): Promise<void> {
      while (running) {
        const job = await consumer.reserve({ timeout: 50 }).catch(() => undefined);
        if (job === undefined) continue;
        await job.ack().then(
          () => void ackedIds.add(job.id),
          () => void indeterminateAcks.add(job.id),
        );
      }
    }

    for (let crash = 1; crash <= 2; crash++) {
      running = true;
      const load = Promise.all([produce(), consume(), consume()]);
      // Run until both sides got a good amount done in this round, then crash.
      const addsBefore = addedIds.size;
      const acksBefore = ackedIds.size;
      while (addedIds.size < addsBefore + 300 || ackedIds.size < acksBefore + 100) await new Promise((resolve) => setTimeout(resolve, 10));
      await server.kill();
      running = false;
      server = await startRedis({ port, dir, args: AOF });
      servers.push(server);
      // Commands sent while it was down waited for the reconnect (never resent: those on
      // the wire at the crash were rejected).
      await load;

      // What survived, read by a fresh queue object on the restarted server.
      const checker = await openRedisQueue<{ n: number }>({ url: server.url, name: 'durable' });
      try {
        const lost: number[] = [];
        const resurrected: number[] = [];
        for (const id of addedIds) {
          const job = await checker.peek(id);
          if (ackedIds.has(id)) {
            if (job !== undefined) resurrected.push(id);
          } else if (job === undefined && !indeterminateAcks.has(id)) {
            lost.push(id);
          }
        }
        for (const id of ackedIds) if (!addedIds.has(id) && (await checker.peek(id)) !== undefined) resurrected.push(id);
        expect({ crash, lost, resurrected }).toEqual({ crash, lost: [], resurrected: [] });
        expect((await checker.stats()).completed).toBeGreaterThanOrEqual(ackedIds.size);
      } finally {
        await checker.close();
      }
    }
    expect(addedIds.size).toBeGreaterThanOrEqual(600);
    expect(ackedIds.size).toBeGreaterThanOrEqual(200);
  });
});
