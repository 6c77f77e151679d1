// for await over reserved jobs; an AbortSignal ends the loop.
import { Queue } from 'docket';

const q = new Queue<string>();
await q.addBulk(['alpha', 'beta', 'gamma'].map((data) => ({ data })));

const stop = new AbortController();
for await (const job of q.jobs({ signal: stop.signal })) {
  console.log(`  got ${job.data}`);
  await job.ack();
  if (q.size === 0) stop.abort();
}
await q.close();
