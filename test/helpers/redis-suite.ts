/** The redis-server a Redis suite shares (vitest hooks; bench cases use ./redis.ts directly). */
import { createClient } from 'redis';
import { afterAll, afterEach, beforeAll } from 'vitest';
import { startRedis, type RunningRedis } from './redis.js';

export interface SharedRedis {
  /** The suite's redis-server (started before its first test). */
  readonly server: RunningRedis;
  /** A plain client on it, for looking at keys behind the queue's back. */
  readonly admin: ReturnType<typeof createClient>;
}

/** Call inside the suite's `describe`: one redis-server and one admin client for its tests, stopped after the last. */
export function sharedRedis(): SharedRedis {
  let server: RunningRedis | undefined;
  let admin: ReturnType<typeof createClient> | undefined;
  beforeAll(async () => {
    server = await startRedis();
    admin = createClient({ url: server.url });
    await admin.connect();
  });
  afterAll(async () => {
    await admin?.close();
    await server?.stop();
  });
  return {
    get server(): RunningRedis {
      if (server === undefined) throw new Error('the shared redis-server has not started (use it inside a test)');
      return server;
    },
    get admin(): ReturnType<typeof createClient> {
      if (admin === undefined) throw new Error('the shared admin client has not connected (use it inside a test)');
      return admin;
    },
  };
}

/** Call inside the suite's `describe`: the queues a test pushes here are closed after it. */
export function closedAfterEach<Q extends { close(options: { timeout: number }): Promise<void> }>(): Q[] {
  const queues: Q[] = [];
  afterEach(async () => {
    await Promise.all(queues.splice(0).map((q) => q.close({ timeout: 1000 })));
  });
  return queues;
}
