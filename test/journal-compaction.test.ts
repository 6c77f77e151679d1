import { existsSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { beforeEach, describe, expect, it } from 'vitest';
import type { Job } from '../src/job.js';
import { FaultyFileSystem, inspectJournal, journalOf } from '../src/journal/index.js';
import type { Queue } from '../src/queue.js';
import type { ReservedJob } from '../src/reserved-job.js';
import { useJournalDir } from './helpers/journal.js';

const journal = useJournalDir();
let file: string;
beforeEach(() => ({ file } = journal));

const start = journal.start;

function snapshots<T>(q: Queue<T>, ids: Iterable<number>): Map<number, unknown> {
  const out = new Map<number, unknown>();
  for (const id of ids) {
    const job: Job<T> | undefined = q.peek(id);
    if (job === undefined) continue;
    const s = job.snapshot();
    // Reserved jobs come back ready with the lease counted: compare them as restore would.
    if (s.state === 'reserved') {
      s.state = 'ready';
      s.dueAt = Infinity;
      s.timeouts++;
    }
    out.set(id, s);
  }
  return out;
}

function diskUse(): number {
  let total = statSync(file).size;
  if (existsSync(`${file}.compact`)) total += statSync(`${file}.compact`).size;
  return total;
}

describe('compaction', () => {
  it('keeps every live job and its state while producers and consumers keep going', async () => {
    const options = { sync: 'never', compactionSlack: 8 * 1024, retry: { attempts: 5 } } as const;
    const q = await start<{ i: number; pad: string }>(options);
    const journal = journalOf(q)!;
    const ids: number[] = [];
    const held: ReservedJob<{ i: number; pad: string }>[] = [];
    let compactions = 0;
    let forced = 0;
    journal.on('compacted', () => compactions++);
    for (let round = 0; round < 40; round++) {
      const added = await Promise.all(
        Array.from({ length: 50 }, (_, k) => q.add({ i: round * 50 + k, pad: 'p'.repeat(k) }, { priority: k % 4, delay: k % 10 === 9 ? 3_600_000 : 0 })),
      );
      ids.push(...added.map((j) => j.id));
      // Consume most of them in various ways; some stay ready, delayed, buried or reserved.
      for (let k = 0; k < 45; k++) {
        const lease = q.tryReserve();
        if (lease === undefined) break;
        if (k % 15 === 0) await lease.bury('kept as a dead letter');
        else if (k % 17 === 0) held.push(lease);
        else if (k % 11 === 0) await lease.release({ priority: 7 });
        else await lease.ack();
      }
      if (round === 20) {
        // A compaction forced while changes are being made in the same tick.
        forced++;
        const running = journal.compact();
        const extra = await q.add({ i: -1, pad: 'during' });
        ids.push(extra.id);
        q.tryReserve()?.ack();
        await running;
      }
    }
    await journal.flush();
    await new Promise((resolve) => setImmediate(resolve));
    forced++;
    await journal.compact();
    // The slack is small next to what the rounds write: most compactions started on their own.
    expect(compactions - forced, 'automatic compactions').toBeGreaterThanOrEqual(3);
    const live = snapshots(q, ids);
    expect(live.size).toBeGreaterThan(50);
    await journal.close();
    const r = await start<{ i: number; pad: string }>(options);
    expect(snapshots(r, ids)).toEqual(live);
  });

  it('after a reopen, compacts restored jobs (touched or not) together with new ones', async () => {
    const options = { compactionSlack: Infinity, retry: { attempts: 3 } } as const;
    const q = await start<number>(options);
    const first = await Promise.all(Array.from({ length: 40 }, (_, i) => q.add(i, { priority: i % 2 })));
    q.reserveJob(first[0].id);
    await journalOf(q)!.flush();
    const r = await start<number>(options);
    const journal = journalOf(r)!;
    expect(journal.stats().liveJobs).toBe(40);
    await r.reserveJob(first[1].id).ack();
    expect(r.remove(first[2].id)).toBe(true);
    await r.reserveJob(first[3].id).bury('x');
    await r.reserveJob(first[4].id).release({ delay: 60_000 });
    const fresh = await Promise.all(Array.from({ length: 5 }, (_, i) => r.add(100 + i)));
    expect(journal.stats().liveJobs).toBe(43);
    const ids = [...first, ...fresh].map((j) => j.id);
    const running = journal.compact();
    // Changes while it runs, to restored jobs and new ones.
    await r.reserveJob(first[5].id).ack();
    await r.reserveJob(fresh[0].id).bury('y');
    const info = await running;
    expect(info?.jobs, JSON.stringify(info)).toBeGreaterThanOrEqual(42);
    expect(journal.stats().liveJobs).toBe(42);
    const before = snapshots(r, ids);
    await journal.close();
    const again = await start<number>(options);
    expect(snapshots(again, ids)).toEqual(before);
    expect(journalOf(again)!.stats().liveJobs).toBe(42);
  });

  it('keeps every restored job when reopening a large journal compacts it at once', async () => {
    // Reopening appends an update for each job that was reserved at the crash; the file is
    // well past twice the live data plus the slack, so that append starts a compaction
    // before the queue has even returned. It must still hold the jobs nobody touched.
    const retry = { attempts: 5 };
    const q = await start<string>({ compactionSlack: Infinity, retry });
    const jobs = await Promise.all(Array.from({ length: 300 }, (_, i) => q.add(`job ${i} ${'x'.repeat(200)}`)));
    for (const job of jobs.slice(0, 200)) await q.reserveJob(job.id).ack();
    const held = [q.tryReserve()!, q.tryReserve()!, q.tryReserve()!];
    await journalOf(q)!.close();

    const r = await start<string>({ compactionSlack: 1024, retry });
    const compacted = new Promise((resolve) => journalOf(r)!.once('compacted', resolve));
    await compacted;
    await journalOf(r)!.close();
    const again = await start<string>({ compactionSlack: Infinity, retry });
    expect(again.stats().total).toBe(100);
    for (const job of jobs.slice(200)) expect(again.peek(job.id)?.data, `job ${job.id}`).toBe(job.data);
    for (const lease of held) expect(again.peek(lease.id)).toMatchObject({ state: 'ready', timeouts: 1 });
  });

  it('keeps disk use bounded while one old job stays forever (beanstalkd#359)', async () => {
    const slack = 16 * 1024;
    const q = await start<string>({ sync: 'never', compactionSlack: slack });
    const journal = journalOf(q)!;
    const old = await q.add('I stay forever', { priority: 2 ** 32 - 1 });
    // Bytes the journal appended: each compaction's old file, plus the current one.
    let replaced = 0;
    journal.on('compacted', (info) => (replaced += info.before));
    let peak = 0;
    for (let round = 0; round < 300; round++) {
      await Promise.all(Array.from({ length: 20 }, (_, k) => q.add(`job ${round}/${k} ${'x'.repeat(100)}`)));
      const leases = Array.from({ length: 20 }, () => q.tryReserve()!);
      await Promise.all(leases.map((lease) => lease.ack()));
      peak = Math.max(peak, diskUse());
    }
    await journal.flush();
    const stats = journal.stats();
    const written = replaced + stats.size;
    // Far more went through than the bound below allows to stay on disk.
    expect(written).toBeGreaterThan(30 * slack);
    expect(stats.compactions).toBeGreaterThan(5);
    // About twice the live data plus one slack, plus what arrives while a compaction runs.
    expect(peak).toBeLessThan(2 * stats.liveBytes + 4 * slack);
    await journal.close();
    const r = await start<string>();
    expect(r.stats().total).toBe(1);
    expect(r.peek(old.id)?.data).toBe('I stay forever');
  });

  it('gives up a compaction that cannot write its new file and keeps using the old one', async () => {
    const fs = new FaultyFileSystem();
    const q = await start<string>({ sync: 'always', fileSystem: fs, compactionSlack: Infinity });
    const journal = journalOf(q)!;
    const jobs = await Promise.all(['a', 'b', 'c'].map((s) => q.add(s)));
    await q.reserveJob(jobs[0].id).ack();
    const errors: Error[] = [];
    journal.on('compactionError', (error) => errors.push(error));
    fs.failOn('write', { after: 1 });
    expect(await journal.compact()).toBeUndefined();
    expect(errors).toHaveLength(1);
    expect(existsSync(`${file}.compact`)).toBe(false);
    const d = await q.add('d');
    expect(journal.stats().failed).toBe(false);
    await journal.close();
    const r = await start<string>();
    expect([jobs[1].id, jobs[2].id, d.id].map((id) => r.peek(id)?.data)).toEqual(['b', 'c', 'd']);
  });

  it('writes only the live jobs, and ignores a half-written compaction file left by a crash', async () => {
    writeFileSync(`${file}.compact`, 'garbage from a crash in the middle of a compaction');
    const q = await start<string>({ compactionSlack: Infinity });
    const journal = journalOf(q)!;
    const jobs = await Promise.all(Array.from({ length: 30 }, (_, i) => q.add(`job ${i}`)));
    for (const job of jobs.slice(0, 20)) await q.reserveJob(job.id).ack();
    // The journal's size, not the file's: under sync 'always' the file carries preallocated zeros.
    const before = journal.stats().size;
    expect(statSync(file).size).toBeGreaterThanOrEqual(before);
    const info = await journal.compact();
    expect(info).toMatchObject({ before, jobs: 10 });
    expect(statSync(file).size).toBeLessThan(before / 3);
    const inspection = await inspectJournal(file);
    // The ten jobs, after the record of the highest id handed out.
    expect(inspection.records).toBe(11);
    expect(inspection.jobs.map((j) => j.data)).toEqual(jobs.slice(20).map((j) => j.data));
    expect(existsSync(`${file}.compact`)).toBe(false);
    expect(readFileSync(file).subarray(0, 8).toString()).toBe('DOCKETJ1');
  });
});
