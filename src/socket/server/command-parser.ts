import {
  COMMANDS,
  CR,
  type Command,
  type CommandSpec,
  DEFAULT_MAX_JOB_SIZE,
  DIGIT_0,
  DIGIT_9,
  LF,
  MAX_LINE,
  MINUS,
  NAME_BYTE,
  type ParseErrorReply,
  Reply,
  SPACE,
  U32_MAX,
  U64_MAX,
} from '../protocol.js';

/** Receives each command (or rejected input) in the order it was sent. */
export type CommandSink = (command: Command) => void;

export interface ParserOptions {
  /**
   * Largest job body accepted, in bytes; a larger one is discarded as it arrives and
   * answered JOB_TOO_BIG.
   * @defaultValue 65535
   */
  maxJobSize?: number;
}

/** What the parser is in the middle of. */
export const ParserState = {
  /** Reading a command line. */
  Line: 'line',
  /** Reading a put's body. */
  Body: 'body',
  /** Throwing away an oversized body (JOB_TOO_BIG follows). */
  Skip: 'skip',
  /** Throwing away the rest of an overlong line (BAD_FORMAT follows). */
  Discard: 'discard',
} as const;
export type ParserState = (typeof ParserState)[keyof typeof ParserState];

// The longest line before its LF: 222 bytes of command and the CR.
const MAX_BEFORE_LF = MAX_LINE - 1;

const SPECS_BY_FIRST_BYTE: Array<Array<{ spec: CommandSpec; prefix: Uint8Array }>> = (() => {
  const table: Array<Array<{ spec: CommandSpec; prefix: Uint8Array }>> = Array.from({ length: 256 }, () => []);
  // Keep the reference's order within each group: the first matching prefix wins.
  for (const spec of COMMANDS) table[spec.prefix.charCodeAt(0)].push({ spec, prefix: Buffer.from(spec.prefix, 'latin1') });
  return table;
})();

const MAX_SAFE = BigInt(Number.MAX_SAFE_INTEGER);
const U64_MODULUS = 1n << 64n;
const U32_MODULUS = 1n << 32n;
const I64_MAX = (1n << 63n) - 1n;

function isDigit(byte: number): boolean {
  return byte >= DIGIT_0 && byte <= DIGIT_9;
}

// C's isspace(): what strtol/strtoul skip.
function isCSpace(byte: number): boolean {
  return byte === SPACE || (byte >= 0x09 && byte <= 0x0d);
}

/**
 * The beanstalkd protocol as a push machine: `push(bytes)` hands every complete command to
 * the sink and keeps only the incomplete tail, so any split of the input gives the same
 * commands. Memory is bounded: a line buffer of 224 bytes and at most one body of
 * `maxJobSize` + 2 bytes; oversized bodies and overlong lines are discarded as they arrive.
 * Pure: no I/O, no timers; the sink is called synchronously.
 */
export class Parser {
  private readonly sink: CommandSink;
  private readonly maxJobSize: number;
  private mode: ParserState = ParserState.Line;
  private readonly line = Buffer.allocUnsafe(MAX_BEFORE_LF);
  private lineLength = 0;
  // Discard mode: whether the last byte thrown away was a CR (a CRLF may straddle chunks).
  private lastWasCr = false;
  // Body mode.
  private body: Buffer | undefined;
  private bodyFilled = 0;
  private bodyNeeded = 0;
  private pending: { pri: number; delay: number; ttr: number } | undefined;
  // Skip mode: bytes still to throw away.
  private skipLeft = 0;
  // Where the argument reader stopped (set by the read* methods).
  private cursor = 0;

  constructor(sink: CommandSink, options: ParserOptions = {}) {
    this.sink = sink;
    this.maxJobSize = options.maxJobSize ?? DEFAULT_MAX_JOB_SIZE;
  }

  /** What the parser is in the middle of. */
  get state(): ParserState {
    return this.mode;
  }

  /** Whether a command has started but not finished (the slowloris timer runs meanwhile). */
  get inProgress(): boolean {
    return this.mode !== ParserState.Line || this.lineLength > 0;
  }

  /** Bytes held for an unfinished command. */
  get buffered(): number {
    return this.mode === ParserState.Body ? this.bodyFilled : this.lineLength;
  }

  /** Feeds bytes; every command they complete goes to the sink before this returns. */
  push(input: Uint8Array): void {
    const chunk = Buffer.isBuffer(input) ? input : Buffer.from(input.buffer, input.byteOffset, input.byteLength);
    const end = chunk.length;
    let pos = 0;
    while (pos < end) {
      switch (this.mode) {
        case ParserState.Line:
          pos = this.readLine(chunk, pos, end);
          break;
        case ParserState.Body:
          pos = this.readBody(chunk, pos, end);
          break;
        case ParserState.Skip: {
          const take = Math.min(this.skipLeft, end - pos);
          this.skipLeft -= take;
          pos += take;
          if (this.skipLeft === 0) {
            this.mode = ParserState.Line;
            this.error(Reply.JobTooBig, 'job body larger than max-job-size');
          }
          break;
        }
        case ParserState.Discard:
          pos = this.discard(chunk, pos, end);
          break;
      }
    }
  }

  private readLine(chunk: Buffer, pos: number, end: number): number {
    let from = pos;
    for (;;) {
      const lf = chunk.indexOf(LF, from);
      if (lf === -1) {
        const more = end - pos;
        if (this.lineLength + more > MAX_BEFORE_LF) {
          this.lastWasCr = chunk[end - 1] === CR;
          this.lineLength = 0;
          this.mode = ParserState.Discard;
        } else {
          chunk.copy(this.line, this.lineLength, pos, end);
          this.lineLength += more;
        }
        return end;
      }
      const before = lf > pos ? chunk[lf - 1] : this.lineLength > 0 ? this.line[this.lineLength - 1] : -1;
      if (before !== CR) {
        // A bare LF is an ordinary byte of the line.
        from = lf + 1;
        if (this.lineLength + (from - pos) > MAX_BEFORE_LF) {
          this.lineLength = 0;
          this.lastWasCr = false;
          this.mode = ParserState.Discard;
          return from;
        }
        continue;
      }
      const total = this.lineLength + (lf - pos);
      if (total > MAX_BEFORE_LF) {
        this.lineLength = 0;
        this.error(Reply.BadFormat, 'line longer than 224 bytes');
        return lf + 1;
      }
      if (this.lineLength === 0) {
        this.parseLine(chunk, pos, lf - 1, chunk, lf + 1, end);
      } else {
        chunk.copy(this.line, this.lineLength, pos, lf);
        const length = total - 1;
        this.lineLength = 0;
        this.parseLine(this.line, 0, length, chunk, lf + 1, end);
      }
      return this.afterLine;
    }
  }

  // parseLine sets this to the position in the chunk where reading continues (after a body
  // it may have taken from the same chunk).
  private afterLine = 0;

  private discard(chunk: Buffer, pos: number, end: number): number {
    if (this.lastWasCr && chunk[pos] === LF) {
      this.lastWasCr = false;
      this.mode = ParserState.Line;
      this.error(Reply.BadFormat, 'line longer than 224 bytes');
      return pos + 1;
    }
    let from = pos;
    for (;;) {
      const lf = chunk.indexOf(LF, from);
      if (lf === -1) {
        this.lastWasCr = chunk[end - 1] === CR;
        return end;
      }
      if (lf > pos && chunk[lf - 1] === CR) {
        this.lastWasCr = false;
        this.mode = ParserState.Line;
        this.error(Reply.BadFormat, 'line longer than 224 bytes');
        return lf + 1;
      }
      from = lf + 1;
    }
  }

  private readBody(chunk: Buffer, pos: number, end: number): number {
    const body = this.body as Buffer;
    const take = Math.min(this.bodyNeeded - this.bodyFilled, end - pos);
    chunk.copy(body, this.bodyFilled, pos, pos + take);
    this.bodyFilled += take;
    if (this.bodyFilled === this.bodyNeeded) this.finishBody(body, this.bodyNeeded - 2);
    return pos + take;
  }

  private finishBody(body: Buffer, size: number): void {
    const pending = this.pending as { pri: number; delay: number; ttr: number };
    this.mode = ParserState.Line;
    this.body = undefined;
    this.pending = undefined;
    this.bodyFilled = 0;
    if (body[size] !== CR || body[size + 1] !== LF) {
      this.error(Reply.ExpectedCrlf, 'job body not followed by CRLF');
      return;
    }
    this.sink({ name: 'put', pri: pending.pri, delay: pending.delay, ttr: pending.ttr, body: body.subarray(0, size) });
  }

  private error(reply: ParseErrorReply, detail: string): void {
    this.sink({ name: 'error', reply, detail });
  }

  /**
   * Parses the line `buf[start, end)` (CRLF excluded). `chunk[next, chunkEnd)` is what
   * follows it, from which a put takes its body when the body is already there.
   */
  private parseLine(buf: Buffer, start: number, end: number, chunk: Buffer, next: number, chunkEnd: number): void {
    this.afterLine = next;
    const candidates = start < end ? SPECS_BY_FIRST_BYTE[buf[start]] : undefined;
    let spec: CommandSpec | undefined;
    let argsAt = 0;
    if (candidates !== undefined) {
      for (const candidate of candidates) {
        const prefix = candidate.prefix;
        if (end - start < prefix.length) continue;
        let i = 1;
        while (i < prefix.length && buf[start + i] === prefix[i]) i++;
        if (i === prefix.length) {
          spec = candidate.spec;
          argsAt = start + i;
          break;
        }
      }
    }
    if (spec === undefined) {
      this.error(Reply.UnknownCommand, 'unknown command');
      return;
    }
    const name = spec.name;
    switch (spec.args) {
      case 'none':
        if (argsAt !== end) return this.badFormat(`${name} takes no arguments`);
        this.sink({ name } as Command);
        return;
      case 'ignored':
        this.sink({ name } as Command);
        return;
      case 'id': {
        const id = this.readId(buf, argsAt, end);
        if (id < 0 || this.cursor !== end) return this.badFormat(`${name} expects <id>`);
        this.sink({ name, id } as Command);
        return;
      }
      case 'tube': {
        const tube = this.readName(buf, argsAt, end);
        if (tube === undefined) return this.badFormat(`${name} expects a tube name`);
        this.sink({ name, tube } as Command);
        return;
      }
      case 'release': {
        const id = this.readId(buf, argsAt, end);
        const pri = id < 0 ? -1 : this.readU32(buf, this.cursor, end);
        const delay = pri < 0 ? -1 : this.readU32(buf, this.cursor, end);
        if (delay < 0 || this.cursor !== end) return this.badFormat('release expects <id> <pri> <delay>');
        this.sink({ name: 'release', id, pri, delay });
        return;
      }
      case 'bury': {
        const id = this.readId(buf, argsAt, end);
        const pri = id < 0 ? -1 : this.readU32(buf, this.cursor, end);
        if (pri < 0 || this.cursor !== end) return this.badFormat('bury expects <id> <pri>');
        this.sink({ name: 'bury', id, pri });
        return;
      }
      case 'timeout': {
        const timeout = this.readLenientTimeout(buf, argsAt, end);
        if (timeout === undefined) return this.badFormat('reserve-with-timeout: seconds out of range');
        this.sink({ name: 'reserve-with-timeout', timeout });
        return;
      }
      case 'kick': {
        const bound = this.readLenientBound(buf, argsAt, end);
        if (bound === undefined) return this.badFormat('kick expects <bound>');
        this.sink({ name: 'kick', bound });
        return;
      }
      case 'pause': {
        let at = argsAt;
        while (at < end && buf[at] === SPACE) at++;
        const nameStart = at;
        while (at < end && NAME_BYTE[buf[at]] === 1) at++;
        if (at === nameStart) return this.badFormat('pause-tube expects <tube> <delay>');
        const delay = this.readU32(buf, at, end);
        if (delay < 0 || this.cursor !== end) return this.badFormat('pause-tube expects <tube> <delay>');
        // The reference reads the name by its alphabet, then refuses it as use/watch do.
        const tube = this.readName(buf, nameStart, at);
        if (tube === undefined) return this.badFormat('pause-tube expects a valid tube name');
        this.sink({ name: 'pause-tube', tube, delay });
        return;
      }
      case 'put':
        return this.parsePut(buf, argsAt, end, chunk, next, chunkEnd);
    }
  }

  private parsePut(buf: Buffer, at: number, end: number, chunk: Buffer, next: number, chunkEnd: number): void {
    const pri = this.readU32(buf, at, end);
    const delay = pri < 0 ? -1 : this.readU32(buf, this.cursor, end);
    const ttr = delay < 0 ? -1 : this.readU32(buf, this.cursor, end);
    const size = ttr < 0 ? -1 : this.readU32(buf, this.cursor, end);
    // As in the reference: a malformed put line leaves its body to be read as commands.
    if (size < 0) return this.badFormat('put expects <pri> <delay> <ttr> <bytes>');
    if (size > this.maxJobSize) {
      // The reference checks the size before trailing bytes, and throws the body away
      // (never buffering it) before answering.
      this.skipLeft = size + 2;
      this.mode = ParserState.Skip;
      const take = Math.min(this.skipLeft, chunkEnd - next);
      this.skipLeft -= take;
      this.afterLine = next + take;
      if (this.skipLeft === 0) {
        this.mode = ParserState.Line;
        this.error(Reply.JobTooBig, 'job body larger than max-job-size');
      }
      return;
    }
    if (this.cursor !== end) return this.badFormat('put: trailing bytes after <bytes>');
    const needed = size + 2;
    if (chunkEnd - next >= needed) {
      // The whole body is already here: copy it out of the chunk (so a job never pins a
      // socket's read buffer) and go on.
      this.afterLine = next + needed;
      if (chunk[next + size] !== CR || chunk[next + size + 1] !== LF) {
        this.error(Reply.ExpectedCrlf, 'job body not followed by CRLF');
        return;
      }
      this.sink({ name: 'put', pri, delay, ttr, body: Buffer.from(chunk.subarray(next, next + size)) });
      return;
    }
    this.pending = { pri, delay, ttr };
    this.body = Buffer.allocUnsafe(needed);
    this.bodyNeeded = needed;
    const take = chunkEnd - next;
    chunk.copy(this.body, 0, next, chunkEnd);
    this.bodyFilled = take;
    this.mode = ParserState.Body;
    this.afterLine = chunkEnd;
  }

  private badFormat(detail: string): void {
    this.error(Reply.BadFormat, detail);
  }

  /** Reads `<spaces><digits>` as a u32; -1 if absent or out of range. Sets `cursor`. */
  private readU32(buf: Buffer, at: number, end: number): number {
    while (at < end && buf[at] === SPACE) at++;
    if (at >= end || !isDigit(buf[at])) return -1;
    let value = 0;
    while (at < end && isDigit(buf[at])) {
      value = value * 10 + (buf[at] - DIGIT_0);
      // Stop early so a thousand digits cannot overflow into a valid-looking number.
      if (value > U32_MAX) return -1;
      at++;
    }
    this.cursor = at;
    return value;
  }

  /**
   * Reads `<spaces><digits>` as a u64 job id; -1 if absent or beyond u64. Ids beyond
   * 2^53 are valid syntax but name no docket job: they read as 0 (never an id).
   */
  private readId(buf: Buffer, at: number, end: number): number {
    while (at < end && buf[at] === SPACE) at++;
    if (at >= end || !isDigit(buf[at])) return -1;
    const digitsAt = at;
    let value = 0;
    while (at < end && isDigit(buf[at])) {
      value = value * 10 + (buf[at] - DIGIT_0);
      at++;
    }
    this.cursor = at;
    if (value <= Number.MAX_SAFE_INTEGER) return value;
    const big = BigInt(buf.toString('latin1', digitsAt, at));
    if (big > U64_MAX) return -1;
    return big > MAX_SAFE ? 0 : Number(big);
  }

  /** The rest of the line as a tube name (1-200 name bytes, not starting with `-`). */
  private readName(buf: Buffer, at: number, end: number): string | undefined {
    const length = end - at;
    if (length < 1 || length > 200 || buf[at] === MINUS) return undefined;
    for (let i = at; i < end; i++) if (NAME_BYTE[buf[i]] !== 1) return undefined;
    return buf.toString('latin1', at, end);
  }

  /**
   * The reference 1.12 reads this with strtol: leading whitespace and a sign allowed, no
   * digits means 0, anything after the digits ignored, out of long range is BAD_FORMAT;
   * a negative value waits forever (Infinity here).
   */
  private readLenientTimeout(buf: Buffer, at: number, end: number): number | undefined {
    const parsed = this.readCInteger(buf, at, end);
    if (parsed === undefined) return 0;
    const { negative, magnitude } = parsed;
    if (negative ? magnitude > I64_MAX + 1n : magnitude > I64_MAX) return undefined;
    if (magnitude === 0n) return 0;
    return negative ? Infinity : Number(magnitude);
  }

  /**
   * The reference 1.12 reads kick's bound with strtoul into an unsigned int: leading
   * whitespace and a sign allowed, anything after the digits ignored, no digits or beyond
   * u64 is BAD_FORMAT, a negative value wraps around, and the result is taken mod 2^32.
   */
  private readLenientBound(buf: Buffer, at: number, end: number): number | undefined {
    const parsed = this.readCInteger(buf, at, end);
    if (parsed === undefined) return undefined;
    const { negative, magnitude } = parsed;
    if (magnitude >= U64_MODULUS) return undefined;
    const value = negative ? (U64_MODULUS - magnitude) % U64_MODULUS : magnitude;
    return Number(value % U32_MODULUS);
  }

  private readCInteger(buf: Buffer, at: number, end: number): { negative: boolean; magnitude: bigint } | undefined {
    while (at < end && isCSpace(buf[at])) at++;
    let negative = false;
    if (at < end && (buf[at] === MINUS || buf[at] === 0x2b)) {
      negative = buf[at] === MINUS;
      at++;
    }
    const digitsAt = at;
    while (at < end && isDigit(buf[at])) at++;
    if (at === digitsAt) return undefined;
    // Enough digits to decide any range question without building a huge BigInt.
    let first = digitsAt;
    while (first < at - 1 && buf[first] === DIGIT_0) first++;
    if (at - first > 40) return { negative, magnitude: U64_MODULUS * U64_MODULUS };
    return { negative, magnitude: BigInt(buf.toString('latin1', first, at)) };
  }
}
