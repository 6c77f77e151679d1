import { Worker, type TransferListItem } from 'node:worker_threads';
import { QueueClosedError, WorkerCrashedError, deserializeError } from '../errors.js';
import { FromWorker, ToWorker, type MainToWorker, type WorkerToMain } from './messages.js';
import type { PoolHost } from './pool-host.js';
import type { Task } from './pool-task.js';

/** One worker thread and the tasks it holds. */
export class PoolThread {
  readonly worker: Worker;
  readonly tasks = new Map<number, Task>();
  /** Set once the worker module loaded. */
  ready = false;
  /** Set when the pool decided to stop this thread, with what its tasks fail with. */
  stopping: Error | undefined = undefined;
  /** True when the stop counts as a crash (a hung task), not a planned shutdown. */
  #stopIsCrash = false;
  #crash: Error | undefined;
  #idleSince = 0;
  #idleTimer: ReturnType<typeof setTimeout> | undefined;
  #exited: Promise<void>;

  constructor(readonly pool: PoolHost) {
    const { options } = pool;
    this.worker = new Worker(pool.source, {
      eval: true,
      workerData: options.workerData,
      ...(options.env === undefined ? {} : { env: options.env }),
      ...(options.execArgv === undefined ? {} : { execArgv: options.execArgv }),
      ...(options.resourceLimits === undefined ? {} : { resourceLimits: options.resourceLimits }),
    });
    // Idle threads never hold the process open; assign() refs a thread while it works.
    this.worker.unref();
    this.worker.on('message', (message: WorkerToMain) => this.#onMessage(message));
    this.worker.on('error', (error: Error) => {
      this.#crash ??= error;
    });
    // A message that cannot be deserialized names no task: rather than leave one hanging,
    // the thread goes, failing what it held.
    this.worker.on('messageerror', (error: Error) => {
      void this.stop(new WorkerCrashedError(`A message from a worker thread could not be read: ${error.message}`, { cause: error }), true);
    });
    this.#exited = new Promise((resolve) => {
      this.worker.once('exit', (code: number) => {
        this.#onExit(code);
        resolve();
      });
    });
  }

  post(message: MainToWorker, transferList?: readonly TransferListItem[]): void {
    this.worker.postMessage(message, transferList as TransferListItem[] | undefined);
  }

  assign(task: Task): void {
    if (this.tasks.size === 0) this.worker.ref();
    task.thread = this;
    this.tasks.set(task.id, task);
    try {
      this.worker.postMessage({ k: ToWorker.Run, id: task.id, p: task.payload }, task.transferList as TransferListItem[] | undefined);
    } catch (error) {
      // The payload cannot be cloned: that task fails, the thread is fine.
      this.#release(task);
      task.fail(error);
    }
  }

  idle(): void {
    this.worker.unref();
    const timeout = this.pool.options.idleTimeout;
    if (!Number.isFinite(timeout)) return;
    this.#idleSince = Date.now();
    if (this.#idleTimer === undefined) this.#armIdle(timeout);
  }

  // One timer per thread, re-armed lazily, instead of one set and cleared per task.
  #armIdle(ms: number): void {
    this.#idleTimer = setTimeout(() => {
      this.#idleTimer = undefined;
      if (this.tasks.size > 0 || this.stopping !== undefined) return;
      const left = this.#idleSince + this.pool.options.idleTimeout - Date.now();
      if (left > 0) this.#armIdle(left);
      else void this.stop(new QueueClosedError('The thread was idle'));
    }, ms);
    this.#idleTimer.unref();
  }

  /** Terminates the thread; its tasks fail with `reason`. Resolves once it exited. */
  stop(reason: Error, isCrash = false): Promise<void> {
    if (this.stopping === undefined) {
      this.stopping = reason;
      this.#stopIsCrash = isCrash;
      if (this.#idleTimer !== undefined) clearTimeout(this.#idleTimer);
      void this.worker.terminate();
    }
    return this.#exited;
  }

  #release(task: Task): void {
    this.tasks.delete(task.id);
    task.thread = undefined;
    if (task.graceTimer !== undefined) {
      clearTimeout(task.graceTimer);
      task.graceTimer = undefined;
    }
    this.pool.settled(this);
  }

  #onMessage(message: WorkerToMain): void {
    switch (message.k) {
      case FromWorker.Done: {
        const task = this.tasks.get(message.id);
        if (task === undefined) return;
        this.#release(task);
        task.succeed(message.r);
        return;
      }
      case FromWorker.Failed: {
        const task = this.tasks.get(message.id);
        if (task === undefined) return;
        this.#release(task);
        task.fail(deserializeError(message.e));
        return;
      }
      case FromWorker.Progress: {
        const task = this.tasks.get(message.id);
        if (task === undefined || task.done) return;
        try {
          task.options?.progress?.(message.v);
        } catch (error) {
          // As if the callback had thrown inside the task: the task fails, the process lives.
          task.fail(error);
        }
        return;
      }
      case FromWorker.Ready:
        this.ready = true;
        return;
    }
  }

  #onExit(code: number): void {
    if (this.#idleTimer !== undefined) clearTimeout(this.#idleTimer);
    const planned = this.stopping !== undefined && !this.#stopIsCrash;
    let error: Error;
    if (!this.ready && !planned) {
      const detail = this.#crash?.message ?? this.stopping?.message ?? `it exited with code ${code}`;
      error = this.pool.breakDown(detail, this.#crash ?? this.stopping ?? code);
    } else if (this.stopping !== undefined) {
      error = this.stopping;
    } else if (this.#crash !== undefined) {
      error = new WorkerCrashedError(`A worker thread crashed: ${this.#crash.message}`, { cause: this.#crash });
    } else {
      error = new WorkerCrashedError(`A worker thread exited with code ${code}`, { cause: code });
    }
    const tasks = [...this.tasks.values()];
    this.tasks.clear();
    for (const task of tasks) {
      task.thread = undefined;
      if (task.graceTimer !== undefined) clearTimeout(task.graceTimer);
      task.fail(error);
    }
    // The thread leaves the pool before the slots free up, so no task lands on it.
    this.pool.exited(this, planned, tasks.length);
  }
}
