import { describe, expect, it } from 'vitest';
import { Heap } from '../src/heap/heap.js';

function drain<T>(heap: Heap<T>): T[] {
  const out: T[] = [];
  for (let item = heap.pop(); item !== undefined; item = heap.pop()) out.push(item);
  return out;
}

describe('Heap order', () => {
  it('is empty when new', () => {
    const heap = new Heap<string>();
    expect(heap.size).toBe(0);
    expect(heap.pop()).toBeUndefined();
    expect(heap.peek()).toBeUndefined();
    expect(heap.peekKey()).toBeUndefined();
    expect(heap.at(0)).toBeUndefined();
  });

  it('pops items in ascending key order', () => {
    const heap = new Heap<string>();
    const keys = [5, 3, 9, 1, 7, 2, 8, 0, 6, 4];
    for (const key of keys) heap.push(`k${key}`, key);
    expect(heap.size).toBe(10);
    expect(drain(heap)).toEqual(
      keys
        .slice()
        .sort((a, b) => a - b)
        .map((k) => `k${k}`),
    );
    expect(heap.size).toBe(0);
  });

  it('peek and peekKey show the smallest without removing it', () => {
    const heap = new Heap<string>();
    heap.push('b', 2);
    heap.push('a', 1);
    heap.push('c', 3);
    expect(heap.peek()).toBe('a');
    expect(heap.peekKey()).toBe(1);
    expect(heap.size).toBe(3);
    expect(heap.pop()).toBe('a');
    expect(heap.peek()).toBe('b');
    expect(heap.peekKey()).toBe(2);
  });

  it('handles negative, fractional and very large keys', () => {
    const heap = new Heap<number>();
    const keys = [0.5, -3, 2 ** 32 - 1, -0.25, 1e300, -Infinity, Infinity, 0];
    for (const key of keys) heap.push(key, key);
    expect(drain(heap)).toEqual(keys.slice().sort((a, b) => a - b));
  });

  it('keeps equal keys in insertion order (FIFO)', () => {
    const heap = new Heap<string>();
    for (let i = 0; i < 20; i++) heap.push(`p${i % 3}-${i}`, i % 3);
    const out = drain(heap);
    const expected = [0, 1, 2].flatMap((p) =>
      Array.from({ length: 20 }, (_, i) => i)
        .filter((i) => i % 3 === p)
        .map((i) => `p${p}-${i}`),
    );
    expect(out).toEqual(expected);
  });

  it('stays FIFO among equal keys when pushes and pops interleave', () => {
    const heap = new Heap<number>();
    const out: number[] = [];
    let next = 0;
    for (let round = 0; round < 50; round++) {
      for (let i = 0; i < 3; i++) heap.push(next++, 7);
      out.push(heap.pop()!);
    }
    out.push(...drain(heap));
    expect(out).toEqual(Array.from({ length: 150 }, (_, i) => i));
  });

  it('places a later push with an equal key after every earlier one, even after pops', () => {
    const heap = new Heap<string>();
    heap.push('a1', 1);
    heap.push('b1', 1);
    heap.push('z0', 0);
    expect(heap.pop()).toBe('z0');
    heap.push('c1', 1);
    heap.push('y0', 0);
    expect(drain(heap)).toEqual(['y0', 'a1', 'b1', 'c1']);
  });

  it('at() reads positions and refuses out-of-range ones', () => {
    const heap = new Heap<string>();
    heap.push('a', 1);
    heap.push('b', 2);
    expect(heap.at(0)).toBe('a');
    expect(heap.at(1)).toBe('b');
    expect(heap.at(2)).toBeUndefined();
    expect(heap.at(-1)).toBeUndefined();
  });

  it('iterates over every item exactly once without removing them', () => {
    const heap = new Heap<number>();
    for (const n of [4, 2, 9, 1, 1]) heap.push(n, n);
    expect([...heap].sort()).toEqual([1, 1, 2, 4, 9]);
    expect(heap.size).toBe(5);
    expect(heap.peek()).toBe(1);
  });

  it('clear() empties the heap and it stays usable and stable', () => {
    const heap = new Heap<string>();
    for (let i = 0; i < 10; i++) heap.push(`old${i}`, i);
    heap.clear();
    expect(heap.size).toBe(0);
    expect(heap.pop()).toBeUndefined();
    expect([...heap]).toEqual([]);
    heap.push('x', 1);
    heap.push('y', 1);
    heap.push('w', 0);
    expect(drain(heap)).toEqual(['w', 'x', 'y']);
  });

  it('shrink() keeps every item and the order', () => {
    const heap = new Heap<string>();
    // Keys 0..999 in a scrambled order (7919 is prime, so i -> i*7919 % 1000 is a permutation).
    for (let i = 0; i < 1000; i++) heap.push(`k${(i * 7919) % 1000}`, (i * 7919) % 1000);
    for (let i = 0; i < 990; i++) heap.pop();
    heap.shrink();
    expect(heap.size).toBe(10);
    expect(heap.peekKey()).toBe(990);
    heap.push('extra', 995.5);
    heap.push('first', -1);
    expect(drain(heap)).toEqual(['first', 'k990', 'k991', 'k992', 'k993', 'k994', 'k995', 'extra', 'k996', 'k997', 'k998', 'k999']);
  });
});
