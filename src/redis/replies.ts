import type { Codec } from '../codec.js';
import type { JobView } from '../contract.js';
import type { AttemptError } from '../job.js';
import type { DeadReason, JobState } from '../lifecycle.js';
import { RedisReplyError } from './connection.js';

// Script replies as the queue's types. Pure: no I/O.

/** A job as Redis holds it: every field, read in one script call. */
export interface RedisJobInfo<T> extends JobView<T> {
  readonly state: JobState;
  readonly priority: number;
  /** Reservations that counted as attempts so far. */
  readonly attemptsMade: number;
  /** Attempts allowed before the job is dead-lettered (`Infinity`: unlimited). */
  readonly maxAttempts: number;
  /** Lease length, ms. */
  readonly ttr: number;
  /** Ms the job may wait before its first start (`Infinity`: forever). */
  readonly ttl: number;
  /** The delay last asked for, ms. */
  readonly delay: number;
  readonly dedupeId: string | undefined;
  /** Redis server time, ms since the epoch. */
  readonly createdOn: number;
  /** When its latest attempt started. */
  readonly processedOn: number | undefined;
  /** When it was buried. */
  readonly finishedOn: number | undefined;
  /** Every failed attempt's error, oldest first. */
  readonly errors: readonly AttemptError[];
  readonly deadReason: DeadReason | undefined;
  /** Times reserved (each one a fencing token), leases run out, released, buried, kicked. */
  readonly reserves: number;
  readonly timeouts: number;
  readonly releases: number;
  readonly buries: number;
  readonly kicks: number;
}

/** A retained completed job (`keepCompleted`). */
export interface CompletedJob<T> extends JobView<T> {
  attemptsMade: number;
  createdOn: number;
  finishedOn: number;
  /** The handler's result or `ack(result)`, as JSON text (`undefined` when it had none or was not JSON). */
  result: string | undefined;
}

function text(value: unknown): string {
  return Buffer.isBuffer(value) ? value.toString() : String(value);
}

/** A job hash's field/value list (HGETALL plus its id) as a job; `undefined` for an empty one. */
export function parseJob<T>(reply: unknown, codec: Codec<T>): RedisJobInfo<T> | undefined {
  if (!Array.isArray(reply)) throw new RedisReplyError(`expected a job's fields, got ${typeof reply}`);
  if (reply.length === 0) return undefined;
  const fields = new Map<string, unknown>();
  for (let i = 0; i + 1 < reply.length; i += 2) fields.set(text(reply[i]), reply[i + 1]);
  const str = (name: string): string | undefined => (fields.has(name) ? text(fields.get(name)) : undefined);
  const num = (name: string, otherwise = 0): number => {
    const value = str(name);
    return value === undefined ? otherwise : Number(value);
  };
  const optional = (name: string): number | undefined => (fields.has(name) ? num(name) : undefined);
  const body = fields.get('data');
  const bytes = Buffer.isBuffer(body) ? body : Buffer.from(text(body ?? ''));
  const max = num('max');
  const errors = str('errors');
  return {
    id: num('id'),
    data: codec.decode(bytes),
    state: (str('state') ?? 'ready') as JobState,
    priority: num('pri'),
    attemptsMade: num('attempts'),
    maxAttempts: max === 0 ? Infinity : max,
    ttr: num('ttr'),
    ttl: num('ttl', Infinity),
    delay: num('delay'),
    dedupeId: str('dedupe'),
    createdOn: num('created'),
    processedOn: optional('started'),
    finishedOn: optional('finished'),
    errors: errors === undefined ? [] : (JSON.parse(errors) as AttemptError[]),
    deadReason: str('reason') as DeadReason | undefined,
    reserves: num('reserves'),
    timeouts: num('timeouts'),
    releases: num('releases'),
    buries: num('buries'),
    kicks: num('kicks'),
  };
}

/** One retained completed job (a JSON record written by the take script). */
export function parseCompleted<T>(reply: unknown, codec: Codec<T>): CompletedJob<T> {
  const record = JSON.parse(text(reply)) as { id: number; data: string; attempts: number; created: number; finished: number; result: string };
  return {
    id: record.id,
    data: codec.decode(Buffer.from(record.data)),
    attemptsMade: record.attempts,
    createdOn: record.created,
    finishedOn: record.finished,
    result: record.result === '' ? undefined : record.result,
  };
}

/** The counts and counters of the stats script. */
export interface RedisQueueStats {
  name: string;
  ready: number;
  /** Ready jobs with priority below 1024. */
  urgent: number;
  delayed: number;
  reserved: number;
  buried: number;
  isPaused: boolean;
  /** Since the queue was first used, by every process. */
  added: number;
  completed: number;
  /** Failed attempts (errors, timeouts, lost leases). */
  failed: number;
  retried: number;
  /** Jobs buried, any reason. */
  dead: number;
  /** Leases that ran out (a worker died or hung). */
  leaseTimeouts: number;
}

export function parseStats(name: string, reply: unknown): RedisQueueStats {
  const n = (reply as unknown[]).map((value) => Number(value));
  const at = (i: number): number => n[i] ?? 0;
  return {
    name,
    ready: at(0),
    urgent: at(1),
    delayed: at(2),
    reserved: at(3),
    buried: at(4),
    isPaused: at(5) === 1,
    added: at(6),
    completed: at(7),
    failed: at(8),
    retried: at(9),
    dead: at(10),
    leaseTimeouts: at(11),
  };
}
