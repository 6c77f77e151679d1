// Where a queue lives in Redis. Every key of one queue carries the same hash tag (the
// part in braces), so Redis Cluster puts them all in one slot and each script runs on
// one node; different queues hash to different slots and spread over the cluster.

/** The keys of one queue, in the order every script receives them as KEYS. @internal */
export interface QueueKeys {
  /** Key prefix of the job hashes: `<base>job:<id>`. Passed to scripts as ARGV[1]. */
  readonly job: string;
  /** KEYS[1..9]: ready, delayed, leases, buried, meta, dedupe, events, wake, done. */
  readonly all: readonly string[];
  /** The list idle consumers block on (KEYS[8]). */
  readonly wake: string;
  /** The capped event stream (KEYS[7]). */
  readonly events: string;
}

/** Names the stored scripts use for KEYS[i]; the order is the contract between both sides. */
export const KEY_NAMES = ['ready', 'delayed', 'leases', 'buried', 'meta', 'dedupe', 'events', 'wake', 'done'] as const;

/**
 * The keys of queue `name` under `prefix`: `<prefix>:{<name>}:<part>`. A name may hold
 * any character but braces (they would move the hash tag).
 */
export function queueKeys(prefix: string, name: string): QueueKeys {
  const base = `${prefix}:{${name}}:`;
  const all = KEY_NAMES.map((part) => base + part);
  return { job: `${base}job:`, all, wake: all[7] as string, events: all[6] as string };
}
