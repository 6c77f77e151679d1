import { afterEach, describe, expect, it } from 'vitest';
import { ThreadPool, type ThreadsOptions } from '../src/threads/index.js';
import { WorkerCrashedError } from '../src/errors.js';

const fixture = (name: string) => new URL(`./fixtures/threads/${name}`, import.meta.url);
const pools: ThreadPool<any, any>[] = [];

function pool(name = 'behaviours.mjs', options: ThreadsOptions = {}): ThreadPool<any, any> {
  const created = new ThreadPool(fixture(name), { size: 2, ...options });
  pools.push(created);
  return created;
}

afterEach(async () => {
  await Promise.all(pools.splice(0).map((p) => p.destroy()));
});

describe('a thread that dies', () => {
  it('fails its task with WorkerCrashedError on an uncaught error, and is replaced', async () => {
    const p = pool('behaviours.mjs', { size: 1 });
    const before = await p.run({ op: 'threadId' });
    const error = await p.run({ op: 'crash' }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(WorkerCrashedError);
    expect((error as Error).message).toContain('thread crash');
    expect((error as Error).cause).toMatchObject({ message: 'thread crash' });
    const after = await p.run({ op: 'threadId' });
    expect(after).not.toBe(before);
    expect(p.stats()).toMatchObject({ threads: 1, started: 2, crashed: 1 });
  });

  it('fails its task with WorkerCrashedError on process.exit, with the exit code', async () => {
    const p = pool();
    await p.run({ op: 'echo', value: 'warm' });
    const error = await p.run({ op: 'exit', code: 7 }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(WorkerCrashedError);
    expect((error as Error).message).toContain('code 7');
    expect(await p.run({ op: 'echo', value: 'still works' })).toBe('still works');
  });

  it('fails its task with WorkerCrashedError when it runs out of memory (resourceLimits)', async () => {
    const p = pool('behaviours.mjs', { size: 1, resourceLimits: { maxOldGenerationSizeMb: 16, maxYoungGenerationSizeMb: 4 } });
    await p.run({ op: 'echo', value: 'warm' });
    const error = await p.run({ op: 'oom' }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(WorkerCrashedError);
    expect((error as Error & { cause?: { code?: string } }).cause?.code).toBe('ERR_WORKER_OUT_OF_MEMORY');
    expect(await p.run({ op: 'echo', value: 'recovered' })).toBe('recovered');
  });

  it('fails only the tasks of the thread that died', async () => {
    const p = pool('behaviours.mjs', { size: 2, concurrentPerThread: 1 });
    await Promise.all([p.run({ op: 'echo', value: 0 }), p.run({ op: 'echo', value: 0 })]);
    const slow = p.run({ op: 'sleep', ms: 200, value: 'survivor' });
    const doomed = p.run({ op: 'exit' });
    await expect(doomed).rejects.toBeInstanceOf(WorkerCrashedError);
    expect(await slow).toBe('survivor');
  });

  it('runs queued tasks on the replacement thread', async () => {
    const p = pool('behaviours.mjs', { size: 1 });
    const doomed = p.run({ op: 'exit' });
    const queued = Array.from({ length: 3 }, (_, i) => p.run({ op: 'echo', value: i }));
    await expect(doomed).rejects.toBeInstanceOf(WorkerCrashedError);
    expect(await Promise.all(queued)).toEqual([0, 1, 2]);
  });
});

describe('a thread that dies during start-up', () => {
  it('breaks the pool instead of respawning when the module throws on load', async () => {
    const p = pool('fails-to-load.mjs', { size: 2 });
    const results = await Promise.allSettled(Array.from({ length: 6 }, (_, i) => p.run(i)));
    for (const result of results) {
      expect(result.status).toBe('rejected');
      const reason = (result as PromiseRejectedResult).reason as Error;
      expect(reason).toBeInstanceOf(WorkerCrashedError);
      expect(reason.message).toMatch(/start-up/);
      expect(reason.message).toContain('cannot load this module');
    }
    // Later tasks fail at once, without starting threads.
    const started = p.stats().started;
    await expect(p.run(1)).rejects.toThrow(/start-up/);
    expect(p.stats().started).toBe(started);
    expect(started).toBeLessThanOrEqual(2);
    expect(p.stats().threads).toBe(0);
  });

  it('breaks the pool when the module has no default export function', async () => {
    const p = pool('no-default.mjs', { size: 1 });
    await expect(p.run(1)).rejects.toThrow(/no default export function/);
    await expect(p.run(1)).rejects.toBeInstanceOf(WorkerCrashedError);
    expect(p.stats().started).toBe(1);
  });

  it('breaks the pool when the module does not exist', async () => {
    const p = pool('missing.mjs', { size: 1 });
    await expect(p.run(1)).rejects.toThrow(/start-up.*Cannot find module.*missing\.mjs/);
  });
});

describe('aborting a task', () => {
  it('rejects with the signal reason, aborts ctx.signal in the worker, and keeps the thread', async () => {
    const p = pool('behaviours.mjs', { size: 1 });
    const before = await p.run({ op: 'threadId' });
    const controller = new AbortController();
    const task = p.run({ op: 'abortable' }, { signal: controller.signal });
    await expect.poll(() => p.stats().running).toBe(1);
    const reason = new Error('stop now');
    controller.abort(reason);
    await expect(task).rejects.toBe(reason);
    // The worker honoured ctx.signal: the thread frees up and is kept.
    await expect.poll(() => p.stats().running).toBe(0);
    expect(await p.run({ op: 'threadId' })).toBe(before);
    expect(p.stats().crashed).toBe(0);
  });

  it('rejects at once when the signal is already aborted, without running', async () => {
    const p = pool();
    await expect(p.run({ op: 'echo', value: 1 }, { signal: AbortSignal.abort(new Error('early')) })).rejects.toThrow('early');
    expect(p.stats().started).toBe(0);
  });

  it('drops a queued task whose signal aborts before it starts', async () => {
    const p = pool('behaviours.mjs', { size: 1 });
    const first = p.run({ op: 'sleep', ms: 100, value: 'first' });
    const controller = new AbortController();
    const queued = p.run({ op: 'echo', value: 'never' }, { signal: controller.signal });
    controller.abort(new Error('dropped'));
    await expect(queued).rejects.toThrow('dropped');
    expect(p.stats().queued).toBe(0);
    expect(await first).toBe('first');
  });

  it('never runs a task aborted while the module is still loading', async () => {
    // The module holds its load until told 'go', so the abort lands mid-load for certain.
    const channel = new BroadcastChannel('docket-slow-load');
    const loading = new Promise<void>((resolve) => {
      channel.onmessage = (event) => {
        if ((event as MessageEvent).data === 'loading') resolve();
      };
    });
    const p = pool('slow-load.mjs', { size: 1 });
    const controller = new AbortController();
    const task = p.run('x', { signal: controller.signal });
    try {
      await loading;
      controller.abort(new Error('changed my mind'));
      await expect(task).rejects.toThrow('changed my mind');
      // The thread answers the abort (and only then stops counting the task as running):
      // 'go' must not overtake the abort on its way to the thread.
      await expect.poll(() => p.stats().running).toBe(0);
    } finally {
      channel.postMessage('go');
      channel.close();
    }
    expect(await p.run('count')).toBe(0);
    expect(p.stats().crashed).toBe(0);
  });

  it('terminates and replaces a thread whose task ignores the abort past abortGrace', async () => {
    const p = pool('behaviours.mjs', { size: 1, abortGrace: 100 });
    const before = await p.run({ op: 'threadId' });
    const task = p.run({ op: 'spin' }, { signal: AbortSignal.timeout(100) });
    await expect(task).rejects.toMatchObject({ name: 'TimeoutError' });
    const queuedBehind = p.run({ op: 'threadId' });
    const after = await queuedBehind;
    expect(after).not.toBe(before);
    expect(p.stats()).toMatchObject({ threads: 1, crashed: 1, started: 2 });
  });
});
