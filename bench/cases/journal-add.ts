/**
 * Durable add throughput: `node --import tsx bench/cases/journal-add.ts <subject> <sync> [producers]`
 *
 * subject:
 * - `docket`            in process: `openQueue(file, { sync })`, `producers` async loops each
 *                       awaiting `add()` (so `producers` adds are in flight: group commit)
 * - `docket-server`     docket `serve()` over `openQueue(file, { sync })` in a child process,
 *                       fed by the raw pipelined put client (`producers` puts in flight over
 *                       min(producers, 16) connections)
 * - `beanstalkd`        beanstalkd 1.12 `-b <tmpdir>` with `-f 0` (always), default `-f` (50 ms,
 *                       interval) or `-F` (never), fed by the same raw client
 *
 * Jobs carry a 64-byte body. Reports jobs/s. Every journal lives in a fresh temp directory.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { args, main, perSecond, pick, report, scaled, skip } from '../harness.js';
import { openQueue, type SyncPolicy } from '../../src/journal/index.js';
import { BEANSTALKD, beanstalkdSyncFlags, freePort, hasBeanstalkd, rawPut, startServer } from './journal-support.js';

const [subject, sync = 'always', producersArg = '64'] = args();
const producers = Number(producersArg);
// The raw client spreads the producers over up to 16 connections, each pipelining the rest.
const connections = Math.min(producers, 16);
const window = Math.ceil(producers / connections);
const count = scaled(sync === 'always' ? 20_000 : 100_000);
const body = Buffer.alloc(64, 'x');
const dir = mkdtempSync(join(tmpdir(), 'docket-bench-journal-'));

const subjects = {
  async docket() {
    const queue = await openQueue<string>(join(dir, 'q.journal'), { sync: sync as SyncPolicy, compactionSlack: Infinity });
    const payload = body.toString();
    let next = 0;
    const started = performance.now();
    await Promise.all(
      Array.from({ length: producers }, async () => {
        while (next < count) {
          next++;
          await queue.add(payload);
        }
      }),
    );
    const ms = performance.now() - started;
    await queue.close();
    return perSecond(count, ms);
  },
  async 'docket-server'() {
    const port = await freePort();
    const script = fileURLToPath(new URL('./journal-server.ts', import.meta.url));
    const server = await startServer(process.execPath, ['--import', 'tsx', script, String(port), join(dir, 'q.journal'), sync], port, 30_000);
    try {
      return perSecond(count, await rawPut(port, count, connections, window, body));
    } finally {
      await server.stop();
    }
  },
  async beanstalkd() {
    if (!hasBeanstalkd()) return undefined;
    const port = await freePort();
    const server = await startServer(BEANSTALKD, ['-l', '127.0.0.1', '-p', String(port), '-b', dir, ...beanstalkdSyncFlags(sync)], port, 30_000);
    try {
      return perSecond(count, await rawPut(port, count, connections, window, body));
    } finally {
      await server.stop();
    }
  },
};

main(async () => {
  try {
    const value = await pick(subjects, subject)();
    if (value === undefined) skip('beanstalkd is not installed');
    else report(value, { jobs: count, producers, sync });
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
