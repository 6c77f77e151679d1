// A producer and a push consumer: the smallest useful docket program.
import { Queue } from 'docket';

interface Email {
  to: string;
  subject: string;
}

const emails = new Queue<Email>({ concurrency: 2 });

emails.process(async (job) => {
  // Real code would talk to an SMTP server here.
  await new Promise((resolve) => setTimeout(resolve, 10));
  return `sent to ${job.data.to}`;
});

emails.on('completed', (job, result) => console.log(`  job ${job.id} completed: ${String(result)}`));

for (const to of ['ada@example.com', 'grace@example.com', 'linus@example.com']) {
  await emails.add({ to, subject: 'Welcome' });
}

await emails.onIdle();
await emails.close();
