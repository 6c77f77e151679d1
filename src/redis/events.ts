import { EventEmitter } from 'node:events';
import { toError } from '../errors.js';
import type { DeadReason } from '../lifecycle.js';
import { RedisConnectionError, type RedisChannel } from './connection.js';
import { queueKeys } from './keys.js';
import { openChannel } from './open.js';
import type { RedisConnectionOptions } from './options.js';

/** One entry of the queue's event stream. */
export interface RedisQueueEvent {
  /** The job's id (0 for queue-wide events: paused, resumed). */
  id: number;
  /** The stream entry id: `<ms>-<seq>`, Redis server time. */
  entry: string;
}

/** Every state change of a queue, from every process using it. */
export interface RedisQueueEventMap {
  added: [event: RedisQueueEvent];
  /** An attempt started. */
  active: [event: RedisQueueEvent];
  completed: [event: RedisQueueEvent];
  /** An attempt failed: an error, a timeout, or a lease that ran out (its worker died or hung). */
  failed: [event: RedisQueueEvent & { error: string; attempt: number }];
  retrying: [event: RedisQueueEvent & { delay: number }];
  dead: [event: RedisQueueEvent & { reason: DeadReason }];
  kicked: [event: RedisQueueEvent];
  removed: [event: RedisQueueEvent];
  paused: [event: RedisQueueEvent];
  resumed: [event: RedisQueueEvent];
  /** Reading the stream failed for another reason than a dropped connection (that one is retried). */
  error: [error: Error];
}

type EventName = Exclude<keyof RedisQueueEventMap, 'error'>;
const NAMES = new Set<string>(['added', 'active', 'completed', 'failed', 'retrying', 'dead', 'kicked', 'removed', 'paused', 'resumed']);
const NUMERIC = new Set(['attempt', 'delay', 'id']);

/** Options of {@link watchRedisQueue}. */
export interface WatchOptions extends RedisConnectionOptions {
  /** The queue's name. @defaultValue 'default' */
  name?: string;
  /** The queue's key prefix. @defaultValue 'docket' */
  prefix?: string;
  /** `'new'`: events from now on; `'all'`: every event the capped stream still holds first. @defaultValue 'new' */
  from?: 'new' | 'all';
}

function text(value: unknown): string {
  return Buffer.isBuffer(value) ? value.toString() : String(value);
}

/** The entries of an XREAD reply, RESP2 (arrays) or RESP3 (a map by key). @internal */
export function streamEntries(reply: unknown): Array<[string, unknown[]]> {
  if (reply === null || reply === undefined) return [];
  let streams: unknown[];
  if (Array.isArray(reply)) streams = reply.map((stream) => (stream as unknown[])[1]);
  else if (reply instanceof Map) streams = [...reply.values()];
  else streams = Object.values(reply as Record<string, unknown>);
  const entries: Array<[string, unknown[]]> = [];
  for (const stream of streams) for (const entry of stream as unknown[][]) entries.push([text(entry[0]), entry[1] as unknown[]]);
  return entries;
}

/**
 * A queue's events, as every process sees them (like BullMQ's QueueEvents): read from the
 * queue's capped stream on a connection of its own. Made by {@link watchRedisQueue}.
 */
export class RedisQueueEvents extends EventEmitter<RedisQueueEventMap> {
  private closing = false;
  /** The connection id of the read in flight: `close()` unblocks it. */
  private reading: Promise<unknown> | undefined = undefined;
  private readonly done: Promise<void>;

  /** @internal */
  constructor(
    private readonly channel: RedisChannel,
    private readonly command: RedisChannel,
    private readonly key: string,
    private last: string,
    private readonly closeOwned: () => Promise<void>,
  ) {
    super();
    this.done = this.read();
  }

  /** Stops reading and closes the connections it opened. */
  async close(): Promise<void> {
    if (this.closing) return this.done;
    this.closing = true;
    // No read starts once closing is set; the one in flight (if any) is ended here.
    const id = await this.reading?.catch(() => undefined);
    const unblocked = id === undefined ? 0 : await this.command.command(this.key, ['CLIENT', 'UNBLOCK', String(id)], 'close').catch(() => 0);
    // Some servers refuse to unblock (Redis Cluster nodes answer 0): then the connection goes.
    if (unblocked !== 1) this.channel.target.destroy();
    await this.done;
    this.channel.target.destroy();
    await this.closeOwned();
  }

  private async read(): Promise<void> {
    while (!this.closing) {
      try {
        const { id, reply } = this.channel.blocking(this.key, ['XREAD', 'COUNT', '1000', 'BLOCK', '0', 'STREAMS', this.key, this.last], 'read events');
        this.reading = id;
        const entries = streamEntries(await reply);
        for (const [entry, fields] of entries) {
          this.last = entry;
          this.dispatch(entry, fields);
        }
      } catch (error) {
        if (this.closing) return;
        if (!(error instanceof RedisConnectionError)) this.emit('error', toError(error));
        await new Promise((resolve) => setTimeout(resolve, 100));
      }
    }
  }

  private dispatch(entry: string, fields: unknown[]): void {
    const event: Record<string, unknown> = { entry };
    let name: string | undefined;
    for (let i = 0; i + 1 < fields.length; i += 2) {
      const field = text(fields[i]);
      const value = text(fields[i + 1]);
      if (field === 'event') name = value;
      else event[field] = NUMERIC.has(field) ? Number(value) : value;
    }
    if (name !== undefined) {
      if (NAMES.has(name)) this.deliver(name as EventName, event);
      return;
    }
    // The hot events (added, active, completed) of one script call share an entry: each
    // field is an event, its value the ids of its jobs, in the order they happened.
    for (let i = 0; i + 1 < fields.length; i += 2) {
      const field = text(fields[i]);
      if (!NAMES.has(field)) continue;
      for (const id of text(fields[i + 1]).split(',')) this.deliver(field as EventName, { entry, id: Number(id) });
    }
  }

  private deliver(name: EventName, event: Record<string, unknown>): void {
    try {
      (this.emit as (event: EventName, payload: unknown) => boolean)(name, event);
    } catch (error) {
      // A throwing listener must not stop the stream for the others.
      if (this.listenerCount('error') > 0) this.emit('error', toError(error));
      else process.emitWarning(toError(error), { code: 'DOCKET_REDIS' });
    }
  }
}

/**
 * Listens to every event of the queue `name`, from every process using it.
 *
 * @example
 * ```ts
 * const events = await watchRedisQueue({ url: 'redis://127.0.0.1:6379', name: 'mail' });
 * events.on('dead', ({ id, reason }) => console.log(`job ${id} is a dead letter: ${reason}`));
 * ```
 */
export async function watchRedisQueue(options: WatchOptions): Promise<RedisQueueEvents> {
  const keys = queueKeys(options.prefix ?? 'docket', options.name ?? 'default');
  let events: RedisQueueEvents | undefined;
  // Connection failures are retried by node-redis; they reach listeners of 'error' only if there are any.
  const { channel, owned } = await openChannel(options, (error) => {
    if (events !== undefined && events.listenerCount('error') > 0) events.emit('error', error);
  });
  const blocking = await channel.duplicate(() => undefined);
  // "From now" as a concrete entry id, so that a reconnect resumes where reading was.
  const newest = streamEntries([
    [keys.events, (await channel.command(keys.events, ['XREVRANGE', keys.events, '+', '-', 'COUNT', '1'], 'read events')) as unknown[]],
  ]);
  const start = options.from === 'all' ? '0-0' : (newest[0]?.[0] ?? '0-0');
  events = new RedisQueueEvents(blocking, channel, keys.events, start, async () => {
    if (owned) await channel.target.close();
  });
  return events;
}
