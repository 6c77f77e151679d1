// A producer process: adds jobs to the shared queue 'thumbnails' on Redis, waits until
// the workers (worker.ts, as many processes as you like) have done them all, prints the
// queue's counts and leaves.
//   npx tsx examples/redis/producer.ts          (Redis at REDIS_URL or redis://127.0.0.1:6379)
import { openRedisQueue } from 'docket/redis';

export interface Thumbnail {
  image: string;
  width: number;
}

const queue = await openRedisQueue<Thumbnail>({
  url: process.env.REDIS_URL ?? 'redis://127.0.0.1:6379',
  name: 'thumbnails',
  retry: { attempts: 3 },
  ttr: 10_000,
});

// Ten jobs in one round trip, an urgent one (priority 1: ahead of any still waiting), one that waits 300 ms.
await queue.addBulk(Array.from({ length: 10 }, (_, i) => ({ data: { image: `photo-${i}.jpg`, width: 320 } })));
await queue.add({ image: 'cover.jpg', width: 1200 }, { priority: 1 });
await queue.add({ image: 'later.jpg', width: 640 }, { delay: 300 });
// The same dedupe id twice: one job.
const first = await queue.add({ image: 'avatar.jpg', width: 64 }, { id: 'avatar-ada' });
const again = await queue.add({ image: 'avatar.jpg', width: 64 }, { id: 'avatar-ada' });
console.log(`producer: 14 adds, 13 jobs (the second avatar is job ${first.id} again: duplicate ${String(again.duplicate)})`);

await queue.onIdle();
const stats = await queue.stats();
console.log(`producer: all done: ${stats.completed} completed, ${stats.failed} failed attempts, ${stats.buried} dead letters`);
await queue.close();
