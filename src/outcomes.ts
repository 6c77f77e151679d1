import { UnrecoverableError, toError } from './errors.js';
import type { Job, JobRecord } from './job.js';
import type { ReleaseOptions } from './reserved-job.js';
import { type Backoff, nextDelay } from './retry.js';
import type { DeadReason, JobEvent } from './lifecycle.js';

// What follows an attempt that did not complete: a retry (maybe after a backoff), a dead
// letter, a release, a redrive. The decisions are pure functions of the job's counters and
// the queue's policy; `Outcomes` applies them to a job through a small host.

/** How an attempt failed. */
export type FailureKind = 'failed' | 'timeout' | 'lease-expired';

/** A queue's retry policy. */
export interface RetryPolicy<T> {
  backoff: Backoff;
  retryIf: ((error: Error, job: Job<T>) => boolean) | undefined;
  random: () => number;
}

/** After a failed attempt: run again after `delay` ms, or bury for `reason`. */
export type FailureOutcome = { readonly retry: true; readonly delay: number } | { readonly retry: false; readonly reason: DeadReason };

/**
 * What follows a failed attempt. An `UnrecoverableError`, or a `retryIf` that answers no
 * (or throws: that is passed to `report`), buries the job as `'unrecoverable'`; a used-up
 * budget buries it for the kind of failure; anything else retries after the backoff.
 */
export function afterFailure<T>(job: Job<T>, error: Error, kind: FailureKind, policy: RetryPolicy<T>, report: (error: Error) => void): FailureOutcome {
  let retryable = !(error instanceof UnrecoverableError);
  if (retryable && policy.retryIf !== undefined) {
    try {
      retryable = policy.retryIf(error, job);
    } catch (thrown) {
      report(toError(thrown));
      retryable = false;
    }
  }
  if (!retryable) return { retry: false, reason: 'unrecoverable' };
  if (job.attemptsMade >= job.maxAttempts) return { retry: false, reason: kind };
  return { retry: true, delay: nextDelay(job.attemptsMade, policy.backoff, error, policy.random) };
}

/**
 * What a release does: `'refund'` gives the attempt back (`countAttempt: false`, used when
 * a connection drops or the queue closes under a job); otherwise the release used an
 * attempt, and `'bury'` when that was the last one, `'requeue'` when not.
 */
export function afterRelease(job: Job<unknown>, countAttempt: boolean): 'refund' | 'bury' | 'requeue' {
  if (!countAttempt) return 'refund';
  return job.attemptsMade >= job.maxAttempts ? 'bury' : 'requeue';
}

/** What `Outcomes` needs from its queue. */
export interface OutcomeHost<T> {
  now(): number;
  /** Moves the job through the lifecycle; returns the store's answer. */
  move(job: JobRecord<T>, event: JobEvent, dueAt?: number): void | Promise<void>;
  /** Announces an outcome (`'failed'`, `'retrying'`, `'dead'`). */
  failed(job: JobRecord<T>, error: Error): void;
  retrying(job: JobRecord<T>, error: Error, delay: number): void;
  dead(job: JobRecord<T>, reason: DeadReason): void;
  /** A failure with no other channel. */
  report(error: Error): void;
}

/** A queue's outcome settings. */
export interface OutcomeOptions<T> extends RetryPolicy<T> {
  onDead: ((job: Job<T>) => void) | undefined;
  /** Dead letters move there (as new jobs) instead of staying buried; explicit bury stays. */
  deadLetterQueue: { add(data: T, options: { priority: number }): Promise<unknown> } | undefined;
}

/** Applies the outcome decisions to jobs: records errors, moves them, announces them. */
export class Outcomes<T> {
  constructor(
    private readonly host: OutcomeHost<T>,
    private readonly options: OutcomeOptions<T>,
  ) {}

  /** One failed attempt: record it, then retry (maybe after a backoff) or bury. */
  attemptFailed(job: JobRecord<T>, error: Error, kind: FailureKind): void | Promise<void> {
    this.noteError(job, error);
    this.host.failed(job, error);
    const outcome = afterFailure(job, error, kind, this.options, (thrown) => this.host.report(thrown));
    if (!outcome.retry) return this.bury(job, outcome.reason);
    const stored = this.putBack(job, outcome.delay);
    this.host.retrying(job, error, outcome.delay);
    return stored;
  }

  /** A release (or a give-back at close): ready again, delayed, or buried if it was the last attempt. */
  giveBack(job: JobRecord<T>, options: ReleaseOptions | undefined): void | Promise<void> {
    if (options?.priority !== undefined) job.priority = options.priority;
    const outcome = afterRelease(job, options?.countAttempt !== false);
    if (outcome === 'refund') {
      job.attemptsMade--;
      job.more.uncounted++;
    } else {
      job.more.releases++;
      if (outcome === 'bury') return this.bury(job, 'released');
    }
    return this.putBack(job, options?.delay ?? 0);
  }

  /** Makes the job a dead letter, or moves it to the dead-letter queue. */
  bury(job: JobRecord<T>, reason: DeadReason): void | Promise<void> {
    job.more.deadReason = reason;
    job.finishedOn = this.host.now();
    job.more.buries++;
    let stored = this.host.move(job, 'bury');
    this.host.dead(job, reason);
    if (this.options.onDead !== undefined) {
      try {
        this.options.onDead(job);
      } catch (error) {
        this.host.report(toError(error));
      }
    }
    const target = this.options.deadLetterQueue;
    if (target !== undefined && reason !== 'manual') {
      stored = this.host.move(job, 'remove') ?? stored;
      target.add(job.data, { priority: job.priority }).catch((error: unknown) => this.host.report(toError(error)));
    }
    return stored;
  }

  /** A buried or delayed job to ready. A redrive gives a dead letter a fresh attempt budget (SQS redrive, BullMQ retry). */
  kick(job: JobRecord<T>): void | Promise<void> {
    if (job.state === 'buried') {
      job.more.uncounted += job.attemptsMade;
      job.attemptsMade = 0;
      job.more.deadReason = undefined;
      job.finishedOn = undefined;
    }
    job.more.kicks++;
    return this.host.move(job, 'kick');
  }

  /** Keeps an attempt's error on the job. */
  noteError(job: JobRecord<T>, error: { name: string; message: string; stack?: string; code?: unknown }): void {
    (job.more.errorList ??= []).push({
      attempt: job.attemptsMade,
      name: error.name,
      message: error.message,
      ...(error.stack === undefined ? {} : { stack: error.stack }),
      ...(typeof error.code === 'string' ? { code: error.code } : {}),
      at: this.host.now(),
    });
  }

  private putBack(job: JobRecord<T>, delay: number): void | Promise<void> {
    // `delay` is the last one asked for (beanstalkd's stats-job shows it).
    if (delay <= 0) {
      if (job.extra !== undefined) job.extra.delay = 0;
      return this.host.move(job, 'release');
    }
    job.more.delay = delay;
    return this.host.move(job, 'delay', this.host.now() + delay);
  }
}
