// `npm run screenshot:dashboard`: the screenshots in docs/ (dashboard.png, the overview;
// dashboard-job.png, a dead letter's page), taken in headless Chromium over queues with
// jobs in every state and a few seconds of work behind them.
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { Queue } from 'docket';
import { dashboard } from 'docket/dashboard';
import { launchChromium, requireChromium } from '../test/helpers/chromium.js';

const chromium = requireChromium('the screenshots');
if (chromium === undefined) process.exit(1);

const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));
const emails = new Queue<{ to: string; template: string }>({ name: 'emails', concurrency: 4, retry: { attempts: 2, backoff: { type: 'fixed', delay: 50 } } });
const thumbnails = new Queue<{ path: string; width: number }>({ name: 'thumbnails', concurrency: 2, retry: { attempts: 1 } });
const webhooks = new Queue<{ url: string; event: string }>({ name: 'webhooks', concurrency: 3, retry: { attempts: 3, backoff: { type: 'fixed', delay: 100 } } });

let n = 0;
emails.process(async (job) => {
  await sleep(20 + (n++ % 7) * 10);
  if (job.data.to.endsWith('@bounce.example')) throw new Error(`mailbox ${job.data.to} does not exist`);
});
thumbnails.process(async (job) => {
  await sleep(150);
  if (job.data.width > 4000) throw new RangeError(`width ${job.data.width} is over the 4000 px limit`);
});
webhooks.pause();

const handler = dashboard({ queues: { emails, thumbnails, webhooks }, actions: true, refreshInterval: 250 });
const server = createServer(handler).listen(0, '127.0.0.1');
await new Promise((resolve) => server.once('listening', resolve));
const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/`;

const producing = setInterval(() => {
  for (let i = 0; i < 6; i++) void emails.add({ to: i === 5 && n % 3 === 0 ? 'nobody@bounce.example' : `user${n + i}@example.com`, template: 'receipt' });
  void thumbnails.add({ path: `/uploads/${n}.jpg`, width: n % 9 === 0 ? 8000 : 640 });
}, 100);
for (let i = 0; i < 40; i++) await webhooks.add({ url: 'https://hooks.example.com/orders', event: 'order.paid' });
for (let i = 0; i < 12; i++) await thumbnails.add({ path: `/uploads/later-${i}.jpg`, width: 1280 }, { delay: 600_000 });
await sleep(4000);

const browser = await launchChromium(chromium, { width: 1280, height: 340 });
try {
  const page = await browser.context.newPage();
  await page.goto(url);
  await page.locator('[data-testid="live"]', { hasText: 'live' }).waitFor();
  await sleep(1500); // a few refreshes, so throughput has readings to work from
  await page.screenshot({ path: new URL('../docs/dashboard.png', import.meta.url).pathname });
  const dead = thumbnails.listJobs('buried', { limit: 1 })[0];
  await page.setViewportSize({ width: 1280, height: 780 });
  await page.goto(`${url}#/queue/thumbnails/job/${dead.id}`);
  await page.locator('[data-testid="stack"]').first().waitFor();
  await page.screenshot({ path: new URL('../docs/dashboard-job.png', import.meta.url).pathname });
} finally {
  clearInterval(producing);
  await browser.close();
  handler.close();
  server.closeAllConnections();
  server.close();
  await Promise.all([emails, thumbnails, webhooks].map((q) => q.close({ timeout: 1000 })));
}
console.log('wrote docs/dashboard.png and docs/dashboard-job.png');
