import type { DeadReason, JobState } from './lifecycle.js';

/** One failed attempt, as kept on the job. */
export interface AttemptError {
  /** 1-based number of the attempt that failed. */
  attempt: number;
  name: string;
  message: string;
  stack?: string;
  code?: string;
  /** When it failed, ms since the epoch (queue clock). */
  at: number;
}

/**
 * A job as the queue holds it. Read-only to callers: every change goes through the queue.
 * @typeParam T - the payload type
 */
export interface Job<T> {
  /** Positive integer, unique across every queue of the process. */
  readonly id: number;
  /** The payload. */
  readonly data: T;
  /** The queue's name. */
  readonly queueName: string;
  readonly state: JobState;
  /** Unsigned 32-bit; lower runs first. */
  readonly priority: number;
  /** Reservations so far (each one is an attempt), less those given back uncounted. */
  readonly attemptsMade: number;
  /** Attempts allowed before the job is dead-lettered. */
  readonly maxAttempts: number;
  /** Lease of a pulled attempt, ms. */
  readonly ttr: number;
  /** Time limit of a push attempt, ms (`Infinity`: none). */
  readonly timeout: number;
  /** Ms the job may wait before its first start (`Infinity`: forever). */
  readonly ttl: number;
  /** The delay last asked for, ms (kept after the job becomes ready, as beanstalkd does). */
  readonly delay: number;
  /** Deduplication key given at `add`, if any. */
  readonly dedupeId: string | undefined;
  /** Its group (`add(data, { group })`), if any: jobs of a group run in order, within the group's slots. */
  readonly group: string | undefined;
  /** When it was added (ms since the epoch, queue clock). */
  readonly createdOn: number;
  /** When its latest attempt started. */
  readonly processedOn: number | undefined;
  /** When it was completed or buried. */
  readonly finishedOn: number | undefined;
  /** Delayed: when it becomes ready. Reserved: when its lease or timeout ends. Else `Infinity`. */
  readonly dueAt: number;
  /** Every failed attempt's error, oldest first. */
  readonly errors: readonly AttemptError[];
  /** Why it is buried; `undefined` while it is not. */
  readonly deadReason: DeadReason | undefined;
  /** Times reserved, leases run out, released, buried, kicked (beanstalkd's stats-job counters). */
  readonly reserves: number;
  readonly timeouts: number;
  readonly releases: number;
  readonly buries: number;
  readonly kicks: number;
  /** A plain copy of every field, for storage or inspection. */
  snapshot(): JobSnapshot<T>;
}

/** A job's fields as plain data: what a store writes and a replay reads back. */
export interface JobSnapshot<T> {
  id: number;
  data: T;
  state: JobState;
  priority: number;
  attemptsMade: number;
  maxAttempts: number;
  ttr: number;
  timeout: number;
  ttl: number;
  delay: number;
  dedupeId: string | undefined;
  /** Its group; absent for a job without one. */
  group?: string | undefined;
  createdOn: number;
  processedOn: number | undefined;
  finishedOn: number | undefined;
  dueAt: number;
  errors: AttemptError[];
  deadReason: DeadReason | undefined;
  reserves: number;
  timeouts: number;
  releases: number;
  buries: number;
  kicks: number;
}

let lastId = 0;

/** Next process-wide job id. */
export function nextJobId(): number {
  return ++lastId;
}

/** Makes sure ids handed out from now on are above `id` (after restoring stored jobs). */
export function reserveIdsThrough(id: number): void {
  if (id > lastId) lastId = id;
}

/** The highest id handed out or reserved so far in this process. */
export function highestJobId(): number {
  return lastId;
}

const noErrors: readonly AttemptError[] = Object.freeze([]);

/** Whether time `t` survives being stored relative to `epoch` (see `JobRecord.fromSnapshot`). */
function roundTrips(epoch: number, t: number | undefined): boolean {
  return t === undefined || epoch + (t - epoch) === t;
}

/**
 * Settings most jobs of a queue share: one object per queue, and one per job only when
 * `add` overrides them. @internal
 */
export interface JobConfig {
  readonly queueName: string;
  /** Origin of the job's stored times (the queue clock at the queue's creation). */
  readonly epoch: number;
  readonly maxAttempts: number;
  readonly ttr: number;
  readonly timeout: number;
  readonly ttl: number;
}

/** What few jobs need: allocated on first use. @internal */
export interface JobExtra {
  delay: number;
  dedupeId: string | undefined;
  errorList: AttemptError[] | undefined;
  deadReason: DeadReason | undefined;
  timeouts: number;
  releases: number;
  buries: number;
  kicks: number;
  /** Reservations that no longer count as attempts (given back, or before a redrive). */
  uncounted: number;
  group: string | undefined;
  /** Whether it holds a slot of its group (kept by the group dispatch). */
  holdsSlot: boolean;
  /** Its group's place in the dispatch (kept by it). */
  groupEntry: unknown;
}

/**
 * What a job gets once it is delayed or started (its heap slot, due time, lease, attempts
 * and times), kept apart so that a job that only waits costs less. @internal
 */
interface JobRun {
  attemptsMade: number;
  /** `dueAt`, with `undefined` for none: an `Infinity` here would cost a boxed number per job. */
  due: number | undefined;
  /** Ms since `config.epoch`. */
  processed: number | undefined;
  finished: number | undefined;
  slot: number;
  current: unknown;
}

/**
 * The queue's own mutable record of a job. It is kept small, because a queue may hold
 * millions: shared settings live in `config`, rare ones in `extra`, those of a job in
 * motion in `run`. Fields the data structures use (`slot`, `stamp`, `current`) live on the
 * record (or its `run`) so that no side table is needed per job.
 * @internal
 */
export class JobRecord<T> implements Job<T> {
  state: JobState = 'ready';
  // Times are kept as ms since `config.epoch`: small integers that V8 stores inline, where
  // epoch-based timestamps would each cost a boxed number.
  private readonly created: number;
  /** Stamp of its current entry in the ready set; 0 when not ready. */
  stamp = 0;
  extra: JobExtra | undefined = undefined;
  /** Set once the job is delayed or started; a job that only waits never needs it. */
  private run: JobRun | undefined = undefined;

  /** The fields of a job in motion, allocated on first write. */
  private get moving(): JobRun {
    return (this.run ??= { attemptsMade: 0, due: undefined, processed: undefined, finished: undefined, slot: -1, current: undefined });
  }

  get attemptsMade(): number {
    return this.run?.attemptsMade ?? 0;
  }
  set attemptsMade(value: number) {
    if (value !== 0 || this.run !== undefined) this.moving.attemptsMade = value;
  }

  /** Position in the delayed or lease heap (a job is in at most one), -1 when in neither. */
  get slot(): number {
    return this.run?.slot ?? -1;
  }
  set slot(value: number) {
    if (value !== -1 || this.run !== undefined) this.moving.slot = value;
  }

  /** The lease object while reserved; a lease is current while it is the one here. */
  get current(): unknown {
    return this.run?.current;
  }
  set current(value: unknown) {
    if (value !== undefined || this.run !== undefined) this.moving.current = value;
  }

  get dueAt(): number {
    return this.run?.due ?? Infinity;
  }
  set dueAt(value: number) {
    const due = value === Infinity ? undefined : value;
    if (due !== undefined || this.run !== undefined) this.moving.due = due;
  }

  /** Reservations: attempts plus those given back uncounted or reset by a redrive. */
  get reserves(): number {
    return this.attemptsMade + (this.extra?.uncounted ?? 0);
  }

  constructor(
    readonly id: number,
    readonly data: T,
    public config: JobConfig,
    public priority: number,
    createdOn: number,
  ) {
    this.created = createdOn - config.epoch;
  }

  get createdOn(): number {
    return this.config.epoch + this.created;
  }
  get processedOn(): number | undefined {
    const processed = this.run?.processed;
    return processed === undefined ? undefined : this.config.epoch + processed;
  }
  set processedOn(value: number | undefined) {
    if (value !== undefined || this.run !== undefined) this.moving.processed = value === undefined ? undefined : value - this.config.epoch;
  }
  get finishedOn(): number | undefined {
    const finished = this.run?.finished;
    return finished === undefined ? undefined : this.config.epoch + finished;
  }
  set finishedOn(value: number | undefined) {
    if (value !== undefined || this.run !== undefined) this.moving.finished = value === undefined ? undefined : value - this.config.epoch;
  }

  /** The rare fields, allocated on first write. */
  get more(): JobExtra {
    return (this.extra ??= {
      delay: 0,
      dedupeId: undefined,
      errorList: undefined,
      deadReason: undefined,
      timeouts: 0,
      releases: 0,
      buries: 0,
      kicks: 0,
      uncounted: 0,
      group: undefined,
      holdsSlot: false,
      groupEntry: undefined,
    });
  }

  get queueName(): string {
    return this.config.queueName;
  }
  get maxAttempts(): number {
    return this.config.maxAttempts;
  }
  get ttr(): number {
    return this.config.ttr;
  }
  get timeout(): number {
    return this.config.timeout;
  }
  get ttl(): number {
    return this.config.ttl;
  }
  get delay(): number {
    return this.extra?.delay ?? 0;
  }
  get dedupeId(): string | undefined {
    return this.extra?.dedupeId;
  }
  get group(): string | undefined {
    return this.extra?.group;
  }
  /** Kept by the group dispatch; only jobs with a group ever hold a slot. */
  get holdsSlot(): boolean {
    return this.extra?.holdsSlot ?? false;
  }
  set holdsSlot(value: boolean) {
    if (value || this.extra !== undefined) this.more.holdsSlot = value;
  }
  get groupEntry(): unknown {
    return this.extra?.groupEntry;
  }
  set groupEntry(value: unknown) {
    this.more.groupEntry = value;
  }
  get errors(): readonly AttemptError[] {
    return this.extra?.errorList ?? noErrors;
  }
  get deadReason(): DeadReason | undefined {
    return this.extra?.deadReason;
  }
  get timeouts(): number {
    return this.extra?.timeouts ?? 0;
  }
  get releases(): number {
    return this.extra?.releases ?? 0;
  }
  get buries(): number {
    return this.extra?.buries ?? 0;
  }
  get kicks(): number {
    return this.extra?.kicks ?? 0;
  }

  snapshot(): JobSnapshot<T> {
    return {
      id: this.id,
      data: this.data,
      state: this.state,
      priority: this.priority,
      attemptsMade: this.attemptsMade,
      maxAttempts: this.maxAttempts,
      ttr: this.ttr,
      timeout: this.timeout,
      ttl: this.ttl,
      delay: this.delay,
      dedupeId: this.dedupeId,
      ...(this.group === undefined ? {} : { group: this.group }),
      createdOn: this.createdOn,
      processedOn: this.processedOn,
      finishedOn: this.finishedOn,
      dueAt: this.dueAt,
      errors: this.errors.map((e) => ({ ...e })),
      deadReason: this.deadReason,
      reserves: this.reserves,
      timeouts: this.timeouts,
      releases: this.releases,
      buries: this.buries,
      kicks: this.kicks,
    };
  }

  /**
   * Rebuilds a record from a snapshot (replay). Shares the queue's `shared` settings when
   * the job's are the same (most are), and allocates `extra` only for a job that uses it:
   * a million restored jobs then cost one object each, like a million added ones.
   */
  static fromSnapshot<T>(s: JobSnapshot<T>, shared: JobConfig): JobRecord<T> {
    const epoch = shared.epoch;
    // Times are stored relative to the epoch: share it only where that round-trips exactly.
    const config =
      s.maxAttempts === shared.maxAttempts &&
      s.ttr === shared.ttr &&
      s.timeout === shared.timeout &&
      s.ttl === shared.ttl &&
      roundTrips(epoch, s.createdOn) &&
      roundTrips(epoch, s.processedOn) &&
      roundTrips(epoch, s.finishedOn)
        ? shared
        : { queueName: shared.queueName, epoch: 0, maxAttempts: s.maxAttempts, ttr: s.ttr, timeout: s.timeout, ttl: s.ttl };
    const job = new JobRecord(s.id, s.data, config, s.priority, s.createdOn);
    job.state = s.state;
    job.attemptsMade = s.attemptsMade;
    job.dueAt = s.dueAt;
    job.processedOn = s.processedOn;
    job.finishedOn = s.finishedOn;
    const uncounted = s.reserves - s.attemptsMade;
    if (
      s.delay !== 0 ||
      s.dedupeId !== undefined ||
      s.group !== undefined ||
      s.errors.length !== 0 ||
      s.deadReason !== undefined ||
      s.timeouts !== 0 ||
      s.releases !== 0 ||
      s.buries !== 0 ||
      s.kicks !== 0 ||
      uncounted !== 0
    ) {
      job.extra = {
        delay: s.delay,
        dedupeId: s.dedupeId,
        errorList: s.errors.length === 0 ? undefined : s.errors.map((e) => ({ ...e })),
        deadReason: s.deadReason,
        timeouts: s.timeouts,
        releases: s.releases,
        buries: s.buries,
        kicks: s.kicks,
        uncounted,
        group: s.group,
        holdsSlot: false,
        groupEntry: undefined,
      };
    }
    return job;
  }
}
