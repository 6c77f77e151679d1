/** The conformance suite on the socket client, against a real beanstalkd. */
import { describe } from 'vitest';
import { connect, type RemoteJob } from '../../src/socket/client/remote-queue.js';
import { requireBinary } from '../helpers/system-binary.js';
import { startBeanstalkd } from '../helpers/beanstalkd.js';
import { describeConformance, type Payload } from './suite.js';

let tubes = 0;
const beanstalkd = requireBinary({ name: 'beanstalkd', install: 'apt-get install -y beanstalkd', skipped: 'the queue contract on beanstalkd' });

describe.skipIf(beanstalkd === undefined)('beanstalkd', () => {
  describeConformance('the socket client on beanstalkd', async () => {
    const server = await startBeanstalkd();
    return {
      differences: {
        tick: 1000,
        fencedAfterRedelivery: false,
        // A stats-job on the holder's connection makes beanstalkd notice the expiry.
        nudgeHolder: async (job) => void (await (job as RemoteJob<Payload>).stats().catch(() => undefined)),
      },
      open: (settings = {}) =>
        connect<Payload>(`beanstalk://127.0.0.1:${server.port}/conformance-${++tubes}`, {
          retry: { attempts: settings.attempts ?? 1 },
          concurrency: settings.concurrency ?? 1,
        }),
      close: () => server.stop(),
    };
  });
});
