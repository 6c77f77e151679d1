import type { RateLimitScope } from './errors.js';
import { LeaseExpiredError } from './errors.js';
import type { Job, JobRecord } from './job.js';

/** What a handler gets besides its job: the attempt's abort signal and a progress channel. */
export interface JobContext {
  /** Aborts when the attempt times out, its lease runs out, or the queue closes. */
  readonly signal: AbortSignal;
  /** Reports progress: emitted as the queue's `'progress'` event. */
  progress(value: unknown): void;
  /**
   * An upstream said "too many requests": gives the job back without using an attempt,
   * and its group (or, without a group or with `scope: 'queue'`, the whole queue) starts
   * nothing for `ms`. Return from the handler right after: the lease has ended.
   */
  rateLimit(ms: number, options?: { scope?: RateLimitScope }): Promise<void>;
}

/** Options of {@link ReservedJob.release}. */
export interface ReleaseOptions {
  /** Ms before the job is ready again. @defaultValue 0 */
  delay?: number;
  /** New priority. @defaultValue unchanged */
  priority?: number;
  /**
   * Whether this delivery used one of the job's attempts. `false` gives it back, as when a
   * beanstalkd client disconnects or the queue closes under a running job.
   * @defaultValue true
   */
  countAttempt?: boolean;
}

/** The queue's side of a lease. @internal */
export interface LeaseHost<T> {
  ack(lease: ReservedJob<T>, result: unknown): Promise<void>;
  release(lease: ReservedJob<T>, options: ReleaseOptions | undefined): Promise<void>;
  fail(lease: ReservedJob<T>, error: unknown): Promise<void>;
  bury(lease: ReservedJob<T>, reason: string | undefined, priority: number | undefined): Promise<void>;
  touch(lease: ReservedJob<T>): void;
  progress(lease: ReservedJob<T>, value: unknown): void;
  rateLimit(lease: ReservedJob<T>, ms: number, scope: RateLimitScope | undefined): Promise<void>;
}

/**
 * One delivery of a job: what `reserve()` returns, what `jobs()` yields and what a
 * `process()` handler receives. Settling it (`ack`, `release`, `fail`, `bury`) ends the
 * lease; after that, or once the lease ran out, every method refuses with
 * {@link LeaseExpiredError}, so a job is never completed twice.
 * @typeParam T - the payload type
 */
export class ReservedJob<T> implements JobContext {
  private controller: AbortController | undefined = undefined;

  /** @internal */
  constructor(
    /** @internal */ readonly record: JobRecord<T>,
    private readonly host: LeaseHost<T>,
    /** @internal A push attempt (a `process()` handler) rather than a pulled lease. */ readonly push: boolean,
    ttr: number,
  ) {
    // `undefined` for none: an `Infinity` in a field would cost a boxed number per lease.
    this.length = ttr === Infinity ? undefined : ttr;
  }

  private readonly length: number | undefined;

  /** The lease's length in ms: `touch()` renews it for this long (`Infinity` for a push job without timeout). */
  get ttr(): number {
    return this.length ?? Infinity;
  }

  /** @internal The handler slot running a push attempt. */
  slot: unknown = undefined;

  /** The job itself. */
  get job(): Job<T> {
    return this.record;
  }
  get id(): number {
    return this.record.id;
  }
  get data(): T {
    return this.record.data;
  }
  get priority(): number {
    return this.record.priority;
  }
  /** Attempts so far, this one included. */
  get attemptsMade(): number {
    return this.record.attemptsMade;
  }
  /** When the lease (or, for a push handler, its timeout) ends: ms since the epoch, or `Infinity`. */
  get deadline(): number {
    return this.isCurrent ? this.record.dueAt : -Infinity;
  }
  /** Whether this lease still holds the job. */
  get isCurrent(): boolean {
    return this.record.current === this;
  }

  get signal(): AbortSignal {
    if (this.controller === undefined) {
      // Created on first use: most handlers never look, and an AbortController per job is costly.
      this.controller = new AbortController();
      if (!this.isCurrent) this.controller.abort(new LeaseExpiredError(`job ${this.id}: the lease has ended`));
    }
    return this.controller.signal;
  }

  /** Completes the job (it leaves the queue). */
  ack(result?: unknown): Promise<void> {
    return this.host.ack(this, result);
  }
  /** Puts the job back: ready now, or delayed. */
  release(options?: ReleaseOptions): Promise<void> {
    return this.host.release(this, options);
  }
  /** Records a failed attempt; the retry policy decides between retry and dead letter. */
  fail(error: unknown): Promise<void> {
    return this.host.fail(this, error);
  }
  /** Moves the job to the dead letters (`'manual'`), optionally noting why and changing its priority. */
  bury(reason?: string, options?: { priority?: number }): Promise<void> {
    return this.host.bury(this, reason, options?.priority);
  }
  /** Renews the lease: it now ends `ttr` ms from now. */
  touch(): void {
    this.host.touch(this);
  }
  progress(value: unknown): void {
    this.host.progress(this, value);
  }
  /** Gives the job back unspent; its group (or the queue) starts nothing for `ms` (see {@link JobContext.rateLimit}). */
  rateLimit(ms: number, options?: { scope?: RateLimitScope }): Promise<void> {
    return this.host.rateLimit(this, ms, options?.scope);
  }

  /** Ends the signal of a lease that was taken from its holder (deadline, close). @internal */
  abort(reason: Error): void {
    if (this.controller !== undefined && !this.controller.signal.aborted) this.controller.abort(reason);
  }
}
