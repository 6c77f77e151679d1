import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { Heap } from '../src/heap/heap.js';

interface Handle {
  id: number;
  key: number;
  index: number;
}

type Op = { kind: 'push'; key: number } | { kind: 'pop' } | { kind: 'peek' } | { kind: 'remove'; pick: number };

// Few distinct keys so that ties (and so stability) are exercised constantly.
const opArb: fc.Arbitrary<Op> = fc.oneof(
  { weight: 5, arbitrary: fc.integer({ min: 0, max: 5 }).map((key) => ({ kind: 'push' as const, key })) },
  { weight: 1, arbitrary: fc.double({ min: -1e6, max: 1e6, noNaN: true }).map((key) => ({ kind: 'push' as const, key })) },
  { weight: 3, arbitrary: fc.constant({ kind: 'pop' as const }) },
  { weight: 1, arbitrary: fc.constant({ kind: 'peek' as const }) },
  { weight: 2, arbitrary: fc.nat().map((pick) => ({ kind: 'remove' as const, pick })) },
);

/** The model: a list kept sorted by (key, insertion id); removal by handle. */
class Model {
  items: Handle[] = [];
  insert(h: Handle): void {
    let i = this.items.length;
    while (i > 0 && (this.items[i - 1].key > h.key || (this.items[i - 1].key === h.key && this.items[i - 1].id > h.id))) i--;
    this.items.splice(i, 0, h);
  }
  remove(h: Handle): void {
    this.items.splice(this.items.indexOf(h), 1);
  }
}

function run(ops: Op[]): void {
  const heap = new Heap<Handle>({ trackIndex: (h, index) => (h.index = index) });
  const model = new Model();
  let nextId = 0;
  for (const op of ops) {
    switch (op.kind) {
      case 'push': {
        const h: Handle = { id: nextId++, key: op.key, index: -2 };
        heap.push(h, op.key);
        model.insert(h);
        break;
      }
      case 'pop': {
        const got = heap.pop();
        const want = model.items.shift();
        expect(got).toBe(want);
        if (got !== undefined) expect(got.index).toBe(-1);
        break;
      }
      case 'peek':
        expect(heap.peek()).toBe(model.items[0]);
        expect(heap.peekKey()).toBe(model.items[0]?.key);
        break;
      case 'remove': {
        if (model.items.length === 0) {
          expect(heap.removeAt(0)).toBeUndefined();
          break;
        }
        const h = model.items[op.pick % model.items.length];
        expect(heap.at(h.index)).toBe(h);
        expect(heap.removeAt(h.index)).toBe(h);
        expect(h.index).toBe(-1);
        model.remove(h);
        break;
      }
    }
    expect(heap.size).toBe(model.items.length);
  }
  // Every live handle knows where it is.
  for (const h of model.items) expect(heap.at(h.index)).toBe(h);
  // Draining yields the model order exactly: (key, then insertion order).
  const rest: Handle[] = [];
  for (let h = heap.pop(); h !== undefined; h = heap.pop()) rest.push(h);
  expect(rest).toEqual(model.items);
}

describe('Heap against a sorted-array model', () => {
  it('matches on random push / pop / peek / removeAt sequences', () => {
    fc.assert(
      fc.property(fc.array(opArb, { maxLength: 300 }), (ops) => run(ops)),
      { numRuns: 300 },
    );
  });

  it('matches on long push-heavy sequences', () => {
    fc.assert(
      fc.property(fc.array(opArb, { minLength: 500, maxLength: 2000 }), (ops) => run(ops)),
      { numRuns: 20 },
    );
  });
});
