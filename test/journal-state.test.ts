import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { ManualClock } from '../src/clock.js';
import { journalOf, openQueue, type OpenQueueOptions } from '../src/journal/index.js';
import type { Queue } from '../src/queue.js';
import type { ReservedJob } from '../src/reserved-job.js';
import { useJournalDir } from './helpers/journal.js';
import { observe, QueueModel } from './helpers/queue-model.js';

// Every kind of change, each with its full state, survives a crash: after each operation
// (acknowledged: its promise resolved, or `flush()` after the synchronous ones) the file is
// copied as a kill -9 would leave it, and each copy must reopen to exactly what the test's
// own model says, field by field (not what the journal's replay says).

const journal = useJournalDir();
const BACKOFF = 1000;
const TTR = 600_000;

describe.each(['always', 'interval'] as const)('the full state of every job survives a crash (sync %s)', (sync) => {
  it('release, fail, bury, kick, touch, changePriority, remove, dedupe ids, ttl and due times', async () => {
    const clock = new ManualClock(1_700_000_000_000);
    const options: OpenQueueOptions<string> = { sync, compactionSlack: Infinity, ttr: TTR, retry: { attempts: 3, backoff: { type: 'fixed', delay: BACKOFF } } };
    const q: Queue<string> = await journal.start<string>({ ...options, clock });
    const model = new QueueModel(BACKOFF);
    const crashes: Array<{ after: string; bytes: Buffer; expected: Map<number, ReturnType<typeof observe>> }> = [];
    const leases = new Map<number, ReservedJob<string>>();
    const step = async (name: string, act: () => unknown): Promise<void> => {
      await act();
      await journalOf(q)!.flush();
      crashes.push({ after: name, bytes: readFileSync(journal.file), expected: model.afterRestart() });
    };
    const add = async (data: string, opts: { priority?: number; delay?: number; attempts?: number; ttl?: number; id?: string } = {}): Promise<number> => {
      const job = await q.add(data, opts);
      model.add(job.id, data, { attempts: 3, ttr: TTR, ...opts, dedupeId: opts.id }, clock.now());
      return job.id;
    };
    const reserve = (id: number): void => {
      leases.set(id, q.reserveJob(id));
      model.reserve(id, clock.now());
    };
    const lease = (id: number): ReservedJob<string> => {
      const held = leases.get(id)!;
      leases.delete(id);
      return held;
    };

    let a = 0,
      b = 0,
      c = 0,
      d = 0,
      e = 0,
      f = 0;
    await step('adds with every option', async () => {
      a = await add('plain');
      b = await add('urgent', { priority: 0, attempts: 2 });
      c = await add('later', { delay: 30_000, priority: 7 });
      d = await add('keyed', { id: 'order-42', ttl: 3_600_000 });
      e = await add('short-lived', { ttl: 5_000, attempts: 1 });
      f = await add('spare', { priority: 2 ** 32 - 1 });
    });
    await step('reserve', () => {
      reserve(a);
      reserve(b);
    });
    await step('release with a new delay and priority', async () => {
      model.release(a, { delay: 20_000, priority: 5 }, clock.now());
      await lease(a).release({ delay: 20_000, priority: 5 });
    });
    await step('fail: an error kept, retried after the backoff', async () => {
      model.fail(b, 'first failure', clock.now());
      await lease(b).fail(new Error('first failure'));
    });
    await step('time passes: a delayed job comes due', () => {
      clock.advance(BACKOFF);
      model.advance(clock.now());
    });
    await step('fail on the last attempt: buried with both errors', async () => {
      reserve(b);
      clock.advance(10);
      model.fail(b, 'second failure', clock.now());
      await lease(b).fail(new Error('second failure'));
    });
    await step('bury with a reason and a priority', async () => {
      reserve(f);
      model.buryLease(f, 'poison message', 3, clock.now());
      await lease(f).bury('poison message', { priority: 3 });
    });
    await step('changePriority of a delayed, a buried and a ready job', () => {
      for (const [id, priority] of [
        [c, 1],
        [b, 9],
        [d, 4],
      ]) {
        q.changePriority(id, priority);
        model.changePriority(id, priority);
      }
    });
    await step('kick the buried jobs', () => {
      expect(q.kick(10)).toBe(2);
      model.kick(10);
    });
    await step('kickJob a delayed job', () => {
      expect(q.kickJob(a)).toBe(true);
      model.kickJob(a);
    });
    await step('touch a lease, then leave it reserved on its last attempt', () => {
      reserve(e);
      clock.advance(100);
      lease(e).touch();
    });
    await step('reserve a kicked job, left reserved at the crash', () => reserve(b));
    await step('remove a job', () => {
      expect(q.remove(f)).toBe(true);
      model.remove(f);
    });
    await step('a dedupe id already live gives back its job', async () => {
      expect((await q.add('again', { id: 'order-42' })).id).toBe(d);
    });

    expect(model.get(b).errors.map((error) => error.message)).toEqual(['first failure', 'second failure']);
    // The process is gone: its jobs are only in the copies now.
    await journal.crash(q);
    for (const [index, crash] of crashes.entries()) {
      const copy = join(journal.dir, `crash-${index}.journal`);
      writeFileSync(copy, crash.bytes);
      const restored = journal.track(await openQueue<string>(copy, { ...options, clock: new ManualClock(clock.now()) }));
      const actual = new Map(
        [...crash.expected.keys()].flatMap((id) => {
          const job = restored.peek(id);
          return job === undefined ? [] : [[id, observe(job)] as const];
        }),
      );
      expect(actual, `crash after: ${crash.after}`).toEqual(crash.expected);
      expect(restored.stats().total, `crash after: ${crash.after}`).toBe(crash.expected.size);
      // The dedupe index is rebuilt too.
      if (crash.expected.has(d)) expect((await restored.add('dup', { id: 'order-42' })).id).toBe(d);
      await journalOf(restored)!.close();
    }
    // The job reserved on its last attempt came back buried, its lease counted.
    expect(crashes.at(-1)!.expected.get(e)).toMatchObject({ state: 'buried', deadReason: 'lease-expired', timeouts: 1 });
  });
});
