/**
 * The prefetch bound of a push consumer, seen from outside it: the jobs Redis holds leased
 * for one `process()` consumer never exceed four times `concurrency`, while it runs many
 * fast jobs (so it prefetches, with two takes on the wire) and across the moments its
 * handlers turn slow and fast again.
 *
 * Two readings, on a connection apart from the queue's. Every take is one script call that
 * writes one event-stream entry naming the jobs it acked and the ones it leased, so
 * replaying the stream gives the size of the lease set after every take, none missed.
 * Meanwhile a sampler reads the lease set's size and the stream's last entry in one
 * atomic call: the lease set is within the bound there too, and its size is the one the
 * replay gives after that entry (the replay misses no change of the lease set).
 */
import { describe, expect, it } from 'vitest';
import { openRedisQueue, type RedisQueue } from '../src/redis/index.js';
import { cleanupsAfterEach } from './helpers/cleanups.js';
import { deferred, type Deferred, until } from './helpers/flush.js';
import { requireRedis } from './helpers/redis.js';
import { closedAfterEach, type SharedRedis, sharedRedis } from './helpers/redis-suite.js';

type Kind = 'fast' | 'held' | 'slow';

interface Payload {
  round: number;
  /** fast: returns at once; held: waits for its round's door; slow: takes SLOW_MS. */
  kind: Kind;
}

/** Rounds of fast jobs, then `concurrency` held ones, then slow ones; a last round of fast jobs only. */
const ROUNDS = 3;
const FAST_PER_ROUND = 200;
/** Slow jobs per round, in units of `concurrency`: three fill the prefetch behind the held ones, two are taken after. */
const SLOW_PER_ROUND = 5;
/** A slow handler: far slower than a take's round trip, even on a loaded machine. */
const SLOW_MS = 100;

/** The lease set's size and the stream's last entry, read in one atomic call. */
const SAMPLE = `return { redis.call('ZCARD', KEYS[1]), redis.call('XREVRANGE', KEYS[2], '+', '-', 'COUNT', 1) }`;

let names = 0;

interface Sample {
  leased: number;
  /** The stream's last entry when the size was read; undefined while it was empty. */
  after: string | undefined;
}

/** Reads the lease set of queue `name` on the admin connection, one call after another, until stopped. */
class LeaseSampler {
  readonly samples: Sample[] = [];
  private stopped = false;
  private readonly done: Promise<void>;

  constructor(
    private readonly redis: SharedRedis,
    private readonly name: string,
  ) {
    this.done = this.loop();
    // A failed read surfaces in stop(), not as an unhandled rejection meanwhile.
    this.done.catch(() => undefined);
  }

  get last(): number {
    return this.samples.at(-1)?.leased ?? 0;
  }

  async stop(): Promise<Sample[]> {
    this.stopped = true;
    await this.done;
    return this.samples;
  }

  private async loop(): Promise<void> {
    const keys = [`docket:{${this.name}}:leases`, `docket:{${this.name}}:events`];
    while (!this.stopped) {
      const [leased, entries] = (await this.redis.admin.sendCommand(['EVAL', SAMPLE, '2', ...keys])) as [number, Array<[string, string[]]>];
      this.samples.push({ leased, after: entries[0]?.[0] });
    }
  }
}

interface Take {
  /** The jobs it leased. */
  leased: string[];
  /** The lease set's size after it. */
  size: number;
}

/**
 * Replays the queue's event stream: the takes in order (each one entry listing the ids it
 * acked, 'completed', and leased, 'active'), the lease set's size after every entry, by
 * entry id, and what the replay could not account for. The test's jobs neither fail nor
 * go back, so no other entry changes the lease set.
 */
async function replayLeases(redis: SharedRedis, name: string): Promise<{ takes: Take[]; after: Map<string, number>; unexplained: string[] }> {
  const entries = (await redis.admin.sendCommand(['XRANGE', `docket:{${name}}:events`, '-', '+'])) as Array<[string, string[]]>;
  const leased = new Set<string>();
  const takes: Take[] = [];
  const after = new Map<string, number>();
  const unexplained: string[] = [];
  for (const [id, fields] of entries) {
    const field = new Map<string, string>();
    for (let i = 0; i < fields.length; i += 2) field.set(fields[i] as string, fields[i + 1] as string);
    // Only the batched entries (added, active, completed) have no 'event' field.
    if (field.has('event')) unexplained.push(`entry ${id}: event ${field.get('event')}`);
    for (const job of field.get('completed')?.split(',') ?? []) {
      if (!leased.delete(job)) unexplained.push(`entry ${id}: job ${job} completed while not leased`);
    }
    const active = field.get('active')?.split(',') ?? [];
    for (const job of active) {
      // Leased again with no entry in between: it went back without one (given back).
      if (leased.has(job)) unexplained.push(`entry ${id}: job ${job} leased twice`);
      leased.add(job);
    }
    if (field.has('active') || field.has('completed')) takes.push({ leased: active, size: leased.size });
    after.set(id, leased.size);
  }
  if (leased.size > 0) unexplained.push(`${leased.size} jobs still leased at the end`);
  return { takes, after, unexplained };
}

describe.skipIf(!requireRedis('the docket/redis prefetch bound tests'))('docket/redis prefetch bound', () => {
  const redis = sharedRedis();
  const queues = closedAfterEach<RedisQueue<Payload>>();
  // Registered after the queues': runs before they close (a failed test leaves doors shut).
  const cleanups = cleanupsAfterEach();

  it.each([1, 8])('concurrency %i: Redis holds at most 4 × concurrency leases for the consumer, fast, slow and fast again', async (concurrency) => {
    const name = `prefetch-bound-${++names}`;
    // A stream long enough to keep every entry of the run.
    const options = { url: redis.server.url, name, eventsMaxLength: 1_000_000 };
    const q = await openRedisQueue<Payload>(options);
    const producer = await openRedisQueue<Payload>(options);
    queues.push(q, producer);
    const bound = 4 * concurrency;
    const doors: Deferred<void>[] = Array.from({ length: ROUNDS }, () => deferred());
    const heldStarts = Array.from({ length: ROUNDS }, () => 0);
    const kinds = new Map<string, Payload>();
    const add = async (round: number): Promise<void> => {
      const last = round === ROUNDS;
      const jobs = [
        ...Array.from({ length: FAST_PER_ROUND }, (): Kind => 'fast'),
        ...Array.from({ length: last ? 0 : concurrency }, (): Kind => 'held'),
        ...Array.from({ length: last ? 0 : SLOW_PER_ROUND * concurrency }, (): Kind => 'slow'),
      ].map((kind) => ({ data: { round, kind } }));
      for (const job of await producer.addBulk(jobs)) kinds.set(String(job.id), job.data);
    };
    const sampler = new LeaseSampler(redis, name);
    cleanups.push(async () => {
      for (const door of doors) door.resolve();
      await sampler.stop();
    });
    q.process(
      async (job) => {
        if (job.data.kind === 'held') {
          heldStarts[job.data.round]++;
          await doors[job.data.round]?.promise;
        } else if (job.data.kind === 'slow') {
          await new Promise((resolve) => setTimeout(resolve, SLOW_MS));
        }
      },
      { concurrency },
    );
    await add(0);
    for (let round = 0; round < ROUNDS; round++) {
      await add(round + 1);
      // The fast jobs kept the consumer prefetching: with the held handlers in every slot,
      // it fills its whole window with the slow jobs behind them, and holds still.
      await until(() => heldStarts[round] === concurrency);
      const seen = sampler.samples.length;
      await until(() => sampler.samples.length > seen && sampler.last >= bound);
      doors[round]?.resolve();
    }
    const total = (ROUNDS + 1) * FAST_PER_ROUND + ROUNDS * (1 + SLOW_PER_ROUND) * concurrency;
    await until(async () => (await producer.stats()).completed === total);
    const samples = await sampler.stop();
    const stats = await producer.stats();
    expect([stats.reserved, stats.failed, stats.leaseTimeouts]).toEqual([0, 0, 0]);

    const { takes, after, unexplained } = await replayLeases(redis, name);
    expect(samples.filter((sample) => sample.leased > bound)).toEqual([]);
    // The replay is exact: it accounts for every entry, and each sample agrees with it at
    // the entry the sample saw last (no change of the lease set went unseen).
    expect(unexplained).toEqual([]);
    expect(samples.filter((sample) => sample.after !== undefined && after.get(sample.after) !== sample.leased)).toEqual([]);
    // After every take, within the bound; and the bound is reached (the window was full).
    const most = Math.max(...takes.map((take) => take.size));
    expect(most).toBeLessThanOrEqual(bound);
    expect(most).toBe(bound);
    // A take leases one batch at most: twice concurrency.
    expect(Math.max(...takes.map((take) => take.leased.length))).toBeLessThanOrEqual(2 * concurrency);
    // Each round went slow (a take leased a slow job with at most `concurrency` leased: no
    // prefetch) and fast again (a take leased a fast job of the next round beyond the slots).
    const leasing = (round: number, kind: Kind): Take[] =>
      takes.filter((take) => take.leased.some((id) => kinds.get(id)?.round === round && kinds.get(id)?.kind === kind));
    for (let round = 0; round < ROUNDS; round++) {
      expect(Math.min(...leasing(round, 'slow').map((take) => take.size)), `round ${round} slow`).toBeLessThanOrEqual(concurrency);
      expect(Math.max(...leasing(round + 1, 'fast').map((take) => take.size)), `round ${round + 1} fast`).toBeGreaterThan(concurrency);
    }
  });
});
