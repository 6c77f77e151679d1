import type { Percentiles } from '../latency.js';
import type { JobState } from '../lifecycle.js';
import { listen } from './listen.js';
import type { JobDetail, JobSummary } from './present.js';
import { detail, summarize, withServerRecord } from './present.js';
import { RateMeter } from './rate-meter.js';
import type { JobQueue } from '../contract.js';
import type { DashboardJob, DashboardQueue, DashboardStats } from './types.js';

/** The states a job can be listed in. */
export const STATES: readonly JobState[] = ['ready', 'delayed', 'reserved', 'buried'];

/**
 * What the page may offer for a queue beyond the contract's members (which every queue
 * has): each is a {@link QueueInsight} member.
 */
export interface Capabilities {
  /** `'all'`: every job of a state, paginated (`listJobs`); `'first'`: the one job a peek shows. */
  list: 'all' | 'first';
  /** `changePriority`. */
  priority: boolean;
  /** Buried jobs paginated even without `listJobs` (`deadLetters.list`). */
  deadLetterList: boolean;
}

/** A queue on the overview. */
export interface QueueSummary {
  name: string;
  counts: Record<JobState, number>;
  paused: boolean | undefined;
  added: number | undefined;
  completed: number | undefined;
  failed: number | undefined;
  retried: number | undefined;
  dead: number | undefined;
  /** Completed (or, for a queue that does not count completions, added) jobs per second over the last seconds. */
  throughput: { completedPerSecond: number | undefined; addedPerSecond: number | undefined };
  waitTime: Percentiles | undefined;
  runTime: Percentiles | undefined;
  capabilities: Capabilities;
}

/** A page of a state's jobs. */
export interface JobPage {
  state: JobState;
  offset: number;
  limit: number;
  total: number;
  jobs: JobSummary[];
  capabilities: Capabilities;
}

/** Progress reports kept per queue (the latest per job), so a job's page can show it. */
const MAX_PROGRESS = 1000;

/**
 * One queue as the dashboard sees it: reads through whatever members the queue has, and
 * the actions those members allow.
 */
export class QueueView {
  readonly capabilities: Capabilities;
  private readonly completedRate = new RateMeter();
  private readonly addedRate = new RateMeter();
  private readonly progress = new Map<number, { value: unknown; at: number }>();
  private readonly unlisten: Array<() => void>;

  private readonly queue: DashboardQueue;

  constructor(
    readonly name: string,
    queue: JobQueue<unknown>,
    private readonly now: () => number,
  ) {
    // The insight members are optional and checked before each use.
    this.queue = queue as DashboardQueue;
    this.capabilities = {
      list: typeof this.queue.listJobs === 'function' ? 'all' : 'first',
      priority: typeof this.queue.changePriority === 'function',
      deadLetterList: typeof this.queue.listJobs === 'function' || typeof this.queue.deadLetters.list === 'function',
    };
    this.unlisten = [
      listen(queue, 'progress', (job: DashboardJob, value: unknown) => {
        this.progress.delete(job.id);
        this.progress.set(job.id, { value, at: this.now() });
        if (this.progress.size > MAX_PROGRESS) this.progress.delete(this.progress.keys().next().value as number);
      }),
      listen(queue, 'completed', (job: DashboardJob) => this.progress.delete(job.id)),
    ];
  }

  /** Stops listening to the queue. */
  close(): void {
    for (const undo of this.unlisten) undo();
  }

  async summary(): Promise<QueueSummary> {
    const s: DashboardStats = await this.queue.stats();
    const now = this.now();
    return {
      name: this.name,
      counts: { ready: s.ready, delayed: s.delayed, reserved: s.reserved, buried: s.buried },
      paused: s.isPaused ?? (s.pausedFor === undefined ? undefined : s.pausedFor > 0),
      added: s.added,
      completed: s.completed,
      failed: s.failed,
      retried: s.retried,
      dead: s.dead,
      throughput: {
        completedPerSecond: s.completed === undefined ? undefined : this.completedRate.read(now, s.completed),
        addedPerSecond: this.addedRate.read(now, s.added),
      },
      waitTime: s.waitTime,
      runTime: s.runTime,
      capabilities: this.capabilities,
    };
  }

  async list(state: JobState, offset: number, limit: number): Promise<JobPage> {
    const stats = await this.queue.stats();
    const jobs = await this.jobsIn(state, offset, limit);
    return { state, offset, limit, total: stats[state], jobs: jobs.map(summarize), capabilities: this.capabilities };
  }

  private async jobsIn(state: JobState, offset: number, limit: number): Promise<readonly DashboardJob[]> {
    if (this.queue.listJobs !== undefined) return this.queue.listJobs(state, { offset, limit });
    const dead = this.queue.deadLetters;
    if (state === 'buried' && dead.list !== undefined) {
      const jobs = await dead.list({ offset, limit });
      return jobs.length > limit ? jobs.slice(offset, offset + limit) : jobs;
    }
    if (offset > 0 || limit === 0) return [];
    const first = await this.peekFirst(state);
    return first === undefined ? [] : [await this.withRecord(first)];
  }

  private async peekFirst(state: JobState): Promise<DashboardJob | undefined> {
    const q = this.queue;
    if (state === 'ready') return q.peekReady();
    if (state === 'delayed') return q.peekDelayed();
    if (state === 'buried') return q.peekBuried();
    return undefined; // no protocol peeks at reserved jobs
  }

  private async withRecord(job: DashboardJob): Promise<DashboardJob> {
    if (this.queue.jobStats === undefined) return job;
    return withServerRecord(job, await this.queue.jobStats(job.id), this.now());
  }

  async job(id: number): Promise<JobDetail | undefined> {
    const job = await this.queue.peek(id);
    if (job === undefined) return undefined;
    return detail(await this.withRecord(job), this.progress.get(id));
  }

  // ── actions: each resolves whether (or how many) it moved ──

  async redrive(id: number): Promise<boolean> {
    return (await this.queue.deadLetters.redrive([id])) === 1;
  }

  async kick(id: number): Promise<boolean> {
    return this.queue.kickJob(id);
  }

  async remove(id: number): Promise<boolean> {
    return this.queue.remove(id);
  }

  async changePriority(id: number, priority: number): Promise<boolean> {
    if (this.queue.changePriority === undefined) return false;
    await this.queue.changePriority(id, priority);
    return true;
  }

  async setPaused(paused: boolean): Promise<true> {
    await (paused ? this.queue.pause() : this.queue.resume());
    return true;
  }

  /** Redrives every dead letter; resolves how many. */
  async redriveDead(): Promise<number> {
    return this.queue.deadLetters.redrive();
  }

  /** Deletes every dead letter; resolves how many. */
  async removeDead(): Promise<number> {
    return this.queue.deadLetters.purge();
  }

  /** Deletes every job in `state` (not reserved ones: those belong to a consumer); resolves how many. */
  async purge(state: Exclude<JobState, 'reserved'>): Promise<number> {
    return state === 'buried' ? this.removeDead() : this.removeAll(state);
  }

  private async removeAll(state: JobState): Promise<number> {
    const q = this.queue;
    // Bounded by the count at the start, so jobs arriving meanwhile cannot keep it going.
    let budget = (await q.stats())[state];
    let removed = 0;
    while (budget > 0) {
      const batch = q.listJobs !== undefined ? await q.listJobs(state, { offset: 0, limit: Math.min(budget, 500) }) : [await this.peekFirst(state)];
      let progressed = false;
      for (const job of batch) {
        if (job === undefined) continue;
        budget--;
        if (await q.remove(job.id)) {
          removed++;
          progressed = true;
        }
      }
      if (!progressed) break;
    }
    return removed;
  }
}
