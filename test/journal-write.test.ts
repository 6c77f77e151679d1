import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { FaultyFileSystem, nodeFileSystem } from '../src/journal/index.js';
import { useJournalDir } from './helpers/journal.js';

const journal = useJournalDir();

/** 3000 chunks of varying length (more than writev's 1024 buffers per call), and their concatenation. */
function chunks(): { list: Uint8Array[]; all: Buffer } {
  const list = Array.from({ length: 3000 }, (_, i) => new Uint8Array(1 + (i % 37)).fill(i % 251));
  return { list, all: Buffer.concat(list) };
}

describe('journal file writes', () => {
  it('writes a batch synchronously exactly as the async write does (back to back, at the position)', async () => {
    const { list, all } = chunks();
    const syncFile = join(journal.dir, 'sync');
    const asyncFile = join(journal.dir, 'async');
    const a = await nodeFileSystem.open(syncFile, 'create');
    const b = await nodeFileSystem.open(asyncFile, 'create');
    try {
      expect(a.writeSync).toBeTypeOf('function');
      a.writeSync!([new Uint8Array(10).fill(7)], 0);
      a.writeSync!(list, 10);
      await b.write([new Uint8Array(10).fill(7)], 0);
      await b.write(list, 10);
    } finally {
      await a.close();
      await b.close();
    }
    const written = readFileSync(syncFile);
    expect(written.length).toBe(10 + all.length);
    expect(written.subarray(10).equals(all)).toBe(true);
    expect(written.equals(readFileSync(asyncFile))).toBe(true);
  });

  it('fails an injected synchronous write by throwing, after letting a torn prefix through', async () => {
    const fs = new FaultyFileSystem();
    const handle = await fs.open(journal.file, 'create');
    try {
      fs.failOn('write', { partial: 5 });
      expect(() => handle.writeSync!([Buffer.from('hello world')], 0)).toThrow(/injected write failure/);
      expect(fs.calls.write).toBe(1);
    } finally {
      await handle.close();
    }
    expect(readFileSync(journal.file).toString()).toBe('hello');
  });
});
