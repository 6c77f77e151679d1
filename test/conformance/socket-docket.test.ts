/** The conformance suite on the socket client, against docket's own beanstalkd-protocol server. */
import { serve } from '../../src/socket/index.js';
import { connect } from '../../src/socket/client/remote-queue.js';
import { describeConformance, type Payload } from './suite.js';

let tubes = 0;

describeConformance('the socket client on docket serve()', async () => {
  const server = await serve({ port: 0 });
  return {
    // The protocol carries whole seconds; its leases carry no token (see suite.ts).
    differences: { tick: 1000, fencedAfterRedelivery: false },
    open: (settings = {}) =>
      connect<Payload>(`beanstalk://127.0.0.1:${server.port}/conformance-${++tubes}`, {
        retry: { attempts: settings.attempts ?? 1 },
        concurrency: settings.concurrency ?? 1,
      }),
    close: () => server.close(),
  };
});
