/**
 * The dashboard page in a real browser (headless Chromium): counts that change as jobs run,
 * a dead letter's detail with its stack, a redrive that completes, and a payload made of
 * HTML that stays text.
 */
import type { Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Queue } from '../src/queue.js';
import { launchChromium, requireChromium, type RunningBrowser } from './helpers/chromium.js';
import { cleanupsAfterEach } from './helpers/cleanups.js';
import { startDashboard, type RunningDashboard } from './helpers/dashboard.js';

const chromiumPath = requireChromium('the dashboard page in a browser');
// Generous: the page reacts within a refresh or two, but a loaded 2-core machine is slow.
const WAIT = { timeout: 20_000 };

describe.skipIf(chromiumPath === undefined)('the dashboard page', () => {
  let browser: RunningBrowser;
  const cleanups = cleanupsAfterEach();

  beforeAll(async () => {
    browser = await launchChromium(chromiumPath as string);
  }, 60_000);
  afterAll(() => browser?.close());

  async function open(queues: Record<string, Queue<unknown>>): Promise<{ page: Page; d: RunningDashboard; dialogs: string[] }> {
    const d = await startDashboard({ queues, actions: true, refreshInterval: 100 }, cleanups);
    const page = await browser.context.newPage();
    cleanups.push(() => page.close());
    const dialogs: string[] = [];
    page.on('dialog', (dialog) => {
      dialogs.push(dialog.message());
      void dialog.dismiss();
    });
    await page.goto(d.url);
    return { page, d, dialogs };
  }
  function queue<T>(name: string, concurrency = 1): Queue<T> {
    const q = new Queue<T>({ name, concurrency, retry: { attempts: 1 } });
    cleanups.push(() => q.close({ timeout: 0 }));
    return q;
  }
  const cell = (page: Page, queue: string, testid: string) => page.locator(`[data-testid="queue-row"][data-queue="${queue}"] [data-testid="${testid}"]`);

  it('shows the counts and follows them as jobs run, without a reload', async () => {
    const q = queue<number>('work', 2);
    for (let i = 0; i < 5; i++) await q.add(i);
    await q.add(99, { delay: 3_600_000 });
    const { page } = await open({ work: q as Queue<unknown> });
    await expect.poll(() => cell(page, 'work', 'count-ready').textContent(), WAIT).toBe('5');
    expect(await cell(page, 'work', 'count-delayed').textContent()).toBe('1');
    await expect.poll(() => page.locator('[data-testid="live"]').textContent(), WAIT).toBe('live');
    let release!: () => void;
    const gate = new Promise<void>((resolve) => (release = resolve));
    q.process(async () => gate);
    await expect.poll(() => cell(page, 'work', 'count-reserved').textContent(), WAIT).toBe('2');
    expect(await cell(page, 'work', 'count-ready').textContent()).toBe('3');
    release();
    await expect.poll(() => cell(page, 'work', 'count-completed').textContent(), WAIT).toBe('5');
    expect(await cell(page, 'work', 'count-ready').textContent()).toBe('0');
    expect(await cell(page, 'work', 'count-reserved').textContent()).toBe('0');
  }, 60_000);

  it("opens a dead letter's detail with its stack, redrives it and sees it complete", async () => {
    const q = queue<{ to: string }>('mail');
    let healthy = false;
    q.process(async (job) => {
      if (!healthy) throw new Error(`smtp refused ${job.data.to}`);
    });
    const dead = new Promise<void>((resolve) => q.once('dead', () => resolve()));
    const { id } = await q.add({ to: 'ada@example.com' });
    await dead;
    const { page } = await open({ mail: q as Queue<unknown> });
    await cell(page, 'mail', 'count-buried').locator('a').click(WAIT);
    await page.locator(`[data-testid="job-row"][data-job="${id}"] a`).click(WAIT);
    await expect.poll(() => page.locator('[data-testid="job-state"]').textContent(), WAIT).toBe('buried');
    expect(await page.locator('[data-testid="dead-reason"]').textContent()).toBe('failed');
    const stack = (await page.locator('[data-testid="stack"]').first().textContent()) ?? '';
    expect(stack).toMatch(/^Error: smtp refused ada@example\.com\n\s+at /);
    expect(await page.locator('[data-testid="payload"]').textContent()).toBe('{\n  "to": "ada@example.com"\n}');
    healthy = true;
    await page.locator('[data-testid="redrive"]').click(WAIT);
    // Redriven, run and completed: the job has left the queue.
    await page.locator('[data-testid="job-missing"]').waitFor(WAIT);
    expect(q.stats()).toMatchObject({ buried: 0, completed: 1 });
    await page.goto(`${page.url().split('#')[0]}#/`);
    await expect.poll(() => cell(page, 'mail', 'count-completed').textContent(), WAIT).toBe('1');
    expect(await cell(page, 'mail', 'count-buried').textContent()).toBe('0');
  }, 60_000);

  it('shows a payload and an error made of HTML as text, and nothing runs', async () => {
    const xss = '<img src=x onerror=alert(1)>';
    const q = queue<string>('evil');
    q.process(async () => {
      throw new Error(xss);
    });
    const dead = new Promise<void>((resolve) => q.once('dead', () => resolve()));
    const { id } = await q.add(xss);
    await dead;
    const { page, dialogs } = await open({ [`${xss}queue`]: q as Queue<unknown> });
    await expect.poll(() => page.locator('[data-testid="queue-row"] a').first().textContent(), WAIT).toBe(`${xss}queue`);
    await page.locator('[data-testid="count-buried"] a').click(WAIT);
    await expect.poll(() => page.locator(`[data-testid="job-row"][data-job="${id}"]`).textContent(), WAIT).toContain(xss);
    await page.locator(`[data-testid="job-row"][data-job="${id}"] a`).click(WAIT);
    await expect.poll(() => page.locator('[data-testid="payload"]').textContent(), WAIT).toBe(xss);
    expect(await page.locator('[data-testid="error"]').first().textContent()).toContain(xss);
    // Shown as characters, never parsed: no <img> exists anywhere and no alert was raised.
    expect(await page.locator('img').count()).toBe(0);
    expect(dialogs).toEqual([]);
  }, 60_000);
});
