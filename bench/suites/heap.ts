import type { Row, Suite } from '../harness.js';

const peers = ['tinyqueue', 'flatqueue', 'heap-js'];

function row(name: string, mode: string, items: 'objects' | 'numbers'): Row {
  const labels = items === 'numbers' ? ['docket', ...peers, 'docket Heap'] : ['docket', ...peers];
  const notes: Record<string, string> =
    items === 'numbers'
      ? {
          docket: 'NumberHeap push(n)',
          tinyqueue: 'default comparator, push(n)',
          flatqueue: 'push(n, n)',
          'heap-js': 'default comparator, add(n)',
          'docket Heap': 'keyed Heap push(n, n), for information',
        }
      : { docket: 'Heap push(item, key), stable', tinyqueue: 'compare on key', flatqueue: 'push(item, key)', 'heap-js': 'compare on key, add(item)' };
  return {
    name,
    target: '>= 1.0x tinyqueue',
    targetRatio: { tinyqueue: 1.0 },
    unit: 'ops per CPU-s',
    higherIsBetter: true,
    subjects: labels.map((label) => ({
      label,
      script: 'cases/heap-push-pop.ts',
      args: [label, mode, items],
      docket: label === 'docket',
      note: notes[label],
    })),
  };
}

export default {
  title: 'docket/heap vs tinyqueue, flatqueue, heap-js',
  description:
    'Keys from one seeded PRNG; an op is one push or one pop. Object rows: pre-built `{ key, id }` objects; ' +
    "docket's `Heap` is the only stable one (FIFO among equal keys), which costs a sequence number per item. " +
    "Number rows: plain numbers on each library's defaults; docket's `NumberHeap` (equal numbers cannot be told " +
    'apart, so there is no order among them to keep).',
  rows: [
    row('objects: push 1M random keys, then pop all', 'fill', 'objects'),
    row('objects: steady push/pop at size 10,000 (1M pop + push pairs, hold model)', 'steady', 'objects'),
    row('numbers: push 1M random numbers, then pop all', 'fill', 'numbers'),
    row('numbers: steady push/pop at size 10,000 (1M pop + push pairs, hold model)', 'steady', 'numbers'),
  ],
} satisfies Suite;
