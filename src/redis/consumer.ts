import type { JobHandler } from '../contract.js';
import { JobTimeoutError, LeaseExpiredError, toError } from '../errors.js';
import type { RedisChannel } from './connection.js';
import { RedisConnectionError } from './connection.js';
import type { RedisJob } from './job.js';
import { Prefetch } from './prefetch.js';

/** What the consumer needs from its queue. @internal */
export interface ConsumerHost<T> {
  readonly wakeKey: string;
  readonly timeout: number;
  /** One round trip: settles `acks`, then reserves up to `want` jobs. */
  take(acks: readonly PendingAck<T>[], want: number): Promise<TakeResult<T>>;
  /** Renews the given leases; resolves the ones found gone. */
  renew(jobs: readonly RedisJob<T>[]): Promise<RedisJob<T>[]>;
  /** A handler's failure (thrown, rejected, timed out); settles when Redis has recorded it. */
  failed(job: RedisJob<T>, error: Error, timedOut: boolean): Promise<void>;
  completed(job: RedisJob<T>, result: unknown): void;
  /** A `process()` ack whose outcome is unknown (the connection dropped on the way). */
  lost(job: RedisJob<T>, error: Error): void;
  /** Puts a job back, uncounted; settles when Redis has it (or the attempt failed and was reported). */
  giveBack(job: RedisJob<T>): Promise<void>;
  /** A separate connection for the blocking wait. */
  blockingChannel(): Promise<RedisChannel>;
  commandChannel(): RedisChannel;
  report(error: Error): void;
}

/** @internal */
export interface PendingAck<T> {
  job: RedisJob<T>;
  result: unknown;
  /** Set for `job.ack()` calls; a `process()` ack reports through the queue's events instead. */
  done: ((error: Error | undefined) => void) | undefined;
}

/** @internal */
export interface TakeResult<T> {
  /** Per ack: whether its lease was still current. */
  acked: boolean[];
  jobs: RedisJob<T>[];
  /** Ms until the next due delayed job or lease deadline; -1 for none. */
  wait: number;
  /** The queue is paused (no job was taken). */
  paused: boolean;
}

interface Waiter<T> {
  resolve(job: RedisJob<T> | undefined): void;
  /** `timeout: 0`: one take, then give up. */
  once: boolean;
  /** The take round that counted this waiter. */
  round: number;
  cleanup(): void;
}

/** Longest pause after an unexpected failure of the loop, so a broken server is not hammered. */
const MAX_RETRY_PAUSE = 2_000;

/**
 * The one loop that takes jobs from Redis for this queue object, for `process()` slots
 * and `reserve()` callers alike: it asks for as many jobs as there are free slots and
 * waiting callers, in the same round trip as the acks that finished since the last one.
 * When Redis has nothing, it blocks on the queue's wake list (one connection), woken by
 * adds and timed to the next due delay or lease deadline; idle, it sends nothing.
 *
 * A push consumer whose handlers finish faster than a take's round trip also takes up to
 * `concurrency` jobs more than it has free slots (one extra batch, see {@link Prefetch})
 * and starts them as slots free, without waiting for Redis; they go back to the queue,
 * uncounted, at close and pause.
 * @internal
 */
export class Consumer<T> {
  handler: JobHandler<T, unknown> | undefined = undefined;
  concurrency: number;
  running = 0;
  private readonly waiters: Waiter<T>[] = [];
  private acks: PendingAck<T>[] = [];
  private pumping = false;
  private pumped: Promise<void> = Promise.resolve();
  private blocked = false;
  /** The connection id of the blocking wait in flight: `stop()` unblocks it. */
  private waiting: Promise<unknown> | undefined = undefined;
  private flushQueued = false;
  private round = 0;
  private closing = false;
  private readonly held = new Set<RedisJob<T>>();
  private renewTimer: ReturnType<typeof setInterval> | undefined = undefined;
  private readonly settledWaiters: Array<() => void> = [];
  /** Failures of push attempts being recorded. */
  private failing = 0;
  /** Jobs a take brought for nobody (their caller gave up, or the queue is closing), on their way back. */
  private readonly givingBack = new Set<Promise<void>>();
  /** Leased jobs taken ahead of a free slot (at most `concurrency`). */
  private readonly prefetch = new Prefetch<T>();
  /** The queue is paused, as the last take saw it or this object's pause() made it. */
  private queuePaused = false;
  /** Calls of this object's pause() on their way: meanwhile no prefetched job starts, none is taken. */
  private pausing = 0;

  constructor(
    private readonly host: ConsumerHost<T>,
    concurrency: number,
  ) {
    this.concurrency = concurrency;
  }

  /** Push attempts running, pull waiters and acks in flight: what close() waits for. */
  get busy(): boolean {
    return this.running > 0 || this.acks.length > 0 || this.failing > 0;
  }

  start(): void {
    // Closing, the loop still runs to answer the acks of finishing handlers.
    if (!this.closing && this.pausing === 0) this.fill();
    if (this.pumping || (this.closing && this.acks.length === 0)) return;
    this.pumped = this.pump();
  }

  reserve(timeout: number, signal: AbortSignal | undefined): Promise<RedisJob<T> | undefined> {
    const ready = this.nextPrefetched();
    if (ready !== undefined) return Promise.resolve(ready);
    return new Promise((resolve) => {
      let timer: ReturnType<typeof setTimeout> | undefined;
      const onAbort = (): void => giveUp();
      const waiter: Waiter<T> = {
        resolve,
        once: timeout === 0,
        round: -1,
        cleanup: () => {
          if (timer !== undefined) clearTimeout(timer);
          signal?.removeEventListener('abort', onAbort);
        },
      };
      const giveUp = (): void => {
        const at = this.waiters.indexOf(waiter);
        if (at < 0) return;
        this.waiters.splice(at, 1);
        waiter.cleanup();
        resolve(undefined);
      };
      if (timeout > 0 && timeout !== Infinity) timer = setTimeout(giveUp, Math.min(timeout, 2 ** 31 - 1));
      signal?.addEventListener('abort', onAbort, { once: true });
      this.waiters.push(waiter);
      this.start();
    });
  }

  /** Queues an ack for the next round trip (batched with the next take). */
  ack(job: RedisJob<T>, result: unknown, done: PendingAck<T>['done']): void {
    this.acks.push({ job, result, done });
    this.flushSoon();
  }

  /**
   * Sends what is queued (acks, free slots) once the handlers that settle in the same
   * stretch of microtasks have all settled: 64 no-op handlers then cost one take, not 64.
   */
  private flushSoon(): void {
    if (this.flushQueued) return;
    this.flushQueued = true;
    // setImmediate, not a microtask: a handler started from the prefetch by a settling one
    // settles in the same stretch too, and its ack and slot go in the same take.
    setImmediate(() => {
      this.flushQueued = false;
      if (!this.pumping) this.start();
      else if (this.blocked) void this.sendAcks();
      // Otherwise the running take's loop picks them up as soon as it returns.
    });
  }

  /** This object's pause() is being sent: no prefetched job starts, none is taken. */
  pauseStarted(): void {
    this.pausing++;
  }

  /** This object's pause() ended (`paused`: Redis has it): prefetched jobs go back, uncounted. */
  async pauseEnded(paused: boolean): Promise<void> {
    this.pausing--;
    if (!paused) {
      this.start();
      return;
    }
    this.queuePaused = true;
    await this.giveBackPrefetched();
    // Also the jobs a take on the wire at the pause brought back (sent before the pause, so
    // answered before it): they are on their way back too.
    await Promise.all(this.givingBack);
  }

  /** This object's resume() reached Redis. */
  resumed(): void {
    this.queuePaused = false;
    this.start();
  }

  /** Stops taking jobs; resolves waiting `reserve()` calls with `undefined`. */
  async stop(): Promise<void> {
    this.closing = true;
    for (const waiter of this.waiters.splice(0)) {
      waiter.cleanup();
      waiter.resolve(undefined);
    }
    // Jobs taken ahead of a slot go back at once: another worker can run them now.
    void this.giveBackPrefetched();
    // No wait starts once closing is set; the one in flight (if any) is ended here,
    // without taking a wake token another consumer may need.
    const id = await this.waiting?.catch(() => undefined);
    if (this.blocked) {
      const unblocked =
        id === undefined
          ? 0
          : await this.host
              .commandChannel()
              .command(this.host.wakeKey, ['CLIENT', 'UNBLOCK', String(id)], 'close')
              .catch(() => 0);
      // Some servers refuse to unblock (Redis Cluster nodes answer 0): then the
      // connection goes, and the wait with it.
      if (unblocked !== 1) (await this.host.blockingChannel()).target.destroy();
    }
    await this.pumped;
    // A take on the wire at close may bring jobs: they go back before the connection closes.
    await Promise.all(this.givingBack);
  }

  /** Resolves once no handler runs and every queued ack has been answered. */
  whenSettled(): Promise<void> {
    if (!this.busy) return Promise.resolve();
    return new Promise((resolve) => this.settledWaiters.push(resolve));
  }

  /** Leases still held by running handlers: given back at close. */
  heldJobs(): RedisJob<T>[] {
    return [...this.held];
  }

  stopRenewing(): void {
    if (this.renewTimer !== undefined) clearInterval(this.renewTimer);
    this.renewTimer = undefined;
  }

  private demand(): number {
    if (this.closing) return 0;
    const slots = this.handler === undefined ? 0 : Math.max(0, this.concurrency - this.running - this.prefetch.size);
    return slots + this.prefetch.room(this.prefetchCapacity()) + this.waiters.length;
  }

  /** Prefetched jobs this consumer keeps: one batch for its slots, none when it could not start them. */
  private prefetchCapacity(): number {
    if (this.handler === undefined || this.closing || this.queuePaused || this.pausing > 0) return 0;
    return this.concurrency;
  }

  /** The next prefetched job to start, unless closing or pausing. */
  private nextPrefetched(): RedisJob<T> | undefined {
    return this.closing || this.pausing > 0 ? undefined : this.prefetch.next();
  }

  /** Starts prefetched jobs on free slots. */
  private fill(): void {
    while (this.handler !== undefined && this.running < this.concurrency && this.prefetch.size > 0) {
      const job = this.nextPrefetched();
      if (job === undefined) break;
      this.run(job);
    }
  }

  private giveBackPrefetched(): Promise<void> {
    const jobs = this.prefetch.takeAll();
    if (this.held.size === 0) this.stopRenewing();
    return this.giveBack(jobs);
  }

  /** Puts jobs back in the queue, uncounted; close() waits for them. */
  private giveBack(jobs: readonly RedisJob<T>[]): Promise<void> {
    const all = jobs.map((job) => {
      const back = this.host.giveBack(job).finally(() => this.givingBack.delete(back));
      this.givingBack.add(back);
      return back;
    });
    return Promise.all(all).then(() => undefined);
  }

  private async pump(): Promise<void> {
    this.pumping = true;
    let failures = 0;
    try {
      for (;;) {
        const want = this.demand();
        const acks = this.acks.splice(0);
        if (want === 0 && acks.length === 0) break;
        const round = ++this.round;
        for (const waiter of this.waiters) if (waiter.round < 0) waiter.round = round;
        let result: TakeResult<T>;
        try {
          const sent = performance.now();
          result = await this.host.take(acks, want);
          this.prefetch.took(performance.now() - sent);
          failures = 0;
        } catch (error) {
          this.ackFailed(acks, toError(error));
          if (this.closing) break;
          // A dropped connection reconnects on its own (the next take waits for it);
          // anything else is news, and a growing pause keeps a broken script from spinning.
          if (!(error instanceof RedisConnectionError)) this.host.report(toError(error));
          await sleep(Math.min(MAX_RETRY_PAUSE, 50 * 2 ** failures++));
          continue;
        }
        this.acked(acks, result.acked);
        if (this.pausing === 0) this.queuePaused = result.paused;
        if (result.paused) void this.giveBackPrefetched();
        this.dispatch(result.jobs, round);
        if (result.jobs.length < want && this.demand() > 0) await this.block(result.wait);
        // The handlers just started may settle within this turn: their acks and slots go
        // in the next take rather than a take going now for the prefetch alone (which
        // would lock the loop into one job per take while each handler runs).
        else await nextTurn();
      }
    } finally {
      this.pumping = false;
      this.checkSettled();
    }
    // Work may have arrived between the last check and the end of the loop.
    if (this.demand() > 0 || this.acks.length > 0) queueMicrotask(() => this.start());
  }

  /** Waits on the wake list until a token arrives or `wait` ms pass (-1: no limit). */
  private async block(wait: number): Promise<void> {
    // Acks queued while the take ran go out with the next take, not after the wait.
    if (this.closing || this.acks.length > 0) return;
    // From here on, acks that arrive are sent on their own (see ack()).
    this.blocked = true;
    let channel: RedisChannel;
    try {
      channel = await this.host.blockingChannel();
    } catch (error) {
      this.blocked = false;
      if (!(error instanceof RedisConnectionError)) this.host.report(toError(error));
      await sleep(100);
      return;
    }
    const key = this.host.wakeKey;
    try {
      if (this.closing) return;
      const { id, reply } = channel.blocking(key, ['BLPOP', key, wait < 0 ? '0' : (wait / 1000).toFixed(3)], 'wait for jobs');
      this.waiting = id;
      const token = await reply;
      // A token this loop no longer needs (demand went away) is passed on to another consumer.
      if (token !== null && this.demand() === 0) {
        await this.host.commandChannel().command(key, ['RPUSH', key, '1'], 'wake');
      }
    } catch (error) {
      if (!this.closing && !(error instanceof RedisConnectionError)) this.host.report(toError(error));
      if (!this.closing) await sleep(100);
    } finally {
      this.blocked = false;
    }
  }

  /** Acks that arrive while the loop blocks go out on their own (without a take). */
  private async sendAcks(): Promise<void> {
    const acks = this.acks.splice(0);
    if (acks.length === 0) return;
    try {
      this.acked(acks, (await this.host.take(acks, 0)).acked);
    } catch (error) {
      this.ackFailed(acks, toError(error));
    }
    this.checkSettled();
  }

  private acked(acks: readonly PendingAck<T>[], results: readonly boolean[]): void {
    for (let i = 0; i < acks.length; i++) {
      const { job, result, done } = acks[i] as PendingAck<T>;
      const error =
        results[i] === true
          ? undefined
          : new LeaseExpiredError(`ack job ${job.id}: the lease ran out before the ack; the job was (or will be) given to another worker`);
      if (done !== undefined) done(error);
      else if (error === undefined) this.host.completed(job, result);
      else this.host.lost(job, error);
    }
  }

  private ackFailed(acks: readonly PendingAck<T>[], error: Error): void {
    for (const { job, done } of acks) {
      if (done !== undefined) done(error);
      else if (error instanceof RedisConnectionError) this.host.lost(job, error);
      else this.host.report(error);
    }
  }

  private dispatch(jobs: RedisJob<T>[], round: number): void {
    let next = 0;
    while (next < jobs.length && this.waiters.length > 0) {
      const waiter = this.waiters.shift() as Waiter<T>;
      waiter.cleanup();
      waiter.resolve(jobs[next++]);
    }
    while (next < jobs.length && this.handler !== undefined && this.running < this.concurrency && !this.closing && this.pausing === 0) {
      this.run(jobs[next++] as RedisJob<T>);
    }
    const capacity = this.prefetchCapacity();
    while (next < jobs.length && this.prefetch.size < capacity) this.prefetch.add(jobs[next++] as RedisJob<T>);
    if (this.prefetch.size > 0) this.scheduleRenewal((this.prefetch.held[0] as RedisJob<T>).ttr);
    // Taken for a caller that gave up meanwhile: back to the queue at once, uncounted.
    if (next < jobs.length) void this.giveBack(jobs.slice(next));
    // `timeout: 0` callers had their one look.
    for (let i = this.waiters.length - 1; i >= 0; i--) {
      const waiter = this.waiters[i] as Waiter<T>;
      if (waiter.once && waiter.round === round) {
        this.waiters.splice(i, 1);
        waiter.cleanup();
        waiter.resolve(undefined);
      }
    }
  }

  /** Runs one push attempt: its lease is renewed while the handler runs. */
  private run(job: RedisJob<T>): void {
    const started = performance.now();
    this.running++;
    job.push = true;
    this.held.add(job);
    this.scheduleRenewal(job.ttr);
    let timer: ReturnType<typeof setTimeout> | undefined;
    let timedOut = false;
    const timeout = this.host.timeout;
    if (timeout !== Infinity) {
      timer = setTimeout(
        () => {
          timedOut = true;
          const error = new JobTimeoutError(`job ${job.id} timed out after ${timeout} ms (attempt ${job.attemptsMade})`);
          job.abort(error);
          this.fail(job, error, true);
        },
        Math.min(timeout, 2 ** 31 - 1),
      );
    }
    const settle = (ok: boolean, value: unknown): void => {
      this.prefetch.ran(performance.now() - started);
      if (timer !== undefined) clearTimeout(timer);
      if (timedOut) return;
      if (job.settled) {
        // The handler settled its job itself (job.ack(), job.release()...).
        this.finish(job);
      } else if (ok) {
        job.settled = true;
        // Queued before the slot frees, so the take that fills the slot carries the ack.
        this.ack(job, value, undefined);
        this.finish(job);
      } else {
        this.fail(job, toError(value), false);
      }
    };
    try {
      const handler = this.handler as JobHandler<T, unknown>;
      Promise.resolve(handler(job, job)).then(
        (value) => settle(true, value),
        (error: unknown) => settle(false, error),
      );
    } catch (error) {
      settle(false, error);
    }
  }

  private fail(job: RedisJob<T>, error: Error, timedOut: boolean): void {
    if (job.settled) {
      this.finish(job);
      return;
    }
    this.failing++;
    const recorded = this.host.failed(job, error, timedOut);
    this.finish(job);
    void recorded.finally(() => {
      this.failing--;
      this.checkSettled();
    });
  }

  /** A push attempt ended: its slot is free for the next take. */
  private finish(job: RedisJob<T>): void {
    if (!this.held.delete(job)) return;
    this.running--;
    if (!this.closing && this.pausing === 0) this.fill();
    if (this.held.size === 0 && this.prefetch.size === 0) this.stopRenewing();
    this.flushSoon();
    this.checkSettled();
  }

  private scheduleRenewal(ttr: number): void {
    if (this.renewTimer !== undefined) return;
    // A third of the lease: two renewals can fail (a slow round trip) before it runs out.
    this.renewTimer = setInterval(() => void this.renewHeld(), Math.max(10, Math.floor(ttr / 3)));
    this.renewTimer.unref();
  }

  private async renewHeld(): Promise<void> {
    const jobs = [...this.held, ...this.prefetch.held].filter((job) => !job.settled);
    if (jobs.length === 0) return;
    try {
      const lost = await this.host.renew(jobs);
      for (const job of lost) {
        job.abort(new LeaseExpiredError(`job ${job.id}: the lease was lost (it ran out and went to another worker)`));
        this.prefetch.drop(job);
      }
    } catch (error) {
      if (!(error instanceof RedisConnectionError)) this.host.report(toError(error));
    }
  }

  private checkSettled(): void {
    if (this.busy || this.settledWaiters.length === 0) return;
    for (const resolve of this.settledWaiters.splice(0)) resolve();
  }
}

function nextTurn(): Promise<void> {
  return new Promise((resolve) => setImmediate(resolve));
}

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}
