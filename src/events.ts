import type { Job } from './job.js';
import type { DeadReason } from './lifecycle.js';

/**
 * The queue's events and their arguments.
 * @typeParam T - the payload type
 */
export interface QueueEvents<T> {
  /** A job was added. */
  added: [job: Job<T>];
  /** A job became ready (added, released, due, kicked, redelivered). */
  ready: [job: Job<T>];
  /** An attempt started (pushed to a handler or reserved). */
  active: [job: Job<T>];
  /** A job was acknowledged; `result` is the handler's return value. */
  completed: [job: Job<T>, result: unknown];
  /** An attempt failed (error, timeout, lost lease). */
  failed: [job: Job<T>, error: Error];
  /** A failed job will run again after `delay` ms. */
  retrying: [job: Job<T>, error: Error, delay: number];
  /** A job was buried: a dead letter. */
  dead: [job: Job<T>, reason: DeadReason];
  /** A handler reported progress. */
  progress: [job: Job<T>, value: unknown];
  /** `pause()` stopped the hand-out of jobs. */
  paused: [];
  /** `resume()` restarted it: waiting consumers elsewhere (socket clients) may take jobs again. */
  resumed: [];
  /**
   * Ready jobs that were held back (a group's slots all held, a paused group, a rate
   * limit) may start now: waiting consumers elsewhere (socket clients) may take jobs again.
   */
  unblocked: [];
  /** Nothing is ready, delayed or running any more. */
  drained: [];
  /** A failure with no other channel (an `onDead` callback threw, a dead-letter move failed). */
  error: [error: Error];
}
