// On SIGTERM: stop taking jobs, let running ones finish (up to 5 s), then exit on its own.
import { Queue } from 'docket';

const q = new Queue<number>({ concurrency: 2 });
q.process(async (job, { signal }) => {
  // Honour the signal: it aborts if close() has to give up on this job.
  await new Promise((resolve, reject) => {
    const timer = setTimeout(resolve, 50);
    signal.addEventListener('abort', () => {
      clearTimeout(timer);
      reject(signal.reason);
    });
  });
  console.log(`  finished job ${job.id}`);
});

process.once('SIGTERM', () => {
  console.log('  SIGTERM: closing the queue');
  void q.close({ timeout: 5_000 }).then(() => console.log(`  closed; ${q.size} job(s) left for next time`));
});

await q.addBulk([1, 2, 3, 4, 5, 6].map((data) => ({ data })));
// For the demo, send ourselves the signal while jobs are running.
setTimeout(() => process.kill(process.pid, 'SIGTERM'), 20);
