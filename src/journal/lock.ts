import { randomBytes } from 'node:crypto';
import fs from 'node:fs/promises';
import { JournalLockedError } from '../errors.js';

// One process per journal: `<journal>.lock` holds the pid of the process that has it open.
// Linked into place (which fails if it exists), so of two processes opening at once
// exactly one wins. A lock whose
// pid is not a live process (left by a kill -9 or a power cut) is stale and taken over.

/** Whether `pid` is a live process (one we may not signal still counts). */
function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'EPERM';
  }
}

async function readOwner(lock: string): Promise<string | undefined> {
  try {
    return await fs.readFile(lock, 'utf8');
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw error;
  }
}

/** The pid a lock file names, or undefined if it names none (not a lock of ours). */
function ownerPid(content: string): number | undefined {
  const pid = Number(content.split('\n')[0]);
  return Number.isSafeInteger(pid) && pid > 0 ? pid : undefined;
}

/**
 * Takes the lock of `journal`, or rejects with {@link JournalLockedError} naming the live
 * owner. Resolves with the function that releases it.
 */
export async function lockJournal(journal: string): Promise<() => Promise<void>> {
  const lock = `${journal}.lock`;
  // Unique per open, so that a takeover can tell the stale lock it judged from a fresh one.
  const content = `${process.pid}\n${randomBytes(8).toString('hex')}\n`;
  for (let attempt = 0; attempt < 5; attempt++) {
    // Written whole under a name of our own, then linked in: link(2) fails if the lock
    // exists, and the lock never exists half-written.
    const mine = `${lock}.${randomBytes(4).toString('hex')}`;
    await fs.writeFile(mine, content);
    try {
      await fs.link(mine, lock);
      return async () => {
        // Only our own: never a lock a later owner took over.
        if ((await readOwner(lock).catch(() => undefined)) === content) await fs.unlink(lock).catch(() => {});
      };
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw error;
    } finally {
      await fs.unlink(mine).catch(() => {});
    }
    const found = await readOwner(lock);
    if (found === undefined) continue;
    const pid = ownerPid(found);
    if (pid !== undefined && isAlive(pid)) {
      const who = pid === process.pid ? 'this process (another queue has it open)' : `process ${pid}`;
      throw new JournalLockedError(
        `journal ${journal} is open in ${who}: ${lock} names it as the owner. One process per journal; if no such process runs, delete the lock file`,
      );
    }
    // Stale. Moved aside under a name of our own, then checked: if another process took the
    // stale lock over first, what we moved is its fresh lock, and it goes back.
    const aside = `${lock}.stale-${randomBytes(4).toString('hex')}`;
    try {
      await fs.rename(lock, aside);
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === 'ENOENT') continue;
      throw error;
    }
    if ((await readOwner(aside)) === found) await fs.unlink(aside);
    else await fs.rename(aside, lock);
  }
  throw new JournalLockedError(`journal ${journal}: could not take ${lock} (other processes keep taking it)`);
}
