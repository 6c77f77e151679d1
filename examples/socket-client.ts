// docket's beanstalkd-protocol client: a round trip through a server.
//
//   tsx examples/socket-client.ts                          starts a docket server in this script
//   tsx examples/socket-client.ts beanstalk://127.0.0.1:11300/emails   uses a running server
//                                                          (docket's or a real beanstalkd)
import { connect, serve, type SocketServer } from 'docket/socket';

interface Email {
  to: string;
}

let server: SocketServer | undefined;
let url = process.argv[2];
if (url === undefined) {
  // Port 0: the OS picks a free port; the server reports it.
  server = await serve({ port: 0 });
  url = `beanstalk://127.0.0.1:${server.port}/emails`;
  console.log(`  docket server listening on 127.0.0.1:${server.port}`);
}

// The same producer/consumer shape as a local Queue<Email>; times are in ms.
const emails = await connect<Email>(url);

// Pull: reserve one job, work on it, ack it.
const added = await emails.add({ to: 'ada@example.com' }, { priority: 10, ttr: 60_000 });
console.log(`  put job ${added.id}`);
const job = await emails.reserve({ timeout: 1_000 });
if (job !== undefined) {
  console.log(`  reserved job ${job.id} for ${job.data.to}`);
  await job.ack();
}

// Push: a handler with a concurrency limit; returning acks, throwing fails the attempt.
let completed = 0;
const allDone = new Promise<void>((resolve) => {
  emails.on('completed', (done, result) => {
    console.log(`  job ${done.id} completed: ${String(result)}`);
    if (++completed === 3) resolve();
  });
});
emails.process(async (work) => `sent to ${work.data.to}`, { concurrency: 2 });
await emails.addBulk([{ data: { to: 'grace@example.com' } }, { data: { to: 'linus@example.com' } }, { data: { to: 'barbara@example.com' } }]);
await allDone;

const stats = await emails.stats();
console.log(`  tube ${stats.name}: ${stats.ready} ready, ${stats.reserved} reserved, ${stats.added} added in total`);

// Closing the client and the server ends the script: nothing keeps it alive.
await emails.close();
await server?.close();
