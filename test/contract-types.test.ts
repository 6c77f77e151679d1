/**
 * The contract promise, checked by the type checker (`npm run typecheck` covers test
 * files): code written against `JobQueue<T>` takes every home's queue. The runtime part
 * runs one such function on a local queue.
 */
import { describe, expect, expectTypeOf, it } from 'vitest';
import type { JobQueue, LeasedJob } from '../src/index.js';
import { Queue } from '../src/index.js';
import type { RemoteJob, RemoteQueue } from '../src/socket/index.js';
import type { ReservedJob } from '../src/reserved-job.js';

interface Email {
  to: string;
}

/** Application code that knows only the contract. */
async function sendAll(queue: JobQueue<Email>, addresses: string[]): Promise<string[]> {
  const sent: string[] = [];
  queue.on('completed', (job) => sent.push(job.data.to));
  queue.process(async (job, { signal }) => {
    expect(signal.aborted).toBe(false);
    return job.data.to;
  });
  await queue.addBulk(addresses.map((to) => ({ data: { to }, options: { priority: 10 } })));
  await queue.onIdle();
  return sent;
}

describe('the queue contract', () => {
  it('Queue<T> and RemoteQueue<T> are JobQueue<T>; their leases are LeasedJob<T>', () => {
    expectTypeOf<Queue<Email>>().toExtend<JobQueue<Email>>();
    expectTypeOf<RemoteQueue<Email>>().toExtend<JobQueue<Email>>();
    expectTypeOf<ReservedJob<Email>>().toExtend<LeasedJob<Email>>();
    expectTypeOf<RemoteJob<Email>>().toExtend<LeasedJob<Email>>();
    // A payload of another type is another contract.
    expectTypeOf<Queue<number>>().not.toExtend<JobQueue<Email>>();
  });

  it('code written against the contract runs on a local queue', async () => {
    const queue = new Queue<Email>();
    expect(await sendAll(queue, ['ada@example.com', 'bob@example.com'])).toEqual(['ada@example.com', 'bob@example.com']);
    await queue.close();
  });
});
