/** Each action the dashboard offers, over the in-process queue and over the socket protocol. */
import { describe, expect, it } from 'vitest';
import { Queue } from '../src/queue.js';
import { serve } from '../src/socket/server/server.js';
import { connect } from '../src/socket/client/remote-queue.js';
import type { JobQueue } from '../src/contract.js';
import { cleanupsAfterEach } from './helpers/cleanups.js';
import { startDashboard, type RunningDashboard } from './helpers/dashboard.js';

const cleanups = cleanupsAfterEach();
function queue(name: string): Queue<string> {
  const q = new Queue<string>({ name, retry: { attempts: 1 } });
  cleanups.push(() => q.close({ timeout: 0 }));
  return q;
}
function started(queues: Record<string, JobQueue<unknown>>): Promise<RunningDashboard> {
  return startDashboard({ queues, actions: true }, cleanups);
}
async function bury(q: Queue<string>, data: string): Promise<number> {
  const { id } = await q.add(data);
  await (await q.reserve({ timeout: 0 }))?.fail(new Error(`failed ${data}`));
  return id;
}
async function ok(res: Response): Promise<{ ok: boolean; count: number }> {
  expect(res.status, await res.clone().text()).toBe(200);
  return (await res.json()) as { ok: boolean; count: number };
}

describe('actions on an in-process queue', () => {
  it('redrives and removes one dead letter, then all of them', async () => {
    const q = queue('mail');
    const [a, b, c, e] = [await bury(q, 'a'), await bury(q, 'b'), await bury(q, 'c'), await bury(q, 'e')];
    const d = await started({ mail: q });
    await ok(await d.act(`api/queues/mail/jobs/${a}/redrive`));
    expect(q.peek(a)?.state).toBe('ready');
    await ok(await d.act(`api/queues/mail/jobs/${b}/remove`));
    expect(q.peek(b)).toBeUndefined();
    // Redriving a job that is not dead is refused, not silently done.
    expect((await d.act(`api/queues/mail/jobs/${a}/redrive`)).status).toBe(409);
    expect((await ok(await d.act('api/queues/mail/redrive-dead'))).count).toBe(2);
    expect([q.peek(c)?.state, q.peek(e)?.state]).toEqual(['ready', 'ready']);
    await bury(q, 'f');
    await bury(q, 'g');
    expect((await ok(await d.act('api/queues/mail/remove-dead'))).count).toBe(2);
    expect(q.stats().buried).toBe(0);
  });

  it('kicks a delayed job now and changes a priority (bad values refused with the reason)', async () => {
    const q = queue('later');
    const { id } = await q.add('x', { delay: 3_600_000 });
    const other = (await q.add('y', { priority: 10 })).id;
    const d = await started({ later: q });
    await ok(await d.act(`api/queues/later/jobs/${id}/kick`));
    expect(q.peek(id)?.state).toBe('ready');
    await ok(await d.act(`api/queues/later/jobs/${id}/priority`, { priority: 1 }));
    expect(q.peekReady()?.id).toBe(id);
    const bad = await d.act(`api/queues/later/jobs/${other}/priority`, { priority: -5 });
    expect(bad.status).toBe(400);
    expect(((await bad.json()) as { error: string }).error).toMatch(/priority/);
    expect((await d.act(`api/queues/later/jobs/${other}/priority`, { priority: 'high' })).status).toBe(400);
    expect((await d.act('api/queues/later/jobs/999999/priority', { priority: 1 })).status).toBe(404);
  });

  it('pauses and resumes a queue, and purges a state', async () => {
    const q = queue('busy');
    for (let i = 0; i < 5; i++) await q.add(String(i));
    await q.add('later', { delay: 60_000 });
    const d = await started({ busy: q });
    await ok(await d.act('api/queues/busy/pause'));
    expect(q.isPaused).toBe(true);
    expect(await q.reserve({ timeout: 0 })).toBeUndefined();
    await ok(await d.act('api/queues/busy/resume'));
    expect(q.isPaused).toBe(false);
    expect((await ok(await d.act('api/queues/busy/purge', { state: 'ready' }))).count).toBe(5);
    expect(q.stats()).toMatchObject({ ready: 0, delayed: 1 });
    expect((await d.act('api/queues/busy/purge', { state: 'reserved' })).status).toBe(400);
    expect((await d.act('api/queues/busy/explode')).status).toBe(404);
  });
});

describe('actions over the socket protocol', () => {
  it('redrives, removes, kicks, purges and pauses through kick-job, delete and pause-tube', async () => {
    const local = new Queue<string>({ name: 'remote', retry: { attempts: 1 } });
    const server = await serve({ port: 0, queues: { remote: local } });
    cleanups.push(() => server.close());
    const remote = await connect<string>(`beanstalk://127.0.0.1:${server.port}/remote`);
    cleanups.push(() => remote.close({ timeout: 0 }));
    const d = await started({ remote });
    const dead = [await bury(local, 'a'), await bury(local, 'b'), await bury(local, 'c')];
    const delayed = (await local.add('soon', { delay: 60_000 })).id;
    await ok(await d.act(`api/queues/remote/jobs/${dead[0]}/redrive`));
    expect(local.peek(dead[0])?.state).toBe('ready');
    expect((await d.act(`api/queues/remote/jobs/${delayed}/redrive`)).status).toBe(409); // not a dead letter
    expect((await ok(await d.act('api/queues/remote/redrive-dead'))).count).toBe(2);
    await bury(local, 'd');
    expect((await ok(await d.act('api/queues/remote/remove-dead'))).count).toBe(1);
    await ok(await d.act(`api/queues/remote/jobs/${delayed}/kick`));
    expect(local.peek(delayed)?.state).toBe('ready');
    expect((await ok(await d.act('api/queues/remote/purge', { state: 'ready' }))).count).toBe(4);
    expect(local.stats().total).toBe(0);
    await ok(await d.act('api/queues/remote/pause'));
    expect((await remote.stats()).pausedFor).toBeGreaterThan(0);
    const overview = (await (await fetch(new URL('api/queues', d.url))).json()) as { queues: Array<{ paused: boolean }> };
    expect(overview.queues[0].paused).toBe(true);
    await ok(await d.act('api/queues/remote/resume'));
    expect((await remote.stats()).pausedFor).toBe(0);
  });
});
