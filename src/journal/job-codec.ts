import type { AttemptError, JobSnapshot } from '../job.js';
import type { DeadReason, JobState } from '../lifecycle.js';
import { allocRecord, PAYLOAD_OFFSET, RecordType } from './record.js';

// Payloads of the three record kinds. Pure.
//
//   put    = meta | data bytes (the codec's encoding of the payload, to the end of the record)
//   update = meta                (every mutable field, not a diff: replay simply overwrites)
//   delete = f64 id
//   highest id = f64 id (the highest job id handed out when it was written)
//   meta   = u8 state | u8 flags | 17 x f64 (numbers below, in order) | u8 len + dead reason
//            | [u32 len + utf-8 dedupe id] | [u32 len + JSON errors] | [u32 len + utf-8 group]
//
// Numbers are f64 so that Infinity (no ttl, no timeout, unlimited attempts) and any
// safe integer survive as they are. Fixed fields are binary because a large backlog is
// replayed record by record: JSON per record would dominate the open time.

/**
 * A job as the journal keeps it while replaying: a snapshot whose `data` is filled in
 * (decoded from `body`) only for the jobs still live at the end, so that it can go to
 * `Queue.restore` as it is, without a copy per job.
 */
export type StoredJob = JobSnapshot<unknown> & {
  /** The file's bytes; the payload as the codec encoded it is `source[bodyStart, bodyEnd)`. */
  source: Buffer;
  bodyStart: number;
  bodyEnd: number;
  /** Size of the put record: what the job costs in a compacted file. */
  recordSize: number;
};

// Shared by every job without errors: replay allocates nothing for them.
const NO_ERRORS = Object.freeze([]) as unknown as AttemptError[];

/** The fields the journal reads from a job (a `Job<T>` or a snapshot). */
export type JobFields = Omit<JobSnapshot<unknown>, 'data' | 'errors'> & { readonly errors: readonly AttemptError[] };

const STATES: readonly JobState[] = ['ready', 'delayed', 'reserved', 'buried'];
const STATE_CODES: Record<JobState, number> = { ready: 0, delayed: 1, reserved: 2, buried: 3 };

const F_PROCESSED = 1;
const F_FINISHED = 2;
const F_DEDUPE = 4;
const F_ERRORS = 8;
// Last, so that journals written before groups existed read the same.
const F_GROUP = 16;

const NUMBERS = 17;
const FIXED = 2 + NUMBERS * 8 + 1;
const DELETE_PAYLOAD = 8;

/** Encodes a put (with `data`) or update record for `job`, unsealed (see `sealRecord`). */
export function encodeJobRecord(type: typeof RecordType.Put | typeof RecordType.Update, job: JobFields, data?: Uint8Array): Uint8Array {
  const reason = job.deadReason === undefined ? undefined : Buffer.from(job.deadReason, 'utf8');
  if (reason !== undefined && reason.length > 255) throw new RangeError(`dead reason too long: ${job.deadReason}`);
  const dedupe = job.dedupeId === undefined ? undefined : Buffer.from(job.dedupeId, 'utf8');
  const errors = job.errors.length === 0 ? undefined : Buffer.from(JSON.stringify(job.errors), 'utf8');
  const group = job.group === undefined ? undefined : Buffer.from(job.group, 'utf8');
  const metaLength =
    FIXED +
    (reason?.length ?? 0) +
    (dedupe === undefined ? 0 : 4 + dedupe.length) +
    (errors === undefined ? 0 : 4 + errors.length) +
    (group === undefined ? 0 : 4 + group.length);
  const record = allocRecord(type, metaLength + (data?.length ?? 0));
  const view = new DataView(record.buffer, record.byteOffset, record.length);
  let o = PAYLOAD_OFFSET;
  record[o++] = STATE_CODES[job.state];
  record[o++] =
    (job.processedOn === undefined ? 0 : F_PROCESSED) |
    (job.finishedOn === undefined ? 0 : F_FINISHED) |
    (dedupe === undefined ? 0 : F_DEDUPE) |
    (errors === undefined ? 0 : F_ERRORS) |
    (group === undefined ? 0 : F_GROUP);
  view.setFloat64(o, job.id, true);
  view.setFloat64(o + 8, job.priority, true);
  view.setFloat64(o + 16, job.attemptsMade, true);
  view.setFloat64(o + 24, job.maxAttempts, true);
  view.setFloat64(o + 32, job.ttr, true);
  view.setFloat64(o + 40, job.timeout, true);
  view.setFloat64(o + 48, job.ttl, true);
  view.setFloat64(o + 56, job.delay, true);
  view.setFloat64(o + 64, job.createdOn, true);
  view.setFloat64(o + 72, job.processedOn ?? 0, true);
  view.setFloat64(o + 80, job.finishedOn ?? 0, true);
  view.setFloat64(o + 88, job.dueAt, true);
  view.setFloat64(o + 96, job.reserves, true);
  view.setFloat64(o + 104, job.timeouts, true);
  view.setFloat64(o + 112, job.releases, true);
  view.setFloat64(o + 120, job.buries, true);
  view.setFloat64(o + 128, job.kicks, true);
  o += NUMBERS * 8;
  record[o++] = reason?.length ?? 0;
  if (reason !== undefined) {
    record.set(reason, o);
    o += reason.length;
  }
  if (dedupe !== undefined) {
    view.setUint32(o, dedupe.length, true);
    record.set(dedupe, o + 4);
    o += 4 + dedupe.length;
  }
  if (errors !== undefined) {
    view.setUint32(o, errors.length, true);
    record.set(errors, o + 4);
    o += 4 + errors.length;
  }
  if (group !== undefined) {
    view.setUint32(o, group.length, true);
    record.set(group, o + 4);
    o += 4 + group.length;
  }
  if (data !== undefined) record.set(data, o);
  return record;
}

/** Encodes a delete record, unsealed. */
export function encodeDeleteRecord(id: number): Uint8Array {
  return encodeIdRecord(RecordType.Delete, id);
}

/** Encodes a highest-id record, unsealed. */
export function encodeHighestIdRecord(id: number): Uint8Array {
  return encodeIdRecord(RecordType.HighestId, id);
}

function encodeIdRecord(type: typeof RecordType.Delete | typeof RecordType.HighestId, id: number): Uint8Array {
  const record = allocRecord(type, DELETE_PAYLOAD);
  new DataView(record.buffer, record.byteOffset, record.length).setFloat64(PAYLOAD_OFFSET, id, true);
  return record;
}

/** Thrown by the decoders when a payload that passed its checksum is still malformed. */
export class MalformedPayloadError extends Error {
  override name = 'MalformedPayloadError';
}

function need(end: number, at: number, what: string): void {
  if (at > end) throw new MalformedPayloadError(`payload too short for ${what}`);
}

/**
 * Decodes the payload of a put (`withBody`) or update record in `buf[start, end)`.
 * The put's body is a view into `buf`, not a copy. With `into`, every field of that object
 * is overwritten instead of a new one being made.
 */
export function decodeJob(bytes: Uint8Array, start: number, end: number, withBody: boolean, skipErrors = false, into?: StoredJob): StoredJob {
  need(end, start + FIXED, 'fixed fields');
  const buf = Buffer.isBuffer(bytes) ? bytes : Buffer.from(bytes.buffer, bytes.byteOffset, bytes.length);
  const view = viewOf(buf);
  const state = STATES[buf[start]];
  if (state === undefined) throw new MalformedPayloadError(`unknown state code ${buf[start]}`);
  const flags = buf[start + 1];
  let o = start + 2;
  const job: StoredJob = into ?? ({} as StoredJob);
  job.id = int(view.getFloat64(o, true));
  job.data = undefined;
  job.state = state;
  job.priority = int(view.getFloat64(o + 8, true));
  job.attemptsMade = int(view.getFloat64(o + 16, true));
  job.maxAttempts = int(view.getFloat64(o + 24, true));
  job.ttr = int(view.getFloat64(o + 32, true));
  job.timeout = int(view.getFloat64(o + 40, true));
  job.ttl = int(view.getFloat64(o + 48, true));
  job.delay = int(view.getFloat64(o + 56, true));
  job.dedupeId = undefined;
  job.group = undefined;
  job.createdOn = view.getFloat64(o + 64, true);
  job.processedOn = flags & F_PROCESSED ? view.getFloat64(o + 72, true) : undefined;
  job.finishedOn = flags & F_FINISHED ? view.getFloat64(o + 80, true) : undefined;
  job.dueAt = view.getFloat64(o + 88, true);
  job.errors = NO_ERRORS;
  job.deadReason = undefined;
  job.reserves = int(view.getFloat64(o + 96, true));
  job.timeouts = int(view.getFloat64(o + 104, true));
  job.releases = int(view.getFloat64(o + 112, true));
  job.buries = int(view.getFloat64(o + 120, true));
  job.kicks = int(view.getFloat64(o + 128, true));
  job.source = buf;
  job.bodyStart = end;
  job.bodyEnd = end;
  job.recordSize = end - start + PAYLOAD_OFFSET;
  if (!Number.isSafeInteger(job.id) || job.id < 1) throw new MalformedPayloadError(`bad job id ${job.id}`);
  o += NUMBERS * 8;
  const reasonLength = buf[o++];
  if (reasonLength > 0) {
    need(end, o + reasonLength, 'dead reason');
    job.deadReason = Buffer.from(buf.buffer, buf.byteOffset + o, reasonLength).toString('utf8') as DeadReason;
    o += reasonLength;
  }
  if (flags & F_DEDUPE) {
    job.dedupeId = readText(buf, o, end, 'dedupe id');
    o += 4 + buf.readUInt32LE(o);
  }
  if (flags & F_ERRORS) {
    need(end, o + 4, 'errors length');
    const length = buf.readUInt32LE(o);
    need(end, o + 4 + length, 'errors');
    if (skipErrors) {
      job.errors = [];
    } else {
      try {
        job.errors = JSON.parse(buf.toString('utf8', o + 4, o + 4 + length)) as AttemptError[];
      } catch (error) {
        throw new MalformedPayloadError('errors are not JSON', { cause: error });
      }
      if (!Array.isArray(job.errors)) throw new MalformedPayloadError('errors are not a list');
    }
    o += 4 + length;
  }
  if (flags & F_GROUP) {
    job.group = readText(buf, o, end, 'group');
    o += 4 + buf.readUInt32LE(o);
  }
  if (withBody) job.bodyStart = o;
  else if (o !== end) throw new MalformedPayloadError('trailing bytes after update');
  return job;
}

/** A u32-length-prefixed UTF-8 string at `o`, checked against `end`. */
function readText(buf: Buffer, o: number, end: number, what: string): string {
  need(end, o + 4, `${what} length`);
  const length = buf.readUInt32LE(o);
  need(end, o + 4 + length, what);
  return Buffer.from(buf.buffer, buf.byteOffset + o + 4, length).toString('utf8');
}

/** The encoded payload of a stored job (a view, not a copy). */
export function storedBody(job: StoredJob): Uint8Array {
  return job.source.subarray(job.bodyStart, job.bodyEnd);
}

// One DataView per buffer, not per record: replay decodes a million jobs from one buffer.
let lastBuffer: Uint8Array | undefined;
let lastView: DataView | undefined;
export function viewOf(buf: Uint8Array): DataView {
  if (buf !== lastBuffer) {
    lastBuffer = buf;
    lastView = new DataView(buf.buffer, buf.byteOffset, buf.length);
  }
  return lastView as DataView;
}

/**
 * Small integers as small integers: V8 then stores them in the job objects without a
 * heap number each (most fields are counters, priorities and durations).
 */
function int(value: number): number {
  return value === (value | 0) ? value | 0 : value;
}

/** Decodes the job id of a delete record. */
export function decodeDeleteId(buf: Uint8Array, start: number, end: number): number {
  if (end - start !== DELETE_PAYLOAD) throw new MalformedPayloadError('delete payload is not 8 bytes');
  const id = new DataView(buf.buffer, buf.byteOffset, buf.length).getFloat64(start, true);
  if (!Number.isSafeInteger(id) || id < 1) throw new MalformedPayloadError(`bad job id ${id}`);
  return id;
}

/** The job id of a put, update or delete record (sealed or not), without decoding the rest. */
export function recordJobId(record: Uint8Array): number {
  const offset = record[PAYLOAD_OFFSET - 1] === RecordType.Delete ? PAYLOAD_OFFSET : PAYLOAD_OFFSET + 2;
  return new DataView(record.buffer, record.byteOffset, record.length).getFloat64(offset, true);
}

/**
 * Checks the structure of a put or update payload without allocating: returns where the
 * body starts (`end` for a well-formed update), or -1 if the payload is malformed. Replay
 * checks every record this way and decodes only the jobs still live at the end.
 */
export function payloadBodyStart(buf: Buffer, start: number, end: number): number {
  if (start + FIXED > end || buf[start] > 3) return -1;
  const id = viewOf(buf).getFloat64(start + 2, true);
  if (!Number.isSafeInteger(id) || id < 1) return -1;
  const flags = buf[start + 1];
  let o = start + 2 + NUMBERS * 8;
  o += 1 + buf[o];
  if (o > end) return -1;
  if (flags & F_DEDUPE) {
    if (o + 4 > end) return -1;
    o += 4 + buf.readUInt32LE(o);
    if (o > end) return -1;
  }
  if (flags & F_ERRORS) {
    if (o + 4 > end) return -1;
    o += 4 + buf.readUInt32LE(o);
    if (o > end) return -1;
  }
  if (flags & F_GROUP) {
    if (o + 4 > end) return -1;
    o += 4 + buf.readUInt32LE(o);
    if (o > end) return -1;
  }
  return o;
}
