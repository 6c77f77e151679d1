import type { Job, JobSnapshot } from './job.js';

/**
 * What a state change did to a job: `put` created it (the payload is new), `update`
 * changed its fields (read them from the job), `delete` removed it for good.
 */
export type ChangeType = 'put' | 'update' | 'delete';

/** One state change, as the queue hands it to its {@link Store}. */
export interface JobChange<T> {
  readonly type: ChangeType;
  readonly job: Job<T>;
}

/**
 * Where a queue records its state changes (the journal). `append` is called synchronously,
 * in order, inside every change. A returned promise makes the operation that caused the
 * change (`add`, `ack`, `release`...) resolve only once it settles, and reject if it rejects;
 * a rejection puts the queue in its failed state (fail closed). A synchronous throw from a
 * `put` refuses that one job (nothing was written: say, a payload the store cannot encode):
 * the `add` rejects with the thrown error and the queue carries on. Any other throw fails
 * the queue like a rejection.
 */
export interface Store<T> {
  append(change: JobChange<T>): void | Promise<void>;
  close(): Promise<void>;
}

export type { JobSnapshot };
