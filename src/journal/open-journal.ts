import { jsonCodec, type Codec } from '../codec.js';
import { InvalidOptionError, JournalLockedError, StoreFailedError } from '../errors.js';
import type { JobSnapshot } from '../job.js';
import { JournalWriter, type SyncPolicy } from './writer.js';
import { directoryOf, nodeFileSystem, type JournalFileHandle, type JournalFileSystem } from './file-system.js';
import { storedBody, type StoredJob } from './job-codec.js';
import { IdReservation } from './id-reservation.js';
import { Journal, type OpenReport } from './journal.js';
import { encodeFileHeader, FILE_HEADER_SIZE } from './record.js';
import { replay, type LiveCursor, type ReplayDamage } from './replay.js';

/**
 * Options of a journal file.
 * @typeParam T - the payload type
 */
export interface JournalOptions<T> {
  /**
   * When an operation counts as stored: `'always'` (on stable storage before `add`,
   * `ack`... resolve: written to a file opened with O_DSYNC, or written and fdatasync'd
   * where the platform has no O_DSYNC; concurrent operations share one write), `'interval'` (written
   * before they resolve, fdatasync every `interval` ms), `'never'` (written before they
   * resolve; the OS flushes when it likes). See the guarantees table in the docs.
   * @defaultValue `'always'`
   */
  sync?: SyncPolicy;
  /**
   * Milliseconds between fdatasync calls under `sync: 'interval'`.
   * @defaultValue `50` (beanstalkd's `-f` default)
   */
  interval?: number;
  /**
   * Refuse to open (reject with `StoreFailedError`) when a record in the middle of the
   * journal is damaged, instead of opening with the records before it. A torn last
   * record, the normal aftermath of a crash, is dropped either way.
   * @defaultValue `false`
   */
  strict?: boolean;
  /**
   * Turns payloads into bytes and back.
   * @defaultValue JSON (`jsonCodec`)
   */
  codec?: Codec<T>;
  /**
   * Compact (rewrite the live jobs into a fresh file) once the file is larger than twice
   * the live data plus this many bytes. `Infinity` turns automatic compaction off;
   * `journal.compact()` still works.
   * @defaultValue `4 MiB`
   */
  compactionSlack?: number;
  /** The file layer (tests inject faults through it). @defaultValue node:fs */
  fileSystem?: JournalFileSystem;
}

const DEFAULT_SLACK = 4 * 1024 * 1024;

function refuse(file: string, message: string, cause?: unknown): StoreFailedError {
  return new StoreFailedError(`journal ${file}: ${message}`, cause === undefined ? undefined : { cause });
}

async function createFile(fs: JournalFileSystem, file: string): Promise<void> {
  // Created under another name and renamed in, so a crash never leaves a half-written header.
  const tmp = `${file}.new`;
  const handle = await fs.open(tmp, 'create');
  try {
    await handle.write([encodeFileHeader()], 0);
    await handle.datasync();
  } finally {
    await handle.close();
  }
  await fs.rename(tmp, file);
  await fs.syncDirectory(directoryOf(file));
}

/** @internal A journal file opened and replayed, before the live jobs are decoded. */
export interface OpenedJournalFile<T> {
  journal: Journal<T>;
  cursor: LiveCursor;
  codec: Codec<T>;
  /** The highest job id the journal ever held or recorded, or its last owner reserved: new ids go above it. */
  highestId: number;
}

/**
 * @internal Opens (or creates) a journal file and replays it, for {@link openQueue}: the
 * journal stays in its restoring state until the queue adopts the restored jobs.
 */
export async function openJournalFile<T>(file: string, options: JournalOptions<T> = {}): Promise<OpenedJournalFile<T>> {
  const started = performance.now();
  const fs = options.fileSystem ?? nodeFileSystem;
  const codec = options.codec ?? (jsonCodec as Codec<T>);
  const sync = options.sync ?? 'always';
  const interval = options.interval ?? 50;
  const slack = options.compactionSlack ?? DEFAULT_SLACK;
  if (sync !== 'always' && sync !== 'interval' && sync !== 'never') {
    throw new InvalidOptionError(`Expected \`sync\` to be 'always', 'interval' or 'never', got \`${String(sync)}\``);
  }
  if (!(typeof interval === 'number' && interval > 0 && interval < 2 ** 31)) {
    throw new InvalidOptionError(`Expected \`interval\` to be a number of ms above 0 and below 2^31, got \`${String(interval)}\``);
  }
  if (!(typeof slack === 'number' && slack >= 0))
    throw new InvalidOptionError(`Expected \`compactionSlack\` to be a number of bytes >= 0, got \`${String(slack)}\``);

  // Before anything is read: the file is this process's until it closes it.
  let unlock: () => Promise<void>;
  try {
    unlock = await fs.lock(file);
  } catch (error) {
    if (error instanceof JournalLockedError) throw error;
    throw refuse(file, 'cannot be locked', error);
  }
  try {
    return await openLocked(file, fs, codec, sync, interval, slack, options.strict === true, started, unlock);
  } catch (error) {
    await unlock();
    throw error;
  }
}

async function openLocked<T>(
  file: string,
  fs: JournalFileSystem,
  codec: Codec<T>,
  sync: SyncPolicy,
  interval: number,
  slack: number,
  strict: boolean,
  started: number,
  unlock: () => Promise<void>,
): Promise<OpenedJournalFile<T>> {
  let bytes: Uint8Array | undefined;
  try {
    bytes = await fs.readFile(file);
  } catch (error) {
    throw refuse(file, 'cannot be read', error);
  }
  let created = false;
  let truncated: ReplayDamage | undefined;
  let backup: string | undefined;
  let result = replay(bytes ?? new Uint8Array(0));
  if (bytes === undefined || result.header === 'short') {
    if (bytes !== undefined && bytes.length > 0) truncated = { kind: 'torn-tail', offset: 0, reason: 'incomplete', droppedBytes: bytes.length };
    try {
      await createFile(fs, file);
    } catch (error) {
      throw refuse(file, 'cannot be created', error);
    }
    created = true;
    result = replay(encodeFileHeader());
  } else if (result.header !== 'ok') {
    // A foreign file, a newer format or a damaged header: never touch it.
    const why = { 'not-a-journal': 'is not a docket journal', 'bad-version': 'has an unknown format version', 'bad-checksum': 'has a damaged header' }[
      result.header
    ];
    throw refuse(file, `${why}; not opened`);
  } else if (result.damage !== undefined) {
    const damage = result.damage;
    if (damage.kind === 'corrupt' && strict) {
      throw refuse(
        file,
        `damaged record at offset ${damage.offset} (${damage.reason}) followed by valid records at ${damage.nextValidOffset}; not opened (strict)`,
      );
    }
    try {
      if (damage.kind === 'corrupt') {
        backup = `${file}.corrupt-${Date.now()}`;
        await fs.copyFile(file, backup);
      }
      const handle = await fs.open(file, 'existing');
      try {
        await handle.truncate(result.validEnd);
        await handle.datasync();
      } finally {
        await handle.close();
      }
    } catch (error) {
      throw refuse(file, `cannot cut off the damaged tail at offset ${damage.offset}`, error);
    }
    truncated = damage;
  }

  let handle: JournalFileHandle;
  try {
    // Under 'always' a write must be durable before it is acknowledged: with O_DSYNC the
    // write itself is (one system call instead of write + fdatasync per batch).
    handle = await fs.open(file, 'existing', { dsync: sync === 'always' });
  } catch (error) {
    throw refuse(file, 'cannot be opened for writing', error);
  }
  let ids: IdReservation;
  try {
    ids = await IdReservation.open(fs, file, result.highestId, sync === 'always');
  } catch (error) {
    await handle.close().catch(() => {});
    throw refuse(file, 'cannot reserve job ids', error);
  }
  // Above every id the journal holds or recorded, and every id the last owner may have handed out.
  const highestId = Math.max(result.highestId, ids.previous);
  const report: OpenReport = {
    records: result.records,
    jobs: result.live,
    bytes: bytes?.length ?? 0,
    truncated,
    backup,
    created,
    renumbered: 0,
    durationMs: 0,
  };
  let journal: Journal<T> | undefined;
  const writer = new JournalWriter(fs, file, handle, result.validEnd, result.lastSeq + 1, {
    sync,
    interval,
    // Past the valid end there may be zeros preallocated by the last run (see JournalWriter).
    allocated: created ? FILE_HEADER_SIZE : truncated !== undefined ? result.validEnd : (bytes?.length ?? result.validEnd),
    holdBytes: Number.isFinite(slack) ? Math.max(slack, 4096) : DEFAULT_SLACK,
    // Emitted outside the writer's loop: a listener that throws must not stop it.
    onFail: (error) => queueMicrotask(() => journal?.emit('failed', error)),
    onCompactionError: (error) => queueMicrotask(() => journal?.emit('compactionError', error)),
    onClosed: async () => {
      // A journal that failed may have handed out jobs it never wrote: their ids stay reserved.
      await ids.close(journal?.failure === undefined ? journal?.highestId : undefined);
      await unlock();
    },
  });
  journal = new Journal<T>(file, writer, codec, sync, slack, result.live === 0 ? 200 : result.liveBytes / result.live, report, highestId, ids);
  report.durationMs = performance.now() - started;
  const opened = journal;
  if (truncated !== undefined) {
    // After the caller's continuation, so that listeners attached right after the await hear it.
    setImmediate(() => {
      if (truncated.kind === 'corrupt') opened.emit('corrupt', truncated, backup as string);
      else opened.emit('truncated', truncated);
    });
  }
  return { journal, cursor: result.cursor(), codec, highestId };
}

/**
 * The stored jobs as snapshots, decoding each payload on the way: one job at a time, so
 * that `Queue.restore` turns each into its job before the next is made.
 *
 * With `reuse`, every snapshot is that one object, overwritten for each job: only for a
 * consumer that copies a snapshot out before pulling the next (`Queue.restore` does:
 * `JobRecord.fromSnapshot` copies every field, and errors element by element). Saves a
 * million short-lived 27-field objects, and their garbage collection, on a large backlog.
 * `ids`, when given, receives each job's id (what `Journal.adopt` needs) on the way.
 * `renumber`, when given, moves a job whose id is `taken` to a new id (`move` sets
 * `stored.id`) before it is handed on.
 */
export function* decodeSnapshots<T>(
  file: string,
  cursor: LiveCursor,
  codec: Codec<T>,
  reuse: StoredJob | undefined,
  ids: number[] | undefined,
  renumber?: { taken(id: number): boolean; move(job: StoredJob): void },
): Generator<JobSnapshot<T>, void, undefined> {
  // JSON straight from the file buffer: no view object per job, and Buffer's UTF-8 path
  // (the checksum already vouched for the bytes).
  const json = codec === (jsonCodec as Codec<unknown>);
  for (let stored = cursor.next(reuse); stored !== undefined; stored = cursor.next(reuse)) {
    // Before the payload is decoded: `move` re-records it from the stored bytes.
    if (renumber?.taken(stored.id) === true) renumber.move(stored);
    try {
      stored.data = json ? JSON.parse(stored.source.toString('utf8', stored.bodyStart, stored.bodyEnd)) : codec.decode(storedBody(stored));
    } catch (error) {
      throw refuse(file, `job ${stored.id}: the codec cannot decode its data (was it written with another codec?)`, error);
    }
    ids?.push(stored.id);
    yield stored as JobSnapshot<T>;
  }
}
