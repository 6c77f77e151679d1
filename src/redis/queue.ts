import { EventEmitter } from 'node:events';
import type { DeadLetterActions, JobHandler, JobQueue, JobReserveOptions } from '../contract.js';
import { InvalidOptionError, InvalidStateError, LeaseExpiredError, QueueClosedError, toError, UnrecoverableError } from '../errors.js';
import { closeHandler } from '../handler-close.js';
import { checkDuration, checkInteger, checkPriority } from '../options.js';
import { nextDelay } from '../retry.js';
import type { DeadReason } from '../lifecycle.js';
import type { RedisChannel } from './connection.js';
import type { PendingAck } from './acks.js';
import { Consumer, type TakeResult } from './consumer.js';
import { RedisJob, type RedisLeaseHost, type RedisReleaseOptions } from './job.js';
import { queueKeys, type QueueKeys } from './keys.js';
import { checkMs, checkRedisConcurrency, jobFields, type RedisAddOptions, type ResolvedRedisOptions } from './options.js';
import { parseCompleted, parseJob, parseStats, type CompletedJob, type RedisJobInfo, type RedisQueueStats } from './replies.js';
import { SCRIPTS } from './scripts/index.js';
import { RedisDeadLetters } from './dead-letters.js';

type Argument = string | Buffer;

/** What `add` resolves to. */
export interface AddedRedisJob<T> {
  /** The job's id in its queue. */
  id: number;
  /** The payload given to this `add`. */
  data: T;
  /** A live job with the same dedupe `id` was there already: `id` is that job's, and nothing was added. */
  duplicate: boolean;
}

/** Events of one {@link RedisQueue} object: what this process did. Other processes' events: {@link RedisQueueEvents}. */
export interface RedisQueueLocalEvents<T> {
  /** A job this process ran (or acked) was completed. */
  completed: [job: RedisJob<T>, result: unknown];
  /** An attempt of this process failed. */
  failed: [job: RedisJob<T>, error: Error];
  /** ...and will run again after `delay` ms. */
  retrying: [job: RedisJob<T>, error: Error, delay: number];
  /** ...and its job is now a dead letter. */
  dead: [job: RedisJob<T>, reason: DeadReason];
  progress: [job: RedisJob<T>, value: unknown];
  /**
   * A `process()` job whose ack could not be confirmed (the connection dropped on the
   * way): it may have been completed; if not, its lease runs out and it runs again.
   */
  lost: [job: RedisJob<T>, error: Error];
  /** A connection to Redis reported a failure; node-redis reconnects on its own. */
  disconnected: [error: Error];
  /** A failure with no other channel. Without a listener it becomes a process warning. */
  error: [error: Error];
}

interface PendingAdd<T> {
  fields: Argument[];
  data: T;
  resolve(job: AddedRedisJob<T>): void;
  reject(error: Error): void;
}

/** Adds per script call at most (the rest go in the next call of the same flush). */
const ADD_CHUNK = 500;
/** How often `onIdle` asks Redis (nothing notifies "idle"). */
const IDLE_POLL_MS = 50;

/** How the queue reaches Redis; made by {@link openRedisQueue}. @internal */
export interface RedisQueueWiring {
  channel: RedisChannel;
  /** Closes what docket opened itself (a client made from a URL); a given client stays open. */
  closeOwned(): Promise<void>;
  /** Cuts what docket opened itself, if still open. */
  destroyOwned(): void;
}

/**
 * The queue contract on Redis: the state of the queue lives in Redis, and every process
 * that opens a queue of the same name on the same Redis shares it. Every state change is
 * one atomic script. Made by {@link openRedisQueue}.
 * @typeParam T - the payload type
 */
export class RedisQueue<T = unknown> extends EventEmitter<RedisQueueLocalEvents<T>> implements JobQueue<T> {
  readonly name: string;
  /** Dead letters: list, redrive, purge. */
  readonly deadLetters: RedisDeadLetters<T> & DeadLetterActions;
  private readonly keys: QueueKeys;
  private readonly common: readonly string[];
  private readonly consumer: Consumer<T>;
  private readonly host: RedisLeaseHost<T>;
  private pendingAdds: PendingAdd<T>[] = [];
  private addsQueued = false;
  private blocker: Promise<RedisChannel> | undefined = undefined;
  private closed: Promise<void> | undefined = undefined;

  /** @internal use {@link openRedisQueue} */
  constructor(
    private readonly opts: ResolvedRedisOptions<T>,
    private readonly wiring: RedisQueueWiring,
  ) {
    super();
    this.name = opts.name;
    this.keys = queueKeys(opts.prefix, opts.name);
    this.common = [this.keys.job, String(opts.eventsMaxLength), String(opts.keepCompleted)];
    this.host = {
      codec: opts.codec,
      ack: (job, result) => this.ackJob(job, result),
      release: (job, options) => this.releaseJob(job, options),
      fail: (job, error) => this.failJob(job, toError(error), false),
      bury: (job, reason, priority) => this.buryJob(job, reason, priority),
      touch: (job) => this.touchJob(job),
      progress: (job, value) => {
        if (job.isCurrent) this.emit('progress', job, value);
      },
    };
    this.consumer = new Consumer<T>(
      {
        wakeKey: this.keys.wake,
        timeout: opts.timeout,
        take: (acks, want) => this.take(acks, want),
        renew: (jobs) => this.renew(jobs),
        failed: (job, error, timedOut) => this.failJob(job, error, timedOut).catch((failure: unknown) => this.reportLost(failure)),
        completed: (job, result) => this.emit('completed', job, result),
        lost: (job, error) => this.emit('lost', job, error),
        giveBack: (job) => this.releaseJob(job, { countAttempt: false }).catch((failure: unknown) => this.reportLost(failure)),
        blockingChannel: () => (this.blocker ??= this.wiring.channel.duplicate((error) => this.emit('disconnected', error))),
        commandChannel: () => this.wiring.channel,
        report: (error) => this.report(error),
      },
      opts.concurrency,
    );
    this.deadLetters = new RedisDeadLetters<T>(
      (args) => this.run(SCRIPTS.manage, args),
      (args) => this.run(SCRIPTS.inspect, args),
      opts.codec,
    );
  }

  get isClosed(): boolean {
    return this.closed !== undefined;
  }

  /** Handlers `process()` runs at once in this process. */
  get concurrency(): number {
    return this.consumer.concurrency;
  }
  set concurrency(value: number) {
    this.consumer.concurrency = checkRedisConcurrency(value);
    this.consumer.start();
  }

  /** Handlers running now in this process. */
  get pending(): number {
    return this.consumer.running;
  }

  // ── producers ──────────────────────────────────────────────────────────

  /**
   * Adds a job; resolves once Redis has it. Adds made in the same tick go to Redis in one
   * script call. A dedupe `id` still in the queue resolves the job already there.
   */
  add(data: T, options?: RedisAddOptions): Promise<AddedRedisJob<T>> {
    if (this.closed !== undefined) return Promise.reject(new QueueClosedError(`add: the queue ${this.name} is closed`));
    let fields: Argument[];
    try {
      fields = jobFields(data, options, this.opts);
    } catch (error) {
      return Promise.reject(toError(error));
    }
    return new Promise((resolve, reject) => this.enqueueAdd({ fields, data, resolve, reject }));
  }

  /** Adds many jobs; every option is checked before any job is sent. Resolves in the order given. */
  addBulk(items: ReadonlyArray<{ data: T; options?: RedisAddOptions }>): Promise<AddedRedisJob<T>[]> {
    if (!Array.isArray(items)) return Promise.reject(new InvalidOptionError(`Expected \`items\` to be an array, got \`${String(items)}\``));
    if (this.closed !== undefined) return Promise.reject(new QueueClosedError(`addBulk: the queue ${this.name} is closed`));
    let all: Argument[][];
    try {
      all = items.map((item) => jobFields(item.data, item.options, this.opts));
    } catch (error) {
      return Promise.reject(toError(error));
    }
    return Promise.all(
      all.map(
        (fields, i) => new Promise<AddedRedisJob<T>>((resolve, reject) => this.enqueueAdd({ fields, data: (items[i] as { data: T }).data, resolve, reject })),
      ),
    );
  }

  // ── consumers ──────────────────────────────────────────────────────────

  /**
   * Runs `handler` for each job, up to `concurrency` at once in this process; its leases
   * are renewed while it runs. Returning acks the job; throwing fails the attempt.
   */
  process<R>(handler: JobHandler<T, R>, options: { concurrency?: number } = {}): void {
    if (typeof handler !== 'function') throw new InvalidOptionError(`Expected \`handler\` to be a function, got \`${String(handler)}\``);
    if (this.consumer.handler !== undefined) throw new InvalidStateError(`queue ${this.name} already has a handler in this process`);
    if (this.closed !== undefined) throw new QueueClosedError(`process: the queue ${this.name} is closed`);
    if (options.concurrency !== undefined) this.consumer.concurrency = checkRedisConcurrency(options.concurrency);
    this.consumer.handler = handler as JobHandler<T, unknown>;
    this.consumer.start();
  }

  /** Leases the next job, waiting up to `timeout` ms (`0`: one look); `undefined` on timeout, abort or close. */
  reserve(options: JobReserveOptions = {}): Promise<RedisJob<T> | undefined> {
    let timeout: number;
    try {
      timeout = checkDuration('timeout', options.timeout ?? Infinity);
    } catch (error) {
      return Promise.reject(error);
    }
    if (this.closed !== undefined || options.signal?.aborted === true) return Promise.resolve(undefined);
    return this.consumer.reserve(timeout, options.signal);
  }

  /** Leased jobs one after another, until the signal aborts or the queue closes. Ack each. */
  async *jobs(options: { signal?: AbortSignal } = {}): AsyncGenerator<RedisJob<T>, void, undefined> {
    for (;;) {
      const job = await this.reserve({ signal: options.signal });
      if (job === undefined) return;
      yield job;
    }
  }

  // ── management ─────────────────────────────────────────────────────────

  /**
   * Stops the hand-out of jobs to every consumer of this queue, in every process, until
   * `resume()`. The jobs this object prefetched go back to the queue, uncounted, before it resolves.
   */
  async pause(): Promise<void> {
    this.consumer.pauseStarted();
    let paused = false;
    try {
      await this.run(SCRIPTS.manage, ['pause']);
      paused = true;
    } finally {
      // Jobs this object prefetched go back, so that they do not start while paused.
      await this.consumer.pauseEnded(paused);
    }
  }
  async resume(): Promise<void> {
    await this.run(SCRIPTS.manage, ['resume']);
    this.consumer.resumed();
  }

  /** Resolves when nothing is ready, delayed or reserved (asking Redis every 50 ms meanwhile). */
  async onIdle(): Promise<void> {
    for (;;) {
      if (this.closed !== undefined) throw new QueueClosedError(`onIdle: the queue ${this.name} is closed`);
      const stats = await this.stats();
      if (stats.ready + stats.delayed + stats.reserved === 0) return;
      await new Promise((resolve) => setTimeout(resolve, IDLE_POLL_MS));
    }
  }

  async stats(): Promise<RedisQueueStats> {
    return parseStats(this.name, await this.run(SCRIPTS.inspect, ['stats']));
  }

  /** The job with this id, in any state, with every field and every attempt's error. */
  async peek(id: number): Promise<RedisJobInfo<T> | undefined> {
    return parseJob(await this.run(SCRIPTS.inspect, ['peek', String(checkId(id))]), this.opts.codec);
  }
  async peekReady(): Promise<RedisJobInfo<T> | undefined> {
    return parseJob(await this.run(SCRIPTS.inspect, ['peekready']), this.opts.codec);
  }
  async peekDelayed(): Promise<RedisJobInfo<T> | undefined> {
    return parseJob(await this.run(SCRIPTS.inspect, ['peekdelayed']), this.opts.codec);
  }
  async peekBuried(): Promise<RedisJobInfo<T> | undefined> {
    return parseJob(await this.run(SCRIPTS.inspect, ['peekburied']), this.opts.codec);
  }

  /** The last completed jobs, newest first (only with `keepCompleted`). */
  async completed(limit = this.opts.keepCompleted): Promise<CompletedJob<T>[]> {
    if (limit === 0) return [];
    const replies = (await this.run(SCRIPTS.inspect, ['done', String(checkInteger('limit', limit, 1, 2 ** 31 - 1))])) as unknown[];
    return replies.map((reply) => parseCompleted(reply, this.opts.codec));
  }

  /** Moves up to `bound` buried jobs (oldest first), or if none, delayed ones (soonest first), to ready. */
  async kick(bound: number): Promise<number> {
    return Number(await this.run(SCRIPTS.manage, ['kick', String(checkInteger('bound', bound, 0, 2 ** 31 - 1))]));
  }
  async kickJob(id: number): Promise<boolean> {
    return (await this.run(SCRIPTS.manage, ['kickjob', String(checkId(id))])) === 1;
  }
  /** Deletes a ready, delayed or buried job; `false` if absent or reserved. */
  async remove(id: number): Promise<boolean> {
    return (await this.run(SCRIPTS.manage, ['remove', String(checkId(id))])) === 1;
  }

  /**
   * Stops taking jobs, gives prefetched jobs back at once, waits up to `timeout` ms for
   * running handlers (their acks included), gives the leases still held back (uncounted),
   * then closes the connections docket opened. A client you passed in stays open.
   */
  close(options: { timeout?: number } = {}): Promise<void> {
    this.closed ??= this.shutDown(checkDuration('timeout', options.timeout ?? 10_000));
    return this.closed;
  }

  // ── internals ──────────────────────────────────────────────────────────

  private run(script: (typeof SCRIPTS)[keyof typeof SCRIPTS], args: readonly Argument[]): Promise<unknown> {
    return this.wiring.channel.run(script, this.keys.all, [...this.common, ...args]);
  }

  private enqueueAdd(add: PendingAdd<T>): void {
    this.pendingAdds.push(add);
    if (this.addsQueued) return;
    this.addsQueued = true;
    // Adds made in one synchronous stretch share one script call.
    queueMicrotask(() => {
      this.addsQueued = false;
      const batch = this.pendingAdds;
      this.pendingAdds = [];
      for (let at = 0; at < batch.length; at += ADD_CHUNK) void this.sendAdds(batch.slice(at, at + ADD_CHUNK));
    });
  }

  private async sendAdds(batch: PendingAdd<T>[]): Promise<void> {
    const args: Argument[] = [String(batch.length)];
    for (const add of batch) args.push(...add.fields);
    let reply: unknown[];
    try {
      reply = (await this.run(SCRIPTS.add, args)) as unknown[];
    } catch (error) {
      for (const add of batch) add.reject(toError(error));
      return;
    }
    for (let i = 0; i < batch.length; i++) {
      const add = batch[i] as PendingAdd<T>;
      add.resolve({ id: Number(reply[2 * i]), data: add.data, duplicate: reply[2 * i + 1] === 1 });
    }
  }

  private async take(acks: readonly PendingAck<T>[], want: number): Promise<TakeResult<T>> {
    const args: Argument[] = [String(acks.length)];
    for (const { job, result } of acks) args.push(String(job.id), String(job.token), this.opts.keepCompleted > 0 ? resultText(result) : '');
    args.push(String(want), '0');
    const reply = (await this.run(SCRIPTS.take, args)) as unknown[];
    const statuses = String(reply[0]);
    const acked: boolean[] = [];
    for (let i = 0; i < acks.length; i++) acked.push(statuses[i] === '1');
    const jobs: RedisJob<T>[] = [];
    const now = Date.now();
    for (let at = 3; at + 5 < reply.length; at += 6) {
      jobs.push(
        new RedisJob<T>(
          this.host,
          Number(reply[at]),
          Number(reply[at + 1]),
          Number(reply[at + 2]),
          Number(reply[at + 3]),
          Number(reply[at + 4]),
          reply[at + 5] as Buffer,
          now,
        ),
      );
    }
    return { acked, jobs, wait: Number(reply[2]), paused: Number(reply[1]) === 1 };
  }

  private async renew(jobs: readonly RedisJob<T>[]): Promise<RedisJob<T>[]> {
    const args: Argument[] = [String(jobs.length)];
    for (const job of jobs) args.push(String(job.id), String(job.token));
    const now = Date.now();
    const statuses = String(await this.run(SCRIPTS.touch, args));
    const lost: RedisJob<T>[] = [];
    jobs.forEach((job, i) => {
      if (statuses[i] === '1') job.deadline = now + job.ttr;
      else lost.push(job);
    });
    return lost;
  }

  /** Marks a lease settled by this call, or says why it cannot be. */
  private claim(job: RedisJob<T>, operation: string): LeaseExpiredError | undefined {
    if (job.settled) return new LeaseExpiredError(`${operation} job ${job.id}: the lease has ended (already settled)`);
    job.settled = true;
    return undefined;
  }

  private ackJob(job: RedisJob<T>, result: unknown): Promise<void> {
    const refused = this.claim(job, 'ack');
    if (refused !== undefined) return Promise.reject(refused);
    return new Promise((resolve, reject) =>
      this.consumer.ack(job, result, (error) => {
        if (error !== undefined) return reject(error);
        this.emit('completed', job, result);
        resolve();
      }),
    );
  }

  private async releaseJob(job: RedisJob<T>, options: RedisReleaseOptions | undefined): Promise<void> {
    const delay = options?.delay === undefined ? 0 : checkMs('delay', options.delay);
    const priority = options?.priority === undefined ? '' : String(checkPriority('priority', options.priority));
    const refused = this.claim(job, 'release');
    if (refused !== undefined) throw refused;
    const counted = options?.countAttempt === false ? '0' : '1';
    const outcome = await this.run(SCRIPTS.release, [String(job.id), String(job.token), String(delay), priority, counted]);
    if (outcome === 0) throw expired('release', job);
    if (outcome === 2) this.emit('dead', job, 'released');
  }

  private async failJob(job: RedisJob<T>, error: Error, timedOut: boolean): Promise<void> {
    const refused = this.claim(job, 'fail');
    if (refused !== undefined) throw refused;
    let retryable = !(error instanceof UnrecoverableError);
    if (retryable && this.opts.retryIf !== undefined) {
      try {
        retryable = this.opts.retryIf(error, job);
      } catch (thrown) {
        this.report(toError(thrown));
        retryable = false;
      }
    }
    const delay = retryable ? Math.ceil(nextDelay(job.attemptsMade, this.opts.backoff, error, Math.random)) : -1;
    const code = (error as { code?: unknown }).code;
    const record = JSON.stringify({
      attempt: job.attemptsMade,
      name: error.name,
      message: error.message,
      ...(error.stack === undefined ? {} : { stack: error.stack }),
      ...(typeof code === 'string' ? { code } : {}),
      at: Date.now(),
    });
    const outcome = await this.run(SCRIPTS.fail, [String(job.id), String(job.token), record, String(delay), timedOut ? 'timeout' : 'failed', error.message]);
    if (outcome === 0) throw expired('fail', job);
    this.emit('failed', job, error);
    if (outcome === 1) this.emit('retrying', job, error, delay);
    else this.emit('dead', job, delay < 0 ? 'unrecoverable' : timedOut ? 'timeout' : 'failed');
  }

  private async buryJob(job: RedisJob<T>, reason: string | undefined, priority: number | undefined): Promise<void> {
    const pri = priority === undefined ? '' : String(checkPriority('priority', priority));
    const refused = this.claim(job, 'bury');
    if (refused !== undefined) throw refused;
    const outcome = await this.run(SCRIPTS.bury, [String(job.id), String(job.token), reason ?? '', pri]);
    if (outcome === 0) throw expired('bury', job);
    this.emit('dead', job, 'manual');
  }

  private async touchJob(job: RedisJob<T>): Promise<void> {
    if (job.settled) throw new LeaseExpiredError(`touch job ${job.id}: the lease has ended (already settled)`);
    const lost = await this.renew([job]);
    if (lost.length > 0) throw expired('touch', job);
  }

  private reportLost(error: unknown): void {
    // A lease that ran out under a failing handler is no news: the job was reclaimed.
    if (!(error instanceof LeaseExpiredError)) this.report(toError(error));
  }

  private report(error: Error): void {
    if (this.listenerCount('error') > 0) this.emit('error', error);
    else process.emitWarning(error, { code: 'DOCKET_REDIS' });
  }

  private async shutDown(timeout: number): Promise<void> {
    const deadline = Date.now() + Math.min(timeout, 2 ** 31 - 1);
    // Every step is bounded by what is left of `timeout`: with Redis gone, nothing answers.
    const within = async (work: Promise<unknown>): Promise<void> => {
      let timer: ReturnType<typeof setTimeout> | undefined;
      await Promise.race([work.catch(() => undefined), new Promise((resolve) => (timer = setTimeout(resolve, Math.max(0, deadline - Date.now()))))]);
      clearTimeout(timer);
    };
    const stopping = this.consumer.stop();
    await within(this.consumer.whenSettled());
    this.consumer.stopRenewing();
    const given: Promise<unknown>[] = [];
    for (const job of this.consumer.heldJobs()) {
      job.abort(new QueueClosedError(`queue ${this.name} closed`));
      if (!job.settled) given.push(this.releaseJob(job, { countAttempt: false }));
    }
    await within(Promise.all(given));
    // A handler with resources of its own (a threads() pool) closes with the queue.
    await within(closeHandler(this.consumer.handler));
    if (this.blocker !== undefined) {
      const blocker = await this.blocker.catch(() => undefined);
      blocker?.target.destroy();
    }
    await within(stopping);
    await within(this.wiring.closeOwned());
    // Whatever did not finish in time is cut: the process must be free to exit.
    this.wiring.destroyOwned();
  }
}

function checkId(id: number): number {
  if (!Number.isSafeInteger(id) || id < 1) throw new InvalidOptionError(`Expected \`id\` to be a positive integer, got \`${String(id)}\``);
  return id;
}

function expired(operation: string, job: RedisJob<unknown>): LeaseExpiredError {
  return new LeaseExpiredError(`${operation} job ${job.id}: the lease ran out before this call; the job was (or will be) given to another worker`);
}

/** A result as JSON for the retained completed jobs; '' when it has none. */
function resultText(result: unknown): string {
  try {
    return JSON.stringify(result) ?? '';
  } catch {
    return '';
  }
}
