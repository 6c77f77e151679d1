import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach } from 'vitest';
import { journalOf, openQueue, type OpenQueueOptions } from '../../src/journal/index.js';
import type { Queue } from '../../src/queue.js';

/** A fresh directory and journal path per test, and the durable queues opened in it. */
export interface JournalDir {
  readonly dir: string;
  readonly file: string;
  /**
   * Opens the test's journal as a queue, closed (files only, as a crash would) after the
   * test. A restart: the journal of any queue still open on the file is closed first
   * (files only, as the process that held it would be gone; one process per journal).
   */
  start<T>(options?: OpenQueueOptions<T>): Promise<Queue<T>>;
  /** Closes the files of `queue`'s journal and nothing else: what a kill -9 leaves. */
  crash<T>(queue: Queue<T>): Promise<void>;
  /** Closes this queue's journal after the test, like `start`'s. */
  track<T>(queue: Queue<T>): Queue<T>;
}

/**
 * Registers the per-test setup and cleanup: a temp directory with `q.journal` in it, and
 * after each test, every tracked journal closed without letting its queue record more
 * (what a crash leaves), then the directory removed.
 */
export function useJournalDir(prefix = 'docket-journal-'): JournalDir {
  const open: Array<Queue<unknown>> = [];
  let dir = '';
  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), prefix));
  });
  afterEach(async () => {
    for (const q of open.splice(0)) await journalOf(q)?.close();
    rmSync(dir, { recursive: true, force: true });
  });
  const track = <T>(queue: Queue<T>): Queue<T> => {
    open.push(queue as Queue<unknown>);
    return queue;
  };
  return {
    get dir() {
      return dir;
    },
    get file() {
      return join(dir, 'q.journal');
    },
    track,
    crash: async <T>(queue: Queue<T>) => {
      await journalOf(queue)?.close();
    },
    start: async <T>(options: OpenQueueOptions<T> = {}) => {
      const file = join(dir, 'q.journal');
      for (const q of open) if (journalOf(q)?.path === file) await journalOf(q)?.close();
      return track(await openQueue<T>(file, options));
    },
  };
}
