import type { Codec } from '../codec.js';
import type { JobView } from '../contract.js';
import type { AttemptError, JobSnapshot } from '../job.js';
import type { QueueStats } from '../queue-stats.js';
import type { DeadReason, JobState } from '../lifecycle.js';
import { RedisReplyError } from './connection.js';

// Script replies as the queue's types. Pure: no I/O.

/**
 * A job as Redis holds it, read in one script call: the core job's fields (times are Redis
 * server time) but the push `timeout`, which is the consuming process's, and `dueAt`.
 */
export type RedisJobInfo<T> = Readonly<Omit<JobSnapshot<T>, 'timeout' | 'dueAt'>>;

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

/**
 * The queue's counts and counters, from Redis: the counters count since the queue was first
 * used, by every process.
 */
export type RedisQueueStats = Pick<
  QueueStats,
  'name' | 'ready' | 'urgent' | 'delayed' | 'reserved' | 'buried' | 'isPaused' | 'added' | 'completed' | 'failed' | 'retried' | 'dead' | 'leaseTimeouts'
>;

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
