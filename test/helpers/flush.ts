import type { ManualClock } from '../../src/clock.js';

/** Lets every queued microtask (and the ones they queue) run: resolves on the next macrotask turn. */
export function flush(): Promise<void> {
  return new Promise((resolve) => setImmediate(resolve));
}

/** Runs `turns` rounds of microtasks only (no macrotask), for checks that must not let timers in. */
export async function microtasks(turns = 20): Promise<void> {
  for (let i = 0; i < turns; i++) await Promise.resolve();
}

/** Advances a manual clock in steps, flushing promises between steps, until `done()` or `maxSteps`. */
export async function advanceUntil(clock: ManualClock, step: number, done: () => boolean, maxSteps = 10_000): Promise<number> {
  let steps = 0;
  await flush();
  while (!done() && steps < maxSteps) {
    clock.advance(step);
    steps++;
    await flush();
  }
  return steps;
}

/**
 * Resolves once `predicate` holds, asked every `every` ms of real time; rejects after
 * `timeout` ms. For progress a test cannot await (real I/O, another process, a server):
 * what a manual clock drives is awaited with `flush()` instead.
 */
export async function until(predicate: () => boolean | Promise<boolean>, timeout = 20_000, every = 5): Promise<void> {
  const deadline = Date.now() + timeout;
  while (!(await predicate())) {
    if (Date.now() > deadline) throw new Error(`condition not met in ${timeout} ms`);
    await new Promise((resolve) => setTimeout(resolve, every));
  }
}

// Older suites import the PRNG from here; it lives in random.ts.
export { seededRandom } from './random.js';

/** Collects unhandled rejections while installed; `stop()` removes the listener and returns them. */
export function trackUnhandledRejections(): { readonly reasons: unknown[]; stop(): unknown[] } {
  const reasons: unknown[] = [];
  const listener = (reason: unknown): void => {
    reasons.push(reason);
  };
  process.on('unhandledRejection', listener);
  return {
    reasons,
    stop() {
      process.off('unhandledRejection', listener);
      return reasons;
    },
  };
}

/** A promise with its resolve and reject exposed. */
export interface Deferred<T> {
  promise: Promise<T>;
  resolve(value: T): void;
  reject(error: unknown): void;
}

export function deferred<T = void>(): Deferred<T> {
  let resolve!: (value: T) => void;
  let reject!: (error: unknown) => void;
  const promise = new Promise<T>((res, rej) => {
    resolve = res;
    reject = rej;
  });
  return { promise, resolve, reject };
}
