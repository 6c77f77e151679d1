import type { Job } from '../../job.js';
import type { Queue } from '../../queue.js';
import { Reply } from '../protocol.js';

/**
 * Consecutive puts in flight that one store answer covers (a journal writes every record
 * appended in a turn together and settles them with one promise): one `then` per run.
 */
interface StoreWait {
  readonly stored: Promise<void>;
  readonly queue: Queue<unknown>;
  /** Entries it covers, in order. */
  count: number;
  settled: boolean;
  failed: boolean;
  error: unknown;
}

/**
 * The puts of one connection still waiting for their store, in command order: each one's
 * job (answered INSERTED once stored) or its reply (refused at once, behind the others).
 * Each distinct store answer is watched once; when one settles, `onSettled` runs, and
 * `answer` hands over the replies known by then, oldest first. No I/O, no promise per put.
 */
export class PendingPuts {
  private readonly entries: Array<Job<unknown> | string | undefined> = [];
  private head = 0;
  private readonly waits: Array<StoreWait | undefined> = [];
  private waitHead = 0;

  /** Puts not answered yet. */
  get count(): number {
    return this.entries.length - this.head;
  }

  constructor(private readonly onSettled: () => void) {}

  /** A put whose job the store has not acknowledged yet. */
  awaitStored(queue: Queue<unknown>, job: Job<unknown>, stored: Promise<void>): void {
    this.entries.push(job);
    const last = this.waits[this.waits.length - 1];
    if (last !== undefined && last.stored === stored) {
      last.count++;
      return;
    }
    const wait: StoreWait = { stored, queue, count: 1, settled: false, failed: false, error: undefined };
    this.waits.push(wait);
    stored.then(
      () => {
        wait.settled = true;
        this.onSettled();
      },
      (error: unknown) => {
        wait.settled = true;
        wait.failed = true;
        wait.error = error;
        this.onSettled();
      },
    );
  }

  /** A put answered at once (refused) while others still wait: its reply waits its turn. Needs `count > 0`. */
  queueReply(text: string): void {
    this.entries.push(text);
    (this.waits[this.waits.length - 1] as StoreWait).count++;
  }

  /**
   * Hands each reply now known to `reply`, oldest first, stopping at the first put whose
   * store has not answered. `refused` turns a store failure into the reply of a put it
   * carried (after the job has been taken back out of its queue). Returns whether any
   * reply was handed over.
   */
  answer(reply: (text: string) => void, refused: (error: unknown) => string): boolean {
    const entries = this.entries;
    const waits = this.waits;
    let answered = false;
    while (this.waitHead < waits.length) {
      const wait = waits[this.waitHead] as StoreWait;
      if (!wait.settled) break;
      waits[this.waitHead++] = undefined;
      for (let i = 0; i < wait.count; i++) {
        const entry = entries[this.head] as Job<unknown> | string;
        entries[this.head++] = undefined;
        if (typeof entry === 'string') reply(entry);
        else if (wait.failed) reply(refused(wait.queue.unstored(entry, wait.error)));
        else reply(`${Reply.Inserted} ${entry.id}`);
      }
      answered = true;
    }
    if (this.waitHead === waits.length) {
      waits.length = 0;
      this.waitHead = 0;
      entries.length = 0;
      this.head = 0;
    }
    return answered;
  }
}
