import { createClient, createCluster } from 'redis';
import { RedisChannel, type RedisClientLike, type RedisClusterLike } from './connection.js';
import { resolveRedisOptions, type RedisConnectionOptions, type RedisQueueOptions } from './options.js';
import { RedisQueue } from './queue.js';

/**
 * Command options of the clients docket makes. No per-command timeout: node-redis 6 arms
 * one (5 s by default) on every command, which costs more CPU than the rest of a round
 * trip, and only bounds how long a command waits unsent while the connection is down;
 * docket's commands wait for the reconnect instead (those on the wire when it drops
 * still reject). A client you pass keeps its own settings.
 */
const OWN_COMMANDS = { timeout: 0 } as const;

/** A channel to the Redis the options name, and whether docket opened it (and so closes it). @internal */
export async function openChannel(options: RedisConnectionOptions, onError: (error: Error) => void): Promise<{ channel: RedisChannel; owned: boolean }> {
  let target: RedisClientLike | RedisClusterLike;
  let isCluster: boolean;
  let owned: boolean;
  if (options.url !== undefined) {
    target = createClient({ url: options.url, commandOptions: OWN_COMMANDS }) as unknown as RedisClientLike;
    isCluster = false;
    owned = true;
  } else if (options.client !== undefined) {
    target = options.client;
    isCluster = false;
    owned = false;
  } else if (Array.isArray(options.cluster)) {
    target = createCluster({ rootNodes: options.cluster.map((url: string) => ({ url })), commandOptions: OWN_COMMANDS }) as unknown as RedisClusterLike;
    isCluster = true;
    owned = true;
  } else {
    target = options.cluster as RedisClusterLike;
    isCluster = true;
    owned = false;
  }
  // node-redis emits 'error' on every failed (re)connection; without a listener that
  // would be an uncaught exception.
  if (owned) target.on('error', onError);
  if (!target.isOpen) await target.connect();
  return { channel: RedisChannel.of(target, isCluster), owned };
}

/**
 * Opens the queue `name` on Redis (or Redis Cluster, or Valkey). Every process that opens
 * the same name on the same Redis shares one queue.
 *
 * @example
 * ```ts
 * const q = await openRedisQueue<{ to: string }>({ url: 'redis://127.0.0.1:6379', name: 'mail', concurrency: 8 });
 * q.process(async (job) => sendMail(job.data.to));
 * await q.add({ to: 'ada@example.com' }, { priority: 10 });
 * ```
 */
export async function openRedisQueue<T = unknown>(options: RedisQueueOptions<T>): Promise<RedisQueue<T>> {
  const resolved = resolveRedisOptions(options);
  let queue: RedisQueue<T> | undefined;
  const { channel, owned } = await openChannel(options, (error) => queue?.emit('disconnected', error));
  queue = new RedisQueue<T>(resolved, {
    channel,
    closeOwned: async () => {
      if (owned) await channel.target.close();
    },
    destroyOwned: () => {
      // Also after close() began (isOpen is false then): a close waits for the replies of
      // the commands on the wire, which a server that stopped answering never sends.
      if (owned) channel.target.destroy();
    },
  });
  return queue;
}
