import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import type { Clock, TimerHandle } from '../src/clock.js';
import { MAX_TIMER_MS, ManualClock } from '../src/clock.js';
import { Scheduler, type Scheduled } from '../src/scheduler.js';

interface Item extends Scheduled {
  name: string;
  dueAt: number;
  slot: number;
}

const item = (name: string, dueAt: number): Item => ({ name, dueAt, slot: -1 });

function setup(start = 0) {
  const clock = new ManualClock(start);
  const fired: Array<[string, number]> = [];
  const scheduler = new Scheduler<Item>(clock, (i) => fired.push([i.name, clock.now()]));
  return { clock, fired, scheduler };
}

describe('Scheduler', () => {
  it('fires each item at its due time, in due order, ties first in first out', () => {
    const { clock, fired, scheduler } = setup(100);
    scheduler.add(item('c', 130));
    scheduler.add(item('a', 110));
    scheduler.add(item('b1', 120));
    scheduler.add(item('b2', 120));
    expect(scheduler.size).toBe(4);
    expect(scheduler.peek()?.name).toBe('a');
    clock.advance(9);
    expect(fired).toEqual([]);
    clock.advance(100);
    expect(fired).toEqual([
      ['a', 110],
      ['b1', 120],
      ['b2', 120],
      ['c', 130],
    ]);
    expect(scheduler.size).toBe(0);
    expect(clock.pendingTimers).toBe(0);
  });

  it('keeps a single timer, armed for the earliest item', () => {
    const { clock, scheduler } = setup();
    for (let i = 0; i < 1_000; i++) scheduler.add(item(`${i}`, 1_000 - i));
    expect(clock.pendingTimers).toBe(1);
    clock.advance(500);
    expect(scheduler.size).toBe(500);
    expect(clock.pendingTimers).toBe(1);
  });

  it('never fires a deleted item, wherever it sits in the heap', () => {
    const { clock, fired, scheduler } = setup();
    const items = Array.from({ length: 20 }, (_, i) => item(`i${i}`, 10 + ((i * 7) % 20)));
    for (const i of items) scheduler.add(i);
    const gone = [items[0]!, items[5]!, items[13]!, items[19]!];
    for (const i of gone) scheduler.delete(i);
    expect(gone.every((i) => i.slot === -1)).toBe(true);
    // Deleting again, or an item never added, is harmless.
    scheduler.delete(items[0]!);
    scheduler.delete(item('stranger', 1));
    clock.advance(100);
    const names = fired.map(([n]) => n);
    expect(names).toHaveLength(16);
    for (const i of gone) expect(names).not.toContain(i.name);
    const times = fired.map(([, t]) => t);
    expect(times).toEqual([...times].sort((a, b) => a - b));
  });

  it('re-arms after the earliest item is deleted', () => {
    const { clock, fired, scheduler } = setup();
    const first = item('first', 10);
    scheduler.add(first);
    scheduler.add(item('second', 50));
    scheduler.delete(first);
    clock.advance(10);
    expect(fired).toEqual([]);
    expect(clock.pendingTimers).toBe(1);
    clock.advance(40);
    expect(fired).toEqual([['second', 50]]);
  });

  it('arms no timer for an item due at Infinity', () => {
    const { clock, fired, scheduler } = setup();
    scheduler.add(item('never', Infinity));
    expect(clock.pendingTimers).toBe(0);
    clock.advance(MAX_TIMER_MS * 4);
    expect(fired).toEqual([]);
    expect(scheduler.size).toBe(1);
  });

  it('does not fire early when the wait exceeds the 2^31-1 ms timer cap', () => {
    const { clock, fired, scheduler } = setup();
    const due = 3 * MAX_TIMER_MS + 17;
    scheduler.add(item('far', due));
    clock.advance(due - 1);
    expect(fired).toEqual([]);
    expect(clock.pendingTimers).toBe(1);
    clock.advance(1);
    expect(fired).toEqual([['far', due]]);
  });

  it('an item added from onDue fires in its turn', () => {
    const clock = new ManualClock();
    const fired: Array<[string, number]> = [];
    const scheduler: Scheduler<Item> = new Scheduler<Item>(clock, (i) => {
      fired.push([i.name, clock.now()]);
      if (i.name === 'a') {
        scheduler.add(item('now', clock.now()));
        scheduler.add(item('later', clock.now() + 5));
      }
    });
    scheduler.add(item('a', 10));
    scheduler.add(item('b', 12));
    clock.advance(20);
    expect(fired).toEqual([
      ['a', 10],
      ['now', 10],
      ['b', 12],
      ['later', 15],
    ]);
    expect(clock.pendingTimers).toBe(0);
  });

  it('stop() disarms for good but keeps items; run() still fires what is due without re-arming', () => {
    const { clock, fired, scheduler } = setup();
    scheduler.add(item('a', 10));
    scheduler.add(item('b', 20));
    scheduler.stop();
    expect(clock.pendingTimers).toBe(0);
    clock.advance(15);
    expect(fired).toEqual([]);
    scheduler.run();
    expect(fired).toEqual([['a', 15]]);
    expect(scheduler.size).toBe(1);
    expect(clock.pendingTimers).toBe(0);
    scheduler.add(item('c', 16));
    expect(clock.pendingTimers).toBe(0);
    clock.advance(100);
    expect(fired).toHaveLength(1);
  });

  it('iterates its items', () => {
    const { scheduler } = setup();
    scheduler.add(item('a', 3));
    scheduler.add(item('b', 1));
    expect([...scheduler].map((i) => i.name).sort()).toEqual(['a', 'b']);
  });

  it('passes keepAlive to the clock, and re-arms when it changes', () => {
    const calls: Array<boolean | undefined> = [];
    let live = 0;
    const clock: Clock = {
      now: () => 0,
      setTimer: (_fn, _ms, keepAlive): TimerHandle => {
        calls.push(keepAlive);
        live++;
        return {};
      },
      clearTimer: () => {
        live--;
      },
    };
    const scheduler = new Scheduler<Item>(clock, () => {});
    scheduler.setKeepAlive(true); // nothing armed yet: nothing to do
    expect(calls).toEqual([]);
    scheduler.add(item('a', 10));
    scheduler.setKeepAlive(false);
    scheduler.setKeepAlive(false);
    scheduler.setKeepAlive(true);
    expect(calls).toEqual([true, false, true]);
    expect(live).toBe(1);
  });

  it('matches a model under random add, delete and advance', () => {
    type Op = { kind: 'add'; delay: number } | { kind: 'delete'; pick: number } | { kind: 'advance'; ms: number };
    const op: fc.Arbitrary<Op> = fc.oneof(
      fc.record({ kind: fc.constant('add' as const), delay: fc.integer({ min: 0, max: 100 }) }),
      fc.record({ kind: fc.constant('delete' as const), pick: fc.nat() }),
      fc.record({ kind: fc.constant('advance' as const), ms: fc.integer({ min: 0, max: 60 }) }),
    );
    fc.assert(
      fc.property(fc.array(op, { maxLength: 200 }), (ops) => {
        const { clock, fired, scheduler } = setup();
        const pending: Array<Item & { seq: number }> = [];
        const expected: Array<[string, number]> = [];
        let seq = 0;
        for (const o of ops) {
          if (o.kind === 'add') {
            const i = { ...item(`i${seq}`, clock.now() + o.delay), seq: seq++ };
            pending.push(i);
            scheduler.add(i);
          } else if (o.kind === 'delete' && pending.length > 0) {
            const [i] = pending.splice(o.pick % pending.length, 1);
            scheduler.delete(i!);
          } else if (o.kind === 'advance') {
            const end = clock.now() + o.ms;
            pending.sort((a, b) => a.dueAt - b.dueAt || a.seq - b.seq);
            while (pending.length > 0 && pending[0]!.dueAt <= end) {
              const i = pending.shift()!;
              expected.push([i.name, i.dueAt]);
            }
            clock.advance(o.ms);
          }
          expect(fired).toEqual(expected);
          expect(scheduler.size).toBe(pending.length);
          expect(clock.pendingTimers).toBeLessThanOrEqual(1);
        }
      }),
      { numRuns: 300 },
    );
  });
});
