/**
 * Reconnection across a server restart on the same port: docket's own server (closed and
 * served again) and a real beanstalkd (killed and started again).
 */
import { once } from 'node:events';
import { afterEach, describe, expect, it } from 'vitest';
import { LeaseExpiredError } from '../src/errors.js';
import { connect, type RemoteQueue } from '../src/socket/client/remote-queue.js';
import { serve } from '../src/socket/server/server.js';
import { requireBeanstalkd, startBeanstalkd } from './helpers/beanstalkd.js';

interface Running {
  port: number;
  stop(): Promise<void>;
}
interface Target {
  name: string;
  /** Starts a fresh server (no jobs), on `port` when given. */
  start(port?: number): Promise<Running>;
}

const targets: Target[] = [
  {
    name: "docket's serve()",
    async start(port = 0) {
      const server = await serve({ port });
      return { port: server.port, stop: () => server.close() };
    },
  },
];
if (requireBeanstalkd('the socket client restart test against a real beanstalkd')) {
  targets.push({ name: 'beanstalkd 1.12', start: (port) => startBeanstalkd(port === undefined ? {} : { port }) });
}

describe.each(targets)('socket client across a restart of $name', (target) => {
  let first: Running | undefined;
  let second: Running | undefined;
  let queue: RemoteQueue<string> | undefined;

  afterEach(async () => {
    await queue?.close({ timeout: 1000 });
    await first?.stop();
    await second?.stop();
    queue = undefined;
    first = undefined;
    second = undefined;
  });

  it('reconnects, re-issues use/watch, reports the held job as a lost lease, and keeps working', async () => {
    first = await target.start();
    const port = first.port;
    queue = await connect<string>(`beanstalk://127.0.0.1:${port}/restart-tube`, {
      reconnect: { initialDelay: 20, maxDelay: 100 },
    });
    const q = queue;
    await q.add('before');
    const held = await q.reserve({ timeout: 0 });
    expect(held?.data).toBe('before');
    const signal = held!.signal;

    const aborted = once(signal, 'abort');
    await first.stop();
    // The consumer connection that held the lease saw the drop: the lease is gone.
    await aborted;
    // The producer connection must have seen the drop too, or the next add would go out on
    // a dead socket (and reject, as a command in flight on a dropped connection does).
    while (q.isConnected) await once(q, 'disconnected');
    expect(signal.reason).toBeInstanceOf(LeaseExpiredError);
    expect(held!.isCurrent).toBe(false);
    await expect(held!.ack()).rejects.toBeInstanceOf(LeaseExpiredError);

    // Commands issued while the server is down wait for the reconnect.
    const pendingAdd = q.add('during');
    second = await target.start(port);
    await pendingAdd;
    // The new server started empty: the one ready job is the add that waited for it.
    const stats = await q.stats();
    expect(stats.name).toBe('restart-tube');
    expect(stats.ready).toBe(1);

    const got: string[] = [];
    q.process((job) => void got.push(job.data), { concurrency: 3 });
    await q.add('after');
    const deadline = Date.now() + 5000;
    while (got.length < 2 && Date.now() < deadline) await new Promise((resolve) => setTimeout(resolve, 10));
    expect(got.sort()).toEqual(['after', 'during']);
  });

  it('a process() consumer waiting across the restart gets jobs from the new server', async () => {
    first = await target.start();
    const port = first.port;
    queue = await connect<string>(`beanstalk://127.0.0.1:${port}/waiting`, { reconnect: { initialDelay: 20, maxDelay: 100 } });
    const q = queue;
    const got: string[] = [];
    q.process((job) => void got.push(job.data), { concurrency: 4 });
    await q.add('one');
    let deadline = Date.now() + 5000;
    while (got.length < 1 && Date.now() < deadline) await new Promise((resolve) => setTimeout(resolve, 10));
    const dropped = once(q, 'disconnected');
    await first.stop();
    await dropped;
    second = await target.start(port);
    // A second client produces on the new server; the first one's consumers must have
    // come back, watching the tube again.
    const producer = await connect<string>(`beanstalk://127.0.0.1:${port}/waiting`);
    await producer.add('two');
    await producer.close();
    deadline = Date.now() + 5000;
    while (got.length < 2 && Date.now() < deadline) await new Promise((resolve) => setTimeout(resolve, 10));
    expect(got).toEqual(['one', 'two']);
  });
});
