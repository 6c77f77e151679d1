// Lower priority numbers run first; equal priorities run in the order they were added.
import { Queue } from 'docket';

const q = new Queue<string>();
q.pause(); // queue everything first, so the order is visible

await q.add('newsletter', { priority: 2000 });
await q.add('password reset', { priority: 1 });
await q.add('invoice #1'); // default priority 1024
await q.add('invoice #2');
await q.add('shutdown notice', { priority: 0 });

const order: string[] = [];
q.process((job) => {
  order.push(`${job.data} (priority ${job.priority})`);
});
q.resume();
await q.onIdle();
console.log(`  ran in this order:\n    ${order.join('\n    ')}`);
await q.close();
