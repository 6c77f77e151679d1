import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { StoreFailedError } from '../src/errors.js';
import { FaultyFileSystem, journalOf, nodeFileSystem, openQueue, type JournalFileHandle, type JournalFileSystem } from '../src/journal/index.js';
import type { Queue } from '../src/queue.js';

let dir: string;
let file: string;
const open: Array<Queue<unknown>> = [];

beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'docket-journal-'));
  file = join(dir, 'q.journal');
});

afterEach(async () => {
  for (const q of open.splice(0)) await journalOf(q)?.close();
  rmSync(dir, { recursive: true, force: true });
});

async function start<T>(options: Parameters<typeof openQueue<T>>[1] = {}): Promise<Queue<T>> {
  const q = await openQueue<T>(file, options);
  open.push(q as Queue<unknown>);
  return q;
}

/** A file system whose fdatasync calls wait until the test lets them through. */
class GatedFileSystem implements JournalFileSystem {
  gated = false;
  private waiting: Array<() => void> = [];
  syncs = 0;
  readFile = nodeFileSystem.readFile;
  rename = nodeFileSystem.rename;
  syncDirectory = nodeFileSystem.syncDirectory;
  copyFile = nodeFileSystem.copyFile;
  unlink = nodeFileSystem.unlink;
  async open(path: string, mode: 'existing' | 'create'): Promise<JournalFileHandle> {
    const handle = await nodeFileSystem.open(path, mode);
    return {
      write: (chunks, position) => handle.write(chunks, position),
      truncate: (length) => handle.truncate(length),
      close: () => handle.close(),
      datasync: async () => {
        this.syncs++;
        if (this.gated) await new Promise<void>((resolve) => this.waiting.push(resolve));
        return handle.datasync();
      },
    };
  }
  get pending(): number {
    return this.waiting.length;
  }
  release(): void {
    this.gated = false;
    for (const go of this.waiting.splice(0)) go();
  }
}

/** Polls real I/O progress (the thread pool) for up to 2 s. */
async function until(condition: () => boolean): Promise<void> {
  const deadline = Date.now() + 2000;
  while (!condition()) {
    if (Date.now() > deadline) throw new Error('condition not reached in 2 s');
    await new Promise((resolve) => setTimeout(resolve, 1));
  }
}

function settled(promise: Promise<unknown>): { done: boolean } {
  const state = { done: false };
  promise.then(
    () => (state.done = true),
    () => (state.done = true),
  );
  return state;
}

describe('sync always', () => {
  it('resolves add only after the fdatasync of its record, and concurrent adds share one fdatasync', async () => {
    const fs = new GatedFileSystem();
    const q = await start<number>({ sync: 'always', fileSystem: fs });
    const before = fs.syncs;
    fs.gated = true;
    const first = q.add(0);
    const firstState = settled(first);
    let rest: Array<Promise<unknown>> = [];
    try {
      await until(() => fs.pending === 1);
    // While the first fdatasync is in flight, 50 more producers add.
    rest = Array.from({ length: 50 }, (_, i) => q.add(i + 1));
    const restStates = rest.map(settled);
    await new Promise((resolve) => setTimeout(resolve, 20));
    expect(firstState.done).toBe(false);
    expect(restStates.some((s) => s.done)).toBe(false);
    } finally {
      fs.release();
    }
    await Promise.all([first, ...rest]);
    // One for the first add, one for the 50 that queued behind it.
    expect(fs.syncs - before).toBe(2);
    expect(journalOf(q)!.stats().batches).toBeLessThanOrEqual(3);
  });
});

describe('sync interval and never', () => {
  it('interval: add resolves after the write, and fdatasync follows within the interval', async () => {
    const fs = new GatedFileSystem();
    const q = await start<number>({ sync: 'interval', interval: 10, fileSystem: fs });
    const before = fs.syncs;
    fs.gated = true;
    try {
      // Resolves although every fdatasync is held back: it waited for the write only.
      await Promise.all([q.add(1), q.add(2)]);
      await until(() => fs.syncs > before);
    } finally {
      fs.release();
    }
    const syncs = fs.syncs;
    // Nothing new written: no more fdatasync calls.
    await new Promise((resolve) => setTimeout(resolve, 40));
    expect(fs.syncs).toBe(syncs);
  });

  it('never: no fdatasync until close, which syncs once', async () => {
    const fs = new GatedFileSystem();
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
  it('rejects an add whose fdatasync fails, then every later add; never retries the fdatasync', async () => {
    const fs = new FaultyFileSystem();
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
