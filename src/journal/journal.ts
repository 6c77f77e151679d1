import { EventEmitter } from 'node:events';
import type { Codec } from '../codec.js';
import type { StoreFailedError } from '../errors.js';
import type { Job } from '../job.js';
import type { JobChange, Store } from '../store.js';
import type { CompactionInfo, JournalWriter, SyncPolicy, WriterStats } from './writer.js';
import { highestJobId } from '../job.js';
import { encodeDeleteRecord, encodeHighestIdRecord, encodeJobRecord, recordJobId, type JobFields } from './job-codec.js';
import { PAYLOAD_OFFSET, RecordType } from './record.js';
import type { IdReservation } from './id-reservation.js';
import type { ReplayDamage } from './replay.js';

/** What opening a journal found and did. */
export interface OpenReport {
  /** Valid records replayed. */
  records: number;
  /** Live jobs restored. */
  jobs: number;
  /** Bytes of the file when opened. */
  bytes: number;
  /** A torn or corrupt tail that was cut off (the file now ends before it). */
  truncated: ReplayDamage | undefined;
  /** Where a copy of the file was saved before a damaged middle was cut off. */
  backup: string | undefined;
  /** Whether the file was created by this open. */
  created: boolean;
  /**
   * Restored jobs given a new id because a job of another queue in this process already
   * had theirs (journals written by different processes, opened in one). Zero otherwise.
   */
  renumbered: number;
  durationMs: number;
}

/** Counters of an open journal: `journal.stats()`. */
export interface JournalStats extends WriterStats {
  path: string;
  sync: SyncPolicy;
  /** Jobs the journal currently holds. */
  liveJobs: number;
  /** Bytes those jobs would take in a freshly compacted file (estimate). */
  liveBytes: number;
  /** Set once the journal has failed closed. */
  failed: boolean;
  opened: OpenReport;
}

/** Events of a {@link Journal}. Damage found on open is emitted just after `openQueue` resolves. */
export interface JournalEvents {
  /** A torn tail was cut off on open (normal after a crash). */
  truncated: [damage: ReplayDamage];
  /** A damaged middle was found on open; the journal opened with the records before it. */
  corrupt: [damage: ReplayDamage, backup: string];
  /** A write or fdatasync failed: the queue now refuses new jobs. */
  failed: [error: StoreFailedError];
  compacted: [info: CompactionInfo];
  /** A compaction gave up; the old file stays in use. */
  compactionError: [error: Error];
}

/**
 * An append-only journal: the {@link Store} of a durable queue. Created by
 * {@link openQueue}; reach it with {@link journalOf}.
 * @typeParam T - the payload type
 */
export class Journal<T = unknown> extends EventEmitter<JournalEvents> implements Store<T> {
  /**
   * Live jobs added or changed since open, in order of latest change (compaction writes
   * them in this order). The jobs restored at open and untouched since are not in it
   * (see `base`): a map entry per restored job would cost as much as the replay.
   */
  private live = new Map<number, Job<T>>();
  /** The jobs restored at open: ids (all below any new id) and where to find them. */
  private base: { ids: readonly number[]; max: number; lookup: (id: number) => Job<T> | undefined } | undefined;
  /** Restored jobs not deleted and not in `live`. */
  private baseLive: number;
  /**
   * Set from open until {@link Journal.adopt} hands over the restored jobs. Restore itself
   * appends (an update for each job that was reserved when the process died), but until
   * the restored jobs are adopted the journal cannot read their state, so `live` is not
   * the whole truth: no compaction may snapshot it, or the new file would hold only the
   * jobs changed so far and lose every restored job nobody had touched.
   */
  private restoring = true;
  /**
   * Mean size of a put record (what a job costs in a compacted file). The live size is
   * estimated as count x mean rather than tracked per job, which would cost a number per
   * job kept in a second map.
   */
  private meanRecord: number;
  private readonly slack: number;
  /** The highest job id this journal holds or ever recorded (see `RecordType.HighestId`). */
  private highest: number;
  private compaction: Promise<CompactionInfo | undefined> | undefined;

  /** @internal use {@link openQueue} */
  constructor(
    readonly path: string,
    private readonly writer: JournalWriter,
    private readonly codec: Codec<T>,
    private readonly sync: SyncPolicy,
    slack: number,
    meanRecord: number,
    private readonly opened: OpenReport,
    highestId: number,
    private readonly ids: IdReservation,
  ) {
    super();
    this.highest = highestId;
    this.slack = slack;
    this.meanRecord = meanRecord;
    // Counted from the replay, so that the live size is right from the first append.
    this.baseLive = opened.jobs;
  }

  /**
   * @internal Hands over the jobs the queue restored from this journal (their ids, and
   * where to read their current state), ending the restore: compaction may run from here.
   */
  adopt(ids: readonly number[], lookup: (id: number) => Job<T> | undefined): void {
    let max = 0;
    for (const id of ids) if (id > max) max = id;
    this.base = { ids, max, lookup };
    this.restoring = false;
    this.maybeCompact();
  }

  /**
   * @internal While restoring: a stored job takes the new id `id` (another queue of the
   * process holds its old one). Records it as a put under the new id and a delete of the old.
   */
  moveRestored(job: JobFields, body: Uint8Array, id: number): void {
    this.ids.cover(id);
    void this.writer.append(encodeJobRecord(RecordType.Put, { ...job, id }, body));
    void this.writer.append(encodeDeleteRecord(job.id));
    if (id > this.highest) this.highest = id;
    this.opened.renumbered++;
  }

  private inBase(id: number): boolean {
    // While restoring, every change is to a restored job.
    return this.restoring || (this.base !== undefined && id <= this.base.max);
  }

  /** Folds the restored jobs into `live`, before a compaction reads it. */
  private foldBase(): void {
    const base = this.base;
    if (base === undefined) return;
    const merged = new Map<number, Job<T>>();
    for (const id of base.ids) {
      if (this.live.has(id)) continue;
      const job = base.lookup(id);
      if (job !== undefined) merged.set(id, job);
    }
    for (const [id, job] of this.live) merged.set(id, job);
    this.live = merged;
    this.base = undefined;
    this.baseLive = 0;
  }

  /** @internal The highest job id this journal holds or ever recorded. */
  get highestId(): number {
    return this.highest;
  }

  /** Whether `close()` has been called. */
  get isClosed(): boolean {
    return this.writer.isClosed;
  }

  /** Whether the journal has failed closed. */
  get failure(): StoreFailedError | undefined {
    return this.writer.failed;
  }

  private get liveCount(): number {
    return this.live.size + this.baseLive;
  }

  private get liveBytes(): number {
    return Math.round(this.liveCount * this.meanRecord);
  }

  /** Store seam: records one change. */
  append(change: JobChange<T>): void | Promise<void> {
    const job = change.job;
    if (this.writer.failed !== undefined) {
      // Fail closed for new work; consumption of jobs already here carries on in memory
      // (those changes are not journaled: after a restart such jobs come back).
      if (change.type === 'put') return rejected(this.writer.failed);
      return undefined;
    }
    let record: Uint8Array;
    if (change.type === 'put') {
      let data: Uint8Array;
      try {
        data = this.codec.encode(job.data);
      } catch (error) {
        throw new TypeError(`job ${job.id}: the journal's codec cannot encode its data`, { cause: error });
      }
      record = encodeJobRecord(RecordType.Put, job, data);
      // Before the job can be handed out (see IdReservation). Throws, refusing the job, if it cannot.
      this.ids.cover(job.id);
      this.live.set(job.id, job);
      if (job.id > this.highest) this.highest = job.id;
      this.meanRecord += (record.length - this.meanRecord) / Math.min(this.liveCount, 1024);
    } else if (change.type === 'update') {
      record = encodeJobRecord(RecordType.Update, job);
      // Re-insert so that the map stays in order of latest change.
      if (!this.live.delete(job.id) && this.inBase(job.id)) this.baseLive--;
      this.live.set(job.id, job);
    } else {
      record = encodeDeleteRecord(job.id);
      if (!this.live.delete(job.id) && this.inBase(job.id)) this.baseLive--;
    }
    const stored = this.writer.append(record);
    this.maybeCompact();
    return stored;
  }

  /** Resolves once everything appended so far is stored per the sync policy (or failed). */
  flush(): Promise<void> {
    return this.writer.flush();
  }

  /**
   * Rewrites the live jobs into a new file and switches to it atomically. Runs on its
   * own when most of the file is garbage; call it to force one (e.g. before a backup).
   * Resolves `undefined` if the compaction gave up (the `compactionError` event says why).
   */
  compact(): Promise<CompactionInfo | undefined> {
    if (this.compaction !== undefined) return this.compaction;
    if (this.restoring) return Promise.reject(new Error(`journal ${this.path}: cannot compact before its restored jobs are adopted`));
    this.foldBase();
    this.compaction = this.writer
      .compact(
        () => this.liveRecords(),
        // Of the changes made while compacting, the new file needs those of jobs still
        // live and every delete (a job may have been written before it went); the puts and
        // updates of jobs that came and went meanwhile are garbage already.
        (record) => record[PAYLOAD_OFFSET - 1] === RecordType.Delete || this.live.has(recordJobId(record)),
        // The compacted file drops the puts of jobs that are gone (some added and acked
        // while it was written): it ends by recording how far ids went (in the whole
        // process: ids are unique across its queues), so that a restart never hands one out again.
        () => {
          const highest = Math.max(this.highest, highestJobId());
          // Zero: no job was ever added in this process or this journal, nothing to remember.
          return highest === 0 ? [] : [encodeHighestIdRecord(highest)];
        },
      )
      .then((info) => {
        this.compaction = undefined;
        if (info !== undefined) this.emit('compacted', info);
        return info;
      });
    return this.compaction;
  }

  private maybeCompact(): void {
    if (this.slack === Infinity || this.compaction !== undefined || this.restoring) return;
    if (this.writer.size > 2 * this.liveBytes + this.slack) void this.compact();
  }

  private liveRecords(): Iterable<Uint8Array> {
    const jobs = Array.from(this.live.values());
    const live = this.live;
    const codec = this.codec;
    return {
      *[Symbol.iterator]() {
        for (const job of jobs) {
          // Gone since the compaction started: its delete is among the copied changes.
          if (live.get(job.id) !== job) continue;
          yield encodeJobRecord(RecordType.Put, job, codec.encode(job.data));
        }
      },
    };
  }

  stats(): JournalStats {
    return {
      ...this.writer.stats(),
      path: this.path,
      sync: this.sync,
      liveJobs: this.liveCount,
      liveBytes: this.liveBytes,
      failed: this.writer.failed !== undefined,
      opened: { ...this.opened },
    };
  }

  /** Store seam: writes and syncs what is pending and closes the file. */
  close(): Promise<void> {
    return this.writer.close();
  }
}

function rejected(error: Error): Promise<void> {
  const promise = Promise.reject(error);
  // The queue awaits it; this only keeps a caller that does not from an unhandled rejection.
  promise.catch(() => {});
  return promise;
}
