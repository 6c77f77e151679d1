import { afterEach, describe, expect, it } from 'vitest';
import { ThreadPool, transfer, type ThreadsOptions } from '../src/threads/index.js';
import { InvalidOptionError, NonErrorThrownError, QueueClosedError, UnrecoverableError } from '../src/errors.js';

const fixture = (name: string) => new URL(`./fixtures/threads/${name}`, import.meta.url);
const pools: ThreadPool<any, any>[] = [];

function pool<P = any, R = any>(name = 'behaviours.mjs', options: ThreadsOptions = {}): ThreadPool<P, R> {
  const created = new ThreadPool<P, R>(fixture(name), { size: 2, ...options });
  pools.push(created);
  return created;
}

afterEach(async () => {
  await Promise.all(pools.splice(0).map((p) => p.destroy()));
});

describe('ThreadPool modules', () => {
  it('runs an ESM module default export', async () => {
    expect(await pool('add-one.mjs').run(41)).toBe(42);
  });

  it('runs a CommonJS module (module.exports = fn)', async () => {
    expect(await pool('add-one.cjs').run(41)).toBe(42);
  });

  it('runs a CommonJS module with a transpiled exports.default', async () => {
    expect(await pool('add-one-default.cjs').run(40)).toBe(42);
  });

  it('loads a .ts module when a TypeScript loader is passed through execArgv (as under vitest)', async () => {
    for (const execArgv of [
      ['--import', 'tsx'],
      ['--require', 'tsx/cjs'],
    ]) {
      expect(await pool('ts-worker.ts', { size: 1, execArgv }).run({ op: 'double', n: 5 })).toBe(10);
    }
  });

  it('explains how to load a .ts module when no TypeScript loader reaches the thread', async () => {
    await expect(pool('ts-worker.ts', { size: 1, execArgv: [] }).run({ op: 'double', n: 5 })).rejects.toThrow(/start-up.*Unknown file extension.*--import tsx/);
  });

  it('accepts an absolute path as well as a URL', async () => {
    const p = new ThreadPool<number, number>(fixture('add-one.mjs').pathname, { size: 1 });
    pools.push(p);
    expect(await p.run(1)).toBe(2);
  });

  it('refuses a relative path, which would resolve against the wrong directory', () => {
    expect(() => new ThreadPool('./worker.js')).toThrow(/relative/);
  });

  it('spreads work over at most `size` threads and runs every task', async () => {
    const p = pool('behaviours.mjs', { size: 2 });
    const ids = await Promise.all(Array.from({ length: 40 }, () => p.run({ op: 'threadId' })));
    expect(new Set(ids).size).toBeLessThanOrEqual(2);
    expect(p.stats().threads).toBeLessThanOrEqual(2);
    const adder = pool('add-one.mjs');
    const results = await Promise.all(Array.from({ length: 500 }, (_, i) => adder.run(i)));
    expect(results).toEqual(Array.from({ length: 500 }, (_, i) => i + 1));
  });

  it('runs up to concurrentPerThread tasks on one thread at once, and no more', async () => {
    const p = pool('behaviours.mjs', { size: 1, concurrentPerThread: 3 });
    const seen = await Promise.all(Array.from({ length: 7 }, () => p.run({ op: 'overlap', ms: 40 })));
    expect(Math.max(...seen)).toBe(3);
    expect(p.stats()).toMatchObject({ threads: 1, started: 1 });
  });

  it('gives the threads workerData and env', async () => {
    const p = pool('behaviours.mjs', { size: 1, workerData: { answer: 42 }, env: { DOCKET_TEST_ENV: 'yes' } });
    expect(await p.run({ op: 'workerData' })).toEqual({ workerData: { answer: 42 }, env: 'yes' });
  });
});

describe('ThreadPool errors', () => {
  it('keeps name, message, code and the worker stack of a thrown error', async () => {
    const error = await pool()
      .run({ op: 'throw', message: 'bad input' })
      .catch((e: unknown) => e);
    expect(error).toBeInstanceOf(Error);
    expect(error).toMatchObject({ name: 'NamedError', message: 'bad input', code: 'E_NAMED' });
    expect((error as Error).stack).toContain('behaviours.mjs');
  });

  it('rebuilds docket errors as their class, so UnrecoverableError still skips retries', async () => {
    const error = await pool()
      .run({ op: 'unrecoverable' })
      .catch((e: unknown) => e);
    expect(error).toBeInstanceOf(UnrecoverableError);
    expect(error).toMatchObject({ message: 'give up', code: 'DOCKET_UNRECOVERABLE' });
  });

  it('wraps a thrown non-Error', async () => {
    const error = await pool()
      .run({ op: 'throwString' })
      .catch((e: unknown) => e);
    expect(error).toBeInstanceOf(NonErrorThrownError);
    expect((error as Error).message).toContain('a string');
  });

  it('fails a task whose payload cannot be cloned, and keeps the thread', async () => {
    const p = pool();
    await expect(p.run({ op: 'echo', value: () => 1 })).rejects.toThrow(/could not be cloned/);
    expect(await p.run({ op: 'echo', value: 5 })).toBe(5);
    expect(p.stats().crashed).toBe(0);
  });

  it('validates options, naming the option', () => {
    expect(() => new ThreadPool(fixture('add-one.mjs'), { size: 0 })).toThrow(InvalidOptionError);
    expect(() => new ThreadPool(fixture('add-one.mjs'), { size: 0 })).toThrow(/`size`/);
    expect(() => new ThreadPool(fixture('add-one.mjs'), { concurrentPerThread: 1.5 })).toThrow(/`concurrentPerThread`/);
    expect(() => new ThreadPool(fixture('add-one.mjs'), { idleTimeout: -1 })).toThrow(/`idleTimeout`/);
    expect(() => new ThreadPool(fixture('add-one.mjs'), { abortGrace: Number.NaN })).toThrow(/`abortGrace`/);
  });
});

describe('ThreadPool progress and transfer', () => {
  it('forwards ctx.progress values in order, called on the options object', async () => {
    const seen: unknown[] = [];
    const ctx = {
      values: seen,
      progress(this: { values: unknown[] }, value: unknown) {
        this.values.push(value);
      },
    };
    expect(await pool().run({ op: 'progress', steps: 5 }, ctx)).toBe('done');
    expect(seen).toEqual([1, 2, 3, 4, 5]);
  });

  it('fails the task, not the process, when the progress callback throws', async () => {
    const p = pool();
    const failing = {
      progress: () => {
        throw new Error('listener broke');
      },
    };
    await expect(p.run({ op: 'progress', steps: 3 }, failing)).rejects.toThrow('listener broke');
    expect(await p.run({ op: 'echo', value: 'fine' })).toBe('fine');
  });

  it('moves a payload ArrayBuffer marked with transfer() instead of copying it', async () => {
    const data = new Float64Array([1, 2, 3, 4]);
    const result = await pool().run({ op: 'sum', buffer: data.buffer }, { transferList: [data.buffer] });
    expect(result).toMatchObject({ total: 10, receivedLength: 32 });
    expect(data.buffer.byteLength).toBe(0); // detached: moved, not copied

    const other = new Float64Array([5, 5]).buffer;
    const payload = transfer({ op: 'sum', buffer: other }, [other]);
    expect(await pool().run(payload)).toMatchObject({ total: 10 });
    expect(other.byteLength).toBe(0);
  });

  it('copies a buffer that is not marked', async () => {
    const data = new Float64Array([1, 2]);
    await pool().run({ op: 'sum', buffer: data.buffer });
    expect(data.buffer.byteLength).toBe(16);
  });

  it('receives a result the worker marked for transfer, unwrapped', async () => {
    const result = await pool().run({ op: 'moveOut', length: 3 });
    expect(result).toBeInstanceOf(Float64Array);
    expect(Array.from(result as Float64Array)).toEqual([7, 7, 7]);
  });

  it('transfer() defaults its list for buffers and views, and asks for one otherwise', () => {
    const buffer = new ArrayBuffer(8);
    expect(transfer(buffer).transferList).toEqual([buffer]);
    const view = new Uint8Array(4);
    expect(transfer(view).transferList).toEqual([view.buffer]);
    expect(() => transfer({ a: 1 })).toThrow(InvalidOptionError);
  });
});

describe('ThreadPool close', () => {
  it('finishes accepted tasks, then refuses new ones', async () => {
    const p = pool();
    const running = p.run({ op: 'sleep', ms: 50, value: 'finished' });
    const queued = Array.from({ length: 5 }, (_, i) => p.run({ op: 'echo', value: i }));
    await p.close();
    expect(await running).toBe('finished');
    expect(await Promise.all(queued)).toEqual([0, 1, 2, 3, 4]);
    expect(p.stats().threads).toBe(0);
    await expect(p.run({ op: 'echo', value: 1 })).rejects.toBeInstanceOf(QueueClosedError);
  });

  it('destroy() rejects queued and running tasks at once', async () => {
    const p = pool('behaviours.mjs', { size: 1 });
    const running = p.run({ op: 'sleep', ms: 10_000, value: 1 }).catch((e: unknown) => e);
    const queued = p.run({ op: 'echo', value: 2 }).catch((e: unknown) => e);
    expect(p.stats()).toMatchObject({ running: 1, queued: 1 });
    await p.destroy();
    expect(await running).toBeInstanceOf(QueueClosedError);
    expect(await queued).toBeInstanceOf(QueueClosedError);
  });

  it('stops a thread that sat idle past idleTimeout, and starts one on demand', async () => {
    const p = pool('add-one.mjs', { size: 1, idleTimeout: 50 });
    expect(await p.run(1)).toBe(2);
    expect(p.stats().threads).toBe(1);
    await expect.poll(() => p.stats().threads, { timeout: 2_000, interval: 20 }).toBe(0);
    expect(await p.run(2)).toBe(3);
    expect(p.stats()).toMatchObject({ threads: 1, started: 2, crashed: 0 });
  });
});
