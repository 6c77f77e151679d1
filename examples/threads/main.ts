// A queue whose handler runs on a pool of worker threads.
// Run: npx tsx examples/threads/main.ts  (a .ts worker needs a TypeScript loader; plain .js needs none)
import { Queue } from 'docket';
import { threads } from 'docket/threads';
import type { HashJob } from './hash-worker.js';

const q = new Queue<HashJob>({ timeout: 5_000, retry: { attempts: 2 } });

// 2 threads, one job each at a time; idle threads never keep the process alive.
const hash = threads<HashJob, string>(new URL('./hash-worker.ts', import.meta.url), { size: 2 });
q.process(hash, { concurrency: hash.concurrency });

q.on('progress', (job, value) => console.log(`  job ${job.id}: ${Math.round(Number(value) * 100)}%`));
q.on('completed', (job, digest) => console.log(`  job ${job.id} (${job.data.text}): ${String(digest).slice(0, 16)}…`));
q.on('dead', (job, reason) => console.log(`  job ${job.id} is a dead letter (${reason}): ${job.errors.at(-1)?.message}`));

await q.addBulk([
  { data: { text: 'alpha', rounds: 30_000 } },
  { data: { text: 'beta', rounds: 20_000 } },
  { data: { text: 'gamma', rounds: 0 } }, // fails with UnrecoverableError: dead at once
]);

await q.onIdle();
await q.close(); // closes the pool too
