import { describe, expect, it } from 'vitest';
import { ManualClock } from '../src/clock.js';
import { InvalidOptionError } from '../src/errors.js';
import type { QueueOptions } from '../src/options.js';
import { Queue } from '../src/queue.js';
import type { ReservedJob } from '../src/reserved-job.js';
import { flush } from './helpers/flush.js';
import { closingQueues } from './helpers/queues.js';
import { groupEntriesOf, reserveAll } from './helpers/groups.js';

const newQueue = closingQueues();

function makeQueue(options: QueueOptions<string> = {}): { q: Queue<string>; clock: ManualClock } {
  const clock = new ManualClock(1_000);
  return { q: newQueue<string>({ clock, ...options }), clock };
}

const data = (leases: ReservedJob<string>[]): string[] => leases.map((l) => l.data);

describe('groups: order and slots', () => {
  it('runs one job of a group at a time, in order, and the next only after the first settles', async () => {
    const { q } = makeQueue();
    for (const s of ['a1', 'a2', 'a3']) q.push(s, { group: 'a' });
    const first = reserveAll(q);
    expect(data(first)).toEqual(['a1']);
    await first[0].ack();
    expect(data(reserveAll(q))).toEqual(['a2']);
  });

  it('orders a group by priority, then age', async () => {
    const { q } = makeQueue();
    q.push('low', { group: 'a', priority: 5000 });
    q.push('urgent', { group: 'a', priority: 1 });
    q.push('normal-1', { group: 'a' });
    q.push('normal-2', { group: 'a' });
    const seen: string[] = [];
    for (let i = 0; i < 4; i++) {
      const [lease] = reserveAll(q);
      seen.push(lease.data);
      await lease.ack();
    }
    expect(seen).toEqual(['urgent', 'normal-1', 'normal-2', 'low']);
  });

  it('honours groupConcurrency and setGroupConcurrency per group', async () => {
    const { q } = makeQueue({ groupConcurrency: 2 });
    for (let i = 0; i < 5; i++) {
      q.push(`a${i}`, { group: 'a' });
      q.push(`b${i}`, { group: 'b' });
    }
    q.setGroupConcurrency('b', 3);
    const leases = reserveAll(q);
    expect(data(leases).filter((s) => s.startsWith('a'))).toEqual(['a0', 'a1']);
    expect(data(leases).filter((s) => s.startsWith('b'))).toEqual(['b0', 'b1', 'b2']);
    expect(q.groupStats('b')).toMatchObject({ running: 3, ready: 2, concurrency: 3 });
    q.setGroupConcurrency('b', undefined);
    expect(q.groupStats('b').concurrency).toBe(2);
    // Raising the cap lets the next job start at once.
    q.setGroupConcurrency('a', 3);
    expect(data(reserveAll(q))).toEqual(['a2']);
  });

  it('takes turns round-robin among groups and the ungrouped jobs, at equal priority', () => {
    const { q } = makeQueue({ groupConcurrency: Infinity });
    for (let i = 0; i < 3; i++) q.push(`big${i}`, { group: 'big' });
    q.push('small0', { group: 'small' });
    q.push('u0');
    q.push('u1');
    for (let i = 3; i < 6; i++) q.push(`big${i}`, { group: 'big' });
    expect(data(reserveAll(q))).toEqual(['big0', 'small0', 'u0', 'big1', 'u1', 'big2', 'big3', 'big4', 'big5']);
  });

  it('serves a more urgent job first whatever the turn', () => {
    const { q } = makeQueue({ groupConcurrency: Infinity });
    q.push('a0', { group: 'a' });
    q.push('b0', { group: 'b' });
    q.push('b-urgent', { group: 'b', priority: 0 });
    q.push('u-urgent', { priority: 0 });
    expect(data(reserveAll(q))).toEqual(['b-urgent', 'u-urgent', 'a0', 'b0']);
  });

  it('runs ungrouped jobs beside a blocked group (no cap for them)', () => {
    const { q } = makeQueue();
    q.push('a0', { group: 'a' });
    q.push('a1', { group: 'a' });
    for (let i = 0; i < 3; i++) q.push(`u${i}`);
    expect(data(reserveAll(q))).toEqual(['a0', 'u0', 'u1', 'u2']);
  });

  it('a push consumer never runs two jobs of a strict group at once', async () => {
    const { q } = makeQueue({ concurrency: 8 });
    const running = new Map<string, number>();
    let overlap = 0;
    const order: string[] = [];
    q.process(async (job) => {
      const g = job.job.group as string;
      running.set(g, (running.get(g) ?? 0) + 1);
      if ((running.get(g) as number) > 1) overlap++;
      order.push(job.data);
      await flush();
      running.set(g, (running.get(g) as number) - 1);
    });
    for (let i = 0; i < 20; i++) q.push(`${i % 3}:${i}`, { group: `g${i % 3}` });
    await q.onIdle();
    expect(overlap).toBe(0);
    for (const g of ['0', '1', '2']) {
      const mine = order.filter((s) => s.startsWith(`${g}:`)).map((s) => Number(s.split(':')[1]));
      expect(mine).toEqual([...mine].sort((x, y) => x - y));
    }
  });
});

describe('groups: failures, retries and the rest of the lifecycle', () => {
  it('a failed job waiting for its retry blocks its strict group until it completes', async () => {
    const { q, clock } = makeQueue({ retry: { attempts: 3, backoff: 1000 } });
    q.push('a1', { group: 'a' });
    q.push('a2', { group: 'a' });
    q.push('b1', { group: 'b' });
    const [a1, b1] = reserveAll(q);
    expect([a1.data, b1.data]).toEqual(['a1', 'b1']);
    await a1.fail(new Error('flaky'));
    await b1.ack();
    expect(q.peek(a1.id)!.state).toBe('delayed');
    // a2 waits behind the retry, not behind a running job.
    expect(reserveAll(q)).toEqual([]);
    expect(q.groupStats('a')).toMatchObject({ ready: 1, running: 0, delayed: 1, held: 1 });
    clock.advance(1000);
    const [again] = reserveAll(q);
    expect(again.data).toBe('a1');
    await again.ack();
    expect(data(reserveAll(q))).toEqual(['a2']);
  });

  it('the group moves on once the failing job is dead-lettered, and a redrive queues it again', async () => {
    const { q } = makeQueue({ retry: { attempts: 2 } });
    q.push('a1', { group: 'a' });
    q.push('a2', { group: 'a' });
    await reserveAll(q)[0].fail(new Error('1'));
    const [retry] = reserveAll(q);
    expect(retry.data).toBe('a1');
    await retry.fail(new Error('2'));
    expect(q.peek(retry.id)!.state).toBe('buried');
    const [a2] = reserveAll(q);
    expect(a2.data).toBe('a2');
    // Redriven while a2 runs: it waits for the slot, then runs (oldest first).
    expect(q.deadLetters.redrive()).toBe(1);
    expect(reserveAll(q)).toEqual([]);
    await a2.ack();
    expect(data(reserveAll(q))).toEqual(['a1']);
  });

  it('relaxed groups (strictGroups: false) let later jobs pass a retry', async () => {
    const { q } = makeQueue({ strictGroups: false, retry: { attempts: 3, backoff: 1000 } });
    q.push('a1', { group: 'a' });
    q.push('a2', { group: 'a' });
    await reserveAll(q)[0].fail(new Error('flaky'));
    expect(data(reserveAll(q))).toEqual(['a2']);
  });

  it('a released job keeps its place and its slot; bury and remove free the slot', async () => {
    const { q } = makeQueue({ retry: { attempts: 5 } });
    for (const s of ['a1', 'a2', 'a3']) q.push(s, { group: 'a' });
    const [a1] = reserveAll(q);
    await a1.release({ delay: 500 });
    expect(reserveAll(q)).toEqual([]);
    expect(q.remove(a1.id)).toBe(true);
    const [a2] = reserveAll(q);
    expect(a2.data).toBe('a2');
    await a2.bury('bad');
    expect(data(reserveAll(q))).toEqual(['a3']);
  });

  it('a lease that runs out counts as a failure and the job keeps its group slot', async () => {
    const { q, clock } = makeQueue({ ttr: 100, retry: { attempts: 2 } });
    q.push('a1', { group: 'a' });
    q.push('a2', { group: 'a' });
    const [lost] = reserveAll(q);
    clock.advance(100);
    expect(lost.isCurrent).toBe(false);
    expect(data(reserveAll(q))).toEqual(['a1']);
  });

  it('a delayed job of a group waits for its time; the group runs its ready jobs meanwhile', async () => {
    const { q, clock } = makeQueue();
    q.push('later', { group: 'a', delay: 1000 });
    q.push('now', { group: 'a' });
    const [now] = reserveAll(q);
    expect(now.data).toBe('now');
    await now.ack();
    expect(reserveAll(q)).toEqual([]);
    clock.advance(1000);
    expect(data(reserveAll(q))).toEqual(['later']);
  });

  it('kick of a delayed group job makes it ready in its group order', async () => {
    const { q } = makeQueue();
    const later = q.push('later', { group: 'a', delay: 10_000 });
    q.push('second', { group: 'a' });
    expect(q.kickJob(later.id)).toBe(true);
    expect(data(reserveAll(q))).toEqual(['later']);
  });

  it('changePriority moves a ready job within its group', async () => {
    const { q } = makeQueue();
    q.push('a1', { group: 'a' });
    const a2 = q.push('a2', { group: 'a' });
    q.changePriority(a2.id, 0);
    expect(q.peekReady()!.id).toBe(a2.id);
    expect(data(reserveAll(q))).toEqual(['a2']);
  });

  it('reserveJob takes a specific job of a group, which then holds the slot', async () => {
    const { q } = makeQueue();
    q.push('a1', { group: 'a' });
    const a2 = q.push('a2', { group: 'a' });
    const lease = q.reserveJob(a2.id);
    expect(reserveAll(q)).toEqual([]);
    await lease.ack();
    expect(data(reserveAll(q))).toEqual(['a1']);
  });

  it('a waiting reserve() gets the group job freed by an ack', async () => {
    const { q } = makeQueue();
    q.push('a1', { group: 'a' });
    q.push('a2', { group: 'a' });
    const first = (await q.reserve())!;
    const waiting = q.reserve();
    await flush();
    await first.ack();
    expect((await waiting)!.data).toBe('a2');
  });
});

describe('groups: pause, views and cost', () => {
  it('pauseGroup holds only that group; resumeGroup starts it again', async () => {
    const { q } = makeQueue();
    q.pauseGroup('a');
    q.push('a1', { group: 'a' });
    q.push('b1', { group: 'b' });
    expect(q.isGroupPaused('a')).toBe(true);
    expect(data(reserveAll(q))).toEqual(['b1']);
    q.resumeGroup('a');
    expect(data(reserveAll(q))).toEqual(['a1']);
  });

  it('groupStats counts ready, running and delayed; groups() lists only groups with jobs', async () => {
    const { q } = makeQueue();
    q.push('a1', { group: 'a' });
    q.push('a2', { group: 'a' });
    q.push('a3', { group: 'a', delay: 100 });
    q.push('b1', { group: 'b' });
    const leases = reserveAll(q);
    expect(q.groupStats('a')).toEqual({ group: 'a', ready: 1, running: 1, delayed: 1, held: 1, concurrency: 1, isPaused: false });
    expect(q.groups().sort()).toEqual(['a', 'b']);
    expect(q.stats()).toMatchObject({ ready: 1, delayed: 1, reserved: 2 });
    expect(q.groupStats('never')).toMatchObject({ ready: 0, running: 0, delayed: 0 });
    for (const lease of leases) await lease.ack();
    await reserveAll(q)[0].ack();
    q.remove(q.peekDelayed()!.id);
    expect(q.groups()).toEqual([]);
  });

  it('forgets a group once its last job is gone (100,000 groups leave nothing behind)', async () => {
    const { q } = makeQueue({ concurrency: 64 });
    q.process(() => undefined);
    q.pause();
    for (let i = 0; i < 100_000; i++) q.push('x', { group: `g${i}` });
    expect(groupEntriesOf(q)).toBe(100_000);
    q.resume();
    await q.onIdle();
    expect(q.groups()).toEqual([]);
    expect(groupEntriesOf(q)).toBe(0);
    expect(q.size).toBe(0);
  });

  it('rejects bad groups and settings, naming what was wrong', async () => {
    const { q } = makeQueue();
    expect(() => q.push('x', { group: '' })).toThrow(InvalidOptionError);
    expect(() => q.push('x', { group: '' })).toThrow('Expected `group` to be a non-empty string, got `""` (string)');
    expect(() => q.push('x', { group: 42 as unknown as string })).toThrow('`group`');
    await expect(q.add('x', { group: null as unknown as string })).rejects.toThrow('`group`');
    expect(() => q.setGroupConcurrency('a', 0)).toThrow('Expected `groupConcurrency` to be an integer from 1 to Infinity, got `0`');
    expect(() => q.pauseGroup('')).toThrow('`group`');
    expect(() => new Queue({ groupConcurrency: 1.5 })).toThrow('`groupConcurrency`');
    expect(() => new Queue({ strictGroups: 'yes' as unknown as boolean })).toThrow('`strictGroups`');
  });
});
