/** The live stream the page listens to, and the throughput it reports. */
import { describe, expect, it } from 'vitest';
import { Queue } from '../src/queue.js';
import type { QueueSummary } from '../src/dashboard/queue-view.js';
import { RateMeter } from '../src/dashboard/rate-meter.js';
import { cleanupsAfterEach } from './helpers/cleanups.js';
import { startDashboard } from './helpers/dashboard.js';

const cleanups = cleanupsAfterEach();

/** Reads server-sent events from `url` until `done` says stop; returns the data of each. */
async function readEvents(url: string, done: (data: { queues: QueueSummary[] }) => boolean): Promise<Array<{ queues: QueueSummary[] }>> {
  const res = await fetch(url);
  expect(res.headers.get('content-type')).toMatch(/^text\/event-stream/);
  const decoder = new TextDecoder();
  const seen: Array<{ queues: QueueSummary[] }> = [];
  let buffer = '';
  const reader = (res.body as ReadableStream<Uint8Array>).getReader();
  for (;;) {
    const { value, done: ended } = await reader.read();
    if (ended) return seen;
    buffer += decoder.decode(value, { stream: true });
    let end: number;
    while ((end = buffer.indexOf('\n\n')) >= 0) {
      const event = buffer.slice(0, end);
      buffer = buffer.slice(end + 2);
      const data = /^data: (.*)$/m.exec(event)?.[1];
      if (data === undefined) continue;
      seen.push(JSON.parse(data) as { queues: QueueSummary[] });
      if (done(seen[seen.length - 1])) {
        await reader.cancel();
        return seen;
      }
    }
  }
}

describe('live stream', () => {
  it('pushes fresh counts as jobs move, without the client asking again', async () => {
    const q = new Queue<number>({ name: 'live' });
    cleanups.push(() => q.close({ timeout: 0 }));
    const d = await startDashboard({ queues: { live: q }, refreshInterval: 50 }, cleanups);
    await q.add(1);
    await q.add(2);
    let step = 0;
    const seen = await readEvents(new URL('api/events', d.url).href, (data) => {
      const counts = data.queues[0].counts;
      // Each time the stream shows the state the test last made, move one job on.
      if (step === 0 && counts.ready === 2) {
        step = 1;
        void q.reserve({ timeout: 0 }).then((lease) => lease?.ack());
      } else if (step === 1 && counts.ready === 1 && data.queues[0].completed === 1) {
        return true;
      }
      return false;
    });
    expect(seen[0].queues[0].counts.ready).toBe(2);
    expect(seen[seen.length - 1].queues[0].completed).toBe(1);
  });

  it('ends open streams when the handler closes', async () => {
    const q = new Queue<number>({ name: 'live' });
    cleanups.push(() => q.close({ timeout: 0 }));
    const d = await startDashboard({ queues: { live: q }, refreshInterval: 50 });
    const res = await fetch(new URL('api/events', d.url));
    const reader = (res.body as ReadableStream<Uint8Array>).getReader();
    await reader.read();
    d.handler.close();
    for (;;) if ((await reader.read()).done) break;
    await d.stop();
  });
});

describe('RateMeter', () => {
  it('reports jobs per second over its window and starts over when the counter resets', () => {
    const meter = new RateMeter(10_000);
    expect(meter.read(0, 0)).toBeUndefined();
    expect(meter.read(1000, 50)).toBe(50);
    expect(meter.read(2000, 150)).toBe(75);
    expect(meter.read(2050, 150)).toBe(75); // too close to the last reading: unchanged
    expect(meter.read(13_000, 150)).toBeCloseTo(0, 5); // the busy seconds left the window
    expect(meter.read(14_000, 10)).toBeUndefined(); // counter went down: a restarted queue
  });
});
