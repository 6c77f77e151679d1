/**
 * BullMQ driven as its documentation shows, for the cases that compare against it: a
 * `Queue` adding with `addBulk` (completed and failed jobs removed) and a `Worker` with an
 * `async` no-op handler, on the redis-server at a given port.
 */

/** The payload every Redis and socket case adds. */
export interface Payload {
  i: number;
}

/**
 * Adds every batch, in order (each `addBulk` awaited), while the worker runs them at
 * `concurrency`; resolves once `n` jobs completed. `ran` is called from the handler.
 */
export type BullmqRun = (port: number, n: number, batches: Iterable<Payload[]>, concurrency: number, ran: () => void) => Promise<void>;

/** Imports BullMQ (outside the timed part: module loading is not queue work). */
export async function loadBullmq(): Promise<BullmqRun> {
  const { Queue, Worker } = await import('bullmq');
  return async (port, n, batches, concurrency, ran) => {
    const connection = { host: '127.0.0.1', port, maxRetriesPerRequest: null };
    const queue = new Queue<Payload>('bench', { connection });
    let completed = 0;
    let resolveDone: () => void = () => {};
    const done = new Promise<void>((resolve) => (resolveDone = resolve));
    const worker = new Worker<Payload>(
      'bench',
      async () => {
        ran();
      },
      { connection, concurrency },
    );
    worker.on('completed', () => void (++completed === n && resolveDone()));
    try {
      await worker.waitUntilReady();
      for (const batch of batches) {
        await queue.addBulk(batch.map((data) => ({ name: 'job', data, opts: { removeOnComplete: true, removeOnFail: true } })));
      }
      await done;
    } finally {
      await worker.close();
      await queue.close();
    }
  };
}
