import { EventEmitter } from 'node:events';
import type { TimerHandle } from './clock.js';
import { DeadLetters } from './dead-letter.js';
import {
  InvalidOptionError,
  InvalidStateError,
  JobNotFoundError,
  JobTimeoutError,
  LeaseExpiredError,
  QueueClosedError,
  QueueFullError,
  StoreFailedError,
  UnrecoverableError,
  toError,
} from './errors.js';
import type { QueueEvents } from './events.js';
import type { Job, JobSnapshot } from './job.js';
import { JobIndex } from './job-index.js';
import { JobRecord, nextJobId, reserveIdsThrough } from './job.js';
import type { JobConfig } from './job.js';
import { LatencyWindow } from './latency.js';
import type { Percentiles } from './latency.js';
import type { AddOptions, QueueOptions, ResolvedQueueOptions } from './options.js';
import { checkAddOptions, checkDuration, checkInteger, checkPriority, DEFAULTS, resolveOptions } from './options.js';
import { ReadySet } from './ready-set.js';
import type { JobContext, LeaseHost, ReleaseOptions } from './reserved-job.js';
import { ReservedJob } from './reserved-job.js';
import { nextDelay } from './retry.js';
import { Scheduler } from './scheduler.js';
import type { DeadReason, JobEvent, JobState } from './state.js';
import { nextState } from './state.js';
import type { ChangeType } from './store.js';

/**
 * A push consumer: gets each job and its context; returning (or resolving) acknowledges
 * the job, throwing (or rejecting) fails the attempt.
 */
export type Handler<T, R = unknown> = (job: ReservedJob<T>, context: JobContext) => R | PromiseLike<R>;

/** A handler that owns resources (a thread pool): `close()` runs when the queue closes. */
export interface ClosableHandler<T, R = unknown> {
  (job: ReservedJob<T>, context: JobContext): R | PromiseLike<R>;
  close(): Promise<void>;
}

/** Options of {@link Queue.reserve}. */
export interface ReserveOptions {
  /** Ms to wait for a job; then `reserve` resolves `undefined`. @defaultValue Infinity */
  timeout?: number;
  /** Stops waiting (resolving `undefined`) when aborted. */
  signal?: AbortSignal;
  /** This lease's length in ms. @defaultValue the job's `ttr` */
  ttr?: number;
}

/** Options of {@link Queue.close}. */
export interface CloseOptions {
  /**
   * Ms to wait for running handlers and outstanding leases to settle; the rest are then
   * given back (released without using an attempt) and their signals aborted.
   * @defaultValue 10_000
   */
  timeout?: number;
}

/** A snapshot of a queue's counts and latencies. */
export interface QueueStats {
  name: string;
  ready: number;
  /** Ready jobs with priority below 1024 (beanstalkd's `current-jobs-urgent`). */
  urgent: number;
  delayed: number;
  reserved: number;
  buried: number;
  /** Jobs held: every state. */
  total: number;
  /** Producers waiting for room (`maxSize`). */
  waitingProducers: number;
  /** Pull consumers waiting in `reserve()`. */
  waitingConsumers: number;
  added: number;
  completed: number;
  /** Failed attempts (errors, timeouts, lost leases). */
  failed: number;
  retried: number;
  /** Jobs buried (dead letters) since the queue started, any reason. */
  dead: number;
  /** Leases that ran out. */
  leaseTimeouts: number;
  isPaused: boolean;
  concurrency: number;
  /** From due to first start, ms, over the most recent jobs. */
  waitTime: Percentiles;
  /** From start to acknowledgement, ms, over the most recent jobs. */
  runTime: Percentiles;
}

interface ReserveWaiter<T> {
  resolve(job: ReservedJob<T> | undefined): void;
  ttr: number | undefined;
  timer: TimerHandle | undefined;
  signal: AbortSignal | undefined;
  onAbort: (() => void) | undefined;
}

interface Producer {
  admit(): void;
  reject(error: Error): void;
}

interface Condition {
  test(): boolean;
  resolve(): void;
}

/** A running push attempt. One per running handler; reused while attempts end normally. */
interface Slot<T> {
  lease: ReservedJob<T> | undefined;
  onFulfilled(value: unknown): void;
  onRejected(error: unknown): void;
}

const resolvedVoid = Promise.resolve();

function isPromiseLike(value: unknown): value is PromiseLike<unknown> {
  return typeof value === 'object' && value !== null && typeof (value as { then?: unknown }).then === 'function';
}

/**
 * A typed job queue living in this process: priorities (lower first, FIFO among equals),
 * delays, leases, retries with backoff, dead letters, bounded size, events.
 *
 * @typeParam T - the payload type
 * @example
 * ```ts
 * const q = new Queue<{ to: string }>({ concurrency: 4, retry: { attempts: 3 } });
 * q.process(async (job) => sendMail(job.data.to));
 * await q.add({ to: 'ada@example.com' }, { priority: 10 });
 * await q.onIdle();
 * ```
 */
export class Queue<T = unknown> extends EventEmitter<QueueEvents<T>> {
  /** Dead letters: list, redrive, purge. */
  readonly deadLetters: DeadLetters<T>;

  private readonly opts: ResolvedQueueOptions<T>;
  private readonly jobConfig: JobConfig;
  private readonly jobsById = new JobIndex<JobRecord<T>>();
  private readonly byDedupeId = new Map<string, JobRecord<T>>();
  private readonly ready = new ReadySet<JobRecord<T>>();
  private readonly delayed: Scheduler<JobRecord<T>>;
  private readonly leases: Scheduler<JobRecord<T>>;
  private readonly buried = new Map<number, JobRecord<T>>();
  /** Reserved jobs (each holds its lease object in `current`). */
  private reservedCount = 0;
  private readonly host: LeaseHost<T>;

  private handler: Handler<T> | undefined = undefined;
  private concurrencyLimit: number;
  private running = 0;
  private readonly idleSlots: Slot<T>[] = [];
  private paused = false;
  private dispatching = false;
  private closing = false;
  private closePromise: Promise<void> | undefined = undefined;
  private failure: Error | undefined = undefined;
  private busy = false;

  private readonly reserveWaiters: ReserveWaiter<T>[] = [];
  private readonly producers: Producer[] = [];
  private conditions: Condition[] = [];

  private added = 0;
  private completed = 0;
  private failedAttempts = 0;
  private retried = 0;
  private dead = 0;
  private leaseTimeouts = 0;
  private readonly waitTimes = new LatencyWindow();
  private readonly runTimes = new LatencyWindow();

  constructor(options: QueueOptions<T> = {}) {
    super();
    this.opts = resolveOptions(options);
    this.concurrencyLimit = this.opts.concurrency;
    this.jobConfig = { queueName: this.opts.name, epoch: this.opts.clock.now(), maxAttempts: this.opts.attempts, ttr: this.opts.ttr, timeout: this.opts.timeout, ttl: Infinity };
    const clock = this.opts.clock;
    this.delayed = new Scheduler(clock, (job) => this.becomeDue(job));
    this.leases = new Scheduler(clock, (job) => this.leaseEnded(job));
    this.host = {
      ack: (lease, result) => this.guarded(lease, () => this.complete(lease, result)),
      release: (lease, opts) =>
        this.guarded(lease, () => {
          if (opts?.delay !== undefined) checkDuration('delay', opts.delay);
          if (opts?.priority !== undefined) checkPriority('priority', opts.priority);
          return this.giveBack(lease.record, opts);
        }),
      fail: (lease, error) => this.guarded(lease, () => this.attemptFailed(lease.record, toError(error), 'failed')),
      bury: (lease, reason, priority) =>
        this.guarded(lease, () => {
          if (priority !== undefined) checkPriority('priority', priority);
          const job = lease.record;
          if (priority !== undefined) job.priority = priority;
          if (reason !== undefined) this.noteError(job, { name: 'Buried', message: reason });
          return this.bury(job, 'manual');
        }),
      touch: (lease) => {
        this.check(lease);
        // A push attempt's lease is its running handler; only its timeout bounds it.
        if (lease.push) return;
        const job = lease.record;
        this.leases.delete(job);
        job.dueAt = this.opts.clock.now() + job.ttr;
        this.leases.add(job);
      },
      progress: (lease, value) => {
        if (lease.isCurrent) this.emit('progress', lease.job, value);
      },
    };
    this.deadLetters = new DeadLetters({
      buriedJobs: () => this.buried.values(),
      buriedCount: () => this.buried.size,
      redrive: (id) => this.buried.has(id) && this.kickJob(id),
      purge: (id) => this.buried.has(id) && this.remove(id),
    });
  }

  // ── getters ────────────────────────────────────────────────────────────

  /** The queue's name. */
  get name(): string {
    return this.opts.name;
  }
  /** Jobs waiting: ready plus delayed. */
  get size(): number {
    return this.ready.size + this.delayed.size;
  }
  /** Jobs in flight: reserved by a handler or a pull consumer. */
  get pending(): number {
    return this.reservedCount;
  }
  get isPaused(): boolean {
    return this.paused;
  }
  get isClosed(): boolean {
    return this.closing;
  }
  /** Handlers `process()` runs at once; settable at run time. */
  get concurrency(): number {
    return this.concurrencyLimit;
  }
  set concurrency(value: number) {
    this.concurrencyLimit = checkInteger('concurrency', value, 1, Infinity);
    this.wake();
  }

  // ── producers ──────────────────────────────────────────────────────────

  /**
   * Adds a job. At `maxSize` it waits for room (producers are admitted first come, first
   * served) or, with `onFull: 'reject'`, rejects with {@link QueueFullError}. A dedupe `id`
   * that is still in the queue returns the job already there.
   */
  add(data: T, options?: AddOptions): Promise<Job<T>> {
    try {
      if (options !== undefined) checkAddOptions(options);
      this.assertOpen();
    } catch (error) {
      return Promise.reject(error);
    }
    if (options?.id !== undefined) {
      const existing = this.byDedupeId.get(options.id);
      if (existing !== undefined) return Promise.resolve(existing);
    }
    if (this.producers.length > 0 || this.isFull()) {
      if (this.opts.onFull === 'reject') return Promise.reject(this.fullError());
      return this.waitForRoom(data, options);
    }
    return this.insert(data, options);
  }

  /** Like {@link Queue.add}, but never waits: rejects with {@link QueueFullError} at `maxSize`. */
  tryAdd(data: T, options?: AddOptions): Promise<Job<T>> {
    try {
      if (options !== undefined) checkAddOptions(options);
      this.assertOpen();
    } catch (error) {
      return Promise.reject(error);
    }
    if (this.producers.length > 0 || this.isFull()) return Promise.reject(this.fullError());
    return this.add(data, options);
  }

  /** Adds many jobs in one call, in order. Every option is checked before any job is added. */
  async addBulk(items: ReadonlyArray<{ data: T; options?: AddOptions }>): Promise<Job<T>[]> {
    if (!Array.isArray(items)) throw new InvalidOptionError(`Expected \`items\` to be an array, got \`${String(items)}\``);
    for (const item of items) if (item.options !== undefined) checkAddOptions(item.options);
    const added: Promise<Job<T>>[] = [];
    for (const item of items) added.push(this.add(item.data, item.options));
    return Promise.all(added);
  }

  // ── push consumer ─────────────────────────────────────────────────────

  /**
   * Runs `handler` for each job, up to `concurrency` at once. A handler that returns acks
   * the job; one that throws, rejects or runs past `timeout` fails the attempt, and the
   * retry policy decides what follows. One handler per queue.
   */
  process<R>(handler: Handler<T, R>, options: { concurrency?: number } = {}): void {
    if (typeof handler !== 'function') throw new InvalidOptionError(`Expected \`handler\` to be a function, got \`${String(handler)}\``);
    if (this.handler !== undefined) throw new InvalidStateError(`queue ${this.name} already has a handler`);
    this.assertOpen();
    if (options.concurrency !== undefined) this.concurrencyLimit = checkInteger('concurrency', options.concurrency, 1, Infinity);
    this.handler = handler as Handler<T>;
    this.wake();
  }

  // ── pull consumer ─────────────────────────────────────────────────────

  /**
   * Leases the next job: waits for one up to `timeout` ms. Resolves `undefined` on
   * timeout, abort, or when the queue closes.
   */
  reserve(options: ReserveOptions = {}): Promise<ReservedJob<T> | undefined> {
    const { timeout = Infinity, signal, ttr } = options;
    try {
      checkDuration('timeout', timeout);
      if (ttr !== undefined) checkDuration('ttr', ttr, 1);
    } catch (error) {
      return Promise.reject(error);
    }
    if (this.closing || signal?.aborted === true) return Promise.resolve(undefined);
    const lease = this.tryReserve({ ttr });
    if (lease !== undefined || timeout === 0) return Promise.resolve(lease);
    return new Promise((resolve) => {
      const waiter: ReserveWaiter<T> = { resolve, ttr, timer: undefined, signal, onAbort: undefined };
      const giveUp = (): void => {
        const at = this.reserveWaiters.indexOf(waiter);
        if (at >= 0) this.reserveWaiters.splice(at, 1);
        this.settleWaiter(waiter, undefined);
      };
      if (timeout !== Infinity) waiter.timer = this.opts.clock.setTimer(giveUp, timeout, true);
      if (signal !== undefined) {
        waiter.onAbort = giveUp;
        signal.addEventListener('abort', giveUp, { once: true });
      }
      this.reserveWaiters.push(waiter);
    });
  }

  /** Leases the next ready job now, or returns `undefined` (nothing ready, paused or closed). */
  tryReserve(options: { ttr?: number } = {}): ReservedJob<T> | undefined {
    if (this.paused || this.closing) return undefined;
    const job = this.takeReady();
    if (job === undefined) return undefined;
    const lease = this.lease(job, false, options.ttr);
    this.afterChange();
    return lease;
  }

  /**
   * Leases a specific job that is ready, delayed or buried, whatever the pause state
   * (beanstalkd's `reserve-job`). Throws {@link JobNotFoundError} or, for a job already
   * reserved, {@link InvalidStateError}.
   */
  reserveJob(id: number, options: { ttr?: number } = {}): ReservedJob<T> {
    this.assertOpen();
    const job = this.getJob(id);
    if (job.state === 'reserved') throw new InvalidStateError(`job ${id} is already reserved`);
    const lease = this.lease(job, false, options.ttr);
    this.afterChange();
    return lease;
  }

  /** Reserved jobs, one at a time, until the signal aborts or the queue closes. Ack each. */
  async *jobs(options: { signal?: AbortSignal } = {}): AsyncGenerator<ReservedJob<T>, void, undefined> {
    for (;;) {
      const lease = await this.reserve({ signal: options.signal });
      if (lease === undefined) return;
      yield lease;
    }
  }

  // ── inspection and management ─────────────────────────────────────────

  /** The job with this id, in any state, or `undefined`. */
  peek(id: number): Job<T> | undefined {
    return this.jobsById.get(id);
  }
  /** The job `reserve()` would get next. */
  peekReady(): Job<T> | undefined {
    return this.ready.peek();
  }
  /** The delayed job due soonest. */
  peekDelayed(): Job<T> | undefined {
    return this.delayed.peek();
  }
  /** The oldest dead letter. */
  peekBuried(): Job<T> | undefined {
    return this.buried.values().next().value;
  }

  /** Deletes a ready, delayed or buried job. `false` if absent or reserved. */
  remove(id: number): boolean {
    const job = this.jobsById.get(id);
    if (job === undefined || job.state === 'reserved') return false;
    this.background(this.transition(job, 'remove'));
    this.afterChange();
    return true;
  }

  /**
   * Moves up to `bound` jobs to ready: buried ones (oldest first) if there are any, else
   * delayed ones (soonest first). Returns how many.
   */
  kick(bound: number): number {
    checkInteger('bound', bound, 0, Infinity);
    let kicked = 0;
    if (this.buried.size > 0) {
      const batch: JobRecord<T>[] = [];
      for (const job of this.buried.values()) {
        if (batch.length >= bound) break;
        batch.push(job);
      }
      for (const job of batch) this.kickRecord(job);
      kicked = batch.length;
    } else {
      for (let job = this.delayed.peek(); job !== undefined && kicked < bound; job = this.delayed.peek()) {
        this.kickRecord(job);
        kicked++;
      }
    }
    if (kicked > 0) this.wake();
    return kicked;
  }

  /** Moves one buried or delayed job to ready. `false` if it is in another state or absent. */
  kickJob(id: number): boolean {
    const job = this.jobsById.get(id);
    if (job === undefined || (job.state !== 'buried' && job.state !== 'delayed')) return false;
    this.kickRecord(job);
    this.wake();
    return true;
  }

  /** Changes a job's priority; a ready job moves to its new place. */
  changePriority(id: number, priority: number): void {
    checkPriority('priority', priority);
    const job = this.getJob(id);
    if (job.state === 'ready') {
      this.ready.delete(job);
      job.priority = priority;
      this.ready.add(job);
    } else {
      job.priority = priority;
    }
    this.background(this.record('update', job));
  }

  /** Stops handing out jobs (to `process()` handlers and to `reserve()`) until `resume()`. */
  pause(): void {
    this.paused = true;
  }

  resume(): void {
    if (!this.paused) return;
    this.paused = false;
    this.wake();
  }

  /** Resolves when nothing is ready, delayed or running (at once if that is already so). */
  onIdle(): Promise<void> {
    return this.when(() => this.isIdle());
  }
  /** Resolves when no job is ready (at once if that is already so). */
  onEmpty(): Promise<void> {
    return this.when(() => this.ready.size === 0);
  }
  /** Resolves when fewer than `limit` jobs wait (ready plus delayed). */
  onSizeLessThan(limit: number): Promise<void> {
    checkInteger('limit', limit, 1, Infinity);
    return this.when(() => this.size < limit);
  }

  stats(): QueueStats {
    return {
      name: this.name,
      ready: this.ready.size,
      urgent: this.ready.urgent,
      delayed: this.delayed.size,
      reserved: this.reservedCount,
      buried: this.buried.size,
      total: this.jobsById.size,
      waitingProducers: this.producers.length,
      waitingConsumers: this.reserveWaiters.length,
      added: this.added,
      completed: this.completed,
      failed: this.failedAttempts,
      retried: this.retried,
      dead: this.dead,
      leaseTimeouts: this.leaseTimeouts,
      isPaused: this.paused,
      concurrency: this.concurrencyLimit,
      waitTime: this.waitTimes.percentiles(),
      runTime: this.runTimes.percentiles(),
    };
  }

  /**
   * Stops intake (`add` rejects with {@link QueueClosedError}, waiting producers too, and
   * waiting `reserve()` calls resolve `undefined`), lets running jobs finish for up to
   * `timeout` ms, gives back the rest, clears every timer and closes the handler and the
   * store. Idempotent: every call returns the same promise.
   */
  close(options: CloseOptions = {}): Promise<void> {
    if (this.closePromise !== undefined) return this.closePromise;
    const timeout = checkDuration('timeout', options.timeout ?? 10_000);
    this.closing = true;
    for (const producer of this.producers.splice(0)) producer.reject(new QueueClosedError(`queue ${this.name} closed`));
    for (const waiter of this.reserveWaiters.splice(0)) this.settleWaiter(waiter, undefined);
    this.closePromise = this.shutDown(timeout);
    return this.closePromise;
  }

  /**
   * Re-creates stored jobs with their ids (the journal's replay). A job stored as reserved
   * lost its lease with the process: that counts as an attempt, and it comes back ready, or
   * buried as `'lease-expired'` if that was its last.
   * @internal
   */
  restore(snapshots: Iterable<JobSnapshot<T>>): void {
    for (const snapshot of snapshots) {
      const job = JobRecord.fromSnapshot(snapshot, this.name);
      reserveIdsThrough(job.id);
      const state = job.state;
      job.state = 'ready';
      job.dueAt = Infinity;
      this.jobsById.set(job.id, job);
      if (job.dedupeId !== undefined) this.byDedupeId.set(job.dedupeId, job);
      if (state === 'delayed') {
        job.state = 'delayed';
        job.dueAt = snapshot.dueAt;
        this.delayed.add(job);
      } else if (state === 'buried') {
        job.state = 'buried';
        this.buried.set(job.id, job);
      } else if (state === 'reserved') {
        job.more.timeouts++;
        if (job.attemptsMade >= job.maxAttempts) {
          job.more.deadReason = 'lease-expired';
          job.state = 'buried';
          this.buried.set(job.id, job);
        } else {
          this.ready.add(job);
        }
        this.background(this.record('update', job));
      } else {
        this.ready.add(job);
      }
    }
    this.wake();
  }

  // ── internals: admission ──────────────────────────────────────────────

  private assertOpen(): void {
    if (this.closing) throw new QueueClosedError(`queue ${this.name} is closed`);
    if (this.failure !== undefined) {
      throw new StoreFailedError(`queue ${this.name} refuses new jobs: its store failed (${this.failure.message})`, { cause: this.failure });
    }
  }

  private isFull(): boolean {
    return this.jobsById.size - this.buried.size >= this.opts.maxSize;
  }

  private fullError(): QueueFullError {
    return new QueueFullError(`queue ${this.name} is full (maxSize ${this.opts.maxSize})`);
  }

  private waitForRoom(data: T, options: AddOptions | undefined): Promise<Job<T>> {
    return new Promise((resolve, reject) => {
      this.producers.push({
        admit: () => {
          if (options?.id !== undefined) {
            const existing = this.byDedupeId.get(options.id);
            if (existing !== undefined) return resolve(existing);
          }
          this.insert(data, options).then(resolve, reject);
        },
        reject,
      });
    });
  }

  private admitProducers(): void {
    while (this.producers.length > 0 && !this.isFull() && !this.closing) (this.producers.shift() as Producer).admit();
  }

  /** The queue's shared job settings, or a job's own when `add` overrides any. */
  private configFor(options: AddOptions): JobConfig {
    const { attempts, ttr, timeout, ttl } = options;
    if (attempts === undefined && ttr === undefined && timeout === undefined && ttl === undefined) return this.jobConfig;
    const shared = this.jobConfig;
    return {
      queueName: shared.queueName,
      epoch: shared.epoch,
      maxAttempts: attempts ?? shared.maxAttempts,
      ttr: ttr ?? shared.ttr,
      timeout: timeout ?? shared.timeout,
      ttl: ttl ?? shared.ttl,
    };
  }

  private insert(data: T, options: AddOptions | undefined): Promise<Job<T>> {
    const now = this.opts.clock.now();
    let job: JobRecord<T>;
    let delay = 0;
    if (options === undefined) {
      job = new JobRecord(nextJobId(), data, this.jobConfig, DEFAULTS.priority, now);
    } else {
      job = new JobRecord(nextJobId(), data, this.configFor(options), options.priority ?? DEFAULTS.priority, now);
      delay = options.delay ?? 0;
      if (delay > 0) job.more.delay = delay;
      if (options.id !== undefined) {
        job.more.dedupeId = options.id;
        this.byDedupeId.set(options.id, job);
      }
    }
    this.jobsById.set(job.id, job);
    this.added++;
    let stored: void | Promise<void>;
    if (delay > 0) {
      job.dueAt = now + delay;
      stored = this.transitionNew(job, 'delay');
    } else {
      stored = this.transitionNew(job, 'ready');
    }
    this.emit('added', job);
    this.wake();
    if (stored === undefined) return Promise.resolve(job);
    return stored.then(
      () => job,
      (error: unknown) => {
        // Never acknowledged: take the job back out unless a consumer already has it.
        if (job.state !== 'reserved' && this.jobsById.get(job.id) === job) this.dropSilently(job);
        throw this.storeFailed(error);
      },
    );
  }

  // ── internals: the one place state changes ────────────────────────────

  /** Places a new job (its `dueAt` already set when delayed) and records it (`put`). */
  private transitionNew(job: JobRecord<T>, event: 'ready' | 'delay'): void | Promise<void> {
    this.enter(job, nextState('new', event) as JobState);
    return this.record('put', job);
  }

  /**
   * Every change of a live job passes here: checks the lifecycle table, takes the job out
   * of its current structure, puts it in the next (due at `dueAt` when delayed or
   * reserved), and records the change in the store.
   */
  private transition(job: JobRecord<T>, event: JobEvent, dueAt = Infinity): void | Promise<void> {
    const to = nextState(job.state, event);
    this.leave(job);
    if (to === 'done') {
      this.jobsById.delete(job.id);
      if (job.dedupeId !== undefined && this.byDedupeId.get(job.dedupeId) === job) this.byDedupeId.delete(job.dedupeId);
      return this.record('delete', job);
    }
    job.dueAt = dueAt;
    this.enter(job, to);
    return this.record('update', job);
  }

  private leave(job: JobRecord<T>): void {
    switch (job.state) {
      case 'ready':
        this.ready.delete(job);
        break;
      case 'delayed':
        this.delayed.delete(job);
        break;
      case 'reserved': {
        this.leases.delete(job);
        const lease = job.current as ReservedJob<T> | undefined;
        job.current = undefined;
        this.reservedCount--;
        if (lease !== undefined) {
          this.freeSlot(lease);
          lease.abort(() => new LeaseExpiredError(`job ${job.id}: the lease has ended`));
        }
        break;
      }
      case 'buried':
        this.buried.delete(job.id);
        break;
    }
    job.dueAt = Infinity;
  }

  private enter(job: JobRecord<T>, to: JobState): void {
    job.state = to;
    switch (to) {
      case 'ready':
        this.ready.add(job);
        this.emit('ready', job);
        break;
      case 'delayed':
        this.delayed.add(job);
        break;
      case 'reserved':
        if (job.dueAt !== Infinity) this.leases.add(job);
        break;
      case 'buried':
        this.buried.set(job.id, job);
        break;
    }
  }

  private record(type: ChangeType, job: JobRecord<T>): void | Promise<void> {
    const store = this.opts.store;
    if (store === undefined) return;
    try {
      return store.append({ type, job });
    } catch (error) {
      return Promise.reject(error);
    }
  }

  /** Runs a lease operation: refuses a stale lease, turns the store's answer into the result. */
  private guarded(lease: ReservedJob<T>, operation: () => void | Promise<void>): Promise<void> {
    let stored: void | Promise<void>;
    try {
      this.check(lease);
      stored = operation();
    } catch (error) {
      return Promise.reject(error);
    }
    this.wake();
    return stored === undefined ? resolvedVoid : stored.then(undefined, (error: unknown) => Promise.reject(this.storeFailed(error)));
  }

  /** For changes nobody awaits: a store failure still fails the queue closed, and is reported. */
  private background(stored: void | Promise<void>): void {
    if (stored !== undefined) stored.then(undefined, (error: unknown) => this.report(this.storeFailed(error)));
  }

  private storeFailed(error: unknown): StoreFailedError {
    const cause = toError(error);
    this.failure ??= cause;
    return new StoreFailedError(`queue ${this.name}: the store failed (${cause.message})`, { cause });
  }

  /** Removes a job that was never acknowledged, without recording anything. */
  private dropSilently(job: JobRecord<T>): void {
    this.leave(job);
    this.jobsById.delete(job.id);
    if (job.dedupeId !== undefined && this.byDedupeId.get(job.dedupeId) === job) this.byDedupeId.delete(job.dedupeId);
    this.afterChange();
  }

  // ── internals: dispatch ────────────────────────────────────────────────

  /** Hands ready jobs to waiting `reserve()` calls first, then to free handler slots. */
  private wake(): void {
    if (this.dispatching) return;
    this.dispatching = true;
    try {
      while (!this.paused && !this.closing && this.ready.size > 0) {
        if (this.reserveWaiters.length > 0) {
          const job = this.takeReady();
          if (job === undefined) break;
          this.settleWaiter(this.reserveWaiters.shift() as ReserveWaiter<T>, this.lease(job, false, undefined));
        } else if (this.handler !== undefined && this.running < this.concurrencyLimit) {
          this.startNext();
        } else {
          break;
        }
      }
    } finally {
      this.dispatching = false;
    }
    this.afterChange();
  }

  /** The next ready job; jobs past their `ttl` are buried as `'expired'` on the way. */
  private takeReady(): JobRecord<T> | undefined {
    for (;;) {
      const job = this.ready.peek();
      if (job === undefined) return undefined;
      if (job.ttl !== Infinity && job.processedOn === undefined && this.opts.clock.now() - job.createdOn - job.delay > job.ttl) {
        this.background(this.bury(job, 'expired'));
        continue;
      }
      return job;
    }
  }

  /** Reserves a job: an attempt starts, bounded by the push timeout or the pull lease. */
  private lease(job: JobRecord<T>, push: boolean, ttr: number | undefined): ReservedJob<T> {
    const now = this.opts.clock.now();
    if (job.processedOn === undefined) this.waitTimes.record(now - job.createdOn - job.delay);
    job.attemptsMade++;
    job.processedOn = now;
    const length = push ? job.timeout : ttr ?? job.ttr;
    const stored = this.transition(job, 'reserve', length === Infinity ? Infinity : now + length);
    const lease = new ReservedJob(job, this.host, push);
    job.current = lease;
    this.reservedCount++;
    this.background(stored);
    this.emit('active', job);
    return lease;
  }

  private startNext(): void {
    const job = this.takeReady();
    if (job === undefined) return;
    const lease = this.lease(job, true, undefined);
    const slot = this.idleSlots.pop() ?? this.newSlot();
    slot.lease = lease;
    lease.slot = slot;
    this.running++;
    let result: unknown;
    try {
      result = (this.handler as Handler<T>)(lease, lease);
    } catch (error) {
      slot.onRejected(error);
      return;
    }
    if (isPromiseLike(result)) result.then(slot.onFulfilled, slot.onRejected);
    else slot.onFulfilled(result);
  }

  private newSlot(): Slot<T> {
    // Callbacks are bound once per slot, not once per job.
    const slot: Slot<T> = {
      lease: undefined,
      onFulfilled: (value) => this.handlerSettled(slot, true, value),
      onRejected: (error) => this.handlerSettled(slot, false, error),
    };
    return slot;
  }

  private handlerSettled(slot: Slot<T>, ok: boolean, value: unknown): void {
    const lease = slot.lease;
    // The attempt already ended without the handler (timeout, explicit settle, close): the
    // slot was freed and abandoned then, and this late result means nothing.
    if (lease === undefined) return;
    this.settlingSlot = slot;
    try {
      if (ok) this.background(this.complete(lease, value));
      else this.background(this.attemptFailed(lease.record, toError(value), 'failed'));
    } finally {
      this.settlingSlot = undefined;
    }
    this.wake();
  }

  /** Ends the handler slot of a push attempt whose lease is over. */
  private freeSlot(lease: ReservedJob<T>): void {
    const slot = lease.slot as Slot<T> | undefined;
    if (slot === undefined || slot.lease !== lease) return;
    lease.slot = undefined;
    this.running--;
    if (this.settlingSlot === slot) {
      // The handler itself settled: its slot can run the next job.
      slot.lease = undefined;
      this.idleSlots.push(slot);
    } else {
      // Still running (timed out, or settled from elsewhere): abandon the slot, so that its
      // late result cannot be taken for a later job's.
      slot.lease = undefined;
    }
  }
  private settlingSlot: Slot<T> | undefined = undefined;

  // ── internals: settling attempts ──────────────────────────────────────

  private check(lease: ReservedJob<T>): void {
    if (!lease.isCurrent) throw new LeaseExpiredError(`job ${lease.id}: the lease has ended (expired, settled or given back)`);
  }

  private complete(lease: ReservedJob<T>, result: unknown): void | Promise<void> {
    const job = lease.record;
    const now = this.opts.clock.now();
    job.finishedOn = now;
    this.runTimes.record(now - (job.processedOn as number));
    const stored = this.transition(job, 'ack');
    this.completed++;
    this.emit('completed', job, result);
    return stored;
  }

  private giveBack(job: JobRecord<T>, options: ReleaseOptions | undefined): void | Promise<void> {
    if (options?.priority !== undefined) job.priority = options.priority;
    if (options?.countAttempt === false) {
      job.attemptsMade--;
      job.more.uncounted++;
    } else {
      job.more.releases++;
      if (job.attemptsMade >= job.maxAttempts) return this.bury(job, 'released');
    }
    return this.putBack(job, options?.delay ?? 0);
  }

  /** A lease or a push timeout ran out. */
  private leaseEnded(job: JobRecord<T>): void {
    const lease = job.current as ReservedJob<T>;
    let error: Error;
    if (lease.push) {
      error = new JobTimeoutError(`job ${job.id} timed out after ${job.timeout} ms (attempt ${job.attemptsMade})`);
    } else {
      error = new LeaseExpiredError(`job ${job.id}: lease of ${job.ttr} ms expired (attempt ${job.attemptsMade})`);
      job.more.timeouts++;
      this.leaseTimeouts++;
    }
    lease.abort(error);
    this.background(this.attemptFailed(job, error, lease.push ? 'timeout' : 'lease-expired'));
    this.wake();
  }

  // ── internals: retry and dead letters ─────────────────────────────────

  private noteError(job: JobRecord<T>, error: { name: string; message: string; stack?: string; code?: unknown }): void {
    (job.more.errorList ??= []).push({
      attempt: job.attemptsMade,
      name: error.name,
      message: error.message,
      ...(error.stack === undefined ? {} : { stack: error.stack }),
      ...(typeof error.code === 'string' ? { code: error.code } : {}),
      at: this.opts.clock.now(),
    });
  }

  /** One failed attempt: record it, then retry (maybe after a backoff) or bury. */
  private attemptFailed(job: JobRecord<T>, error: Error, kind: 'failed' | 'timeout' | 'lease-expired'): void | Promise<void> {
    this.noteError(job, error);
    this.failedAttempts++;
    this.emit('failed', job, error);
    let retryable = !(error instanceof UnrecoverableError);
    if (retryable && this.opts.retryIf !== undefined) {
      try {
        retryable = this.opts.retryIf(error, job);
      } catch (thrown) {
        this.report(toError(thrown));
        retryable = false;
      }
    }
    if (!retryable) return this.bury(job, 'unrecoverable');
    if (job.attemptsMade >= job.maxAttempts) return this.bury(job, kind);
    const delay = nextDelay(job.attemptsMade, this.opts.backoff, error, this.opts.random);
    this.retried++;
    const stored = this.putBack(job, delay);
    this.emit('retrying', job, error, delay);
    return stored;
  }

  private putBack(job: JobRecord<T>, delay: number): void | Promise<void> {
    if (delay <= 0) return this.transition(job, 'release');
    job.more.delay = delay;
    return this.transition(job, 'delay', this.opts.clock.now() + delay);
  }

  private bury(job: JobRecord<T>, reason: DeadReason): void | Promise<void> {
    job.more.deadReason = reason;
    job.finishedOn = this.opts.clock.now();
    job.more.buries++;
    let stored = this.transition(job, 'bury');
    this.dead++;
    this.emit('dead', job, reason);
    if (this.opts.onDead !== undefined) {
      try {
        this.opts.onDead(job);
      } catch (error) {
        this.report(toError(error));
      }
    }
    const target = this.opts.deadLetterQueue;
    if (target !== undefined && reason !== 'manual') {
      stored = this.transition(job, 'remove') ?? stored;
      target.add(job.data, { priority: job.priority }).catch((error: unknown) => this.report(toError(error)));
    }
    return stored;
  }

  private kickRecord(job: JobRecord<T>): void {
    if (job.state === 'buried') {
      // A redrive gives the job a fresh attempt budget, as SQS redrive and BullMQ retry do.
      job.more.uncounted += job.attemptsMade;
      job.attemptsMade = 0;
      job.more.deadReason = undefined;
      job.finishedOn = undefined;
    }
    job.more.kicks++;
    this.background(this.transition(job, 'kick'));
  }

  private becomeDue(job: JobRecord<T>): void {
    this.background(this.transition(job, 'ready'));
    this.wake();
  }

  // ── internals: waiting ────────────────────────────────────────────────

  private settleWaiter(waiter: ReserveWaiter<T>, lease: ReservedJob<T> | undefined): void {
    if (waiter.timer !== undefined) this.opts.clock.clearTimer(waiter.timer);
    if (waiter.onAbort !== undefined) waiter.signal?.removeEventListener('abort', waiter.onAbort);
    waiter.resolve(lease);
  }

  private isIdle(): boolean {
    return this.ready.size === 0 && this.delayed.size === 0 && this.reservedCount === 0;
  }

  private when(test: () => boolean): Promise<void> {
    if (test()) return resolvedVoid;
    return new Promise((resolve) => {
      this.conditions.push({ test, resolve });
      this.afterChange();
    });
  }

  /** Re-checks what producers and waiters wait for, and whether the queue just drained. */
  private afterChange(): void {
    if (this.producers.length > 0) this.admitProducers();
    if (this.conditions.length > 0) {
      const waiting = this.conditions;
      this.conditions = [];
      for (const condition of waiting) {
        if (condition.test()) condition.resolve();
        else this.conditions.push(condition);
      }
    }
    // Timers are unref'd, except while somebody awaits what only they can bring.
    const awaited = this.conditions.length > 0;
    this.delayed.setKeepAlive(awaited);
    this.leases.setKeepAlive(awaited);
    const idle = this.isIdle();
    if (idle && this.busy) {
      this.busy = false;
      this.emit('drained');
    } else if (!idle) {
      this.busy = true;
    }
  }

  private report(error: Error): void {
    // A bare EventEmitter throws on an unheard 'error'; a warning keeps it visible without a crash.
    if (this.listenerCount('error') > 0) this.emit('error', error);
    else process.emitWarning(error);
  }

  private getJob(id: number): JobRecord<T> {
    const job = this.jobsById.get(id);
    if (job === undefined) throw new JobNotFoundError(`no job ${id} in queue ${this.name}`);
    return job;
  }

  private async shutDown(timeout: number): Promise<void> {
    this.paused = true;
    if (this.reservedCount > 0 && timeout > 0) {
      const clock = this.opts.clock;
      await new Promise<void>((resolve) => {
        const condition: Condition = {
          test: () => this.reservedCount === 0,
          resolve: () => {
            clock.clearTimer(timer);
            resolve();
          },
        };
        const timer = clock.setTimer(() => {
          this.conditions = this.conditions.filter((c) => c !== condition);
          resolve();
        }, timeout);
        this.conditions.push(condition);
      });
    }
    const leases: ReservedJob<T>[] = [];
    for (const job of this.jobsById.values()) if (job.state === 'reserved') leases.push(job.current as ReservedJob<T>);
    for (const lease of leases) {
      lease.abort(new QueueClosedError(`queue ${this.name} closed`));
      this.background(this.giveBack(lease.record, { countAttempt: false }));
    }
    this.afterChange();
    this.delayed.stop();
    this.leases.stop();
    const handler = this.handler as Partial<ClosableHandler<T>> | undefined;
    if (handler !== undefined && typeof handler.close === 'function') await handler.close();
    await this.opts.store?.close();
  }
}
