import { jsonCodec, type Codec } from '../codec.js';
import { InvalidOptionError, StoreFailedError } from '../errors.js';
import type { JobSnapshot } from '../job.js';
import { JournalWriter, type SyncPolicy } from './file.js';
import { directoryOf, nodeFileSystem, type JournalFileSystem } from './file-system.js';
import { storedBody, type StoredJob } from './job-codec.js';
import { Journal, type OpenReport } from './journal.js';
import { encodeFileHeader } from './record.js';
import { replay, type ReplayDamage } from './replay.js';

/**
 * Options of a journal file.
 * @typeParam T - the payload type
 */
export interface JournalOptions<T> {
  /**
   * When an operation counts as stored: `'always'` (written and fdatasync'd before `add`,
   * `ack`... resolve; concurrent operations share one fdatasync), `'interval'` (written
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

/** Result of {@link openJournal}. */
export interface OpenedJournal<T> {
  journal: Journal<T>;
  /**
   * The live jobs for `Queue.restore`, decoded as they are iterated (once). Rejects a
   * payload the codec cannot decode with `StoreFailedError`.
   */
  snapshots: Iterable<JobSnapshot<T>>;
}

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

/**
 * Opens (or creates) a journal file and replays it. Most code wants {@link openQueue},
 * which also builds the queue.
 */
export async function openJournal<T>(file: string, options: JournalOptions<T> = {}): Promise<OpenedJournal<T>> {
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
  if (!(typeof slack === 'number' && slack >= 0)) throw new InvalidOptionError(`Expected \`compactionSlack\` to be a number of bytes >= 0, got \`${String(slack)}\``);

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
    const why = { 'not-a-journal': 'is not a docket journal', 'bad-version': 'has an unknown format version', 'bad-checksum': 'has a damaged header' }[result.header];
    throw refuse(file, `${why}; not opened`);
  } else if (result.damage !== undefined) {
    const damage = result.damage;
    if (damage.kind === 'corrupt' && options.strict === true) {
      throw refuse(file, `damaged record at offset ${damage.offset} (${damage.reason}) followed by valid records at ${damage.nextValidOffset}; not opened (strict)`);
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

  let handle;
  try {
    handle = await fs.open(file, 'existing');
  } catch (error) {
    throw refuse(file, 'cannot be opened for writing', error);
  }
  const report: OpenReport = {
    records: result.records,
    jobs: result.live,
    bytes: bytes?.length ?? 0,
    truncated,
    backup,
    created,
    durationMs: 0,
  };
  let journal: Journal<T> | undefined;
  const writer = new JournalWriter(fs, file, handle, result.validEnd, result.lastSeq + 1, {
    sync,
    interval,
    holdBytes: Number.isFinite(slack) ? Math.max(slack, 4096) : DEFAULT_SLACK,
    // Emitted outside the writer's loop: a listener that throws must not stop it.
    onFail: (error) => queueMicrotask(() => journal?.emit('failed', error)),
    onCompactionError: (error) => queueMicrotask(() => journal?.emit('compactionError', error)),
  });
  journal = new Journal<T>(file, writer, codec, sync, slack, result.live === 0 ? 200 : result.liveBytes / result.live, report);
  report.durationMs = performance.now() - started;
  const opened = journal;
  if (truncated !== undefined) {
    // After the caller's continuation, so that listeners attached right after the await hear it.
    setImmediate(() => {
      if (truncated.kind === 'corrupt') opened.emit('corrupt', truncated, backup as string);
      else opened.emit('truncated', truncated);
    });
  }
  return { journal, snapshots: decodeSnapshots(file, result.jobs(), codec) };
}

/**
 * The stored jobs as snapshots, decoding each payload on the way: one job at a time, so
 * that `Queue.restore` turns each into its job before the next is made.
 */
function* decodeSnapshots<T>(file: string, jobs: Iterable<StoredJob>, codec: Codec<T>): Iterable<JobSnapshot<T>> {
  // JSON straight from the file buffer: no view object per job, and Buffer's UTF-8 path
  // (the checksum already vouched for the bytes).
  const json = codec === (jsonCodec as Codec<unknown>);
  for (const stored of jobs) {
    try {
      stored.data = json ? JSON.parse(stored.source.toString('utf8', stored.bodyStart, stored.bodyEnd)) : codec.decode(storedBody(stored));
    } catch (error) {
      throw refuse(file, `job ${stored.id}: the codec cannot decode its data (was it written with another codec?)`, error);
    }
    yield stored as JobSnapshot<T>;
  }
}

