// A bounded queue: a fast producer waits for room instead of growing memory without limit.
import { Queue, QueueFullError } from 'docket';

const q = new Queue<number>({ maxSize: 100, concurrency: 4 });
let largest = 0;
q.process(async () => {
  largest = Math.max(largest, q.size + q.pending);
  await new Promise((resolve) => setImmediate(resolve));
});

for (let i = 0; i < 1_000; i++) await q.add(i); // waits whenever 100 jobs are held
await q.onIdle();
console.log(`  1000 jobs through a queue of at most ${largest} (maxSize 100)`);

try {
  q.pause();
  for (let i = 0; i < 101; i++) await q.tryAdd(i);
} catch (error) {
  if (error instanceof QueueFullError) console.log(`  tryAdd refused: ${error.message}`);
}
await q.close({ timeout: 0 });
