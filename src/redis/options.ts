import type { Codec } from '../codec.js';
import { jsonCodec } from '../codec.js';
import { InvalidOptionError } from '../errors.js';
import { type AddOptions, checkDuration, checkInteger, checkPriority, DEFAULTS, refuseUnsupportedAddOptions } from '../options.js';
import type { Backoff } from '../retry.js';
import type { RedisClientLike, RedisClusterLike } from './connection.js';

/** Where the queue's Redis is: exactly one of `url`, `client`, `cluster`. */
export interface RedisConnectionOptions {
  /** `redis://[user:password@]host:port[/db]` (or `rediss://`): docket makes the client and closes it with the queue. */
  url?: string;
  /** A node-redis client (connected or not). It stays yours: `close()` does not close it. */
  client?: RedisClientLike;
  /**
   * A node-redis cluster object (it stays yours), or the URLs of some of its nodes
   * (docket makes the cluster client and closes it with the queue).
   */
  cluster?: RedisClusterLike | readonly string[];
}

/** Options of {@link openRedisQueue}. */
export interface RedisQueueOptions<T> extends RedisConnectionOptions {
  /** The queue's name: the same name on the same Redis is the same queue, from any process. @defaultValue 'default' */
  name?: string;
  /** First part of every key (`<prefix>:{<name>}:...`). @defaultValue 'docket' */
  prefix?: string;
  /** Payloads to bytes and back. @defaultValue JSON */
  codec?: Codec<T>;
  /**
   * Handlers `process()` runs at once in this process, at most {@link MAX_REDIS_CONCURRENCY}
   * (each slot holds a lease taken from Redis; `Infinity` is refused). @defaultValue 1
   */
  concurrency?: number;
  /** Retry policy, applied by the process whose attempt failed. */
  retry?: {
    /** Deliveries before a job is dead-lettered (failures, timeouts, lost leases, releases). @defaultValue 1 */
    attempts?: number;
    /** Wait before a failed job is ready again. @defaultValue 0 */
    backoff?: Backoff;
    /** Whether a failure may be retried at all; `false` dead-letters it as `'unrecoverable'`. */
    retryIf?: (error: Error, job: { id: number; data: T; attemptsMade: number }) => boolean;
  };
  /**
   * Lease length in ms of the jobs this queue object adds (a job keeps its own, whoever
   * reserves it). A job whose lease runs out (its worker died or hung) is given to
   * another worker and counts as an attempt. `process()` renews its jobs' leases while
   * the handler runs, so a long handler keeps its job. @defaultValue 30_000
   */
  ttr?: number;
  /** Time limit of one `process()` attempt in ms; past it the signal aborts and the attempt fails. @defaultValue Infinity */
  timeout?: number;
  /** Priority of jobs added without one. @defaultValue 1024 */
  priority?: number;
  /** Completed jobs to keep (newest first, for a dashboard); acked jobs are otherwise deleted. @defaultValue 0 */
  keepCompleted?: number;
  /** Approximate length of the event stream other processes read; `0` writes no events. @defaultValue 10_000 */
  eventsMaxLength?: number;
}

/** Options of {@link RedisQueue.add}: the contract's, plus those only a queue with its own records has. */
export interface RedisAddOptions {
  /** Unsigned 32-bit; lower runs first, FIFO among equals. @defaultValue the queue's `priority` */
  priority?: number;
  /** Ms before the job is ready. @defaultValue 0 */
  delay?: number;
  /** Lease length of this job, ms. @defaultValue the queue's `ttr` */
  ttr?: number;
  /** Deliveries before this job is dead-lettered. @defaultValue the queue's `retry.attempts` */
  attempts?: number;
  /** Ms the job may wait before it first starts; later it is dead-lettered as `'expired'`. @defaultValue Infinity */
  ttl?: number;
  /** Deduplication key: adding a key that is still in the queue returns the job already there. */
  id?: string;
}

/** @internal */
export interface ResolvedRedisOptions<T> {
  name: string;
  prefix: string;
  codec: Codec<T>;
  concurrency: number;
  attempts: number;
  backoff: Backoff;
  retryIf: ((error: Error, job: { id: number; data: T; attemptsMade: number }) => boolean) | undefined;
  ttr: number;
  timeout: number;
  priority: number;
  keepCompleted: number;
  eventsMaxLength: number;
}

function invalid(name: string, expected: string, value: unknown): InvalidOptionError {
  return new InvalidOptionError(`Expected \`${name}\` to be ${expected}, got \`${String(value)}\` (${typeof value})`);
}

/** A finite whole number of ms (Redis keeps times as integers). */
export function checkMs(name: string, value: unknown, min = 0): number {
  const ms = checkDuration(name, value, min);
  if (!Number.isFinite(ms)) throw invalid(name, 'a finite number of milliseconds', value);
  return Math.ceil(ms);
}

/**
 * The most `process()` slots a Redis queue object runs at once: every slot is a lease taken
 * from Redis, asked for by count in a take, so it must be a finite number.
 */
export const MAX_REDIS_CONCURRENCY = 10_000;

/** `concurrency` of a Redis queue, checked. */
export function checkRedisConcurrency(value: unknown): number {
  return checkInteger('concurrency', value, 1, MAX_REDIS_CONCURRENCY);
}

/** Fills in defaults and validates; throws {@link InvalidOptionError} naming the first bad option. */
export function resolveRedisOptions<T>(options: RedisQueueOptions<T>): ResolvedRedisOptions<T> {
  if (typeof options !== 'object' || options === null) throw invalid('options', 'an object', options);
  const given = [options.url, options.client, options.cluster].filter((value) => value !== undefined).length;
  if (given !== 1) throw new InvalidOptionError(`Expected exactly one of \`url\`, \`client\`, \`cluster\`, got ${given}`);
  if (options.url !== undefined && (typeof options.url !== 'string' || !/^rediss?:\/\//.test(options.url))) {
    throw invalid('url', 'a redis:// or rediss:// URL', options.url);
  }
  const name = options.name ?? DEFAULTS.name;
  if (typeof name !== 'string' || name.length === 0 || /[{}]/.test(name)) throw invalid('name', 'a non-empty string without braces', name);
  const prefix = options.prefix ?? 'docket';
  if (typeof prefix !== 'string' || prefix.length === 0 || /[{}]/.test(prefix)) throw invalid('prefix', 'a non-empty string without braces', prefix);
  const codec = options.codec ?? (jsonCodec as Codec<T>);
  if (typeof codec.encode !== 'function' || typeof codec.decode !== 'function') throw invalid('codec', 'a Codec', codec);
  const retry = options.retry ?? {};
  const retryIf = retry.retryIf;
  if (retryIf !== undefined && typeof retryIf !== 'function') throw invalid('retry.retryIf', 'a function', retryIf);
  const backoff = retry.backoff ?? 0;
  if (typeof backoff === 'number') checkDuration('retry.backoff', backoff);
  else if (typeof backoff !== 'function' && (typeof backoff !== 'object' || backoff === null)) {
    throw invalid('retry.backoff', 'a number, a { type, delay } object or a function', backoff);
  }
  return {
    name,
    prefix,
    codec,
    concurrency: checkRedisConcurrency(options.concurrency ?? DEFAULTS.concurrency),
    attempts: checkInteger('retry.attempts', retry.attempts ?? DEFAULTS.attempts, 1, Infinity),
    backoff,
    retryIf,
    ttr: checkMs('ttr', options.ttr ?? DEFAULTS.ttr, 1),
    timeout: checkDuration('timeout', options.timeout ?? DEFAULTS.timeout, 1),
    priority: checkPriority('priority', options.priority ?? DEFAULTS.priority),
    keepCompleted: checkInteger('keepCompleted', options.keepCompleted ?? 0, 0, 2 ** 31 - 1),
    eventsMaxLength: checkInteger('eventsMaxLength', options.eventsMaxLength ?? 10_000, 0, 2 ** 31 - 1),
  };
}

/** Core `add` options a Redis job has no field for. */
const REDIS_UNSUPPORTED: readonly (keyof AddOptions)[] = ['group', 'timeout'];

/** The 7 script fields of one job (see scripts/add.ts). @internal */
export function jobFields<T>(
  data: T,
  options: RedisAddOptions | undefined,
  resolved: ResolvedRedisOptions<T>,
): [Buffer, string, string, string, string, string, string] {
  if (options !== undefined && (typeof options !== 'object' || options === null)) throw invalid('options', 'an object', options);
  const bytes = resolved.codec.encode(data);
  const body = Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  if (options === undefined) return [body, String(resolved.priority), '0', String(resolved.ttr), maxField(resolved.attempts), '0', ''];
  refuseUnsupportedAddOptions(options, REDIS_UNSUPPORTED, 'the Redis queue');
  const priority = options.priority === undefined ? resolved.priority : checkPriority('priority', options.priority);
  const delay = options.delay === undefined ? 0 : checkMs('delay', options.delay);
  const ttr = options.ttr === undefined ? resolved.ttr : checkMs('ttr', options.ttr, 1);
  const attempts = options.attempts === undefined ? resolved.attempts : checkInteger('attempts', options.attempts, 1, Infinity);
  const ttl = options.ttl === undefined || options.ttl === Infinity ? 0 : checkMs('ttl', options.ttl, 1);
  const id = options.id;
  if (id !== undefined && (typeof id !== 'string' || id.length === 0)) throw invalid('id', 'a non-empty string', id);
  return [body, String(priority), String(delay), String(ttr), maxField(attempts), String(ttl), id ?? ''];
}

/** Attempts as the scripts keep them: 0 for unlimited. */
function maxField(attempts: number): string {
  return attempts === Infinity ? '0' : String(attempts);
}
