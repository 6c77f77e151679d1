import { EventEmitter } from 'node:events';
import { DeadLetters } from './dead-letter.js';
import { InvalidOptionError, InvalidStateError, JobNotFoundError, QueueClosedError, QueueFullError, StoreFailedError, toError } from './errors.js';
import type { JobQueue } from './contract.js';
import type { QueueEvents } from './events.js';
import type { Job, JobSnapshot } from './job.js';
import { JobTable } from './job-table.js';
import { JobFactory } from './job-factory.js';
import { JobRecord, reserveIdsThrough } from './job.js';
import type { AddOptions, CloseOptions, QueueOptions, ReserveOptions, ResolvedQueueOptions } from './options.js';
import { checkAddOptions, checkDuration, checkGroup, checkInteger, checkPriority, resolveOptions } from './options.js';
import type { GroupStats } from './group-dispatch.js';
import type { ReservedJob } from './reserved-job.js';
import type { JobState } from './lifecycle.js';
import { Admission } from './admission.js';
import { Conditions } from './conditions.js';
import { Outcomes } from './outcomes.js';
import { QueueCounters, type QueueStats } from './queue-stats.js';
import { ReserveWaiters } from './reserve-waiters.js';
import type { Handler } from './handler-slots.js';
import { Dispatch } from './dispatch.js';
import { closeHandler } from './handler-close.js';
import { Attempts } from './attempts.js';
import { type ScheduleInfo, type ScheduleOptions, Schedules } from './schedules.js';
import { type CronRuleFactory, SCHEDULE_KEY_PREFIX, type ScheduleRule } from './schedule-slots.js';

/**
 * A typed job queue living in this process: priorities (lower first, FIFO among equals),
 * delays, leases, retries with backoff, dead letters, bounded size, events.
 *
 * @typeParam T - the payload type
 * @example
 * ```ts
 * const q = new Queue<{ to: string }>({ concurrency: 4, retry: { attempts: 3 } });
 * q.process(async (job) => sendMail(job.data.to));
 * await q.add({ to: 'ada@example.com' }, { priority: 10 });
 * await q.onIdle();
 * ```
 */
export class Queue<T = unknown> extends EventEmitter<QueueEvents<T>> implements JobQueue<T> {
  /** Dead letters: list, redrive, purge. */
  readonly deadLetters: DeadLetters<T>;

  private readonly opts: ResolvedQueueOptions<T>;
  private readonly newJobs: JobFactory<T>;
  private readonly table: JobTable<T>;
  private readonly attempts: Attempts<T>;

  private readonly dispatch: Dispatch<T>;
  private paused = false;
  private closing = false;
  private closePromise: Promise<void> | undefined = undefined;
  private failure: Error | undefined = undefined;
  private busy = false;

  private readonly admission: Admission<T>;
  private readonly waiters: ReserveWaiters<ReservedJob<T>>;
  private readonly outcomes: Outcomes<T>;
  private readonly conditions = new Conditions();
  /**
   * `onIdle` and `onEmpty`: neither holds while a job is ready, so they are re-tested only
   * once the ready set is empty, not on every job a busy queue runs.
   */
  private readonly drainConditions = new Conditions();
  private readonly counters = new QueueCounters();
  /** Created with the first schedule (or a restored one): a queue without any pays nothing. */
  private registry: Schedules<T> | undefined = undefined;
  private readonly cronRules: CronRuleFactory | undefined;

  constructor(options: QueueOptions<T> = {}) {
    super();
    this.opts = resolveOptions(options);
    if (options.cron !== undefined && typeof options.cron !== 'function') {
      throw new InvalidOptionError(`Expected \`cron\` to be the \`cron\` function of 'docket/cron', got \`${String(options.cron)}\``);
    }
    this.cronRules = options.cron;
    this.newJobs = new JobFactory<T>({
      queueName: this.opts.name,
      epoch: this.opts.clock.now(),
      maxAttempts: this.opts.attempts,
      ttr: this.opts.ttr,
      timeout: this.opts.timeout,
      ttl: Infinity,
    });
    this.table = new JobTable<T>(
      this.opts.clock,
      {
        store: this.opts.store,
        onReady: (job) => {
          if (this.hears('ready')) this.emit('ready', job);
        },
        onDue: (job) => {
          this.background(this.table.move(job, 'ready'));
          this.dispatch.wake();
        },
        onDeadline: (job) => this.attempts.deadlinePassed(job),
        onGateOpen: () => this.dispatch.wake(),
        onStartable: () => {
          if (this.hears('unblocked')) this.emit('unblocked');
        },
      },
      this.opts,
    );
    this.outcomes = new Outcomes<T>(
      {
        now: () => this.opts.clock.now(),
        move: (job, event, dueAt) => this.table.move(job, event, dueAt),
        failed: (job, error) => {
          this.counters.failed++;
          this.emit('failed', job, error);
        },
        retrying: (job, error, delay) => {
          this.counters.retried++;
          this.emit('retrying', job, error, delay);
        },
        dead: (job, reason) => {
          this.counters.dead++;
          this.emit('dead', job, reason);
        },
        report: (error) => this.report(error),
      },
      {
        backoff: this.opts.backoff,
        retryIf: this.opts.retryIf,
        random: this.opts.random,
        onDead: this.opts.onDead,
        deadLetterQueue: this.opts.deadLetterQueue,
      },
    );
    this.admission = new Admission<T>({
      assertOpen: () => this.assertOpen(),
      withSameId: (options) => this.withSameId(options),
      isFull: () => this.isFull(),
      fullError: () => this.fullError(),
      insert: (data, options) => this.insert(data, options),
    });
    this.waiters = new ReserveWaiters<ReservedJob<T>>(this.opts.clock);
    this.attempts = new Attempts<T>(this.table, this.outcomes, this.counters, this.opts.clock, {
      events: this,
      wake: () => this.dispatch.wake(),
      abandon: (lease) => this.dispatch.slots.abandon(lease),
      background: (stored) => this.background(stored),
      storeFailed: (error) => this.storeFailed(error),
    });
    this.dispatch = new Dispatch<T>(this.table, this.waiters, this.opts.clock, this.attempts, this.opts.concurrency, {
      expired: (job) => this.background(this.outcomes.bury(job, 'expired')),
      background: (stored) => this.background(stored),
      afterChange: () => this.afterChange(),
    });
    this.deadLetters = new DeadLetters({
      buriedJobs: () => this.table.buried.values(),
      buriedCount: () => this.table.buried.size,
      redrive: (id) => this.table.buried.has(id) && this.kickJob(id),
      purge: (id) => this.table.buried.has(id) && this.remove(id),
    });
  }

  // ── getters ────────────────────────────────────────────────────────────

  /** The queue's name. */
  get name(): string {
    return this.opts.name;
  }
  /** Jobs waiting: ready plus delayed. */
  get size(): number {
    return this.table.readyCount + this.table.delayed.size;
  }
  /** Jobs in flight: reserved by a handler or a pull consumer. */
  get pending(): number {
    return this.table.reserved;
  }
  get isPaused(): boolean {
    return this.paused;
  }
  get isClosed(): boolean {
    return this.closing;
  }
  /** Whether a store records the queue's changes (then a settled job waits for it). @internal */
  get hasStore(): boolean {
    return this.opts.store !== undefined;
  }
  /** Handlers `process()` runs at once; settable at run time. */
  get concurrency(): number {
    return this.dispatch.concurrency;
  }
  set concurrency(value: number) {
    this.dispatch.concurrency = checkInteger('concurrency', value, 1, Infinity);
    this.dispatch.wake();
  }

  // ── producers ──────────────────────────────────────────────────────────

  /**
   * Adds a job. At `maxSize` it waits for room (producers are admitted first come, first
   * served) or, with `onFull: 'reject'`, rejects with {@link QueueFullError}. A dedupe `id`
   * that is still in the queue returns the job already there.
   */
  add(data: T, options?: AddOptions): Promise<Job<T>> {
    return this.admission.admit(data, options, this.opts.onFull);
  }

  /**
   * Adds a job synchronously and returns it: the fire-and-forget producer call, with no
   * promise to allocate or settle. Throws {@link QueueFullError} at `maxSize` (or while
   * producers wait for room: it never overtakes them), {@link QueueClosedError} once
   * closed, {@link StoreFailedError} after a store failure, {@link InvalidOptionError} for
   * bad options. A dedupe `id` that is still in the queue returns the job already there.
   * With a store, the job is written but not waited for: a write that fails takes the job
   * back out (unless a consumer already has it), fails the queue closed and is reported
   * as an `'error'` event; use {@link Queue.add} to wait for durability.
   */
  push(data: T, options?: AddOptions): Job<T> {
    const existing = this.checkPush(options);
    if (existing !== undefined) return existing;
    const job = this.createRecord(data, options);
    const stored = this.place(job);
    if (stored !== undefined) stored.then(undefined, (error: unknown) => this.report(this.unacknowledged(job, error)));
    return job;
  }

  /**
   * @internal {@link Queue.push} for a caller that waits for the store itself (the socket
   * server answers the puts a store wrote together in one go): `stored` is the store's
   * answer (`undefined`: nothing to wait for), which the caller must watch, passing a
   * rejection to {@link Queue.unstored} instead of an `'error'` event.
   */
  pushUnwatched(data: T, options?: AddOptions): { job: Job<T>; stored: Promise<void> | undefined } {
    const existing = this.checkPush(options);
    if (existing !== undefined) return { job: existing, stored: undefined };
    const job = this.createRecord(data, options);
    return { job, stored: this.place(job) ?? undefined };
  }

  /** @internal The store never acknowledged a job of {@link Queue.pushUnwatched}: what `add` would have rejected with. */
  unstored(job: Job<T>, error: unknown): StoreFailedError {
    return this.unacknowledged(job as JobRecord<T>, error);
  }

  /** push's refusals, in add's order; the job already there for a dedupe id, if any. */
  private checkPush(options: AddOptions | undefined): Job<T> | undefined {
    if (options !== undefined) checkAddOptions(options);
    this.assertOpen();
    const existing = this.withSameId(options);
    if (existing !== undefined) return existing;
    if (!this.admission.hasRoom) throw this.fullError();
    return undefined;
  }

  /** Like {@link Queue.add}, but never waits: rejects with {@link QueueFullError} at `maxSize`. */
  tryAdd(data: T, options?: AddOptions): Promise<Job<T>> {
    return this.admission.admit(data, options, 'reject');
  }

  /** Adds many jobs in one call, in order. Every option is checked before any job is added. */
  async addBulk(items: ReadonlyArray<{ data: T; options?: AddOptions }>): Promise<Job<T>[]> {
    if (!Array.isArray(items)) throw new InvalidOptionError(`Expected \`items\` to be an array, got \`${String(items)}\``);
    for (const item of items) if (item.options !== undefined) checkAddOptions(item.options);
    const added: Promise<Job<T>>[] = [];
    for (const item of items) added.push(this.add(item.data, item.options));
    return Promise.all(added);
  }

  // ── push consumer ─────────────────────────────────────────────────────

  /**
   * Runs `handler` for each job, up to `concurrency` at once. A handler that returns acks
   * the job; one that throws, rejects or runs past `timeout` fails the attempt, and the
   * retry policy decides what follows. One handler per queue.
   */
  process<R>(handler: Handler<T, R>, options: { concurrency?: number } = {}): void {
    if (typeof handler !== 'function') throw new InvalidOptionError(`Expected \`handler\` to be a function, got \`${String(handler)}\``);
    if (this.dispatch.handler !== undefined) throw new InvalidStateError(`queue ${this.name} already has a handler`);
    this.assertOpen();
    if (options.concurrency !== undefined) this.dispatch.concurrency = checkInteger('concurrency', options.concurrency, 1, Infinity);
    this.dispatch.handler = handler as Handler<T>;
    this.dispatch.wake();
  }

  // ── pull consumer ─────────────────────────────────────────────────────

  /**
   * Leases the next job: waits for one up to `timeout` ms. Resolves `undefined` on
   * timeout, abort, or when the queue closes.
   */
  reserve(options: ReserveOptions = {}): Promise<ReservedJob<T> | undefined> {
    const { timeout = Infinity, signal, ttr } = options;
    try {
      checkDuration('timeout', timeout);
      if (ttr !== undefined) checkDuration('ttr', ttr, 1);
    } catch (error) {
      return Promise.reject(error);
    }
    if (this.closing || signal?.aborted === true) return Promise.resolve(undefined);
    const lease = this.tryReserve({ ttr });
    if (lease !== undefined || timeout === 0) return Promise.resolve(lease);
    return this.waiters.wait(timeout, signal, ttr);
  }

  /** Leases the next ready job now, or returns `undefined` (nothing ready, paused or closed). */
  tryReserve(options: { ttr?: number } = {}): ReservedJob<T> | undefined {
    if (this.paused || this.closing) return undefined;
    const lease = this.dispatch.takeNow(options.ttr);
    // Even with nothing to lease, the take may have buried jobs past their ttl on the way.
    this.afterChange();
    return lease;
  }

  /**
   * Leases a specific job that is ready, delayed or buried, whatever the pause state
   * (beanstalkd's `reserve-job`). Throws {@link JobNotFoundError} or, for a job already
   * reserved, {@link InvalidStateError}.
   */
  reserveJob(id: number, options: { ttr?: number } = {}): ReservedJob<T> {
    this.assertOpen();
    const job = this.getJob(id);
    if (job.state === 'reserved') throw new InvalidStateError(`job ${id} is already reserved`);
    const lease = this.attempts.lease(job, false, options.ttr, this.opts.clock.now());
    this.afterChange();
    return lease;
  }

  /** Reserved jobs, one at a time, until the signal aborts or the queue closes. Ack each. */
  async *jobs(options: { signal?: AbortSignal } = {}): AsyncGenerator<ReservedJob<T>, void, undefined> {
    for (;;) {
      const lease = await this.reserve({ signal: options.signal });
      if (lease === undefined) return;
      yield lease;
    }
  }

  // ── inspection and management ─────────────────────────────────────────

  /** The job with this id, in any state, or `undefined`. */
  peek(id: number): Job<T> | undefined {
    return this.table.get(id);
  }
  /** The job `reserve()` would get next. */
  peekReady(): Job<T> | undefined {
    const { groups, ready } = this.table;
    return groups.simple ? ready.peek() : groups.peek();
  }
  /** The delayed job due soonest. */
  peekDelayed(): Job<T> | undefined {
    return this.table.delayed.peek();
  }
  /** The oldest dead letter. */
  peekBuried(): Job<T> | undefined {
    return this.table.buried.values().next().value;
  }

  /**
   * A page of the jobs in `state`, in id order (oldest first): for inspection tools such
   * as the dashboard. Buried jobs are walked directly; other states walk every job, so a
   * page costs O(jobs held).
   */
  listJobs(state: JobState, range: { offset?: number; limit?: number } = {}): Job<T>[] {
    const offset = checkInteger('offset', range.offset ?? 0, 0, Infinity);
    const limit = checkInteger('limit', range.limit ?? 50, 0, Infinity);
    const page: Job<T>[] = [];
    const jobs = state === 'buried' ? this.table.buried.values() : this.table.byId.values();
    let skipped = 0;
    for (const job of jobs) {
      if (page.length >= limit) break;
      if (job.state !== state) continue;
      if (skipped++ >= offset) page.push(job);
    }
    return page;
  }

  /** Deletes a ready, delayed or buried job. `false` if absent or reserved. */
  remove(id: number): boolean {
    const job = this.table.get(id);
    if (job === undefined || job.state === 'reserved') return false;
    this.background(this.table.move(job, 'remove'));
    // A schedule's pending job deleted by hand: its slot is skipped, the next one follows.
    if (this.registry !== undefined) this.background(this.registry.removed(job));
    this.afterChange();
    return true;
  }

  /**
   * Moves up to `bound` jobs to ready: buried ones (oldest first) if there are any, else
   * delayed ones (soonest first). Returns how many.
   */
  kick(bound: number): number {
    checkInteger('bound', bound, 0, Infinity);
    let kicked = 0;
    const { buried, delayed } = this.table;
    if (buried.size > 0) {
      const batch: JobRecord<T>[] = [];
      for (const job of buried.values()) {
        if (batch.length >= bound) break;
        batch.push(job);
      }
      for (const job of batch) this.background(this.outcomes.kick(job));
      kicked = batch.length;
    } else {
      for (let job = delayed.peek(); job !== undefined && kicked < bound; job = delayed.peek()) {
        this.background(this.outcomes.kick(job));
        kicked++;
      }
    }
    if (kicked > 0) this.dispatch.wake();
    return kicked;
  }

  /** Moves one buried or delayed job to ready. `false` if it is in another state or absent. */
  kickJob(id: number): boolean {
    const job = this.table.get(id);
    if (job === undefined || (job.state !== 'buried' && job.state !== 'delayed')) return false;
    this.background(this.outcomes.kick(job));
    this.dispatch.wake();
    return true;
  }

  /** Changes a job's priority; a ready job moves to its new place. */
  changePriority(id: number, priority: number): void {
    checkPriority('priority', priority);
    const job = this.getJob(id);
    this.table.reprioritize(job, priority);
    this.background(this.table.touch(job));
  }

  /** Stops handing out jobs (to `process()` handlers and to `reserve()`) until `resume()`. */
  pause(): void {
    if (this.paused) return;
    this.paused = true;
    this.dispatch.handsOut = false;
    this.emit('paused');
  }

  resume(): void {
    if (!this.paused) return;
    this.paused = false;
    this.dispatch.handsOut = !this.closing;
    this.emit('resumed');
    this.dispatch.wake();
  }

  // ── groups ────────────────────────────────────────────────────────────

  /** Sets how many jobs of `group` may hold a slot at once (`undefined`: back to `groupConcurrency`). */
  setGroupConcurrency(group: string, concurrency: number | undefined): void {
    checkGroup('group', group);
    if (concurrency !== undefined) checkInteger('groupConcurrency', concurrency, 1, Infinity);
    this.table.groups.setConcurrency(group, concurrency);
    this.dispatch.wake();
  }

  /** Stops starting jobs of `group` (running ones go on) until `resumeGroup(group)`. Kept while the group has no jobs. */
  pauseGroup(group: string): void {
    this.table.groups.pause(checkGroup('group', group));
  }

  resumeGroup(group: string): void {
    this.table.groups.resume(checkGroup('group', group));
    this.dispatch.wake();
  }

  isGroupPaused(group: string): boolean {
    return this.table.groups.isPaused(checkGroup('group', group));
  }

  /** The counts of one group (all zero for a group with no jobs). O(1). */
  groupStats(group: string): GroupStats {
    return this.table.groups.stats(checkGroup('group', group));
  }

  /** The groups that hold jobs now (ready, delayed or running), in no particular order. */
  groups(): string[] {
    return [...this.table.groups.groups()];
  }

  /** Resolves when nothing is ready, delayed or running (at once if that is already so). */
  onIdle(): Promise<void> {
    return this.when(this.drainConditions, () => this.isIdle());
  }
  /** Resolves when no job is ready (at once if that is already so). */
  onEmpty(): Promise<void> {
    return this.when(this.drainConditions, () => this.table.readyCount === 0);
  }
  /** Resolves when fewer than `limit` jobs wait (ready plus delayed). */
  onSizeLessThan(limit: number): Promise<void> {
    checkInteger('limit', limit, 1, Infinity);
    return this.when(this.conditions, () => this.size < limit);
  }

  stats(): QueueStats {
    return this.counters.stats({
      name: this.name,
      ready: this.table.readyCount,
      urgent: this.table.urgentCount,
      delayed: this.table.delayed.size,
      reserved: this.table.reserved,
      buried: this.table.buried.size,
      total: this.table.total,
      waitingProducers: this.admission.waiting,
      waitingConsumers: this.waiters.size,
      isPaused: this.paused,
      concurrency: this.dispatch.concurrency,
    });
  }

  // ── schedules ─────────────────────────────────────────────────────────

  /**
   * Creates or updates the schedule `id`: exactly one pending job of it is in the queue at
   * any time, due at the rule's next slot, and the job after it is created when it starts.
   * Upserting the same id again (after a restart too) never adds a second pending job and
   * never skips a slot; new data or options replace the pending job at its slot, a new
   * rule takes effect from its next slot. Resolves with the schedule once it is stored.
   * Throws {@link InvalidOptionError} for an empty id, a bad rule or bad options.
   *
   * @param rule - `{ every: ms }` (slots at whole multiples of `ms` since the epoch) or
   *   `cron(pattern, { tz })` from `docket/cron`
   * @example
   * ```ts
   * await q.schedule('digest', { every: 60 * 60_000 }, { kind: 'digest' }, { attempts: 3 });
   * ```
   */
  schedule(id: string, rule: { every: number } | ScheduleRule, data: T, options?: ScheduleOptions): Promise<ScheduleInfo<T>> {
    let written: Promise<void>;
    try {
      this.assertOpen();
      written = this.scheduleRegistry().upsert(id, rule, data, options);
    } catch (error) {
      return Promise.reject(error);
    }
    return written.then(
      () => this.registry?.get(id) as ScheduleInfo<T>,
      (error: unknown) => Promise.reject(this.storeFailed(error)),
    );
  }

  /**
   * Deletes the schedule `id` and its pending job; its jobs already started run on as
   * ordinary jobs (retries included) and create no successor. Resolves `false` if there
   * was no such schedule, once the change is stored.
   */
  unschedule(id: string): Promise<boolean> {
    let removed: Promise<boolean>;
    try {
      removed = this.registry === undefined ? Promise.resolve(false) : this.registry.unschedule(id);
    } catch (error) {
      return Promise.reject(error);
    }
    this.afterChange();
    return removed.then(undefined, (error: unknown) => Promise.reject(this.storeFailed(error)));
  }

  /** The queue's schedules, each with its pending job. */
  schedules(): ScheduleInfo<T>[] {
    return this.registry === undefined ? [] : this.registry.list();
  }

  /**
   * Stops intake (`add` rejects with {@link QueueClosedError}, waiting producers too, and
   * waiting `reserve()` calls resolve `undefined`), lets running jobs finish for up to
   * `timeout` ms, gives back the rest, clears every timer and closes the handler and the
   * store. Idempotent: every call returns the same promise.
   */
  close(options: CloseOptions = {}): Promise<void> {
    if (this.closePromise !== undefined) return this.closePromise;
    const timeout = checkDuration('timeout', options.timeout ?? 10_000);
    this.closing = true;
    this.dispatch.handsOut = false;
    this.admission.close(new QueueClosedError(`queue ${this.name} closed`));
    this.waiters.releaseAll();
    this.closePromise = this.shutDown(timeout);
    return this.closePromise;
  }

  /**
   * Re-creates stored jobs with their ids (the journal's replay). A job stored as reserved
   * lost its lease with the process: that counts as an attempt, and it comes back ready, or
   * buried as `'lease-expired'` if that was its last.
   * @internal
   */
  restore(snapshots: Iterable<JobSnapshot<T>>): void {
    const scheduled: JobRecord<T>[] = [];
    for (const snapshot of snapshots) {
      const job = JobRecord.fromSnapshot(snapshot, this.newJobs.shared);
      reserveIdsThrough(job.id);
      if (job.dedupeId?.startsWith(SCHEDULE_KEY_PREFIX) === true) scheduled.push(job);
      if (snapshot.state !== 'reserved') {
        this.table.restore(job, snapshot.state, snapshot.state === 'delayed' ? snapshot.dueAt : Infinity);
        continue;
      }
      job.more.timeouts++;
      const last = job.attemptsMade >= job.maxAttempts;
      if (last) job.more.deadReason = 'lease-expired';
      this.table.restore(job, last ? 'buried' : 'ready', Infinity);
      this.background(this.table.touch(job));
    }
    if (scheduled.length > 0) for (const stored of this.scheduleRegistry().recover(scheduled)) this.background(stored);
    this.dispatch.wake();
  }

  // ── internals: admission ──────────────────────────────────────────────

  private scheduleRegistry(): Schedules<T> {
    if (this.registry !== undefined) return this.registry;
    const registry = new Schedules<T>({
      now: () => this.opts.clock.now(),
      defaults: { attempts: this.opts.attempts, ttr: this.opts.ttr, timeout: this.opts.timeout },
      cron: this.cronRules,
      create: (data, options, key, dueAt) => this.createRecord(data, { ...options, id: key, delay: Math.max(0, dueAt - this.opts.clock.now()) }),
      // Past admission: a schedule holds one job at a time, whatever `maxSize` says.
      place: (job) => this.place(job),
      remove: (job) => this.table.move(job, 'remove'),
      detach: (job) => {
        this.table.forgetDedupeId(job);
        return this.table.touch(job);
      },
      isLive: (job) => this.table.get(job.id) === job,
      hold: (change) => this.dispatch.hold(change),
    });
    this.attempts.onStarted = (job) => this.background(registry.started(job));
    this.registry = registry;
    return registry;
  }

  /** The live job with the dedupe id these options name, if any. */
  private withSameId(options: AddOptions | undefined): Job<T> | undefined {
    return options?.id === undefined ? undefined : this.table.withDedupeId(options.id);
  }

  private assertOpen(): void {
    if (this.closing) throw new QueueClosedError(`queue ${this.name} is closed`);
    if (this.failure !== undefined) {
      throw new StoreFailedError(`queue ${this.name} refuses new jobs: its store failed (${this.failure.message})`, { cause: this.failure });
    }
  }

  private isFull(): boolean {
    return this.table.total - this.table.buried.size >= this.opts.maxSize;
  }

  private fullError(): QueueFullError {
    return new QueueFullError(`queue ${this.name} is full (maxSize ${this.opts.maxSize})`);
  }

  /** The queue's shared job settings, or a job's own when `add` overrides any. */
  private insert(data: T, options: AddOptions | undefined): Promise<Job<T>> {
    const job = this.createRecord(data, options);
    let stored: void | Promise<void>;
    try {
      stored = this.place(job);
    } catch (refusal) {
      return Promise.reject(refusal);
    }
    if (stored === undefined) return Promise.resolve(job);
    return stored.then(
      () => job,
      (error: unknown) => {
        throw this.unacknowledged(job, error);
      },
    );
  }

  private createRecord(data: T, options: AddOptions | undefined): JobRecord<T> {
    return this.newJobs.create(data, options, this.opts.clock.now());
  }

  /**
   * Puts a new job in the table and starts it moving; returns the store's answer. A store
   * that refuses the job before writing anything (a payload it cannot encode) throws here:
   * only this job fails, not the queue.
   */
  private place(job: JobRecord<T>): void | Promise<void> {
    const stored = this.table.put(job, job.dueAt);
    this.counters.added++;
    if (this.hears('added')) this.emit('added', job);
    if (this.dispatch.canDispatch()) {
      this.dispatch.wake();
    } else {
      // Nobody can take the job now, and a new job brings no condition true (idle, empty,
      // fewer than n, room for a producer): all a full wake would do is note the queue busy.
      this.busy = true;
    }
    return stored;
  }

  /** The store never acknowledged a new job: take it back out unless a consumer already has it. */
  private unacknowledged(job: JobRecord<T>, error: unknown): StoreFailedError {
    if (job.state !== 'reserved' && this.table.get(job.id) === job) {
      this.table.drop(job);
      this.afterChange();
    }
    return this.storeFailed(error);
  }

  /** Whether an event has listeners: an `emit` nobody hears still costs its argument list. */
  private hears(event: keyof QueueEvents<T>): boolean {
    return this.listenerCount(event) > 0;
  }

  // ── internals: store results ──────────────────────────────────────────

  /** For changes nobody awaits: a store failure still fails the queue closed, and is reported. */
  private background(stored: void | Promise<void>): void {
    if (stored !== undefined) stored.then(undefined, (error: unknown) => this.report(this.storeFailed(error)));
  }

  private storeFailed(error: unknown): StoreFailedError {
    const cause = toError(error);
    this.failure ??= cause;
    return new StoreFailedError(`queue ${this.name}: the store failed (${cause.message})`, { cause });
  }

  // ── internals: conditions ─────────────────────────────────────────────

  private isIdle(): boolean {
    const { delayed, reserved } = this.table;
    return this.table.readyCount === 0 && delayed.size === 0 && reserved === 0;
  }

  private when(conditions: Conditions, test: () => boolean): Promise<void> {
    const promise = conditions.when(test);
    this.afterChange();
    return promise;
  }

  /** Re-checks what producers and waiters wait for, and whether the queue just drained. */
  private afterChange(): void {
    this.admission.admitWaiting();
    this.conditions.check();
    if (this.table.readyCount === 0) this.drainConditions.check();
    // Timers are unref'd, except while somebody awaits what only they can bring.
    this.table.setKeepAlive(this.conditions.size + this.drainConditions.size > 0);
    const idle = this.isIdle();
    if (idle && this.busy) {
      this.busy = false;
      this.emit('drained');
    } else if (!idle) {
      this.busy = true;
    }
  }

  private report(error: Error): void {
    // A bare EventEmitter throws on an unheard 'error'; a warning keeps it visible without a crash.
    if (this.listenerCount('error') > 0) this.emit('error', error);
    else process.emitWarning(error);
  }

  private getJob(id: number): JobRecord<T> {
    const job = this.table.get(id);
    if (job === undefined) throw new JobNotFoundError(`no job ${id} in queue ${this.name}`);
    return job;
  }

  private async shutDown(timeout: number): Promise<void> {
    this.paused = true;
    if (timeout > 0) await this.conditions.within(() => this.table.reserved === 0, timeout, this.opts.clock);
    for (const job of [...this.table.reservedJobs()]) {
      const lease = job.current as ReservedJob<T>;
      this.dispatch.slots.abandon(lease);
      lease.abort(new QueueClosedError(`queue ${this.name} closed`));
      this.background(this.outcomes.giveBack(lease.record, { countAttempt: false }));
    }
    this.table.stopTimers();
    this.afterChange();
    await closeHandler(this.dispatch.handler);
    await this.opts.store?.close();
  }
}
