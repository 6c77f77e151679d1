import type { Job } from '../../src/job.js';

// A reference model of the durable part of a queue, owned by the tests: what each job must
// look like after a restart, computed from the operations alone (not from the queue, not
// from the journal's replay). It follows the documented lifecycle: a reservation is an
// attempt; release, fail and bury count as the docs say; a job reserved when the process
// died comes back ready with its lease counted as a timeout, or buried as 'lease-expired'
// after its last attempt.

/** The fields of a job that a restart must give back exactly. */
export interface ModelJob {
  id: number;
  data: unknown;
  state: 'ready' | 'delayed' | 'reserved' | 'buried';
  priority: number;
  attemptsMade: number;
  maxAttempts: number;
  ttr: number;
  ttl: number;
  delay: number;
  dedupeId: string | undefined;
  /** Delayed: when it becomes ready; else Infinity (a restored lease is gone). */
  dueAt: number;
  createdOn: number;
  processedOn: number | undefined;
  finishedOn: number | undefined;
  errors: Array<{ attempt: number; name: string; message: string; at: number }>;
  deadReason: string | undefined;
  reserves: number;
  timeouts: number;
  releases: number;
  buries: number;
  kicks: number;
}

export interface ModelAddOptions {
  priority?: number;
  delay?: number;
  attempts: number;
  ttr: number;
  ttl?: number;
  dedupeId?: string;
}

/** The queue's fields in the model's shape (a reserved job as a restart would turn it). */
export function observe(job: Job<unknown>): ModelJob {
  return {
    id: job.id,
    data: job.data,
    state: job.state,
    priority: job.priority,
    attemptsMade: job.attemptsMade,
    maxAttempts: job.maxAttempts,
    ttr: job.ttr,
    ttl: job.ttl,
    delay: job.delay,
    dedupeId: job.dedupeId,
    dueAt: job.state === 'delayed' ? job.dueAt : Infinity,
    createdOn: job.createdOn,
    processedOn: job.processedOn,
    finishedOn: job.finishedOn,
    errors: job.errors.map(({ attempt, name, message, at }) => ({ attempt, name, message, at })),
    deadReason: job.deadReason,
    reserves: job.reserves,
    timeouts: job.timeouts,
    releases: job.releases,
    buries: job.buries,
    kicks: job.kicks,
  };
}

export class QueueModel {
  readonly jobs = new Map<number, ModelJob>();
  /** Buried ids, oldest burial first (what `kick` takes). */
  private buried: number[] = [];

  /** @param backoff - the fixed retry delay of the queue under test */
  constructor(private readonly backoff: number) {}

  clone(): QueueModel {
    const copy = new QueueModel(this.backoff);
    for (const [id, job] of this.jobs) copy.jobs.set(id, { ...job, errors: [...job.errors] });
    copy.buried = [...this.buried];
    return copy;
  }

  get(id: number): ModelJob {
    const job = this.jobs.get(id);
    if (job === undefined) throw new Error(`model: no job ${id}`);
    return job;
  }

  /** Ids in a state, ascending. */
  ids(state?: ModelJob['state']): number[] {
    return [...this.jobs.values()].filter((job) => state === undefined || job.state === state).map((job) => job.id);
  }

  withDedupeId(key: string): ModelJob | undefined {
    for (const job of this.jobs.values()) if (job.dedupeId === key) return job;
    return undefined;
  }

  add(id: number, data: unknown, options: ModelAddOptions, now: number): void {
    const delay = options.delay ?? 0;
    this.jobs.set(id, {
      id,
      data,
      state: delay > 0 ? 'delayed' : 'ready',
      priority: options.priority ?? 1024,
      attemptsMade: 0,
      maxAttempts: options.attempts,
      ttr: options.ttr,
      ttl: options.ttl ?? Infinity,
      delay,
      dedupeId: options.dedupeId,
      dueAt: delay > 0 ? now + delay : Infinity,
      createdOn: now,
      processedOn: undefined,
      finishedOn: undefined,
      errors: [],
      deadReason: undefined,
      reserves: 0,
      timeouts: 0,
      releases: 0,
      buries: 0,
      kicks: 0,
    });
  }

  /** `reserveJob(id)` of a ready or delayed job. */
  reserve(id: number, now: number): void {
    const job = this.get(id);
    job.state = 'reserved';
    job.dueAt = Infinity;
    job.attemptsMade++;
    job.reserves++;
    job.processedOn = now;
  }

  ack(id: number): void {
    this.jobs.delete(id);
  }

  remove(id: number): void {
    this.jobs.delete(id);
    this.buried = this.buried.filter((other) => other !== id);
  }

  release(id: number, options: { delay?: number; priority?: number }, now: number): void {
    const job = this.get(id);
    if (options.priority !== undefined) job.priority = options.priority;
    job.releases++;
    if (job.attemptsMade >= job.maxAttempts) return this.bury(job, 'released', now);
    this.putBack(job, options.delay ?? 0, now);
  }

  fail(id: number, message: string, now: number): void {
    const job = this.get(id);
    job.errors.push({ attempt: job.attemptsMade, name: 'Error', message, at: now });
    if (job.attemptsMade >= job.maxAttempts) return this.bury(job, 'failed', now);
    this.putBack(job, this.backoff, now);
  }

  /** `lease.bury(reason, { priority })`. */
  buryLease(id: number, reason: string | undefined, priority: number | undefined, now: number): void {
    const job = this.get(id);
    if (priority !== undefined) job.priority = priority;
    if (reason !== undefined) job.errors.push({ attempt: job.attemptsMade, name: 'Buried', message: reason, at: now });
    this.bury(job, 'manual', now);
  }

  kickJob(id: number): void {
    const job = this.get(id);
    if (job.state === 'buried') {
      job.attemptsMade = 0;
      job.deadReason = undefined;
      job.finishedOn = undefined;
      this.buried = this.buried.filter((other) => other !== id);
    }
    job.kicks++;
    job.state = 'ready';
    job.dueAt = Infinity;
  }

  /** `kick(bound)`: buried jobs, oldest first, if there are any; else delayed ones, soonest first. */
  kick(bound: number): void {
    if (this.buried.length > 0) {
      for (const id of this.buried.slice(0, bound)) this.kickJob(id);
      return;
    }
    const delayed = [...this.jobs.values()].filter((job) => job.state === 'delayed').sort((a, b) => a.dueAt - b.dueAt);
    if (new Set(delayed.slice(0, bound + 1).map((job) => job.dueAt)).size < Math.min(bound + 1, delayed.length)) {
      throw new Error('model: kick(bound) among delayed jobs due at the same time is not modelled');
    }
    for (const job of delayed.slice(0, bound)) this.kickJob(job.id);
  }

  changePriority(id: number, priority: number): void {
    this.get(id).priority = priority;
  }

  /** The clock moved to `now`: delayed jobs that are due become ready. */
  advance(now: number): void {
    for (const job of this.jobs.values()) {
      if (job.state === 'delayed' && job.dueAt <= now) {
        job.state = 'ready';
        job.dueAt = Infinity;
      }
    }
  }

  /** What a restart makes of the jobs: every lease is gone (counted as a timeout). */
  afterRestart(): Map<number, ModelJob> {
    const out = new Map<number, ModelJob>();
    for (const [id, job] of this.jobs) {
      const copy = { ...job, errors: [...job.errors] };
      if (copy.state === 'reserved') {
        copy.timeouts++;
        copy.state = copy.attemptsMade >= copy.maxAttempts ? 'buried' : 'ready';
        if (copy.state === 'buried') copy.deadReason = 'lease-expired';
      }
      out.set(id, copy);
    }
    return out;
  }

  /** The model of the restarted queue. */
  restarted(): QueueModel {
    const next = new QueueModel(this.backoff);
    for (const [id, job] of this.afterRestart()) next.jobs.set(id, job);
    next.buried = [
      ...this.buried,
      ...[...this.jobs.values()].filter((job) => job.state === 'reserved' && next.get(job.id).state === 'buried').map((job) => job.id),
    ];
    return next;
  }

  private putBack(job: ModelJob, delay: number, now: number): void {
    job.delay = delay;
    job.state = delay > 0 ? 'delayed' : 'ready';
    job.dueAt = delay > 0 ? now + delay : Infinity;
  }

  private bury(job: ModelJob, reason: string, now: number): void {
    job.state = 'buried';
    job.dueAt = Infinity;
    job.deadReason = reason;
    job.finishedOn = now;
    job.buries++;
    this.buried.push(job.id);
  }
}
