import type { Clock } from './clock.js';
import { systemClock } from './clock.js';
import { InvalidOptionError } from './errors.js';
import type { Job } from './job.js';
import type { RateLimit } from './rate-limiter.js';
import type { Backoff } from './retry.js';
import type { Store } from './store.js';
import { type CronRuleFactory, SCHEDULE_KEY_PREFIX } from './schedule-slots.js';
import type { Queue } from './queue.js';

/** Largest priority: the protocol's unsigned 32-bit range. */
export const MAX_PRIORITY = 2 ** 32 - 1;
/** The default priority, mid-range so work can be queued above and below it (beanstalkd's "urgent" line). */
export const DEFAULT_PRIORITY = 1024;

/** Retry policy of a queue. */
export interface RetryOptions<T> {
  /**
   * Deliveries a job gets before it is dead-lettered. Every reservation counts: a failure,
   * a timeout, an expired lease and a release each use one. `Infinity` retries forever.
   * @defaultValue 1
   */
  attempts?: number;
  /**
   * Wait before a failed job is ready again.
   * @defaultValue 0 (ready again at once)
   * @example { type: 'exponential', delay: 100, max: 30_000, jitter: true }
   */
  backoff?: Backoff;
  /**
   * Decides whether a failure may be retried at all; `false` dead-letters the job as
   * `'unrecoverable'`. {@link UnrecoverableError} never is.
   * @defaultValue retry every error
   */
  retryIf?: (error: Error, job: Job<T>) => boolean;
}

/** What happens to a job whose attempts are exhausted (a dead letter). */
export interface DeadLetterOptions<T> {
  /** Called once per dead job, after it is buried (or moved). */
  onDead?: (job: Job<T>) => void;
  /** Moves dead jobs into this queue (their payload, as a new job) instead of keeping them buried here. */
  queue?: Queue<T>;
}

/** Options of `new Queue()`. Every one is optional. */
export interface QueueOptions<T> {
  /** A name for events, stats and tubes. @defaultValue 'default' */
  name?: string;
  /** Handlers that `process()` runs at once. @defaultValue 1 */
  concurrency?: number;
  /** Retry policy. @defaultValue one attempt, no backoff */
  retry?: RetryOptions<T>;
  /**
   * Time limit of one push attempt in ms; past it the handler's `signal` aborts and the
   * attempt fails with `JobTimeoutError`. @defaultValue Infinity (none)
   */
  timeout?: number;
  /** Lease of a pulled job in ms (beanstalkd's TTR): unacknowledged past it, the job is redelivered. @defaultValue 30_000 */
  ttr?: number;
  /** Most jobs the queue holds (waiting plus in flight); buried ones do not count. @defaultValue Infinity */
  maxSize?: number;
  /** At `maxSize`, `add` waits for room (`'wait'`) or rejects with `QueueFullError` (`'reject'`). @defaultValue 'wait' */
  onFull?: 'wait' | 'reject';
  /** Dead-letter handling. @defaultValue keep dead jobs buried */
  deadLetter?: DeadLetterOptions<T>;
  /** Time source. @defaultValue systemClock */
  clock?: Clock;
  /** Random source for jitter, in [0, 1). @defaultValue Math.random */
  random?: () => number;
  /** Where every state change is recorded (the journal). @defaultValue none (memory only) */
  store?: Store<T>;
  /**
   * Rebuilds the cron rules of schedules restored from a journal: pass `cron` from
   * `docket/cron`. Opening a journal that holds a cron schedule without it fails with an
   * `InvalidOptionError` naming the schedules. @defaultValue none (`every` rules only)
   */
  cron?: CronRuleFactory;
  /**
   * Jobs of one group (`add(data, { group })`) that may hold a slot at once: 1 runs each
   * group strictly in order. `setGroupConcurrency(group, n)` overrides it for one group.
   * @defaultValue 1
   */
  groupConcurrency?: number;
  /**
   * Whether a started job of a group keeps its slot until it completes, is dead-lettered or
   * removed: a retry waiting for its backoff (or a released job) then holds back the
   * group's later jobs, so order is kept. `false` frees the slot when each attempt ends.
   * @defaultValue true
   */
  strictGroups?: boolean;
  /**
   * At most `max` jobs of the queue start in any `duration` ms (a sliding window). Jobs
   * over the limit wait; none is dropped. @defaultValue none
   * @example { max: 100, duration: 1000 }
   */
  limiter?: RateLimit;
  /**
   * At most `max` jobs of each group start in any `duration` ms (a sliding window per
   * group). @defaultValue none
   * @example { max: 10, duration: 1000 } // 10 a second per customer
   */
  groupLimit?: RateLimit;
}

/** Options of one job. */
export interface AddOptions {
  /** Unsigned 32-bit; lower runs first, FIFO among equals. @defaultValue 1024 */
  priority?: number;
  /** Ms before the job becomes ready. @defaultValue 0 */
  delay?: number;
  /** Overrides the queue's `retry.attempts` for this job. */
  attempts?: number;
  /** Overrides the queue's `ttr` (lease, ms) for this job. */
  ttr?: number;
  /** Overrides the queue's `timeout` (ms) for this job. */
  timeout?: number;
  /** Ms the job may wait before it starts; later it is dead-lettered as `'expired'`. @defaultValue Infinity */
  ttl?: number;
  /** Deduplication key: adding a key that is still in the queue returns the existing job. */
  id?: string;
  /**
   * The job's group, a non-empty string: jobs of a group run in order (priority, then
   * age), at most `groupConcurrency` at once, and groups take turns. @defaultValue none
   */
  group?: string;
}

/** {@link QueueOptions} with every default filled in. */
export interface ResolvedQueueOptions<T> {
  name: string;
  concurrency: number;
  attempts: number;
  backoff: Backoff;
  retryIf: ((error: Error, job: Job<T>) => boolean) | undefined;
  timeout: number;
  ttr: number;
  maxSize: number;
  onFull: 'wait' | 'reject';
  onDead: ((job: Job<T>) => void) | undefined;
  deadLetterQueue: Queue<T> | undefined;
  clock: Clock;
  random: () => number;
  store: Store<T> | undefined;
  groupConcurrency: number;
  strictGroups: boolean;
  limiter: RateLimit | undefined;
  groupLimit: RateLimit | undefined;
}

/** The defaults, in one place. */
export const DEFAULTS = {
  name: 'default',
  concurrency: 1,
  attempts: 1,
  backoff: 0,
  timeout: Infinity,
  ttr: 30_000,
  maxSize: Infinity,
  onFull: 'wait',
  priority: DEFAULT_PRIORITY,
  groupConcurrency: 1,
  strictGroups: true,
} as const;

function show(value: unknown): string {
  if (typeof value === 'string') return JSON.stringify(value);
  if (typeof value === 'bigint') return `${value}n`;
  if (typeof value === 'object' && value !== null) {
    try {
      return JSON.stringify(value);
    } catch {
      return Object.prototype.toString.call(value);
    }
  }
  return String(value);
}

function invalid(name: string, expected: string, value: unknown): InvalidOptionError {
  return new InvalidOptionError(`Expected \`${name}\` to be ${expected}, got \`${show(value)}\` (${value === null ? 'null' : typeof value})`);
}

/**
 * Refuses the `add` options of the in-process queue that another home has no way to keep
 * (`unsupported`), naming the first one found: code written against the core queue must not
 * lose an option on the way (an order per group, a dedupe id, an attempt budget) without
 * being told.
 */
export function refuseUnsupportedAddOptions(options: object, unsupported: readonly (keyof AddOptions)[], home: string): void {
  for (const name of unsupported) {
    if ((options as Record<string, unknown>)[name] !== undefined) {
      throw new InvalidOptionError(`\`${name}\` is not supported by ${home}: it is an option of the in-process Queue`);
    }
  }
}

/** A whole number in [min, max]; `Infinity` passes when `max` is `Infinity`. */
export function checkInteger(name: string, value: unknown, min: number, max: number): number {
  if (typeof value !== 'number' || !(value >= min && value <= max) || (value !== Infinity && !Number.isInteger(value))) {
    throw invalid(name, `an integer from ${min} to ${max === Infinity ? 'Infinity' : max}`, value);
  }
  return value;
}

/** A duration in ms: finite or Infinity, not negative, not NaN. */
export function checkDuration(name: string, value: unknown, min = 0): number {
  if (typeof value !== 'number' || !(value >= min)) {
    throw invalid(name, `a number of milliseconds >= ${min}`, value);
  }
  return value;
}

export function checkPriority(name: string, value: unknown): number {
  return checkInteger(name, value, 0, MAX_PRIORITY);
}

function checkBackoff(value: unknown): Backoff {
  if (typeof value === 'function') return value as Backoff;
  if (typeof value === 'number') return checkDuration('retry.backoff', value);
  if (typeof value === 'object' && value !== null) {
    const { type, delay, max, jitter } = value as Record<string, unknown>;
    if (type !== 'fixed' && type !== 'linear' && type !== 'exponential') {
      throw invalid('retry.backoff.type', "'fixed', 'linear' or 'exponential'", type);
    }
    checkDuration('retry.backoff.delay', delay);
    if (max !== undefined) checkDuration('retry.backoff.max', max);
    if (jitter !== undefined && typeof jitter !== 'boolean') throw invalid('retry.backoff.jitter', 'a boolean', jitter);
    return value as Backoff;
  }
  throw invalid('retry.backoff', 'a number, a { type, delay } object or a function', value);
}

function optionalFunction<F>(name: string, value: unknown): F | undefined {
  if (value !== undefined && typeof value !== 'function') throw invalid(name, 'a function', value);
  return value as F | undefined;
}

/** Fills in defaults and validates; throws {@link InvalidOptionError} naming the first bad option. */
export function resolveOptions<T>(options: QueueOptions<T> = {}): ResolvedQueueOptions<T> {
  if (typeof options !== 'object' || options === null) throw invalid('options', 'an object', options);
  const retry = options.retry ?? {};
  const deadLetter = options.deadLetter ?? {};
  const name = options.name ?? DEFAULTS.name;
  if (typeof name !== 'string' || name.length === 0) throw invalid('name', 'a non-empty string', name);
  const onFull = options.onFull ?? DEFAULTS.onFull;
  if (onFull !== 'wait' && onFull !== 'reject') throw invalid('onFull', "'wait' or 'reject'", onFull);
  const strictGroups = options.strictGroups ?? DEFAULTS.strictGroups;
  if (typeof strictGroups !== 'boolean') throw invalid('strictGroups', 'a boolean', strictGroups);
  const clock = options.clock ?? systemClock;
  if (typeof clock.now !== 'function' || typeof clock.setTimer !== 'function') throw invalid('clock', 'a Clock', clock);
  return {
    name,
    concurrency: checkInteger('concurrency', options.concurrency ?? DEFAULTS.concurrency, 1, Infinity),
    attempts: checkInteger('retry.attempts', retry.attempts ?? DEFAULTS.attempts, 1, Infinity),
    backoff: checkBackoff(retry.backoff ?? DEFAULTS.backoff),
    retryIf: optionalFunction('retry.retryIf', retry.retryIf),
    timeout: checkDuration('timeout', options.timeout ?? DEFAULTS.timeout, 1),
    ttr: checkDuration('ttr', options.ttr ?? DEFAULTS.ttr, 1),
    maxSize: checkInteger('maxSize', options.maxSize ?? DEFAULTS.maxSize, 1, Infinity),
    onFull,
    onDead: optionalFunction('deadLetter.onDead', deadLetter.onDead),
    deadLetterQueue: deadLetter.queue,
    clock,
    random: optionalFunction('random', options.random) ?? Math.random,
    store: options.store,
    groupConcurrency: checkInteger('groupConcurrency', options.groupConcurrency ?? DEFAULTS.groupConcurrency, 1, Infinity),
    strictGroups,
    limiter: options.limiter === undefined ? undefined : checkRateLimit('limiter', options.limiter),
    groupLimit: options.groupLimit === undefined ? undefined : checkRateLimit('groupLimit', options.groupLimit),
  };
}

/** Validates per-job options (the hot path skips this when there are none). */
export function checkAddOptions(options: AddOptions): void {
  if (typeof options !== 'object' || options === null) throw invalid('options', 'an object', options);
  if (options.priority !== undefined) checkPriority('priority', options.priority);
  if (options.delay !== undefined) checkDuration('delay', options.delay);
  if (options.attempts !== undefined) checkInteger('attempts', options.attempts, 1, Infinity);
  if (options.ttr !== undefined) checkDuration('ttr', options.ttr, 1);
  if (options.timeout !== undefined) checkDuration('timeout', options.timeout, 1);
  if (options.ttl !== undefined) checkDuration('ttl', options.ttl, 1);
  if (options.id !== undefined && (typeof options.id !== 'string' || options.id.length === 0)) {
    throw invalid('id', 'a non-empty string', options.id);
  }
  if (options.id?.startsWith(SCHEDULE_KEY_PREFIX) === true) {
    throw invalid('id', `a key not starting with ${JSON.stringify(SCHEDULE_KEY_PREFIX)} (kept for schedules)`, options.id);
  }
  if (options.group !== undefined) checkGroup('group', options.group);
}

/** A {@link RateLimit}: `max` an integer >= 1, `duration` a finite number of ms >= 1. */
export function checkRateLimit(name: string, value: unknown): RateLimit {
  if (typeof value !== 'object' || value === null) throw invalid(name, 'a { max, duration } object', value);
  const { max, duration } = value as Record<string, unknown>;
  checkInteger(`${name}.max`, max, 1, Number.MAX_SAFE_INTEGER);
  if (typeof duration !== 'number' || !Number.isFinite(duration) || duration < 1) {
    throw invalid(`${name}.duration`, 'a finite number of milliseconds >= 1', duration);
  }
  return { max: max as number, duration };
}

/** A group name: a non-empty string. */
export function checkGroup(name: string, value: unknown): string {
  if (typeof value !== 'string' || value.length === 0) throw invalid(name, 'a non-empty string', value);
  return value;
}

/** Options of {@link Queue.reserve}. */
export interface ReserveOptions {
  /** Ms to wait for a job; then `reserve` resolves `undefined`. @defaultValue Infinity */
  timeout?: number;
  /** Stops waiting (resolving `undefined`) when aborted. */
  signal?: AbortSignal;
  /** This lease's length in ms. @defaultValue the job's `ttr` */
  ttr?: number;
}

/** Options of {@link Queue.close}. */
export interface CloseOptions {
  /**
   * Ms to wait for running handlers and outstanding leases to settle; the rest are then
   * given back (released without using an attempt) and their signals aborted.
   * @defaultValue 10_000
   */
  timeout?: number;
}
