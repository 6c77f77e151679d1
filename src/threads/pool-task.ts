import type { TransferListItem } from 'node:worker_threads';
import { WorkerCrashedError, serializeError } from '../errors.js';
import { ToWorker } from './messages.js';
import type { PoolHost } from './pool-host.js';
import type { RunOptions } from './pool.js';
import type { PoolThread } from './pool-thread.js';

/** One task from `run()` until its thread reports on it. */
export class Task {
  resolve!: (value: unknown) => void;
  reject!: (error: unknown) => void;
  /** True once the caller's promise settled (an aborted task may still be running). */
  done = false;
  thread: PoolThread | undefined = undefined;
  graceTimer: ReturnType<typeof setTimeout> | undefined = undefined;

  constructor(
    readonly host: PoolHost,
    readonly id: number,
    readonly payload: unknown,
    readonly transferList: readonly TransferListItem[] | undefined,
    // Kept whole so `progress` is called as a method of the object it came on (a job's ctx).
    readonly options: RunOptions | undefined,
    readonly signal: AbortSignal | undefined,
  ) {}

  succeed(value: unknown): void {
    if (this.done) return;
    this.done = true;
    this.signal?.removeEventListener('abort', this);
    this.resolve(value);
  }

  fail(error: unknown): void {
    if (this.done) return;
    this.done = true;
    this.signal?.removeEventListener('abort', this);
    this.reject(error);
  }

  /** The signal aborted. */
  handleEvent(): void {
    if (this.done) return;
    const reason = abortReason(this.signal!);
    const thread = this.thread;
    if (thread === undefined) {
      this.host.unqueue(this);
      this.fail(reason);
      return;
    }
    this.fail(reason);
    thread.post({ k: ToWorker.Abort, id: this.id, e: serializeError(reason) });
    const grace = this.host.options.abortGrace;
    this.graceTimer = setTimeout(() => {
      this.graceTimer = undefined;
      if (this.thread !== undefined) {
        void thread.stop(new WorkerCrashedError(`A task ignored its abort for ${grace} ms; its thread was terminated`), true);
      }
    }, grace);
    this.graceTimer.unref();
  }
}

/** What a task rejects with when its signal aborts. */
export function abortReason(signal: AbortSignal): unknown {
  return signal.reason ?? new DOMException('This operation was aborted', 'AbortError');
}
