import { describe, expect, it } from 'vitest';
import { ManualClock } from '../src/clock.js';
import { journalOf } from '../src/journal/index.js';
import { reserveAll } from './helpers/groups.js';
import { useJournalDir } from './helpers/journal.js';

const journal = useJournalDir();

describe('journal: groups survive restarts', () => {
  it('keeps each job’s group, the group order and a strict group held by a retry, across two restarts and a compaction', async () => {
    const options = { retry: { attempts: 3, backoff: 10_000 } };
    const clock1 = new ManualClock(1_000_000);
    const q = await journal.start<string>({ ...options, clock: clock1 });
    for (const s of ['a1', 'a2', 'a3']) await q.add(s, { group: 'tenant/a' });
    await q.add('a0-urgent', { group: 'tenant/a', priority: 10 });
    await q.add('b1', { group: 'b' });
    await q.add('u1');
    // The urgent job of a fails: it waits 10 s for its retry and holds group a.
    const first = reserveAll(q);
    expect(first.map((l) => l.data)).toEqual(['a0-urgent', 'b1', 'u1']);
    await first[0].fail(new Error('flaky'));
    await first[2].ack();
    // b1 is still reserved when the process dies.
    await journal.crash(q);

    // Restart 1: b1 comes back ready (its lost lease was an attempt) and still holds b.
    const clock2 = new ManualClock(1_001_000);
    const r = await journal.start<string>({ ...options, clock: clock2 });
    expect(r.groups().sort()).toEqual(['b', 'tenant/a']);
    expect(r.groupStats('tenant/a')).toMatchObject({ ready: 3, delayed: 1, running: 0, held: 1 });
    expect(r.groupStats('b')).toMatchObject({ ready: 1, held: 1 });
    const again = reserveAll(r);
    expect(again.map((l) => l.data)).toEqual(['b1']);
    expect(again[0].job.group).toBe('b');
    await again[0].ack();
    await journalOf(r)!.compact();
    await journal.crash(r);

    // Restart 2, after the retry's time: the failed job first, then the rest in order.
    const clock3 = new ManualClock(1_020_000);
    const s = await journal.start<string>({ ...options, clock: clock3 });
    expect(s.groups()).toEqual(['tenant/a']);
    expect(reserveAll(s)).toEqual([]);
    // The retry is due (a manual clock fires what is due when told to).
    clock3.advance(0);
    const order: string[] = [];
    for (;;) {
      const [lease] = reserveAll(s);
      if (lease === undefined) break;
      expect(reserveAll(s)).toEqual([]);
      order.push(lease.data);
      expect(lease.job.group).toBe('tenant/a');
      await lease.ack();
    }
    expect(order).toEqual(['a0-urgent', 'a1', 'a2', 'a3']);
    expect(s.peek(first[0].id)).toBeUndefined();
  });
});
