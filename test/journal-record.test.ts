import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { crc32c } from '../src/journal/crc32c.js';
import { decodeDeleteId, decodeJob, encodeDeleteRecord, encodeJobRecord, storedBody, type JobFields, type StoredJob } from '../src/journal/job-codec.js';
import {
  allocRecord,
  checkFileHeader,
  encodeFileHeader,
  FILE_HEADER_SIZE,
  findValidRecordAfter,
  FORMAT_VERSION,
  readRecord,
  RECORD_HEADER_SIZE,
  RecordType,
  sealRecord,
} from '../src/journal/record.js';
import { replay, type ReplayResult } from '../src/journal/replay.js';

/** The live jobs of a replay, by id, in replay order. */
function jobMap(result: ReplayResult): Map<number, StoredJob> {
  return new Map([...result.jobs()].map((job) => [job.id, job]));
}

const text = (s: string) => new TextEncoder().encode(s);

function job(overrides: Partial<JobFields> = {}): JobFields {
  return {
    id: 1,
    state: 'ready',
    priority: 1024,
    attemptsMade: 0,
    maxAttempts: 1,
    ttr: 30_000,
    timeout: Infinity,
    ttl: Infinity,
    delay: 0,
    dedupeId: undefined,
    createdOn: 1_700_000_000_000,
    processedOn: undefined,
    finishedOn: undefined,
    dueAt: Infinity,
    errors: [],
    deadReason: undefined,
    reserves: 0,
    timeouts: 0,
    releases: 0,
    buries: 0,
    kicks: 0,
    ...overrides,
  };
}

/** The job fields of a stored job (without the replay's bookkeeping). */
function fields(job: StoredJob): Omit<StoredJob, 'source' | 'bodyStart' | 'bodyEnd' | 'recordSize' | 'data'> {
  const { source, bodyStart, bodyEnd, recordSize, data, ...rest } = job;
  return rest;
}

function file(records: Uint8Array[], firstSeq = 1): Uint8Array {
  let seq = firstSeq;
  for (const r of records) sealRecord(r, seq++);
  return Buffer.concat([encodeFileHeader(), ...records]);
}

describe('crc32c', () => {
  it('matches the published check values', () => {
    expect(crc32c(text('123456789'))).toBe(0xe3069283);
    expect(crc32c(new Uint8Array(32))).toBe(0x8a9136aa);
    expect(crc32c(new Uint8Array(32).fill(0xff))).toBe(0x62a8ab43);
    expect(crc32c(Uint8Array.from({ length: 32 }, (_, i) => i))).toBe(0x46dd794e);
    expect(crc32c(new Uint8Array(0))).toBe(0);
  });

  it('gives the same result in pieces as in one go, for every split', () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 100 }), fc.nat(), (bytes, at) => {
        const split = bytes.length === 0 ? 0 : at % (bytes.length + 1);
        expect(crc32c(bytes, split, bytes.length, crc32c(bytes, 0, split))).toBe(crc32c(bytes));
      }),
    );
  });
});

describe('file header', () => {
  it('accepts its own header and tells the failures apart', () => {
    const header = encodeFileHeader();
    expect(checkFileHeader(header)).toBe('ok');
    expect(checkFileHeader(header.subarray(0, 5))).toBe('short');
    expect(checkFileHeader(new Uint8Array(0))).toBe('short');
    expect(checkFileHeader(text('SQLite format 3\0'))).toBe('not-a-journal');
    expect(checkFileHeader(new Uint8Array(16))).toBe('not-a-journal');
    const damaged = header.slice();
    damaged[13] ^= 1;
    expect(checkFileHeader(damaged)).toBe('bad-checksum');
    const newer = header.slice();
    new DataView(newer.buffer).setUint32(8, FORMAT_VERSION + 1, true);
    new DataView(newer.buffer).setUint32(12, crc32c(newer, 0, 12), true);
    expect(checkFileHeader(newer)).toBe('bad-version');
    // Files of the first format (no highest-id records) are still read.
    const first = header.slice();
    new DataView(first.buffer).setUint32(8, 1, true);
    new DataView(first.buffer).setUint32(12, crc32c(first, 0, 12), true);
    expect(checkFileHeader(first)).toBe('ok');
  });
});

describe('record framing', () => {
  it('reads back type, sequence number and payload', () => {
    const record = allocRecord(RecordType.Delete, 3);
    record.set([7, 8, 9], RECORD_HEADER_SIZE + 1);
    sealRecord(record, 2 ** 40 + 5);
    const found = readRecord(record, 0, record.length, 2 ** 40 + 5);
    expect(found).toEqual({ kind: 'record', type: RecordType.Delete, seq: 2 ** 40 + 5, payloadStart: 17, end: 20 });
  });

  it('reports a short buffer as incomplete, never as a record', () => {
    const record = allocRecord(RecordType.Delete, 8);
    sealRecord(record, 1);
    for (let end = 0; end < record.length; end++) expect(readRecord(record, 0, end, undefined).kind).toBe('incomplete');
  });

  it('rejects every single-bit flip', () => {
    const record = allocRecord(RecordType.Update, 20);
    record.fill(0x5a, RECORD_HEADER_SIZE + 1);
    sealRecord(record, 9);
    for (let i = 0; i < record.length * 8; i++) {
      const bad = record.slice();
      bad[i >> 3] ^= 1 << (i & 7);
      const result = readRecord(bad, 0, bad.length, 9);
      expect(result.kind, `bit ${i}`).not.toBe('record');
    }
  });

  it('rejects a valid frame that is not the next in sequence, and a zero length', () => {
    const record = allocRecord(RecordType.Delete, 8);
    sealRecord(record, 4);
    expect(readRecord(record, 0, record.length, 5)).toEqual({ kind: 'bad', reason: 'sequence' });
    expect(readRecord(new Uint8Array(40), 0, 40, undefined)).toEqual({ kind: 'bad', reason: 'length' });
  });

  it('rejects an unknown record type even with a good checksum', () => {
    const record = allocRecord(RecordType.Delete, 8);
    record[RECORD_HEADER_SIZE] = 9;
    sealRecord(record, 1);
    expect(readRecord(record, 0, record.length, undefined)).toEqual({ kind: 'bad', reason: 'type' });
  });

  it('finds the next valid record after damage', () => {
    const bytes = file([encodeDeleteRecord(1), encodeDeleteRecord(2), encodeDeleteRecord(3)]);
    const second = FILE_HEADER_SIZE + 25;
    const damaged = Buffer.from(bytes);
    damaged[second + 20] ^= 0xff;
    expect(findValidRecordAfter(damaged, second + 1, damaged.length, 1)).toBe(second + 25);
    expect(findValidRecordAfter(damaged, second + 26, damaged.length, 1)).toBe(-1);
  });
});

const snapshotArb = fc.record({
  id: fc.integer({ min: 1, max: Number.MAX_SAFE_INTEGER }),
  state: fc.constantFrom('ready', 'delayed', 'reserved', 'buried' as const),
  priority: fc.integer({ min: 0, max: 2 ** 32 - 1 }),
  attemptsMade: fc.nat(100),
  maxAttempts: fc.oneof(fc.integer({ min: 1, max: 100 }), fc.constant(Infinity)),
  ttr: fc.nat(),
  timeout: fc.oneof(fc.nat(), fc.constant(Infinity)),
  ttl: fc.oneof(fc.nat(), fc.constant(Infinity)),
  delay: fc.nat(),
  dedupeId: fc.option(fc.string({ unit: 'grapheme' }), { nil: undefined }),
  createdOn: fc.nat(),
  processedOn: fc.option(fc.nat(), { nil: undefined }),
  finishedOn: fc.option(fc.nat(), { nil: undefined }),
  dueAt: fc.oneof(fc.nat(), fc.constant(Infinity)),
  errors: fc.array(fc.record({ attempt: fc.nat(), name: fc.string(), message: fc.string(), at: fc.nat() }), { maxLength: 3 }),
  deadReason: fc.option(fc.constantFrom('failed', 'unrecoverable', 'lease-expired', 'timeout', 'expired', 'manual', 'released' as const), { nil: undefined }),
  reserves: fc.nat(),
  timeouts: fc.nat(),
  releases: fc.nat(),
  buries: fc.nat(),
  kicks: fc.nat(),
});

describe('job payloads', () => {
  it('round-trip every field of put and update records', () => {
    fc.assert(
      fc.property(snapshotArb, fc.uint8Array({ maxLength: 64 }), (snapshot, data) => {
        const put = encodeJobRecord(RecordType.Put, snapshot, data);
        sealRecord(put, 1);
        const found = readRecord(put, 0, put.length, 1);
        if (found.kind !== 'record') throw new Error('not a record');
        const decoded = decodeJob(put, found.payloadStart, found.end, true);
        expect(fields(decoded)).toEqual(snapshot);
        expect(Array.from(storedBody(decoded))).toEqual(Array.from(data));
        const update = encodeJobRecord(RecordType.Update, snapshot);
        const same = decodeJob(update, 17, update.length, false);
        expect(fields(same)).toEqual(snapshot);
        expect(storedBody(same).length).toBe(0);
      }),
    );
  });

  it('round-trips delete records', () => {
    const record = encodeDeleteRecord(2 ** 50);
    expect(decodeDeleteId(record, 17, record.length)).toBe(2 ** 50);
  });
});

describe('replay', () => {
  it('ends in the state of the last record of each job, in order of latest change', () => {
    const bytes = file([
      encodeJobRecord(RecordType.Put, job({ id: 1 }), text('"a"')),
      encodeJobRecord(RecordType.Put, job({ id: 2 }), text('"b"')),
      encodeJobRecord(RecordType.Put, job({ id: 3 }), text('"c"')),
      encodeJobRecord(RecordType.Update, job({ id: 1, state: 'reserved', attemptsMade: 1 })),
      encodeDeleteRecord(2),
      encodeJobRecord(RecordType.Update, job({ id: 1, state: 'buried', deadReason: 'manual', attemptsMade: 1 })),
      encodeDeleteRecord(99),
    ]);
    const result = replay(bytes);
    expect(result.damage).toBeUndefined();
    expect(result.records).toBe(7);
    expect(result.orphans).toBe(1);
    expect([...jobMap(result).keys()]).toEqual([3, 1]);
    expect(jobMap(result).get(1)).toMatchObject({ state: 'buried', deadReason: 'manual', attemptsMade: 1 });
    expect(new TextDecoder().decode(storedBody(jobMap(result).get(1)!))).toBe('"a"');
    expect(result.validEnd).toBe(bytes.length);
  });

  it('matches a model for random operation sequences, and for every prefix of them', () => {
    const op = fc.oneof(
      fc.record({ kind: fc.constant('put' as const), state: fc.constantFrom('ready', 'delayed' as const) }),
      fc.record({ kind: fc.constant('update' as const), pick: fc.nat(), state: fc.constantFrom('ready', 'delayed', 'reserved', 'buried' as const) }),
      fc.record({ kind: fc.constant('delete' as const), pick: fc.nat() }),
    );
    fc.assert(
      fc.property(fc.array(op, { maxLength: 30 }), (ops) => {
        const model = new Map<number, string>();
        const states: Array<Map<number, string>> = [new Map()];
        const records: Uint8Array[] = [];
        let next = 1;
        for (const o of ops) {
          const ids = [...model.keys()];
          if (o.kind === 'put') {
            const id = next++;
            model.set(id, o.state);
            records.push(encodeJobRecord(RecordType.Put, job({ id, state: o.state }), text(String(id))));
          } else if (ids.length === 0) {
            continue;
          } else if (o.kind === 'update') {
            const id = ids[o.pick % ids.length];
            model.set(id, o.state);
            records.push(encodeJobRecord(RecordType.Update, job({ id, state: o.state })));
          } else {
            const id = ids[o.pick % ids.length];
            model.delete(id);
            records.push(encodeDeleteRecord(id));
          }
          states.push(new Map(model));
        }
        const bytes = file(records);
        const ends = [FILE_HEADER_SIZE];
        for (const r of records) ends.push(ends[ends.length - 1] + r.length);
        for (let k = 0; k < ends.length; k++) {
          const result = replay(bytes.subarray(0, ends[k]));
          expect(result.damage).toBeUndefined();
          expect(new Map([...jobMap(result)].map(([id, j]) => [id, j.state]))).toEqual(states[k]);
        }
      }),
      { numRuns: 50 },
    );
  });

  it('reports a header-only or empty file without jobs', () => {
    expect(replay(encodeFileHeader())).toMatchObject({ header: 'ok', records: 0, validEnd: 16 });
    expect(replay(new Uint8Array(0)).header).toBe('short');
  });

  it('tells a torn tail from a damaged middle', () => {
    const records = [1, 2, 3, 4].map((id) => encodeJobRecord(RecordType.Put, job({ id }), text(`"${id}"`)));
    const bytes = file(records);
    const size = records[0].length;
    const torn = replay(bytes.subarray(0, bytes.length - 3));
    expect(torn.damage).toMatchObject({ kind: 'torn-tail', offset: 16 + 3 * size, reason: 'incomplete' });
    expect([...jobMap(torn).keys()]).toEqual([1, 2, 3]);
    const middle = Buffer.from(bytes);
    middle[16 + size + 30] ^= 0x40;
    const corrupt = replay(middle);
    expect(corrupt.damage).toMatchObject({ kind: 'corrupt', offset: 16 + size, reason: 'checksum', nextValidOffset: 16 + 2 * size });
    expect([...jobMap(corrupt).keys()]).toEqual([1]);
    expect(corrupt.validEnd).toBe(16 + size);
  });

  it('treats a well-framed record with a malformed payload as damage, not as a job', () => {
    const good = encodeJobRecord(RecordType.Put, job({ id: 1 }), text('"a"'));
    const bad = encodeJobRecord(RecordType.Put, job({ id: 2 }), text('"b"'));
    bad[17] = 9; // no such state
    const truncatedUpdate = encodeJobRecord(RecordType.Update, job({ id: 1 })).subarray(0, 60);
    truncatedUpdate[16] = RecordType.Update;
    for (const damaged of [bad, Buffer.from(truncatedUpdate)]) {
      const result = replay(file([Buffer.from(good), damaged]));
      expect(result.damage).toMatchObject({ reason: 'payload', offset: 16 + good.length });
      expect([...jobMap(result).keys()]).toEqual([1]);
    }
  });

  it('rejects a record that repeats an earlier sequence number (stale bytes)', () => {
    const a = encodeDeleteRecord(1);
    const b = encodeDeleteRecord(2);
    sealRecord(a, 1);
    sealRecord(b, 1);
    const result = replay(Buffer.concat([encodeFileHeader(), a, b]));
    expect(result.records).toBe(1);
    expect(result.damage).toMatchObject({ reason: 'sequence', kind: 'torn-tail' });
  });

  it('never hands out a job from a damaged record, whatever the damage', () => {
    const records = [1, 2, 3].map((id) => encodeJobRecord(RecordType.Put, job({ id, priority: id }), text(`"${'x'.repeat(id * 5)}"`)));
    const bytes = file(records);
    const good = jobMap(replay(bytes));
    const ends: number[] = [];
    for (const record of records) ends.push((ends.at(-1) ?? FILE_HEADER_SIZE) + record.length);
    fc.assert(
      fc.property(fc.nat(bytes.length - 1), fc.integer({ min: 1, max: 255 }), (at, mask) => {
        const damaged = Buffer.from(bytes); // a copy (Buffer#slice would be a view)
        damaged[at] ^= mask;
        const result = replay(damaged);
        if (at < FILE_HEADER_SIZE) {
          // A damaged header: not opened at all.
          expect(result.header, `byte ${at}`).not.toBe('ok');
          expect(jobMap(result).size).toBe(0);
          return;
        }
        // Exactly the jobs whose records lie wholly before the damaged byte.
        expect([...jobMap(result).keys()], `byte ${at}`).toEqual([1, 2, 3].filter((_, i) => ends[i] <= at));
        for (const [id, stored] of jobMap(result)) {
          const original = good.get(id)!;
          expect(fields(stored)).toEqual(fields(original));
          expect(Buffer.from(storedBody(stored)).equals(storedBody(original))).toBe(true);
          // Every job handed out lies wholly before the damaged byte.
          expect(stored.bodyEnd).toBeLessThanOrEqual(at);
        }
      }),
      { numRuns: 300 },
    );
  });
});
