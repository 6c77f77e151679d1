import { LeaseExpiredError } from '../errors.js';
import { RedisConnectionError } from './connection.js';
import type { RedisJob } from './job.js';

/** An ack waiting for (or on) its round trip. @internal */
export interface PendingAck<T> {
  job: RedisJob<T>;
  result: unknown;
  /** Set for `job.ack()` calls; a `process()` ack reports through the queue's events instead. */
  done: ((error: Error | undefined) => void) | undefined;
}

/** Where the outcomes of `process()` acks go. @internal */
export interface AckReports<T> {
  completed(job: RedisJob<T>, result: unknown): void;
  /** A `process()` ack whose outcome is unknown (the connection dropped on the way). */
  lost(job: RedisJob<T>, error: Error): void;
  report(error: Error): void;
}

/** Answers the acks a take carried: acked, or refused because the lease was no longer current. @internal */
export function answerAcks<T>(acks: readonly PendingAck<T>[], results: readonly boolean[], to: AckReports<T>): void {
  for (let i = 0; i < acks.length; i++) {
    const { job, result, done } = acks[i] as PendingAck<T>;
    const error =
      results[i] === true
        ? undefined
        : new LeaseExpiredError(`ack job ${job.id}: the lease ran out before the ack; the job was (or will be) given to another worker`);
    if (done !== undefined) done(error);
    else if (error === undefined) to.completed(job, result);
    else to.lost(job, error);
  }
}

/** Answers the acks of a take that failed with its error (a dropped connection: outcome unknown). @internal */
export function failAcks<T>(acks: readonly PendingAck<T>[], error: Error, to: AckReports<T>): void {
  for (const { job, done } of acks) {
    if (done !== undefined) done(error);
    else if (error instanceof RedisConnectionError) to.lost(job, error);
    else to.report(error);
  }
}
