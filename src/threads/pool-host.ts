import type { ResolvedThreadsOptions } from './options.js';
import type { PoolThread } from './pool-thread.js';
import type { Task } from './pool-task.js';

/**
 * What a {@link PoolThread} and a {@link Task} need from their pool. The pool hands them a
 * private object with these methods, so none of them is public API of `ThreadPool`.
 */
export interface PoolHost {
  readonly options: Readonly<ResolvedThreadsOptions>;
  /** The bootstrap source every thread runs. */
  readonly source: string;
  /** `thread` reported on one of its tasks (or gave it up): free the slot, feed the thread. */
  settled(thread: PoolThread): void;
  /** A queued task aborted before it reached a thread. */
  unqueue(task: Task): void;
  /** A thread died before its module loaded; returns what its tasks fail with. */
  breakDown(detail: string, cause: unknown): Error;
  /** A thread exited, for whatever reason, taking `lost` tasks with it. */
  exited(thread: PoolThread, planned: boolean, lost: number): void;
}
