/**
 * The client's behaviours as a suite over a server factory, run against a real
 * beanstalkd and against docket's own server: the same code must pass against both.
 */
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { rawCodec } from '../src/codec.js';
import { LeaseExpiredError } from '../src/errors.js';
import { ProtocolError } from '../src/socket/client/errors.js';
import { connect, type ConnectOptions, type RemoteJob, type RemoteQueue } from '../src/socket/client/remote-queue.js';
import { requireBeanstalkd, startBeanstalkd } from './helpers/beanstalkd.js';
import { until } from './helpers/flush.js';
import { Relay } from './helpers/relay.js';

/** A server under test: where it listens and how to stop it. */
export interface ServerUnderTest {
  port: number;
  stop(): Promise<void>;
}
export type ServerFactory = () => Promise<ServerUnderTest>;

let tubeSeq = 0;

/** Registers the client behaviours against servers made by `factory`. */
export function clientConformance(name: string, factory: ServerFactory): void {
  describe(`socket client against ${name}`, () => {
    let server: ServerUnderTest;
    const queues: Array<RemoteQueue<unknown>> = [];
    const relays: Relay[] = [];

    // The client reports failures with no other channel as process warnings: none may
    // appear in a behaviour that works.
    const warnings: Error[] = [];
    const onWarning = (warning: Error): void => void warnings.push(warning);

    beforeEach(async () => {
      warnings.length = 0;
      process.on('warning', onWarning);
      server = await factory();
    });

    afterEach(async () => {
      await Promise.all(queues.splice(0).map((q) => q.close({ timeout: 1000 })));
      await Promise.all(relays.splice(0).map((relay) => relay.close()));
      await server.stop();
      process.off('warning', onWarning);
      expect(warnings.map((w) => `${w.name}: ${w.message}`)).toEqual([]);
    });

    async function open<T = unknown>(options: ConnectOptions<T> = {}, port = server.port): Promise<RemoteQueue<T>> {
      const tube = options.tube ?? `t${++tubeSeq}`;
      const q = await connect<T>(`beanstalk://127.0.0.1:${port}/${tube}`, options);
      queues.push(q as RemoteQueue<unknown>);
      return q;
    }

    async function relay(): Promise<Relay> {
      const r = await new Relay(server.port).listen();
      relays.push(r);
      return r;
    }

    it('adds a job and reserves it with the same id and data, then ack deletes it', async () => {
      const q = await open<{ to: string }>();
      const added = await q.add({ to: 'ada' });
      expect(added.id).toBeGreaterThan(0);
      expect(added.state).toBe('ready');
      const job = await q.reserve({ timeout: 0 });
      expect(job?.id).toBe(added.id);
      expect(job?.data).toEqual({ to: 'ada' });
      expect((await q.stats()).reserved).toBe(1);
      await job!.ack();
      expect(await q.peek(added.id)).toBeUndefined();
      const stats = await q.stats();
      expect(stats.ready + stats.reserved).toBe(0);
    });

    it('hands out lower priority numbers first, FIFO among equals', async () => {
      const q = await open<string>();
      await q.add('late', { priority: 2000 });
      await q.add('first-a', { priority: 5 });
      await q.add('first-b', { priority: 5 });
      const order: string[] = [];
      for (let i = 0; i < 3; i++) {
        const job = await q.reserve({ timeout: 0 });
        order.push(job!.data);
        await job!.ack();
      }
      expect(order).toEqual(['first-a', 'first-b', 'late']);
    });

    it('keeps a delayed job out of reach until it is due, and converts ms to seconds', async () => {
      const q = await open<string>();
      const added = await q.add('later', { delay: 1, ttr: 1500 });
      expect(added.state).toBe('delayed');
      expect((await q.stats()).delayed).toBe(1);
      expect(await q.reserve({ timeout: 0 })).toBeUndefined();
      const stats = await q.peekDelayed();
      expect(stats?.id).toBe(added.id);
      // 1 ms rounds up to 1 s, 1500 ms of ttr to 2 s.
      const kicked = await q.kickJob(added.id);
      expect(kicked).toBe(true);
      const job = await q.reserve({ timeout: 0 });
      const record = await job!.stats();
      expect(record?.delay).toBe(1000);
      expect(record?.ttr).toBe(2000);
      await job!.ack();
    });

    it('releases a job back to ready and buries and kicks it', async () => {
      const q = await open<number>();
      const { id } = await q.add(7);
      const first = await q.reserve({ timeout: 0 });
      await first!.release();
      const second = await q.reserve({ timeout: 0 });
      expect(second?.id).toBe(id);
      expect((await second!.stats())?.releases).toBe(1);
      await second!.bury();
      expect((await q.stats()).buried).toBe(1);
      expect((await q.peekBuried())?.id).toBe(id);
      expect(await q.kick(10)).toBe(1);
      const third = await q.reserve({ timeout: 0 });
      expect(third?.id).toBe(id);
      await third!.touch();
      await third!.ack();
    });

    it('rejects a second settle and a touch after ack with LeaseExpiredError', async () => {
      const q = await open<number>();
      await q.add(1);
      const job = await q.reserve({ timeout: 0 });
      expect(job!.isCurrent).toBe(true);
      await job!.ack();
      expect(job!.isCurrent).toBe(false);
      await expect(job!.ack()).rejects.toBeInstanceOf(LeaseExpiredError);
      await expect(job!.touch()).rejects.toBeInstanceOf(LeaseExpiredError);
      await expect(job!.release()).rejects.toBeInstanceOf(LeaseExpiredError);
    });

    it('resolves reserve with undefined when its timeout passes (rounded up to whole seconds)', async () => {
      const q = await open();
      const started = Date.now();
      expect(await q.reserve({ timeout: 300 })).toBeUndefined();
      const waited = Date.now() - started;
      expect(waited).toBeGreaterThanOrEqual(900);
      expect(waited).toBeLessThan(3000);
    });

    it('keeps producers unblocked while a consumer waits in reserve', async () => {
      const q = await open<string>();
      const waiting = q.reserve();
      // The wait is on its own connection: adds and stats still answer.
      const added = await q.add('wake');
      const stats = await q.stats();
      expect(stats.ready + stats.reserved).toBe(1);
      const job = await waiting;
      expect(job?.id).toBe(added.id);
      await job!.ack();
    });

    it('pipelines many commands on one connection and matches replies in order', async () => {
      const q = await open<number>();
      const n = 2000;
      const added = await q.addBulk(Array.from({ length: n }, (_, i) => ({ data: i })));
      expect(added.map((job) => job.data)).toEqual(Array.from({ length: n }, (_, i) => i));
      const ids = added.map((job) => job.id);
      expect(new Set(ids).size).toBe(n);
      expect([...ids].sort((a, b) => a - b)).toEqual(ids);
      // Many reserves at once, pipelined on the consumer connection.
      const jobs = await Promise.all(Array.from({ length: n }, () => q.reserve({ timeout: 0 })));
      expect(jobs.map((job) => job?.data)).toEqual(Array.from({ length: n }, (_, i) => i));
      await Promise.all(jobs.map((job) => job!.ack()));
      expect((await q.stats()).reserved).toBe(0);
    });

    it('process() runs every job and never exceeds its concurrency', async () => {
      const q = await open<number>();
      const n = 60;
      await q.addBulk(Array.from({ length: n }, (_, i) => ({ data: i })));
      let active = 0;
      let peak = 0;
      const seen: number[] = [];
      let completed = 0;
      q.on('completed', () => completed++);
      q.process(
        async (job) => {
          active++;
          peak = Math.max(peak, active);
          seen.push(job.data);
          await new Promise((resolve) => setTimeout(resolve, 5));
          active--;
        },
        { concurrency: 4 },
      );
      await until(() => completed === n);
      expect(peak).toBe(4);
      expect([...seen].sort((a, b) => a - b)).toEqual(Array.from({ length: n }, (_, i) => i));
      const stats = await q.stats();
      expect(stats.ready + stats.reserved).toBe(0);
    });

    it('process() picks up jobs added while every slot waits', async () => {
      const q = await open<number>();
      const got: number[] = [];
      q.process((job) => void got.push(job.data), { concurrency: 8 });
      // Let the slots find the tube empty: one of them waits in the server.
      while ((await q.stats()).waitingConsumers === 0) await new Promise((resolve) => setTimeout(resolve, 5));
      await q.add(1);
      await until(() => got.length === 1);
      await q.addBulk([{ data: 2 }, { data: 3 }, { data: 4 }]);
      await until(() => got.length === 4);
      expect(got.sort()).toEqual([1, 2, 3, 4]);
    });

    it('process() fails a throwing handler: buried by default, retried with retry.attempts', async () => {
      const q = await open<string>({ retry: { attempts: 2 } });
      const failures: string[] = [];
      q.on('failed', (job, error) => failures.push(`${job.data}:${error.message}`));
      await q.add('bad');
      q.process(() => {
        throw new Error('boom');
      });
      await until(() => failures.length === 2);
      expect(failures).toEqual(['bad:boom', 'bad:boom']);
      const stats = await q.stats();
      expect(stats.buried).toBe(1);
      expect(stats.ready).toBe(0);
    });

    it('iterates reserved jobs with jobs() until aborted', async () => {
      const q = await open<number>();
      await q.addBulk([{ data: 1 }, { data: 2 }, { data: 3 }]);
      const controller = new AbortController();
      const got: number[] = [];
      for await (const job of q.jobs({ signal: controller.signal })) {
        got.push(job.data);
        await job.ack();
        if (got.length === 3) setTimeout(() => controller.abort(), 20);
      }
      expect(got).toEqual([1, 2, 3]);
    });

    it('round-trips raw bytes with rawCodec', async () => {
      const q = await open<Uint8Array>({ codec: rawCodec });
      const body = Uint8Array.from([0, 13, 10, 255, 13, 10, 1]);
      await q.add(body);
      await q.add(new Uint8Array(0));
      const job = await q.reserve({ timeout: 0 });
      expect(Buffer.from(job!.data)).toEqual(Buffer.from(body));
      await job!.ack();
      const empty = await q.reserve({ timeout: 0 });
      expect(empty!.data.length).toBe(0);
      await empty!.ack();
    });

    it('rejects a job larger than max-job-size with ProtocolError JOB_TOO_BIG and stays usable', async () => {
      const q = await open<Uint8Array>({ codec: rawCodec });
      const error = await q.add(new Uint8Array(70_000)).catch((e: unknown) => e);
      expect(error).toBeInstanceOf(ProtocolError);
      expect((error as ProtocolError).reply).toBe('JOB_TOO_BIG');
      expect((await q.add(new Uint8Array(10))).id).toBeGreaterThan(0);
    });

    it('reports a lease lost when the connection drops, and the job goes back to the tube', async () => {
      const r = await relay();
      const q = await open<string>({}, r.port);
      const direct = await open<string>({ tube: q.name });
      await q.add('held');
      const job = await q.reserve({ timeout: 0 });
      const signal = job!.signal;
      r.cut();
      await until(() => signal.aborted);
      expect(signal.reason).toBeInstanceOf(LeaseExpiredError);
      expect(job!.isCurrent).toBe(false);
      await expect(job!.ack()).rejects.toBeInstanceOf(LeaseExpiredError);
      // The server gave it back: another client gets it.
      const again = await direct.reserve({ timeout: 1000 });
      expect(again?.id).toBe(job!.id);
      await again!.ack();
    });

    it('reconnects after a drop, re-issuing use/watch, and keeps producing and consuming', async () => {
      const r = await relay();
      const q = await open<string>({ reconnect: { initialDelay: 10, maxDelay: 50 } }, r.port);
      const direct = await open<string>({ tube: q.name });
      const other = await open<string>({ tube: 'default' });
      await q.add('first');
      const first = await q.reserve({ timeout: 0 });
      await first!.ack();
      let disconnects = 0;
      q.on('disconnected', () => disconnects++);
      r.cut();
      await until(() => disconnects >= 2);
      // Produced after the reconnect: lands in q's tube only if \`use\` was sent again.
      const added = await q.add('second');
      expect((await direct.peekReady())?.id).toBe(added.id);
      // A more urgent job in 'default': a consumer that lost its \`watch\` would get it.
      await other.add('decoy', { priority: 0 });
      const job = await q.reserve({ timeout: 1000 });
      expect(job?.data).toBe('second');
      await job!.ack();
      // And the push consumer works over the new connections too.
      const got: string[] = [];
      q.process((j) => void got.push(j.data), { concurrency: 2 });
      await q.add('third');
      await until(() => got.length === 1);
      expect(got).toEqual(['third']);
      const decoy = await other.reserve({ timeout: 0 });
      expect(decoy?.data).toBe('decoy');
      await decoy!.ack();
    });

    it('a process() job whose connection dropped is reported lost, not completed', async () => {
      const r = await relay();
      const q = await open<string>({ reconnect: { initialDelay: 10, maxDelay: 50 } }, r.port);
      const lost: Array<[RemoteJob<string>, Error]> = [];
      const completed: string[] = [];
      q.on('lost', (job, error) => lost.push([job, error]));
      q.on('completed', (job) => completed.push(job.data));
      let release: () => void = () => {};
      const gate = new Promise<void>((resolve) => (release = resolve));
      let runs = 0;
      q.process(async (job) => {
        runs++;
        if (runs === 1) {
          r.cut();
          await until(() => job.signal.aborted);
          await gate;
        }
      });
      await q.add('once');
      await until(() => runs >= 1);
      release();
      await until(() => lost.length === 1);
      expect(lost[0][1]).toBeInstanceOf(LeaseExpiredError);
      // The server handed it out again after the drop, and this time it completed.
      await until(() => completed.length === 1);
      expect(completed).toEqual(['once']);
      expect(runs).toBe(2);
    });

    it('a lease whose ttr ran out goes to another consumer; the first ack rejects LeaseExpiredError', async () => {
      const first = await open<string>();
      const second = await open<string>({ tube: first.name });
      await first.add('slow', { ttr: 1000 });
      const job = await first.reserve({ timeout: 0 });
      expect(job).toBeDefined();
      const started = Date.now();
      // beanstalkd 1.12 can wake a hair before the deadline and then miss the expiry until
      // the holder's connection is active again: one stats-job on it, well after the TTR,
      // makes it notice. docket hands the job over at the deadline without it.
      const nudge = setTimeout(() => void job!.stats().catch(() => undefined), 1500);
      const again = await second.reserve({ timeout: 4000 }).finally(() => clearTimeout(nudge));
      expect(again?.id).toBe(job!.id);
      expect(Date.now() - started).toBeGreaterThanOrEqual(500);
      await expect(job!.ack()).rejects.toBeInstanceOf(LeaseExpiredError);
      expect((await again!.stats())?.timeouts).toBe(1);
      await again!.ack();
    });

    it('close() lets a running handler finish and acks its job', async () => {
      const q = await open<string>();
      const observer = await open<string>({ tube: q.name });
      let finish: () => void = () => {};
      const started = new Promise<void>((resolve) => {
        q.process(async () => {
          resolve();
          await new Promise<void>((done) => (finish = done));
          return 'ok';
        });
      });
      const { id } = await q.add('slow');
      await started;
      const closing = q.close({ timeout: 5000 });
      setTimeout(() => finish(), 50);
      await closing;
      // Acked before the connection closed: gone, not handed back.
      expect(await observer.peek(id)).toBeUndefined();
    });

    it('close() with a timeout gives back a job whose handler overran, uncounted', async () => {
      const q = await open<string>();
      const observer = await open<string>({ tube: q.name });
      const lost: Error[] = [];
      q.on('lost', (_job, error) => lost.push(error));
      let finish: () => void = () => {};
      let signal: AbortSignal | undefined;
      const started = new Promise<void>((resolve) => {
        q.process(async (job) => {
          signal = job.signal;
          resolve();
          await new Promise<void>((done) => (finish = done));
        });
      });
      const { id } = await q.add('stuck');
      await started;
      await q.close({ timeout: 50 });
      expect(signal?.aborted).toBe(true);
      const back = await observer.reserve({ timeout: 1000 });
      expect(back?.id).toBe(id);
      const record = await back!.stats();
      expect([record?.releases, record?.timeouts]).toEqual([0, 0]);
      finish();
      await until(() => lost.length === 1);
      expect(lost[0]).toBeInstanceOf(LeaseExpiredError);
      await back!.ack();
    });

    it('close() resolves pending reserves with undefined and refuses new adds', async () => {
      const q = await open();
      const waiting = q.reserve();
      await new Promise((resolve) => setTimeout(resolve, 20));
      await q.close();
      expect(await waiting).toBeUndefined();
      await expect(q.add('x')).rejects.toThrow(/closed/);
      expect(q.isClosed).toBe(true);
    });
  });
}

describe.skipIf(!requireBeanstalkd('the socket client conformance suite against a real beanstalkd'))('real beanstalkd', () => {
  clientConformance('beanstalkd 1.12', () => startBeanstalkd());
});

describe('docket server', () => {
  clientConformance('docket serve()', async () => {
    const { serve } = await import('../src/socket/server/server.js');
    const server = await serve({ port: 0 });
    return { port: server.port, stop: () => server.close() };
  });
});
