/**
 * Heap throughput: `node --import tsx bench/cases/heap-push-pop.ts <subject> <mode>`
 *
 * subject: docket | tinyqueue | flatqueue | heap-js
 * mode:
 * - `fill`: push N random keys, then pop them all (2N ops).
 * - `steady`: fill to SIZE and warm up untimed, then M times pop the smallest and push it back
 *   with a later key (the classic "hold" model of an event scheduler; 2M ops).
 *
 * Every subject stores the same pre-built `{ key, id }` objects (no allocation in the timed
 * part) and sees the same seeded keys. Peers get the natural API: a compare function on the
 * key for tinyqueue and heap-js, (item, key) for flatqueue and docket. Only docket is stable.
 */
import { Heap as HeapJs } from 'heap-js';
import FlatQueue from 'flatqueue';
import TinyQueue from 'tinyqueue';
import { Heap } from '../../src/heap/heap.js';
import { args, main, perSecond, pick, report, scaled, seededRandom, timeMs } from '../harness.js';

interface Item {
  key: number;
  id: number;
}

/** The common shape the cases drive. */
interface MinHeap {
  push(item: Item): void;
  pop(): Item | undefined;
}

const byKey = (a: Item, b: Item): number => a.key - b.key;

const subjects: Record<string, () => MinHeap> = {
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
    return { push: (item) => void h.push(item), pop: () => h.pop() };
  },
};

main(async () => {
  const create = pick(subjects);
  const mode = args()[1];
  const random = seededRandom(42);
  const heap = create();

  if (mode === 'fill') {
    const n = scaled(1_000_000);
    const items = Array.from({ length: n }, (_, id) => ({ key: Math.floor(random() * 1e9), id }));
    let previous = -Infinity;
    let disorder = 0;
    const ms = await timeMs(() => {
      for (let i = 0; i < n; i++) heap.push(items[i]);
      for (let i = 0; i < n; i++) {
        const item = heap.pop()!;
        if (item.key < previous) disorder++;
        previous = item.key;
      }
    });
    if (disorder > 0) throw new Error(`${disorder} items came out of key order`);
    report(perSecond(2 * n, ms), { n, ms: Math.round(ms) });
  } else if (mode === 'steady') {
    const size = 10_000;
    const m = scaled(1_000_000);
    for (let id = 0; id < size; id++) heap.push({ key: random() * size, id });
    const steps = Float64Array.from({ length: m }, () => random() * size);
    const hold = (count: number): void => {
      for (let i = 0; i < count; i++) {
        const item = heap.pop()!;
        item.key += steps[i];
        heap.push(item);
      }
    };
    // Warm-up (untimed): the timed part is short, so let the JIT settle first.
    hold(Math.min(m, 100_000));
    const ms = await timeMs(() => hold(m));
    report(perSecond(2 * m, ms), { size, m, ms: Math.round(ms) });
  } else {
    throw new Error(`unknown mode ${JSON.stringify(mode)}; expected fill or steady`);
  }
});
