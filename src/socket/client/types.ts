import type { QueueStats } from '../../queue-stats.js';
import type { RemoteJob } from './remote-job.js';
import { replyError } from './remote-job.js';
import type { Interpret } from './connection.js';
import { parseYamlList, parseYamlMap } from './yaml-reader.js';
import { ReplyCode } from './reply-parser.js';

// The remote queue's result types, and how the replies of its producer-side commands
// become them.

/** Options of {@link RemoteQueue.add}: like the core `AddOptions`, in ms. */
export interface RemoteAddOptions {
  /** u32, lower runs first. @defaultValue the `priority` option of `connect` (1024) */
  priority?: number;
  /** Ms before the job is ready; sent rounded up to whole seconds. @defaultValue the `delay` option (0) */
  delay?: number;
  /** Lease length in ms; sent rounded up to whole seconds, at least 1 s. @defaultValue the `ttr` option (30 s) */
  ttr?: number;
}

/** What `add` resolves to: the server's id and what was sent. */
export interface AddedJob<T> {
  /** The server's job id. */
  id: number;
  data: T;
  priority: number;
  /** Requested delay, ms. */
  delay: number;
  /** Requested ttr, ms. */
  ttr: number;
  /** `'buried'` when the server had no room to queue it (`BURIED <id>`). */
  state: 'ready' | 'delayed' | 'buried';
}

/**
 * The tube's counts, from `stats-tube`: the counts a local queue's `stats()` has too
 * (`added` counts jobs the tube received since the server started), plus the tube's
 * connections.
 */
export interface RemoteQueueStats extends Pick<QueueStats, 'name' | 'ready' | 'urgent' | 'delayed' | 'reserved' | 'buried' | 'added' | 'waitingConsumers'> {
  /** Connections using, watching and waiting in `reserve` on the tube. */
  using: number;
  watching: number;
  /** Ms left of a `pause-tube`. */
  pausedFor: number;
}

/** A job as seen by `peek`: no lease. */
export interface PeekedJob<T> {
  id: number;
  data: T;
}

/** The push consumer: returning (or resolving) acks the job, throwing fails the attempt. */
export type RemoteHandler<T, R = unknown> = (job: RemoteJob<T>, context: RemoteJob<T>) => R | PromiseLike<R>;

/** Events of {@link RemoteQueue}. */
export interface RemoteQueueEvents<T> {
  /** A `process()` handler returned and the job was deleted. */
  completed: [job: RemoteJob<T>, result: unknown];
  /** A `process()` handler threw; the job was released or buried (`retry` option). */
  failed: [job: RemoteJob<T>, error: Error];
  /** A `process()` job's lease was lost (its connection dropped, or its ttr ran out) before it could be settled. */
  lost: [job: RemoteJob<T>, error: Error];
  /** A handler called `job.progress(value)`. */
  progress: [job: RemoteJob<T>, value: unknown];
  /** A connection dropped; the client is reconnecting. */
  disconnected: [error: Error];
  /** A failure with no other channel (a throwing listener, a connection that gave up). Without a listener it becomes a process warning. */
  error: [error: Error];
}

export const interpretPut: Interpret<AddedJob<unknown>> = (code, value, _data, context, error) => {
  const job = context as AddedJob<unknown>;
  if (code === ReplyCode.Inserted) {
    job.id = value;
    return job;
  }
  if (code === ReplyCode.Buried && value >= 0) {
    job.id = value;
    job.state = 'buried';
    return job;
  }
  throw replyError(code, 'put', error);
};

export const interpretStatsTube: Interpret<Map<string, string> | undefined> = (code, _value, data, _context, error) => {
  if (code === ReplyCode.NotFound) return undefined;
  if (code !== ReplyCode.Ok || data === undefined) throw replyError(code, 'stats-tube', error);
  return parseYamlMap(data);
};

export const interpretTubeList: Interpret<string[]> = (code, _value, data, _context, error) => {
  if (code !== ReplyCode.Ok || data === undefined) throw replyError(code, 'list-tubes', error);
  return parseYamlList(data);
};

export const interpretPeek: Interpret<{ id: number; bytes: Buffer } | undefined> = (code, value, data, _context, error) => {
  if (code === ReplyCode.NotFound) return undefined;
  if (code !== ReplyCode.Found || data === undefined) throw replyError(code, 'peek', error);
  return { id: value, bytes: data };
};

export const interpretKick: Interpret<number> = (code, value, _data, _context, error) => {
  if (code === ReplyCode.Kicked && value >= 0) return value;
  throw replyError(code, 'kick', error);
};

export const interpretFound: Interpret<boolean> = (code, _value, _data, context, error) => {
  if (code === ReplyCode.NotFound) return false;
  if (code === (context as number)) return true;
  throw replyError(code, 'command', error);
};
