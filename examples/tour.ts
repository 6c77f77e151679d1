// `npm start`: a short tour of docket. Each stop is a standalone example in this folder;
// read the file next to its output.
import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';

const stops: Array<[title: string, file: string]> = [
  ['A queue with a push consumer', 'basic.ts'],
  ['Priorities: lower first, FIFO among equals', 'priorities.ts'],
  ['Retries with backoff, a dead letter, and a redrive', 'retry-dead-letter.ts'],
  ['A pull consumer with leases and acks', 'pull-consumer.ts'],
  ['Schedules: cron in a time zone, every N ms, and a restart (docket/cron, docket/journal)', 'schedules.ts'],
  ['Groups (in order per key, fair across keys) and a rate limit', 'groups.ts'],
  ['CPU work on a worker-thread pool (docket/threads)', 'threads/main.ts'],
  ['A beanstalkd-protocol server and client (docket/socket)', 'socket-client.ts'],
];
// The Redis stop needs a redis-server to start (apt-get install -y redis-server).
if (spawnSync('redis-server', ['--version']).status === 0) {
  stops.push(['One queue on Redis: a producer and two worker processes (docket/redis)', 'redis/tour.ts']);
}

let failed = 0;
for (const [index, [title, file]] of stops.entries()) {
  console.log(`\n${index + 1}. ${title}   (examples/${file})`);
  // Same Node flags as this process, so the TypeScript loader carries over.
  const child = spawnSync(process.execPath, [...process.execArgv, fileURLToPath(new URL(file, import.meta.url))], {
    stdio: 'inherit',
    timeout: 30_000,
  });
  if (child.status !== 0) {
    failed++;
    console.log(`   (this stop failed: ${child.error?.message ?? `exit code ${child.status ?? child.signal}`})`);
  }
}
console.log(failed === 0 ? '\nThat was docket. README.md has the rest.' : `\n${failed} stop(s) failed.`);
process.exitCode = failed === 0 ? 0 : 1;
