import { decodeJob, MalformedPayloadError, payloadBodyStart, viewOf, type StoredJob } from './job-codec.js';
import {
  checkFileHeader,
  FILE_HEADER_SIZE,
  findValidRecordAfter,
  PAYLOAD_OFFSET,
  readRecordInto,
  RecordType,
  type FoundRecord,
  type FileHeaderCheck,
} from './record.js';

// Replays the bytes of a journal file into the set of live jobs. Pure: the caller reads
// the file and acts on the verdict (truncate a torn tail, refuse a damaged middle).

/** Damage found while replaying. */
export interface ReplayDamage {
  /**
   * `'torn-tail'`: nothing valid follows the first bad byte (an interrupted write: the
   * normal aftermath of a crash). `'corrupt'`: valid records follow it, so bytes in the
   * middle of the journal were damaged.
   */
  kind: 'torn-tail' | 'corrupt';
  /** Offset of the first byte that is not part of a valid record. */
  offset: number;
  /** What failed there. */
  reason: 'incomplete' | 'length' | 'checksum' | 'sequence' | 'type' | 'payload';
  /** Bytes from `offset` to the end of the file (dropped when the journal opens). */
  droppedBytes: number;
  /** Offset of the next valid record, for `'corrupt'`. */
  nextValidOffset?: number;
}

/** What a journal's bytes hold. */
export interface ReplayResult {
  header: FileHeaderCheck;
  /**
   * Decodes the live jobs, one at a time, in the order they were added, except buried
   * ones, which come last in the order they were buried (so the oldest dead letter is
   * still the first). Lazy, so that a large backlog goes to `Queue.restore` without a
   * second million objects alive at once.
   */
  jobs(): IterableIterator<StoredJob>;
  /**
   * The same jobs, in the same order, through one cursor: `next(into)` decodes the next
   * job into `into` (overwriting every field) instead of a new object, or returns
   * `undefined` at the end. For a consumer that copies each job out before asking for the
   * next (`Queue.restore`): a million-job backlog then costs no snapshot objects at all.
   */
  cursor(): LiveCursor;
  /** Number of live jobs. */
  live: number;
  /** Sum of the sizes of the live jobs' put records. */
  liveBytes: number;
  /** Valid records read. */
  records: number;
  /** Sequence number of the last valid record (0 if none). */
  lastSeq: number;
  /** The highest job id the journal ever held or recorded handing out (0 if none): new ids go above it. */
  highestId: number;
  /** End of the valid prefix: where the next record goes. */
  validEnd: number;
  /** Updates and deletes for jobs not in the journal (normal after compaction). */
  orphans: number;
  damage: ReplayDamage | undefined;
}

/**
 * Per-job positions, in flat arrays: the scan allocates nothing per record. Jobs are
 * found by id with a binary search over the ids in put order, which rise as long as the
 * journal was written by one process since its last compaction (ids are a process-wide
 * counter); the first id out of order switches to a Map. A million-job backlog then costs
 * no hash table at all.
 */
class Slots {
  size = 0;
  live = 0;
  /** Id of each slot's job; 0 once the job is deleted. */
  ids = new Float64Array(1024);
  /** Id of each slot's put, never cleared (the search key). */
  putIds = new Float64Array(1024);
  putStart = new Float64Array(1024);
  putEnd = new Float64Array(1024);
  lastStart = new Float64Array(1024);
  lastEnd = new Float64Array(1024);
  lastSeq = new Float64Array(1024);
  private index: Map<number, number> | undefined;

  /** The slot of the live job with this id, or -1. */
  find(id: number): number {
    if (this.index !== undefined) return this.index.get(id) ?? -1;
    let lo = 0;
    let hi = this.size - 1;
    const keys = this.putIds;
    while (lo <= hi) {
      const mid = (lo + hi) >>> 1;
      const key = keys[mid];
      if (key < id) lo = mid + 1;
      else if (key > id) hi = mid - 1;
      else return this.ids[mid] === 0 ? -1 : mid;
    }
    return -1;
  }

  add(id: number, start: number, end: number, seq: number): void {
    // The common case, a new highest id, needs no search.
    if (this.index !== undefined || (this.size > 0 && id <= this.putIds[this.size - 1])) {
      const existing = this.find(id);
      if (existing >= 0) this.remove(existing);
    }
    if (this.size === this.ids.length) this.grow();
    if (this.index === undefined && this.size > 0 && id <= this.putIds[this.size - 1]) {
      this.index = new Map();
      for (let slot = 0; slot < this.size; slot++) if (this.ids[slot] !== 0) this.index.set(this.ids[slot], slot);
    }
    const slot = this.size++;
    this.ids[slot] = id;
    this.putIds[slot] = id;
    this.putStart[slot] = start;
    this.putEnd[slot] = end;
    this.lastStart[slot] = -1;
    this.lastEnd[slot] = -1;
    this.lastSeq[slot] = seq;
    this.index?.set(id, slot);
    this.live++;
  }

  remove(slot: number): void {
    this.index?.delete(this.ids[slot]);
    this.ids[slot] = 0;
    this.live--;
  }

  private grow(): void {
    const next = (a: Float64Array<ArrayBuffer>): Float64Array<ArrayBuffer> => {
      const b = new Float64Array(a.length * 2);
      b.set(a);
      return b;
    };
    this.ids = next(this.ids);
    this.putIds = next(this.putIds);
    this.putStart = next(this.putStart);
    this.putEnd = next(this.putEnd);
    this.lastStart = next(this.lastStart);
    this.lastEnd = next(this.lastEnd);
    this.lastSeq = next(this.lastSeq);
  }
}

/**
 * Replays `buf` (a whole journal file). Never throws on bad input: damage is reported
 * in the result, and every job in the result was built only from records that passed
 * their checks.
 *
 * Two passes: the first checks every frame and payload structure and remembers, per
 * job, where its put and its latest update are; the second decodes only the jobs still
 * live. A backlog of a million jobs is one object each, not one per record.
 */
export function replay(input: Uint8Array): ReplayResult {
  const buf = Buffer.isBuffer(input) ? input : Buffer.from(input.buffer, input.byteOffset, input.length);
  const result: ReplayResult = {
    header: checkFileHeader(buf.subarray(0, FILE_HEADER_SIZE)),
    jobs: () => [][Symbol.iterator](),
    cursor: () => new SlotCursor(buf, new Slots()),
    live: 0,
    liveBytes: 0,
    records: 0,
    lastSeq: 0,
    highestId: 0,
    validEnd: 0,
    orphans: 0,
    damage: undefined,
  };
  if (result.header !== 'ok') return result;
  const view = viewOf(buf);
  const slots = new Slots();
  const end = buf.length;
  let offset = FILE_HEADER_SIZE;
  let expected: number | undefined;
  const scratch: FoundRecord = { kind: 'record', type: 0, seq: 0, payloadStart: 0, end: 0 };
  while (offset < end) {
    const frame = readRecordInto(buf, offset, end, expected, scratch);
    let reason: ReplayDamage['reason'] | undefined;
    if (frame.kind === 'record') {
      const start = frame.payloadStart;
      if (frame.type === RecordType.Delete || frame.type === RecordType.HighestId) {
        const id = frame.end - start === 8 ? view.getFloat64(start, true) : 0;
        if (!Number.isSafeInteger(id) || id < 1) reason = 'payload';
        else if (frame.type === RecordType.HighestId) {
          if (id > result.highestId) result.highestId = id;
        } else {
          const slot = slots.find(id);
          if (slot < 0) result.orphans++;
          else slots.remove(slot);
        }
      } else {
        const bodyStart = payloadBodyStart(buf, start, frame.end);
        if (bodyStart < 0 || (frame.type === RecordType.Update && bodyStart !== frame.end)) reason = 'payload';
        else {
          const id = view.getFloat64(start + 2, true);
          if (frame.type === RecordType.Put) {
            // Ids are never reused; should one repeat, the later put wins.
            slots.add(id, start, frame.end, frame.seq);
            if (id > result.highestId) result.highestId = id;
          } else {
            const slot = slots.find(id);
            if (slot < 0) result.orphans++;
            else {
              slots.lastStart[slot] = start;
              slots.lastEnd[slot] = frame.end;
              slots.lastSeq[slot] = frame.seq;
            }
          }
        }
      }
      if (reason === undefined) {
        result.records++;
        result.lastSeq = frame.seq;
        expected = frame.seq + 1;
        offset = frame.end;
        continue;
      }
    } else {
      reason = frame.kind === 'incomplete' ? 'incomplete' : frame.reason;
    }
    // Zeros to the end are space the writer preallocated (a record never starts with a
    // zero length): the end of the journal, not damage.
    if (allZero(buf, offset, end)) break;
    const next = findValidRecordAfter(buf, offset + 1, end, result.lastSeq);
    result.damage = {
      kind: next < 0 ? 'torn-tail' : 'corrupt',
      offset,
      reason,
      droppedBytes: end - offset,
      ...(next < 0 ? {} : { nextValidOffset: next }),
    };
    break;
  }
  result.validEnd = offset;

  result.live = slots.live;
  for (let slot = 0; slot < slots.size; slot++) if (slots.ids[slot] !== 0) result.liveBytes += slots.putEnd[slot] - slots.putStart[slot] + PAYLOAD_OFFSET;
  result.jobs = () => liveJobs(new SlotCursor(buf, slots));
  result.cursor = () => new SlotCursor(buf, slots);
  return result;
}

function allZero(buf: Uint8Array, from: number, end: number): boolean {
  for (let i = from; i < end; i++) if (buf[i] !== 0) return false;
  return true;
}

function* liveJobs(cursor: LiveCursor): IterableIterator<StoredJob> {
  for (let job = cursor.next(); job !== undefined; job = cursor.next()) yield job;
}

const BURIED = 3;

/** See {@link ReplayResult.cursor}. */
export interface LiveCursor {
  /** The next live job, decoded into `into` when given (else a new object), or `undefined` at the end. */
  next(into?: StoredJob): StoredJob | undefined;
}

/** Walks the live slots: put order first, then buried jobs in the order they were buried. */
class SlotCursor implements LiveCursor {
  private slot = 0;
  private buried: number[] = [];
  private buriedAt = -1;

  constructor(
    private readonly buf: Buffer,
    private readonly slots: Slots,
  ) {}

  next(into?: StoredJob): StoredJob | undefined {
    const { buf, slots } = this;
    if (this.buriedAt < 0) {
      while (this.slot < slots.size) {
        const slot = this.slot++;
        if (slots.ids[slot] === 0) continue;
        const lastStart = slots.lastStart[slot];
        // The state byte leads the payload: no need to decode a job to set it aside.
        if (buf[lastStart < 0 ? slots.putStart[slot] : lastStart] === BURIED) this.buried.push(slot);
        else return decodeSlot(buf, slots, slot, into);
      }
      this.buried.sort((a, b) => slots.lastSeq[a] - slots.lastSeq[b]);
      this.buriedAt = 0;
    }
    if (this.buriedAt >= this.buried.length) return undefined;
    return decodeSlot(buf, slots, this.buried[this.buriedAt++], into);
  }
}

function decodeSlot(buf: Buffer, slots: Slots, slot: number, into: StoredJob | undefined): StoredJob {
  const putStart = slots.putStart[slot];
  const putEnd = slots.putEnd[slot];
  const lastStart = slots.lastStart[slot];
  let job: StoredJob;
  try {
    job = lastStart < 0 ? decodeJob(buf, putStart, putEnd, true, false, into) : decodeJob(buf, lastStart, slots.lastEnd[slot], false, false, into);
  } catch (error) {
    // Structure was checked in the first pass; only unparsable error JSON gets here.
    if (!(error instanceof MalformedPayloadError)) throw error;
    job = decodeJob(buf, lastStart < 0 ? putStart : lastStart, lastStart < 0 ? putEnd : slots.lastEnd[slot], lastStart < 0, true, into);
  }
  if (lastStart >= 0) {
    job.bodyStart = payloadBodyStart(buf, putStart, putEnd);
    job.bodyEnd = putEnd;
    job.recordSize = putEnd - putStart + PAYLOAD_OFFSET;
  }
  return job;
}
