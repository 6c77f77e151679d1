import { crc32c } from './crc32c.js';

// Framing of the journal file. Pure: bytes in, bytes out, no I/O.
//
//   file   = file-header record*
//   header = "DOCKETJ1" (8) | u32 version | u32 crc32c(bytes 0..12)            = 16 bytes
//   record = u32 crc | u32 length | u32 seq-lo | u32 seq-hi | body[length]      = 16 + length
//   body   = u8 type | payload
//
// All integers little-endian. The checksum covers everything after itself (length,
// sequence number and body), so a damaged length field cannot send the reader off to a
// plausible-looking frame. Sequence numbers start anywhere >= 1 and rise by exactly one
// per record within a file: a record that passes its checksum but is not the next one
// (stale bytes from an earlier life of the disk block, a duplicated page) still fails.

/** Record kinds; the payload of each is described in job-codec.ts. */
export const RecordType = {
  /** A new job, with its payload. */
  Put: 1,
  /** A job's state and counters changed; carries them all (not a diff), so replay overwrites. */
  Update: 2,
  /** The job is gone (acked or deleted). */
  Delete: 3,
  /**
   * The highest job id handed out so far (f64). Written first in a compacted file, which
   * drops the puts of jobs that are gone: without it a restart would hand their ids out again.
   */
  HighestId: 4,
} as const;
export type RecordType = (typeof RecordType)[keyof typeof RecordType];

const MAGIC = [0x44, 0x4f, 0x43, 0x4b, 0x45, 0x54, 0x4a, 0x31]; // "DOCKETJ1"
/**
 * The format version this code writes. It reads 1 as well: version 2 only added the
 * `HighestId` record, which a version-1 reader would take for damage.
 */
export const FORMAT_VERSION = 2;
const OLDEST_READABLE_VERSION = 1;
export const FILE_HEADER_SIZE = 16;
export const RECORD_HEADER_SIZE = 16;
/** Upper bound on a record body; a length field above it is damage, not a big job. */
export const MAX_BODY_SIZE = 256 * 1024 * 1024;
const TWO_32 = 2 ** 32;

/** The 16-byte header every journal file starts with. */
export function encodeFileHeader(): Uint8Array {
  const header = new Uint8Array(FILE_HEADER_SIZE);
  header.set(MAGIC, 0);
  const view = new DataView(header.buffer);
  view.setUint32(8, FORMAT_VERSION, true);
  view.setUint32(12, crc32c(header, 0, 12), true);
  return header;
}

/** What {@link checkFileHeader} found at the start of a file. */
export type FileHeaderCheck = 'ok' | 'short' | 'not-a-journal' | 'bad-version' | 'bad-checksum';

/**
 * Checks a file's first bytes. `'short'` means fewer than 16 bytes (a file whose
 * creation was interrupted); `'not-a-journal'` means the magic is wrong, so the file
 * must not be touched.
 */
export function checkFileHeader(bytes: Uint8Array): FileHeaderCheck {
  if (bytes.length < FILE_HEADER_SIZE) {
    // A prefix of our magic (or nothing) is an interrupted creation; anything else is foreign.
    for (let i = 0; i < bytes.length && i < 8; i++) if (bytes[i] !== MAGIC[i]) return 'not-a-journal';
    return 'short';
  }
  for (let i = 0; i < 8; i++) if (bytes[i] !== MAGIC[i]) return 'not-a-journal';
  const view = new DataView(bytes.buffer, bytes.byteOffset, FILE_HEADER_SIZE);
  if (view.getUint32(12, true) !== crc32c(bytes, 0, 12)) return 'bad-checksum';
  const version = view.getUint32(8, true);
  if (version < OLDEST_READABLE_VERSION || version > FORMAT_VERSION) return 'bad-version';
  return 'ok';
}

/**
 * Allocates a record of `payloadLength` payload bytes with its type set. The caller
 * fills the payload at {@link PAYLOAD_OFFSET} and later calls {@link sealRecord}, which
 * stamps the sequence number and checksum: numbering happens when the record is
 * written, so a record can be renumbered (compaction) without re-encoding it.
 */
export function allocRecord(type: RecordType, payloadLength: number): Uint8Array {
  // Unzeroed (small records come from Node's shared pool): sealRecord and the payload
  // encoders write every byte.
  const record = Buffer.allocUnsafe(RECORD_HEADER_SIZE + 1 + payloadLength);
  record[RECORD_HEADER_SIZE] = type;
  return record;
}

/** Where the payload starts inside a record from {@link allocRecord}. */
export const PAYLOAD_OFFSET = RECORD_HEADER_SIZE + 1;

/** Stamps length, sequence number and checksum on a record; may be called again to renumber. */
export function sealRecord(record: Uint8Array, seq: number): void {
  const view = new DataView(record.buffer, record.byteOffset, RECORD_HEADER_SIZE);
  view.setUint32(4, record.length - RECORD_HEADER_SIZE, true);
  view.setUint32(8, seq % TWO_32, true);
  view.setUint32(12, Math.floor(seq / TWO_32), true);
  view.setUint32(0, crc32c(record, 4, record.length), true);
}

/** One record frame as found by {@link readRecord}: positions refer to the scanned buffer. */
export interface FoundRecord {
  kind: 'record';
  type: number;
  seq: number;
  /** First payload byte (after the type byte). */
  payloadStart: number;
  /** Offset just past the record: where the next one starts. */
  end: number;
}

/** Why the bytes at an offset are not the next record. */
export type BadRecordReason = 'length' | 'checksum' | 'sequence' | 'type';

/** Result of reading the frame at one offset. */
export type ReadResult =
  | FoundRecord
  /** The buffer ends inside the header or body: a torn write if this is the end of the file. */
  | { kind: 'incomplete'; needed: number }
  | { kind: 'bad'; reason: BadRecordReason };

/**
 * Reads the record frame at `offset`. `expectedSeq` is the sequence number the record
 * must carry (`undefined` for the first record of a file, which may carry any number >= 1).
 * A frame that fails its check is reported `'bad'` and its bytes are never handed out.
 */
export function readRecord(buf: Uint8Array, offset: number, end: number, expectedSeq: number | undefined): ReadResult {
  return readRecordInto(buf, offset, end, expectedSeq, { kind: 'record', type: 0, seq: 0, payloadStart: 0, end: 0 });
}

/**
 * {@link readRecord}, filling `found` (and returning it) for a valid frame instead of
 * making a new object: replay reads millions of frames through one.
 */
export function readRecordInto(buf: Uint8Array, offset: number, end: number, expectedSeq: number | undefined, found: FoundRecord): ReadResult {
  if (end - offset < RECORD_HEADER_SIZE) return { kind: 'incomplete', needed: RECORD_HEADER_SIZE - (end - offset) };
  // Byte arithmetic rather than a DataView: replay reads millions of headers.
  const length = u32(buf, offset + 4);
  if (length < 1 || length > MAX_BODY_SIZE) return { kind: 'bad', reason: 'length' };
  const recordEnd = offset + RECORD_HEADER_SIZE + length;
  if (recordEnd > end) {
    // A length that points past the data may be a torn write or a damaged length
    // field; the caller decides by what follows (nothing, for a torn tail).
    return { kind: 'incomplete', needed: recordEnd - end };
  }
  if (u32(buf, offset) !== crc32c(buf, offset + 4, recordEnd)) return { kind: 'bad', reason: 'checksum' };
  const seq = u32(buf, offset + 8) + u32(buf, offset + 12) * TWO_32;
  if (expectedSeq === undefined ? seq < 1 : seq !== expectedSeq) return { kind: 'bad', reason: 'sequence' };
  const type = buf[offset + RECORD_HEADER_SIZE];
  if (type < RecordType.Put || type > RecordType.HighestId) return { kind: 'bad', reason: 'type' };
  found.type = type;
  found.seq = seq;
  found.payloadStart = offset + PAYLOAD_OFFSET;
  found.end = recordEnd;
  return found;
}

function u32(buf: Uint8Array, at: number): number {
  return (buf[at] | (buf[at + 1] << 8) | (buf[at + 2] << 16) | (buf[at + 3] << 24)) >>> 0;
}

/**
 * Looks for a valid record anywhere in `[from, end)` whose sequence number is above
 * `afterSeq`. Used after a bad frame to tell a damaged middle (valid records follow)
 * from a torn tail (nothing valid follows). Returns its offset, or -1.
 */
export function findValidRecordAfter(buf: Uint8Array, from: number, end: number, afterSeq: number): number {
  for (let offset = from; offset + RECORD_HEADER_SIZE < end; offset++) {
    const length = u32(buf, offset + 4);
    if (length < 1 || length > MAX_BODY_SIZE || offset + RECORD_HEADER_SIZE + length > end) continue;
    const seq = u32(buf, offset + 8) + u32(buf, offset + 12) * TWO_32;
    if (seq <= afterSeq) continue;
    const result = readRecord(buf, offset, end, seq);
    if (result.kind === 'record') return offset;
  }
  return -1;
}
