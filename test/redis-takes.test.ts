/**
 * A push consumer keeps two takes on the wire while its handlers outpace Redis. These tests
 * hold both on the server (CLIENT PAUSE WRITE: the server keeps write commands waiting)
 * and then pause, close or cut the connection: the jobs the two takes bring are given back
 * uncounted and never started after pause() or close() resolve, the acks they carry are
 * reported as the docs say when the connection drops, and every job completes exactly once.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { openRedisQueue, type RedisJob, type RedisQueue } from '../src/redis/index.js';
import { until } from './helpers/flush.js';
import { requireRedis } from './helpers/redis.js';
import { sharedRedis } from './helpers/redis-suite.js';
import { Relay } from './helpers/relay.js';

interface Payload {
  n: number;
}

const JOBS = 4000;
let names = 0;

describe.skipIf(!requireRedis('the docket/redis takes-on-the-wire tests'))('docket/redis with two takes on the wire', () => {
  const redis = sharedRedis();
  const queues: RedisQueue<Payload>[] = [];
  const relays: Relay[] = [];
  let paused = false;
  afterEach(async () => {
    if (paused) await redis.admin.sendCommand(['CLIENT', 'UNPAUSE']);
    paused = false;
    await Promise.all(queues.splice(0).map((q) => q.close({ timeout: 1000 })));
    await Promise.all(relays.splice(0).map((relay) => relay.close()));
  });

  async function open(name: string, url: string, options: { ttr?: number; attempts?: number } = {}): Promise<RedisQueue<Payload>> {
    const q = await openRedisQueue<Payload>({ url, name, concurrency: 2, ttr: options.ttr, retry: { attempts: options.attempts } });
    queues.push(q);
    return q;
  }

  /** Takes the consumer has on the wire, and acks they carry (internal: the scenario needs them). */
  function onWire(q: RedisQueue<Payload>): { takes: number; acks: number } {
    const consumer = (q as unknown as { consumer: { onWire: number; acking: number } }).consumer;
    return { takes: consumer.onWire, acks: consumer.acking };
  }

  /**
   * A consumer of no-op jobs that records each start; returns once the server holds its
   * writes with two of the consumer's takes waiting there (the server stays paused), and,
   * with `withAcks`, acks among what they carry (else it lets them through and tries again).
   */
  async function twoTakesHeld(
    q: RedisQueue<Payload>,
    producer: RedisQueue<Payload>,
    withAcks = false,
  ): Promise<{ starts: Array<{ id: number; attempt: number }> }> {
    const starts: Array<{ id: number; attempt: number }> = [];
    q.process(async (job) => {
      starts.push({ id: job.id, attempt: (job as RedisJob<Payload>).attemptsMade });
    });
    await producer.addBulk(Array.from({ length: JOBS }, (_, n) => ({ data: { n } })));
    for (let tries = 0; ; tries++) {
      // Fast handlers: the consumer prefetches and keeps two takes going.
      const before = starts.length;
      await until(() => starts.length >= before + 100);
      await redis.admin.sendCommand(['CLIENT', 'PAUSE', '30000', 'WRITE']);
      paused = true;
      await until(() => onWire(q).takes === 2, 5000);
      // Replies sent before the pause took effect may still be on their way: the takes
      // held are the ones still there once nothing has moved for a while.
      for (let moved = true; moved; ) {
        const seen = starts.length;
        await new Promise((resolve) => setTimeout(resolve, 50));
        moved = starts.length !== seen || onWire(q).takes !== 2;
      }
      if (!withAcks || onWire(q).acks > 0) return { starts };
      if (tries === 5) throw new Error('no take held on the server carried acks');
      await unpause();
    }
  }

  /** A consumer and a producer on a fresh queue, with two of the consumer's takes held on the server. */
  async function heldOnServer(kind: string): Promise<{ q: RedisQueue<Payload>; other: RedisQueue<Payload>; starts: Array<{ id: number; attempt: number }> }> {
    const name = `takes-${kind}-${++names}`;
    const q = await open(name, redis.server.url);
    const other = await open(name, redis.server.url);
    return { q, other, ...(await twoTakesHeld(q, other)) };
  }

  async function unpause(): Promise<void> {
    await redis.admin.sendCommand(['CLIENT', 'UNPAUSE']);
    paused = false;
  }

  /** Runs what is left on another consumer; returns its starts once every job is completed. */
  async function finish(other: RedisQueue<Payload>): Promise<Array<{ id: number; attempt: number }>> {
    const starts: Array<{ id: number; attempt: number }> = [];
    other.process(async (job) => {
      starts.push({ id: job.id, attempt: (job as RedisJob<Payload>).attemptsMade });
    });
    await until(async () => (await other.stats()).completed === JOBS);
    return starts;
  }

  it('pause(): the jobs both takes bring go back uncounted, none starts after it resolves, each job runs once', async () => {
    const { q, other, starts } = await heldOnServer('pause');
    // Sent after both takes: Redis runs it after them, so they bring jobs reserved before it.
    // From the call on, no job starts (the no-op handlers running then have finished).
    const startedBefore = starts.length;
    const pausing = q.pause();
    await unpause();
    await pausing;
    // Once the acks of the handlers that ran are in, this consumer holds no lease at all:
    // the jobs the two takes brought are back in the queue, and nothing can start.
    await until(async () => (await other.stats()).reserved === 0);
    expect(starts.length).toBe(startedBefore);
    const stats = await other.stats();
    expect([stats.completed, stats.ready, stats.leaseTimeouts]).toEqual([startedBefore, JOBS - startedBefore, 0]);
    await q.resume();
    await until(async () => (await other.stats()).completed === JOBS);
    expect(new Set(starts.map((start) => start.id)).size).toBe(JOBS);
    expect(starts.length).toBe(JOBS);
    expect(starts.filter((start) => start.attempt !== 1)).toEqual([]);
  });

  it('close(): the jobs both takes bring go back uncounted before it resolves; none is lost or completed twice', async () => {
    const { q, other, starts } = await heldOnServer('close');
    const startedBefore = starts.length;
    const closing = q.close({ timeout: 30_000 });
    await unpause();
    await closing;
    // Intake stopped at the call: none of the jobs the two takes brought started.
    expect(starts.length).toBe(startedBefore);
    const stats = await other.stats();
    expect([stats.reserved, stats.completed, stats.ready]).toEqual([0, starts.length, JOBS - starts.length]);
    const rest = await finish(other);
    const all = [...starts, ...rest];
    expect(all.length).toBe(JOBS);
    expect(new Set(all.map((start) => start.id)).size).toBe(JOBS);
    expect(all.filter((start) => start.attempt !== 1)).toEqual([]);
  });

  it('a connection drop: the acks both takes carry are reported lost, their jobs come back after the ttr, none completes twice', async () => {
    const name = `takes-drop-${++names}`;
    const relay = await new Relay(redis.server.port).listen();
    relays.push(relay);
    const q = await open(name, `redis://127.0.0.1:${relay.port}`);
    const drops: Error[] = [];
    q.on('disconnected', (error) => void drops.push(error));
    const lost: number[] = [];
    q.on('lost', (job) => void lost.push(job.id));
    const completed: number[] = [];
    q.on('completed', (job) => void completed.push(job.id));
    // The jobs' leases are short, so the ones lost with the connection come back soon.
    const producer = await open(name, redis.server.url, { ttr: 1000, attempts: 5 });
    const { starts } = await twoTakesHeld(q, producer, true);
    const ran = starts.length;
    // The takes waiting on the server carry acks, and die with the connection unanswered.
    relay.cut();
    await until(() => drops.length > 0 && lost.length > 0);
    await unpause();
    await until(async () => (await producer.stats()).completed === JOBS, 30_000);
    const stats = await producer.stats();
    expect([stats.completed, stats.ready, stats.reserved, stats.buried]).toEqual([JOBS, 0, 0, 0]);
    // Every job completed once in Redis (the counter would pass JOBS otherwise) and was
    // reported completed here at most once; a lost ack's job either completed or ran again.
    expect(new Set(completed).size).toBe(completed.length);
    expect(new Set([...completed, ...lost]).size).toBe(JOBS);
    const runs = new Map<number, number>();
    for (const start of starts) runs.set(start.id, (runs.get(start.id) ?? 0) + 1);
    const again = [...runs].filter(([, count]) => count > 1).map(([id]) => id);
    expect(again.every((id) => lost.includes(id))).toBe(true);
    expect(ran).toBeGreaterThan(0);
  });

  it('reserve({ timeout: 0 }) whose take dies with the connection gets its one look with the next take', async () => {
    const name = `takes-look-${++names}`;
    const relay = await new Relay(redis.server.port).listen();
    relays.push(relay);
    const q = await open(name, `redis://127.0.0.1:${relay.port}`);
    await q.stats();
    await redis.admin.sendCommand(['CLIENT', 'PAUSE', '30000', 'WRITE']);
    paused = true;
    const look = q.reserve({ timeout: 0 });
    await until(() => onWire(q).takes === 1);
    relay.cut();
    await unpause();
    // The queue is empty: the look finds nothing, and says so (it does not wait forever).
    expect(await look).toBeUndefined();
  });
});
