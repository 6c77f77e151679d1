/** The conformance suite on `docket/redis`, against a real redis-server. */
import { describe } from 'vitest';
import { openRedisQueue } from '../../src/redis/index.js';
import { requireRedis, startRedis } from '../helpers/redis.js';
import { describeConformance, type Payload } from './suite.js';

let names = 0;

describe.skipIf(!requireRedis('the queue contract on Redis'))('redis-server', () => {
  describeConformance('Redis', async () => {
    const server = await startRedis();
    return {
      differences: { tick: 200, fencedAfterRedelivery: true },
      open: (settings = {}) =>
        openRedisQueue<Payload>({
          url: server.url,
          name: `conformance-${++names}`,
          retry: { attempts: settings.attempts ?? 1 },
          concurrency: settings.concurrency ?? 1,
        }),
      close: () => server.stop(),
    };
  });
});
