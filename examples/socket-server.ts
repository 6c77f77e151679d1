// An existing queue, served over the beanstalkd protocol: any beanstalkd client, in any
// language, can now produce and consume its jobs, next to the in-process worker.
//
//   npx tsx examples/socket-server.ts            serves 127.0.0.1:11300 until Ctrl-C (PORT to change)
//   npx tsx examples/socket-server.ts --brief    a short demonstration that exits on its own
//                                                (also DOCKET_BRIEF=1)
//
// While it runs, try:  printf 'use emails\r\nput 0 0 60 24\r\n{"to":"ada@example.com"}\r\n' | nc -q1 127.0.0.1 11300
import net from 'node:net';
import { Queue } from 'docket';
import { serve } from 'docket/socket';

interface Email {
  to: string;
}

const brief = process.argv.includes('--brief') || process.env.DOCKET_BRIEF === '1';

// The application's queue, with its own retry policy: the server enforces it for remote
// workers too (a job released more often than `attempts` allows is buried).
const emails = new Queue<Email>({ name: 'emails', retry: { attempts: 3 } });
emails.process(async (job) => {
  console.log(`  in-process worker: job ${job.id} -> ${job.data.to}`);
});

const server = await serve({ queues: { emails }, port: brief ? 0 : Number(process.env.PORT ?? 11300) });
console.log(`  beanstalkd protocol on ${server.address.host}:${server.port} (tubes: emails, default)`);

async function shutDown(): Promise<void> {
  await server.close(); // ends connections; remote workers' jobs go back to ready
  await emails.close(); // ours to close: the server never closes queues passed in
}

if (brief) {
  // A remote producer speaking the raw protocol, as any beanstalkd client would.
  const socket = net.connect({ host: '127.0.0.1', port: server.port });
  await new Promise((resolve) => socket.once('connect', resolve));
  const replies: string[] = [];
  socket.on('data', (chunk: Buffer) => replies.push(...chunk.toString().split('\r\n').filter(Boolean)));
  for (const to of ['ada@example.com', 'grace@example.com']) {
    const body = JSON.stringify({ to });
    socket.write(`use emails\r\nput 0 0 60 ${Buffer.byteLength(body)}\r\n${body}\r\n`);
  }
  await emails.onIdle();
  await new Promise((resolve) => setTimeout(resolve, 50));
  console.log(`  remote producer got: ${replies.join(', ')}`);
  socket.destroy();
  await shutDown();
} else {
  console.log('  Ctrl-C to stop');
  process.once('SIGINT', () => {
    console.log('\n  closing');
    void shutDown();
  });
}
