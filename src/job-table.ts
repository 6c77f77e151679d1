import type { Clock } from './clock.js';
import type { DispatchSettings, Gate } from './group-dispatch.js';
import { GroupDispatch } from './group-dispatch.js';
import { PagedIdMap } from './paged-id-map.js';
import type { JobRecord } from './job.js';
import { ReadySet } from './ready-set.js';
import { Scheduler } from './scheduler.js';
import type { JobEvent, JobState, NextState } from './lifecycle.js';
import { nextState } from './lifecycle.js';
import type { ChangeType, Store } from './store.js';

/** What the table tells its queue. */
export interface JobTableHooks<T> {
  store: Store<T> | undefined;
  /** A job entered the ready state. */
  onReady(job: JobRecord<T>): void;
  /** A delayed job is due. */
  onDue(job: JobRecord<T>): void;
  /** A reserved job's lease or timeout ran out. */
  onDeadline(job: JobRecord<T>): void;
  /** A group (or the queue) held back by a rate limit may start jobs again. */
  onGateOpen(): void;
  /** Ready jobs held back (a group's slot, a paused group, a limit) may start now. */
  onStartable(): void;
}

/**
 * Where a queue's jobs live: every job by id, the ready set, the delayed and lease
 * schedulers and the buried jobs. `put` and `move` are the one place a job changes state:
 * they check the lifecycle table, move the job between the structures and record the
 * change in the store, whose answer they return.
 */
export class JobTable<T> {
  readonly byId = new PagedIdMap<JobRecord<T>>();
  readonly ready = new ReadySet<JobRecord<T>>();
  readonly delayed: Scheduler<JobRecord<T>>;
  readonly leases: Scheduler<JobRecord<T>>;
  /** Groups and rate limits: who starts next when the first ready job may not. */
  readonly groups: GroupDispatch<JobRecord<T>>;
  /** Gates of rate-limited groups and of the queue, one timer for all. */
  private readonly gates: Scheduler<Gate>;
  /** In the order they were buried: oldest first. */
  readonly buried = new Map<number, JobRecord<T>>();
  /** Reserved jobs (each holds its lease in `current`). */
  reserved = 0;
  private readonly byDedupeId = new Map<string, JobRecord<T>>();

  constructor(
    clock: Clock,
    private readonly hooks: JobTableHooks<T>,
    dispatch: DispatchSettings,
  ) {
    this.delayed = new Scheduler(clock, hooks.onDue);
    this.leases = new Scheduler(clock, hooks.onDeadline);
    this.gates = new Scheduler<Gate>(clock, (gate) => {
      this.groups.opened(gate);
      hooks.onGateOpen();
    });
    const gates = this.gates;
    this.groups = new GroupDispatch(this.ready, dispatch, {
      add: (gate) => gates.add(gate),
      delete: (gate) => gates.delete(gate),
      startable: hooks.onStartable,
    });
  }

  /** Ready jobs, with a group or without. */
  get readyCount(): number {
    return this.ready.size + this.groups.ready;
  }

  /** Ready jobs with priority below 1024 (beanstalkd's urgent). */
  get urgentCount(): number {
    return this.ready.urgent + this.groups.urgent;
  }

  /** Jobs in any state. */
  get total(): number {
    return this.byId.size;
  }

  get(id: number): JobRecord<T> | undefined {
    return this.byId.get(id);
  }

  withDedupeId(key: string): JobRecord<T> | undefined {
    return this.byDedupeId.get(key);
  }

  /**
   * Adds a new job as ready, or delayed until `dueAt`, and records it (`put`). The store
   * sees it first: one that throws refuses the job (a payload it cannot encode), and then
   * nothing has changed.
   */
  put(job: JobRecord<T>, dueAt: number): void | Promise<void> {
    const to = nextState('new', dueAt === Infinity ? 'ready' : 'delay') as JobState;
    job.state = to;
    job.dueAt = dueAt;
    const stored = this.hooks.store?.append({ type: 'put', job });
    this.index(job);
    this.enter(job, to);
    if (job.group !== undefined) this.grouped(job, 'new', to);
    return stored;
  }

  /** Moves a job by `event`; a job entering delayed or reserved is due at `dueAt`. */
  move(job: JobRecord<T>, event: JobEvent, dueAt = Infinity): void | Promise<void> {
    const from = job.state;
    const to = nextState(from, event);
    this.leave(job);
    if (to === 'done') {
      this.unindex(job);
      if (job.group !== undefined) this.grouped(job, from, 'done');
      return this.record('delete', job);
    }
    job.dueAt = dueAt;
    this.enter(job, to);
    if (job.group !== undefined) this.grouped(job, from, to);
    return this.record('update', job);
  }

  /** Records a change that moved no job (a new priority, a recovered attempt). */
  touch(job: JobRecord<T>): void | Promise<void> {
    return this.record('update', job);
  }

  /** Re-keys a reserved job's lease deadline. */
  renewLease(job: JobRecord<T>, dueAt: number): void {
    this.leases.delete(job);
    job.dueAt = dueAt;
    this.leases.add(job);
  }

  /** Moves a ready job to its new priority. */
  reprioritize(job: JobRecord<T>, priority: number): void {
    if (job.state === 'ready' && job.group !== undefined) return this.groups.reprioritize(job, priority);
    const wasReady = job.state === 'ready';
    if (wasReady) this.ready.delete(job);
    job.priority = priority;
    if (wasReady) this.ready.add(job);
  }

  /** Clears a job's dedupe key (it stays in the queue); the caller records the change. */
  forgetDedupeId(job: JobRecord<T>): void {
    const key = job.dedupeId;
    if (key === undefined) return;
    if (this.byDedupeId.get(key) === job) this.byDedupeId.delete(key);
    job.more.dedupeId = undefined;
  }

  /** Takes out a job that was never acknowledged, recording nothing. */
  drop(job: JobRecord<T>): void {
    const from = job.state;
    this.leave(job);
    this.unindex(job);
    if (job.group !== undefined) this.grouped(job, from, 'done');
  }

  /** Places a stored job as it was (replay), recording nothing. */
  restore(job: JobRecord<T>, state: 'ready' | 'delayed' | 'buried', dueAt: number): void {
    this.index(job);
    job.dueAt = dueAt;
    this.enter(job, state);
    if (job.group !== undefined) this.grouped(job, 'new', state);
  }

  *reservedJobs(): IterableIterator<JobRecord<T>> {
    for (const job of this.byId.values()) if (job.state === 'reserved') yield job;
  }

  stopTimers(): void {
    this.delayed.stop();
    this.leases.stop();
    this.gates.stop();
  }

  setKeepAlive(keepAlive: boolean): void {
    this.delayed.setKeepAlive(keepAlive);
    this.leases.setKeepAlive(keepAlive);
    this.gates.setKeepAlive(keepAlive);
  }

  /** A job with a group moved: its group follows, and only then is a ready one announced. */
  private grouped(job: JobRecord<T>, from: JobState | 'new', to: NextState): void {
    this.groups.moved(job, from, to);
    if (to === 'ready') this.hooks.onReady(job);
  }

  private index(job: JobRecord<T>): void {
    this.byId.set(job.id, job);
    const key = job.dedupeId;
    if (key !== undefined) this.byDedupeId.set(key, job);
  }

  private unindex(job: JobRecord<T>): void {
    this.byId.delete(job.id);
    const key = job.dedupeId;
    if (key !== undefined && this.byDedupeId.get(key) === job) this.byDedupeId.delete(key);
  }

  private leave(job: JobRecord<T>): void {
    switch (job.state) {
      case 'ready':
        // A job with a group is in its group's ready set (see `groups.moved`).
        if (job.group === undefined) this.ready.delete(job);
        break;
      case 'delayed':
        this.delayed.delete(job);
        break;
      case 'reserved': {
        this.leases.delete(job);
        this.reserved--;
        // The holder learns from its signal only when the lease is taken from it (deadline,
        // close); settling it itself needs no abort, whose reason would cost an Error per job.
        job.current = undefined;
        break;
      }
      case 'buried':
        this.buried.delete(job.id);
        break;
    }
    job.dueAt = Infinity;
  }

  private enter(job: JobRecord<T>, to: JobState): void {
    job.state = to;
    switch (to) {
      case 'ready':
        // A job with a group goes to its group's ready set (see `grouped`).
        if (job.group !== undefined) break;
        this.ready.add(job);
        this.hooks.onReady(job);
        break;
      case 'delayed':
        this.delayed.add(job);
        break;
      case 'reserved':
        this.reserved++;
        if (job.dueAt !== Infinity) this.leases.add(job);
        break;
      case 'buried':
        this.buried.set(job.id, job);
        break;
    }
  }

  private record(type: ChangeType, job: JobRecord<T>): void | Promise<void> {
    const store = this.hooks.store;
    if (store === undefined) return;
    try {
      return store.append({ type, job });
    } catch (error) {
      return Promise.reject(error);
    }
  }
}
