import { expectTypeOf, test } from 'vitest';
import type { JobQueue, Queue } from 'docket';
import type { DashboardOptions } from 'docket/dashboard';
import type { RedisQueue } from 'docket/redis';
import type { RemoteQueue } from 'docket/socket';

test('queues of every home, whatever their payload type, go in `queues`', () => {
  expectTypeOf<{ emails: Queue<{ to: string }>; raw: RemoteQueue<Uint8Array>; shared: RedisQueue<number[]> }>().toMatchTypeOf<DashboardOptions['queues']>();
  expectTypeOf<DashboardOptions['queues'][string]>().toEqualTypeOf<JobQueue<unknown>>();
});
