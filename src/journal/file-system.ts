import fs from 'node:fs';
import path from 'node:path';
import { lockJournal } from './lock.js';

// The seam between the journal and the disk: every system call the journal makes goes
// through here, so tests can swap in a layer that fails on cue (FaultyFileSystem).

/** An open journal file, written at explicit positions. */
export interface JournalFileHandle {
  /**
   * `true` when the file was opened with O_DSYNC ({@link JournalOpenOptions.dsync}): each
   * write returns only once its data (and the size needed to read it) is on stable
   * storage, as if followed by fdatasync, so the journal skips the separate call.
   */
  readonly writesAreDurable?: boolean;
  /** Writes all `chunks` back to back at `position`; a short write is continued, an error rejects. */
  write(chunks: readonly Uint8Array[], position: number): Promise<void>;
  /**
   * {@link JournalFileHandle.write} done on the calling thread, returning when the data is
   * in the OS (an error throws). Optional: the journal falls back to `write` without it.
   * Appends under `sync: 'interval'` and `'never'` use it, a page-cache write costing
   * less than the thread-pool round trip of an async write; under `'always'` the write
   * waits for the disk and stays async, off the event loop.
   */
  writeSync?(chunks: readonly Uint8Array[], position: number): void;
  /** fdatasync(2): data (and the size needed to read it) reach stable storage. */
  datasync(): Promise<void>;
  /** Cuts the file to `length` bytes. */
  truncate(length: number): Promise<void>;
  close(): Promise<void>;
}

/** How {@link JournalFileSystem.open} opens a file. */
export interface JournalOpenOptions {
  /**
   * Ask for O_DSYNC (every write durable when it returns). A file system may ignore it
   * (no O_DSYNC on the platform); the handle's `writesAreDurable` says what it got.
   */
  dsync?: boolean;
}

/** The file operations the journal uses. */
export interface JournalFileSystem {
  /** The whole file, or `undefined` if it does not exist. */
  readFile(file: string): Promise<Uint8Array | undefined>;
  /** Opens an existing file for writing (`'existing'`), or creates/empties one (`'create'`). */
  open(file: string, mode: 'existing' | 'create', options?: JournalOpenOptions): Promise<JournalFileHandle>;
  rename(from: string, to: string): Promise<void>;
  /** fsync(2) on a directory, so that a rename or creation in it is durable. */
  syncDirectory(dir: string): Promise<void>;
  copyFile(from: string, to: string): Promise<void>;
  unlink(file: string): Promise<void>;
  /**
   * Takes the journal's lock, or rejects with `JournalLockedError` while another live
   * process (or another open queue of this one) holds it; a lock left by a dead process is
   * taken over. Resolves with the function that releases it. The node:fs version keeps
   * `<file>.lock`, holding the owner's pid.
   */
  lock(file: string): Promise<() => Promise<void>>;
}

function call<R>(fn: (cb: (error: NodeJS.ErrnoException | null, result: R) => void) => void): Promise<R> {
  return new Promise((resolve, reject) => fn((error, result) => (error ? reject(error) : resolve(result))));
}

/** Where a write of many chunks stands: what is left, and where it goes. */
interface WriteState {
  list: Uint8Array[];
  total: number;
  position: number;
}

function startWrite(chunks: readonly Uint8Array[], position: number): WriteState {
  let total = 0;
  for (const chunk of chunks) total += chunk.length;
  return { list: chunks.slice(), total, position };
}

/** The buffers for the next writev: at most IOV_MAX (1024) per call on Linux. */
function nextSlice(state: WriteState): Uint8Array[] {
  return state.list.length > 1024 ? state.list.slice(0, 1024) : state.list;
}

/** Drops the `written` bytes that went out; a short write leaves the rest for the next call. */
function advance(state: WriteState, written: number): void {
  if (written === 0) throw Object.assign(new Error('write returned 0 bytes'), { code: 'EIO' });
  state.position += written;
  state.total -= written;
  if (state.total === 0) {
    state.list = [];
    return;
  }
  let skip = written;
  let i = 0;
  while (skip >= state.list[i].length) skip -= state.list[i++].length;
  state.list = [state.list[i].subarray(skip), ...state.list.slice(i + 1)];
}

class NodeFileHandle implements JournalFileHandle {
  constructor(
    private readonly fd: number,
    readonly writesAreDurable: boolean,
  ) {}

  async write(chunks: readonly Uint8Array[], position: number): Promise<void> {
    const state = startWrite(chunks, position);
    while (state.total > 0) {
      const slice = nextSlice(state);
      advance(state, await call<number>((cb) => fs.writev(this.fd, slice as NodeJS.ArrayBufferView[], state.position, cb)));
    }
  }

  writeSync(chunks: readonly Uint8Array[], position: number): void {
    const state = startWrite(chunks, position);
    while (state.total > 0) {
      const slice = nextSlice(state);
      advance(state, fs.writevSync(this.fd, slice as NodeJS.ArrayBufferView[], state.position));
    }
  }

  datasync(): Promise<void> {
    return call<void>((cb) => fs.fdatasync(this.fd, (error) => cb(error, undefined)));
  }

  truncate(length: number): Promise<void> {
    return call<void>((cb) => fs.ftruncate(this.fd, length, (error) => cb(error, undefined)));
  }

  close(): Promise<void> {
    return call<void>((cb) => fs.close(this.fd, (error) => cb(error, undefined)));
  }
}

const READ_CHUNK = 64 * 1024 * 1024;

/** The real file system (node:fs). */
export const nodeFileSystem: JournalFileSystem = {
  async readFile(file) {
    let fd: number;
    try {
      fd = await call<number>((cb) => fs.open(file, 'r', cb));
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
      throw error;
    }
    try {
      // One unzeroed buffer filled by large reads: a backlog of a million jobs is a few
      // hundred MB, and readFile's small chunks and zero fill show in the open time.
      const size = (await call<fs.Stats>((cb) => fs.fstat(fd, cb))).size;
      const buffer = Buffer.allocUnsafe(size);
      let offset = 0;
      while (offset < size) {
        const n = await call<number>((cb) => fs.read(fd, buffer, offset, Math.min(READ_CHUNK, size - offset), offset, cb));
        if (n === 0) break;
        offset += n;
      }
      return buffer.subarray(0, offset);
    } finally {
      await call<void>((cb) => fs.close(fd, (error) => cb(error, undefined)));
    }
  },
  async open(file, mode, options) {
    // O_DSYNC is 0 or missing where the platform has none (Windows): plain writes then.
    const dsync = options?.dsync === true ? (fs.constants.O_DSYNC ?? 0) : 0;
    const { O_WRONLY, O_RDWR, O_CREAT, O_TRUNC } = fs.constants;
    const flags = (mode === 'create' ? O_WRONLY | O_CREAT | O_TRUNC : O_RDWR) | dsync;
    const fd = await call<number>((cb) => fs.open(file, flags, 0o644, cb));
    return new NodeFileHandle(fd, dsync !== 0);
  },
  rename: (from, to) => fs.promises.rename(from, to),
  async syncDirectory(dir) {
    const fd = await call<number>((cb) => fs.open(dir, 'r', cb));
    try {
      await call<void>((cb) => fs.fsync(fd, (error) => cb(error, undefined)));
    } finally {
      await call<void>((cb) => fs.close(fd, (error) => cb(error, undefined)));
    }
  },
  copyFile: (from, to) => fs.promises.copyFile(from, to),
  unlink: (file) => fs.promises.unlink(file),
  lock: lockJournal,
};

/** The directory holding `file` (for {@link JournalFileSystem.syncDirectory}). */
export function directoryOf(file: string): string {
  return path.dirname(path.resolve(file));
}

/** Operations a {@link FaultyFileSystem} can fail. */
export type FaultyOperation = 'write' | 'datasync' | 'truncate' | 'open' | 'rename' | 'syncDirectory' | 'readFile';

interface Fault {
  op: FaultyOperation;
  skip: number;
  error: Error;
  /** For writes: bytes to let through before failing (a torn write). */
  partial: number | undefined;
}

/**
 * A file system that fails on cue, for tests: `failOn('write')` makes the next write
 * reject with EIO (under `sync: 'always'` the write is what makes a record durable, the
 * file being opened with O_DSYNC); `failOn('datasync')` makes the next fdatasync reject; `{ after: 2 }` lets two succeed first; `{ partial: n }` on
 * a write lets `n` bytes reach the file before the error (a torn write).
 *
 * @example
 * ```ts
 * const fs = new FaultyFileSystem();
 * const q = await openQueue(file, { sync: 'always', fileSystem: fs });
 * fs.failOn('write');
 * await expect(q.add('x')).rejects.toThrow(StoreFailedError);
 * ```
 */
export class FaultyFileSystem implements JournalFileSystem {
  private faults: Fault[] = [];
  /** Calls per operation, for assertions such as "never retried the fsync". */
  readonly calls: Record<FaultyOperation, number> = { write: 0, datasync: 0, truncate: 0, open: 0, rename: 0, syncDirectory: 0, readFile: 0 };

  /**
   * @param inner - the file system underneath
   * @param options - `dsync: false` never asks `inner` for O_DSYNC, so that `sync: 'always'`
   *   takes the write-then-fdatasync path (to fail its fdatasync)
   */
  constructor(
    private readonly inner: JournalFileSystem = nodeFileSystem,
    private readonly options: { dsync?: boolean } = {},
  ) {}

  failOn(op: FaultyOperation, options: { after?: number; error?: Error; partial?: number } = {}): void {
    const error = options.error ?? Object.assign(new Error(`injected ${op} failure`), { code: 'EIO' });
    this.faults.push({ op, skip: options.after ?? 0, error, partial: options.partial });
  }

  /** Removes pending faults. */
  heal(): void {
    this.faults = [];
  }

  private take(op: FaultyOperation): Fault | undefined {
    this.calls[op]++;
    const index = this.faults.findIndex((fault) => fault.op === op);
    if (index < 0) return undefined;
    const fault = this.faults[index];
    if (fault.skip > 0) {
      fault.skip--;
      return undefined;
    }
    this.faults.splice(index, 1);
    return fault;
  }

  async readFile(file: string): Promise<Uint8Array | undefined> {
    const fault = this.take('readFile');
    if (fault) throw fault.error;
    return this.inner.readFile(file);
  }

  async open(file: string, mode: 'existing' | 'create', options?: JournalOpenOptions): Promise<JournalFileHandle> {
    const fault = this.take('open');
    if (fault) throw fault.error;
    const handle = await this.inner.open(file, mode, this.options.dsync === false ? undefined : options);
    const take = (op: FaultyOperation): Fault | undefined => this.take(op);
    return {
      writesAreDurable: handle.writesAreDurable === true,
      async write(chunks, position) {
        const fault = take('write');
        if (!fault) return handle.write(chunks, position);
        if (fault.partial !== undefined && fault.partial > 0) {
          const all = Buffer.concat(chunks as Uint8Array[]);
          await handle.write([all.subarray(0, Math.min(fault.partial, all.length))], position);
        }
        throw fault.error;
      },
      ...(handle.writeSync === undefined
        ? {}
        : {
            writeSync(chunks: readonly Uint8Array[], position: number): void {
              const fault = take('write');
              if (!fault) return handle.writeSync!(chunks, position);
              if (fault.partial !== undefined && fault.partial > 0) {
                const all = Buffer.concat(chunks as Uint8Array[]);
                handle.writeSync!([all.subarray(0, Math.min(fault.partial, all.length))], position);
              }
              throw fault.error;
            },
          }),
      async datasync() {
        const fault = take('datasync');
        if (fault) throw fault.error;
        return handle.datasync();
      },
      async truncate(length) {
        const fault = take('truncate');
        if (fault) throw fault.error;
        return handle.truncate(length);
      },
      close: () => handle.close(),
    };
  }

  async rename(from: string, to: string): Promise<void> {
    const fault = this.take('rename');
    if (fault) throw fault.error;
    return this.inner.rename(from, to);
  }

  async syncDirectory(dir: string): Promise<void> {
    const fault = this.take('syncDirectory');
    if (fault) throw fault.error;
    return this.inner.syncDirectory(dir);
  }

  copyFile(from: string, to: string): Promise<void> {
    return this.inner.copyFile(from, to);
  }

  unlink(file: string): Promise<void> {
    return this.inner.unlink(file);
  }

  lock(file: string): Promise<() => Promise<void>> {
    return this.inner.lock(file);
  }
}
