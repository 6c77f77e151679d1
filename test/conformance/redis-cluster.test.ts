/**
 * The conformance suite on `docket/redis` against a real local Redis Cluster (three
 * masters): every queue's keys share one hash tag, so each script runs on one node, and
 * the queues of the suite spread over the masters.
 */
import { createCluster } from 'redis';
import { afterAll, describe, expect, it } from 'vitest';
import { openRedisQueue } from '../../src/redis/index.js';
import { requireRedis, startRedisCluster, type RunningRedisCluster } from '../helpers/redis.js';
import { describeConformance, type Payload } from './suite.js';

let names = 0;
let cluster: RunningRedisCluster | undefined;
const used: string[] = [];

describe.skipIf(!requireRedis('the queue contract on Redis Cluster'))('Redis Cluster', () => {
  describeConformance('Redis Cluster (3 masters)', async () => {
    cluster = await startRedisCluster(3);
    const running = cluster;
    return {
      differences: { tick: 200, fencedAfterRedelivery: true },
      open: (settings = {}) => {
        const name = `cluster-conformance-${++names}`;
        used.push(name);
        return openRedisQueue<Payload>({ cluster: running.urls, name, retry: { attempts: settings.attempts ?? 1 }, concurrency: settings.concurrency ?? 1 });
      },
      // Stopped after the spread check below.
      close: async () => {},
    };
  });

  it('the queues of the suite landed on more than one master', async () => {
    const running = cluster as RunningRedisCluster;
    const client = createCluster({ rootNodes: running.urls.map((url) => ({ url })) });
    await client.connect();
    try {
      const owners = new Set<string>();
      for (const master of client.masters) {
        const node = await client.nodeClient(master);
        const keys = await node.keys('docket:{cluster-conformance-*');
        if (keys.length > 0) owners.add(master.address);
      }
      expect(used.length).toBeGreaterThan(10);
      expect(owners.size).toBeGreaterThan(1);
    } finally {
      await client.close();
    }
  });

  afterAll(async () => {
    await cluster?.stop();
  });
});
