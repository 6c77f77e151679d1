import type { IncomingMessage } from 'node:http';
import type { JobQueue, JobView } from '../contract.js';
import type { AttemptError } from '../job.js';
import type { Percentiles } from '../latency.js';
import type { DeadReason, JobState } from '../lifecycle.js';

/** A value or a promise of it: the in-process queue answers at once, remote homes asynchronously. */
export type MaybePromise<X> = X | Promise<X>;

/**
 * A job as the dashboard reads it: the contract's `JobView` (all a beanstalkd `peek`
 * returns); every other field is shown when the queue provides it.
 */
export interface DashboardJob extends JobView<unknown> {
  readonly state?: JobState;
  readonly priority?: number;
  readonly attemptsMade?: number;
  readonly maxAttempts?: number;
  readonly ttr?: number;
  readonly timeout?: number;
  readonly ttl?: number;
  readonly delay?: number;
  readonly dedupeId?: string | undefined;
  /** Its group, for homes that have groups (the in-process queue). */
  readonly group?: string | undefined;
  readonly createdOn?: number;
  readonly processedOn?: number | undefined;
  readonly finishedOn?: number | undefined;
  readonly dueAt?: number;
  readonly errors?: readonly AttemptError[];
  readonly deadReason?: DeadReason | undefined;
  readonly reserves?: number;
  readonly timeouts?: number;
  readonly releases?: number;
  readonly buries?: number;
  readonly kicks?: number;
}

/** A server's record of a job (beanstalkd `stats-job`), times in ms: what a remote queue can say besides the payload. */
export interface DashboardJobStats {
  state: JobState;
  priority: number;
  /** Ms since it was added. */
  age: number;
  delay: number;
  ttr: number;
  /** Ms until a delayed job is due or a reservation ends. */
  timeLeft: number;
  reserves: number;
  timeouts: number;
  releases: number;
  buries: number;
  kicks: number;
}

/**
 * The counts every home reports (`JobQueueStats`) and the counters and latencies the
 * dashboard shows when a home reports them too (a beanstalkd tube counts no completions).
 */
export interface DashboardStats {
  ready: number;
  delayed: number;
  reserved: number;
  buried: number;
  added: number;
  completed?: number;
  failed?: number;
  retried?: number;
  dead?: number;
  isPaused?: boolean;
  /** Ms left of a beanstalkd `pause-tube`. */
  pausedFor?: number;
  waitTime?: Percentiles;
  runTime?: Percentiles;
}

/**
 * Members beyond the queue contract that the dashboard uses when a queue has them (it
 * checks for each at run time). The in-process `Queue` has `listJobs` and
 * `changePriority`; the socket client's `RemoteQueue` has `jobStats`; the Redis queue has
 * `deadLetters.list`.
 */
export interface QueueInsight {
  /**
   * A page of the jobs in a state. Without it, a state's list shows the one job
   * `peekReady` / `peekDelayed` / `peekBuried` returns (all a beanstalkd server offers).
   */
  listJobs?(state: JobState, range: { offset: number; limit: number }): MaybePromise<readonly DashboardJob[]>;
  /** The server's record of a job, for a queue whose `peek` returns only the payload. */
  jobStats?(id: number): MaybePromise<DashboardJobStats | undefined>;
  /** Changes a waiting job's priority. */
  changePriority?(id: number, priority: number): MaybePromise<void>;
  /**
   * Dead letters with their records, a page at a time (the Redis queue has it), for the
   * buried list of a queue without `listJobs`. A `list` that returns more than `limit`
   * jobs is taken as the whole list and paged by the dashboard.
   */
  readonly deadLetters?: { list?(range: { offset: number; limit: number }): MaybePromise<readonly DashboardJob[]> };
}

/** A queue of any home (`Queue`, `RemoteQueue`, the Redis queue), with whatever {@link QueueInsight} members it has. */
export type DashboardQueue = JobQueue<unknown> & QueueInsight;

/** Whether a request reads (pages, the API's GETs, `/metrics`) or acts (the API's POSTs). */
export type Access = 'read' | 'act';

/** Options of {@link dashboard}. */
export interface DashboardOptions {
  /** The queues to show, by the name the page gives them. */
  queues: Readonly<Record<string, JobQueue<unknown>>>;
  /**
   * Allows the buttons and POST endpoints that change queues (redrive, remove, kick,
   * priority, pause/resume, purge). Read-only otherwise.
   * @defaultValue false
   */
  actions?: boolean;
  /**
   * Decides each request, before anything else runs: `false` answers 403. Use it for
   * your own session or token check; `access` says whether the request would change a queue.
   * @defaultValue every request allowed
   */
  authorize?: (req: IncomingMessage, access: Access) => MaybePromise<boolean>;
  /**
   * The path the dashboard lives under when the handler sees full URLs (`node:http`,
   * Fastify, Hono). Leave it empty under Express's `app.use(path, ...)`, which strips the path.
   * @defaultValue ''
   * @example '/admin/queues'
   */
  basePath?: string;
  /**
   * Origins (`https://ops.example.com`) allowed to POST besides the request's own host:
   * for a proxy that rewrites `Host`.
   * @defaultValue []
   */
  allowedOrigins?: readonly string[];
  /**
   * Called with an unexpected error while answering a request (the client only gets
   * "internal error", never the error itself).
   * @defaultValue writes a process warning
   */
  onError?: (error: Error, req: IncomingMessage) => void;
  /**
   * How often the page's live stream sends fresh counts, ms.
   * @defaultValue 1000
   */
  refreshInterval?: number;
}
