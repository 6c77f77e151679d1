import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { ManualClock } from '../src/clock.js';
import { JobTimeoutError, NonErrorThrownError, UnrecoverableError } from '../src/errors.js';
import type { Job } from '../src/job.js';
import type { QueueOptions } from '../src/options.js';
import { Queue } from '../src/queue.js';
import type { Backoff } from '../src/retry.js';
import { flush, trackUnhandledRejections } from './helpers/flush.js';

const queues: Queue<string>[] = [];
let unhandled: ReturnType<typeof trackUnhandledRejections>;
beforeEach(() => {
  unhandled = trackUnhandledRejections();
});
afterEach(async () => {
  for (const q of queues.splice(0)) await q.close({ timeout: 0 });
  await flush();
  // No test here may leave an unhandled rejection behind.
  expect(unhandled.stop()).toEqual([]);
});

function makeQueue(options: QueueOptions<string>): { q: Queue<string>; clock: ManualClock; log: string[] } {
  const clock = (options.clock as ManualClock | undefined) ?? new ManualClock(1_000);
  const q = new Queue<string>({ ...options, clock });
  queues.push(q);
  const log: string[] = [];
  q.on('failed', (job) => log.push(`failed:${job.attemptsMade}`));
  q.on('retrying', (job, _error, delay) => log.push(`retrying:${job.attemptsMade}:${delay}`));
  q.on('dead', (job, reason) => log.push(`dead:${job.attemptsMade}:${reason}`));
  q.on('completed', (job) => log.push(`completed:${job.attemptsMade}`));
  return { q, clock, log };
}

/**
 * Runs a job that always fails under `backoff` and returns the delay before each retry, as
 * observed on the clock: the job stays delayed for exactly that long and not 1 ms less.
 */
async function observedDelays(backoff: Backoff, attempts: number, random?: () => number): Promise<number[]> {
  const { q, clock } = makeQueue({ retry: { attempts, backoff }, ...(random === undefined ? {} : { random }) });
  const announced: number[] = [];
  q.on('retrying', (job, _error, delay) => {
    announced.push(delay);
    // The job waits exactly the announced delay, or is ready at once for 0.
    if (delay > 0) {
      expect(job.state).toBe('delayed');
      expect(job.dueAt - clock.now()).toBe(delay);
    } else {
      expect(job.state).toBe('ready');
    }
  });
  const startedAt: number[] = [];
  q.process(() => {
    startedAt.push(clock.now());
    throw new Error('always');
  });
  const job = await q.add('x');
  await flush();
  while (job.state === 'delayed') {
    const before = startedAt.length;
    const wait = job.dueAt - clock.now();
    clock.advance(wait - 1);
    await flush();
    expect(startedAt.length).toBe(before);
    clock.advance(1);
    await flush();
    expect(startedAt.length).toBeGreaterThan(before);
  }
  expect(job.state).toBe('buried');
  expect(startedAt).toHaveLength(attempts);
  const observed = startedAt.slice(1).map((t, i) => t - startedAt[i]!);
  expect(observed).toEqual(announced);
  return observed;
}

describe('retry backoff, observed on the clock', () => {
  it('fixed', async () => {
    expect(await observedDelays({ type: 'fixed', delay: 100 }, 4)).toEqual([100, 100, 100]);
  });
  it('a number is a fixed delay', async () => {
    expect(await observedDelays(250, 3)).toEqual([250, 250]);
  });
  it('linear', async () => {
    expect(await observedDelays({ type: 'linear', delay: 100 }, 4)).toEqual([100, 200, 300]);
  });
  it('exponential', async () => {
    expect(await observedDelays({ type: 'exponential', delay: 100 }, 5)).toEqual([100, 200, 400, 800]);
  });
  it('exponential capped by max', async () => {
    expect(await observedDelays({ type: 'exponential', delay: 100, max: 300 }, 6)).toEqual([100, 200, 300, 300, 300]);
  });
  it('linear capped by max', async () => {
    expect(await observedDelays({ type: 'linear', delay: 100, max: 250 }, 5)).toEqual([100, 200, 250, 250]);
  });
  it('custom function of (attempt, error)', async () => {
    const seen: Array<[number, string]> = [];
    const delays = await observedDelays((attempt, error) => {
      seen.push([attempt, error.message]);
      return attempt * 7;
    }, 4);
    expect(delays).toEqual([7, 14, 21]);
    expect(seen).toEqual([
      [1, 'always'],
      [2, 'always'],
      [3, 'always'],
    ]);
  });
  it('full jitter draws from [0, computed] with the injected random', async () => {
    const draws = [0.5, 0, 0.999_999, 0.25];
    const random = (): number => draws.shift() ?? 0;
    // Computed: 100, 200, 400, 800 (cap 1000); jitter = floor(r * (computed + 1)).
    expect(await observedDelays({ type: 'exponential', delay: 100, max: 1_000, jitter: true }, 5, random)).toEqual([50, 0, 400, 200]);
  });
  it('jitter respects the cap', async () => {
    const random = (): number => 0.999_999;
    expect(await observedDelays({ type: 'exponential', delay: 100, max: 150, jitter: true }, 4, random)).toEqual([100, 150, 150]);
  });
  it('a custom backoff returning NaN, negative or Infinity retries at once', async () => {
    const values = [Number.NaN, -5, Infinity];
    expect(await observedDelays(() => values.shift()!, 4)).toEqual([0, 0, 0]);
  });
});

describe('retry policy', () => {
  it('retryIf false dead-letters the job as unrecoverable, with (error, job) as arguments', async () => {
    const calls: Array<[string, number]> = [];
    const { q, log } = makeQueue({
      retry: {
        attempts: 5,
        retryIf: (error, job) => {
          calls.push([error.message, job.attemptsMade]);
          return error.message !== 'fatal';
        },
      },
    });
    const messages = ['transient', 'fatal'];
    q.process(() => {
      throw new Error(messages.shift());
    });
    const job = await q.add('x');
    await flush();
    expect(calls).toEqual([
      ['transient', 1],
      ['fatal', 2],
    ]);
    expect(job.state).toBe('buried');
    expect(job.deadReason).toBe('unrecoverable');
    expect(log).toEqual(['failed:1', 'retrying:1:0', 'failed:2', 'dead:2:unrecoverable']);
  });

  it('a retryIf that throws dead-letters the job and reports the throw as an error event', async () => {
    const { q } = makeQueue({
      retry: {
        attempts: 5,
        retryIf: () => {
          throw new Error('retryIf broke');
        },
      },
    });
    const errors: Error[] = [];
    q.on('error', (error) => errors.push(error));
    q.process(() => {
      throw new Error('x');
    });
    const job = await q.add('x');
    await flush();
    expect(job.deadReason).toBe('unrecoverable');
    expect(errors.map((e) => e.message)).toEqual(['retryIf broke']);
  });

  it('UnrecoverableError skips the remaining attempts (retryIf not asked)', async () => {
    let asked = 0;
    const { q, log } = makeQueue({ retry: { attempts: 5, retryIf: () => (asked++, true) } });
    q.process(async () => {
      throw new UnrecoverableError('bad input');
    });
    const job = await q.add('x');
    await flush();
    expect(job.state).toBe('buried');
    expect(job.deadReason).toBe('unrecoverable');
    expect(job.attemptsMade).toBe(1);
    expect(asked).toBe(0);
    expect(log).toEqual(['failed:1', 'dead:1:unrecoverable']);
  });

  it('keeps every attempt’s error on the job: name, message, stack, code, attempt, time', async () => {
    const { q, clock } = makeQueue({ retry: { attempts: 3, backoff: 10 }, timeout: 50 });
    let n = 0;
    q.process(() => {
      n++;
      if (n === 1) throw new TypeError('first');
      if (n === 2) return Promise.reject(42);
      return new Promise<never>(() => {});
    });
    const job = await q.add('x');
    clock.advance(10);
    await flush();
    clock.advance(10);
    await flush();
    clock.advance(50);
    await flush();
    expect(job.state).toBe('buried');
    expect(job.deadReason).toBe('timeout');
    const errors = job.errors;
    expect(errors).toHaveLength(3);
    expect(errors[0]).toMatchObject({ attempt: 1, name: 'TypeError', message: 'first', at: 1_000 });
    // (the non-Error rejection at 1_010 is retried 10 ms later; that attempt hangs 50 ms)
    expect(errors[0]!.stack).toContain('first');
    expect(errors[1]).toMatchObject({ attempt: 2, name: 'NonErrorThrownError', code: 'DOCKET_NON_ERROR', at: 1_010 });
    expect(errors[1]!.message).toContain('42');
    expect(errors[2]).toMatchObject({ attempt: 3, name: 'JobTimeoutError', code: 'DOCKET_JOB_TIMEOUT', at: 1_070 });
    expect(job.snapshot().errors).toEqual(errors);
  });

  it("emits 'failed', 'retrying' and 'dead' once per occurrence", async () => {
    const { q, log } = makeQueue({ retry: { attempts: 3 } });
    q.process(() => {
      throw new Error('no');
    });
    await q.add('x');
    await flush();
    expect(log).toEqual(['failed:1', 'retrying:1:0', 'failed:2', 'retrying:2:0', 'failed:3', 'dead:3:failed']);
    expect(q.stats()).toMatchObject({ failed: 3, retried: 2, dead: 1, completed: 0 });
  });

  it('a job that succeeds on a retry completes once and is not dead', async () => {
    const { q, log } = makeQueue({ retry: { attempts: 3 } });
    let n = 0;
    q.process(() => {
      if (++n === 1) throw new Error('once');
      return 'ok';
    });
    const results: unknown[] = [];
    q.on('completed', (_job, result) => results.push(result));
    await q.add('x');
    await flush();
    expect(log).toEqual(['failed:1', 'retrying:1:0', 'completed:2']);
    expect(results).toEqual(['ok']);
  });

  it('per-job attempts override the queue’s', async () => {
    const { q, log } = makeQueue({ retry: { attempts: 5 } });
    q.process(() => {
      throw new Error('no');
    });
    await q.add('x', { attempts: 2 });
    await flush();
    expect(log).toEqual(['failed:1', 'retrying:1:0', 'failed:2', 'dead:2:failed']);
  });

  it('fail() on a pulled job applies the same policy and backoff', async () => {
    const { q, clock, log } = makeQueue({ retry: { attempts: 2, backoff: { type: 'fixed', delay: 40 } } });
    const job = await q.add('x');
    await q.tryReserve()!.fail('not an Error');
    expect(job.state).toBe('delayed');
    expect(job.dueAt).toBe(clock.now() + 40);
    expect(job.errors[0]?.name).toBe('NonErrorThrownError');
    clock.advance(40);
    await q.tryReserve()!.fail(new Error('again'));
    expect(job.deadReason).toBe('failed');
    expect(log).toEqual(['failed:1', 'retrying:1:40', 'failed:2', 'dead:2:failed']);
  });

  it('release() uses an attempt, release({ countAttempt: false }) does not', async () => {
    const { q } = makeQueue({ retry: { attempts: 2 } });
    const job = await q.add('x');
    await q.tryReserve()!.release({ countAttempt: false });
    expect(job.attemptsMade).toBe(0);
    await q.tryReserve()!.release();
    expect(job.attemptsMade).toBe(1);
    expect(job.state).toBe('ready');
    await q.tryReserve()!.release();
    expect(job.state).toBe('buried');
    expect(job.deadReason).toBe('released');
  });
});

describe('a failing handler is one failed attempt, never a crash', () => {
  async function oneAttempt(handler: () => unknown, options: QueueOptions<string> = {}) {
    const { q, clock } = makeQueue({ retry: { attempts: 2, backoff: 1_000 }, ...options });
    const failures: Error[] = [];
    q.on('failed', (_job, error) => failures.push(error));
    q.process(handler);
    const job: Job<string> = await q.add('x');
    await flush();
    return { q, clock, job, failures };
  }

  it('a synchronous throw', async () => {
    const { job, failures } = await oneAttempt(() => {
      throw new Error('sync');
    });
    expect(failures.map((e) => e.message)).toEqual(['sync']);
    expect(job.attemptsMade).toBe(1);
    expect(job.state).toBe('delayed');
  });

  it('a rejection with a non-Error value (wrapped, original kept as cause)', async () => {
    const value = { reason: 'plain object' };
    const { job, failures } = await oneAttempt(() => Promise.reject(value));
    expect(failures).toHaveLength(1);
    expect(failures[0]).toBeInstanceOf(NonErrorThrownError);
    expect((failures[0] as Error & { cause?: unknown }).cause).toBe(value);
    expect(job.attemptsMade).toBe(1);
  });

  it('a synchronous throw of undefined', async () => {
    const { failures } = await oneAttempt(() => {
      throw undefined;
    });
    expect(failures).toHaveLength(1);
    expect(failures[0]).toBeInstanceOf(NonErrorThrownError);
  });

  it('a handler that never settles, past its timeout: aborted signal, JobTimeoutError, slot freed', async () => {
    let signal: AbortSignal | undefined;
    const { q, clock, job, failures } = await oneAttempt(
      (...args: unknown[]) => {
        signal = (args[1] as { signal: AbortSignal }).signal;
        return new Promise<never>(() => {});
      },
      { timeout: 500 },
    );
    clock.advance(499);
    expect(failures).toHaveLength(0);
    clock.advance(1);
    expect(failures).toHaveLength(1);
    expect(failures[0]).toBeInstanceOf(JobTimeoutError);
    expect(signal?.aborted).toBe(true);
    expect(signal?.reason).toBeInstanceOf(JobTimeoutError);
    expect(job.attemptsMade).toBe(1);
    expect(q.pending).toBe(0);
    expect(job.state).toBe('delayed');
  });

  it('a handler that rejects after its timeout counts once and leaves no unhandled rejection', async () => {
    let rejectLate: ((error: unknown) => void) | undefined;
    const { clock, job, failures } = await oneAttempt(
      () =>
        new Promise((_resolve, reject) => {
          rejectLate = reject;
        }),
      { timeout: 100 },
    );
    clock.advance(100);
    rejectLate!(new Error('late'));
    await flush();
    expect(failures).toHaveLength(1);
    expect(job.errors.map((e) => e.name)).toEqual(['JobTimeoutError']);
  });

  it('per-job timeout overrides the queue’s', async () => {
    const { clock, failures } = await oneAttempt(() => new Promise<never>(() => {}), { timeout: 10_000 });
    expect(failures).toHaveLength(0);
    clock.advance(10_000);
    expect(failures).toHaveLength(1);
    const { q: q2, clock: clock2 } = makeQueue({ timeout: 10_000 });
    const seen: Error[] = [];
    q2.on('failed', (_job, error) => seen.push(error));
    q2.process(() => new Promise<never>(() => {}));
    await q2.add('y', { timeout: 20 });
    clock2.advance(20);
    expect(seen.map((e) => e.name)).toEqual(['JobTimeoutError']);
  });
});
