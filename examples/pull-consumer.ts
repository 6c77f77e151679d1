// Pull consumer: reserve a job, work on it under a lease, then ack, release or bury it.
import { Queue } from 'docket';

const q = new Queue<{ n: number }>({ ttr: 5_000, retry: { attempts: 3 } });
await q.addBulk([1, 2, 3].map((n) => ({ data: { n } })));

for (;;) {
  const job = await q.reserve({ timeout: 100 });
  if (job === undefined) break; // nothing more within 100 ms
  if (job.data.n === 2 && job.attemptsMade === 1) {
    console.log(`  job ${job.id}: not now, release it for later`);
    await job.release({ delay: 10 });
    continue;
  }
  job.touch(); // a long task renews its lease
  console.log(`  job ${job.id}: n=${job.data.n}, attempt ${job.attemptsMade}, ack`);
  await job.ack();
}
await q.close();
