import type { JobHandler } from '../contract.js';
import { JobTimeoutError, toError } from '../errors.js';
import { RedisConnectionError } from './connection.js';
import type { RedisJob } from './job.js';
import { answerAcks, failAcks, type AckReports, type PendingAck } from './acks.js';
import { Prefetch, TAKES_ON_WIRE } from './prefetch.js';
import { LeaseRenewal, type RenewalHost } from './renewal.js';
import { sleep, WakeWait, type WakeHost } from './wake-wait.js';
import { Waiters } from './waiters.js';

/** What the consumer needs from its queue. @internal */
export interface ConsumerHost<T> extends WakeHost, RenewalHost<T>, AckReports<T> {
  readonly timeout: number;
  /** One round trip: settles `acks`, then reserves up to `want` jobs. */
  take(acks: readonly PendingAck<T>[], want: number): Promise<TakeResult<T>>;
  /** A handler's failure (thrown, rejected, timed out); settles when Redis has recorded it. */
  failed(job: RedisJob<T>, error: Error, timedOut: boolean): Promise<void>;
  /** Puts a job back, uncounted; settles when Redis has it (or the attempt failed and was reported). */
  giveBack(job: RedisJob<T>): Promise<void>;
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

/** Longest pause after an unexpected failure of the loop, so a broken server is not hammered. */
const MAX_RETRY_PAUSE = 2_000;

/**
 * The one loop that takes jobs from Redis for this queue object, for `process()` slots
 * and `reserve()` callers alike. Each take settles the acks that finished since the last
 * one and asks for as many jobs as there are free slots and waiting callers, in one round
 * trip. Up to {@link TAKES_ON_WIRE} takes are on the wire: when a reply arrives the next
 * take goes out at once if there is room (the jobs of the reply before have run by then),
 * else after the reply's jobs have had a turn of the event loop, while Redis still runs
 * the other take; so this process and Redis can work at the same time, not in turn.
 * When Redis has nothing, it blocks on the queue's wake list (one connection), woken by
 * adds and timed to the next due delay or lease deadline; idle, it sends nothing.
 *
 * A push consumer whose handlers finish faster than a take's round trip also takes jobs
 * ahead of its free slots (see {@link Prefetch}) and starts them as slots free, without
 * waiting for Redis; they go back to the queue, uncounted, at close and pause.
 * @internal
 */
export class Consumer<T> {
  handler: JobHandler<T, unknown> | undefined = undefined;
  concurrency: number;
  running = 0;
  private readonly waiters = new Waiters<T>();
  private acks: PendingAck<T>[] = [];
  /** Acks sent and not answered yet. */
  private acking = 0;
  /** Takes sent and not answered yet. */
  private onWire = 0;
  /** The takes sent and not handled yet; each settles once its reply has been handled. */
  private readonly wire = new Set<Promise<void>>();
  /** Jobs the takes on the wire ask for `process()` slots. */
  private asked = 0;
  private round = 0;
  private pumping = false;
  private pumped: Promise<void> = Promise.resolve();
  /** The last take that asked for jobs got fewer: until a wait on the wake list ends, no take goes out for jobs alone. */
  private drained = false;
  /** Ms until the next due delayed job or lease deadline, as the last take saw it (-1: none). */
  private nextDue = -1;
  /** Ms the loop pauses before its next take, after one failed. */
  private backoff = 0;
  private failures = 0;
  private readonly wake: WakeWait;
  private flushQueued = false;
  private closing = false;
  private readonly held = new Set<RedisJob<T>>();
  /** Renews the leases of the running and the prefetched jobs. */
  private readonly renewal: LeaseRenewal<T>;
  private readonly settledWaiters: Array<() => void> = [];
  /** Failures of push attempts being recorded. */
  private failing = 0;
  /** Jobs a take brought for nobody (their caller gave up, or the queue is closing or pausing), on their way back. */
  private readonly givingBack = new Set<Promise<void>>();
  /** Leased jobs taken ahead of a free slot. */
  private readonly prefetch = new Prefetch<T>();
  /** The queue is paused, as the last take saw it or this object's pause() made it. */
  private queuePaused = false;
  /** Calls of this object's pause() on their way: meanwhile no prefetched job starts, none is prefetched. */
  private pausing = 0;

  constructor(
    private readonly host: ConsumerHost<T>,
    concurrency: number,
  ) {
    this.concurrency = concurrency;
    this.wake = new WakeWait(host);
    this.renewal = new LeaseRenewal<T>(
      host,
      () => [...this.held, ...this.prefetch.held],
      (job) => this.prefetch.drop(job),
    );
  }

  /** Push attempts running and acks not answered yet: what close() waits for. */
  get busy(): boolean {
    return this.running > 0 || this.acks.length > 0 || this.acking > 0 || this.failing > 0;
  }

  start(): void {
    this.fill();
    // Closing, the loop still runs to answer the acks of finishing handlers.
    if (this.pumping || (this.closing && this.acks.length === 0)) return;
    this.pumped = this.pump();
  }

  reserve(timeout: number, signal: AbortSignal | undefined): Promise<RedisJob<T> | undefined> {
    const ready = this.nextPrefetched();
    if (ready !== undefined) return Promise.resolve(ready);
    const job = this.waiters.wait(timeout, signal);
    this.start();
    return job;
  }

  /** Queues an ack for the next round trip (batched with the next take). */
  ack(job: RedisJob<T>, result: unknown, done: PendingAck<T>['done']): void {
    this.acks.push({ job, result, done });
    this.flushSoon();
  }

  /** This object's pause() is being sent: no prefetched job starts, none is prefetched. */
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
    // The takes on the wire were sent before the pause was answered: the jobs they bring,
    // reserved before it, go back too.
    await this.handBack(Promise.all(this.wire));
  }

  /** This object's resume() reached Redis. */
  resumed(): void {
    this.queuePaused = false;
    this.start();
  }

  /** Stops taking jobs; resolves waiting `reserve()` calls with `undefined`. */
  async stop(): Promise<void> {
    this.closing = true;
    this.waiters.clear();
    // The loop ends once the takes on the wire are answered; the jobs they bring go back.
    await this.handBack(this.wake.end().then(() => this.pumped));
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
    this.renewal.stop();
  }

  /**
   * Gives the prefetched jobs back at once (another worker can run them now), waits for
   * `pending` (takes on the wire, whose jobs go back as they arrive), then until Redis
   * has every job given back.
   */
  private async handBack(pending: Promise<unknown>): Promise<void> {
    // The prefetched jobs join givingBack, which is awaited last.
    this.giveBackPrefetched();
    await pending;
    await Promise.all(this.givingBack);
  }

  /**
   * Sends what is queued (acks, free slots) once the handlers that settle in the same
   * stretch of microtasks have all settled: 64 no-op handlers then cost one take, not 64.
   * While the loop runs and does not block, it sends them with its next take itself.
   */
  private flushSoon(): void {
    if (this.flushQueued || (this.pumping && !this.wake.blocked)) return;
    this.flushQueued = true;
    // setImmediate, not a microtask: a handler started from the prefetch by a settling one
    // settles in the same stretch too, and its ack and slot go in the same take.
    setImmediate(() => {
      this.flushQueued = false;
      if (!this.pumping) this.start();
      else if (this.wake.blocked) void this.sendAcks();
    });
  }

  /** Jobs can start: not closing, not pausing, the queue not paused. */
  private mayStart(): boolean {
    return !this.closing && this.pausing === 0 && !this.queuePaused;
  }

  /** Jobs the next take asks for `process()` slots (and their prefetch). */
  private slotDemand(): number {
    if (this.handler === undefined || this.closing) return 0;
    return this.prefetch.wanted(this.concurrency, this.running, this.asked, this.mayStart());
  }

  /** Jobs the next take asks for: slots, and callers no take on the wire asks for yet. */
  private demand(): number {
    return this.slotDemand() + this.waiters.uncounted;
  }

  /** Prefetched jobs this consumer keeps: none when it could not start them. */
  private prefetchCapacity(): number {
    return this.handler !== undefined && this.mayStart() ? Prefetch.capacity(this.concurrency) : 0;
  }

  /** The next prefetched job to start, unless jobs cannot start now. */
  private nextPrefetched(): RedisJob<T> | undefined {
    return this.mayStart() ? this.prefetch.next() : undefined;
  }

  /** Starts prefetched jobs on free slots. */
  private fill(): void {
    while (this.handler !== undefined && this.running < this.concurrency) {
      const job = this.nextPrefetched();
      if (job === undefined) break;
      this.run(job);
    }
  }

  private giveBackPrefetched(): void {
    const jobs = this.prefetch.takeAll();
    if (this.held.size === 0) this.renewal.stop();
    this.giveBack(jobs);
  }

  /** Puts jobs back in the queue, uncounted; close() and pause() wait for them (givingBack). */
  private giveBack(jobs: readonly RedisJob<T>[]): void {
    for (const job of jobs) {
      const back = this.host.giveBack(job).finally(() => this.givingBack.delete(back));
      this.givingBack.add(back);
    }
  }

  private async pump(): Promise<void> {
    this.pumping = true;
    this.drained = false;
    try {
      for (;;) {
        if (this.send()) continue;
        if (this.wire.size > 0) {
          await Promise.race(this.wire);
          // The handlers a reply started may settle within this turn: their acks and slots
          // go in the next take rather than a take going now for the prefetch alone (which
          // would lock the loop into one job per take while each handler runs).
          await nextTurn();
        } else if (this.backoff > 0) {
          await sleep(this.backoff);
          this.backoff = 0;
        } else if (this.drained && this.demand() > 0) {
          // From here on, acks that arrive are sent on their own (see flushSoon()).
          await this.wake.wait(this.nextDue, () => this.demand() > 0);
          this.drained = false;
        } else {
          break;
        }
      }
    } finally {
      this.pumping = false;
      this.checkSettled();
    }
  }

  /**
   * Sends a take when there is room on the wire and there are acks to settle or jobs to
   * ask for; not for jobs alone once Redis had too few (the loop waits on the wake list).
   */
  private send(): boolean {
    if (this.onWire >= TAKES_ON_WIRE || this.backoff > 0) return false;
    const slots = this.slotDemand();
    if (this.acks.length === 0 && (this.drained || slots + this.waiters.uncounted === 0)) return false;
    const round = ++this.round;
    const take: Promise<void> = this.take(this.acks.splice(0), slots, this.waiters.count(round), round)
      // A throwing event listener must not end the loop, nor become an unhandled rejection.
      .catch((error: unknown) => this.host.report(toError(error)))
      .finally(() => this.wire.delete(take));
    this.wire.add(take);
    return true;
  }

  /** One take on the wire: settles `acks`, asks for `slots` jobs for `process()` and `forWaiters` for callers. */
  private async take(acks: PendingAck<T>[], slots: number, forWaiters: number, round: number): Promise<void> {
    const want = slots + forWaiters;
    this.asked += slots;
    this.onWire++;
    let result: TakeResult<T>;
    try {
      const sent = performance.now();
      result = await this.settle(acks, want);
      this.prefetch.took(performance.now() - sent);
      this.failures = 0;
    } catch (error) {
      this.onWire--;
      this.asked -= slots;
      this.waiters.ended(round, false);
      if (!this.closing) {
        // A dropped connection reconnects on its own (the next take waits for it);
        // anything else is news, and a growing pause keeps a broken script from spinning.
        if (!(error instanceof RedisConnectionError)) this.host.report(toError(error));
        this.backoff = Math.min(MAX_RETRY_PAUSE, 50 * 2 ** this.failures++);
      }
      this.checkSettled();
      return;
    }
    this.onWire--;
    this.asked -= slots;
    if (this.pausing === 0) this.queuePaused = result.paused;
    if (result.paused) this.giveBackPrefetched();
    this.dispatch(result.jobs);
    this.waiters.ended(round, true);
    if (want > 0) {
      this.drained = result.jobs.length < want;
      this.nextDue = result.wait;
    }
    // The handlers of an earlier reply have settled by now (their microtasks ran before
    // this reply was read): their acks and slots go at once, while Redis still has the
    // other take to run, rather than after this reply's turn.
    this.send();
    this.checkSettled();
  }

  /** One round trip: settles `acks` (each answered, or failed with the take's error), reserving up to `want` jobs. */
  private async settle(acks: readonly PendingAck<T>[], want: number): Promise<TakeResult<T>> {
    this.acking += acks.length;
    let result: TakeResult<T>;
    try {
      result = await this.host.take(acks, want);
    } catch (error) {
      this.acking -= acks.length;
      failAcks(acks, toError(error), this.host);
      throw error;
    }
    this.acking -= acks.length;
    answerAcks(acks, result.acked, this.host);
    return result;
  }

  /** Acks that arrive while the loop blocks go out on their own (without a take). */
  private async sendAcks(): Promise<void> {
    const acks = this.acks.splice(0);
    if (acks.length === 0) return;
    await this.settle(acks, 0).catch(() => undefined);
    this.checkSettled();
  }

  /** Hands a take's jobs to the waiting callers, then to free slots, then to the prefetch; the rest go back. */
  private dispatch(jobs: RedisJob<T>[]): void {
    let next = this.waiters.serve(jobs);
    while (next < jobs.length && this.handler !== undefined && this.running < this.concurrency && this.mayStart()) {
      this.run(jobs[next++] as RedisJob<T>);
    }
    const capacity = this.prefetchCapacity();
    while (next < jobs.length && this.prefetch.size < capacity) this.prefetch.add(jobs[next++] as RedisJob<T>);
    if (this.prefetch.size > 0) this.renewal.start((this.prefetch.held[0] as RedisJob<T>).ttr);
    // Taken for a caller that gave up meanwhile, or while closing or pausing: back to the
    // queue at once, uncounted.
    if (next < jobs.length) this.giveBack(jobs.slice(next));
  }

  /** Runs one push attempt: its lease is renewed while the handler runs. */
  private run(job: RedisJob<T>): void {
    const started = performance.now();
    this.running++;
    job.push = true;
    this.held.add(job);
    this.renewal.start(job.ttr);
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
    this.fill();
    if (this.held.size === 0 && this.prefetch.size === 0) this.renewal.stop();
    this.flushSoon();
    this.checkSettled();
  }

  private checkSettled(): void {
    if (this.busy || this.settledWaiters.length === 0) return;
    for (const resolve of this.settledWaiters.splice(0)) resolve();
  }
}

function nextTurn(): Promise<void> {
  return new Promise((resolve) => setImmediate(resolve));
}
