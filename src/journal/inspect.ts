import { jsonCodec, type Codec } from '../codec.js';
import type { JobSnapshot } from '../job.js';
import type { JobState } from '../lifecycle.js';
import { nodeFileSystem, type JournalFileSystem } from './file-system.js';
import type { FileHeaderCheck } from './record.js';
import { replay, type ReplayDamage } from './replay.js';
import { storedBody } from './job-codec.js';

/** A live job as found in a journal; `data` is the decoded payload, or the raw bytes if the codec refused them. */
export type InspectedJob = JobSnapshot<unknown> & { dataDecoded: boolean };

/** What {@link inspectJournal} found. */
export interface JournalInspection {
  path: string;
  /** `false` if there is no such file. */
  exists: boolean;
  bytes: number;
  header: FileHeaderCheck;
  records: number;
  lastSeq: number;
  /** Live jobs per state, as stored (a reserved job would come back ready or buried). */
  states: Record<JobState, number>;
  /** Bytes of the valid prefix. */
  validBytes: number;
  /** Updates and deletes of jobs no longer in the file (left over from compaction). */
  orphans: number;
  damage: ReplayDamage | undefined;
  jobs: InspectedJob[];
}

/**
 * Reads a journal without changing it (no truncation, no lock): safe on a live queue's
 * file or a backup. Used by the `docket-journal` command.
 *
 * @example
 * ```ts
 * const info = await inspectJournal('/var/lib/app/mail.journal');
 * console.log(info.states, info.damage);
 * ```
 */
export async function inspectJournal(path: string, options: { codec?: Codec<unknown>; fileSystem?: JournalFileSystem } = {}): Promise<JournalInspection> {
  const codec = options.codec ?? jsonCodec;
  const bytes = await (options.fileSystem ?? nodeFileSystem).readFile(path);
  const result = replay(bytes ?? new Uint8Array(0));
  const states: Record<JobState, number> = { ready: 0, delayed: 0, reserved: 0, buried: 0 };
  const jobs: InspectedJob[] = [];
  for (const stored of result.jobs()) {
    states[stored.state]++;
    const body = storedBody(stored);
    const { source, bodyStart, bodyEnd, recordSize, data: _, ...fields } = stored;
    let data: unknown = body;
    let dataDecoded = false;
    try {
      data = codec.decode(body);
      dataDecoded = true;
    } catch {
      data = Buffer.from(body);
    }
    jobs.push({ ...fields, data, dataDecoded });
  }
  return {
    path,
    exists: bytes !== undefined,
    bytes: bytes?.length ?? 0,
    header: result.header,
    records: result.records,
    lastSeq: result.lastSeq,
    states,
    validBytes: result.validEnd,
    orphans: result.orphans,
    damage: result.damage,
    jobs,
  };
}
