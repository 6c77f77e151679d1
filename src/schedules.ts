import { isDeepStrictEqual } from 'node:util';
import { InvalidOptionError } from './errors.js';
import type { Job, JobRecord } from './job.js';
import { checkDuration, checkInteger, checkPriority, DEFAULTS } from './options.js';
import {
  checkScheduleId,
  everyRule,
  firstSlot,
  parseScheduleKey,
  resumedSlot,
  sameRule,
  scheduleKey,
  successorSlot,
  toRule,
  type CronRuleFactory,
  type RuleSpec,
  type ScheduleLink,
  type ScheduleRule,
} from './schedule-slots.js';

/** Settings of the jobs a schedule creates. Every one is optional. */
export interface ScheduleOptions {
  /** Unsigned 32-bit; lower runs first. @defaultValue 1024 */
  priority?: number;
  /** Overrides the queue's `retry.attempts` for the schedule's jobs. */
  attempts?: number;
  /** Overrides the queue's `ttr` (lease, ms). */
  ttr?: number;
  /** Overrides the queue's `timeout` (ms). */
  timeout?: number;
}

/** A schedule as `queue.schedules()` lists it. */
export interface ScheduleInfo<T> {
  readonly id: string;
  /** The rule as plain data: `{ every }` or `{ cron, tz }`. */
  readonly rule: RuleSpec;
  readonly data: T;
  /** The settings of its jobs, with the queue's defaults filled in. */
  readonly options: Required<ScheduleOptions>;
  /** The slot of its pending job (ms since the epoch); `undefined` once the rule has no slot left. */
  readonly next: number | undefined;
  /** Its pending job: created, not yet started. */
  readonly job: Job<T> | undefined;
}

/** What the registry asks of its queue. Each change returns the store's answer. @internal */
export interface ScheduleHost<T> {
  now(): number;
  /** The job settings of the queue, for options a schedule leaves out. */
  readonly defaults: { readonly attempts: number; readonly ttr: number; readonly timeout: number };
  /** Rebuilds cron rules of restored schedules (`undefined`: none given). */
  readonly cron: CronRuleFactory | undefined;
  /** Makes a job with dedupe key `key`, due at `dueAt`, not yet in the queue. */
  create(data: T, options: Required<ScheduleOptions>, key: string, dueAt: number): JobRecord<T>;
  /** Puts a job from `create` in the queue, past `maxSize` (one per schedule); it may start at once. */
  place(job: JobRecord<T>): void | Promise<void>;
  /** Deletes a job that has not started. */
  remove(job: JobRecord<T>): void | Promise<void>;
  /** Clears a started job's key, so that it runs on as an ordinary job, and records that. */
  detach(job: JobRecord<T>): void | Promise<void>;
  /** Runs `change` with dispatch held (no job starts until it returns), then dispatches. */
  hold<R>(change: () => R): R;
  /** Whether the job is still in the queue. */
  isLive(job: JobRecord<T>): boolean;
}

interface Entry<T> {
  id: string;
  rule: ScheduleRule;
  data: T;
  options: Required<ScheduleOptions>;
  /** The one job created and not yet started. */
  pending: JobRecord<T> | undefined;
  /** Slot of `pending`, or of the last job when the rule has no slot left. */
  slot: number;
  /** Latest slot whose job started. */
  lastStarted: number;
  /** Jobs of the schedule that started and may still be in the queue (running, retrying, buried). */
  started: JobRecord<T>[];
  /** Settles when the latest change of the schedule is stored. */
  written: Promise<void>;
}

function info<T>(entry: Entry<T>): ScheduleInfo<T> {
  return {
    id: entry.id,
    rule: entry.rule.spec,
    data: entry.data,
    options: { ...entry.options },
    next: entry.pending === undefined ? undefined : entry.slot,
    job: entry.pending,
  };
}

/**
 * A queue's schedules: each keeps exactly one pending (created, not started) job, whose
 * dedupe key names the schedule, its slot, its rule and the latest slot started. That key
 * is the whole durable state: a journal that keeps the jobs keeps the schedules, and a
 * restart rebuilds them from the restored jobs ({@link Schedules.recover}).
 * @internal
 */
export class Schedules<T> {
  private readonly entries = new Map<string, Entry<T>>();
  private readonly byPending = new Map<JobRecord<T>, Entry<T>>();

  constructor(private readonly host: ScheduleHost<T>) {}

  /**
   * Creates or updates a schedule. The same rule, data and options again change nothing;
   * new data or options replace the pending job at its slot; a new rule moves it to the
   * rule's next slot (after the last one started, not in the past).
   */
  upsert(id: string, ruleInput: unknown, data: T, options: ScheduleOptions = {}): Promise<void> {
    // Held: a job due now must not start between the new pending job and the old one's deletion.
    return this.host.hold(() => this.change(id, ruleInput, data, options));
  }

  private change(id: string, ruleInput: unknown, data: T, options: ScheduleOptions): Promise<void> {
    checkScheduleId(id);
    const rule = toRule(ruleInput);
    const resolved = this.resolve(options);
    const now = this.host.now();
    const entry = this.entries.get(id);
    if (entry !== undefined && entry.pending !== undefined && sameRule(entry.rule.spec, rule.spec)) {
      // Nothing to change; resolves once the pending job is stored.
      if (this.matches(entry.pending, data, resolved)) return entry.written;
      return this.replace(entry, rule, data, resolved, entry.slot);
    }
    const slot = entry === undefined ? firstSlot(rule, now) : resumedSlot(rule, entry.lastStarted, now);
    if (!(slot < Infinity)) throw new InvalidOptionError(`schedule ${JSON.stringify(id)}: its rule has no slot after ${new Date(now).toISOString()}`);
    if (entry !== undefined) return this.replace(entry, rule, data, resolved, slot);
    const created: Entry<T> = { id, rule, data, options: resolved, pending: undefined, slot, lastStarted: -Infinity, started: [], written: Promise.resolve() };
    const stored = this.createPending(created, slot);
    this.entries.set(id, created);
    return this.written(created, [stored]);
  }

  /**
   * Deletes a schedule and its pending job. Jobs of it already started run on as ordinary
   * jobs (their retries included) and create no successor. `false` if there was none.
   */
  unschedule(id: string): Promise<boolean> {
    checkScheduleId(id);
    const entry = this.entries.get(id);
    if (entry === undefined) return Promise.resolve(false);
    // Started jobs first: the pending one is what a restart would rebuild the schedule
    // from, so it goes last, once nothing else would.
    const stored = entry.started.filter((job) => this.host.isLive(job)).map((job) => this.host.detach(job));
    if (entry.pending !== undefined) {
      this.byPending.delete(entry.pending);
      stored.push(this.host.remove(entry.pending));
    }
    this.entries.delete(id);
    return Promise.all(stored).then(() => true);
  }

  list(): ScheduleInfo<T>[] {
    return Array.from(this.entries.values(), info);
  }

  /** The schedule with this id, or `undefined`. */
  get(id: string): ScheduleInfo<T> | undefined {
    const entry = this.entries.get(id);
    return entry === undefined ? undefined : info(entry);
  }

  /** A job starts (any attempt): if it was a schedule's pending job, its successor is created now. */
  started(job: JobRecord<T>): void | Promise<void> {
    const entry = this.byPending.get(job);
    if (entry === undefined) return;
    entry.lastStarted = Math.max(entry.lastStarted, entry.slot);
    entry.started = entry.started.filter((other) => this.host.isLive(other));
    entry.started.push(job);
    return this.advance(entry, job);
  }

  /** A job was deleted by hand: if it was a schedule's pending job, its slot is skipped. */
  removed(job: JobRecord<T>): void | Promise<void> {
    const entry = this.byPending.get(job);
    if (entry !== undefined) return this.advance(entry, job);
  }

  /**
   * Rebuilds the schedules from restored jobs that carry a schedule key. Per schedule, its
   * newest job (highest id) holds the current rule, data and options; if it has not
   * started it is the pending job, and any other job not started is a leftover of a
   * change cut short by a crash, deleted here; if it has started (the process died
   * before its successor was stored), the successor is created now, by the catch-up rule.
   * Throws {@link InvalidOptionError} when a cron schedule is restored without `cron`.
   */
  recover(jobs: readonly JobRecord<T>[]): Array<void | Promise<void>> {
    const groups = new Map<string, Array<{ job: JobRecord<T>; link: ScheduleLink }>>();
    for (const job of jobs) {
      const link = parseScheduleKey(job.dedupeId);
      if (link === undefined) continue;
      let group = groups.get(link.id);
      if (group === undefined) groups.set(link.id, (group = []));
      group.push({ job, link });
    }
    const unbound = [...groups.values()].filter((group) => !('every' in group[0].link.rule)).map((group) => group[0].link.id);
    if (unbound.length > 0 && this.host.cron === undefined) {
      throw new InvalidOptionError(
        `the queue holds cron schedules (${unbound.map((id) => JSON.stringify(id)).join(', ')}): pass \`cron\` from 'docket/cron' in the queue's options to restore them`,
      );
    }
    const stored: Array<void | Promise<void>> = [];
    for (const group of groups.values()) {
      group.sort((a, b) => a.job.id - b.job.id);
      const latest = group[group.length - 1];
      const entry: Entry<T> = {
        id: latest.link.id,
        rule: this.bind(latest.link.rule),
        data: latest.job.data,
        options: { priority: latest.job.priority, attempts: latest.job.maxAttempts, ttr: latest.job.ttr, timeout: latest.job.timeout },
        pending: undefined,
        slot: latest.link.slot,
        lastStarted: -Infinity,
        started: [],
        written: Promise.resolve(),
      };
      this.entries.set(entry.id, entry);
      for (const { job, link } of group) {
        // A started job acked before the crash left no job behind, only this mark in its successors.
        entry.lastStarted = Math.max(entry.lastStarted, link.lastStarted);
        if (job.processedOn !== undefined) {
          entry.started.push(job);
          entry.lastStarted = Math.max(entry.lastStarted, link.slot);
        } else if (job === latest.job) {
          entry.pending = job;
          this.byPending.set(job, entry);
        } else {
          stored.push(this.host.remove(job));
        }
      }
      if (entry.pending === undefined) {
        const slot = successorSlot(entry.rule, entry.slot, this.host.now());
        if (slot < Infinity) stored.push(this.createPending(entry, slot));
      }
    }
    return stored;
  }

  /** The pending job left (started or deleted): its successor takes the next slot by the catch-up rule. */
  private advance(entry: Entry<T>, job: JobRecord<T>): void | Promise<void> {
    this.byPending.delete(job);
    entry.pending = undefined;
    const slot = successorSlot(entry.rule, entry.slot, this.host.now());
    if (slot < Infinity) return this.createPending(entry, slot);
  }

  /** New pending job first, then the old one goes: a crash between leaves two, which `recover` resolves. */
  private replace(entry: Entry<T>, rule: ScheduleRule, data: T, options: Required<ScheduleOptions>, slot: number): Promise<void> {
    const old = entry.pending;
    const previous = { rule: entry.rule, data: entry.data, options: entry.options };
    Object.assign(entry, { rule, data, options });
    let stored: Array<void | Promise<void>>;
    try {
      stored = [this.createPending(entry, slot)];
    } catch (refusal) {
      // The store refused the new job (data it cannot encode): the schedule stays as it was.
      Object.assign(entry, previous);
      throw refusal;
    }
    if (old !== undefined) {
      this.byPending.delete(old);
      stored.push(this.host.remove(old));
    }
    return this.written(entry, stored);
  }

  private written(entry: Entry<T>, stored: Array<void | Promise<void>>): Promise<void> {
    entry.written = Promise.all(stored).then(() => undefined);
    // The caller awaits it; a later no-op upsert may hand it out again.
    entry.written.catch(() => {});
    return entry.written;
  }

  private createPending(entry: Entry<T>, slot: number): void | Promise<void> {
    const key = scheduleKey({ id: entry.id, slot, rule: entry.rule.spec, lastStarted: entry.lastStarted });
    const job = this.host.create(entry.data, entry.options, key, slot);
    const previous = { pending: entry.pending, slot: entry.slot };
    // Known as pending before it is placed: a job due now may start inside `place`.
    entry.pending = job;
    entry.slot = slot;
    this.byPending.set(job, entry);
    try {
      return this.host.place(job);
    } catch (refusal) {
      // The store refused it (data it cannot encode): nothing was added.
      this.byPending.delete(job);
      Object.assign(entry, previous);
      throw refusal;
    }
  }

  private bind(spec: RuleSpec): ScheduleRule {
    if ('every' in spec) return everyRule(spec.every);
    return (this.host.cron as CronRuleFactory)(spec.cron, spec.tz === undefined ? {} : { tz: spec.tz });
  }

  private resolve(options: ScheduleOptions): Required<ScheduleOptions> {
    if (typeof options !== 'object' || options === null) throw new InvalidOptionError(`Expected schedule options to be an object, got \`${String(options)}\``);
    for (const name of Object.keys(options)) {
      if (name !== 'priority' && name !== 'attempts' && name !== 'ttr' && name !== 'timeout') {
        throw new InvalidOptionError(`schedule options take priority, attempts, ttr and timeout; \`${name}\` is not one (the rule decides when jobs are due)`);
      }
    }
    const { defaults } = this.host;
    return {
      priority: checkPriority('priority', options.priority ?? DEFAULTS.priority),
      attempts: checkInteger('attempts', options.attempts ?? defaults.attempts, 1, Infinity),
      ttr: checkDuration('ttr', options.ttr ?? defaults.ttr, 1),
      timeout: checkDuration('timeout', options.timeout ?? defaults.timeout, 1),
    };
  }

  /** Whether a pending job already is what an upsert asks for. */
  private matches(job: JobRecord<T>, data: T, options: Required<ScheduleOptions>): boolean {
    return (
      job.priority === options.priority &&
      job.maxAttempts === options.attempts &&
      job.ttr === options.ttr &&
      job.timeout === options.timeout &&
      isDeepStrictEqual(job.data, data)
    );
  }
}
