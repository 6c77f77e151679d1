import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { ReadySet, URGENT_BELOW, type ReadyItem } from '../src/ready-set.js';

interface Item extends ReadyItem {
  id: number;
  priority: number;
  stamp: number;
}

const item = (id: number, priority: number): Item => ({ id, priority, stamp: 0 });

function drain(set: ReadySet<Item>): number[] {
  const out: number[] = [];
  for (let next = set.shift(); next !== undefined; next = set.shift()) out.push(next.id);
  return out;
}

describe('ReadySet', () => {
  it('gives jobs lowest priority first, lowest id first among equals', () => {
    const set = new ReadySet<Item>();
    const items = [item(1, 5), item(2, 1), item(3, 5), item(4, 0), item(5, 1), item(6, 2 ** 32 - 1), item(7, 0)];
    for (const i of items) set.add(i);
    expect(set.size).toBe(7);
    expect(set.peek()?.id).toBe(4);
    expect(drain(set)).toEqual([4, 7, 2, 5, 1, 3, 6]);
    expect(set.size).toBe(0);
    expect(set.peek()).toBeUndefined();
    expect(set.shift()).toBeUndefined();
  });

  it('puts a job that comes back with a smaller id ahead of newer ones (the out-of-order path)', () => {
    const set = new ReadySet<Item>();
    const [a, b, c] = [item(10, 3), item(11, 3), item(12, 3)];
    set.add(a);
    set.add(b);
    set.add(c);
    expect(set.shift()).toBe(a);
    expect(set.shift()).toBe(b);
    // Released back: smaller ids than the newest in their bucket.
    set.add(b);
    set.add(a);
    set.add(item(13, 3));
    expect(set.peek()).toBe(a);
    expect(drain(set)).toEqual([10, 11, 12, 13]);
  });

  it('deletes any job in O(1) and never hands it out', () => {
    const set = new ReadySet<Item>();
    const items = Array.from({ length: 10 }, (_, i) => item(i + 1, i % 3));
    for (const i of items) set.add(i);
    set.delete(items[0]!); // the head of bucket 0
    set.delete(items[4]!); // the middle of bucket 1
    set.delete(items[8]!); // the tail of bucket 2
    expect(items[4]!.stamp).toBe(0);
    expect(set.size).toBe(7);
    expect(drain(set)).toEqual([4, 7, 10, 2, 8, 3, 6]);
  });

  it('ignores deleting a job that is not in the set', () => {
    const set = new ReadySet<Item>();
    const a = item(1, 1);
    set.add(a);
    set.delete(item(2, 1));
    set.delete(item(3, 99));
    expect(set.size).toBe(1);
    set.delete(a);
    set.delete(a);
    expect(set.size).toBe(0);
    expect(set.peek()).toBeUndefined();
  });

  it('a job deleted and added again appears once, in its place', () => {
    const set = new ReadySet<Item>();
    const [a, b, c] = [item(1, 0), item(2, 0), item(3, 0)];
    set.add(a);
    set.add(b);
    set.add(c);
    set.delete(b);
    set.add(b);
    set.delete(a);
    set.add(a);
    expect(drain(set)).toEqual([1, 2, 3]);
  });

  it('moves a job when its priority changes (delete, change, add)', () => {
    const set = new ReadySet<Item>();
    const [a, b] = [item(1, 5), item(2, 5)];
    set.add(a);
    set.add(b);
    set.delete(b);
    b.priority = 1;
    set.add(b);
    expect(drain(set)).toEqual([2, 1]);
  });

  it('counts urgent jobs (priority below 1024)', () => {
    const set = new ReadySet<Item>();
    const urgent = item(1, URGENT_BELOW - 1);
    set.add(urgent);
    set.add(item(2, URGENT_BELOW));
    set.add(item(3, 0));
    expect(set.urgent).toBe(2);
    set.delete(urgent);
    expect(set.urgent).toBe(1);
    set.shift();
    expect(set.urgent).toBe(0);
    expect(set.size).toBe(1);
  });

  it('stays ordered with many distinct priorities (buckets emptied and dropped)', () => {
    const set = new ReadySet<Item>();
    let id = 1;
    for (let round = 0; round < 3; round++) {
      const added: Item[] = [];
      for (let p = 300; p >= 0; p--) {
        const i = item(id++, p);
        added.push(i);
        set.add(i);
      }
      expect(drain(set)).toEqual([...added].sort((x, y) => x.priority - y.priority || x.id - y.id).map((i) => i.id));
    }
  });

  it('keeps order when the priority changes each time the set empties, then when several are live', () => {
    const set = new ReadySet<Item>();
    const first = item(1, 5);
    set.add(first);
    expect(set.shift()).toBe(first);
    // Empty: the next priority may take over; an older job coming back still goes first.
    const later = item(3, 2);
    set.add(later);
    const back = item(2, 2);
    set.add(back);
    expect(set.peek()).toBe(back);
    set.delete(back);
    set.add(item(4, 9));
    set.add(item(5, 0));
    set.add(back);
    expect(set.size).toBe(4);
    expect(drain(set)).toEqual([5, 2, 3, 4]);
    set.add(item(6, 7));
    expect(drain(set)).toEqual([6]);
  });

  it('grows a bucket past its initial capacity while it wraps around', () => {
    const set = new ReadySet<Item>();
    let id = 1;
    const expected: number[] = [];
    // Interleave adds and shifts so the ring wraps before it grows.
    for (let i = 0; i < 6; i++) set.add(item(id++, 0));
    for (let i = 0; i < 4; i++) expected.push(set.shift()!.id);
    for (let i = 0; i < 40; i++) set.add(item(id++, 0));
    expected.push(...drain(set));
    expect(expected).toEqual(Array.from({ length: 46 }, (_, i) => i + 1));
  });

  it('clear() empties it', () => {
    const set = new ReadySet<Item>();
    set.add(item(1, 0));
    set.add(item(2, 2000));
    set.clear();
    expect(set.size).toBe(0);
    expect(set.urgent).toBe(0);
    expect(set.peek()).toBeUndefined();
  });

  it('matches a sorted-array model under random add, re-add, delete and shift', () => {
    type Op = { kind: 'add'; priority: number } | { kind: 'readd'; pick: number; priority: number } | { kind: 'delete'; pick: number } | { kind: 'shift' };
    const priority = fc.oneof(fc.integer({ min: 0, max: 3 }), fc.integer({ min: 0, max: 200 }), fc.constantFrom(1023, 1024, 2 ** 32 - 1));
    const op: fc.Arbitrary<Op> = fc.oneof(
      { weight: 4, arbitrary: fc.record({ kind: fc.constant('add' as const), priority }) },
      { weight: 2, arbitrary: fc.record({ kind: fc.constant('readd' as const), pick: fc.nat(), priority }) },
      { weight: 2, arbitrary: fc.record({ kind: fc.constant('delete' as const), pick: fc.nat() }) },
      { weight: 3, arbitrary: fc.constant({ kind: 'shift' as const }) },
    );
    fc.assert(
      fc.property(fc.array(op, { maxLength: 300 }), (ops) => {
        const set = new ReadySet<Item>();
        const inside: Item[] = [];
        const outside: Item[] = [];
        let nextId = 1;
        const order = (a: Item, b: Item): number => a.priority - b.priority || a.id - b.id;
        for (const o of ops) {
          if (o.kind === 'add') {
            const i = item(nextId++, o.priority);
            set.add(i);
            inside.push(i);
          } else if (o.kind === 'readd' && outside.length > 0) {
            const [i] = outside.splice(o.pick % outside.length, 1);
            i!.priority = o.priority;
            set.add(i!);
            inside.push(i!);
          } else if (o.kind === 'delete' && inside.length > 0) {
            const [i] = inside.splice(o.pick % inside.length, 1);
            set.delete(i!);
            outside.push(i!);
          } else if (o.kind === 'shift') {
            inside.sort(order);
            const expected = inside.shift();
            expect(set.shift()).toBe(expected);
            if (expected !== undefined) outside.push(expected);
          }
          inside.sort(order);
          expect(set.size).toBe(inside.length);
          expect(set.urgent).toBe(inside.filter((i) => i.priority < URGENT_BELOW).length);
          expect(set.peek()).toBe(inside[0]);
        }
        expect(drain(set)).toEqual(inside.map((i) => i.id));
      }),
      { numRuns: 300 },
    );
  });
  it('keeps two sets apart when jobs move between them (a job is only where it was last added)', () => {
    // A group keeps fresh jobs and returned ones in two sets; a job deleted from one may be
    // added to the other at the same priority, while its old entry is still in the first.
    type Op =
      | { kind: 'add'; to: number; priority: number }
      | { kind: 'move'; pick: number; to: number; priority: number }
      | { kind: 'delete'; pick: number }
      | { kind: 'shift'; from: number };
    const side = fc.integer({ min: 0, max: 1 });
    const priority = fc.integer({ min: 0, max: 2 });
    const op: fc.Arbitrary<Op> = fc.oneof(
      { weight: 4, arbitrary: fc.record({ kind: fc.constant('add' as const), to: side, priority }) },
      { weight: 3, arbitrary: fc.record({ kind: fc.constant('move' as const), pick: fc.nat(), to: side, priority }) },
      { weight: 2, arbitrary: fc.record({ kind: fc.constant('delete' as const), pick: fc.nat() }) },
      { weight: 3, arbitrary: fc.record({ kind: fc.constant('shift' as const), from: side }) },
    );
    fc.assert(
      fc.property(fc.array(op, { maxLength: 300 }), (ops) => {
        const sets = [new ReadySet<Item>(), new ReadySet<Item>()];
        const inside: Item[][] = [[], []];
        const outside: Item[] = [];
        let nextId = 1;
        const order = (a: Item, b: Item): number => a.priority - b.priority || a.id - b.id;
        const take = (pick: number): [Item, number] | undefined => {
          const all = inside[0]!.length + inside[1]!.length;
          if (all === 0) return undefined;
          const at = pick % all;
          const from = at < inside[0]!.length ? 0 : 1;
          const [i] = inside[from]!.splice(from === 0 ? at : at - inside[0]!.length, 1);
          sets[from]!.delete(i!);
          return [i!, from];
        };
        for (const o of ops) {
          if (o.kind === 'add') {
            const i = item(nextId++, o.priority);
            sets[o.to]!.add(i);
            inside[o.to]!.push(i);
          } else if (o.kind === 'move') {
            const taken = take(o.pick);
            if (taken === undefined) continue;
            taken[0].priority = o.priority;
            sets[o.to]!.add(taken[0]);
            inside[o.to]!.push(taken[0]);
          } else if (o.kind === 'delete') {
            const taken = take(o.pick);
            if (taken !== undefined) outside.push(taken[0]);
          } else {
            inside[o.from]!.sort(order);
            const expected = inside[o.from]!.shift();
            expect(sets[o.from]!.shift()).toBe(expected);
            if (expected !== undefined) outside.push(expected);
          }
          for (const s of [0, 1]) {
            inside[s]!.sort(order);
            expect(sets[s]!.size).toBe(inside[s]!.length);
            expect(sets[s]!.peek()).toBe(inside[s]![0]);
          }
        }
        for (const s of [0, 1]) expect(drain(sets[s]!)).toEqual(inside[s]!.map((i) => i.id));
      }),
      { numRuns: 300 },
    );
  });
});
