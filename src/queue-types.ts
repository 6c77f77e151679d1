import type { Percentiles } from './latency.js';
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
