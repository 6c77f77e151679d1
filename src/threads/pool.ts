import type { TransferListItem } from 'node:worker_threads';
import { pathToFileURL } from 'node:url';
import { ErrorCode, QueueClosedError, WorkerCrashedError } from '../errors.js';
import { FromWorker, ToWorker, type BootstrapConfig } from './messages.js';
import { resolveOptions, type ResolvedThreadsOptions, type ThreadsOptions } from './options.js';
import type { PoolHost } from './pool-host.js';
import { Task, abortReason } from './pool-task.js';
import { PoolThread } from './pool-thread.js';
import { isTransfer, type Transfer } from './transfer.js';
import { workerSource } from './worker.js';

/** Per-task options of {@link ThreadPool.run}. */
export interface RunOptions {
  /**
   * Aborting it rejects the task with `signal.reason` at once and aborts the worker's
   * `ctx.signal`; a task still running `abortGrace` ms later has its thread terminated.
   */
  signal?: AbortSignal;
  /** Called with each `ctx.progress(value)` the worker module makes for this task. */
  progress?: (value: unknown) => void;
  /** Buffers or ports to move instead of copy (or pass the payload wrapped in `transfer()`). */
  transferList?: readonly TransferListItem[];
}

/** A snapshot of the pool, for monitoring and tests. */
export interface ThreadPoolStats {
  /** Threads alive now (starting, busy or idle). */
  threads: number;
  /** Tasks waiting for a free thread. */
  queued: number;
  /** Tasks a thread is running, including aborted ones inside their grace period. */
  running: number;
  /** Threads started since the pool was made. */
  started: number;
  /** Threads that crashed, exited, ran out of memory or were terminated for a hung task. */
  crashed: number;
}

/** A worker module given as a `file:` URL, an absolute path, or a bare specifier. */
export type ModuleSpecifier = string | URL;

/**
 * A pool of `node:worker_threads` running a worker module's default export.
 *
 * Threads start on demand up to `size`, each running up to `concurrentPerThread` tasks;
 * further tasks wait in FIFO order. A thread that dies fails only its own tasks with
 * `WorkerCrashedError` and is replaced; a thread that dies before its module finished
 * loading breaks the pool instead (every task rejects), so a broken module never turns
 * into a respawn loop.
 *
 * @typeParam P - the payload type
 * @typeParam R - the result type
 * @example
 * ```ts
 * const pool = new ThreadPool<number, number>(new URL('./square.js', import.meta.url), { size: 2 });
 * console.log(await pool.run(7)); // 49
 * await pool.close();
 * ```
 */
export class ThreadPool<P = unknown, R = unknown> {
  /** The options in force, defaults filled in. */
  readonly options: Readonly<ResolvedThreadsOptions>;
  readonly #host: PoolHost;
  readonly #threads: PoolThread[] = [];
  // FIFO of tasks waiting for a thread: an array with a moving head, so dequeue is O(1).
  #queue: Task[] = [];
  #head = 0;
  #nextId = 1;
  #active = 0;
  #started = 0;
  #crashed = 0;
  #broken: Error | undefined;
  #closed = false;
  #closing: Promise<void> | undefined;
  #onDrained: (() => void) | undefined;

  /**
   * @param module - the worker module: its default export is `(payload, ctx) => result`
   * @param options - pool options; see {@link ThreadsOptions}
   */
  constructor(module: ModuleSpecifier, options?: ThreadsOptions) {
    this.options = resolveOptions(options);
    const config: BootstrapConfig = {
      moduleUrl: toModuleUrl(module),
      toWorker: ToWorker,
      fromWorker: FromWorker,
      nonErrorCode: ErrorCode.NonError,
      rateLimitedCode: ErrorCode.RateLimited,
    };
    const source = workerSource(config);
    this.#host = {
      options: this.options,
      source,
      settled: (thread) => this.#settled(thread),
      unqueue: (task) => this.#unqueue(task),
      breakDown: (detail, cause) => this.#breakDown(detail, cause),
      exited: (thread, planned, lost) => this.#exited(thread, planned, lost),
    };
  }

  /**
   * Runs one task. Resolves with the worker's result (unwrapped if it returned
   * `transfer(value)`), rejects with the worker's error rebuilt as its class, with
   * `WorkerCrashedError` if the thread died, or with `signal.reason` on abort.
   */
  run(payload: P | Transfer<P>, options?: RunOptions): Promise<R> {
    if (this.#broken !== undefined) return Promise.reject(this.#broken);
    if (this.#closed) return Promise.reject(new QueueClosedError('The thread pool is closed'));
    const signal = options?.signal;
    if (signal?.aborted) return Promise.reject(abortReason(signal));
    let value: unknown = payload;
    let transferList = options?.transferList;
    if (isTransfer(value)) {
      transferList = value.transferList;
      value = value.value;
    }
    const task = new Task(this.#host, this.#nextId++, value, transferList, options, signal);
    const promise = new Promise<R>((resolve, reject) => {
      task.resolve = resolve as (value: unknown) => void;
      task.reject = reject;
    });
    // The task is its own listener (handleEvent): no closure per task.
    signal?.addEventListener('abort', task);
    this.#active++;
    const thread = this.#freeThread();
    if (thread === undefined) this.#queue.push(task);
    else thread.assign(task);
    return promise;
  }

  /** A snapshot of threads and tasks. */
  stats(): ThreadPoolStats {
    let running = 0;
    for (const thread of this.#threads) running += thread.tasks.size;
    return {
      threads: this.#threads.length,
      queued: this.#queue.length - this.#head,
      running,
      started: this.#started,
      crashed: this.#crashed,
    };
  }

  /** True once `close()` or `destroy()` was called. */
  get isClosed(): boolean {
    return this.#closed;
  }

  /**
   * Stops taking tasks, lets every accepted task (queued or running) finish, then stops
   * the threads. Idempotent.
   */
  close(): Promise<void> {
    if (this.#closing !== undefined) return this.#closing;
    this.#closed = true;
    this.#closing = (async () => {
      if (this.#active > 0) await new Promise<void>((resolve) => (this.#onDrained = resolve));
      await this.#terminateAll(new QueueClosedError('The thread pool closed'));
    })();
    return this.#closing;
  }

  /**
   * Stops every thread now. Queued and running tasks reject with `QueueClosedError`.
   */
  async destroy(): Promise<void> {
    this.#closed = true;
    const error = new QueueClosedError('The thread pool was destroyed');
    this.#rejectQueued(error);
    await this.#terminateAll(error);
    this.#onDrained?.();
  }

  async #terminateAll(reason: Error): Promise<void> {
    await Promise.all(this.#threads.slice().map((thread) => thread.stop(reason)));
  }

  // --- internals, reached by PoolThread and Task through #host ---------------------

  /** A thread with room, starting one if allowed. */
  #freeThread(): PoolThread | undefined {
    const limit = this.options.concurrentPerThread;
    let best: PoolThread | undefined;
    for (const thread of this.#threads) {
      if (thread.stopping !== undefined || thread.tasks.size >= limit) continue;
      if (best === undefined || thread.tasks.size < best.tasks.size) best = thread;
      if (thread.tasks.size === 0) break;
    }
    if (best !== undefined && best.tasks.size === 0) return best;
    if (this.#threads.length < this.options.size) return this.#spawn();
    return best;
  }

  #spawn(): PoolThread {
    const thread = new PoolThread(this.#host);
    this.#threads.push(thread);
    this.#started++;
    return thread;
  }

  #settled(thread: PoolThread): void {
    this.#active--;
    if (thread.stopping === undefined) {
      if (this.#head < this.#queue.length) thread.assign(this.#dequeue()!);
      else if (thread.tasks.size === 0) thread.idle();
    }
    if (this.#active === 0) this.#onDrained?.();
  }

  #unqueue(task: Task): void {
    const index = this.#queue.indexOf(task, this.#head);
    if (index === -1) return;
    this.#queue.splice(index, 1);
    this.#active--;
    if (this.#active === 0) this.#onDrained?.();
  }

  /**
   * A thread died before its module loaded. piscina's rule: a thread that
   * cannot even start will not start next time either, so the pool stops starting them
   * and every task, now or later, fails with the returned error.
   */
  #breakDown(detail: string, cause: unknown): Error {
    if (this.#broken === undefined) {
      this.#broken = new WorkerCrashedError(`A worker thread failed during start-up; the pool starts no more: ${detail}`, {
        cause,
      });
      this.#rejectQueued(this.#broken);
      for (const other of this.#threads) void other.stop(this.#broken);
    }
    return this.#broken;
  }

  #exited(thread: PoolThread, planned: boolean, lost: number): void {
    const index = this.#threads.indexOf(thread);
    if (index !== -1) this.#threads.splice(index, 1);
    this.#active -= lost;
    if (!planned) this.#crashed++;
    // Replace the thread when work is waiting for it.
    while (this.#head < this.#queue.length && this.#broken === undefined) {
      const next = this.#freeThread();
      if (next === undefined) break;
      next.assign(this.#dequeue()!);
    }
    if (this.#active === 0) this.#onDrained?.();
  }

  #dequeue(): Task | undefined {
    if (this.#head >= this.#queue.length) return undefined;
    const task = this.#queue[this.#head]!;
    this.#queue[this.#head++] = undefined as never;
    if (this.#head === this.#queue.length) {
      this.#queue = [];
      this.#head = 0;
    } else if (this.#head > 1024 && this.#head * 2 > this.#queue.length) {
      this.#queue = this.#queue.slice(this.#head);
      this.#head = 0;
    }
    return task;
  }

  #rejectQueued(error: Error): void {
    let task: Task | undefined;
    while ((task = this.#dequeue()) !== undefined) {
      this.#active--;
      task.fail(error);
    }
  }
}

function toModuleUrl(module: ModuleSpecifier): string {
  if (module instanceof URL) return module.href;
  if (typeof module !== 'string' || module.length === 0) {
    throw new TypeError(`Expected the worker module to be a URL or a path, got \`${String(module)}\``);
  }
  if (/^[a-z][a-z0-9+.-]*:/i.test(module) && !/^[a-z]:[\\/]/i.test(module)) return module; // file:, data:, node:
  if (module.startsWith('/') || /^[a-z]:[\\/]/i.test(module) || module.startsWith('\\\\')) return pathToFileURL(module).href;
  if (module.startsWith('.')) {
    throw new TypeError(`A relative worker module path is ambiguous (${module}): pass new URL('${module}', import.meta.url) or an absolute path`);
  }
  return module; // a bare specifier, resolved by the thread
}
