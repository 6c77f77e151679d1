import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { journalOf, openQueue, type OpenQueueOptions, type SyncPolicy } from '../src/journal/index.js';
import type { Queue } from '../src/queue.js';
import { MemoryFileSystem, type MemoryCall } from './helpers/memory-fs.js';

// A crash at every step of a compaction: the file system records what a kill -9 and what a
// power cut would leave at each of its calls (and, for writes, with the write torn in
// half), while producers and consumers keep going and the test holds the compaction at its
// named steps. Every image must open with every acknowledged job and without any job whose
// ack was acknowledged.

const FILE = path.resolve('/docket-memory/q.journal');
const COMPACT = 'q.journal.compact';

interface Ledger {
  /** Acknowledged adds whose ack is not acknowledged: id -> data. */
  live: Map<number, string>;
  /** Of those, the ones with an ack in flight: they may be there or not. */
  acking: Set<number>;
  /** Acknowledged acks. */
  gone: Set<number>;
}

interface Image {
  fs: MemoryFileSystem;
  kind: 'kill' | 'power' | 'torn';
  at: string;
  ledger: Ledger;
}

function copyLedger(ledger: Ledger): Ledger {
  return { live: new Map(ledger.live), acking: new Set(ledger.acking), gone: new Set(ledger.gone) };
}

async function reopenAndCheck(image: Image, options: OpenQueueOptions<string>): Promise<void> {
  const q = await openQueue<string>(FILE, { ...options, fileSystem: image.fs });
  try {
    const where = `${image.kind} image at ${image.at}`;
    for (const [id, data] of image.ledger.live) if (!image.ledger.acking.has(id)) expect(q.peek(id)?.data, `${where}: acknowledged job ${id} lost`).toBe(data);
    for (const id of image.ledger.gone) expect(q.peek(id), `${where}: acknowledged ack of ${id} came back`).toBeUndefined();
  } finally {
    await journalOf(q)!.close();
  }
}

describe.each(['always', 'never'] as const)('a crash at any step of a compaction (sync %s)', (sync: SyncPolicy) => {
  it('leaves a journal that opens with every acknowledged job', async () => {
    const fs = new MemoryFileSystem();
    const options: OpenQueueOptions<string> = { sync, compactionSlack: Infinity, retry: { attempts: 5 } };
    const q: Queue<string> = await openQueue<string>(FILE, { ...options, fileSystem: fs });
    const journal = journalOf(q)!;
    const ledger: Ledger = { live: new Map(), acking: new Set(), gone: new Set() };
    let counter = 0;
    const add = async (): Promise<void> => {
      const data = `job ${counter++}`;
      const job = await q.add(data, { priority: counter % 3 });
      ledger.live.set(job.id, data);
    };
    const ackOne = async (): Promise<void> => {
      const lease = q.tryReserve();
      if (lease === undefined) return;
      ledger.acking.add(lease.id);
      await lease.ack();
      ledger.acking.delete(lease.id);
      ledger.live.delete(lease.id);
      ledger.gone.add(lease.id);
    };
    for (let i = 0; i < 60; i++) await add();
    for (let i = 0; i < 30; i++) await ackOne();
    // Jobs in other states, whose last record is an update.
    await q.tryReserve()!.release({ priority: 9, delay: 60_000 });
    await q.tryReserve()!.bury('kept');

    const images: Image[] = [];
    const steps = new Set<string>();
    fs.onCall = (call: MemoryCall) => {
      const at = `${call.step} ${call.file} (call ${fs.calls.length})`;
      steps.add(`${call.step} ${call.file}`);
      images.push({ fs: fs.image('kill'), kind: 'kill', at, ledger: copyLedger(ledger) });
      if (sync === 'always') images.push({ fs: fs.image('power'), kind: 'power', at, ledger: copyLedger(ledger) });
      const pending = fs.pendingWrite;
      if (call.step === 'write' && pending !== undefined && pending.bytes.length > 1) {
        const torn = { file: pending.file, bytes: pending.bytes.subarray(0, pending.bytes.length >> 1), position: pending.position };
        images.push({ fs: fs.image('kill', torn), kind: 'torn', at, ledger: copyLedger(ledger) });
        if (sync === 'always') images.push({ fs: fs.image('power', torn), kind: 'torn', at: `${at}, power`, ledger: copyLedger(ledger) });
      }
    };

    // Held once the new file is written and synced (changes keep going to the old file and
    // are copied over), then at the rename (the switch holds up the writer: these changes
    // wait), then before the directory fsync.
    const synced = fs.holdAt((call) => call.step === 'datasync' && call.file === COMPACT);
    const renaming = fs.holdAt((call) => call.step === 'rename');
    const dirSync = fs.holdAt((call) => call.step === 'syncDirectory');
    const running = journal.compact();
    // (A step that never comes lets the test go on, to fail below rather than hang.)
    // Traffic while the live records are being written.
    await Promise.all([add(), add(), ackOne()]);
    await Promise.race([synced.reached, running]);
    for (let i = 0; i < 10; i++) await Promise.all([add(), ackOne()]);
    synced.release();
    await Promise.race([renaming.reached, running]);
    const waiting = [add(), add(), ackOne(), ackOne()];
    renaming.release();
    await Promise.race([dirSync.reached, running]);
    waiting.push(add(), ackOne());
    dirSync.release();
    const info = await running;
    await Promise.all(waiting);
    // After the switch, on the new file.
    for (let i = 0; i < 5; i++) await Promise.all([add(), ackOne()]);
    await journal.flush();
    fs.onCall = undefined;

    expect(info, 'the compaction finished').toBeDefined();
    expect(journal.stats().compactions).toBe(1);
    expect(images.length).toBeGreaterThan(sync === 'always' ? 60 : 25);
    // The process is gone (one at a time holds these jobs): only the images are left.
    const end = fs.image('kill');
    await journal.close();
    for (const image of images) await reopenAndCheck(image, options);
    await reopenAndCheck({ fs: end, kind: 'kill', at: 'the end', ledger }, options);
    for (const step of [
      'open q.journal.compact',
      'write q.journal.compact',
      'datasync q.journal.compact',
      'rename q.journal.compact',
      'syncDirectory docket-memory',
    ]) {
      expect([...steps], `crash images taken at ${step}`).toContain(step);
    }
  });
});

// Once the old file has grown by the hold size during a compaction, appends wait in memory
// for the switch, while the queue keeps handing out jobs. A job added then, reserved and
// acked before the switch has no record in the journal: none of it is acknowledged, and a
// kill leaves no trace of the job. Its id was handed out all the same (a beanstalkd client
// may hold it): the next process must not give it to a new job.
describe.each(['always', 'interval'] as const)('a crash while a compaction holds writes (sync %s)', (sync: SyncPolicy) => {
  it('acknowledges nothing held, and the next process hands out none of its ids', async () => {
    const fs = new MemoryFileSystem();
    // The hold starts once the old file grows by 4 KiB (the smallest hold) past the size at the start.
    const options: OpenQueueOptions<string> = { sync, compactionSlack: 4096, retry: { attempts: 5 } };
    const q: Queue<string> = await openQueue<string>(FILE, { ...options, fileSystem: fs });
    const journal = journalOf(q)!;
    const pad = 'x'.repeat(600);
    const stored = new Map<number, string>();
    for (let i = 0; i < 8; i++) {
      const job = await q.add(`stored ${i} ${pad}`, { priority: 5 });
      stored.set(job.id, job.data);
    }
    await journal.flush();
    await journal.compact();

    const synced = fs.holdAt((call) => call.step === 'datasync' && call.file === COMPACT);
    const running = journal.compact();
    await Promise.race([synced.reached, running]);
    // Grow the old file past the hold: from some add on, nothing more is written.
    const settled = new Set<Promise<unknown>>();
    const track = <R>(promise: Promise<R>): Promise<R> => {
      void promise.then(() => settled.add(promise));
      return promise;
    };
    const turn = (): Promise<void> => new Promise((resolve) => setImmediate(resolve));
    let held: Promise<unknown> | undefined;
    for (let i = 0; i < 20 && held === undefined; i++) {
      const size = journal.stats().size;
      const adding = track(q.add(`grow ${i} ${pad}`, { priority: 5 }));
      await turn();
      await turn();
      if (journal.stats().size === size) held = adding;
      else stored.set((await adding).id, `grow ${i} ${pad}`);
    }
    expect(held, 'writes stop once the old file grew past the hold').toBeDefined();
    const sizeAtHold = journal.stats().size;

    // Held: a new job, handed out, acked; and the ack of a stored job.
    const fresh = track(q.add('fresh', { priority: 0 }));
    const lease = q.tryReserve()!;
    expect(lease.data).toBe('fresh');
    const freshAck = track(lease.ack());
    const old = q.tryReserve()!;
    expect(stored.get(old.id)).toBe(old.data);
    const oldAck = track(old.ack());
    for (let i = 0; i < 5; i++) await turn();
    expect(journal.stats().size, 'nothing reaches the old file').toBe(sizeAtHold);
    expect(
      [held!, fresh, freshAck, oldAck].filter((promise) => settled.has(promise)),
      'held operations resolved',
    ).toEqual([]);

    // A kill now.
    const image = fs.image('kill');
    synced.release();
    await running;
    await Promise.all([held!, fresh, freshAck, oldAck]);
    await journal.close();

    const next = await openQueue<string>(FILE, { ...options, fileSystem: image });
    try {
      for (const [id, data] of stored) expect(next.peek(id)?.data, `acknowledged job ${id}`).toBe(data);
      expect(next.peek(lease.id), 'the held job left no trace').toBeUndefined();
      // Ids are process-wide: this process is past them anyway. What a fresh one would skip:
      expect(journalOf(next)!.highestId, 'ids the next process skips').toBeGreaterThanOrEqual(lease.id);
    } finally {
      await journalOf(next)!.close();
    }
    // And the process that lived on wrote the held changes to the new file.
    const after = await openQueue<string>(FILE, { ...options, fileSystem: fs });
    try {
      expect(after.peek(lease.id), 'acked while held').toBeUndefined();
      expect(after.peek(old.id), 'acked while held').toBeUndefined();
      for (const [id, data] of stored) if (id !== old.id) expect(after.peek(id)?.data, `acknowledged job ${id}`).toBe(data);
    } finally {
      await journalOf(after)!.close();
    }
  });
});
