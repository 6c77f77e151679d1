// A worker process: runs the jobs of the shared queue 'thumbnails' on Redis, two at a
// time, until it gets SIGTERM or SIGINT (then it finishes what it runs and leaves).
//   npx tsx examples/redis/worker.ts a          (a name for its log lines)
import { setTimeout as sleep } from 'node:timers/promises';
import { openRedisQueue } from 'docket/redis';
import type { Thumbnail } from './producer.js';

const name = process.argv[2] ?? String(process.pid);
const queue = await openRedisQueue<Thumbnail>({ url: process.env.REDIS_URL ?? 'redis://127.0.0.1:6379', name: 'thumbnails', concurrency: 2 });

queue.process(async (job, { signal }) => {
  // A real worker would resize job.data.image here; the signal aborts if the lease is lost.
  await sleep(20, undefined, { signal });
  return `${job.data.image} at ${job.data.width}px`;
});
queue.on('completed', (job, result) => console.log(`worker ${name}: job ${job.id} done (${String(result)})`));

for (const signal of ['SIGTERM', 'SIGINT'] as const) {
  process.once(signal, () => void queue.close({ timeout: 5_000 }));
}
console.log(`worker ${name}: waiting for jobs`);
