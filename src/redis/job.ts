import type { Codec } from '../codec.js';
import type { JobReleaseOptions, LeasedJob } from '../contract.js';
import { LeaseExpiredError } from '../errors.js';

/** The queue's side of a lease. @internal */
export interface RedisLeaseHost<T> {
  readonly codec: Codec<T>;
  ack(job: RedisJob<T>, result: unknown): Promise<void>;
  release(job: RedisJob<T>, options: RedisReleaseOptions | undefined): Promise<void>;
  fail(job: RedisJob<T>, error: unknown): Promise<void>;
  bury(job: RedisJob<T>, reason: string | undefined, priority: number | undefined): Promise<void>;
  touch(job: RedisJob<T>): Promise<void>;
  progress(job: RedisJob<T>, value: unknown): void;
}

/** Options of {@link RedisJob.release}. */
export interface RedisReleaseOptions extends JobReleaseOptions {
  /**
   * Whether this delivery used one of the job's attempts. `false` gives it back, as when
   * a consumer shuts down under a running job. @defaultValue true
   */
  countAttempt?: boolean;
}

/**
 * One delivery of a job from Redis (a lease, fenced by a token): what `reserve()`
 * returns, what `jobs()` yields and what a `process()` handler gets. Settling it ends
 * the lease; a settle or touch after the lease ended (settled, or ran out and was given
 * to another worker) rejects with {@link LeaseExpiredError} and changes nothing.
 * @typeParam T - the payload type
 */
export class RedisJob<T> implements LeasedJob<T> {
  /** @internal a `process()` attempt (its lease is renewed while the handler runs) */
  push = false;
  /** @internal */ settled = false;
  /** @internal when the lease ends, by this process's clock (renewals move it) */ deadline: number;
  private value: T | undefined = undefined;
  private decoded = false;
  private controller: AbortController | undefined = undefined;

  /** @internal */
  constructor(
    private readonly host: RedisLeaseHost<T>,
    /** The job's id in its queue. */ readonly id: number,
    /** @internal the fencing token: the job's reservation count when this lease began */ readonly token: number,
    /** Attempts so far, this one included. */ readonly attemptsMade: number,
    readonly priority: number,
    /** The lease's length in ms: `touch()` renews it for this long. */ readonly ttr: number,
    private readonly body: Buffer,
    receivedAt: number,
  ) {
    this.deadline = receivedAt + ttr;
  }

  /** The payload, decoded on first read (a payload the codec rejects fails the attempt there). */
  get data(): T {
    if (!this.decoded) {
      this.value = this.host.codec.decode(this.body);
      this.decoded = true;
    }
    return this.value as T;
  }

  /** Whether this lease still holds the job, as far as this process knows (Redis decides). */
  get isCurrent(): boolean {
    return !this.settled && Date.now() < this.deadline;
  }

  /** Aborts when the lease is lost (ran out, or renewal found it gone), the attempt times out, or the queue closes. */
  get signal(): AbortSignal {
    if (this.controller === undefined) {
      this.controller = new AbortController();
      if (!this.isCurrent) this.controller.abort(new LeaseExpiredError(`job ${this.id}: the lease has ended`));
    }
    return this.controller.signal;
  }

  /** Completes the job: it is deleted from Redis. */
  ack(result?: unknown): Promise<void> {
    return this.host.ack(this, result);
  }
  /** Puts the job back, ready now or after `delay`. */
  release(options?: RedisReleaseOptions): Promise<void> {
    return this.host.release(this, options);
  }
  /** One failed attempt: retried after the queue's backoff, or dead-lettered once the attempts are spent. */
  fail(error: unknown): Promise<void> {
    return this.host.fail(this, error);
  }
  /** Moves the job to the dead letters (`'manual'`), noting why. */
  bury(reason?: string, options?: { priority?: number }): Promise<void> {
    return this.host.bury(this, reason, options?.priority);
  }
  /** Renews the lease: it now ends `ttr` ms from now. */
  touch(): Promise<void> {
    return this.host.touch(this);
  }
  /** Reports progress: the queue's `'progress'` event in this process. */
  progress(value: unknown): void {
    this.host.progress(this, value);
  }

  /** @internal the lease was lost or the attempt ended under the handler */
  abort(reason: Error): void {
    if (this.controller !== undefined && !this.controller.signal.aborted) this.controller.abort(reason);
  }
}
