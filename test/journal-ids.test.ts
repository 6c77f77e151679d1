import { copyFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { StoreFailedError } from '../src/errors.js';
import { highestJobId, reserveIdsThrough } from '../src/job.js';
import { ID_BLOCK } from '../src/journal/id-reservation.js';
import { FaultyFileSystem, type JournalFileHandle, type JournalOpenOptions, journalOf, openQueue } from '../src/journal/index.js';
import type { Queue } from '../src/queue.js';
import { flush } from './helpers/flush.js';
import { useJournalDir } from './helpers/journal.js';
import { MemoryFileSystem } from './helpers/memory-fs.js';

// Ids are unique across the queues of a process (the beanstalkd protocol addresses jobs by
// id across tubes), survive restarts, and are never handed out twice.

const journal = useJournalDir();

async function crash(...queues: Array<Queue<string>>): Promise<void> {
  for (const q of queues) await journalOf(q)!.close();
}

describe('job ids', () => {
  it.each([false, true])('never hands out an id again after a restart, even once its job is acked (compacted: %s)', async (compacted) => {
    const q = await journal.start<string>({ compactionSlack: Infinity });
    const jobs = await Promise.all(Array.from({ length: 10 }, (_, i) => q.add(`job ${i}`)));
    // The newest jobs are gone: a journal that only looked at its live jobs would start over below them.
    for (const job of jobs.slice(5)) await q.reserveJob(job.id).ack();
    if (compacted) await journalOf(q)!.compact();
    const highest = Math.max(...jobs.map((job) => job.id));
    const r = await journal.start<string>({ compactionSlack: Infinity });
    const fresh = await r.add('fresh');
    expect(fresh.id).toBeGreaterThan(highest);
    for (const job of jobs.slice(0, 5)) expect(r.peek(job.id)?.data).toBe(job.data);
    // And after one more restart, with the fresh job acked too.
    await r.reserveJob(fresh.id).ack();
    await journalOf(r)!.compact();
    const again = await journal.start<string>();
    expect((await again.add('fresher')).id).toBeGreaterThan(fresh.id);
  });

  it('two durable queues in one process share no id, before and after a restart, opened in either order', async () => {
    const a = join(journal.dir, 'a.journal');
    const b = join(journal.dir, 'b.journal');
    let qa = journal.track(await openQueue<string>(a));
    let qb = journal.track(await openQueue<string>(b));
    const seen = new Map<number, string>();
    const add = async (q: Queue<string>, data: string): Promise<void> => {
      const job = await q.add(data);
      expect(seen.get(job.id), `id ${job.id} handed out twice`).toBeUndefined();
      seen.set(job.id, data);
    };
    for (let i = 0; i < 20; i++) await add(i % 3 === 0 ? qb : qa, `first ${i}`);
    for (const order of [
      ['a', 'b'],
      ['b', 'a'],
    ]) {
      await crash(qa, qb);
      for (const name of order) {
        if (name === 'a') qa = journal.track(await openQueue<string>(a));
        else qb = journal.track(await openQueue<string>(b));
      }
      // Every job under its old id, in its own queue only.
      for (const [id, data] of seen) {
        const owner = qa.peek(id) ?? qb.peek(id);
        expect(owner?.data, `job ${id}`).toBe(data);
        expect(qa.peek(id) !== undefined && qb.peek(id) !== undefined, `job ${id} in both queues`).toBe(false);
      }
      for (let i = 0; i < 10; i++) await add(i % 2 === 0 ? qa : qb, `${order.join('')} ${i}`);
    }
  });

  it('gives new ids to the jobs of a journal whose ids another open journal already holds (files of different processes)', async () => {
    const a = join(journal.dir, 'a.journal');
    const b = join(journal.dir, 'b.journal');
    const qa = journal.track(await openQueue<string>(a));
    const jobs = await Promise.all(Array.from({ length: 8 }, (_, i) => qa.add(`a ${i}`)));
    await journalOf(qa)!.flush();
    // The same ids in another journal, as another process would have written them.
    copyFileSync(a, b);
    const qb = journal.track(await openQueue<string>(b));
    const report = journalOf(qb)!.stats().opened;
    expect(report.renumbered).toBe(8);
    expect(qb.stats().total).toBe(8);
    for (const job of jobs) {
      expect(qa.peek(job.id)?.data).toBe(job.data);
      expect(qb.peek(job.id)).toBeUndefined();
    }
    // The new ids are recorded: a restart of that queue alone keeps them.
    const moved = new Map<number, string>();
    for (let id = 1; id <= Math.max(...jobs.map((j) => j.id)) + 100; id++) {
      const job = qb.peek(id);
      if (job !== undefined) moved.set(id, job.data);
    }
    expect([...moved.values()].sort()).toEqual(jobs.map((j) => j.data).sort());
    await crash(qa, qb);
    const again = journal.track(await openQueue<string>(b));
    expect(journalOf(again)!.stats().opened.renumbered).toBe(0);
    for (const [id, data] of moved) expect(again.peek(id)?.data).toBe(data);
    expect(again.stats().total).toBe(8);
  });
});

/** A custom file system whose handles have no `writeSync`: the mark is written asynchronously. */
class WriteOnlyFileSystem extends MemoryFileSystem {
  override async open(file: string, mode: 'existing' | 'create', options?: JournalOpenOptions): Promise<JournalFileHandle> {
    const { writeSync: _dropped, ...handle } = await super.open(file, mode, options);
    return handle;
  }
}

/** The highest id reserved, as the side file holds it (f64 little-endian, then its CRC). */
function markOf(fs: MemoryFileSystem): number {
  return Buffer.from(fs.bytes(`${journal.file}.ids`) as Uint8Array).readDoubleLE(0);
}

/** The next job id is past the block reserved so far: the next add moves the mark. */
function outrunTheMark(): void {
  reserveIdsThrough(highestJobId() + ID_BLOCK);
}

/** Holds the next write of the side file until `release()`. */
function holdMarkWrite(fs: MemoryFileSystem): { reached: Promise<void>; release(): void } {
  return fs.holdAt((call) => call.step === 'write' && call.file === 'q.journal.ids');
}

describe('ids reserved ahead', () => {
  // A crash that kills a job before its record is written leaves an id handed out and
  // unrecorded; test/journal-compaction-crash.test.ts checks that a restart skips it.
  it('refuses a job whose id it cannot reserve, and carries on once it can', async () => {
    const fs = new FaultyFileSystem();
    const q = await journal.start<string>({ fileSystem: fs });
    const before = await q.add('before');
    outrunTheMark();
    fs.failOn('write');
    const refused = q.add('refused');
    await expect(refused).rejects.toBeInstanceOf(StoreFailedError);
    await expect(refused).rejects.toThrow(/cannot reserve job ids \(injected write failure\)/);
    expect(q.stats().total, 'the refused job is not in the queue').toBe(1);
    const after = await q.add('after');
    await journalOf(q)!.close();
    const r = await journal.start<string>();
    expect([r.peek(before.id)?.data, r.peek(after.id)?.data]).toEqual(['before', 'after']);
    expect(r.stats().total).toBe(2);
  });

  it.each([
    ['writeSync', () => new MemoryFileSystem()],
    ['write only', () => new WriteOnlyFileSystem()],
  ])('comes back down to the highest id in use after close(), and ids go on from there (%s)', async (_name, makeFs) => {
    const fs = makeFs();
    const q = await journal.start<string>({ fileSystem: fs });
    outrunTheMark();
    const held = holdMarkWrite(fs);
    const job = await q.add('last');
    // close() while the write that moved the mark is still on its way (asynchronous without
    // writeSync): the mark must come down after it, not be raised again by it.
    const closing = q.close();
    await flush();
    held.release();
    await closing;
    expect(markOf(fs)).toBe(job.id);
    const r = await journal.start<string>({ fileSystem: fs });
    expect((await r.add('next')).id).toBe(job.id + 1);
  });

  it('a journal that failed keeps its ids reserved: the restart hands out ids above the mark', async () => {
    const memory = new MemoryFileSystem();
    const fs = new FaultyFileSystem(memory);
    const q = await journal.start<string>({ fileSystem: fs });
    await q.add('stored');
    const mark = markOf(memory);
    fs.failOn('write');
    // Handed out, then its record failed: a consumer may hold its id.
    const lost = q.add('lost');
    await expect(lost).rejects.toBeInstanceOf(StoreFailedError);
    await q.close();
    expect(markOf(memory)).toBe(mark);
    const r = await journal.start<string>({ fileSystem: memory });
    expect((await r.add('after')).id).toBeGreaterThan(mark);
  });

  it('without writeSync the mark is written just after the job is handed out, in order, and a kill leaves the latest', async () => {
    const fs = new WriteOnlyFileSystem();
    const q = await journal.start<string>({ fileSystem: fs });
    outrunTheMark();
    const held = holdMarkWrite(fs);
    const first = await q.add('first');
    const started = await Promise.race([held.reached.then(() => true), flush().then(() => false)]);
    if (!started) held.release(); // else the cleanup's close would wait on the hold
    expect(started, 'the first move of the mark is being written').toBe(true);
    // The second move of the mark is queued behind the first, still held, write.
    outrunTheMark();
    const second = await q.add('second');
    held.release();
    await flush();
    expect(first.id).toBeLessThan(second.id);
    expect(markOf(fs)).toBe(second.id + ID_BLOCK);
    // A kill -9 now: the restart goes on above the mark, past ids that may have been handed out unwritten.
    const r = await journal.start<string>({ fileSystem: fs.image('kill') });
    expect((await r.add('after')).id).toBe(second.id + ID_BLOCK + 1);
  });
});

describe('the highest-id record', () => {
  it('a compaction before any job was ever added leaves a journal that takes the next add', async () => {
    const { spawnSync } = await import('node:child_process');
    // A fresh process: no id handed out yet anywhere in it.
    const script = `
      const { openQueue, journalOf } = await import(${JSON.stringify(new URL('../src/journal/index.ts', import.meta.url).href)});
      const q = await openQueue(${JSON.stringify(journal.file)}, { sync: 'never' });
      await journalOf(q).compact();
      await q.add('after an empty compaction');
      await q.close();
      const r = await openQueue(${JSON.stringify(journal.file)});
      process.stdout.write(JSON.stringify({ total: r.stats().total, damage: journalOf(r).stats().opened.truncated ?? null }));
      await r.close();`;
    const child = spawnSync(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', script], { encoding: 'utf8' });
    expect(child.stderr).toBe('');
    expect(JSON.parse(child.stdout)).toEqual({ total: 1, damage: null });
  });
});
