import type { JournalFileHandle, JournalFileSystem } from '../../src/journal/index.js';
import { nodeFileSystem } from '../../src/journal/index.js';

// A journal file system that stops writing at a chosen record, as a process killed between
// two appends leaves its journal: every record before the chosen one is written, that one
// and everything after never reach the file.

/** Where a record's type byte sits (after the 16-byte frame header). */
const TYPE_OFFSET = 16;
export const RecordKind = { put: 1, update: 2, delete: 3 } as const;

/** Whether a record (a whole frame) is of `kind` and its bytes contain `text`. */
export function recordIs(record: Uint8Array, kind: number, text: string): boolean {
  return record[TYPE_OFFSET] === kind && Buffer.from(record.buffer, record.byteOffset, record.length).includes(text);
}

export interface CutFileSystem extends JournalFileSystem {
  /** From now on, the first record matching `test` and all that follow are never written; then `onCut` runs. */
  arm(test: (record: Uint8Array) => boolean, onCut?: () => void): void;
  /** Whether the cut happened. */
  readonly cut: boolean;
}

export function cutFileSystem(inner: JournalFileSystem = nodeFileSystem): CutFileSystem {
  let test: ((record: Uint8Array) => boolean) | undefined;
  let onCut: (() => void) | undefined;
  let cut = false;
  /** The chunks that still reach the file, and whether this write makes the cut. */
  const keep = (chunks: readonly Uint8Array[]): { kept: readonly Uint8Array[]; cuts: boolean } => {
    if (cut) return { kept: [], cuts: false };
    if (test === undefined) return { kept: chunks, cuts: false };
    const at = chunks.findIndex((chunk) => (test as (record: Uint8Array) => boolean)(chunk));
    return at < 0 ? { kept: chunks, cuts: false } : { kept: chunks.slice(0, at), cuts: true };
  };
  const wrap = (handle: JournalFileHandle): JournalFileHandle => ({
    get writesAreDurable() {
      return handle.writesAreDurable;
    },
    async write(chunks, position) {
      const { kept, cuts } = keep(chunks);
      if (kept.length > 0) await handle.write(kept, position);
      if (cuts) {
        cut = true;
        onCut?.();
      }
    },
    datasync: () => (cut ? Promise.resolve() : handle.datasync()),
    truncate: (length) => (cut ? Promise.resolve() : handle.truncate(length)),
    close: () => handle.close(),
  });
  return {
    readFile: (file) => inner.readFile(file),
    open: async (file, mode, options) => wrap(await inner.open(file, mode, options)),
    rename: (from, to) => inner.rename(from, to),
    syncDirectory: (dir) => inner.syncDirectory(dir),
    copyFile: (from, to) => inner.copyFile(from, to),
    unlink: (file) => inner.unlink(file),
    lock: (file) => inner.lock(file),
    arm(next, then) {
      test = next;
      onCut = then;
    },
    get cut() {
      return cut;
    },
  };
}
