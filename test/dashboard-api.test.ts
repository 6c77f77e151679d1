/** The dashboard's JSON API over queues of each home: counts, pages of jobs, a job's detail. */
import { describe, expect, it } from 'vitest';
import { Queue } from '../src/queue.js';
import { rawCodec } from '../src/codec.js';
import { serve, type SocketServer } from '../src/socket/server/server.js';
import { connect, type RemoteQueue } from '../src/socket/client/remote-queue.js';
import type { JobDetail } from '../src/dashboard/present.js';
import type { JobPage, QueueSummary } from '../src/dashboard/queue-view.js';
import { openRedisQueue } from '../src/redis/open.js';
import { cleanupsAfterEach } from './helpers/cleanups.js';
import { startDashboard, type RunningDashboard } from './helpers/dashboard.js';
import { requireRedis, startRedis } from './helpers/redis.js';

const hasRedis = requireRedis('the dashboard over a Redis queue');

const cleanups = cleanupsAfterEach();

const started = (options: Parameters<typeof startDashboard>[0]): Promise<RunningDashboard> => startDashboard(options, cleanups);
function queue<T>(name: string): Queue<T> {
  const q = new Queue<T>({ name, retry: { attempts: 1 } });
  cleanups.push(() => q.close({ timeout: 0 }));
  return q;
}
async function getJson<T>(d: RunningDashboard, path: string): Promise<{ status: number; body: T }> {
  const res = await fetch(new URL(path, d.url));
  return { status: res.status, body: (await res.json()) as T };
}
/** Buries a job the way a failing consumer does: one attempt, one error with a stack. */
async function bury<T>(q: Queue<T>, data: T, message: string): Promise<number> {
  const job = await q.add(data);
  const lease = await q.reserve({ timeout: 0 });
  if (lease?.id !== job.id) throw new Error('expected to reserve the job just added');
  await lease.fail(new Error(message));
  return job.id;
}

describe('overview', () => {
  it('shows every queue with its counts per state, counters and latencies', async () => {
    const emails = queue<{ to: string }>('emails');
    const thumbs = queue<string>('thumbs');
    await emails.add({ to: 'a' });
    await emails.add({ to: 'b' }, { delay: 60_000 });
    await emails.add({ to: 'c' });
    const held = await emails.reserve({ timeout: 0 });
    await bury(thumbs, 'x', 'boom');
    const d = await started({ queues: { emails, thumbs } });
    const { body } = await getJson<{ actions: boolean; queues: QueueSummary[] }>(d, 'api/queues');
    expect(body.actions).toBe(false);
    expect(body.queues.map((q) => [q.name, q.counts])).toEqual([
      ['emails', { ready: 1, delayed: 1, reserved: 1, buried: 0 }],
      ['thumbs', { ready: 0, delayed: 0, reserved: 0, buried: 1 }],
    ]);
    await held?.ack();
    const after = await getJson<{ queues: QueueSummary[] }>(d, 'api/queues');
    const e = after.body.queues[0];
    expect([e.completed, e.added, e.counts.reserved]).toEqual([1, 3, 0]);
    expect(e.runTime?.count).toBe(1);
    expect(after.body.queues[1].dead).toBe(1);
    expect(e.capabilities).toEqual({ list: 'all', priority: true, deadLetterList: true });
  });
});

describe('jobs per state', () => {
  it('pages through a state oldest first and reports the total', async () => {
    const q = queue<number>('numbers');
    const ids: number[] = [];
    for (let i = 0; i < 45; i++) ids.push((await q.add(i)).id);
    const d = await started({ queues: { numbers: q } });
    const page = (await getJson<JobPage>(d, 'api/queues/numbers/jobs?state=ready&offset=40&limit=20')).body;
    expect(page.total).toBe(45);
    expect(page.jobs.map((j) => j.id)).toEqual(ids.slice(40));
    expect(page.jobs[0]).toMatchObject({ state: 'ready', priority: 1024, preview: '40' });
    const second = (await getJson<JobPage>(d, 'api/queues/numbers/jobs?state=ready&offset=20&limit=20')).body;
    expect(second.jobs.map((j) => j.id)).toEqual(ids.slice(20, 40));
  });

  it('lists delayed, reserved and buried jobs, each in its own state only', async () => {
    const q = queue<string>('mixed');
    const delayed = (await q.add('later', { delay: 60_000 })).id;
    const dead = await bury(q, 'broken', 'no such user');
    const ready = (await q.add('now')).id;
    const lease = await q.reserve({ timeout: 0 });
    const d = await started({ queues: { mixed: q } });
    const ids = async (state: string): Promise<number[]> => (await getJson<JobPage>(d, `api/queues/mixed/jobs?state=${state}`)).body.jobs.map((j) => j.id);
    expect(await ids('delayed')).toEqual([delayed]);
    expect(await ids('buried')).toEqual([dead]);
    expect(await ids('reserved')).toEqual([ready]);
    expect(await ids('ready')).toEqual([]);
    const buried = (await getJson<JobPage>(d, 'api/queues/mixed/jobs?state=buried')).body.jobs[0];
    expect(buried).toMatchObject({ deadReason: 'failed', lastError: 'Error: no such user' });
    await lease?.ack();
  });

  it('answers a bad state, offset or unknown queue with 400/404 naming what was wrong', async () => {
    const q = queue<string>('q');
    const d = await started({ queues: { q } });
    const bad = await getJson<{ error: string }>(d, 'api/queues/q/jobs?state=done');
    expect(bad.status).toBe(400);
    expect(bad.body.error).toMatch(/state must be one of ready, delayed, reserved, buried, got "done"/);
    expect((await getJson<{ error: string }>(d, 'api/queues/q/jobs?limit=-1')).body.error).toMatch(/limit must be an integer/);
    expect((await getJson<{ error: string }>(d, 'api/queues/q/jobs?limit=5000')).status).toBe(400);
    const missing = await getJson<{ error: string }>(d, 'api/queues/nope/jobs');
    expect([missing.status, missing.body.error]).toEqual([404, 'no queue named "nope"']);
    expect((await getJson<{ error: string }>(d, 'api/queues/q/jobs/abc')).status).toBe(400);
  });
});

describe('a job', () => {
  it('shows payload, options, attempts, every error with its stack, dead reason and timeline', async () => {
    const q = new Queue<{ user: number }>({ name: 'retrying', retry: { attempts: 2, backoff: { type: 'fixed', delay: 0 } } });
    cleanups.push(() => q.close({ timeout: 0 }));
    const { id } = await q.add({ user: 7 }, { priority: 5, ttr: 30_000, group: 'user-7' });
    for (const message of ['first failure', 'second failure']) {
      const lease = await q.reserve({ timeout: 1000 });
      await lease?.fail(new Error(message));
    }
    const d = await started({ queues: { retrying: q } });
    const { status, body } = await getJson<JobDetail>(d, `api/queues/retrying/jobs/${id}`);
    expect(status).toBe(200);
    expect(body).toMatchObject({ id, state: 'buried', deadReason: 'failed', priority: 5 });
    expect(body.payload).toEqual({ kind: 'json', text: '{\n  "user": 7\n}', truncated: false });
    expect(body.options).toMatchObject({ priority: 5, ttr: 30_000, timeout: null, group: 'user-7' });
    expect(body.attempts).toMatchObject({ made: 2, max: 2, buries: 1 });
    expect(body.errors.map((e) => [e.attempt, e.message])).toEqual([
      [1, 'first failure'],
      [2, 'second failure'],
    ]);
    expect(body.errors[1].stack).toMatch(/Error: second failure\n\s+at /);
    expect(body.timeline.map((t) => t.what)).toEqual(expect.arrayContaining(['created', 'attempt 1 failed: Error: first failure', 'buried (failed)']));
  });

  it('shows bytes as hex and text, and the latest progress a handler reported', async () => {
    const q = queue<Uint8Array>('bytes');
    const { id } = await q.add(new Uint8Array([0x68, 0x69, 0x00, 0xff]));
    const d = await started({ queues: { bytes: q } });
    let release!: () => void;
    const running = new Promise<void>((resolve) => (release = resolve));
    const reported = new Promise<void>((resolve) => {
      q.process(async (_job, ctx) => {
        ctx.progress({ done: 50 });
        resolve();
        await running;
      });
    });
    await reported;
    const { body } = await getJson<JobDetail>(d, `api/queues/bytes/jobs/${id}`);
    expect(body.payload).toMatchObject({ kind: 'bytes', size: 4, hex: '68 69 00 ff' });
    expect(body.payload.text.startsWith('hi\u0000')).toBe(true);
    expect(body.progress?.value).toBe('{"done":50}');
    expect(body.state).toBe('reserved');
    release();
    await q.onIdle();
    expect((await getJson<{ error: string }>(d, `api/queues/bytes/jobs/${id}`)).status).toBe(404);
  });
});

describe('over the socket protocol', () => {
  let server: SocketServer;
  let remote: RemoteQueue<Uint8Array>;

  it('shows counts, the first job of each state and the server record of a job', async () => {
    const local = new Queue<Uint8Array>({ name: 'work', retry: { attempts: 1 } });
    server = await serve({ port: 0, queues: { work: local }, codec: rawCodec });
    cleanups.push(() => server.close());
    remote = await connect<Uint8Array>(`beanstalk://127.0.0.1:${server.port}/work`, { codec: rawCodec });
    cleanups.push(() => remote.close({ timeout: 0 }));
    const first = await remote.add(Buffer.from('one'), { priority: 3 });
    await remote.add(Buffer.from('two'));
    await remote.add(Buffer.from('soon'), { delay: 60_000 });
    const d = await started({ queues: { work: remote } });
    const overview = (await getJson<{ queues: QueueSummary[] }>(d, 'api/queues')).body.queues[0];
    expect(overview.counts).toEqual({ ready: 2, delayed: 1, reserved: 0, buried: 0 });
    expect(overview.capabilities).toEqual({ list: 'first', priority: false, deadLetterList: false });
    const ready = (await getJson<JobPage>(d, 'api/queues/work/jobs?state=ready')).body;
    expect([ready.total, ready.jobs.map((j) => j.id)]).toEqual([2, [first.id]]);
    expect(ready.jobs[0]).toMatchObject({ state: 'ready', priority: 3, preview: '3 bytes' });
    const detail = (await getJson<JobDetail>(d, `api/queues/work/jobs/${first.id}`)).body;
    expect(detail).toMatchObject({ state: 'ready', priority: 3, payload: { kind: 'bytes', text: 'one' } });
    expect(detail.attempts).toMatchObject({ reserves: 0, kicks: 0 });
  });
});

describe.skipIf(!hasRedis)('over Redis', () => {
  it('shows counts, totals, a page of dead letters with their errors, and redrives one', async () => {
    const redis = await startRedis();
    cleanups.push(() => redis.stop());
    const q = await openRedisQueue<{ n: number }>({ url: redis.url, name: 'jobs', retry: { attempts: 1 } });
    cleanups.push(() => q.close({ timeout: 0 }));
    const dead: number[] = [];
    for (let n = 0; n < 3; n++) {
      const { id } = await q.add({ n });
      const lease = await q.reserve({ timeout: 1000 });
      await lease?.fail(new Error(`job ${n} failed`));
      dead.push(id);
    }
    await q.add({ n: 9 });
    const d = await started({ queues: { jobs: q }, actions: true });
    const overview = (await getJson<{ queues: QueueSummary[] }>(d, 'api/queues')).body.queues[0];
    expect(overview.counts).toEqual({ ready: 1, delayed: 0, reserved: 0, buried: 3 });
    expect([overview.failed, overview.dead]).toEqual([3, 3]);
    expect(overview.capabilities).toEqual({ list: 'first', priority: false, deadLetterList: true });
    const page = (await getJson<JobPage>(d, 'api/queues/jobs/jobs?state=buried&offset=1&limit=1')).body;
    expect([page.total, page.jobs.map((j) => j.id)]).toEqual([3, [dead[1]]]);
    const detail = (await getJson<JobDetail>(d, `api/queues/jobs/jobs/${dead[1]}`)).body;
    expect(detail).toMatchObject({ state: 'buried', deadReason: 'failed' });
    expect(detail.errors[0].message).toBe('job 1 failed');
    expect(detail.errors[0].stack).toMatch(/job 1 failed\n\s+at /);
    const res = await d.act(`api/queues/jobs/jobs/${dead[1]}/redrive`);
    expect(res.status).toBe(200);
    expect((await q.peek(dead[1]))?.state).toBe('ready');
  });
});
