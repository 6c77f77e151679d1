import type { JobContext, ReservedJob } from './reserved-job.js';

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

/** A running push attempt. One per running handler; reused while attempts end normally. */
interface Slot<T> {
  lease: ReservedJob<T> | undefined;
  onFulfilled(value: unknown): void;
  onRejected(error: unknown): void;
}

function isPromiseLike(value: unknown): value is PromiseLike<unknown> {
  return typeof value === 'object' && value !== null && typeof (value as { then?: unknown }).then === 'function';
}

/**
 * Runs `process()` handlers and reports how each ended. Each running handler holds a slot
 * whose promise callbacks are bound once, when the slot is created, not once per job
 * (fastq's trick), and slots are reused while attempts end normally.
 */
export class HandlerSlots<T> {
  /** Handlers running now. */
  running = 0;
  private readonly idle: Slot<T>[] = [];

  constructor(private readonly settled: (lease: ReservedJob<T>, ok: boolean, value: unknown) => void) {}

  /** Calls `handler` for the lease; a throw, a rejection or a return all end in `settled`. */
  start(handler: Handler<T>, lease: ReservedJob<T>): void {
    const slot = this.idle.pop() ?? this.create();
    slot.lease = lease;
    lease.slot = slot;
    this.running++;
    let result: unknown;
    try {
      result = handler(lease, lease);
    } catch (error) {
      slot.onRejected(error);
      return;
    }
    if (isPromiseLike(result)) result.then(slot.onFulfilled, slot.onRejected);
    else slot.onFulfilled(result);
  }

  /**
   * Frees the slot of an attempt that ended while its handler still runs (a timeout, a
   * close): the next job may start, and the slot is never reused, so that the handler's
   * late result cannot be taken for a later job's.
   */
  abandon(lease: ReservedJob<T>): void {
    const slot = lease.slot as Slot<T> | undefined;
    if (slot === undefined) return;
    slot.lease = undefined;
    lease.slot = undefined;
    this.running--;
  }

  private create(): Slot<T> {
    const slot: Slot<T> = {
      lease: undefined,
      onFulfilled: (value) => this.finish(slot, true, value),
      onRejected: (error) => this.finish(slot, false, error),
    };
    return slot;
  }

  private finish(slot: Slot<T>, ok: boolean, value: unknown): void {
    const lease = slot.lease;
    // An abandoned slot: the late result means nothing.
    if (lease === undefined) return;
    slot.lease = undefined;
    lease.slot = undefined;
    this.running--;
    this.idle.push(slot);
    this.settled(lease, ok, value);
  }
}
