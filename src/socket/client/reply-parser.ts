/**
 * The client side of the beanstalkd text protocol: a push parser for server replies.
 * Pure: bytes in, `(code, number, data)` triples out. No I/O, no timers, no strings
 * allocated per reply (the hot replies `INSERTED`, `RESERVED`, `DELETED` are matched
 * byte by byte).
 */

import { CR, DIGIT_0, DIGIT_9, LF, Reply, SPACE } from '../protocol.js';

/** Every reply line a beanstalkd 1.12 server sends, as small integers. */
export const ReplyCode = {
  Inserted: 1,
  Buried: 2,
  ExpectedCrlf: 3,
  JobTooBig: 4,
  Draining: 5,
  BadFormat: 6,
  OutOfMemory: 7,
  InternalError: 8,
  UnknownCommand: 9,
  Using: 10,
  Reserved: 11,
  DeadlineSoon: 12,
  TimedOut: 13,
  Deleted: 14,
  NotFound: 15,
  Released: 16,
  Touched: 17,
  Watching: 18,
  NotIgnored: 19,
  Found: 20,
  Kicked: 21,
  Ok: 22,
  Paused: 23,
} as const;
export type ReplyCode = (typeof ReplyCode)[keyof typeof ReplyCode];

/** The reply words (protocol.ts spells them), indexed by code. */
export const REPLY_NAMES: readonly string[] = (() => {
  const names: string[] = [''];
  for (const key of Object.keys(ReplyCode) as Array<keyof typeof ReplyCode>) names[ReplyCode[key]] = Reply[key];
  return names;
})();

/**
 * The shape of each reply's arguments: 0 none, 1 one optional number (`BURIED [id]`,
 * `KICKED [n]`), 2 one number, 3 a name, 4 a number then a data length (data follows),
 * 5 a data length (data follows).
 */
const ARGS: readonly number[] = [0, 2, 1, 0, 0, 0, 0, 0, 0, 0, 3, 4, 0, 0, 0, 0, 0, 0, 2, 0, 4, 1, 5, 0];

const WORDS: readonly Uint8Array[] = REPLY_NAMES.map((name) => Uint8Array.from(name, (c) => c.charCodeAt(0)));

/**
 * Longest reply line we accept, CRLF excluded. A beanstalkd reply is at most
 * `RESERVED <u64> <u32>` or `USING <200-byte name>`; anything longer is not beanstalkd.
 */
export const MAX_REPLY_LINE = 256;

/** Largest data block we accept after `RESERVED`/`FOUND`/`OK`: bounds memory per connection. */
export const DEFAULT_MAX_REPLY_DATA = 64 * 1024 * 1024;

/** Receives each parsed reply, in order. */
export interface ReplySink {
  /**
   * @param code - which reply
   * @param value - the job id (`INSERTED`, `RESERVED`, `FOUND`, `BURIED <id>`), the count
   *   (`WATCHING`, `KICKED <n>`), the data length (`OK`), or -1 when the reply has none
   * @param data - the data block (`RESERVED`, `FOUND`, `OK`) or the name (`USING`); a view
   *   into the received bytes, valid as long as the caller keeps it
   */
  reply(code: ReplyCode, value: number, data: Buffer | undefined): void;
}

/** A reply that is not beanstalkd: the connection can no longer be trusted. */
export class ReplySyntaxError extends Error {
  override readonly name = 'ReplySyntaxError';
}

/**
 * Incremental reply parser: `push()` any split of the byte stream; every complete reply
 * goes to the sink, the incomplete tail is kept. Throws {@link ReplySyntaxError} on a
 * malformed reply; after that the parser must be discarded (so must the connection).
 */
export class ReplyParser {
  private readonly sink: ReplySink;
  private readonly maxData: number;
  // Bytes of an incomplete line or data block, kept as chunks so a large body that
  // arrives in many reads is joined once, not once per read.
  private parts: Buffer[] = [];
  private partsLength = 0;
  // When a data block is expected: its length, and the reply it belongs to.
  private dataLength = -1;
  private dataCode: ReplyCode = ReplyCode.Ok;
  private dataValue = -1;

  constructor(sink: ReplySink, options: { maxData?: number } = {}) {
    this.sink = sink;
    this.maxData = options.maxData ?? DEFAULT_MAX_REPLY_DATA;
  }

  /** True when no partial reply is buffered. */
  get isIdle(): boolean {
    return this.partsLength === 0 && this.dataLength < 0;
  }

  /** Drops any partial reply (after a reconnect the new stream starts clean). */
  reset(): void {
    this.parts = [];
    this.partsLength = 0;
    this.dataLength = -1;
  }

  push(chunk: Buffer): void {
    let buf = chunk;
    if (this.partsLength > 0) {
      const needed = this.dataLength >= 0 ? this.dataLength + 2 : 0;
      this.parts.push(chunk);
      this.partsLength += chunk.length;
      // Still short of a whole data block: wait for more without copying.
      if (needed > 0 && this.partsLength < needed) return;
      if (needed === 0 && chunk.indexOf(LF) < 0) {
        if (this.partsLength > MAX_REPLY_LINE + 2) this.fail('reply line too long');
        return;
      }
      buf = this.parts.length === 1 ? this.parts[0] : Buffer.concat(this.parts, this.partsLength);
      this.parts = [];
      this.partsLength = 0;
    }
    const end = buf.length;
    let pos = 0;
    while (pos < end) {
      if (this.dataLength >= 0) {
        const stop = pos + this.dataLength;
        if (stop + 2 > end) break;
        if (buf[stop] !== CR || buf[stop + 1] !== LF) this.fail('data block not followed by CRLF');
        const code = this.dataCode;
        const value = this.dataValue;
        this.dataLength = -1;
        this.sink.reply(code, value, buf.subarray(pos, stop));
        pos = stop + 2;
        continue;
      }
      const lf = buf.indexOf(LF, pos);
      if (lf < 0) {
        if (end - pos > MAX_REPLY_LINE + 1) this.fail('reply line too long');
        break;
      }
      if (lf === pos || buf[lf - 1] !== CR) this.fail('reply line not terminated by CRLF');
      if (lf - 1 - pos > MAX_REPLY_LINE) this.fail('reply line too long');
      this.line(buf, pos, lf - 1);
      pos = lf + 1;
    }
    if (pos < end) {
      const rest = buf.subarray(pos);
      this.parts.push(rest);
      this.partsLength = rest.length;
    }
  }

  private line(buf: Buffer, start: number, stop: number): void {
    // The reply word: up to the first space.
    let wordEnd = start;
    while (wordEnd < stop && buf[wordEnd] !== SPACE) wordEnd++;
    const code = matchWord(buf, start, wordEnd);
    if (code === 0) this.fail(`unknown reply ${describe(buf, start, stop)}`);
    const shape = ARGS[code];
    let pos = wordEnd;
    if (shape === 0) {
      if (pos !== stop) this.fail(`unexpected arguments in ${describe(buf, start, stop)}`);
      this.sink.reply(code as ReplyCode, -1, undefined);
      return;
    }
    if (shape === 1 && pos === stop) {
      this.sink.reply(code as ReplyCode, -1, undefined);
      return;
    }
    if (pos === stop || pos + 1 === stop) this.fail(`missing argument in ${describe(buf, start, stop)}`);
    pos++; // the space
    if (shape === 3) {
      this.sink.reply(code as ReplyCode, -1, buf.subarray(pos, stop));
      return;
    }
    const first = parseNumber(buf, pos, stop).value;
    if (first < 0) this.fail(`bad number in ${describe(buf, start, stop)}`);
    pos = parsed.end;
    if (shape === 1 || shape === 2 || shape === 5) {
      if (pos !== stop) this.fail(`unexpected arguments in ${describe(buf, start, stop)}`);
      if (shape === 5) this.expectData(code as ReplyCode, first, first);
      else this.sink.reply(code as ReplyCode, first, undefined);
      return;
    }
    // shape 4: <id> <bytes>
    if (pos === stop || buf[pos] !== SPACE) this.fail(`missing data length in ${describe(buf, start, stop)}`);
    const second = parseNumber(buf, pos + 1, stop);
    if (second.value < 0 || second.end !== stop) this.fail(`bad data length in ${describe(buf, start, stop)}`);
    this.expectData(code as ReplyCode, first, second.value);
  }

  private expectData(code: ReplyCode, value: number, length: number): void {
    if (length > this.maxData) this.fail(`data block of ${length} bytes exceeds the limit of ${this.maxData}`);
    this.dataCode = code;
    this.dataValue = value;
    this.dataLength = length;
  }

  private fail(message: string): never {
    this.reset();
    throw new ReplySyntaxError(message);
  }
}

function matchWord(buf: Buffer, start: number, stop: number): number {
  const length = stop - start;
  // A first-byte switch keeps the common replies to one or two comparisons.
  switch (buf[start]) {
    case 0x49 /* I */:
      if (same(buf, start, length, ReplyCode.Inserted)) return ReplyCode.Inserted;
      return same(buf, start, length, ReplyCode.InternalError) ? ReplyCode.InternalError : 0;
    case 0x52 /* R */:
      if (same(buf, start, length, ReplyCode.Reserved)) return ReplyCode.Reserved;
      return same(buf, start, length, ReplyCode.Released) ? ReplyCode.Released : 0;
    case 0x44 /* D */:
      if (same(buf, start, length, ReplyCode.Deleted)) return ReplyCode.Deleted;
      if (same(buf, start, length, ReplyCode.DeadlineSoon)) return ReplyCode.DeadlineSoon;
      return same(buf, start, length, ReplyCode.Draining) ? ReplyCode.Draining : 0;
    case 0x54 /* T */:
      if (same(buf, start, length, ReplyCode.TimedOut)) return ReplyCode.TimedOut;
      return same(buf, start, length, ReplyCode.Touched) ? ReplyCode.Touched : 0;
    case 0x4e /* N */:
      if (same(buf, start, length, ReplyCode.NotFound)) return ReplyCode.NotFound;
      return same(buf, start, length, ReplyCode.NotIgnored) ? ReplyCode.NotIgnored : 0;
    case 0x42 /* B */:
      if (same(buf, start, length, ReplyCode.Buried)) return ReplyCode.Buried;
      return same(buf, start, length, ReplyCode.BadFormat) ? ReplyCode.BadFormat : 0;
    case 0x4f /* O */:
      if (same(buf, start, length, ReplyCode.Ok)) return ReplyCode.Ok;
      return same(buf, start, length, ReplyCode.OutOfMemory) ? ReplyCode.OutOfMemory : 0;
    case 0x55 /* U */:
      if (same(buf, start, length, ReplyCode.Using)) return ReplyCode.Using;
      return same(buf, start, length, ReplyCode.UnknownCommand) ? ReplyCode.UnknownCommand : 0;
    case 0x45 /* E */:
      return same(buf, start, length, ReplyCode.ExpectedCrlf) ? ReplyCode.ExpectedCrlf : 0;
    case 0x4a /* J */:
      return same(buf, start, length, ReplyCode.JobTooBig) ? ReplyCode.JobTooBig : 0;
    case 0x57 /* W */:
      return same(buf, start, length, ReplyCode.Watching) ? ReplyCode.Watching : 0;
    case 0x46 /* F */:
      return same(buf, start, length, ReplyCode.Found) ? ReplyCode.Found : 0;
    case 0x4b /* K */:
      return same(buf, start, length, ReplyCode.Kicked) ? ReplyCode.Kicked : 0;
    case 0x50 /* P */:
      return same(buf, start, length, ReplyCode.Paused) ? ReplyCode.Paused : 0;
    default:
      return 0;
  }
}

function same(buf: Buffer, start: number, length: number, code: number): boolean {
  const word = WORDS[code];
  if (word.length !== length) return false;
  for (let i = 1; i < length; i++) if (buf[start + i] !== word[i]) return false;
  return true;
}

// Reused result holder: parseNumber is called at most twice per line and its result is
// read before the next call, so one object serves every call.
const parsed = { value: -1, end: 0 };

function parseNumber(buf: Buffer, start: number, stop: number): { value: number; end: number } {
  let pos = start;
  let value = 0;
  while (pos < stop) {
    const c = buf[pos];
    if (c < DIGIT_0 || c > DIGIT_9) break;
    value = value * 10 + (c - DIGIT_0);
    pos++;
  }
  // No digits, or past 2^53: not a number we can represent exactly.
  parsed.value = pos === start || pos - start > 16 ? -1 : value;
  parsed.end = pos;
  return parsed;
}

function describe(buf: Buffer, start: number, stop: number): string {
  const text = buf.toString('latin1', start, Math.min(stop, start + 80));
  return JSON.stringify(stop - start > 80 ? `${text}…` : text);
}
