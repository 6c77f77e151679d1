import path from 'node:path';
import { JournalLockedError } from '../../src/errors.js';
import type { JournalFileHandle, JournalFileSystem, JournalOpenOptions } from '../../src/journal/index.js';

// A journal file system in memory that can be crashed at any call, for tests. It tracks
// two views of its files:
// - what a killed process leaves (every write that returned, in the page cache), and
// - what a power cut leaves (only data made durable: by fdatasync, or by a write to a
//   file opened O_DSYNC; and only names made durable by an fsync of their directory).
// `image(kind)` copies one view out as a new MemoryFileSystem to reopen. Every call can
// also be held at a named step (`holdAt`), so that a test stops the journal exactly there.

/** The calls a test can hold or crash at. */
export type MemoryStep = 'open' | 'write' | 'datasync' | 'truncate' | 'rename' | 'syncDirectory' | 'unlink' | 'close';

/** One call as the file system saw it. */
export interface MemoryCall {
  step: MemoryStep;
  /** The file's base name (`q.journal`, `q.journal.compact`...). */
  file: string;
}

interface Node {
  data: Uint8Array;
  /** What survives a power cut. */
  durable: Uint8Array;
}

function copy(bytes: Uint8Array): Uint8Array {
  return bytes.slice();
}

function joined(chunks: readonly Uint8Array[]): Uint8Array {
  let total = 0;
  for (const chunk of chunks) total += chunk.length;
  const out = new Uint8Array(total);
  let at = 0;
  for (const chunk of chunks) {
    out.set(chunk, at);
    at += chunk.length;
  }
  return out;
}

function writeInto(node: Node, bytes: Uint8Array, position: number): void {
  const end = position + bytes.length;
  if (end > node.data.length) {
    const grown = new Uint8Array(end);
    grown.set(node.data);
    node.data = grown;
  }
  node.data.set(bytes, position);
}

export class MemoryFileSystem implements JournalFileSystem {
  /** Names as the running process sees them. */
  private names = new Map<string, Node>();
  /** Names as a power cut would leave them. */
  private durableNames = new Map<string, Node>();
  /** Every call so far, in order. */
  readonly calls: MemoryCall[] = [];
  private holds: Array<{ test: (call: MemoryCall) => boolean; reached: () => void; go: Promise<void> }> = [];
  /** Called before each call takes effect (`torn` is the bytes a write is about to add). */
  onCall: ((call: MemoryCall, index: number) => void) | undefined;

  /**
   * Holds the first call matching `test` before it takes effect. `reached` resolves when
   * the journal is stopped there; `release()` lets it go on.
   */
  holdAt(test: (call: MemoryCall) => boolean): { reached: Promise<void>; release(): void } {
    let reached!: () => void;
    const reachedPromise = new Promise<void>((resolve) => (reached = resolve));
    let release!: () => void;
    const go = new Promise<void>((resolve) => (release = resolve));
    this.holds.push({ test, reached, go });
    return { reached: reachedPromise, release };
  }

  /**
   * The files a crash right now would leave, as a new file system. `torn`: bytes of a
   * write about to happen to `file` that reach it as well (a write cut short).
   */
  image(kind: 'kill' | 'power', torn?: { file: string; bytes: Uint8Array; position: number }): MemoryFileSystem {
    const out = new MemoryFileSystem();
    const names = kind === 'kill' ? this.names : this.durableNames;
    const made = new Map<Node, Node>();
    for (const [name, node] of names) {
      let clone = made.get(node);
      if (clone === undefined) {
        const bytes = copy(kind === 'kill' ? node.data : node.durable);
        clone = { data: bytes, durable: copy(bytes) };
        made.set(node, clone);
      }
      out.names.set(name, clone);
      out.durableNames.set(name, clone);
    }
    if (torn !== undefined) {
      // The file being written, wherever the image has it (a power cut may have left its
      // name on another file).
      const live = this.names.get(torn.file);
      const node = live === undefined ? undefined : made.get(live);
      if (node !== undefined) {
        writeInto(node, torn.bytes, torn.position);
        node.durable = copy(node.data);
      }
    }
    return out;
  }

  /** The bytes of a file as the running process sees them. */
  bytes(file: string): Uint8Array | undefined {
    const node = this.names.get(path.resolve(file));
    return node === undefined ? undefined : copy(node.data);
  }

  has(file: string): boolean {
    return this.names.has(path.resolve(file));
  }

  private async step(step: MemoryStep, file: string): Promise<void> {
    const call = { step, file: path.basename(file) };
    this.calls.push(call);
    this.onCall?.(call, this.calls.length - 1);
    const index = this.holds.findIndex((hold) => hold.test(call));
    if (index < 0) return;
    const [hold] = this.holds.splice(index, 1);
    hold.reached();
    await hold.go;
  }

  async readFile(file: string): Promise<Uint8Array | undefined> {
    const node = this.names.get(path.resolve(file));
    return node === undefined ? undefined : copy(node.data);
  }

  async open(file: string, mode: 'existing' | 'create', options?: JournalOpenOptions): Promise<JournalFileHandle> {
    const name = path.resolve(file);
    await this.step('open', name);
    let node = this.names.get(name);
    if (mode === 'create') {
      node = { data: new Uint8Array(0), durable: new Uint8Array(0) };
      this.names.set(name, node);
    } else if (node === undefined) {
      throw Object.assign(new Error(`ENOENT: ${file}`), { code: 'ENOENT' });
    }
    const target = node;
    const dsync = options?.dsync === true;
    const fs = this;
    return {
      writesAreDurable: dsync,
      async write(chunks, position) {
        const bytes = joined(chunks);
        fs.pendingWrite = { file: name, bytes, position };
        await fs.step('write', name);
        fs.pendingWrite = undefined;
        writeInto(target, bytes, position);
        if (dsync) target.durable = copy(target.data);
      },
      writeSync(chunks, position) {
        const bytes = joined(chunks);
        const call = { step: 'write' as const, file: path.basename(name) };
        fs.calls.push(call);
        fs.pendingWrite = { file: name, bytes, position };
        fs.onCall?.(call, fs.calls.length - 1);
        fs.pendingWrite = undefined;
        writeInto(target, bytes, position);
        if (dsync) target.durable = copy(target.data);
      },
      async datasync() {
        await fs.step('datasync', name);
        target.durable = copy(target.data);
      },
      async truncate(length) {
        await fs.step('truncate', name);
        target.data = target.data.slice(0, length);
        if (target.durable.length > length) target.durable = target.durable.slice(0, length);
      },
      async close() {
        await fs.step('close', name);
      },
    };
  }

  /** The write about to take effect, while `onCall` runs for it (to tear it). */
  pendingWrite: { file: string; bytes: Uint8Array; position: number } | undefined;

  async rename(from: string, to: string): Promise<void> {
    const source = path.resolve(from);
    await this.step('rename', source);
    const node = this.names.get(source);
    if (node === undefined) throw Object.assign(new Error(`ENOENT: ${from}`), { code: 'ENOENT' });
    this.names.delete(source);
    this.names.set(path.resolve(to), node);
  }

  async syncDirectory(dir: string): Promise<void> {
    await this.step('syncDirectory', dir);
    const prefix = path.resolve(dir) + path.sep;
    for (const name of [...this.durableNames.keys()]) if (name.startsWith(prefix)) this.durableNames.delete(name);
    for (const [name, node] of this.names) if (name.startsWith(prefix)) this.durableNames.set(name, node);
  }

  async copyFile(from: string, to: string): Promise<void> {
    const node = this.names.get(path.resolve(from));
    if (node === undefined) throw Object.assign(new Error(`ENOENT: ${from}`), { code: 'ENOENT' });
    const bytes = copy(node.data);
    this.names.set(path.resolve(to), { data: bytes, durable: copy(bytes) });
  }

  /** Locks held; a crash image starts with none (the process that held them is gone). */
  private locks = new Set<string>();

  async lock(file: string): Promise<() => Promise<void>> {
    const name = path.resolve(file);
    if (this.locks.has(name)) throw new JournalLockedError(`journal ${file} is open (memory file system)`);
    this.locks.add(name);
    return async () => {
      this.locks.delete(name);
    };
  }

  async unlink(file: string): Promise<void> {
    const name = path.resolve(file);
    await this.step('unlink', name);
    this.names.delete(name);
  }
}
