import type { Attempts } from './attempts.js';
import type { Clock } from './clock.js';
import { type Handler, HandlerSlots } from './handler-slots.js';
import type { JobRecord } from './job.js';
import type { JobTable } from './job-table.js';
import type { ReserveWaiters } from './reserve-waiters.js';
import type { ReservedJob } from './reserved-job.js';

/** What the dispatch needs of its queue. @internal */
export interface DispatchHost<T> {
  /** A job found past its `ttl` on the way out: it is buried, not started. */
  expired(job: JobRecord<T>): void;
  /** For changes nobody awaits: a store failure fails the queue closed and is reported. */
  background(stored: Promise<void>): void;
  /** Runs after every dispatch: re-checks what producers and waiters wait for. */
  afterChange(): void;
}

/**
 * Hands ready jobs out: to waiting `reserve()` calls first, then to the free slots of the
 * `process()` handler. Groups and rate limits decide, through the job table, which job may
 * start; the clock is read once per dispatch.
 * @internal
 */
export class Dispatch<T> {
  /** The `process()` handler, once there is one. */
  handler: Handler<T> | undefined = undefined;
  /** Handlers that may run at once. */
  concurrency: number;
  /** Whether jobs may be handed out now: the queue clears it while paused or closing. */
  handsOut = true;
  readonly slots = new HandlerSlots<T>((lease, ok, value) => this.handlerSettled(lease, ok, value));
  private dispatching = false;
  /** The clock as the running `wake` read it (see `dispatchNow`). */
  private dispatchTime: number | undefined = undefined;

  constructor(
    private readonly table: JobTable<T>,
    private readonly waiters: ReserveWaiters<ReservedJob<T>>,
    private readonly clock: Clock,
    private readonly attempts: Attempts<T>,
    concurrency: number,
    private readonly host: DispatchHost<T>,
  ) {
    this.concurrency = concurrency;
  }

  /**
   * Hands out what can be handed out now. `now`: the caller's clock reading, if it has one
   * (a job that just settled).
   */
  wake(now?: number): void {
    if (this.dispatching) return;
    this.dispatching = true;
    this.dispatchTime = now;
    try {
      while (this.handsOut && this.table.readyCount > 0) {
        if (this.waiters.size > 0) {
          if (!this.waiters.serveNext(this.takeLease)) break;
        } else if (this.handler !== undefined && this.slots.running < this.concurrency) {
          // None may start (its group's turn, slot or a limit holds every ready job back).
          if (!this.startNext()) break;
        } else {
          break;
        }
      }
    } finally {
      this.dispatching = false;
      this.dispatchTime = undefined;
    }
    this.host.afterChange();
  }

  /** Whether `wake` could hand out a job now (a waiting `reserve()` or a free handler slot). */
  canDispatch(): boolean {
    if (this.dispatching || !this.handsOut) return false;
    return this.waiters.size > 0 || (this.handler !== undefined && this.slots.running < this.concurrency);
  }

  /** Runs `change` with dispatch held, then dispatches once: many changes, one dispatch. */
  hold<R>(change: () => R): R {
    const nested = this.dispatching;
    this.dispatching = true;
    try {
      return change();
    } finally {
      this.dispatching = nested;
      if (!nested) this.wake();
    }
  }

  /** Leases the next ready job for a pull consumer now, or returns `undefined`. */
  takeNow(ttr: number | undefined): ReservedJob<T> | undefined {
    return this.pullLease(ttr, this.clock.now());
  }

  /** The clock, read once per `wake`: every job one dispatch hands out starts at the same time. */
  private dispatchNow(): number {
    return (this.dispatchTime ??= this.clock.now());
  }

  /** Leases the next ready job to a waiting `reserve()`, for the ttr it asked for. */
  private readonly takeLease = (ttr: number | undefined): ReservedJob<T> | undefined => this.pullLease(ttr, this.dispatchNow());

  private pullLease(ttr: number | undefined, now: number): ReservedJob<T> | undefined {
    const job = this.takeReady(now);
    return job === undefined ? undefined : this.attempts.lease(job, false, ttr, now);
  }

  /** The next ready job; jobs past their `ttl` are buried as `'expired'` on the way. */
  private takeReady(now: number): JobRecord<T> | undefined {
    const { ready, groups } = this.table;
    // Groups or a rate limit in play: the dispatch decides, at this time.
    const simple = groups.simple;
    for (;;) {
      // Taken out here, while the ready set knows where it is; the move that follows (to
      // reserved, or to the dead letters) then finds it gone.
      const job = simple ? ready.shift() : groups.take(now);
      if (job === undefined) return undefined;
      if (job.ttl !== Infinity && job.processedOn === undefined && now - job.createdOn - job.delay > job.ttl) {
        this.host.expired(job);
        continue;
      }
      if (!simple) groups.started(job, now);
      return job;
    }
  }

  /** Starts a handler on the next job; false when none may start. */
  private startNext(): boolean {
    const now = this.dispatchNow();
    const job = this.takeReady(now);
    if (job === undefined) return false;
    this.slots.start(this.handler as Handler<T>, this.attempts.lease(job, true, undefined, now));
    return true;
  }

  /** A handler returned or threw. One that settled its job itself (`job.ack()`) held its slot until now. */
  private handlerSettled(lease: ReservedJob<T>, ok: boolean, value: unknown): void {
    const now = this.clock.now();
    if (lease.isCurrent) {
      const stored = ok ? this.attempts.complete(lease, value, now) : this.attempts.failed(lease, value);
      if (stored !== undefined) this.host.background(stored);
    }
    this.wake(now);
  }
}
