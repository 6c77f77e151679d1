import type { Job } from './job.js';
import type { AddOptions } from './options.js';
import { checkAddOptions } from './options.js';

interface Producer {
  admit(): void;
  reject(error: Error): void;
}

/** What admission needs from its queue. */
export interface AdmissionHost<T> {
  /** Throws when the queue takes no new jobs: it is closed, or its store failed. */
  assertOpen(): void;
  /** The job still in the queue with the dedupe id these options name, if any. */
  withSameId(options: AddOptions | undefined): Job<T> | undefined;
  /** Whether the queue holds `maxSize` jobs (waiting plus running). */
  isFull(): boolean;
  fullError(): Error;
  /** Adds the job; resolves once the store has it. */
  insert(data: T, options: AddOptions | undefined): Promise<Job<T>>;
}

/**
 * Who gets into a bounded queue, and when: a producer that finds the queue full waits, in
 * first come, first served order, or is refused. Options are checked and a dedupe id is
 * looked up before anything else, so a refused producer changes nothing.
 */
export class Admission<T> {
  private readonly producers: Producer[] = [];
  private closed = false;

  constructor(private readonly host: AdmissionHost<T>) {}

  /** Producers waiting for room. */
  get waiting(): number {
    return this.producers.length;
  }

  /** Whether a producer may add now without overtaking one that waits. */
  get hasRoom(): boolean {
    return this.producers.length === 0 && !this.host.isFull();
  }

  /** `add` (`onFull: 'wait'`) and `tryAdd` (`'reject'`). */
  admit(data: T, options: AddOptions | undefined, onFull: 'wait' | 'reject'): Promise<Job<T>> {
    try {
      if (options !== undefined) checkAddOptions(options);
      this.host.assertOpen();
    } catch (error) {
      return Promise.reject(error);
    }
    const existing = this.host.withSameId(options);
    if (existing !== undefined) return Promise.resolve(existing);
    if (!this.hasRoom) return onFull === 'reject' ? Promise.reject(this.host.fullError()) : this.waitForRoom(data, options);
    return this.host.insert(data, options);
  }

  /** Lets waiting producers in while there is room (after a job left the queue). */
  admitWaiting(): void {
    while (this.producers.length > 0 && !this.closed && !this.host.isFull()) (this.producers.shift() as Producer).admit();
  }

  /** The queue closed: every waiting producer is refused with `error`, and none is admitted later. */
  close(error: Error): void {
    this.closed = true;
    for (const producer of this.producers.splice(0)) producer.reject(error);
  }

  private waitForRoom(data: T, options: AddOptions | undefined): Promise<Job<T>> {
    return new Promise((resolve, reject) => {
      this.producers.push({
        admit: () => {
          try {
            // The store may have failed while this producer waited.
            this.host.assertOpen();
          } catch (error) {
            return reject(error);
          }
          // Another producer may have added the same dedupe id meanwhile.
          const existing = this.host.withSameId(options);
          if (existing !== undefined) resolve(existing);
          else this.host.insert(data, options).then(resolve, reject);
        },
        reject,
      });
    });
  }
}
