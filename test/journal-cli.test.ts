import { execFile } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { inspectJournal, journalOf, openQueue } from '../src/journal/index.js';

const CLI = fileURLToPath(new URL('../src/journal/cli.ts', import.meta.url));
let dir: string;
let file: string;

beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'docket-journal-cli-'));
  file = join(dir, 'q.journal');
});
afterEach(() => rmSync(dir, { recursive: true, force: true }));

function run(...args: string[]): Promise<{ code: number; stdout: string }> {
  return new Promise((resolve) => {
    execFile(process.execPath, ['--import', 'tsx', CLI, ...args], { timeout: 20_000 }, (error, stdout) => {
      resolve({ code: error === null ? 0 : typeof error.code === 'number' ? error.code : -1, stdout });
    });
  });
}

async function journalWithJobs(): Promise<number[]> {
  const q = await openQueue<{ n: number }>(file);
  const jobs = await Promise.all([1, 2, 3].map((n) => q.add({ n }, { delay: n === 3 ? 60_000 : 0 })));
  await q.reserveJob(jobs[0].id).bury('bad');
  await journalOf(q)!.close();
  return jobs.map((j) => j.id);
}

describe('inspecting a journal', () => {
  it('inspectJournal reports jobs per state without changing the file', async () => {
    const ids = await journalWithJobs();
    const before = readFileSync(file);
    writeFileSync(file, before.subarray(0, before.length - 4));
    const info = await inspectJournal(file);
    // The cut took the bury with it: as stored, the first job is still reserved.
    expect(info.states).toEqual({ ready: 1, delayed: 1, reserved: 1, buried: 0 });
    expect(info.damage).toMatchObject({ kind: 'torn-tail' });
    expect(info.jobs.map((j) => j.id).sort()).toEqual([...ids].sort());
    expect(readFileSync(file).length).toBe(before.length - 4);
  });

  it('docket-journal stats, dump and verify', async () => {
    const ids = await journalWithJobs();
    const stats = await run('stats', file, '--json');
    expect(stats.code).toBe(0);
    expect(JSON.parse(stats.stdout)).toMatchObject({ header: 'ok', liveJobs: 3, states: { ready: 1, delayed: 1, buried: 1 } });
    const dump = await run('dump', file);
    const jobs = dump.stdout
      .trim()
      .split('\n')
      .map((line) => JSON.parse(line) as { id: number; data: unknown; state: string });
    expect(jobs.map((j) => j.id).sort()).toEqual([...ids].sort());
    expect(jobs.find((j) => j.id === ids[0])).toMatchObject({ state: 'buried', data: { n: 1 } });
    expect((await run('verify', file)).code).toBe(0);
    const bytes = readFileSync(file);
    bytes[40] ^= 0xff;
    writeFileSync(file, bytes);
    const damaged = await run('verify', file);
    expect(damaged.code).toBe(1);
    expect(damaged.stdout).toMatch(/damage\s+corrupt at offset 16/);
  });
});
