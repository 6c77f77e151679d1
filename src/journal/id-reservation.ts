import { StoreFailedError } from '../errors.js';
import { crc32c } from './crc32c.js';
import { directoryOf, type JournalFileHandle, type JournalFileSystem } from './file-system.js';

// A job is handed to consumers as soon as it is added, before its record is written: a
// process that dies in between leaves no record of the job, and without more the next one
// would give its id to a new job, although a consumer (a beanstalkd client holding
// `RESERVED <id>`) may still address it. So the journal reserves ids ahead in a small side
// file, `<journal>.ids`: before a new job's id passes the reserved mark, the mark moves a
// block further, written synchronously (under 'always' to a file opened with O_DSYNC), and
// a restart hands out new ids above the mark. One 12-byte write per ID_BLOCK new jobs.
//
//   file = f64 reserved-through | u32 crc32c(bytes 0..8)       little-endian, 12 bytes

/** How far ahead ids are reserved: one write of the side file per this many new ids. */
export const ID_BLOCK = 65536;
const SIZE = 12;

function encode(through: number): Uint8Array {
  const bytes = new Uint8Array(SIZE);
  const view = new DataView(bytes.buffer);
  view.setFloat64(0, through, true);
  view.setUint32(8, crc32c(bytes, 0, 8), true);
  return bytes;
}

/** The mark a side file holds, or 0 for none (missing, or not a whole valid one). */
function decode(bytes: Uint8Array | undefined): number {
  if (bytes === undefined || bytes.length < SIZE) return 0;
  const view = new DataView(bytes.buffer, bytes.byteOffset, SIZE);
  if (view.getUint32(8, true) !== crc32c(bytes, 0, 8)) return 0;
  const through = view.getFloat64(0, true);
  return Number.isSafeInteger(through) && through > 0 ? through : 0;
}

/** @internal The ids a journal has reserved ahead (see the comment at the top of this file). */
export class IdReservation {
  private constructor(
    private readonly file: string,
    private readonly handle: JournalFileHandle,
    /** The highest id reserved: every id handed out so far is at most this. */
    private through: number,
    /** Ids the previous owner may have handed out: new ids go above it. */
    readonly previous: number,
  ) {}

  /** The last asynchronous write of the mark (see `cover`). */
  private lastWrite: Promise<void> = Promise.resolve();

  /**
   * Opens (or creates) the side file of `journal`, reads the mark the previous owner left
   * and reserves a block above `highestId` (and that mark), written before it resolves.
   */
  static async open(fs: JournalFileSystem, journal: string, highestId: number, durable: boolean): Promise<IdReservation> {
    const file = `${journal}.ids`;
    const found = await fs.readFile(file);
    // Never truncated: a crash between a truncate and the write would lose the mark.
    const handle = await fs.open(file, found === undefined ? 'create' : 'existing', { dsync: durable });
    const previous = decode(found);
    const reservation = new IdReservation(file, handle, 0, previous);
    try {
      reservation.through = Math.max(highestId, previous) + ID_BLOCK;
      await handle.write([encode(reservation.through)], 0);
      if (durable && handle.writesAreDurable !== true) await handle.datasync();
      if (found === undefined) await fs.syncDirectory(directoryOf(file));
    } catch (error) {
      await handle.close().catch(() => {});
      throw error;
    }
    return reservation;
  }

  /**
   * Called with the id of each new job before anyone can see the job: moves the mark a
   * block past `id` when `id` reaches it. Throws if the side file cannot be written (the
   * job must then not be handed out).
   */
  cover(id: number): void {
    if (id <= this.through) return;
    const through = id + ID_BLOCK;
    const handle = this.handle;
    if (handle.writeSync === undefined) {
      // A file system without synchronous writes (a custom one): written in order, but
      // after the job is handed out, so a crash right then may leave the mark one block short.
      this.through = through;
      this.lastWrite = this.lastWrite.then(() => handle.write([encode(through)], 0)).catch(() => {});
      return;
    }
    try {
      handle.writeSync([encode(through)], 0);
    } catch (error) {
      const message = error instanceof Error ? error.message : String(error);
      throw new StoreFailedError(`journal ${this.file}: cannot reserve job ids (${message})`, { cause: error });
    }
    this.through = through;
  }

  /**
   * On a clean close: every job handed out is in the journal now, so the mark comes back
   * down to `highestId` (ids after a clean restart go on from there). Then closes the file.
   */
  async close(highestId: number | undefined): Promise<void> {
    await this.lastWrite;
    try {
      if (highestId !== undefined && highestId < this.through) {
        this.through = highestId;
        await this.handle.write([encode(highestId)], 0);
      }
    } finally {
      await this.handle.close().catch(() => {});
    }
  }
}
