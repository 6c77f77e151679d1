/** node:fs for journals, with the durable step of each write held until the test lets it go. */
import { type JournalFileHandle, type JournalFileSystem, type JournalOpenOptions, nodeFileSystem } from '../../src/journal/index.js';

interface HeldCall {
  go(): void;
  fail(error: Error): void;
}

/**
 * `'datasync'` (the default) opens files without O_DSYNC, so `sync: 'always'` writes then
 * fdatasyncs, and holds each fdatasync; `'write'` opens them as asked (O_DSYNC under
 * 'always') and holds each write. Calls are held only while `holding` is set.
 */
export class HeldFileSystem implements JournalFileSystem {
  holding = false;
  /** Writes and fdatasyncs made so far, held or not. */
  writes = 0;
  syncs = 0;
  /** For each file opened: whether its writes were durable by themselves (O_DSYNC). */
  durable: boolean[] = [];
  private held: HeldCall[] = [];
  readFile = nodeFileSystem.readFile;
  rename = nodeFileSystem.rename;
  syncDirectory = nodeFileSystem.syncDirectory;
  copyFile = nodeFileSystem.copyFile;
  unlink = nodeFileSystem.unlink;
  lock = nodeFileSystem.lock;

  constructor(private readonly step: 'datasync' | 'write' = 'datasync') {}

  async open(path: string, mode: 'existing' | 'create', options?: JournalOpenOptions): Promise<JournalFileHandle> {
    const holdWrites = this.step === 'write';
    const handle = await nodeFileSystem.open(path, mode, holdWrites ? options : undefined);
    this.durable.push(handle.writesAreDurable === true);
    return {
      ...(holdWrites ? { writesAreDurable: handle.writesAreDurable } : {}),
      write: async (chunks, position) => {
        this.writes++;
        if (holdWrites) await this.hold();
        return handle.write(chunks, position);
      },
      truncate: (length) => handle.truncate(length),
      close: () => handle.close(),
      datasync: async () => {
        this.syncs++;
        if (!holdWrites) await this.hold();
        return handle.datasync();
      },
    };
  }

  /** Calls held now. */
  get waiting(): number {
    return this.held.length;
  }

  /** Lets the oldest held call run. */
  releaseOne(): void {
    this.held.shift()?.go();
  }

  /** Fails the oldest held call with EIO. */
  failOne(): void {
    this.held.shift()?.fail(Object.assign(new Error(`injected ${this.step} failure`), { code: 'EIO' }));
  }

  /** Stops holding and lets every held call run. */
  releaseAll(): void {
    this.holding = false;
    for (const call of this.held.splice(0)) call.go();
  }

  private async hold(): Promise<void> {
    if (this.holding) await new Promise<void>((go, fail) => this.held.push({ go, fail }));
  }
}
