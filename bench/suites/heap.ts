import type { Row, Suite } from '../harness.js';

const peers = ['tinyqueue', 'flatqueue', 'heap-js'];

function row(name: string, mode: string): Row {
  return {
    name,
    target: '>= 1.0x tinyqueue',
    targetRatio: { tinyqueue: 1.0 },
    unit: 'ops/s',
    higherIsBetter: true,
    subjects: ['docket', ...peers].map((label) => ({
      label,
      script: 'cases/heap-push-pop.ts',
      args: [label, mode],
      docket: label === 'docket',
    })),
  };
}

export default {
  title: 'docket/heap vs tinyqueue, flatqueue, heap-js',
  description:
    'Items are pre-built `{ key, id }` objects, keys from one seeded PRNG; an op is one push or one pop. ' +
    'docket/heap is the only stable one (FIFO among equal keys), which costs a sequence number per item.',
  rows: [
    row('push 1M random keys, then pop all', 'fill'),
    row('steady push/pop at size 10,000 (1M pop + push pairs, hold model)', 'steady'),
  ],
} satisfies Suite;
