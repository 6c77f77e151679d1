import type { Job } from './job.js';

/** The queue's side of the dead-letter view. @internal */
export interface DeadLetterHost<T> {
  buriedJobs(): Iterable<Job<T>>;
  buriedCount(): number;
  /** Kicks the job if it is buried. */
  redrive(id: number): boolean;
  /** Deletes the job if it is buried. */
  purge(id: number): boolean;
}

/**
 * Dead letters: the queue's buried jobs, each with its payload, every attempt's error,
 * its attempt count and `deadReason`.
 * @typeParam T - the payload type
 */
export class DeadLetters<T> {
  /** @internal */
  constructor(private readonly host: DeadLetterHost<T>) {}

  /** Number of dead letters. */
  get size(): number {
    return this.host.buriedCount();
  }

  /** Dead letters, oldest first. */
  list(): Job<T>[] {
    return [...this.host.buriedJobs()];
  }

  /**
   * Puts dead letters back to work (ready, with a fresh attempt budget), all of them or
   * those with the given ids. Returns how many moved.
   */
  redrive(ids?: Iterable<number>): number {
    return this.each(ids, (id) => this.host.redrive(id));
  }

  /** Deletes dead letters for good, all of them or those with the given ids. Returns how many. */
  purge(ids?: Iterable<number>): number {
    return this.each(ids, (id) => this.host.purge(id));
  }

  private each(ids: Iterable<number> | undefined, act: (id: number) => boolean): number {
    const targets = ids === undefined ? this.list().map((job) => job.id) : [...ids];
    let count = 0;
    for (const id of targets) if (act(id)) count++;
    return count;
  }
}
