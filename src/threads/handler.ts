import { ThreadPool, type ModuleSpecifier } from './pool.js';
import type { ThreadsOptions } from './options.js';
import type { Untransfer } from './transfer.js';

/** The part of a reserved job the thread handler reads. */
export interface ThreadJob<T> {
  readonly data: T;
  /** Lease end (ms since epoch); `Infinity` when the attempt has no timeout. */
  readonly deadline?: number;
}

/** The part of the queue's handler context the thread handler reads. */
export interface ThreadJobContext {
  readonly signal: AbortSignal;
  progress(value: unknown): void;
}

/**
 * A `q.process()` handler backed by a {@link ThreadPool}. `q.close()` calls its `close()`.
 *
 * @typeParam T - the job data (the worker receives it unwrapped if it is a `transfer()` marker)
 * @typeParam R - the worker's result
 */
export interface ThreadsHandler<T = unknown, R = unknown> {
  (job: ThreadJob<T>, ctx: ThreadJobContext): Promise<R>;
  /**
   * Tasks the pool runs at once (`size * concurrentPerThread`): a good `concurrency` for
   * `q.process()`. Jobs beyond it wait in the pool's FIFO, and that wait counts against
   * their `timeout`.
   */
  readonly concurrency: number;
  /** The pool behind the handler, e.g. for `stats()` or `run()` outside a queue. */
  readonly pool: ThreadPool<Untransfer<T>, R>;
  /**
   * Stops the threads now. `q.close()` calls it once its own wait for running jobs is
   * over, so any task still running then belongs to a job the queue already gave back.
   */
  close(): Promise<void>;
}

/**
 * Runs a queue's jobs on worker threads: the worker module's default export
 * `(payload, ctx) => result` gets `job.data`, its result completes the job, and its
 * throw (or the thread's crash, or a hang past the job's timeout) fails the attempt
 * under the queue's retry policy.
 *
 * @typeParam T - the job data
 * @typeParam R - the worker's result
 * @param module - the worker module: `new URL('./worker.js', import.meta.url)`, an absolute
 *   path, or a package specifier. ESM and CJS both work; `.ts` works when the process runs
 *   under a TypeScript loader (`node --import tsx`), which the threads inherit.
 * @param options - see {@link ThreadsOptions}
 * @example
 * ```ts
 * const q = new Queue<string>({ timeout: 10_000 });
 * const hash = threads<string, string>(new URL('./hash.js', import.meta.url), { size: 4 });
 * q.process(hash, { concurrency: hash.concurrency });
 * ```
 */
export function threads<T = unknown, R = unknown>(module: ModuleSpecifier, options?: ThreadsOptions): ThreadsHandler<T, R> {
  const pool = new ThreadPool<Untransfer<T>, R>(module, options);
  const handler = (job: ThreadJob<T>, ctx: ThreadJobContext): Promise<R> =>
    // The job's ctx already has the shape of RunOptions (signal, progress). But a push
    // attempt's signal only aborts on its timeout or on close, and close() below stops
    // the threads anyway: without a timeout, skip the signal, which the queue would
    // otherwise build (an AbortController, and an error to end it with) for every job.
    pool.run(job.data as Untransfer<T>, job.deadline === Infinity ? new ProgressOnly(ctx) : ctx);
  return Object.assign(handler, {
    concurrency: pool.options.size * pool.options.concurrentPerThread,
    pool,
    close: (): Promise<void> => pool.destroy(),
  });
}

/** RunOptions without a signal; `progress` still reaches the job's ctx. */
class ProgressOnly {
  readonly #ctx: ThreadJobContext;
  constructor(ctx: ThreadJobContext) {
    this.#ctx = ctx;
  }
  progress(value: unknown): void {
    this.#ctx.progress(value);
  }
}
