import { EventEmitter } from 'node:events';
import type { Codec } from '../../codec.js';
import { InvalidOptionError, InvalidStateError, LeaseExpiredError, QueueClosedError, toError } from '../../errors.js';
import { closeHandler } from '../../handler-close.js';
import { type AddOptions, refuseUnsupportedAddOptions } from '../../options.js';
import { ClientConnection, LOST, type ConnectionSettings } from './connection.js';
import { ConsumerPool } from './consumers.js';
import { RemoteTube } from './tube.js';
import type { DeadLetterActions, JobQueue } from '../../contract.js';
import { ConnectionError } from './errors.js';
import { interpretStatsJob, type JobHost, type RemoteJob, type RemoteJobStats } from './remote-job.js';
import {
  checkMs,
  checkPriority,
  MAX_U32,
  parseUrl,
  resolveOptions,
  toSeconds,
  ttrSeconds,
  type ConnectOptions,
  type ResolvedConnectOptions,
} from './options.js';
import {
  interpretFound,
  interpretKick,
  interpretPeek,
  interpretPut,
  interpretStatsTube,
  interpretTubeList,
  type AddedJob,
  type PeekedJob,
  type RemoteAddOptions,
  type RemoteHandler,
  type RemoteQueueEvents,
  type RemoteQueueStats,
} from './types.js';
import { ReplyCode } from './reply-parser.js';

export { ConnectionError, ProtocolError } from './errors.js';
export { RemoteJob } from './remote-job.js';
export type { RemoteJobStats, RemoteReleaseOptions } from './remote-job.js';
export type { ConnectOptions } from './options.js';
export type { ReconnectPolicy } from './connection.js';
export type { AddedJob, PeekedJob, RemoteAddOptions, RemoteHandler, RemoteQueueEvents, RemoteQueueStats } from './types.js';

const noop = (): void => {};

/** Core `add` options a `put` has no field for. */
const PROTOCOL_UNSUPPORTED: readonly (keyof AddOptions)[] = ['attempts', 'timeout', 'ttl', 'id', 'group'];
/**
 * A queue on a beanstalkd-protocol server (a docket `serve()` or a real beanstalkd),
 * with the producer/consumer members of the core `Queue<T>`: code written against one
 * runs against the other. Made by {@link connect}.
 *
 * Differences from the local queue: every member that asks the server is async
 * (`stats()`, `touch()`), times travel as whole seconds (rounded up), `onIdle` polls the
 * server, and dead letters can be redriven and purged but not listed.
 * @typeParam T - the payload type
 */
export class RemoteQueue<T = unknown> extends EventEmitter<RemoteQueueEvents<T>> implements JobQueue<T> {
  /** The tube. */
  readonly name: string;
  /** The tube's buried jobs: `redrive` kicks them, `purge` deletes them (the protocol cannot list them). */
  readonly deadLetters: DeadLetterActions;
  private readonly tube: RemoteTube;
  private readonly options: ResolvedConnectOptions<T>;
  private readonly codec: Codec<T>;
  private readonly producer: ClientConnection;
  private readonly pool: ConsumerPool<T>;
  private readonly defaultDelay: number;
  private readonly defaultTtr: number;
  private closing = false;
  private opened = false;
  private closed: Promise<void> | undefined;
  private failure: Error | undefined;
  private handler: RemoteHandler<T, unknown> | undefined;
  private target = 0;
  private slots = 0;
  private running = 0;
  private slotsDone: Array<() => void> = [];
  private readonly host: JobHost<T>;

  /** @internal use {@link connect} */
  constructor(options: ResolvedConnectOptions<T>) {
    super();
    this.options = options;
    this.name = options.tube;
    this.codec = options.codec;
    this.defaultDelay = toSeconds(options.delay);
    this.defaultTtr = ttrSeconds(options.ttr);
    const settings: ConnectionSettings = {
      host: options.host,
      port: options.port,
      connectTimeout: options.connectTimeout,
      reconnect: options.reconnect,
      maxReplyData: options.maxReplySize,
      tls: options.tls,
    };
    const isDefault = options.tube === 'default';
    const onDisconnect = (error: Error): void => {
      this.safeEmit('disconnected', error);
    };
    this.producer = new ClientConnection(settings, {
      setup: isDefault ? [] : [`use ${options.tube}`],
      onDrop: onDisconnect,
      onDead: (error) => {
        if (!this.closing) this.fatal(error);
      },
    });
    this.host = {
      codec: options.codec,
      priority: options.priority,
      retry: options.retry,
      emitProgress: (job, value) => {
        this.emit('progress', job, value);
      },
      acked: (job, result) => this.safeEmit('completed', job, result),
      ackFailed: (job, error) => this.settleFailed(job, error),
    };
    this.pool = new ConsumerPool<T>(settings, isDefault ? [] : [`watch ${options.tube}`, 'ignore default'], this.host, {
      onFatal: (error) => this.fatal(error),
      onDisconnect,
    });
    this.target = options.concurrency;
    this.tube = new RemoteTube(this.producer, this.name, () => this.closing);
    this.deadLetters = this.tube.deadLetters;
  }

  /** @internal */
  async start(): Promise<void> {
    try {
      await this.producer.start(false);
    } catch (error) {
      this.closing = true;
      this.closed = this.pool.close(false);
      throw error;
    }
    this.opened = true;
  }

  /** Whether `close()` was called (or the connection gave up for good). */
  get isClosed(): boolean {
    return this.closing;
  }

  /**
   * Whether the producer connection (the one `add`, `stats` and `peek` use) is up now. A
   * command sent while it is down waits for the reconnect; one already sent on a connection
   * that then drops rejects with `ConnectionError`.
   */
  get isConnected(): boolean {
    return this.producer.connected;
  }

  /** Handlers running now in `process()`. */
  get pending(): number {
    return this.running;
  }

  /** Handlers `process()` runs at once. Raising it starts slots at once; lowering it lets running handlers finish. */
  get concurrency(): number {
    return this.target;
  }

  set concurrency(value: number) {
    if (!Number.isInteger(value) || value < 1) {
      throw new InvalidOptionError(`Expected \`concurrency\` to be an integer >= 1, got \`${String(value)}\` (${typeof value})`);
    }
    this.target = value;
    if (this.handler !== undefined) this.spawnSlots();
  }

  // --- producer ---------------------------------------------------------------------

  /** Puts a job into the tube. Resolves with its id once the server has it. */
  add(data: T, options?: RemoteAddOptions): Promise<AddedJob<T>> {
    if (this.closing) return Promise.reject(this.closedError('add'));
    let priority = this.options.priority;
    let delay = this.defaultDelay;
    let ttr = this.defaultTtr;
    let delayMs = this.options.delay;
    let ttrMs = this.options.ttr;
    let body: Uint8Array;
    try {
      if (options !== undefined) {
        refuseUnsupportedAddOptions(options, PROTOCOL_UNSUPPORTED, 'the beanstalkd protocol');
        if (options.priority !== undefined) priority = checkPriority('priority', options.priority);
        if (options.delay !== undefined) delay = toSeconds((delayMs = checkMs('delay', options.delay)));
        if (options.ttr !== undefined) ttr = ttrSeconds((ttrMs = checkMs('ttr', options.ttr, 1)));
      }
      body = this.codec.encode(data);
    } catch (error) {
      return Promise.reject(toError(error));
    }
    const job: AddedJob<T> = { id: 0, data, priority, delay: delayMs, ttr: ttrMs, state: delay > 0 ? 'delayed' : 'ready' };
    const conn = this.producer;
    conn.text('put ').num(priority).text(' ').num(delay).text(' ').num(ttr).text(' ').num(body.length).end(body);
    return conn.expect(interpretPut, job) as Promise<AddedJob<T>>;
  }

  /**
   * The same as {@link RemoteQueue.add}, for code written against the core queue: a
   * remote `add` never waits for room either; a full server rejects it with
   * `QueueFullError`.
   */
  tryAdd(data: T, options?: RemoteAddOptions): Promise<AddedJob<T>> {
    return this.add(data, options);
  }

  /** Puts many jobs in one write (pipelined); resolves in the order given. */
  addBulk(items: ReadonlyArray<{ data: T; options?: RemoteAddOptions }>): Promise<AddedJob<T>[]> {
    const added = items.map((item) => this.add(item.data, item.options));
    // Every promise gets a handler: when one rejects, Promise.all reports it and the rest
    // must not surface as unhandled rejections.
    for (const promise of added) promise.catch(noop);
    return Promise.all(added);
  }

  // --- consumer ---------------------------------------------------------------------

  /**
   * Reserves one job: resolves with its lease, or `undefined` on timeout, abort or close.
   * `timeout` is in ms and travels as whole seconds, rounded up (`0` polls once).
   */
  reserve(options?: { timeout?: number; signal?: AbortSignal }): Promise<RemoteJob<T> | undefined> {
    if (this.failure !== undefined) return Promise.reject(this.failure);
    if (this.closing) return Promise.resolve(undefined);
    let timeout: number | undefined;
    try {
      timeout = options?.timeout === undefined ? undefined : checkMs('timeout', options.timeout);
    } catch (error) {
      return Promise.reject(error as Error);
    }
    return this.pool.reserve(timeout, options?.signal);
  }

  /** Reserved jobs, one after another, until the signal aborts or the queue closes. */
  async *jobs(options?: { signal?: AbortSignal }): AsyncGenerator<RemoteJob<T>, void, undefined> {
    const signal = options?.signal;
    while (!this.closing && signal?.aborted !== true) {
      const job = await this.reserve({ signal });
      if (job === undefined) return;
      yield job;
    }
  }

  /**
   * Runs `handler` for each job, at most `concurrency` at once: a result deletes the job,
   * a throw fails it (`retry` option). Handlers may also settle the job themselves.
   */
  process<R>(handler: RemoteHandler<T, R>, options?: { concurrency?: number }): void {
    if (this.closing) throw this.closedError('process');
    if (this.handler !== undefined) throw new InvalidStateError('process() was already called on this queue');
    if (options?.concurrency !== undefined) this.concurrency = options.concurrency;
    this.handler = handler as RemoteHandler<T, unknown>;
    this.spawnSlots();
  }

  // --- inspection -------------------------------------------------------------------

  /** The tube's counts from the server (`stats-tube`); all zero if the tube does not exist yet. */
  async stats(): Promise<RemoteQueueStats> {
    if (this.failure !== undefined) throw this.failure;
    const conn = this.producer;
    conn.text('stats-tube ').text(this.name).end();
    const map = await conn.expect(interpretStatsTube);
    const n = (key: string): number => Number(map?.get(key) ?? 0);
    return {
      name: this.name,
      ready: n('current-jobs-ready'),
      urgent: n('current-jobs-urgent'),
      delayed: n('current-jobs-delayed'),
      reserved: n('current-jobs-reserved'),
      buried: n('current-jobs-buried'),
      added: n('total-jobs'),
      using: n('current-using'),
      watching: n('current-watching'),
      waitingConsumers: n('current-waiting'),
      pausedFor: n('pause-time-left') * 1000,
    };
  }

  /** A job by id, in any state and any tube, without reserving it. */
  peek(id: number): Promise<PeekedJob<T> | undefined> {
    const bad = checkId(id);
    return bad ?? this.peekWith(`peek ${id}`);
  }

  /** Every tube the server has (`list-tubes`), this one or not. */
  listTubes(): Promise<string[]> {
    const conn = this.producer;
    conn.text('list-tubes').end();
    return conn.expect(interpretTubeList);
  }

  /** The server's record of a job by id (`stats-job`), or `undefined` if there is none. */
  jobStats(id: number): Promise<RemoteJobStats | undefined> {
    const bad = checkId(id);
    if (bad !== undefined) return bad;
    const conn = this.producer;
    conn.text('stats-job ').num(id).end();
    return conn.expect(interpretStatsJob);
  }

  /** The next ready job of the tube (lowest priority, then oldest). */
  peekReady(): Promise<PeekedJob<T> | undefined> {
    return this.peekWith('peek-ready');
  }

  /** The delayed job of the tube that is due first. */
  peekDelayed(): Promise<PeekedJob<T> | undefined> {
    return this.peekWith('peek-delayed');
  }

  /** The oldest buried job of the tube. */
  peekBuried(): Promise<PeekedJob<T> | undefined> {
    return this.peekWith('peek-buried');
  }

  /** Kicks up to `bound` jobs of the tube back to ready: buried ones if any, else delayed ones. */
  kick(bound: number): Promise<number> {
    if (!Number.isInteger(bound) || bound < 0) return Promise.reject(new InvalidOptionError(`Expected \`bound\` to be an integer >= 0, got \`${bound}\``));
    const conn = this.producer;
    conn.text('kick ').num(Math.min(bound, MAX_U32)).end();
    return conn.expect(interpretKick);
  }

  /** Kicks one buried or delayed job to ready; false if it is in neither state. */
  kickJob(id: number): Promise<boolean> {
    const bad = checkId(id);
    if (bad !== undefined) return bad;
    const conn = this.producer;
    conn.text('kick-job ').num(id).end();
    return conn.expect(interpretFound, ReplyCode.Kicked);
  }

  /** Deletes a ready, delayed or buried job; false if absent or reserved by another client. */
  remove(id: number): Promise<boolean> {
    const bad = checkId(id);
    if (bad !== undefined) return bad;
    const conn = this.producer;
    conn.text('delete ').num(id).end();
    return conn.expect(interpretFound, ReplyCode.Deleted);
  }

  /** Pauses the tube on the server (`pause-tube`) for every consumer, until `resume()`. */
  pause(): Promise<void> {
    return this.tube.pause();
  }

  /** Ends a `pause()` (`pause-tube` with no delay). */
  resume(): Promise<void> {
    return this.tube.resume();
  }

  /** Resolves when the tube has nothing ready, delayed or reserved; the client asks the server every 50 ms meanwhile. */
  onIdle(): Promise<void> {
    return this.tube.onIdle();
  }

  // --- lifecycle --------------------------------------------------------------------

  /**
   * Stops taking jobs, waits up to `timeout` ms for running handlers (their acks
   * included) and for every sent command to be answered, then closes the connections.
   * Leases still held after that are lost: the server gives those jobs back at once,
   * without counting an attempt.
   */
  close(options?: { timeout?: number }): Promise<void> {
    if (this.closed !== undefined) return this.closed;
    const timeout = options?.timeout ?? 10_000;
    this.closing = true;
    this.closed = this.shutdown(timeout);
    return this.closed;
  }

  private async shutdown(timeout: number): Promise<void> {
    this.pool.stop();
    let timer: ReturnType<typeof setTimeout> | undefined;
    const expired = new Promise<boolean>((resolve) => {
      timer = setTimeout(() => resolve(false), Math.min(timeout, 2 ** 31 - 1));
    });
    const slotsDone = new Promise<boolean>((resolve) => {
      if (this.slots === 0) resolve(true);
      else this.slotsDone.push(() => resolve(true));
    });
    const graceful = await Promise.race([slotsDone, expired]);
    const drained = graceful && (await Promise.race([Promise.all([this.pool.close(true), this.producer.close()]).then(() => true), expired]));
    clearTimeout(timer);
    if (!drained) {
      await this.pool.close(false);
      this.producer.destroy(new ConnectionError('queue closed'));
    }
    // A handler with resources of its own (a threads() pool) closes with the queue.
    await closeHandler(this.handler);
  }

  // --- internals --------------------------------------------------------------------

  private spawnSlots(): void {
    while (this.slots < this.target && !this.closing) {
      this.slots++;
      void this.runSlot();
    }
  }

  private async runSlot(): Promise<void> {
    const handler = this.handler as RemoteHandler<T, unknown>;
    try {
      while (!this.closing && this.slots <= this.target) {
        let job: RemoteJob<T> | undefined;
        try {
          job = await this.pool.next();
        } catch (error) {
          if (this.closing) break;
          // A dropped connection is retried by the pool; anything else is news, and a
          // short pause keeps a misbehaving server from spinning this loop.
          if (!(error instanceof ConnectionError)) {
            this.report(toError(error));
            await pause(100);
          }
          continue;
        }
        if (job === undefined) break;
        this.running++;
        let result: unknown;
        let failure: Error | undefined;
        try {
          result = await handler(job, job);
        } catch (error) {
          failure = toError(error);
        }
        this.running--;
        this.settle(job, result, failure);
      }
    } finally {
      this.slots--;
      if (this.slots === 0) {
        const waiters = this.slotsDone;
        this.slotsDone = [];
        for (const waiter of waiters) waiter();
      }
    }
  }

  private settle(job: RemoteJob<T>, result: unknown, failure: Error | undefined): void {
    if (!job.isCurrent) {
      // Settled by the handler itself (nothing to do), or lost under it.
      if (!job.isSettled) this.safeEmit('lost', job, job.leaseError('process', LOST, undefined));
      return;
    }
    if (failure === undefined) {
      job.ackProcessed(result);
    } else {
      job.fail(failure).then(
        () => this.safeEmit('failed', job, failure),
        (error: unknown) => this.settleFailed(job, error),
      );
    }
  }

  private settleFailed(job: RemoteJob<T>, error: unknown): void {
    if (error instanceof LeaseExpiredError) this.safeEmit('lost', job, error);
    else this.report(toError(error));
  }

  /** Emits from inside the client's own promise chains: a throwing listener must not become an unhandled rejection. */
  private safeEmit<K extends 'completed' | 'failed' | 'lost' | 'disconnected'>(event: K, ...rest: RemoteQueueEvents<T>[K]): void {
    try {
      (this.emit as (event: string, ...values: unknown[]) => boolean)(event, ...rest);
    } catch (error) {
      this.report(toError(error));
    }
  }

  private peekWith(command: string): Promise<PeekedJob<T> | undefined> {
    const conn = this.producer;
    conn.text(command).end();
    return conn.expect(interpretPeek).then((found) => (found === undefined ? undefined : { id: found.id, data: this.codec.decode(found.bytes) }));
  }

  private fatal(error: Error): void {
    // Before the first connection, connect() itself rejects: nothing more to say.
    if (this.failure !== undefined || this.closing || !this.opened) return;
    this.failure = error;
    this.report(error);
    void this.close({ timeout: 0 });
  }

  /** A failure with no other channel: the `'error'` event, or a process warning when nobody listens. */
  private report(error: Error): void {
    if (this.listenerCount('error') > 0) this.emit('error', error);
    else process.emitWarning(error, { code: 'DOCKET_SOCKET_CLIENT' });
  }

  private closedError(operation: string): Error {
    return this.failure ?? new QueueClosedError(`${operation}: the remote queue ${this.name} is closed`);
  }
}

/** A rejected promise for an id that is not a job id, else undefined. */
function checkId(id: number): Promise<never> | undefined {
  if (Number.isSafeInteger(id) && id >= 1) return undefined;
  return Promise.reject(new InvalidOptionError(`Expected \`id\` to be a positive integer, got \`${String(id)}\``));
}

function pause(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms).unref());
}

/**
 * Connects to a beanstalkd-protocol server (a docket `serve()` or a real beanstalkd) and
 * returns a {@link RemoteQueue} on one tube. Resolves once the first connection is up;
 * rejects with {@link ConnectionError} if it cannot be made (later drops reconnect).
 *
 * @param url - `beanstalk://host:port/tube` (every part optional, e.g. `beanstalk://10.0.0.5`),
 *   or the options object itself
 * @example
 * ```ts
 * const q = await connect<{ to: string }>('beanstalk://127.0.0.1:11300/mail');
 * await q.add({ to: 'ada@example.com' }, { priority: 10, delay: 5_000 });
 * q.process(async (job) => sendMail(job.data.to), { concurrency: 8 });
 * ```
 */
export async function connect<T = unknown>(url?: string | ConnectOptions<T>, options?: ConnectOptions<T>): Promise<RemoteQueue<T>> {
  const merged: ConnectOptions<T> = typeof url === 'string' ? { ...options, ...parseUrl(url) } : { ...url, ...options };
  const queue = new RemoteQueue<T>(resolveOptions(merged));
  await queue.start();
  return queue;
}
