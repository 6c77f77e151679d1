import { LeaseExpiredError } from '../../errors.js';
import { ClientConnection, type ConnectionSettings, type Interpret } from './connection.js';
import { ConnectionError } from './errors.js';
import { RemoteJob, replyError, type Consumer, type JobHost } from './remote-job.js';
import { toSeconds } from './options.js';
import { ReplyCode } from './reply-parser.js';

interface PooledConsumer extends Consumer {
  /** Destroyed on purpose (an aborted wait, close): its end is not a failure. */
  retiring: boolean;
}

const noop = (): void => {};

// A function, not an inline test: TypeScript would narrow `signal.aborted` across awaits.
function isAborted(signal: AbortSignal | undefined): boolean {
  return signal?.aborted === true;
}

/**
 * The consumer side's connections. beanstalkd answers a connection's commands in order
 * and a blocking `reserve` holds up everything behind it, while `delete`/`release` of a
 * job must go over the connection that reserved it. So:
 *
 * - jobs are taken with non-blocking polls (`reserve-with-timeout 0`), pipelined on a
 *   connection that is not blocked; under load every consumer slot shares one connection;
 * - when a poll finds nothing, ONE slot blocks (`reserve`) on a connection that holds no
 *   job and has nothing queued, and the others park; a job arriving wakes two parked
 *   slots, each successful poll wakes two more, so a burst refills every slot quickly
 *   while a trickle costs a couple of polls per job;
 * - connections are opened lazily; in the worst case (every slot holding a job reserved
 *   by a blocking wait) there is one per slot, plus the waiter.
 */
export class ConsumerPool<T> {
  private readonly consumers: PooledConsumer[] = [];
  private parked: Array<() => void> = [];
  private waiterActive = false;
  private stopped = false;
  private readonly settings: ConnectionSettings;
  private readonly setup: readonly string[];
  private readonly host: JobHost<T>;
  private readonly onFatal: (error: Error) => void;
  private readonly onDisconnect: (error: Error) => void;
  /** How many connections share the polls under load. */
  pollConnections = 1;

  constructor(
    settings: ConnectionSettings,
    setup: readonly string[],
    host: JobHost<T>,
    hooks: { onFatal(error: Error): void; onDisconnect(error: Error): void },
  ) {
    this.settings = settings;
    this.setup = setup;
    this.host = host;
    this.onFatal = hooks.onFatal;
    this.onDisconnect = hooks.onDisconnect;
  }

  /** Open consumer connections (for tests and stats). */
  get size(): number {
    return this.consumers.length;
  }

  /** Leases held over all connections. */
  get held(): number {
    let held = 0;
    for (const consumer of this.consumers) held += consumer.held;
    return held;
  }

  /** The next job for a `process()` slot; `undefined` once stopped. */
  async next(): Promise<RemoteJob<T> | undefined> {
    for (;;) {
      if (this.stopped) return undefined;
      const job = await this.poll(this.pollTarget());
      if (job !== undefined) {
        this.wake(2);
        return job;
      }
      if (this.stopped) return undefined;
      if (this.waiterActive) {
        await new Promise<void>((resolve) => this.parked.push(resolve));
        continue;
      }
      this.waiterActive = true;
      try {
        const waited = await this.block(this.freeConsumer(), undefined);
        if (waited !== undefined) return waited;
      } catch (error) {
        if (this.stopped) return undefined;
        throw error;
      } finally {
        this.waiterActive = false;
        this.wake(2);
      }
    }
  }

  /**
   * A pull reservation: one poll, then (unless `timeout` is 0) a blocking reserve of its
   * own, rounded up to whole seconds. Aborting closes that waiting connection (the
   * protocol has no way to cancel a reserve); the server gives back anything it had just
   * reserved on it.
   */
  async reserve(timeout: number | undefined, signal: AbortSignal | undefined): Promise<RemoteJob<T> | undefined> {
    if (this.stopped || isAborted(signal)) return undefined;
    const job = await this.poll(this.pollTarget());
    if (job !== undefined || timeout === 0 || this.stopped || isAborted(signal)) return job;
    const consumer = this.freeConsumer();
    const pending = this.block(consumer, timeout === undefined || timeout === Infinity ? undefined : toSeconds(timeout));
    const onAbort = (): void => this.retire(consumer, new ConnectionError('reserve aborted'));
    signal?.addEventListener('abort', onAbort, { once: true });
    try {
      return await pending;
    } catch (error) {
      if (this.stopped || isAborted(signal)) return undefined;
      throw error;
    } finally {
      signal?.removeEventListener('abort', onAbort);
    }
  }

  /** Stops handing out jobs: parked slots leave, blocking waits are cut. */
  stop(): void {
    if (this.stopped) return;
    this.stopped = true;
    this.wake(this.parked.length);
    for (const consumer of [...this.consumers]) {
      if (consumer.blocking) this.retire(consumer, new ConnectionError('queue closed'));
    }
  }

  /**
   * Closes every connection: gracefully (pending acks answered) when `graceful`, else at
   * once. Leases still held are lost and their signals aborted; the server gives the
   * jobs back without counting an attempt.
   */
  async close(graceful: boolean): Promise<void> {
    this.stop();
    const consumers = [...this.consumers];
    if (graceful) await Promise.all(consumers.map((consumer) => consumer.conn.close()));
    for (const consumer of consumers) this.retire(consumer, new ConnectionError('queue closed'));
  }

  // --- commands -------------------------------------------------------------------

  private poll(consumer: PooledConsumer): Promise<RemoteJob<T> | undefined> {
    consumer.polls++;
    const conn = consumer.conn;
    conn.text('reserve-with-timeout 0').end();
    return conn.expect(this.interpretPoll, consumer);
  }

  private block(consumer: PooledConsumer, seconds: number | undefined): Promise<RemoteJob<T> | undefined> {
    consumer.blocking = true;
    const conn = consumer.conn;
    if (seconds === undefined) conn.text('reserve').end();
    else conn.text('reserve-with-timeout ').num(seconds).end();
    return conn.expect(this.interpretBlock, consumer);
  }

  private readonly interpretPoll: Interpret<RemoteJob<T> | undefined> = (code, value, data, context, error) => {
    const consumer = context as PooledConsumer;
    consumer.polls--;
    return this.received(consumer, code, value, data, error);
  };

  private readonly interpretBlock: Interpret<RemoteJob<T> | undefined> = (code, value, data, context, error) => {
    const consumer = context as PooledConsumer;
    consumer.blocking = false;
    return this.received(consumer, code, value, data, error);
  };

  private received(consumer: PooledConsumer, code: number, value: number, data: Buffer | undefined, error: Error | undefined): RemoteJob<T> | undefined {
    if (code === ReplyCode.Reserved && data !== undefined) {
      consumer.held++;
      return new RemoteJob(this.host, consumer, value, data);
    }
    // DEADLINE_SOON: a job held on this connection is in its last second; the caller
    // moves on to a connection that holds nothing, where it cannot happen.
    if (code === ReplyCode.TimedOut || code === ReplyCode.DeadlineSoon) return undefined;
    throw replyError(code, 'reserve', error);
  }

  // --- connections ----------------------------------------------------------------

  /**
   * A connection to take the next poll: the least busy of those not blocked, opening
   * another while fewer than `pollConnections` exist. Several connections let the server
   * work on one batch while this process handles the replies of another; on a single
   * connection the two take turns.
   */
  private pollTarget(): PooledConsumer {
    let best: PooledConsumer | undefined;
    let bestLoad = Infinity;
    let usable = 0;
    for (const consumer of this.consumers) {
      if (consumer.blocking || consumer.conn.isDead) continue;
      usable++;
      const load = consumer.polls + consumer.held;
      if (load < bestLoad) {
        best = consumer;
        bestLoad = load;
      }
    }
    if (best === undefined || (bestLoad > 0 && usable < this.pollConnections)) return this.create();
    return best;
  }

  /** A connection where a blocking reserve delays nothing: no lease, nothing queued. */
  private freeConsumer(): PooledConsumer {
    for (let i = this.consumers.length - 1; i >= 0; i--) {
      const consumer = this.consumers[i];
      if (!consumer.blocking && consumer.held === 0 && consumer.polls === 0 && consumer.conn.pending === 0 && !consumer.conn.isDead) {
        return consumer;
      }
    }
    return this.create();
  }

  private create(): PooledConsumer {
    let consumer: PooledConsumer;
    const conn = new ClientConnection(this.settings, {
      setup: this.setup,
      onDrop: (error) => {
        this.lost(consumer, error);
        this.onDisconnect(error);
      },
      onDead: (error) => {
        this.lost(consumer, error);
        const index = this.consumers.indexOf(consumer);
        if (index >= 0) this.consumers.splice(index, 1);
        if (!consumer.retiring && !this.stopped) this.onFatal(error);
      },
    });
    consumer = { conn, held: 0, polls: 0, blocking: false, watched: new Set(), retiring: false };
    this.consumers.push(consumer);
    // A failure to connect ends in onDead (reconnect policy exhausted).
    conn.start(true).catch(noop);
    return consumer;
  }

  private retire(consumer: PooledConsumer, error: Error): void {
    consumer.retiring = true;
    consumer.conn.destroy(error);
  }

  /** The connection is gone: its leases are lost and their holders told. */
  private lost(consumer: PooledConsumer, error: Error): void {
    consumer.held = 0;
    if (consumer.watched.size === 0) return;
    const reason = new LeaseExpiredError('lease lost: the connection that reserved the job dropped', { cause: error });
    const watched = [...consumer.watched];
    consumer.watched.clear();
    for (const job of watched) job.abort(reason);
  }

  private wake(n: number): void {
    for (let i = 0; i < n && this.parked.length > 0; i++) this.parked.shift()?.();
  }
}
