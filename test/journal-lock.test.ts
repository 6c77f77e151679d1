import { spawn } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import { once } from 'node:events';
import { fileURLToPath } from 'node:url';
import { afterEach, describe, expect, it } from 'vitest';
import { DocketError, ErrorCode, JournalLockedError } from '../src/errors.js';
import { journalOf, openQueue } from '../src/journal/index.js';
import { useJournalDir } from './helpers/journal.js';

// One process per journal: a lock file next to it names the owner's pid.

const HOLDER = fileURLToPath(new URL('./fixtures/journal/hold-child.ts', import.meta.url));
const journal = useJournalDir();
const children: Array<ReturnType<typeof spawn>> = [];
afterEach(() => {
  for (const child of children.splice(0)) if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
});

async function holder(file: string): Promise<ReturnType<typeof spawn>> {
  const child = spawn(process.execPath, ['--import', 'tsx', HOLDER, file], { stdio: ['ignore', 'pipe', 'inherit'] });
  children.push(child);
  const [chunk] = (await once(child.stdout!, 'data')) as [Buffer];
  expect(chunk.toString()).toBe('open\n');
  return child;
}

describe('the journal lock', () => {
  it('refuses a second open in this process at once, with a clear error, until the first closes', async () => {
    const q = await journal.start<string>();
    await q.add('mine');
    const second = openQueue<string>(journal.file);
    await expect(second).rejects.toBeInstanceOf(JournalLockedError);
    await expect(second).rejects.toMatchObject({ code: ErrorCode.JournalLocked, message: expect.stringMatching(/open in this process/) });
    await expect(second).rejects.toBeInstanceOf(DocketError);
    await journalOf(q)!.close();
    const again = journal.track(await openQueue<string>(journal.file));
    expect(again.stats().total).toBe(1);
  });

  it('refuses a journal a live process holds, naming its pid, and takes the lock over once that process is killed', async () => {
    const child = await holder(journal.file);
    expect(readFileSync(`${journal.file}.lock`, 'utf8').split('\n')[0]).toBe(String(child.pid));
    await expect(openQueue(journal.file)).rejects.toThrow(new RegExp(`open in process ${child.pid}`));
    child.kill('SIGKILL');
    await once(child, 'exit');
    // The lock is left behind, naming a dead process: stale.
    expect(readFileSync(`${journal.file}.lock`, 'utf8').split('\n')[0]).toBe(String(child.pid));
    const q = journal.track(await openQueue<string>(journal.file));
    await q.add('after the takeover');
    expect(readFileSync(`${journal.file}.lock`, 'utf8').split('\n')[0]).toBe(String(process.pid));
    await journalOf(q)!.close();
  });

  it('takes over a lock that names no process, and removes its own lock on close', async () => {
    writeFileSync(`${journal.file}.lock`, 'garbage\n');
    const q = await openQueue<string>(journal.file);
    await journalOf(q)!.close();
    expect(() => readFileSync(`${journal.file}.lock`)).toThrow(/ENOENT/);
  });
});
