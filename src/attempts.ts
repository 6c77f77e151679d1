import type { EventEmitter } from 'node:events';
import type { Clock } from './clock.js';
import { InvalidOptionError, JobTimeoutError, LeaseExpiredError, RateLimitError, type RateLimitScope, type StoreFailedError, toError } from './errors.js';
import type { QueueEvents } from './events.js';
import type { JobRecord } from './job.js';
import type { JobTable } from './job-table.js';
import { checkDuration, checkPriority } from './options.js';
import type { Outcomes } from './outcomes.js';
import type { QueueCounters } from './queue-stats.js';
import { type LeaseHost, ReservedJob } from './reserved-job.js';

const resolvedVoid = Promise.resolve();

/** What attempts need of their queue. @internal */
export interface AttemptsHost<T> {
  readonly events: EventEmitter<QueueEvents<T>>;
  /** Hands out what can be handed out after a lease operation. */
  wake(): void;
  /** A push attempt that ended while its handler runs on (a timeout): its slot is free. */
  abandon(lease: ReservedJob<T>): void;
  /** For changes nobody awaits: a store failure fails the queue closed and is reported. */
  background(stored: void | Promise<void>): void;
  /** Fails the queue closed; returns the error a caller gets. */
  storeFailed(error: unknown): StoreFailedError;
}

/**
 * The life of an attempt: its start (a lease), and every way it ends (ack, release, fail,
 * rate limit, bury, a lease or timeout running out). Each ending goes to `outcomes`, which
 * decides what follows for the job.
 * @internal
 */
export class Attempts<T> {
  /** The operations a {@link ReservedJob} calls. */
  readonly leaseHost: LeaseHost<T>;
  /** Called once a job started and its reserve is recorded (schedules create their successor then). */
  onStarted: ((job: JobRecord<T>) => void) | undefined = undefined;

  constructor(
    private readonly table: JobTable<T>,
    private readonly outcomes: Outcomes<T>,
    private readonly counters: QueueCounters,
    private readonly clock: Clock,
    private readonly host: AttemptsHost<T>,
  ) {
    this.leaseHost = {
      ack: (lease, result) => this.guarded(lease, () => this.complete(lease, result, this.clock.now())),
      release: (lease, opts) =>
        this.guarded(lease, () => {
          if (opts?.delay !== undefined) checkDuration('delay', opts.delay);
          if (opts?.priority !== undefined) checkPriority('priority', opts.priority);
          return this.outcomes.giveBack(lease.record, opts);
        }),
      fail: (lease, error) => this.guarded(lease, () => this.failed(lease, error)),
      rateLimit: (lease, ms, scope) => this.guarded(lease, () => this.limited(lease.record, ms, scope)),
      bury: (lease, reason, priority) =>
        this.guarded(lease, () => {
          if (priority !== undefined) checkPriority('priority', priority);
          const job = lease.record;
          if (priority !== undefined) job.priority = priority;
          if (reason !== undefined) this.outcomes.noteError(job, { name: 'Buried', message: reason });
          return this.outcomes.bury(job, 'manual');
        }),
      touch: (lease) => {
        this.check(lease);
        // A push attempt's lease is its running handler; only its timeout bounds it.
        if (lease.push) return;
        this.table.renewLease(lease.record, this.clock.now() + lease.ttr);
      },
      progress: (lease, value) => {
        if (lease.isCurrent) this.host.events.emit('progress', lease.job, value);
      },
    };
  }

  /** Reserves a job at `now`: an attempt starts, bounded by the push timeout or the pull lease. */
  lease(job: JobRecord<T>, push: boolean, ttr: number | undefined, now: number): ReservedJob<T> {
    if (job.processedOn === undefined) this.counters.waitTimes.record(now - job.createdOn - job.delay);
    job.attemptsMade++;
    job.processedOn = now;
    const length = push ? job.timeout : (ttr ?? job.ttr);
    const stored = this.table.move(job, 'reserve', length === Infinity ? Infinity : now + length);
    const lease = new ReservedJob(job, this.leaseHost, push, length);
    job.current = lease;
    if (stored !== undefined) this.host.background(stored);
    // After the reserve is recorded: a crash between the two leaves a started job and no
    // successor, which a restart creates; never two pending jobs.
    if (this.onStarted !== undefined) this.onStarted(job);
    const { events } = this.host;
    if (events.listenerCount('active') > 0) events.emit('active', job);
    return lease;
  }

  /** The attempt succeeded at `now`. */
  complete(lease: ReservedJob<T>, result: unknown, now: number): void | Promise<void> {
    const job = lease.record;
    job.finishedOn = now;
    this.counters.runTimes.record(now - (job.processedOn as number));
    const stored = this.table.move(job, 'ack');
    this.counters.completed++;
    const { events } = this.host;
    if (events.listenerCount('completed') > 0) events.emit('completed', job, result);
    return stored;
  }

  /** A handler threw, or a consumer called `fail`: a failed attempt, unless an upstream asked to slow down. */
  failed(lease: ReservedJob<T>, error: unknown): void | Promise<void> {
    if (error instanceof RateLimitError) return this.limited(lease.record, error.delay, error.scope);
    return this.outcomes.attemptFailed(lease.record, toError(error), 'failed');
  }

  /** A lease or a push timeout ran out. */
  deadlinePassed(job: JobRecord<T>): void {
    const lease = job.current as ReservedJob<T>;
    let error: Error;
    if (lease.push) {
      error = new JobTimeoutError(`job ${job.id} timed out after ${job.timeout} ms (attempt ${job.attemptsMade})`);
      this.host.abandon(lease);
    } else {
      error = new LeaseExpiredError(`job ${job.id}: lease of ${job.ttr} ms expired (attempt ${job.attemptsMade})`);
      job.more.timeouts++;
      this.counters.leaseTimeouts++;
    }
    lease.abort(error);
    this.host.background(this.outcomes.attemptFailed(job, error, lease.push ? 'timeout' : 'lease-expired'));
    this.host.wake();
  }

  /** Runs a lease operation: refuses a stale lease, turns the store's answer into the result. */
  private guarded(lease: ReservedJob<T>, operation: () => void | Promise<void>): Promise<void> {
    let stored: void | Promise<void>;
    try {
      this.check(lease);
      stored = operation();
    } catch (error) {
      return Promise.reject(error);
    }
    this.host.wake();
    return stored === undefined ? resolvedVoid : stored.then(undefined, (error: unknown) => Promise.reject(this.host.storeFailed(error)));
  }

  /** `rateLimit(ms)`: the job goes back unspent, and its group (or the queue) starts nothing for `ms`. */
  private limited(job: JobRecord<T>, ms: number, scope: RateLimitScope | undefined): void | Promise<void> {
    if (typeof ms !== 'number' || !Number.isFinite(ms) || ms < 0) {
      throw new InvalidOptionError(`Expected the rate-limit delay to be a finite number of milliseconds >= 0, got \`${String(ms)}\` (${typeof ms})`);
    }
    if (scope !== undefined && scope !== 'group' && scope !== 'queue') {
      throw new InvalidOptionError(`Expected \`scope\` to be 'group' or 'queue', got \`${String(scope)}\``);
    }
    this.table.groups.pauseUntil(scope === 'queue' ? undefined : job.group, this.clock.now() + ms);
    return this.outcomes.giveBack(job, { countAttempt: false });
  }

  private check(lease: ReservedJob<T>): void {
    if (!lease.isCurrent) throw new LeaseExpiredError(`job ${lease.id}: the lease has ended (expired, settled or given back)`);
  }
}
