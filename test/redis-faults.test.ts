/**
 * Faults between docket and Redis: a dropped connection rejects the commands on the wire
 * with RedisConnectionError and never sends them again (a job is never added twice behind
 * the caller's back); consumers resume on their own; no unhandled rejection; and close()
 * lets the process exit, with Redis up or gone.
 */
import { spawn } from 'node:child_process';
import { createInterface } from 'node:readline';
import { afterEach, describe, expect, it } from 'vitest';
import { openRedisQueue, RedisConnectionError, type RedisQueue } from '../src/redis/index.js';
import { until } from './helpers/flush.js';
import { requireRedis, startRedis } from './helpers/redis.js';
import { sharedRedis } from './helpers/redis-suite.js';
import { Relay } from './helpers/relay.js';

const CLOSE_EXIT = new URL('./fixtures/redis/close-exit.ts', import.meta.url).pathname;

describe.skipIf(!requireRedis('the Redis connection fault tests'))('docket/redis when the connection drops', () => {
  const redis = sharedRedis();
  const relays: Relay[] = [];
  const queues: RedisQueue<{ n: number }>[] = [];
  const warnings: Error[] = [];
  const onWarning = (warning: Error): void => void warnings.push(warning);
  afterEach(async () => {
    await Promise.all(queues.splice(0).map((q) => q.close({ timeout: 1000 })));
    await Promise.all(relays.splice(0).map((relay) => relay.close()));
    process.off('warning', onWarning);
    expect(warnings.splice(0).map((w) => `${w.name}: ${w.message}`)).toEqual([]);
  });

  async function throughRelay(name: string, options: { concurrency?: number } = {}): Promise<{ q: RedisQueue<{ n: number }>; relay: Relay; drops: Error[] }> {
    process.on('warning', onWarning);
    const relay = await new Relay(redis.server.port).listen();
    relays.push(relay);
    const q = await openRedisQueue<{ n: number }>({ url: `redis://127.0.0.1:${relay.port}`, name, ...options });
    queues.push(q);
    const drops: Error[] = [];
    q.on('disconnected', (error) => drops.push(error));
    return { q, relay, drops };
  }

  async function direct(name: string, jobs: { ttr?: number; attempts?: number } = {}): Promise<RedisQueue<{ n: number }>> {
    const q = await openRedisQueue<{ n: number }>({ url: redis.server.url, name, ttr: jobs.ttr, retry: { attempts: jobs.attempts } });
    queues.push(q);
    return q;
  }

  it('an add on the wire when the connection drops rejects with RedisConnectionError and is never resent', async () => {
    const { q, relay } = await throughRelay('drop-add');
    await q.add({ n: 0 });
    // Writes wait on the server: the add is sent and unanswered when the connection dies.
    await redis.admin.sendCommand(['CLIENT', 'PAUSE', '3000', 'WRITE']);
    const inFlight = q.add({ n: 1 });
    const bulk = q.addBulk([{ data: { n: 2 } }, { data: { n: 3 } }]);
    await new Promise((resolve) => setTimeout(resolve, 100));
    relay.cut();
    const error = await inFlight.catch((failure: unknown) => failure);
    expect(error).toBeInstanceOf(RedisConnectionError);
    expect((error as Error).message).toMatch(/not resent and may or may not have run/);
    await expect(bulk).rejects.toBeInstanceOf(RedisConnectionError);
    await redis.admin.sendCommand(['CLIENT', 'UNPAUSE']);
    // The client reconnects; a new add works, and nothing was sent twice.
    const after = await q.add({ n: 4 });
    expect(after.id).toBe(2);
    const stats = await q.stats();
    expect([stats.added, stats.ready]).toEqual([2, 2]);
  });

  it('a consumer resumes by itself after drops, with jobs added meanwhile; a job whose ack was lost with the connection runs again', async () => {
    const { q, relay, drops } = await throughRelay('drop-consumer', { concurrency: 4 });
    // Lease length and attempts are the job's, set by the queue that adds it: a lease
    // lost with a connection uses an attempt.
    const producer = await direct('drop-consumer', { ttr: 1000, attempts: 3 });
    const done = new Set<number>();
    const lost: number[] = [];
    q.on('completed', (job) => void done.add(job.data.n));
    q.on('lost', (job) => void lost.push(job.id));
    q.process(async () => {
      await new Promise((resolve) => setTimeout(resolve, 2));
    });
    await producer.addBulk(Array.from({ length: 20 }, (_, n) => ({ data: { n } })));
    await until(() => done.size >= 5);
    relay.cut();
    await producer.addBulk(Array.from({ length: 20 }, (_, n) => ({ data: { n: n + 20 } })));
    await until(() => drops.length > 0 && done.size >= 25).catch(async (error: unknown) => {
      throw new Error(`${String(error)}: done ${done.size}, pending ${q.pending}, drops ${drops.length}, ${JSON.stringify(await producer.stats())}`);
    });
    relay.cut();
    // Leases lost with a connection come back after their ttr (1 s here); an ack whose
    // reply was lost may have completed its job (then it is not run again).
    await until(async () => (await producer.stats()).completed === 40);
    // The producer's connection can see the last ack counted before the reply of the take
    // that carried it reaches q (through the relay): close() waits for every ack's answer,
    // so each job has been reported completed or lost by then.
    await q.close({ timeout: 10_000 });
    expect(done.size).toBeGreaterThanOrEqual(40 - lost.length);
    const stats = await producer.stats();
    expect([stats.completed, stats.ready, stats.reserved, stats.buried]).toEqual([40, 0, 0, 0]);
  });

  it('a command made while the connection is down waits for the reconnect, however long (no timeout of its own)', async () => {
    const { q, relay, drops } = await throughRelay('offline-add');
    await q.add({ n: 0 });
    await relay.down();
    await until(() => drops.length > 0);
    let settled = false;
    const added = q.add({ n: 1 }).then(
      (job) => ((settled = true), job.id),
      (error: unknown) => ((settled = true), error),
    );
    // Longer than node-redis 6's default command timeout (5 s), which would reject it.
    await new Promise((resolve) => setTimeout(resolve, 6000));
    expect(settled).toBe(false);
    await relay.up();
    expect(await added).toBe(2);
    const stats = await q.stats();
    expect([stats.added, stats.ready]).toEqual([2, 2]);
  });

  it('close() with a take in flight gives the jobs it brings back at once, uncounted, before closing the connection', async () => {
    const q = await direct('close-in-flight');
    const other = await direct('close-in-flight');
    await other.add({ n: 1 });
    // The take waits on the server, so close() comes while it is on the wire.
    await redis.admin.sendCommand(['CLIENT', 'PAUSE', '300', 'WRITE']);
    const controller = new AbortController();
    const reserved = q.reserve({ signal: controller.signal });
    await new Promise((resolve) => setTimeout(resolve, 50));
    controller.abort();
    expect(await reserved).toBeUndefined();
    await q.close();
    const stats = await other.stats();
    expect([stats.ready, stats.reserved]).toEqual([1, 0]);
    const job = await other.reserve({ timeout: 0 });
    expect(job?.attemptsMade).toBe(1);
    await job!.ack();
  });

  for (const scenario of ['server-up', 'server-gone', 'takes-in-flight'] as const) {
    it(`close() lets the process exit with pending work (${scenario})`, async () => {
      const target = scenario === 'server-gone' ? await startRedis() : redis.server;
      const child = spawn(process.execPath, ['--import', 'tsx', CLOSE_EXIT, target.url, scenario], { stdio: ['pipe', 'pipe', 'inherit'] });
      const lines = createInterface({ input: child.stdout! });
      const seen: string[] = [];
      const ready = new Promise<void>((resolve) => lines.on('line', (line) => (seen.push(line), line === 'ready' && resolve())));
      const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
      try {
        await ready;
        if (scenario === 'server-gone') await target.stop();
        // Writes wait on the server, longer than the test waits for the exit: the consumer's
        // takes stay on the wire through the close, and are never answered.
        if (scenario === 'takes-in-flight') await redis.admin.sendCommand(['CLIENT', 'PAUSE', '60000', 'WRITE']);
        child.stdin!.write('go\n');
        const killer = setTimeout(() => child.kill('SIGKILL'), 15_000);
        const code = await exited;
        clearTimeout(killer);
        expect({ code, closed: seen.some((line) => line.startsWith('closed ')) }).toEqual({ code: 0, closed: true });
        if (scenario === 'takes-in-flight') expect(seen).toContain('two takes on the wire');
      } finally {
        if (scenario === 'takes-in-flight') await redis.admin.sendCommand(['CLIENT', 'UNPAUSE']);
        child.kill('SIGKILL');
        if (scenario === 'server-gone') await target.stop();
      }
    });
  }
});
