import { StoreFailedError } from '../errors.js';
import { directoryOf, type JournalFileHandle, type JournalFileSystem } from './file-system.js';
import { encodeFileHeader, FILE_HEADER_SIZE, sealRecord } from './record.js';

/**
 * When an appended record counts as stored.
 * - `'always'`: after it is on stable storage: written to a file opened with O_DSYNC (one
 *   system call), or written and fdatasync'd where O_DSYNC is unavailable. Concurrent
 *   appends share one write (and so one flush to the disk).
 * - `'interval'`: after it is written to the OS; fdatasync runs every `interval` ms.
 * - `'never'`: after it is written to the OS; the OS decides when it reaches the disk.
 */
export type SyncPolicy = 'always' | 'interval' | 'never';

/** Counters of one open journal file. */
export interface WriterStats {
  /** Bytes in the current file. */
  size: number;
  /** Records written since open. */
  records: number;
  /** Write calls since open (each one carries every record appended while the previous was in flight). */
  batches: number;
  /** Flushes to stable storage since open: fdatasync calls, plus writes under `sync: 'always'` to a file opened with O_DSYNC. */
  syncs: number;
  /** Compactions finished since open. */
  compactions: number;
}

/** What a finished compaction did. */
export interface CompactionInfo {
  before: number;
  after: number;
  /** Live-job records written (the rest of the new file is the changes made meanwhile). */
  jobs: number;
  durationMs: number;
}

interface WriterOptions {
  sync: SyncPolicy;
  interval: number;
  /** Called once when the writer fails closed. */
  onFail(error: StoreFailedError): void;
  onCompactionError(error: Error): void;
  /** Called once the file is closed (releases the journal's lock). */
  onClosed?(): Promise<void>;
  /** How far the old file may grow while a compaction runs before writes wait for the switch. */
  holdBytes: number;
  /** The file's size on disk, which may exceed `size` by zeros preallocated earlier. @defaultValue `size` */
  allocated?: number;
}

interface Batch {
  promise: Promise<void>;
  resolve(): void;
  reject(error: Error): void;
}

function newBatch(): Batch {
  let resolve!: () => void;
  let reject!: (error: Error) => void;
  const promise = new Promise<void>((res, rej) => {
    resolve = res;
    reject = rej;
  });
  // The journal hands this promise to every change of the batch; changes whose caller
  // does not wait for it (a reserve) must not turn a failure into an unhandled rejection.
  promise.catch(() => {});
  return { promise, resolve, reject };
}

interface SwitchRequest {
  handle: JournalFileHandle;
  tmp: string;
  seq: number;
  position: number;
  jobs: number;
  started: number;
  done(error?: Error): void;
}

const COMPACTION_CHUNK = 1 << 20;

/**
 * Zeros written past the end under `sync: 'always'` with O_DSYNC, so that most durable
 * writes overwrite the file instead of growing it: a write that changes the file size must
 * also commit the file system's metadata (a journal commit on ext4), one more flush per
 * write. beanstalkd preallocates its binlog files the same way. Replay takes zeros after
 * the last record for the end of the journal, not for damage.
 */
const PREALLOCATION = 1 << 20;
const ZEROS = new Uint8Array(PREALLOCATION);

/**
 * The append side of a journal file: group commit, the sync policy, fail-closed error
 * handling, and compaction into a new file switched in atomically.
 *
 * Every operation on the live file descriptor runs in one loop, one at a time: a batch
 * write, its fdatasync, the periodic fdatasync, the compaction switch. Records appended
 * while one runs wait in `pending` and go out together in the next write, so N
 * concurrent producers share one fdatasync (group commit). Under `'interval'` and
 * `'never'` a batch write is synchronous (see writeBatch): the batch is then every record
 * appended in one turn of the event loop, or while a periodic fdatasync ran.
 */
export class JournalWriter {
  private pending: Uint8Array[] = [];
  private batch: Batch | undefined;
  private running = false;
  private dirty = false;
  private syncDue = false;
  private timer: ReturnType<typeof setInterval> | undefined;
  private failure: StoreFailedError | undefined;
  private closed = false;
  private idleWaiters: Array<() => void> = [];
  /** Records written to the live file since a compaction started (they must reach the new file too). */
  private captured: Uint8Array[] | undefined;
  private switchRequest: SwitchRequest | undefined;
  private compaction: Promise<CompactionInfo | undefined> | undefined;
  /**
   * While a compaction runs, writes to the old file stop once it reaches this size, and
   * appends wait in memory until the switch. Without it a slow fdatasync of the new file
   * (seconds, on a busy disk) lets the old file grow without bound, which is the failure
   * compaction exists to prevent.
   */
  private holdAt = Infinity;
  private readonly counters: WriterStats;
  private readonly loopBound = (): void => void this.loop();
  /** Bytes on disk: `size` plus preallocated zeros. */
  private allocated: number;

  constructor(
    private readonly fs: JournalFileSystem,
    private readonly file: string,
    private handle: JournalFileHandle,
    size: number,
    private nextSeq: number,
    private readonly options: WriterOptions,
  ) {
    this.counters = { size, records: 0, batches: 0, syncs: 0, compactions: 0 };
    this.allocated = Math.max(size, options.allocated ?? size);
    if (options.sync === 'interval') {
      this.timer = setInterval(() => {
        if (!this.dirty) return;
        this.syncDue = true;
        this.kick();
      }, options.interval);
      this.timer.unref();
    }
  }

  /** The error that failed the writer, if it has. */
  get failed(): StoreFailedError | undefined {
    return this.failure;
  }

  /** Set once `close()` has been called. */
  get isClosed(): boolean {
    return this.closed;
  }

  get isCompacting(): boolean {
    return this.compaction !== undefined;
  }

  /** Bytes in the current file. */
  get size(): number {
    return this.counters.size;
  }

  stats(): WriterStats {
    return { ...this.counters };
  }

  /**
   * Queues a record (from `allocRecord`, unsealed) for the next write. The promise
   * resolves when the record is stored as the sync policy defines, and rejects with
   * {@link StoreFailedError} if it never will be.
   */
  append(record: Uint8Array): Promise<void> {
    if (this.failure !== undefined) return rejected(this.failure);
    if (this.closed) return rejected(new StoreFailedError(`journal ${this.file} is closed`));
    this.pending.push(record);
    this.batch ??= newBatch();
    this.kick();
    return this.batch.promise;
  }

  private kick(): void {
    if (this.running) return;
    this.running = true;
    // Not a direct call: every append made in the current synchronous run (a loop of
    // add() calls, one addBulk) joins the same write. Under 'always' a microtask: the disk
    // is the wait, and the appends made meanwhile form the next batch. Otherwise the write
    // waits for the end of this turn's I/O callbacks, so that the puts read from every
    // connection in one turn share one write call instead of one each.
    if (this.options.sync === 'always') queueMicrotask(this.loopBound);
    else setImmediate(this.loopBound);
  }

  private async loop(): Promise<void> {
    while (this.failure === undefined) {
      if (this.switchRequest !== undefined) await this.switchFiles(this.switchRequest);
      else if (this.pending.length > 0 && this.counters.size < this.holdAt) await this.writeBatch();
      else if (this.syncDue) await this.syncNow();
      else break;
    }
    this.running = false;
    // Held records (see holdAt) are not written yet: flush() waits on.
    if (this.pending.length > 0 && this.failure === undefined) return;
    const waiters = this.idleWaiters;
    this.idleWaiters = [];
    for (const wake of waiters) wake();
  }

  private async writeBatch(): Promise<void> {
    const records = this.pending;
    const batch = this.batch!;
    this.pending = [];
    this.batch = undefined;
    let bytes = 0;
    for (const record of records) {
      sealRecord(record, this.nextSeq++);
      bytes += record.length;
    }
    // Out of preallocated room: the same write carries the next stretch of zeros.
    const end = this.counters.size + bytes;
    const extend = this.preallocates() && end > this.allocated;
    const chunks = extend ? [...records, ZEROS] : records;
    try {
      // Under 'interval' and 'never' the write only reaches the page cache: done here, on
      // the event loop (as beanstalkd does), it skips the thread-pool round trip that an
      // async write costs each batch. Under 'always' it waits for the disk: async.
      if (this.options.sync !== 'always' && this.handle.writeSync !== undefined) this.handle.writeSync(chunks, this.counters.size);
      else await this.handle.write(chunks, this.counters.size);
    } catch (error) {
      this.fail('write', error, batch);
      return;
    }
    if (extend) this.allocated = end + PREALLOCATION;
    this.counters.size += bytes;
    this.counters.records += records.length;
    this.counters.batches++;
    if (this.captured !== undefined) for (const record of records) this.captured.push(record);
    if (this.options.sync === 'always') {
      // With O_DSYNC the write above returned only once the batch was on stable storage.
      if (this.handle.writesAreDurable !== true) {
        try {
          await this.handle.datasync();
        } catch (error) {
          this.fail('fdatasync', error, batch);
          return;
        }
      }
      this.counters.syncs++;
    } else {
      this.dirty = true;
    }
    batch.resolve();
  }

  private preallocates(): boolean {
    return this.options.sync === 'always' && this.handle.writesAreDurable === true;
  }

  private async syncNow(): Promise<void> {
    this.syncDue = false;
    this.dirty = false;
    try {
      await this.handle.datasync();
      this.counters.syncs++;
    } catch (error) {
      this.fail('fdatasync', error, undefined);
    }
  }

  /**
   * Fails closed. Never retries: after a failed fsync the kernel may have dropped the
   * dirty pages and marked them clean, so a second fsync can "succeed" without the data
   * ever reaching the disk (the PostgreSQL "fsyncgate" lesson).
   */
  private fail(op: string, cause: unknown, batch: Batch | undefined): void {
    if (this.failure !== undefined) return;
    const message = cause instanceof Error ? cause.message : String(cause);
    this.failure = new StoreFailedError(`journal ${this.file}: ${op} failed (${message}); the queue accepts no new jobs`, { cause });
    batch?.reject(this.failure);
    this.batch?.reject(this.failure);
    this.batch = undefined;
    this.pending = [];
    if (this.timer !== undefined) clearInterval(this.timer);
    this.timer = undefined;
    const request = this.switchRequest;
    if (request !== undefined) {
      this.switchRequest = undefined;
      void this.discard(request.handle, request.tmp);
      request.done(this.failure);
    }
    for (const wake of this.idleWaiters.splice(0)) wake();
    this.options.onFail(this.failure);
  }

  /** Resolves when every record appended so far has been written (and synced, per policy) or failed. */
  flush(): Promise<void> {
    if (this.failure !== undefined || (!this.running && this.pending.length === 0)) return Promise.resolve();
    return new Promise((resolve) => this.idleWaiters.push(resolve));
  }

  /**
   * Rewrites the live jobs into a new file and switches to it atomically (write,
   * fdatasync, rename over the journal, fsync the directory). `liveRecords` is called
   * once, now; it yields unsealed put records, each encoded from the job's state at the
   * moment it is pulled. Changes made while the compaction runs keep going to the old
   * file and are copied after the live records, so replaying the new file (whose update
   * records carry whole state, not diffs) ends in the current state.
   *
   * `keep` may drop copied records that the new file does not need. `closing` gives the
   * records that end the new file, asked for at the switch, when nothing more can reach
   * the old file (not counted as jobs).
   *
   * Resolves with what it did, or `undefined` if it gave up (the old file stays in use;
   * the error goes to `onCompactionError`). One compaction at a time: a second call
   * returns the running one.
   */
  compact(
    liveRecords: () => Iterable<Uint8Array>,
    keep: (record: Uint8Array) => boolean = () => true,
    closing: () => Uint8Array[] = () => [],
  ): Promise<CompactionInfo | undefined> {
    if (this.compaction !== undefined) return this.compaction;
    if (this.failure !== undefined || this.closed) return Promise.resolve(undefined);
    this.keepCaptured = keep;
    this.closingRecords = closing;
    this.compaction = this.runCompaction(liveRecords).finally(() => {
      this.compaction = undefined;
      this.holdAt = Infinity;
      if (this.pending.length > 0) this.kick();
    });
    return this.compaction;
  }

  private async runCompaction(liveRecords: () => Iterable<Uint8Array>): Promise<CompactionInfo | undefined> {
    const started = Date.now();
    const before = this.counters.size;
    const tmp = `${this.file}.compact`;
    this.captured = [];
    this.holdAt = before + this.options.holdBytes;
    const records = liveRecords();
    let handle: JournalFileHandle | undefined;
    let seq = this.nextSeq;
    let position = 0;
    let jobs = 0;
    try {
      handle = await this.fs.open(tmp, 'create');
      const header = encodeFileHeader();
      await handle.write([header], 0);
      position = FILE_HEADER_SIZE;
      let chunk: Uint8Array[] = [];
      let chunkBytes = 0;
      for (const record of records) {
        sealRecord(record, seq++);
        chunk.push(record);
        chunkBytes += record.length;
        jobs++;
        if (chunkBytes >= COMPACTION_CHUNK) {
          if (this.failure !== undefined || this.closed) throw new Error('journal failed or closed during compaction');
          await handle.write(chunk, position);
          position += chunkBytes;
          chunk = [];
          chunkBytes = 0;
        }
      }
      // Copy what was written meanwhile now, so that the switch (which holds up the
      // writer) has little left to do.
      const copied = this.takeCaptured();
      for (const record of copied) {
        sealRecord(record, seq++);
        chunk.push(record);
        chunkBytes += record.length;
      }
      if (chunk.length > 0) await handle.write(chunk, position);
      position += chunkBytes;
      await handle.datasync();
    } catch (error) {
      this.captured = undefined;
      await this.discard(handle, tmp);
      this.options.onCompactionError(error instanceof Error ? error : new Error(String(error)));
      return undefined;
    }
    if (this.failure !== undefined || this.closed) {
      this.captured = undefined;
      await this.discard(handle, tmp);
      return undefined;
    }
    const newHandle = handle;
    const ok = await new Promise<Error | undefined>((resolve) => {
      this.switchRequest = { handle: newHandle, tmp, seq, position, jobs, started, done: resolve };
      this.kick();
    });
    if (ok !== undefined) {
      this.options.onCompactionError(ok);
      return undefined;
    }
    this.counters.compactions++;
    return { before, after: this.counters.size, jobs, durationMs: Date.now() - started };
  }

  private takeCaptured(): Uint8Array[] {
    const records = this.captured ?? [];
    this.captured = [];
    return records.filter(this.keepCaptured);
  }

  /** Which copied records the new file needs (the rest describe jobs that came and went meanwhile). */
  private keepCaptured: (record: Uint8Array) => boolean = () => true;
  private closingRecords: () => Uint8Array[] = () => [];

  private async discard(handle: JournalFileHandle | undefined, tmp: string): Promise<void> {
    await handle?.close().catch(() => {});
    await this.fs.unlink(tmp).catch(() => {});
  }

  /** Runs inside the loop: no write or sync of the live file is in flight. */
  private async switchFiles(request: SwitchRequest): Promise<void> {
    this.switchRequest = undefined;
    const { handle, tmp } = request;
    let { seq, position } = request;
    const rest = [...this.takeCaptured(), ...this.closingRecords()];
    this.captured = undefined;
    try {
      if (rest.length > 0) {
        let bytes = 0;
        for (const record of rest) {
          sealRecord(record, seq++);
          bytes += record.length;
        }
        await handle.write(rest, position);
        position += bytes;
        await handle.datasync();
      }
      await this.fs.rename(tmp, this.file);
    } catch (error) {
      await this.discard(handle, tmp);
      request.done(error instanceof Error ? error : new Error(String(error)));
      return;
    }
    // The rename is done: from here the new file is the journal.
    const old = this.handle;
    this.handle = await this.durableHandle(handle);
    this.counters.size = position;
    this.allocated = position;
    this.nextSeq = seq;
    this.dirty = false;
    this.holdAt = Infinity;
    await old.close().catch(() => {});
    try {
      await this.fs.syncDirectory(directoryOf(this.file));
    } catch (error) {
      // The rename may not survive a crash, and either file is a complete journal, but a
      // directory that cannot be synced is a disk we should not trust with new work.
      this.fail('fsync of the directory', error, undefined);
    }
    request.done();
  }

  /**
   * Under `sync: 'always'`, the compacted file (written in bulk through a plain handle)
   * reopened with O_DSYNC for the appends that follow. Should that fail, the plain handle
   * stays: appends then pay a separate fdatasync, which is just as durable.
   */
  private async durableHandle(handle: JournalFileHandle): Promise<JournalFileHandle> {
    if (this.options.sync !== 'always' || handle.writesAreDurable === true) return handle;
    let reopened: JournalFileHandle;
    try {
      reopened = await this.fs.open(this.file, 'existing', { dsync: true });
    } catch {
      return handle;
    }
    if (reopened.writesAreDurable !== true) {
      await reopened.close().catch(() => {});
      return handle;
    }
    await handle.close().catch(() => {});
    return reopened;
  }

  /**
   * Writes and syncs everything appended so far, waits for a running compaction, and
   * closes the file. Appends after this reject.
   */
  async close(): Promise<void> {
    if (this.closed) return;
    await this.flush();
    this.closed = true;
    if (this.timer !== undefined) clearInterval(this.timer);
    this.timer = undefined;
    await this.compaction?.catch(() => undefined);
    await this.flush();
    if (this.failure === undefined && this.allocated > this.counters.size) {
      // A closed journal ends at its last record. Should the cut fail, the zeros stay:
      // harmless, replay skips them. Its fdatasync follows below.
      try {
        await this.handle.truncate(this.counters.size);
        this.allocated = this.counters.size;
        this.dirty = true;
      } catch {
        // keep the zeros
      }
    }
    if (this.failure === undefined && (this.dirty || this.options.sync !== 'always')) {
      try {
        await this.handle.datasync();
        this.counters.syncs++;
      } catch (error) {
        this.fail('fdatasync', error, undefined);
      }
    }
    await this.handle.close().catch(() => {});
    await this.options.onClosed?.();
  }
}

function rejected(error: Error): Promise<void> {
  const promise = Promise.reject(error);
  promise.catch(() => {});
  return promise;
}
