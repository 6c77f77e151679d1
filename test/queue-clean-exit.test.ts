import { spawn, type ChildProcess } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { afterEach, describe, expect, it } from 'vitest';

// A script that closes its queues must exit on its own: no timer, lease, waiter or
// handler may keep the event loop alive after close(). Every pending timer in the child is
// an hour long, so anything left alive shows as a kill at the limit, not as a few ms more:
// the upper bounds below only need to be far below that, and wide enough for a loaded
// machine. The lower bounds prove close() waited for its timeout (load only adds to them).

const root = fileURLToPath(new URL('..', import.meta.url));
const fixture = fileURLToPath(new URL('./fixtures/clean-exit-child.ts', import.meta.url));
const children: ChildProcess[] = [];

afterEach(() => {
  for (const child of children.splice(0)) if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
});

interface Outcome {
  code: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
  wallMs: number;
}

function runChild(scenario: string, limitMs = 20_000): Promise<Outcome> {
  return new Promise((resolve, reject) => {
    const started = performance.now();
    const child = spawn(process.execPath, ['--import', 'tsx', fixture, scenario], { cwd: root, stdio: ['ignore', 'pipe', 'pipe'] });
    children.push(child);
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString()));
    child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
    // A bound for a child that never exits, so that the failure is reported, not hung.
    const killer = setTimeout(() => child.kill('SIGKILL'), limitMs);
    child.on('error', reject);
    child.on('close', (code, signal) => {
      clearTimeout(killer);
      resolve({ code, signal, stdout, stderr, wallMs: performance.now() - started });
    });
  });
}

function report(outcome: Outcome): { closeMs: number; facts: Record<string, unknown> } {
  const line = outcome.stdout.split('\n').find((l) => l.startsWith('{'));
  expect(line, `child output:\n${outcome.stdout}\n${outcome.stderr}`).toBeDefined();
  return JSON.parse(line!) as { closeMs: number; facts: Record<string, unknown> };
}

describe('clean exit after close()', () => {
  it('exits on its own after the close timeout with delays, leases, retries, waiters and a running handler pending', async () => {
    const outcome = await runChild('all');
    expect(outcome.signal, outcome.stderr).toBeNull();
    expect(outcome.code, outcome.stderr).toBe(0);
    expect(outcome.stdout).toContain('closed');
    const { closeMs, facts } = report(outcome);
    expect(closeMs).toBeGreaterThanOrEqual(490);
    expect(closeMs).toBeLessThan(10_000);
    // The running handler was allowed to finish; the lease was given back without using an attempt.
    expect(facts).toMatchObject({ runningCompleted: 1, leaseState: 'ready', leaseAttempts: 0, waiters: [null, null], delayedLeft: 100 });
  });

  it('exits on its own when a handler never settles and close() times out', async () => {
    const outcome = await runChild('hung');
    expect(outcome.signal, outcome.stderr).toBeNull();
    expect(outcome.code, outcome.stderr).toBe(0);
    // close() resolved (it did not just stop mattering because the loop ran dry).
    expect(outcome.stdout).toContain('closed');
    const { closeMs, facts } = report(outcome);
    expect(closeMs).toBeGreaterThanOrEqual(290);
    expect(closeMs).toBeLessThan(10_000);
    expect(facts).toMatchObject({ aborted: true, jobState: 'ready', attemptsMade: 0 });
  });

  it('exits on its own when close() is called from a listener while the delay timer fires', async () => {
    const outcome = await runChild('close-in-listener');
    expect(outcome.signal, 'the child had to be killed: something kept it alive after close()').toBeNull();
    expect(outcome.code, outcome.stderr).toBe(0);
    expect(outcome.stdout).toContain('closed');
    const { closeMs } = report(outcome);
    expect(closeMs).toBeLessThan(10_000);
  });
});
