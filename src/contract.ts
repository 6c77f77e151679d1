// The queue contract: what every home of a docket queue offers (in this process, over the
// beanstalkd protocol, on Redis). Application code written against `JobQueue<T>` moves
// between homes by changing how the queue is created.
//
// Members a backend cannot offer are left out rather than faked: synchronous getters
// (`size`, `pending`, `isPaused`), `tryReserve`, `reserveJob`, `changePriority`, the
// per-job record (`Job<T>` with its counters) and listing dead letters are offered by the
// homes that can, beyond this contract. Where a member answers synchronously in one home
// and over the network in another, its result is `Awaitable`: `await` it either way.

/** A value, or a promise of it: `await` works on both. */
export type Awaitable<V> = V | Promise<V>;

/** A job as every home can show it: its id and payload. */
export interface JobView<T> {
  /** Positive integer, unique within the queue's home (process, server, Redis queue). */
  readonly id: number;
  readonly data: T;
}

/** Options of {@link JobQueue.add} every home honours. Homes offer more (dedupe ids, attempts, ttl). */
export interface JobAddOptions {
  /** Unsigned 32-bit; lower runs first. @defaultValue 1024 */
  priority?: number;
  /** Ms before the job is ready. @defaultValue 0 */
  delay?: number;
  /** Lease length of a pulled attempt, ms. @defaultValue the queue's `ttr` */
  ttr?: number;
}

/** Options of {@link LeasedJob.release}. */
export interface JobReleaseOptions {
  /** Ms before the job is ready again. @defaultValue 0 */
  delay?: number;
  /** Priority from now on. */
  priority?: number;
}

/** What a push handler gets besides its job: the attempt's abort signal and a progress channel. */
export interface LeaseContext {
  /** Aborts when the lease is lost: it ran out, its connection dropped, or the queue closed. */
  readonly signal: AbortSignal;
  /** Reports progress (the queue's `'progress'` event). */
  progress(value: unknown): void;
}

/**
 * One delivery of a job (a lease). Settling it (`ack`, `release`, `fail`, `bury`) ends
 * the lease; once it ended or ran out, every method refuses with `LeaseExpiredError`,
 * so a job is never completed twice.
 */
export interface LeasedJob<T> extends JobView<T>, LeaseContext {
  /** Whether this lease still holds the job. */
  readonly isCurrent: boolean;
  /** Completes the job: it leaves the queue. */
  ack(result?: unknown): Promise<void>;
  /** Puts the job back, ready now or after `delay`. */
  release(options?: JobReleaseOptions): Promise<void>;
  /** One failed attempt: the retry policy decides between a retry and a dead letter. */
  fail(error: unknown): Promise<void>;
  /** Moves the job to the dead letters. */
  bury(reason?: string): Promise<void>;
  /** Renews the lease for its full length from now. */
  touch(): Awaitable<void>;
}

/** A push consumer: returning acknowledges the job, throwing fails the attempt. */
export type JobHandler<T, R = unknown> = (job: LeasedJob<T>, context: LeaseContext) => R | PromiseLike<R>;

/** Options of {@link JobQueue.reserve}. */
export interface JobReserveOptions {
  /** Ms to wait for a job; then `reserve` resolves `undefined`. @defaultValue Infinity */
  timeout?: number;
  /** Stops waiting (resolving `undefined`) when aborted. */
  signal?: AbortSignal;
}

/** The counts every home reports. */
export interface JobQueueStats {
  name: string;
  ready: number;
  delayed: number;
  reserved: number;
  buried: number;
  /** Jobs added since the home started counting. */
  added: number;
}

/** Dead-letter actions every home offers. */
export interface DeadLetterActions {
  /** Puts dead letters back to work (ready), all or those with these ids. Resolves how many moved. */
  redrive(ids?: Iterable<number>): Awaitable<number>;
  /** Deletes dead letters, all or those with these ids. Resolves how many. */
  purge(ids?: Iterable<number>): Awaitable<number>;
}

/** The events every home emits, with the arguments every home can give. */
export interface JobQueueEvents<T> {
  /** A job was acknowledged. */
  completed: [job: JobView<T>, result: unknown];
  /** An attempt failed. */
  failed: [job: JobView<T>, error: Error];
  /** A handler reported progress. */
  progress: [job: JobView<T>, value: unknown];
  /** A failure with no other channel. Without a listener it becomes a process warning. */
  error: [error: Error];
}

/**
 * The queue contract, implemented by `Queue<T>` (in this process), `RemoteQueue<T>`
 * (`docket/socket`) and `RedisQueue<T>` (`docket/redis`).
 * @typeParam T - the payload type
 */
export interface JobQueue<T> {
  readonly name: string;
  /** Whether `close()` was called. */
  readonly isClosed: boolean;
  /** Handlers `process()` runs at once. */
  concurrency: number;

  /** Adds a job; resolves once the queue has it. */
  add(data: T, options?: JobAddOptions): Promise<JobView<T>>;
  /** Adds many jobs in one call; resolves in the order given. */
  addBulk(items: ReadonlyArray<{ data: T; options?: JobAddOptions }>): Promise<JobView<T>[]>;

  /** Runs `handler` for each job, up to `concurrency` at once. One handler per queue object. */
  process<R>(handler: JobHandler<T, R>, options?: { concurrency?: number }): void;
  /** Leases the next job; `undefined` on timeout, abort or close. */
  reserve(options?: JobReserveOptions): Promise<LeasedJob<T> | undefined>;
  /** Leased jobs one after another, until the signal aborts or the queue closes. */
  jobs(options?: { signal?: AbortSignal }): AsyncIterable<LeasedJob<T>>;

  /** Stops handing out jobs to every consumer of the queue until `resume()`. */
  pause(): Awaitable<void>;
  resume(): Awaitable<void>;
  /** Resolves when nothing is ready, delayed or reserved. */
  onIdle(): Promise<void>;

  stats(): Awaitable<JobQueueStats>;
  /** A job by id, in any state. */
  peek(id: number): Awaitable<JobView<T> | undefined>;
  /** The job `reserve()` would get next. */
  peekReady(): Awaitable<JobView<T> | undefined>;
  /** The delayed job due soonest. */
  peekDelayed(): Awaitable<JobView<T> | undefined>;
  /** The oldest dead letter. */
  peekBuried(): Awaitable<JobView<T> | undefined>;
  /** Moves up to `bound` jobs to ready: buried ones if any, else delayed ones. Resolves how many. */
  kick(bound: number): Awaitable<number>;
  /** Moves one buried or delayed job to ready; `false` if it is in neither state. */
  kickJob(id: number): Awaitable<boolean>;
  /** Deletes a ready, delayed or buried job; `false` if absent or reserved. */
  remove(id: number): Awaitable<boolean>;
  readonly deadLetters: DeadLetterActions;

  // One signature per event (not one generic over the map): every home's typed emitter
  // then fits, whatever its own event map adds.
  on(event: 'completed', listener: (...args: JobQueueEvents<T>['completed']) => void): this;
  on(event: 'failed', listener: (...args: JobQueueEvents<T>['failed']) => void): this;
  on(event: 'progress', listener: (...args: JobQueueEvents<T>['progress']) => void): this;
  on(event: 'error', listener: (...args: JobQueueEvents<T>['error']) => void): this;
  once(event: 'completed', listener: (...args: JobQueueEvents<T>['completed']) => void): this;
  once(event: 'failed', listener: (...args: JobQueueEvents<T>['failed']) => void): this;
  once(event: 'progress', listener: (...args: JobQueueEvents<T>['progress']) => void): this;
  once(event: 'error', listener: (...args: JobQueueEvents<T>['error']) => void): this;
  off(event: 'completed', listener: (...args: JobQueueEvents<T>['completed']) => void): this;
  off(event: 'failed', listener: (...args: JobQueueEvents<T>['failed']) => void): this;
  off(event: 'progress', listener: (...args: JobQueueEvents<T>['progress']) => void): this;
  off(event: 'error', listener: (...args: JobQueueEvents<T>['error']) => void): this;

  /** Stops intake, lets running handlers finish (up to `timeout` ms), releases the rest. */
  close(options?: { timeout?: number }): Promise<void>;
}
