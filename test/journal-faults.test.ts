import { constants, copyFileSync, readdirSync, readFileSync, readlinkSync, realpathSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { beforeEach, describe, expect, it } from 'vitest';
import { StoreFailedError } from '../src/errors.js';
import { FaultyFileSystem, journalOf, nodeFileSystem, openQueue } from '../src/journal/index.js';
import { until } from './helpers/flush.js';
import { HeldFileSystem } from './helpers/held-fs.js';
import { useJournalDir } from './helpers/journal.js';
import type { Queue } from '../src/queue.js';

const journal = useJournalDir();
let dir: string;
let file: string;
beforeEach(() => ({ dir, file } = journal));

const start = journal.start;

/** The open(2) flags of this process's descriptors on `path`, from /proc (Linux only). */
function openFlags(path: string): number[] {
  const target = realpathSync(path);
  const flags: number[] = [];
  for (const fd of readdirSync('/proc/self/fd')) {
    let link: string;
    try {
      link = readlinkSync(`/proc/self/fd/${fd}`);
    } catch {
      continue;
    }
    if (link !== target) continue;
    const line = /^flags:\s*([0-7]+)/m.exec(readFileSync(`/proc/self/fdinfo/${fd}`, 'utf8'));
    if (line !== null) flags.push(parseInt(line[1], 8));
  }
  return flags;
}

function settled(promise: Promise<unknown>): { done: boolean } {
  const state = { done: false };
  promise.then(
    () => (state.done = true),
    () => (state.done = true),
  );
  return state;
}

/**
 * Adds one job, holds the store's durable step (`fs` holding) while 50 more producers add,
 * checks that none of them resolved meanwhile, then lets everything through.
 */
async function addWhileGated(q: Queue<number>, fs: HeldFileSystem): Promise<void> {
  fs.holding = true;
  const first = q.add(0);
  const firstState = settled(first);
  let rest: Array<Promise<unknown>> = [];
  try {
    await until(() => fs.waiting === 1);
    rest = Array.from({ length: 50 }, (_, i) => q.add(i + 1));
    const restStates = rest.map(settled);
    // Nothing to wait for but time: no add may resolve while the durable step is held.
    await new Promise((resolve) => setTimeout(resolve, 20));
    expect(firstState.done).toBe(false);
    expect(restStates.some((state) => state.done)).toBe(false);
  } finally {
    fs.releaseAll();
  }
  await Promise.all([first, ...rest]);
}

describe('sync always', () => {
  it('resolves add only after the fdatasync of its record, and concurrent adds share one fdatasync', async () => {
    const fs = new HeldFileSystem();
    const q = await start<number>({ sync: 'always', fileSystem: fs });
    const before = fs.syncs;
    await addWhileGated(q, fs);
    // One for the first add, one for the 50 that queued behind it.
    expect(fs.syncs - before).toBe(2);
    expect(journalOf(q)!.stats().batches).toBeLessThanOrEqual(3);
  });
});

describe('sync always with O_DSYNC', () => {
  it('opens the journal O_DSYNC and resolves add only after the write of its record returns, with no fdatasync', async () => {
    const fs = new HeldFileSystem('write');
    const q = await start<number>({ sync: 'always', fileSystem: fs });
    expect(fs.durable.at(-1)).toBe(true);
    // On Linux (as in CI) /proc must show the journal's descriptor, carrying O_DSYNC;
    // elsewhere there is no /proc to ask, and the handle's own word (above) is all there is.
    if (process.platform === 'linux') {
      const flags = openFlags(file);
      expect(flags.length, 'the journal descriptor, found in /proc/self/fd').toBeGreaterThan(0);
      expect(flags.some((f) => (f & constants.O_DSYNC) === constants.O_DSYNC)).toBe(true);
    }
    // Creating the file synced once; from here on, nothing should.
    const before = { writes: fs.writes, syncs: journalOf(q)!.stats().syncs, fdatasyncs: fs.syncs };
    await addWhileGated(q, fs);
    // One write for the first add, one for the 50 that queued behind it; no fdatasync.
    expect(fs.writes - before.writes).toBe(2);
    expect(fs.syncs).toBe(before.fdatasyncs);
    expect(journalOf(q)!.stats().syncs - before.syncs).toBe(2);
  });

  it('sync never and interval do not open the journal O_DSYNC', async () => {
    const fs = new HeldFileSystem('write');
    await journalOf(await start<number>({ sync: 'never', fileSystem: fs }))!.close();
    await journalOf(await start<number>({ sync: 'interval', fileSystem: fs }))!.close();
    expect(fs.durable.slice(-2)).toEqual([false, false]);
  });

  it('reopens the compacted file O_DSYNC, so appends after a compaction still skip fdatasync', async () => {
    const fs = new HeldFileSystem('write');
    const q = await start<string>({ sync: 'always', fileSystem: fs, compactionSlack: Infinity });
    const jobs = await Promise.all(Array.from({ length: 20 }, (_, i) => q.add(`job ${i}`)));
    for (const job of jobs.slice(0, 15)) q.remove(job.id);
    await journalOf(q)!.flush();
    expect(await journalOf(q)!.compact()).toMatchObject({ jobs: 5 });
    const syncs = fs.syncs;
    const later = await q.add('after compaction');
    expect(fs.syncs).toBe(syncs);
    await journalOf(q)!.close();
    const r = await start<string>();
    expect(r.peek(later.id)?.data).toBe('after compaction');
    expect(r.stats().total).toBe(6);
  });
});

describe('preallocation under sync always', () => {
  it('leaves zeros past the last record while open, which a reopen after a crash takes for the end, not damage', async () => {
    const q = await start<string>({ sync: 'always' });
    const jobs = await Promise.all(Array.from({ length: 10 }, (_, i) => q.add(`job ${i}`)));
    const size = journalOf(q)!.stats().size;
    expect(statSync(file).size).toBeGreaterThan(size);
    expect(
      readFileSync(file)
        .subarray(size)
        .every((byte) => byte === 0),
    ).toBe(true);
    // What a crash now leaves behind: the file as it is, zeros and all.
    const crashed = join(dir, 'crashed.journal');
    copyFileSync(file, crashed);
    await journal.crash(q);
    const r = await openQueue<string>(crashed);
    journal.track(r);
    expect(journalOf(r)!.stats().opened.truncated).toBeUndefined();
    expect(jobs.map((j) => r.peek(j.id)?.data)).toEqual(jobs.map((_, i) => `job ${i}`));
    // Appends go over the zeros, and survive another reopen.
    const later = await r.add('later');
    await journalOf(r)!.close();
    const again = await openQueue<string>(crashed);
    journal.track(again);
    expect(again.peek(later.id)?.data).toBe('later');
    expect(again.stats().total).toBe(11);
  });

  it('cuts the zeros off on close', async () => {
    const q = await start<string>({ sync: 'always' });
    await q.add('x');
    const journal = journalOf(q)!;
    await journal.close();
    expect(statSync(file).size).toBe(journal.stats().size);
  });

  it('still reports a torn record followed by zeros as a torn tail', async () => {
    const q = await start<string>({ sync: 'always' });
    const kept = await q.add('kept');
    const size = journalOf(q)!.stats().size;
    const crashed = join(dir, 'crashed.journal');
    const bytes = readFileSync(file);
    bytes.fill(0x5a, size, size + 10);
    writeFileSync(crashed, bytes);
    await journal.crash(q);
    const r = await openQueue<string>(crashed);
    journal.track(r);
    expect(journalOf(r)!.stats().opened.truncated).toMatchObject({ kind: 'torn-tail', offset: size });
    expect(r.peek(kept.id)?.data).toBe('kept');
    expect(r.stats().total).toBe(1);
  });
});

describe('sync interval and never', () => {
  it('interval: add resolves after the write, and fdatasync follows within the interval', async () => {
    const fs = new HeldFileSystem();
    const q = await start<number>({ sync: 'interval', interval: 10, fileSystem: fs });
    const before = fs.syncs;
    fs.holding = true;
    try {
      // Resolves although every fdatasync is held back: it waited for the write only.
      await Promise.all([q.add(1), q.add(2)]);
      await until(() => fs.syncs > before);
    } finally {
      fs.releaseAll();
    }
    const syncs = fs.syncs;
    // Nothing new written: no more fdatasync calls.
    await new Promise((resolve) => setTimeout(resolve, 40));
    expect(fs.syncs).toBe(syncs);
  });

  it('never: no fdatasync until close, which syncs once', async () => {
    const fs = new HeldFileSystem();
    const q = await start<number>({ sync: 'never', fileSystem: fs });
    const before = fs.syncs;
    await Promise.all(Array.from({ length: 20 }, (_, i) => q.add(i)));
    await q.reserveJob((await q.add(99)).id).ack();
    expect(fs.syncs).toBe(before);
    await q.close();
    expect(fs.syncs).toBe(before + 1);
  });
});

describe('fail closed', () => {
  it('under sync always with O_DSYNC, rejects an add whose write fails, then every later add; never retries', async () => {
    const fs = new FaultyFileSystem();
    const q = await start<string>({ sync: 'always', fileSystem: fs });
    const kept = await q.add('kept');
    const failed = new Promise((resolve) => journalOf(q)!.once('failed', resolve));
    fs.failOn('write');
    const writesBefore = fs.calls.write;
    const syncsBefore = fs.calls.datasync;
    const adds = [q.add('a'), q.add('b')];
    for (const add of adds) await expect(add).rejects.toBeInstanceOf(StoreFailedError);
    expect(await failed).toBeInstanceOf(StoreFailedError);
    await expect(q.add('later')).rejects.toBeInstanceOf(StoreFailedError);
    await journalOf(q)!.flush();
    expect(fs.calls.write).toBe(writesBefore + 1);
    expect(fs.calls.datasync).toBe(syncsBefore);
    await journalOf(q)!.close();
    const r = await start<string>();
    expect(r.stats().total).toBe(1);
    expect(r.peek(kept.id)?.data).toBe('kept');
  });

  it('rejects an add whose fdatasync fails (no O_DSYNC), then every later add; never retries the fdatasync', async () => {
    const fs = new FaultyFileSystem(nodeFileSystem, { dsync: false });
    const q = await start<string>({ sync: 'always', fileSystem: fs });
    const kept = await q.add('kept');
    const failed = new Promise((resolve) => journalOf(q)!.once('failed', resolve));
    fs.failOn('datasync');
    const syncsBefore = fs.calls.datasync;
    const adds = [q.add('a'), q.add('b')];
    for (const add of adds) await expect(add).rejects.toBeInstanceOf(StoreFailedError);
    expect(await failed).toBeInstanceOf(StoreFailedError);
    await expect(q.add('later')).rejects.toBeInstanceOf(StoreFailedError);
    await expect(q.tryAdd('later')).rejects.toThrow(/store failed/);
    // Jobs already there can still be consumed.
    const lease = q.tryReserve();
    expect(lease?.id).toBe(kept.id);
    await lease!.ack();
    expect(q.stats().total).toBe(0);
    await journalOf(q)!.flush();
    expect(fs.calls.datasync).toBe(syncsBefore + 1);
    expect(journalOf(q)!.stats().failed).toBe(true);
  });

  it('never acknowledges an add whose write fails, and the job is not in the queue or the file', async () => {
    const fs = new FaultyFileSystem();
    const q = await start<string>({ sync: 'never', fileSystem: fs });
    const kept = await q.add('kept');
    fs.failOn('write', { error: Object.assign(new Error('no space left on device'), { code: 'ENOSPC' }) });
    const lost = q.add('lost');
    await expect(lost).rejects.toThrow(/ENOSPC|no space/);
    expect(q.stats().total).toBe(1);
    await journalOf(q)!.close();
    const r = await start<string>();
    expect(r.stats().total).toBe(1);
    expect(r.peek(kept.id)?.data).toBe('kept');
  });

  it('a torn write (part of the batch reached the file) is cut off on the next open', async () => {
    const fs = new FaultyFileSystem();
    const q = await start<string>({ sync: 'always', fileSystem: fs });
    const kept = await Promise.all([q.add('k1'), q.add('k2')]);
    fs.failOn('write', { partial: 30 });
    const torn = [q.add('t1'), q.add('t2')];
    for (const add of torn) await expect(add).rejects.toBeInstanceOf(StoreFailedError);
    await journalOf(q)!.close();
    const r = await start<string>();
    expect(r.stats().total).toBe(2);
    expect(kept.map((j) => r.peek(j.id)?.data)).toEqual(['k1', 'k2']);
    expect(journalOf(r)!.stats().opened.truncated).toMatchObject({ kind: 'torn-tail' });
  });

  it('under sync interval, a failed periodic fdatasync fails the queue closed', async () => {
    const fs = new FaultyFileSystem();
    const q = await start<string>({ sync: 'interval', interval: 5, fileSystem: fs });
    fs.failOn('datasync');
    await q.add('written');
    await new Promise((resolve) => journalOf(q)!.once('failed', resolve));
    await expect(q.add('refused')).rejects.toBeInstanceOf(StoreFailedError);
    const calls = fs.calls.datasync;
    await q.add('x').catch(() => undefined);
    await new Promise((resolve) => setTimeout(resolve, 30));
    expect(fs.calls.datasync).toBe(calls);
  });

  it('rejects opening when the file cannot be created', async () => {
    await expect(openQueue(join(dir, 'missing-dir', 'q.journal'))).rejects.toBeInstanceOf(StoreFailedError);
  });
});
