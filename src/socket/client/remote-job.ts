import type { Codec } from '../../codec.js';
import { LeaseExpiredError, QueueClosedError, QueueFullError, toError } from '../../errors.js';
import { LOST, type ClientConnection, type Interpret } from './connection.js';
import { ConnectionError, ProtocolError } from './errors.js';
import { checkMs, checkPriority, toSeconds } from './options.js';
import { parseYamlMap } from './yaml-reader.js';
import { REPLY_NAMES, ReplyCode } from './reply-parser.js';

/** A consumer connection and what it holds: the pool's bookkeeping, kept by the replies. */
export interface Consumer {
  readonly conn: ClientConnection;
  /** Jobs reserved on this connection and not settled (leases). */
  held: number;
  /** Non-blocking reserves in flight. */
  polls: number;
  /** A blocking reserve is in flight: nothing else may queue behind it. */
  blocking: boolean;
  /** Held jobs whose `signal` was asked for: aborted when the connection drops. */
  readonly watched: Set<RemoteJob<unknown>>;
}

/** What a job needs from its queue. @internal */
export interface JobHost<T> {
  readonly codec: Codec<T>;
  readonly priority: number;
  readonly retry: { attempts: number; delay: number };
  emitProgress(job: RemoteJob<T>, value: unknown): void;
  /** The ack of a `process()` handler's result was confirmed (see {@link RemoteJob.ackProcessed}). */
  acked(job: RemoteJob<T>, result: unknown): void;
  /** The ack of a `process()` handler's result failed: the lease was lost, or worse. */
  ackFailed(job: RemoteJob<T>, error: Error): void;
}

/** Options of {@link RemoteJob.release}. */
export interface RemoteReleaseOptions {
  /** Ms before the job is ready again (sent rounded up to whole seconds). @defaultValue `0` */
  delay?: number;
  /**
   * Priority from now on. The protocol does not tell a consumer a job's priority, so the
   * default is the client's `priority` option, not the job's own.
   * @defaultValue the `priority` option of `connect` (1024)
   */
  priority?: number;
}

/** A job's server-side record, from `stats-job`. Times are ms (the protocol counts seconds). */
export interface RemoteJobStats {
  id: number;
  tube: string;
  state: 'ready' | 'delayed' | 'reserved' | 'buried';
  priority: number;
  age: number;
  delay: number;
  ttr: number;
  timeLeft: number;
  reserves: number;
  timeouts: number;
  releases: number;
  buries: number;
  kicks: number;
}

/**
 * Maps an error reply to an error; `LOST` maps to the connection's own error.
 * @internal
 */
export function replyError(code: number, command: string, error: Error | undefined): Error {
  if (code === LOST) return error ?? new ConnectionError(`connection lost before the reply to ${command}`);
  const reply = REPLY_NAMES[code];
  switch (code) {
    case ReplyCode.OutOfMemory:
      return new QueueFullError(`${command}: the server is out of room (OUT_OF_MEMORY); try again later`);
    case ReplyCode.Draining:
      return new QueueClosedError(`${command}: the server is draining and takes no new jobs (DRAINING)`);
    case ReplyCode.JobTooBig:
      return new ProtocolError(`${command}: the job is larger than the server's max-job-size (JOB_TOO_BIG)`, { reply });
    default:
      return new ProtocolError(`${command}: unexpected reply ${reply}`, { reply });
  }
}

const interpretDelete: Interpret<void> = (code, _value, _data, context, error) => {
  const job = context as RemoteJob<unknown>;
  job.finish();
  if (code === ReplyCode.Deleted) return;
  throw job.leaseError('ack', code, error);
};

// The process() ack: reports to the queue itself, so no promise is made per job.
const interpretProcessedDelete: Interpret<void> = (code, _value, _data, context, error) => {
  const job = context as RemoteJob<unknown>;
  job.finish();
  if (code === ReplyCode.Deleted) job.host.acked(job, job.result);
  else job.host.ackFailed(job, job.leaseError('ack', code, error));
};

const interpretRelease: Interpret<void> = (code, _value, _data, context, error) => {
  const job = context as RemoteJob<unknown>;
  job.finish();
  // BURIED: the server had no room to put it back and buried it; the lease ended either way.
  if (code === ReplyCode.Released || code === ReplyCode.Buried) return;
  throw job.leaseError('release', code, error);
};

const interpretBury: Interpret<void> = (code, _value, _data, context, error) => {
  const job = context as RemoteJob<unknown>;
  job.finish();
  if (code === ReplyCode.Buried) return;
  throw job.leaseError('bury', code, error);
};

const interpretTouch: Interpret<void> = (code, _value, _data, context, error) => {
  const job = context as RemoteJob<unknown>;
  if (code === ReplyCode.Touched) return;
  throw job.leaseError('touch', code, error);
};

/** @internal */
export const interpretStatsJob: Interpret<RemoteJobStats | undefined> = (code, _value, data, _context, error) => {
  if (code === ReplyCode.NotFound) return undefined;
  if (code !== ReplyCode.Ok || data === undefined) throw replyError(code, 'stats-job', error);
  return toJobStats(parseYamlMap(data));
};

/** @internal */
export function toJobStats(map: Map<string, string>): RemoteJobStats {
  const n = (key: string): number => Number(map.get(key) ?? 0);
  return {
    id: n('id'),
    tube: map.get('tube') ?? '',
    state: (map.get('state') ?? 'ready') as RemoteJobStats['state'],
    priority: n('pri'),
    age: n('age') * 1000,
    delay: n('delay') * 1000,
    ttr: n('ttr') * 1000,
    timeLeft: n('time-left') * 1000,
    reserves: n('reserves'),
    timeouts: n('timeouts'),
    releases: n('releases'),
    buries: n('buries'),
    kicks: n('kicks'),
  };
}

const rejectedNoop = (): void => {};

/**
 * One reservation of a job on the server (a lease): what `reserve()` returns, what
 * `jobs()` yields and what a `process()` handler gets, with the same members as the core
 * `ReservedJob` where the protocol allows. Settling it (`ack`, `release`, `fail`, `bury`)
 * ends the lease; after that, or once its connection dropped (the server then gives the
 * job to someone else), every method rejects with `LeaseExpiredError`.
 * @typeParam T - the payload type
 */
export class RemoteJob<T> {
  /** The server's job id (unique per server). */
  readonly id: number;
  /** @internal */ readonly host: JobHost<T>;
  /** @internal the handler's result, kept for the `'completed'` event */ result: unknown = undefined;
  private readonly body: Buffer;
  private value: T | undefined = undefined;
  private decoded = false;
  private settled = false;
  private controller: AbortController | undefined = undefined;
  /** @internal */ readonly consumer: Consumer;
  /** @internal */ readonly epoch: number;

  /** @internal */
  constructor(host: JobHost<T>, consumer: Consumer, id: number, body: Buffer) {
    this.host = host;
    this.consumer = consumer;
    this.epoch = consumer.conn.epoch;
    this.id = id;
    this.body = body;
  }

  /**
   * The payload, decoded on first read (a payload the codec rejects throws here, so a
   * `process()` handler fails that attempt rather than the client).
   */
  get data(): T {
    if (!this.decoded) {
      this.value = this.host.codec.decode(this.body);
      this.decoded = true;
    }
    return this.value as T;
  }

  /** The payload as received, before decoding. */
  get bytes(): Uint8Array {
    return this.body;
  }

  /** Whether this lease is still ours: not settled, and its connection has not dropped. */
  get isCurrent(): boolean {
    return !this.settled && this.consumer.conn.epoch === this.epoch && !this.consumer.conn.isDead;
  }

  /** Whether `ack`, `release`, `fail` or `bury` was called (or refused) on this lease. */
  get isSettled(): boolean {
    return this.settled;
  }

  /** Aborts when the lease is lost (the connection dropped) or the queue closes under it. */
  get signal(): AbortSignal {
    if (this.controller === undefined) {
      this.controller = new AbortController();
      if (this.isCurrent) this.consumer.watched.add(this as RemoteJob<unknown>);
      else this.controller.abort(new LeaseExpiredError(`job ${this.id}: lease lost`));
    }
    return this.controller.signal;
  }

  /** Deletes the job: done. */
  ack(_result?: unknown): Promise<void> {
    const refused = this.refuse('ack');
    if (refused !== undefined) return refused;
    this.settled = true;
    const conn = this.consumer.conn;
    conn.text('delete ').num(this.id).end();
    return handled(conn.expect(interpretDelete, this));
  }

  /**
   * @internal `ack` for `process()`: the outcome goes to `host.acked` / `host.ackFailed`
   * instead of a promise (the hot path: one job, no promise, no closure).
   */
  ackProcessed(result: unknown): void {
    if (!this.isCurrent) {
      const error = this.settled ? new LeaseExpiredError(`ack job ${this.id}: already settled`) : this.leaseError('ack', LOST, undefined);
      this.settled = true;
      this.host.ackFailed(this, error);
      return;
    }
    this.settled = true;
    this.result = result;
    const conn = this.consumer.conn;
    conn.text('delete ').num(this.id).end();
    conn.fire(interpretProcessedDelete, this);
  }

  /** Puts the job back, ready now or after `delay`. */
  release(options?: RemoteReleaseOptions): Promise<void> {
    let priority: number;
    let delay: number;
    try {
      priority = options?.priority === undefined ? this.host.priority : checkPriority('priority', options.priority);
      delay = options?.delay === undefined ? 0 : toSeconds(checkMs('delay', options.delay));
    } catch (error) {
      return rejected(error as Error);
    }
    const refused = this.refuse('release');
    if (refused !== undefined) return refused;
    this.settled = true;
    const conn = this.consumer.conn;
    conn.text('release ').num(this.id).text(' ').num(priority).text(' ').num(delay).end();
    return handled(conn.expect(interpretRelease, this));
  }

  /**
   * Buries the job (a dead letter, kept until kicked). The protocol carries no reason;
   * `reason` is accepted for symmetry with the core queue and not sent.
   */
  bury(_reason?: string, options?: { priority?: number }): Promise<void> {
    let priority: number;
    try {
      priority = options?.priority === undefined ? this.host.priority : checkPriority('priority', options.priority);
    } catch (error) {
      return rejected(error as Error);
    }
    const refused = this.refuse('bury');
    if (refused !== undefined) return refused;
    this.settled = true;
    const conn = this.consumer.conn;
    conn.text('bury ').num(this.id).text(' ').num(priority).end();
    return handled(conn.expect(interpretBury, this));
  }

  /**
   * One failed attempt, under the client's `retry` option: released after `retry.delay`
   * while the server has reserved the job fewer than `retry.attempts` times, else buried.
   * (A docket server also applies its own queue's retry policy to a release.)
   */
  async fail(_error?: unknown): Promise<void> {
    const { attempts, delay } = this.host.retry;
    if (attempts <= 1) return this.bury('failed');
    const refused = this.refuse('fail');
    if (refused !== undefined) return refused;
    const stats = await this.stats().catch((error: unknown) => {
      throw this.leaseError('fail', LOST, toError(error));
    });
    if (stats === undefined) throw this.leaseError('fail', ReplyCode.NotFound, undefined);
    if (stats.reserves >= attempts) return this.bury('failed');
    return this.release({ delay });
  }

  /** Renews the lease: the server restarts the job's ttr from now. */
  touch(): Promise<void> {
    const refused = this.refuse('touch');
    if (refused !== undefined) return refused;
    const conn = this.consumer.conn;
    conn.text('touch ').num(this.id).end();
    return handled(conn.expect(interpretTouch, this));
  }

  /** Reports progress: emitted locally as the queue's `'progress'` event (the protocol has no channel for it). */
  progress(value: unknown): void {
    this.host.emitProgress(this, value);
  }

  /** The server's record of this job (`stats-job`), or `undefined` once it is gone. */
  stats(): Promise<RemoteJobStats | undefined> {
    const conn = this.consumer.conn;
    conn.text('stats-job ').num(this.id).end();
    return conn.expect(interpretStatsJob);
  }

  /** @internal the lease ended (settled, refused or lost): stop counting it. */
  finish(): void {
    this.settled = true;
    if (this.consumer.conn.epoch !== this.epoch) return;
    this.consumer.held--;
    if (this.controller !== undefined) this.consumer.watched.delete(this as RemoteJob<unknown>);
  }

  /** @internal the connection dropped or the queue closed under this lease. */
  abort(reason: Error): void {
    this.controller?.abort(reason);
  }

  /** @internal */
  leaseError(operation: string, code: number, cause: Error | undefined): Error {
    if (code === ReplyCode.NotFound) {
      return new LeaseExpiredError(`${operation} job ${this.id}: the server no longer has it reserved for us (ttr ran out?)`);
    }
    if (code === LOST) {
      return new LeaseExpiredError(`${operation} job ${this.id}: the connection dropped, so the server gave the job back`, { cause });
    }
    return replyError(code, `${operation} job ${this.id}`, cause);
  }

  private refuse(operation: string): Promise<never> | undefined {
    if (this.settled) {
      return rejected(new LeaseExpiredError(`${operation} job ${this.id}: already settled`));
    }
    if (!this.isCurrent) {
      this.settled = true;
      return rejected(this.leaseError(operation, LOST, undefined));
    }
    return undefined;
  }
}

/**
 * Marks a promise handed to the caller as handled (as fastq does), so an ignored
 * `touch()` or `ack()` can never become an unhandled rejection; awaiting it still throws.
 */
function handled<P extends Promise<unknown>>(promise: P): P {
  promise.catch(rejectedNoop);
  return promise;
}

function rejected(error: Error): Promise<never> {
  const promise = Promise.reject(error);
  promise.catch(rejectedNoop);
  return promise;
}
