import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { NumberHeap } from '../src/heap/index.js';

type Op = { kind: 'push'; value: number } | { kind: 'pop' } | { kind: 'peek' } | { kind: 'clear' };

const opArb: fc.Arbitrary<Op> = fc.oneof(
  // Few distinct values, so that duplicates are common.
  { weight: 5, arbitrary: fc.integer({ min: -3, max: 3 }).map((value) => ({ kind: 'push' as const, value })) },
  {
    weight: 2,
    // -0 and 0 tie, and toBe tells them apart: one zero only.
    arbitrary: fc.double({ noNaN: true }).map((value) => ({ kind: 'push' as const, value: value === 0 ? 0 : value })),
  },
  { weight: 4, arbitrary: fc.constant({ kind: 'pop' as const }) },
  { weight: 1, arbitrary: fc.constant({ kind: 'peek' as const }) },
  { weight: 1, arbitrary: fc.constant({ kind: 'clear' as const }) },
);

describe('NumberHeap', () => {
  it('pops in ascending order whatever the interleaving of pushes and pops (against a sorted list)', () => {
    fc.assert(
      fc.property(fc.array(opArb, { maxLength: 400 }), (ops) => {
        const heap = new NumberHeap();
        const model: number[] = [];
        for (const op of ops) {
          if (op.kind === 'push') {
            heap.push(op.value);
            model.push(op.value);
            model.sort((a, b) => a - b);
          } else if (op.kind === 'pop') {
            expect(heap.pop()).toBe(model.shift());
          } else if (op.kind === 'peek') {
            expect(heap.peek()).toBe(model[0]);
          } else {
            heap.clear();
            model.length = 0;
          }
          expect(heap.size).toBe(model.length);
        }
        expect([...heap].sort((a, b) => a - b)).toEqual(model);
      }),
      { numRuns: 300 },
    );
  });

  it('keeps -0, infinities and fractions in order', () => {
    const heap = new NumberHeap();
    for (const v of [Infinity, 0.5, -Infinity, 3, -0, 2.25]) heap.push(v);
    const out: number[] = [];
    for (let v = heap.pop(); v !== undefined; v = heap.pop()) out.push(v);
    expect(out).toEqual([-Infinity, -0, 0.5, 2.25, 3, Infinity]);
    expect(heap.pop()).toBeUndefined();
    expect(heap.peek()).toBeUndefined();
  });

  it('refuses NaN with a RangeError and stays intact', () => {
    const heap = new NumberHeap();
    heap.push(2);
    heap.push(1);
    expect(() => heap.push(Number.NaN)).toThrow(RangeError);
    expect(heap.size).toBe(2);
    expect([heap.pop(), heap.pop()]).toEqual([1, 2]);
  });
});
