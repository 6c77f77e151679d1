import { existsSync } from 'node:fs';
import { beforeEach, describe, expect, it } from 'vitest';
import { ManualClock } from '../src/clock.js';
import { InvalidOptionError } from '../src/errors.js';
import type { Job, JobSnapshot } from '../src/job.js';
import { journalOf, openQueue } from '../src/journal/index.js';
import type { Queue } from '../src/queue.js';
import { useJournalDir } from './helpers/journal.js';

const journal = useJournalDir();
let file: string;
beforeEach(() => ({ file } = journal));

const start = journal.start;

/** Every job of the queue, as plain data. */
function all<T>(q: Queue<T>, ids: number[]): Array<JobSnapshot<T>> {
  return ids
    .map((id) => q.peek(id))
    .filter((j): j is Job<T> => j !== undefined)
    .map((j) => j.snapshot());
}

describe('openQueue recovery', () => {
  it('restores ready, delayed and buried jobs with their ids, payloads, options and history', async () => {
    const clock = new ManualClock(1_000_000);
    const q = await start<{ n: number }>({ clock, retry: { attempts: 5 } });
    const a = await q.add({ n: 1 }, { priority: 10, id: 'dedupe-a', ttr: 5000 });
    const b = await q.add({ n: 2 }, { delay: 5000 });
    const c = await q.add({ n: 3 });
    const lease = q.reserveJob(c.id);
    await lease.fail(new Error('boom'));
    const again = q.reserveJob(c.id);
    await again.bury('gave up');
    const before = all(q, [a.id, b.id, c.id]);

    const clock2 = new ManualClock(1_001_000);
    const r = await start<{ n: number }>({ clock: clock2, retry: { attempts: 5 } });
    expect(all(r, [a.id, b.id, c.id])).toEqual(before);
    expect(r.peek(c.id)).toMatchObject({ state: 'buried', deadReason: 'manual' });
    expect(r.peek(c.id)!.errors.map((e) => e.message)).toEqual(['boom', 'gave up']);
    expect(r.stats()).toMatchObject({ ready: 1, delayed: 1, buried: 1 });
    // The dedupe key survives: adding the same id again returns the stored job.
    expect((await r.add({ n: 99 }, { id: 'dedupe-a' })).id).toBe(a.id);
    // The delayed job keeps its due time (clock time, not "delay from now").
    clock2.advance(3_999);
    expect(r.peek(b.id)!.state).toBe('delayed');
    clock2.advance(1);
    expect(r.peek(b.id)!.state).toBe('ready');
  });

  it('does not bring back acked or removed jobs, and brings kicked ones back ready', async () => {
    const q = await start<string>();
    const [a, b, c, d] = await Promise.all(['a', 'b', 'c', 'd'].map((s) => q.add(s)));
    await q.reserveJob(a.id).ack();
    expect(q.remove(b.id)).toBe(true);
    await q.reserveJob(c.id).bury('x');
    expect(q.kickJob(c.id)).toBe(true);
    await journalOf(q)!.flush();
    const r = await start<string>();
    expect(r.peek(a.id)).toBeUndefined();
    expect(r.peek(b.id)).toBeUndefined();
    expect(r.peek(c.id)).toMatchObject({ state: 'ready', kicks: 1, buries: 1 });
    expect(r.peek(d.id)).toMatchObject({ state: 'ready', data: 'd' });
    expect(r.stats().total).toBe(2);
  });

  it('brings a job that was reserved at the crash back ready with the attempt counted, or buried as lease-expired on its last', async () => {
    const q = await start<string>({ retry: { attempts: 2 } });
    const a = await q.add('a');
    const b = await q.add('b', { attempts: 1 });
    q.reserveJob(a.id);
    q.reserveJob(b.id);
    await journalOf(q)!.flush();
    const r = await start<string>({ retry: { attempts: 2 } });
    expect(r.peek(a.id)).toMatchObject({ state: 'ready', attemptsMade: 1, reserves: 1, timeouts: 1 });
    expect(r.peek(b.id)).toMatchObject({ state: 'buried', deadReason: 'lease-expired', attemptsMade: 1 });
    expect(r.deadLetters.list().map((j) => j.id)).toEqual([b.id]);
  });

  it('keeps released jobs with their new priority, delay and attempts', async () => {
    const clock = new ManualClock(0);
    const q = await start<string>({ clock, retry: { attempts: 3 } });
    const a = await q.add('a');
    const b = await q.add('b');
    await q.reserveJob(a.id).release({ priority: 5 });
    await q.reserveJob(b.id).release({ delay: 1000 });
    const r = await start<string>({ clock, retry: { attempts: 3 } });
    expect(r.peek(a.id)).toMatchObject({ state: 'ready', priority: 5, attemptsMade: 1, releases: 1 });
    expect(r.peek(b.id)).toMatchObject({ state: 'delayed', dueAt: 1000, attemptsMade: 1, releases: 1 });
  });

  it('keeps ready jobs of equal priority in the order the live queue would hand them out', async () => {
    const q = await start<number>({ retry: { attempts: 9 } });
    const jobs = [];
    for (let i = 0; i < 5; i++) jobs.push(await q.add(i));
    await q.reserveJob(jobs[1].id).release();
    const r = await start<number>({ retry: { attempts: 9 } });
    const order: number[] = [];
    for (let lease = r.tryReserve(); lease !== undefined; lease = r.tryReserve()) order.push(lease.data);
    // The restart closed q's journal: q's reserves below only show the live order, and their
    // writes into the closed journal fail as they should, unheard.
    q.on('error', () => {});
    const fresh: number[] = [];
    for (let lease = q.tryReserve(); lease !== undefined; lease = q.tryReserve()) fresh.push(lease.data);
    // Whatever order the live queue uses, the restored one is the same.
    expect(order).toEqual(fresh);
    expect(order).toHaveLength(5);
  });

  it('hands out new ids above every restored one', async () => {
    const q = await start<string>();
    const jobs = await Promise.all(Array.from({ length: 10 }, (_, i) => q.add(String(i))));
    const r = await start<string>();
    const fresh = await r.add('new');
    expect(fresh.id).toBeGreaterThan(Math.max(...jobs.map((j) => j.id)));
  });

  it('replays idempotently: opening twice in a row gives the same jobs and counters', async () => {
    const q = await start<string>({ retry: { attempts: 3 } });
    const jobs = await Promise.all(Array.from({ length: 20 }, (_, i) => q.add(String(i), { priority: i % 3, delay: i % 4 === 0 ? 60_000 : 0 })));
    const ids = jobs.map((j) => j.id);
    for (let i = 0; i < 4; i++) q.tryReserve();
    await q.tryReserve()!.bury('no');
    await q.tryReserve()!.ack();
    await journalOf(q)!.flush();
    const first = await start<string>({ retry: { attempts: 3 } });
    const second = await start<string>({ retry: { attempts: 3 } });
    expect(all(second, ids)).toEqual(all(first, ids));
    const { waitTime, runTime, ...firstStats } = first.stats();
    const { waitTime: w2, runTime: r2, ...secondStats } = second.stats();
    expect(secondStats).toEqual(firstStats);
    expect(journalOf(second)!.stats().liveJobs).toBe(journalOf(first)!.stats().liveJobs);
  });

  it.each(['never', 'interval', 'always'] as const)('restores what was written under sync %s', async (sync) => {
    const q = await start<string>({ sync, interval: 5 });
    const jobs = await Promise.all(['x', 'y', 'z'].map((s) => q.add(s)));
    await q.reserveJob(jobs[0].id).ack();
    await q.close();
    const r = await start<string>({ sync });
    expect(r.stats().total).toBe(2);
    expect(r.peek(jobs[1].id)?.data).toBe('y');
    expect(journalOf(r)!.stats().opened).toMatchObject({ records: expect.any(Number), jobs: 2, truncated: undefined });
  });

  it('rejects bad journal options by name, before touching the file', async () => {
    await expect(openQueue(file, { sync: 'sometimes' as 'always' })).rejects.toThrow(/`sync`.*sometimes/);
    await expect(openQueue(file, { interval: 0 })).rejects.toBeInstanceOf(InvalidOptionError);
    await expect(openQueue(file, { compactionSlack: -1 })).rejects.toThrow(/`compactionSlack`/);
    expect(existsSync(file)).toBe(false);
  });

  it('a closed queue gives back its reserved jobs uncounted', async () => {
    const q = await start<string>({ retry: { attempts: 1 } });
    const a = await q.add('a');
    q.reserveJob(a.id);
    await q.close({ timeout: 0 });
    const r = await start<string>({ retry: { attempts: 1 } });
    expect(r.peek(a.id)).toMatchObject({ state: 'ready', attemptsMade: 0 });
  });
});
