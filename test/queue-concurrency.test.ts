import fc from 'fast-check';
import { afterEach, describe, expect, it } from 'vitest';
import { ManualClock } from '../src/clock.js';
import { InvalidOptionError } from '../src/errors.js';
import { Queue } from '../src/queue.js';
import { deferred, flush, type Deferred } from './helpers/flush.js';

const queues: Queue<number>[] = [];
afterEach(async () => {
  for (const q of queues.splice(0)) await q.close({ timeout: 0 });
});

function makeQueue(concurrency: number, attempts = 1): Queue<number> {
  const q = new Queue<number>({ clock: new ManualClock(), concurrency, retry: { attempts } });
  queues.push(q);
  return q;
}

/** A handler that measures itself: how many run at once, and whether one started over the limit. */
function meter(q: Queue<number>) {
  const running: Deferred<void>[] = [];
  const state = { active: 0, max: 0, started: 0, overLimit: [] as string[] };
  q.process(async () => {
    if (state.active >= q.concurrency) state.overLimit.push(`start with ${state.active} active, limit ${q.concurrency}`);
    state.active++;
    state.started++;
    state.max = Math.max(state.max, state.active);
    const d = deferred();
    running.push(d);
    try {
      await d.promise;
    } finally {
      state.active--;
    }
  });
  return { state, running };
}

describe('queue concurrency', () => {
  it('runs up to `concurrency` handlers at once, never more', async () => {
    const q = makeQueue(4);
    const { state, running } = meter(q);
    for (let i = 0; i < 50; i++) void q.add(i);
    await flush();
    expect(state.active).toBe(4);
    expect(q.pending).toBe(4);
    while (running.length > 0) {
      running.shift()!.resolve();
      await flush();
      expect(state.active).toBeLessThanOrEqual(4);
    }
    await q.onIdle();
    expect(state.started).toBe(50);
    expect(state.max).toBe(4);
    expect(state.overLimit).toEqual([]);
  });

  it('takes a raised limit at once and honours a lowered one as handlers finish', async () => {
    const q = makeQueue(2);
    const { state, running } = meter(q);
    for (let i = 0; i < 30; i++) void q.add(i);
    await flush();
    expect(state.active).toBe(2);

    q.concurrency = 5;
    await flush();
    expect(state.active).toBe(5);
    expect(q.stats().concurrency).toBe(5);

    q.concurrency = 1;
    // Four finish: none may start while more than one is still running.
    for (let i = 0; i < 4; i++) {
      running.shift()!.resolve();
      await flush();
    }
    expect(state.active).toBe(1);
    expect(state.started).toBe(5);
    running.shift()!.resolve();
    await flush();
    expect(state.active).toBe(1);
    expect(state.started).toBe(6);
    expect(state.overLimit).toEqual([]);
  });

  it('rejects a bad concurrency with InvalidOptionError naming it', () => {
    const q = makeQueue(1);
    for (const bad of [0, -1, 1.5, Number.NaN, '2']) {
      expect(() => {
        (q as { concurrency: unknown }).concurrency = bad;
      }).toThrow(InvalidOptionError);
    }
    expect(() => {
      (q as { concurrency: unknown }).concurrency = 0;
    }).toThrow(/concurrency/);
    expect(q.concurrency).toBe(1);
    expect(() => new Queue({ concurrency: 0 })).toThrow(/concurrency/);
  });

  it('process({ concurrency }) sets the limit', async () => {
    const q = new Queue<number>({ clock: new ManualClock() });
    queues.push(q);
    let active = 0;
    let max = 0;
    const gates: Deferred<void>[] = [];
    q.process(
      async () => {
        max = Math.max(max, ++active);
        const gate = deferred();
        gates.push(gate);
        await gate.promise;
        active--;
      },
      { concurrency: 3 },
    );
    for (let i = 0; i < 10; i++) void q.add(i);
    await flush();
    expect(active).toBe(3);
    while (gates.length > 0) {
      gates.shift()!.resolve();
      await flush();
    }
    await q.onIdle();
    expect(max).toBe(3);
  });

  it('never starts a handler over the limit under random limit changes, successes and failures', async () => {
    type Step = { kind: 'limit'; n: number } | { kind: 'settle'; pick: number; ok: boolean } | { kind: 'add'; n: number };
    const step: fc.Arbitrary<Step> = fc.oneof(
      fc.record({ kind: fc.constant('limit' as const), n: fc.integer({ min: 1, max: 8 }) }),
      fc.record({ kind: fc.constant('settle' as const), pick: fc.nat(100), ok: fc.boolean() }),
      fc.record({ kind: fc.constant('add' as const), n: fc.integer({ min: 1, max: 6 }) }),
    );
    await fc.assert(
      fc.asyncProperty(fc.integer({ min: 1, max: 8 }), fc.array(step, { maxLength: 60 }), async (initial, steps) => {
        const q = makeQueue(initial, 2);
        const overLimit: string[] = [];
        const running: Deferred<void>[] = [];
        let active = 0;
        q.process(async () => {
          if (active >= q.concurrency) overLimit.push(`start with ${active} active, limit ${q.concurrency}`);
          active++;
          const d = deferred();
          running.push(d);
          try {
            await d.promise;
          } finally {
            active--;
          }
        });
        let added = 0;
        for (const s of steps) {
          if (s.kind === 'limit') q.concurrency = s.n;
          else if (s.kind === 'add') for (let i = 0; i < s.n; i++) void q.add(added++);
          else if (running.length > 0) {
            const [d] = running.splice(s.pick % running.length, 1);
            if (s.ok) d!.resolve();
            else d!.reject(new Error('no'));
          }
          await flush();
          expect(q.pending).toBe(active);
        }
        // Drain everything; the limit still holds.
        while (running.length > 0) {
          running.shift()!.resolve();
          await flush();
        }
        expect(overLimit).toEqual([]);
        expect(q.size + q.pending).toBe(0);
        await q.close({ timeout: 0 });
      }),
      { numRuns: 100 },
    );
  });

  it('a handler that settles its job early and keeps working still holds its slot', async () => {
    const q = makeQueue(2);
    let active = 0;
    let max = 0;
    const gates: Deferred<void>[] = [];
    q.process(async (job) => {
      max = Math.max(max, ++active);
      try {
        // Acknowledge first, then finish some work (write a log, close a file...).
        await job.ack();
        const gate = deferred();
        gates.push(gate);
        await gate.promise;
      } finally {
        active--;
      }
    });
    for (let i = 0; i < 6; i++) void q.add(i);
    await flush();
    expect(active).toBe(2);
    while (gates.length > 0) {
      gates.shift()!.resolve();
      await flush();
    }
    expect(max).toBe(2);
  });

  it('a timed-out handler that stops on its signal frees its slot for the next job, within the limit', async () => {
    const clock = new ManualClock();
    const q = new Queue<number>({ clock, concurrency: 3, timeout: 100, retry: { attempts: 2 } });
    queues.push(q);
    let active = 0;
    let max = 0;
    let starts = 0;
    q.process(
      (_job, { signal }) =>
        new Promise((_resolve, reject) => {
          starts++;
          max = Math.max(max, ++active);
          signal.addEventListener('abort', () => {
            active--;
            reject(signal.reason);
          });
        }),
    );
    for (let i = 0; i < 9; i++) void q.add(i);
    await flush();
    expect(active).toBe(3);
    for (let i = 0; i < 8; i++) {
      clock.advance(100);
      await flush();
      expect(active).toBeLessThanOrEqual(3);
    }
    expect(starts).toBe(18);
    expect(max).toBe(3);
    expect(q.stats().dead).toBe(9);
  });
});
