import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterEach, describe, expect, it } from 'vitest';
import { CrashLedger, type ChildLine } from './helpers/crash-ledger.js';
import { seededRandom } from './helpers/random.js';

// kill -9, again and again on one journal, while producers and consumers run flat out and
// compactions come and go (a tiny slack: nearly every restart compacts at once; the
// default slack: large jobs outgrow it every round or two). Jobs stay across many
// restarts: delayed ones nobody touches, buried ones, released ones, backlog. After each
// kill the next process reports what it restored, checked against the parent's ledger
// (test/helpers/crash-ledger.ts): no acknowledged add lost, no acknowledged ack back, no
// job that was never added, every job under its id.

const CHILD = fileURLToPath(new URL('./fixtures/journal/crash-child.ts', import.meta.url));

const children: ChildProcess[] = [];
let dir: string | undefined;
afterEach(() => {
  for (const child of children.splice(0)) if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
  if (dir !== undefined) rmSync(dir, { recursive: true, force: true });
  dir = undefined;
});

async function runRound(
  file: string,
  [sync, slack, pad, backlog]: Config,
  round: number,
  killAfter: number,
  ledger: CrashLedger,
): Promise<{ compactions: number; acks: number; adds: number }> {
  const child = spawn(process.execPath, ['--import', 'tsx', CHILD, file, sync, String(slack), String(pad), String(backlog), String(round)], {
    stdio: ['pipe', 'pipe', 'inherit'],
  });
  children.push(child);
  // 'close', not 'exit': only then has every line the child wrote been read.
  const exited = new Promise<void>((resolve) => child.once('close', () => resolve()));
  child.stdin!.write(`${JSON.stringify({ scan: ledger.maxId + 5000 })}\n`);
  const counts = { compactions: 0, acks: 0, adds: 0 };
  let timer: ReturnType<typeof setTimeout> | undefined;
  let failure: Error | undefined;
  const handle = (line: ChildLine): void => {
    if (line.op === 'state') {
      expect(line.total, 'the scan saw every restored job').toBe(line.jobs!.length);
      ledger.restored(line.jobs!, round);
      timer = setTimeout(() => child.kill('SIGKILL'), killAfter);
    } else if (line.op === 'error') {
      throw new Error(`child error: ${line.message}`);
    } else if (line.c !== undefined) {
      counts.compactions++;
    } else {
      ledger.operation(line, round);
      if (line.a !== undefined) counts.adds++;
      if (line.k !== undefined) counts.acks++;
    }
  };
  // Every line, in order, handled as it arrives (no await between two lines).
  let rest = '';
  child.stdout!.setEncoding('utf8');
  child.stdout!.on('data', (chunk: string) => {
    const lines = (rest + chunk).split('\n');
    rest = lines.pop()!;
    for (const text of lines) {
      if (failure !== undefined || text === '') continue;
      try {
        handle(JSON.parse(text) as ChildLine);
      } catch (error) {
        failure = error as Error;
        child.kill('SIGKILL');
      }
    }
  });
  await exited;
  clearTimeout(timer);
  if (failure !== undefined) throw failure;
  expect(child.signalCode, 'the child ran until it was killed').toBe('SIGKILL');
  return counts;
}

/** sync, compactionSlack, payload bytes, backlog the producers keep, restarts */
type Config = readonly [string, number, number, number, number];

describe('kill -9 restarts on one journal', () => {
  it.each<Config>([
    ['always', 4 * 1024, 64, 100, 10],
    // Large jobs and a short backlog: the file outgrows twice the live data plus 4 MiB often.
    ['interval', 4 * 1024 * 1024, 32_000, 10, 6],
  ])(
    'sync %s, compactionSlack %i: no acknowledged add lost, no acknowledged ack back, ids kept',
    async (...config) => {
      const [, slack, , , restarts] = config;
      dir = mkdtempSync(join(tmpdir(), 'docket-crash-'));
      const file = join(dir, 'q.journal');
      const random = seededRandom(slack + restarts);
      const ledger = new CrashLedger();
      const totals = { compactions: 0, acks: 0, adds: 0 };
      let survivors = 0;
      const firstSeen = new Map<string, number>();
      for (let round = 0; round <= restarts; round++) {
        const counts = await runRound(file, config, round, 150 + Math.floor(random() * 250), ledger);
        totals.compactions += counts.compactions;
        totals.acks += counts.acks;
        totals.adds += counts.adds;
        for (const key of ledger.live.keys()) if (!firstSeen.has(key)) firstSeen.set(key, round);
      }
      // One more start, only to read what the last kill left.
      await runRound(file, config, restarts + 1, 0, ledger);
      for (const [key, round] of firstSeen) if (ledger.live.has(key) && round <= restarts - 3) survivors++;

      expect(ledger.findings).toEqual({ lost: [], resurrected: [], phantom: [], moved: [] });
      // The run exercised what it claims to.
      expect(totals.adds).toBeGreaterThan(restarts * 50);
      expect(totals.acks).toBeGreaterThan(restarts * 30);
      expect(totals.compactions, 'compactions').toBeGreaterThanOrEqual(slack < 65536 ? restarts / 2 : 1);
      expect(survivors, 'jobs that lived through at least three restarts').toBeGreaterThan(10);
    },
    120_000,
  );
});
