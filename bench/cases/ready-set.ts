/**
 * The ready set's design choice: `node --import tsx bench/cases/ready-set.ts <buckets|heap> <priorities>`
 *
 * 1M jobs (ids ascending, priorities cycling over `priorities` values) go into docket's
 * ReadySet (a heap of distinct priorities over one FIFO ring each) or into one stable binary
 * heap keyed by priority, and all come out again. Reports push+pop per second.
 */
import { Heap } from '../../src/heap/heap.js';
import { ReadySet } from '../../src/ready-set.js';
import { args, main, perSecond, pick, report, scaled, timeMs } from '../harness.js';

interface Item {
  id: number;
  priority: number;
  stamp: number;
}

const subjects: Record<string, (items: Item[]) => number> = {
  buckets: (items) => {
    const set = new ReadySet<Item>();
    for (const item of items) set.add(item);
    let out = 0;
    while (set.shift() !== undefined) out++;
    return out;
  },
  heap: (items) => {
    const heap = new Heap<Item>();
    for (const item of items) heap.push(item, item.priority);
    let out = 0;
    while (heap.pop() !== undefined) out++;
    return out;
  },
};

main(async () => {
  const run = pick(subjects);
  const priorities = Number(args()[1] ?? 1);
  const n = scaled(1_000_000);
  const items = Array.from({ length: n }, (_, i) => ({ id: i + 1, priority: (i * 7) % priorities, stamp: 0 }));
  let out = 0;
  const ms = await timeMs(() => (out = run(items)));
  if (out !== n) throw new Error(`${out} items came out, expected ${n}`);
  report(perSecond(2 * n, ms), { n, priorities });
});
