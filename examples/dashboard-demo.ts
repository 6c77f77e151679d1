// `npm run demo:dashboard`: a dashboard over three demo queues with jobs flowing (some
// failing into dead letters) until Ctrl-C. PORT=... picks the port (default 3000).
import { createServer } from 'node:http';
import { Queue, UnrecoverableError } from 'docket';
import { dashboard } from 'docket/dashboard';

const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));
const pick = <T>(items: readonly T[]): T => items[Math.floor(Math.random() * items.length)];

const emails = new Queue<{ to: string; template: string }>({
  name: 'emails',
  concurrency: 4,
  retry: { attempts: 3, backoff: { type: 'exponential', delay: 500 } },
});
const thumbnails = new Queue<{ path: string; width: number }>({ name: 'thumbnails', concurrency: 2, retry: { attempts: 2 } });
const webhooks = new Queue<{ url: string; event: string }>({
  name: 'webhooks',
  concurrency: 3,
  retry: { attempts: 4, backoff: { type: 'fixed', delay: 1000 } },
});

emails.process(async (job) => {
  await sleep(30 + Math.random() * 120);
  if (job.data.to.endsWith('@bounce.example')) throw new Error(`mailbox ${job.data.to} does not exist`);
});
thumbnails.process(async (job, { progress }) => {
  for (let done = 25; done <= 100; done += 25) {
    await sleep(100 + Math.random() * 200);
    progress({ percent: done });
  }
  if (job.data.width > 4000) throw new UnrecoverableError(`width ${job.data.width} is over the 4000 px limit`);
});
webhooks.process(async (job) => {
  await sleep(50 + Math.random() * 300);
  if (Math.random() < 0.3) throw new Error(`POST ${job.data.url}: 503 Service Unavailable`);
});

// Producers: a steady trickle with bursts, a few delayed jobs, a few that will fail.
const timers = [
  setInterval(() => {
    const burst = Math.random() < 0.1 ? 20 : 2;
    for (let i = 0; i < burst; i++) {
      void emails.add(
        { to: pick(['ada@example.com', 'grace@example.com', 'alan@example.com', 'nobody@bounce.example']), template: pick(['welcome', 'receipt', 'reset']) },
        { priority: pick([10, 1024, 1024, 2000]) },
      );
    }
  }, 400),
  setInterval(() => {
    void thumbnails.add(
      { path: `/uploads/${Math.floor(Math.random() * 1e6)}.jpg`, width: pick([160, 640, 1280, 8000]) },
      { delay: pick([0, 0, 5000, 30_000]) },
    );
  }, 900),
  setInterval(() => {
    void webhooks.add({ url: pick(['https://hooks.example.com/orders', 'https://crm.example.com/events']), event: pick(['order.paid', 'user.created']) });
  }, 300),
];

const handler = dashboard({ queues: { emails, thumbnails, webhooks }, actions: true });
const port = Number(process.env.PORT ?? 3000);
const server = createServer(handler).listen(port, '127.0.0.1', () => {
  console.log(`docket dashboard on http://127.0.0.1:${port}/ (Ctrl-C to stop)`);
});

process.once('SIGINT', () => {
  console.log('\nstopping');
  for (const timer of timers) clearInterval(timer);
  handler.close();
  server.closeAllConnections();
  server.close();
  void Promise.all([emails, thumbnails, webhooks].map((q) => q.close({ timeout: 1000 }))).then(() => process.exit(0));
});
