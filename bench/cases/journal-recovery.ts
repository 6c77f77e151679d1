/**
 * Recovery time of a large backlog: `node --import tsx bench/cases/journal-recovery.ts <subject> [jobs]`
 *
 * - `docket`      builds a journal of N live jobs (64-byte payloads, `addBulk` in chunks,
 *                 sync 'never', then `close()`), then measures `openQueue()` on it: read,
 *                 check, replay, restore, until the queue is usable.
 * - `beanstalkd`  fills beanstalkd 1.12 (`-b <tmpdir>`, `-F`) with N jobs through the raw put
 *                 client, kills it, and measures from the restart until it answers `stats`
 *                 (it binds its port before replaying, and answers after) with all N jobs ready.
 *
 * N defaults to 1,000,000 (scaled by BENCH_SCALE). Reports ms (lower is better).
 */
import { mkdtempSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { args, main, pick, report, scaled, skip } from '../harness.js';
import { journalOf, openQueue } from '../../src/journal/index.js';
import { BEANSTALKD, freePort, hasBeanstalkd, rawCommand, rawPut, startServer } from './journal-support.js';

const [subject, jobsArg] = args();
const count = jobsArg === undefined ? scaled(1_000_000) : Number(jobsArg);
const body = Buffer.alloc(64, 'x');
const dir = mkdtempSync(join(tmpdir(), 'docket-bench-recovery-'));

const subjects = {
  async docket() {
    const file = join(dir, 'q.journal');
    {
      const queue = await openQueue<string>(file, { sync: 'never', compactionSlack: Infinity });
      const payload = body.toString();
      const CHUNK = 10_000;
      for (let done = 0; done < count; done += CHUNK) {
        await queue.addBulk(Array.from({ length: Math.min(CHUNK, count - done) }, () => ({ data: payload })));
      }
      await queue.close();
    }
    (globalThis as { gc?: () => void }).gc?.();
    const started = performance.now();
    const queue = await openQueue<string>(file, { sync: 'never' });
    const ms = performance.now() - started;
    const ready = queue.stats().ready;
    if (ready !== count) throw new Error(`restored ${ready} of ${count} jobs`);
    const opened = journalOf(queue)!.stats().opened;
    return { ms, extra: { jobs: count, bytes: statSync(file).size, replayMs: Math.round(opened.durationMs) } };
  },
  async beanstalkd() {
    if (!hasBeanstalkd()) return undefined;
    const argv = (port: number) => ['-l', '127.0.0.1', '-p', String(port), '-b', dir, '-F'];
    const port = await freePort();
    const first = await startServer(BEANSTALKD, argv(port), port);
    await rawPut(port, count, 4, 256, body);
    await first.stop();
    const port2 = await freePort();
    let ms = 0;
    const started = performance.now();
    const second = await startServer(BEANSTALKD, argv(port2), port2);
    try {
      // beanstalkd binds its socket before replaying, so a connection is not enough: the
      // first reply comes after the replay.
      const stats = await rawCommand(port2, 'stats');
      ms = performance.now() - started;
      const ready = /current-jobs-ready: (\d+)/.exec(stats)?.[1];
      if (Number(ready) !== count) throw new Error(`beanstalkd restored ${ready} of ${count} jobs`);
    } finally {
      await second.stop();
    }
    return { ms, extra: { jobs: count } };
  },
};

main(async () => {
  try {
    const result = await pick(subjects, subject)();
    if (result === undefined) skip('beanstalkd is not installed');
    else report(result.ms, result.extra);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
