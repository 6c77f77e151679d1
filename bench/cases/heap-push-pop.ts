/**
 * Heap throughput: `node --import tsx bench/cases/heap-push-pop.ts <subject> <mode> [items]`
 *
 * subject: docket | tinyqueue | flatqueue | heap-js, and for numbers also `docket Heap`
 * mode:
 * - `fill`: push N random keys, then pop them all (2N ops).
 * - `steady`: fill to SIZE and warm up untimed, then M times pop the smallest and push it back
 *   with a later key (the classic "hold" model of an event scheduler; 2M ops).
 * items:
 * - `objects` (default): pre-built `{ key, id }` objects (no allocation in the timed part).
 *   tinyqueue and heap-js get a compare function on the key; flatqueue and docket take
 *   (item, key).
 * - `numbers`: plain numbers, every subject on its defaults: tinyqueue and heap-js with their
 *   default comparator (`push(n)`, `add(n)`), flatqueue with the number as both item and
 *   priority (`push(n, n)`), docket with its `NumberHeap` (`push(n)`), and docket's keyed
 *   `Heap` as `push(n, n)` for comparison.
 *
 * Reports ops per CPU-second (wall time in `extra`). Every subject sees the same seeded keys, through its cheapest documented calls (heap-js:
 * `add`, not the variadic `push`). Only docket is stable (FIFO among equal keys).
 */
import { Heap as HeapJs } from 'heap-js';
import FlatQueue from 'flatqueue';
import TinyQueue from 'tinyqueue';
import { Heap } from '../../src/heap/heap.js';
import { NumberHeap } from '../../src/heap/number-heap.js';
import { args, cpuTimeMs, main, perSecond, pick, report, scaled, seededRandom } from '../harness.js';

interface Item {
  key: number;
  id: number;
}

/** The common shape the cases drive. */
interface MinHeap<T> {
  push(item: T): void;
  pop(): T | undefined;
}

const byKey = (a: Item, b: Item): number => a.key - b.key;

const objectHeaps: Record<string, () => MinHeap<Item>> = {
  docket: () => {
    const h = new Heap<Item>();
    return { push: (item) => h.push(item, item.key), pop: () => h.pop() };
  },
  tinyqueue: () => {
    const h = new TinyQueue<Item>([], byKey);
    return { push: (item) => h.push(item), pop: () => h.pop() };
  },
  flatqueue: () => {
    const h = new FlatQueue<Item>();
    return { push: (item) => h.push(item, item.key), pop: () => h.pop() };
  },
  'heap-js': () => {
    const h = new HeapJs<Item>(byKey);
    return { push: (item) => void h.add(item), pop: () => h.pop() };
  },
};

const numberHeaps: Record<string, () => MinHeap<number>> = {
  docket: () => {
    const h = new NumberHeap();
    return { push: (n) => h.push(n), pop: () => h.pop() };
  },
  'docket Heap': () => {
    const h = new Heap<number>();
    return { push: (n) => h.push(n, n), pop: () => h.pop() };
  },
  tinyqueue: () => {
    const h = new TinyQueue<number>();
    return { push: (n) => h.push(n), pop: () => h.pop() };
  },
  flatqueue: () => {
    const h = new FlatQueue<number>();
    return { push: (n) => h.push(n, n), pop: () => h.pop() };
  },
  'heap-js': () => {
    const h = new HeapJs<number>();
    return { push: (n) => void h.add(n), pop: () => h.pop() };
  },
};

/** Push all, then pop all; throws if anything comes out of order. */
function fill<T>(heap: MinHeap<T>, items: T[], keyOf: (item: T) => number): number {
  const n = items.length;
  let previous = -Infinity;
  let disorder = 0;
  for (let i = 0; i < n; i++) heap.push(items[i]);
  for (let i = 0; i < n; i++) {
    const key = keyOf(heap.pop() as T);
    if (key < previous) disorder++;
    previous = key;
  }
  if (disorder > 0) throw new Error(`${disorder} items came out of key order`);
  return 2 * n;
}

main(async () => {
  const mode = args()[1];
  const kind = args()[2] ?? 'objects';
  const random = seededRandom(42);
  const size = 10_000;

  if (kind === 'objects') {
    const heap = pick(objectHeaps)();
    if (mode === 'fill') {
      const items = Array.from({ length: scaled(1_000_000) }, (_, id) => ({ key: Math.floor(random() * 1e9), id }));
      let ops = 0;
      const { cpuMs, wallMs } = await cpuTimeMs(() => {
        ops = fill(heap, items, (item) => item.key);
      });
      return report(perSecond(ops, cpuMs), { n: items.length, cpuMs: Math.round(cpuMs), wallMs: Math.round(wallMs) });
    }
    if (mode === 'steady') {
      const m = scaled(1_000_000);
      for (let id = 0; id < size; id++) heap.push({ key: random() * size, id });
      const steps = Float64Array.from({ length: m }, () => random() * size);
      const hold = (count: number): void => {
        for (let i = 0; i < count; i++) {
          const item = heap.pop() as Item;
          item.key += steps[i];
          heap.push(item);
        }
      };
      // Warm-up (untimed): the timed part is short, so let the JIT settle first.
      hold(Math.min(m, 100_000));
      const { cpuMs, wallMs } = await cpuTimeMs(() => hold(m));
      return report(perSecond(2 * m, cpuMs), { size, m, cpuMs: Math.round(cpuMs), wallMs: Math.round(wallMs) });
    }
  } else if (kind === 'numbers') {
    const heap = pick(numberHeaps)();
    if (mode === 'fill') {
      const keys = Array.from({ length: scaled(1_000_000) }, () => Math.floor(random() * 1e9));
      let ops = 0;
      const { cpuMs, wallMs } = await cpuTimeMs(() => {
        ops = fill(heap, keys, (n) => n);
      });
      return report(perSecond(ops, cpuMs), { n: keys.length, cpuMs: Math.round(cpuMs), wallMs: Math.round(wallMs) });
    }
    if (mode === 'steady') {
      const m = scaled(1_000_000);
      for (let i = 0; i < size; i++) heap.push(random() * size);
      const steps = Float64Array.from({ length: m }, () => random() * size);
      const hold = (count: number): void => {
        for (let i = 0; i < count; i++) heap.push((heap.pop() as number) + steps[i]);
      };
      hold(Math.min(m, 100_000));
      const { cpuMs, wallMs } = await cpuTimeMs(() => hold(m));
      return report(perSecond(2 * m, cpuMs), { size, m, cpuMs: Math.round(cpuMs), wallMs: Math.round(wallMs) });
    }
  } else {
    throw new Error(`unknown items ${JSON.stringify(kind)}; expected objects or numbers`);
  }
  throw new Error(`unknown mode ${JSON.stringify(mode)}; expected fill or steady`);
});
