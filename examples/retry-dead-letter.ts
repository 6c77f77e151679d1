// Retries with exponential backoff, a dead letter when attempts run out, and a redrive.
import { Queue, UnrecoverableError } from 'docket';

const webhooks = new Queue<{ url: string }>({
  retry: { attempts: 3, backoff: { type: 'exponential', delay: 20, max: 1000 } },
});

let endpointUp = false;
webhooks.process(async (job) => {
  if (job.data.url.startsWith('ftp:')) throw new UnrecoverableError('unsupported scheme');
  if (!endpointUp) throw new Error(`503 from ${job.data.url}`);
  return 'delivered';
});

webhooks.on('retrying', (job, error, delay) => console.log(`  job ${job.id}: attempt ${job.attemptsMade} failed (${error.message}); retry in ${delay} ms`));
webhooks.on('dead', (job, reason) => console.log(`  job ${job.id} is a dead letter: ${reason} after ${job.attemptsMade} attempt(s)`));
webhooks.on('completed', (job, result) => console.log(`  job ${job.id}: ${String(result)}`));

await webhooks.add({ url: 'https://example.com/hook' });
await webhooks.add({ url: 'ftp://example.com/hook' });
await webhooks.onIdle();

for (const job of webhooks.deadLetters.list()) {
  console.log(`  dead letter ${job.id}: ${job.deadReason}; errors: ${job.errors.map((e) => e.message).join(' | ')}`);
}

console.log('  the endpoint is back: redrive the dead letters');
endpointUp = true;
webhooks.deadLetters.redrive();
await webhooks.onIdle();
console.log(`  dead letters left: ${webhooks.deadLetters.size} (the ftp one fails for good again)`);
await webhooks.close();
