import type { Row, Suite } from '../harness.js';

const script = 'cases/socket-raw.ts';
const sequential = 'cases/socket-sequential.ts';

/** A client that waits for each reply, the same one against both servers. */
function roundTrips(client: 'jackd' | 'docket', connections: number): Row {
  const how = client === 'jackd' ? 'jackd, each command awaited' : "docket's client, one command in flight";
  return {
    name: `sequential put / reserve / delete (${how}), ${connections} connection${connections === 1 ? '' : 's'}`,
    target: '>= 1.0x beanstalkd',
    targetRatio: { beanstalkd: 1 },
    unit: 'jobs/s',
    higherIsBetter: true,
    subjects: [
      { label: 'docket', script: sequential, args: ['docket', client, String(connections)], docket: true },
      { label: 'beanstalkd', script: sequential, args: ['beanstalkd', client, String(connections)] },
      ...(client === 'jackd'
        ? [
            {
              label: 'node floor',
              script: sequential,
              args: ['node-floor', client, String(connections)],
              note: 'a bare node:net server answering these commands from a plain FIFO, for information',
            },
          ]
        : []),
    ],
  };
}

export default {
  title: 'docket/socket server: docket serve() vs beanstalkd 1.12',
  description:
    'The same pipelined raw-socket Node client (no library; up to 512 commands in flight per connection) ' +
    'against each server, each in its own process on 127.0.0.1. Each pair is a producer connection (put, ' +
    '64-byte bodies) and a consumer connection (reserve + delete) on its own tube; 200k jobs in total. ' +
    'jobs/s from the first put to the last DELETED. The sequential rows: a client that sends a command only once ' +
    "the reply to the one before came (jackd, or docket's own client awaiting each call), each connection on its " +
    'own tube, 20k jobs split over the connections.',
  rows: [
    {
      name: 'pipelined put / reserve / delete, 1 producer + consumer pair',
      target: '>= 2.5x beanstalkd',
      targetRatio: { beanstalkd: 2.5 },
      unit: 'jobs/s',
      higherIsBetter: true,
      subjects: [
        { label: 'docket', script, args: ['docket', '1'], docket: true },
        { label: 'beanstalkd', script, args: ['beanstalkd', '1'] },
      ],
    },
    {
      name: 'pipelined put / reserve / delete, 16 producer + consumer pairs',
      target: '>= 2.5x beanstalkd',
      targetRatio: { beanstalkd: 2.5 },
      unit: 'jobs/s',
      higherIsBetter: true,
      subjects: [
        { label: 'docket', script, args: ['docket', '16'], docket: true },
        { label: 'beanstalkd', script, args: ['beanstalkd', '16'] },
      ],
    },
    roundTrips('jackd', 1),
    roundTrips('jackd', 16),
    roundTrips('docket', 1),
    roundTrips('docket', 16),
  ],
} satisfies Suite;
