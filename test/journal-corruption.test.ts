import { existsSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { beforeEach, describe, expect, it } from 'vitest';
import { StoreFailedError } from '../src/errors.js';
import type { JobSnapshot } from '../src/job.js';
import { journalOf, openQueue } from '../src/journal/index.js';
import { FILE_HEADER_SIZE, readRecord } from '../src/journal/record.js';
import type { StoredJob } from '../src/journal/job-codec.js';
import { replay, type ReplayResult } from '../src/journal/replay.js';

/** The live jobs of a replay, by id, in replay order. */
function jobMap(result: ReplayResult): Map<number, StoredJob> {
  return new Map([...result.jobs()].map((job) => [job.id, job]));
}
import type { Queue } from '../src/queue.js';
import { useJournalDir } from './helpers/journal.js';
import { seededRandom } from './helpers/random.js';

const journal = useJournalDir();
let dir: string;
let file: string;
beforeEach(() => ({ dir, file } = journal));

/** Writes a journal with puts, updates and deletes of `count` jobs; returns its bytes. */
async function makeJournal(count: number, payload = 'x'): Promise<Uint8Array> {
  const q = await openQueue<{ n: number; s: string }>(file, { retry: { attempts: 3 } });
  const jobs = [];
  for (let i = 0; i < count; i++) jobs.push(await q.add({ n: i, s: payload.repeat(i % 7) }, { priority: i % 3, delay: i % 5 === 4 ? 60_000 : 0 }));
  for (let i = 0; i < count; i += 3) {
    const lease = q.reserveJob(jobs[i].id);
    if (i % 2 === 0) await lease.ack();
    else await lease.bury('bad');
  }
  await journalOf(q)!.close();
  return readFileSync(file);
}

/** Offsets where records end (the valid cut points), header end first. */
function boundaries(bytes: Uint8Array): number[] {
  const ends = [FILE_HEADER_SIZE];
  let offset = FILE_HEADER_SIZE;
  let seq: number | undefined;
  for (;;) {
    const found = readRecord(bytes, offset, bytes.length, seq);
    if (found.kind !== 'record') break;
    offset = found.end;
    seq = found.seq + 1;
    ends.push(offset);
  }
  expect(offset).toBe(bytes.length);
  return ends;
}

/** The jobs the queue holds, keyed by id, without the fields that restore itself changes. */
function state(q: Queue<unknown>, ids: Iterable<number>): Map<number, unknown> {
  const out = new Map<number, unknown>();
  for (const id of ids) {
    const job = q.peek(id);
    if (job !== undefined) out.set(id, job.snapshot());
  }
  return out;
}

/** What a clean journal cut at `end` holds, as restored jobs (reserved ones would come back ready). */
function expected(bytes: Uint8Array, end: number): Map<number, Omit<JobSnapshot<unknown>, 'data'>> {
  const result = replay(bytes.subarray(0, end));
  return new Map(
    [...jobMap(result)].map(([id, { source, bodyStart, bodyEnd, recordSize, data, ...fields }]) => {
      if (fields.state === 'reserved') {
        // The lease died with the process: the attempt counts, as the queue's restore does.
        fields.timeouts++;
        fields.dueAt = Infinity;
        if (fields.attemptsMade >= fields.maxAttempts) {
          fields.state = 'buried';
          fields.deadReason = 'lease-expired';
        } else {
          fields.state = 'ready';
        }
      }
      return [id, fields];
    }),
  );
}

function strip(map: Map<number, unknown>): Map<number, unknown> {
  return new Map(
    [...map].map(([id, snapshot]) => {
      const { data, ...fields } = snapshot as JobSnapshot<unknown>;
      return [id, fields];
    }),
  );
}

describe('torn writes', () => {
  it('opens at every truncation offset with exactly the records before the cut', async () => {
    const bytes = await makeJournal(6);
    const ends = boundaries(bytes);
    const allIds = [...jobMap(replay(bytes)).keys(), ...Array.from({ length: 20 }, (_, i) => i + 1)];
    for (let cut = 0; cut < bytes.length; cut++) {
      writeFileSync(file, bytes.subarray(0, cut));
      const q = await openQueue(file, { retry: { attempts: 3 } });
      const boundary = cut < FILE_HEADER_SIZE ? FILE_HEADER_SIZE : Math.max(...ends.filter((e) => e <= cut));
      expect(strip(state(q, allIds)), `cut at ${cut}`).toEqual(expected(bytes, boundary));
      const journal = journalOf(q)!;
      const report = journal.stats().opened;
      // A tail of zeros is preallocated space, not damage (a record's checksum starts with a
      // zero byte once in 256, and its bytes differ from run to run): opened without a report.
      const zeroTail = cut > boundary && bytes.subarray(boundary, cut).every((byte) => byte === 0);
      if (cut > FILE_HEADER_SIZE && cut !== boundary && !zeroTail) {
        expect(report.truncated, `cut at ${cut}`).toMatchObject({ kind: 'torn-tail', offset: boundary });
      }
      if (zeroTail) expect(report.truncated, `cut at ${cut}`).toBeUndefined();
      if (ends.includes(cut)) expect(report.truncated).toBeUndefined();
      await journal.close();
      // The torn tail is gone: the file is the good prefix, then whatever restore recorded.
      const after = readFileSync(file);
      expect(Buffer.compare(after.subarray(0, boundary), bytes.subarray(0, boundary)), `cut at ${cut}`).toBe(0);
      expect(replay(after).damage, `cut at ${cut}`).toBeUndefined();
    }
  });

  it('takes zeros after the last record for preallocated space: no report, and appends after them replay cleanly', async () => {
    const bytes = await makeJournal(4);
    for (const zeros of [1, 3, 4096]) {
      writeFileSync(file, Buffer.concat([bytes, Buffer.alloc(zeros)]));
      const q = await openQueue<unknown>(file);
      journal.track(q);
      expect(journalOf(q)!.stats().opened.truncated, `${zeros} zeros`).toBeUndefined();
      const job = await q.add({ after: zeros });
      await journalOf(q)!.close();
      const after = readFileSync(file);
      expect(replay(after).damage, `${zeros} zeros`).toBeUndefined();
      const r = await openQueue<unknown>(file);
      journal.track(r);
      expect(r.peek(job.id)?.data, `${zeros} zeros`).toEqual({ after: zeros });
      await journalOf(r)!.close();
    }
  });

  it('emits truncated just after open, where a listener attached after the await hears it', async () => {
    const bytes = await makeJournal(3);
    writeFileSync(file, bytes.subarray(0, bytes.length - 5));
    const q = await openQueue(file);
    journal.track(q);
    const damage = await new Promise((resolve) => journalOf(q)!.once('truncated', resolve));
    expect(damage).toMatchObject({ kind: 'torn-tail', reason: 'incomplete' });
  });

  it('accepts appends after a cut and replays them', async () => {
    const bytes = await makeJournal(4);
    writeFileSync(file, bytes.subarray(0, bytes.length - 7));
    const q = await openQueue<unknown>(file);
    const job = await q.add({ after: true });
    await journalOf(q)!.close();
    const r = await openQueue<unknown>(file);
    journal.track(r);
    expect(r.peek(job.id)?.data).toEqual({ after: true });
    expect(journalOf(r)!.stats().opened.truncated).toBeUndefined();
  });
});

describe('corruption', () => {
  it('never delivers a damaged job and keeps every record before the damage (random byte flips)', async () => {
    const bytes = await makeJournal(8, 'abc');
    const ends = boundaries(bytes);
    const ids = [...Array.from({ length: 40 }, (_, i) => i + 1)];
    const rand = seededRandom(42);
    for (let trial = 0; trial < 150; trial++) {
      const damaged = Buffer.from(bytes);
      const flips = 1 + Math.floor(rand() * 3);
      let first = Infinity;
      for (let f = 0; f < flips; f++) {
        const at = FILE_HEADER_SIZE + Math.floor(rand() * (bytes.length - FILE_HEADER_SIZE));
        damaged[at] ^= 1 + Math.floor(rand() * 255);
        first = Math.min(first, at);
      }
      writeFileSync(file, damaged);
      const q = await openQueue(file, { retry: { attempts: 3 } });
      const boundary = Math.max(...ends.filter((e) => e <= first));
      expect(strip(state(q, ids)), `trial ${trial}, first flip at ${first}`).toEqual(expected(bytes, boundary));
      await journalOf(q)!.close();
      for (const name of readdirSync(dir)) if (name.includes('.corrupt-')) rmSync(join(dir, name));
    }
  });

  it('with strict, refuses a damaged middle but still opens after a torn tail', async () => {
    const bytes = await makeJournal(6);
    const ends = boundaries(bytes);
    const damaged = Buffer.from(bytes);
    damaged[ends[2] + 20] ^= 0x10;
    writeFileSync(file, damaged);
    const refused = openQueue(file, { strict: true });
    await expect(refused).rejects.toThrow(StoreFailedError);
    await expect(refused).rejects.toThrow(new RegExp(`offset ${ends[2]}`));
    // The file is left as it was for someone to look at.
    expect(Buffer.compare(readFileSync(file), damaged)).toBe(0);
    writeFileSync(file, bytes.subarray(0, bytes.length - 3));
    const q = await openQueue(file, { strict: true });
    journal.track(q);
    expect(journalOf(q)!.stats().opened.truncated?.kind).toBe('torn-tail');
  });

  it('without strict, opens a damaged middle with the valid prefix, reports the offset and saves a copy', async () => {
    const bytes = await makeJournal(6);
    const ends = boundaries(bytes);
    const damaged = Buffer.from(bytes);
    damaged[ends[3] + 2] ^= 0x01;
    writeFileSync(file, damaged);
    const q = await openQueue(file);
    journal.track(q);
    const [damage, backup] = await new Promise<[unknown, string]>((resolve) => journalOf(q)!.once('corrupt', (d, b) => resolve([d, b])));
    expect(damage).toMatchObject({ kind: 'corrupt', offset: ends[3], reason: 'checksum' });
    expect(Buffer.compare(readFileSync(backup), damaged)).toBe(0);
    expect(journalOf(q)!.stats().opened).toMatchObject({ truncated: { offset: ends[3] }, backup });
    expect(statSync(file).size).toBeGreaterThanOrEqual(ends[3]);
    expect(replay(readFileSync(file)).damage).toBeUndefined();
  });

  it('survives a zeroed page in the middle and refuses a zeroed header', async () => {
    const bytes = await makeJournal(60, 'payload-');
    expect(bytes.length).toBeGreaterThan(3 * 4096);
    const ends = boundaries(bytes);
    const ids = Array.from({ length: 80 }, (_, i) => i + 1);
    const zeroed = Buffer.from(bytes);
    zeroed.fill(0, 4096, 8192);
    writeFileSync(file, zeroed);
    await expect(openQueue(file, { strict: true })).rejects.toThrow(StoreFailedError);
    const q = await openQueue(file, { retry: { attempts: 3 } });
    journal.track(q);
    const boundary = Math.max(...ends.filter((e) => e <= 4096));
    expect(strip(state(q, ids))).toEqual(expected(bytes, boundary));
    expect(state(q, ids).size).toBeGreaterThan(0);

    await journal.crash(q);
    const header = Buffer.from(bytes);
    header.fill(0, 0, 4096);
    writeFileSync(file, header);
    await expect(openQueue(file)).rejects.toThrow(/not a docket journal/);
    expect(Buffer.compare(readFileSync(file), header)).toBe(0);
  });

  it('refuses a file that is not a journal and leaves it alone', async () => {
    writeFileSync(file, 'hello, this is my database\n');
    await expect(openQueue(file)).rejects.toThrow(StoreFailedError);
    expect(readFileSync(file, 'utf8')).toBe('hello, this is my database\n');
    expect(existsSync(`${file}.new`)).toBe(false);
  });
});
