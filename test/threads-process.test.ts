import { spawn, type ChildProcess } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { afterEach, describe, expect, it } from 'vitest';

const root = fileURLToPath(new URL('..', import.meta.url));
const children: ChildProcess[] = [];

/** Runs `node <args>` from the package root; resolves its exit code and output, or fails after `limitMs`. */
function node(args: string[], limitMs = 15_000): Promise<{ code: number | null; stdout: string; stderr: string; ms: number }> {
  const started = Date.now();
  const child = spawn(process.execPath, args, { cwd: root, stdio: ['ignore', 'pipe', 'pipe'] });
  children.push(child);
  let stdout = '';
  let stderr = '';
  child.stdout!.on('data', (chunk: Buffer) => (stdout += chunk));
  child.stderr!.on('data', (chunk: Buffer) => (stderr += chunk));
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error(`node ${args.join(' ')} did not exit within ${limitMs} ms\n${stdout}\n${stderr}`));
    }, limitMs);
    child.on('exit', (code) => {
      clearTimeout(timer);
      resolve({ code, stdout, stderr, ms: Date.now() - started });
    });
  });
}

afterEach(() => {
  for (const child of children.splice(0)) if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
});

describe('threads in a real process', () => {
  it('runs a .ts worker module under `node --import tsx`, through a queue, and exits after close', async () => {
    const { code, stdout, stderr } = await node(['--import', 'tsx', 'test/fixtures/threads/ts-main.ts']);
    expect(stderr).toBe('');
    expect(code).toBe(0);
    expect(JSON.parse(stdout)).toEqual({
      double: 42,
      bytes: { bytes: 3 },
      fail: { dead: 'unrecoverable', error: 'UnrecoverableError', attempts: 1 },
      limitOnce: 'limited once',
      unrecoverableIsExported: true,
    });
  });

  it('loads a .ts worker module through a CommonJS require hook (`--require tsx/cjs`)', async () => {
    const { code, stdout, stderr } = await node(['--require', 'tsx/cjs', 'test/fixtures/threads/require-hook-main.cjs']);
    expect(stderr).toBe('');
    expect(code).toBe(0);
    expect(JSON.parse(stdout)).toEqual([8, 'UnrecoverableError']);
  });

  it("exits on its own with idle threads still in an open pool (they are unref'd)", async () => {
    // idleTimeout defaults to 30 s: exiting well before it proves the threads do not hold the process.
    const { code, stdout, ms } = await node(['--import', 'tsx', 'test/fixtures/threads/idle-exit.ts']);
    expect(code).toBe(0);
    expect(JSON.parse(stdout)).toEqual({ results: [2, 3, 4, 5], threads: 2 });
    expect(ms).toBeLessThan(10_000);
  });
});
