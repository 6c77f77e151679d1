import { rawCodec } from '../codec.js';
import type { JobQueue } from '../contract.js';
import type { DashboardJobStats } from '../dashboard/types.js';
import { connect } from '../socket/client/remote-queue.js';
import { UsageError } from './args.js';

/** A queue as the command line uses it: bytes in and out, and what its home adds. */
export interface CliQueue extends JobQueue<Uint8Array> {
  /** The server's record of a job (beanstalkd `stats-job`). */
  jobStats?(id: number): Promise<DashboardJobStats | undefined>;
}

/** Where the command line connects: `beanstalk://host:port` (docket's server or beanstalkd) or `redis://host:port`. */
export interface Target {
  url: string;
  kind: 'beanstalk' | 'redis';
}

/** The address to use: `--url`, else `DOCKET_URL`, else a beanstalkd on this machine. */
export function targetOf(url: string | undefined): Target {
  const chosen = url ?? process.env.DOCKET_URL ?? 'beanstalk://127.0.0.1:11300';
  const scheme = /^([a-z]+):\/\//i.exec(chosen)?.[1]?.toLowerCase();
  if (scheme === 'beanstalk' || scheme === 'beanstalkd') return { url: chosen, kind: 'beanstalk' };
  if (scheme === 'redis' || scheme === 'rediss') return { url: chosen, kind: 'redis' };
  throw new UsageError(`--url must be beanstalk://host:port or redis://host:port, got ${JSON.stringify(chosen)}`);
}

/** The tube named on the command line, else the one in a beanstalk URL's path, else `default` (as in beanstalkd and the Redis queue). */
function tubeOf(target: Target, tube: string | undefined): string {
  if (tube !== undefined) return tube;
  const path = target.kind === 'beanstalk' ? decodeURIComponent(new URL(target.url).pathname.replace(/^\//, '')) : '';
  return path === '' ? 'default' : path;
}

/** Opens one queue (tube) at `target`; bodies are raw bytes whatever wrote them. */
export async function openQueue(target: Target, tube: string | undefined): Promise<CliQueue> {
  const name = tubeOf(target, tube);
  if (target.kind === 'beanstalk') return connect<Uint8Array>(target.url, { tube: name, codec: rawCodec });
  // Loaded only for Redis, so that the command works without the optional `redis` package.
  const { openRedisQueue } = await import('../redis/open.js');
  return openRedisQueue<Uint8Array>({ url: target.url, name, codec: rawCodec });
}

/** The tube names on a beanstalkd-protocol server. */
export async function listTubes(target: Target): Promise<string[]> {
  if (target.kind === 'redis') throw new UsageError('name the queue: a Redis home has no list of queues to choose from');
  const client = await connect(target.url, { codec: rawCodec });
  try {
    return await client.listTubes();
  } finally {
    await client.close({ timeout: 0 });
  }
}
