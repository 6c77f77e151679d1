import { describe, expect, it } from 'vitest';
import type { Job } from '../src/index.js';
import { ManualClock } from '../src/index.js';
import { deferred, flush } from './helpers/flush.js';
import { closingQueues } from './helpers/queues.js';

const queue = closingQueues();

describe('job times', () => {
  it('stamp each push attempt with the clock at its start and its end, and feed stats() with them', async () => {
    const clock = new ManualClock(1_000);
    const q = queue<string>({ clock });
    // Handlers the test finishes by hand.
    const gates = [deferred(), deferred(), deferred()];
    const seen: { data: string; processedOn: number | undefined }[] = [];
    const completed: Job<string>[] = [];
    q.on('completed', (job) => completed.push(job));
    q.push('a');
    clock.advance(100);
    q.push('b');
    clock.advance(100);
    q.push('c');
    clock.advance(300);
    let started = 0;
    q.process(async (job) => {
      seen.push({ data: job.data, processedOn: job.job.processedOn });
      await gates[started++]?.promise;
    });
    // Each job ends at a different time; the next starts the moment the one before settles.
    for (const [i, { resolve }] of gates.entries()) {
      clock.advance(10 * (i + 1));
      resolve();
      await flush();
    }
    await q.onIdle();

    expect(seen).toEqual([
      { data: 'a', processedOn: 1_500 },
      { data: 'b', processedOn: 1_510 },
      { data: 'c', processedOn: 1_530 },
    ]);
    expect(completed.map((job) => [job.data, job.createdOn, job.processedOn, job.finishedOn])).toEqual([
      ['a', 1_000, 1_500, 1_510],
      ['b', 1_100, 1_510, 1_530],
      ['c', 1_200, 1_530, 1_560],
    ]);
    const { waitTime, runTime } = q.stats();
    // Waits 500, 410 and 330 ms; runs 10, 20 and 30 ms.
    expect(waitTime).toMatchObject({ count: 3, p50: 410 });
    expect(runTime).toMatchObject({ count: 3, p50: 20 });
  });

  it('stamp a pulled job with the time of its reserve and of its ack, not of an earlier dispatch', async () => {
    const clock = new ManualClock(0);
    const q = queue<string>({ clock });
    const reserved = [];
    // Two waiting reserve() calls served by two dispatches (each job's push), then one that finds a job ready.
    for (const at of [50, 300]) {
      const waiting = q.reserve();
      clock.advance(at - clock.now());
      q.push(`job at ${at}`);
      const lease = (await waiting)!;
      clock.advance(25);
      await lease.ack();
      reserved.push(lease.job);
    }
    q.push('ready');
    clock.advance(200);
    const last = q.tryReserve()!;
    clock.advance(5);
    await last.ack();
    reserved.push(last.job);
    expect(reserved.map((job) => [job.data, job.createdOn, job.processedOn, job.finishedOn])).toEqual([
      ['job at 50', 50, 50, 75],
      ['job at 300', 300, 300, 325],
      ['ready', 325, 525, 530],
    ]);
  });

  it('measure a ttl from the clock at the dispatch that finds the job', async () => {
    const clock = new ManualClock(0);
    const q = queue<string>({ clock });
    q.push('stale', { ttl: 100 });
    q.push('fresh', { ttl: 100 });
    clock.advance(101);
    q.push('new', { ttl: 100 });
    const ran: string[] = [];
    q.process((job) => {
      ran.push(job.data);
    });
    await q.onIdle();
    expect(ran).toEqual(['new']);
    expect(q.deadLetters.list().map((job) => [job.data, job.deadReason])).toEqual([
      ['stale', 'expired'],
      ['fresh', 'expired'],
    ]);
  });
});
