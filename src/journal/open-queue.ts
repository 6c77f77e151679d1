import { highestJobId, nextJobId, reserveIdsThrough } from '../job.js';
import { Queue } from '../queue.js';
import type { QueueOptions } from '../options.js';
import type { Journal } from './journal.js';
import { storedBody, type StoredJob } from './job-codec.js';
import { decodeSnapshots, openJournalFile, type JournalOptions } from './open-journal.js';

/**
 * Options of {@link openQueue}: the queue's own options plus the journal's.
 * @typeParam T - the payload type
 */
export type OpenQueueOptions<T> = Omit<QueueOptions<T>, 'store'> & JournalOptions<T>;

const journals = new WeakMap<object, Journal<unknown>>();

/** The journals open in this process, their queues, and the lowest id each may hold. */
const openJournals = new Map<Journal<unknown>, { queue: Queue<unknown>; min: number }>();

/**
 * How a journal about to be restored avoids the ids of jobs that another open journal of
 * this process holds (journals written by different processes may share ids; the
 * beanstalkd protocol addresses jobs by id across tubes). `undefined` when no other
 * journal's ids can overlap, the usual case: then restoring costs no lookup per job.
 */
function idGuard(journal: Journal<unknown>, highestId: number): { taken(id: number): boolean; move(job: StoredJob): void } | undefined {
  for (const other of openJournals.keys()) if (other.isClosed) openJournals.delete(other);
  const others = [...openJournals].filter(([other, { min }]) => min <= highestId && min <= other.highestId);
  if (others.length === 0) return undefined;
  return {
    taken: (id) => others.some(([other, { queue, min }]) => id >= min && id <= other.highestId && queue.peek(id) !== undefined),
    move: (job) => {
      const id = nextJobId();
      journal.moveRestored(job, storedBody(job), id);
      job.id = id;
    },
  };
}

/**
 * Opens a durable queue: opens (or creates) the journal at `path`, replays it, and
 * returns a queue holding every job that was in it, with the same ids and states
 * (a job that was reserved when the process died comes back ready, its attempt counted,
 * or buried as `'lease-expired'` if that was its last). From then on every change is
 * appended to the journal as `sync` says.
 *
 * Rejects with `StoreFailedError` if the file cannot be opened, is not a journal, or (with
 * `strict`) is damaged in the middle, and with `JournalLockedError` if another live process
 * (or another queue of this one) has it open: one process per journal, by `<path>.lock`
 * (a lock left by a dead process is taken over). A torn last record is cut off and
 * reported, never fatal.
 *
 * @typeParam T - the payload type
 * @example
 * ```ts
 * const q = await openQueue<Email>('/var/lib/app/mail.journal', { sync: 'always' });
 * await q.add({ to: 'a@example.com' }); // resolves once the record is on disk
 * journalOf(q)?.on('truncated', (damage) => log.warn('journal tail cut', damage));
 * ```
 */
export async function openQueue<T = unknown>(path: string, options: OpenQueueOptions<T> = {}): Promise<Queue<T>> {
  const { sync, interval, strict, codec, compactionSlack, fileSystem, ...queueOptions } = options;
  const opened = await openJournalFile<T>(path, { sync, interval, strict, codec, compactionSlack, fileSystem });
  const journal = opened.journal;
  let queue: Queue<T>;
  const ids: number[] = [];
  try {
    queue = new Queue<T>({ ...queueOptions, store: journal });
    const guard = idGuard(journal as Journal<unknown>, opened.highestId);
    // New ids go above every id the journal ever held, not only the live ones: a job
    // acknowledged before the crash keeps its id to itself.
    reserveIdsThrough(opened.highestId);
    // One snapshot object for every job: restore copies each out before it pulls the next.
    queue.restore(decodeSnapshots(path, opened.cursor, opened.codec, {} as StoredJob, ids, guard));
  } catch (error) {
    await journal.close();
    throw error;
  }
  const restored = queue;
  journal.adopt(ids, (id) => restored.peek(id));
  journals.set(queue, journal as Journal<unknown>);
  // Jobs added from here on take ids above the ones handed out so far.
  let min = highestJobId() + 1;
  for (const id of ids) if (id < min) min = id;
  openJournals.set(journal as Journal<unknown>, { queue: queue as Queue<unknown>, min });
  return queue;
}

/** The journal behind a queue made by {@link openQueue} (stats, events, `compact()`), or `undefined`. */
export function journalOf<T>(queue: Queue<T>): Journal<T> | undefined {
  return journals.get(queue) as Journal<T> | undefined;
}
