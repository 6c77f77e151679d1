// Groups: jobs of one key run in order, one at a time; keys take turns; a retry keeps its
// key's place. Then a rate limit: at most 3 starts in any 300 ms, nothing dropped.
import { Queue } from 'docket';

const q = new Queue<string>({ concurrency: 4, retry: { attempts: 3, backoff: 20 } });
const log: string[] = [];
let failedOnce = false;
q.process(async (job) => {
  await new Promise((resolve) => setTimeout(resolve, 5));
  if (job.data === 'acme #2' && !failedOnce) {
    failedOnce = true;
    log.push(`${job.data} failed, retrying`);
    throw new Error('upstream hiccup');
  }
  log.push(job.data);
});
q.pause(); // queue everything first, so the turns are visible
for (let i = 1; i <= 4; i++) await q.add(`acme #${i}`, { group: 'acme' }); // a big tenant
await q.add('globex #1', { group: 'globex' }); // a small one
await q.add('initech #1', { group: 'initech' });
q.resume();
await q.onIdle();
console.log(`  one job per tenant at a time, tenants taking turns; acme #3 waited for the retry of #2:\n    ${log.join('\n    ')}`);
await q.close();

const limited = new Queue<number>({ concurrency: 10, limiter: { max: 3, duration: 300 } });
const started = performance.now();
const starts: string[] = [];
limited.process((job) => {
  starts.push(`job ${job.data} at ${Math.floor((performance.now() - started) / 100) * 100} ms`);
});
for (let i = 1; i <= 7; i++) limited.push(i);
await limited.onIdle();
console.log(`  limiter { max: 3, duration: 300 }: 7 jobs, none dropped:\n    ${starts.join('\n    ')}`);
await limited.close();
