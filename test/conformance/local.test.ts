/** The conformance suite on the in-process `Queue<T>`: the reference every other home is held to. */
import { Queue } from '../../src/queue.js';
import { describeConformance, type Payload } from './suite.js';

describeConformance('the in-process Queue', async () => ({
  differences: { tick: 200, fencedAfterRedelivery: true },
  open: async (settings = {}) => new Queue<Payload>({ retry: { attempts: settings.attempts ?? 1 }, concurrency: settings.concurrency ?? 1 }),
  close: async () => {},
}));
