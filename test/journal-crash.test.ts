import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterEach, describe, expect, it } from 'vitest';
import { seededRandom } from './helpers/random.js';

// kill -9, again and again on one journal, while producers and consumers run flat out and
// compactions come and go (a tiny slack: nearly every restart compacts at once; the
// default slack: large jobs outgrow it every round or two). Jobs stay across many
// restarts: delayed ones nobody touches, buried ones, released ones, backlog. After each
// kill the next process reports what it restored, checked against the parent's ledger:
// - lost: an add the child acknowledged, whose ack it never started, is missing;
// - resurrected: a job whose ack the child acknowledged is back;
// - phantom: a job that was never added appears;
// - moved: a job comes back under another id, or a new job takes an id seen before.

const CHILD = fileURLToPath(new URL('./fixtures/journal/crash-child.ts', import.meta.url));

const children: ChildProcess[] = [];
let dir: string | undefined;
afterEach(() => {
  for (const child of children.splice(0)) if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
  if (dir !== undefined) rmSync(dir, { recursive: true, force: true });
  dir = undefined;
});

type Line = {
  op?: string;
  jobs?: Array<[number, string]>;
  total?: number;
  message?: string;
  s?: string;
  a?: string;
  id?: number;
  r?: number;
  k?: number;
  c?: number;
};

interface Ledger {
  /** Acknowledged adds (and jobs a restart showed were stored): key -> id. */
  live: Map<string, number>;
  /** Ids whose ack was started and not yet acknowledged. */
  acking: Set<number>;
  /** Ids whose ack was acknowledged. */
  gone: Set<number>;
  /** Keys whose add was started. */
  started: Set<string>;
  /** Every id ever handed out, with its key. */
  ids: Map<number, string>;
}

interface Buckets {
  lost: string[];
  resurrected: string[];
  phantom: string[];
  moved: string[];
}

function checkRestored(ledger: Ledger, jobs: Array<[number, string]>, buckets: Buckets, round: number): void {
  const present = new Map(jobs);
  for (const [key, id] of ledger.live) {
    if (present.get(id) !== key && !ledger.acking.has(id)) buckets.lost.push(`${key} (id ${id}, round ${round})`);
  }
  for (const id of ledger.gone) if (present.has(id)) buckets.resurrected.push(`${present.get(id)} (id ${id}, round ${round})`);
  for (const [id, key] of present) {
    if (!ledger.started.has(key)) buckets.phantom.push(`${key} (id ${id}, round ${round})`);
    const known = ledger.ids.get(id);
    if (known !== undefined && known !== key) buckets.moved.push(`id ${id} was ${known}, now ${key} (round ${round})`);
    const knownId = ledger.live.get(key);
    if (knownId !== undefined && knownId !== id) buckets.moved.push(`${key} was id ${knownId}, now ${id} (round ${round})`);
  }
  // Acks in flight at the kill: either outcome is right; now it is known which.
  for (const id of ledger.acking) {
    if (!present.has(id)) {
      ledger.gone.add(id);
      for (const [key, liveId] of ledger.live) if (liveId === id) ledger.live.delete(key);
    }
  }
  ledger.acking.clear();
  // Adds in flight at the kill that were stored: jobs like any other from now on.
  for (const [id, key] of present) {
    ledger.live.set(key, id);
    ledger.ids.set(id, key);
  }
}

async function runRound(
  file: string,
  [sync, slack, pad, backlog]: Config,
  round: number,
  killAfter: number,
  ledger: Ledger,
  buckets: Buckets,
): Promise<{ compactions: number; acks: number; adds: number }> {
  const child = spawn(process.execPath, ['--import', 'tsx', CHILD, file, sync, String(slack), String(pad), String(backlog), String(round)], {
    stdio: ['pipe', 'pipe', 'inherit'],
  });
  children.push(child);
  // 'close', not 'exit': only then has every line the child wrote been read.
  const exited = new Promise<void>((resolve) => child.once('close', () => resolve()));
  let maxId = 0;
  for (const id of ledger.ids.keys()) maxId = Math.max(maxId, id);
  child.stdin!.write(`${JSON.stringify({ scan: maxId + 5000 })}\n`);
  const counts = { compactions: 0, acks: 0, adds: 0 };
  let timer: ReturnType<typeof setTimeout> | undefined;
  let failure: Error | undefined;
  const handle = (line: Line): void => {
    if (line.op === 'state') {
      expect(line.total, 'the scan saw every restored job').toBe(line.jobs!.length);
      checkRestored(ledger, line.jobs!, buckets, round);
      timer = setTimeout(() => child.kill('SIGKILL'), killAfter);
    } else if (line.op === 'error') {
      throw new Error(`child error: ${line.message}`);
    } else if (line.s !== undefined) {
      ledger.started.add(line.s);
    } else if (line.a !== undefined) {
      const id = line.id!;
      const before = ledger.ids.get(id);
      if (before !== undefined) buckets.moved.push(`new job ${line.a} took id ${id} of ${before} (round ${round})`);
      ledger.live.set(line.a, id);
      ledger.ids.set(id, line.a);
      counts.adds++;
    } else if (line.r !== undefined) {
      ledger.acking.add(line.r);
    } else if (line.k !== undefined) {
      ledger.acking.delete(line.k);
      ledger.gone.add(line.k);
      for (const [key, id] of ledger.live) if (id === line.k) ledger.live.delete(key);
      counts.acks++;
    } else if (line.c !== undefined) {
      counts.compactions++;
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
        handle(JSON.parse(text) as Line);
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
      const ledger: Ledger = { live: new Map(), acking: new Set(), gone: new Set(), started: new Set(), ids: new Map() };
      const buckets: Buckets = { lost: [], resurrected: [], phantom: [], moved: [] };
      const totals = { compactions: 0, acks: 0, adds: 0 };
      let survivors = 0;
      const firstSeen = new Map<string, number>();
      for (let round = 0; round <= restarts; round++) {
        const counts = await runRound(file, config, round, 150 + Math.floor(random() * 250), ledger, buckets);
        totals.compactions += counts.compactions;
        totals.acks += counts.acks;
        totals.adds += counts.adds;
        for (const key of ledger.live.keys()) if (!firstSeen.has(key)) firstSeen.set(key, round);
      }
      // One more start, only to read what the last kill left.
      await runRound(file, config, restarts + 1, 0, ledger, buckets);
      for (const [key, round] of firstSeen) if (ledger.live.has(key) && round <= restarts - 3) survivors++;

      expect(buckets).toEqual({ lost: [], resurrected: [], phantom: [], moved: [] });
      // The run exercised what it claims to.
      expect(totals.adds).toBeGreaterThan(restarts * 50);
      expect(totals.acks).toBeGreaterThan(restarts * 30);
      expect(totals.compactions, 'compactions').toBeGreaterThanOrEqual(slack < 65536 ? restarts / 2 : 1);
      expect(survivors, 'jobs that lived through at least three restarts').toBeGreaterThan(10);
    },
    120_000,
  );
});
