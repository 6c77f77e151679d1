import { toError } from '../errors.js';
import type { RedisChannel } from './connection.js';
import { RedisConnectionError } from './connection.js';

/** What the wait needs from its queue. @internal */
export interface WakeHost {
  readonly wakeKey: string;
  /** A separate connection for the blocking wait. */
  blockingChannel(): Promise<RedisChannel>;
  commandChannel(): RedisChannel;
  report(error: Error): void;
}

/**
 * A consumer's wait on its queue's wake list, on a connection of its own (one per queue
 * object): adds push a token, and the wait's timeout is the next due delayed job or lease
 * deadline. Ended early at close with `CLIENT UNBLOCK`, so that it takes no token another
 * consumer may need.
 * @internal
 */
export class WakeWait {
  /** A wait is on (or about to be): meanwhile the consumer sends its acks on their own. */
  blocked = false;
  /** The connection id of the wait in flight, for `CLIENT UNBLOCK`. */
  private id: Promise<unknown> | undefined = undefined;
  private ending = false;

  constructor(private readonly host: WakeHost) {}

  /**
   * Waits until a token arrives or `wait` ms pass (-1: no limit). A token that arrives
   * when `stillWanted()` says no is passed on to another consumer.
   */
  async wait(wait: number, stillWanted: () => boolean): Promise<void> {
    if (this.ending) return;
    this.blocked = true;
    let channel: RedisChannel;
    try {
      channel = await this.host.blockingChannel();
    } catch (error) {
      this.blocked = false;
      if (!(error instanceof RedisConnectionError)) this.host.report(toError(error));
      await sleep(100);
      return;
    }
    const key = this.host.wakeKey;
    try {
      if (this.ending) return;
      const { id, reply } = channel.blocking(key, ['BLPOP', key, wait < 0 ? '0' : (wait / 1000).toFixed(3)], 'wait for jobs');
      this.id = id;
      const token = await reply;
      if (token !== null && !stillWanted()) await this.host.commandChannel().command(key, ['RPUSH', key, '1'], 'wake');
    } catch (error) {
      if (this.ending) return;
      if (!(error instanceof RedisConnectionError)) this.host.report(toError(error));
      await sleep(100);
    } finally {
      this.blocked = false;
    }
  }

  /** Ends the wait in flight, if any; no wait starts after this. */
  async end(): Promise<void> {
    this.ending = true;
    const id = await this.id?.catch(() => undefined);
    if (!this.blocked) return;
    const unblocked =
      id === undefined
        ? 0
        : await this.host
            .commandChannel()
            .command(this.host.wakeKey, ['CLIENT', 'UNBLOCK', String(id)], 'close')
            .catch(() => 0);
    // Some servers refuse to unblock (Redis Cluster nodes answer 0): then the connection
    // goes, and the wait with it.
    if (unblocked !== 1) (await this.host.blockingChannel()).target.destroy();
  }
}

export function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}
