import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { afterEach, describe, expect, it } from 'vitest';

// kill -9 at a random moment, many times over one journal: an add the child acknowledged
// is never lost, a completion it acknowledged never comes back, and nothing appears that
// was never added.

const CHILD = fileURLToPath(new URL('./fixtures/journal/crash-child.ts', import.meta.url));
const ITERATIONS = 20;

interface Message {
  op: string;
  key?: string;
  keys?: string[];
  id?: number;
  message?: string;
}

const children: ChildProcess[] = [];
let dir: string | undefined;

afterEach(() => {
  for (const child of children.splice(0)) if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
  if (dir !== undefined) rmSync(dir, { recursive: true, force: true });
  dir = undefined;
});

/** A deterministic random source (mulberry32) so that a failing seed reproduces. */
function random(seed: number): () => number {
  let a = seed;
  return () => {
    a = (a + 0x6d2b79f5) | 0;
    let t = Math.imul(a ^ (a >>> 15), 1 | a);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

function startChild(file: string, sync: string): { child: ChildProcess; messages: AsyncIterator<Message>; exited: Promise<void> } {
  const child = spawn(process.execPath, ['--import', 'tsx', CHILD, file, sync], { stdio: ['pipe', 'pipe', 'inherit'] });
  children.push(child);
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  const lines = createInterface({ input: child.stdout! });
  async function* parse(): AsyncGenerator<Message> {
    for await (const line of lines) yield JSON.parse(line) as Message;
  }
  return { child, messages: parse(), exited };
}

async function next(messages: AsyncIterator<Message>): Promise<Message> {
  const result = await messages.next();
  if (result.done) throw new Error('child ended early');
  return result.value;
}

describe('kill -9', () => {
  it.each([
    ['always', ITERATIONS],
    ['never', 8],
  ] as const)('loses no acknowledged add and resurrects no acknowledged completion across crashes (sync %s, %i crashes)', async (sync, iterations) => {
    dir = mkdtempSync(join(tmpdir(), 'docket-crash-'));
    const file = join(dir, 'q.journal');
    const rand = random(sync === 'always' ? 20_26 : 7);
    const sent = new Set<string>(); // every key ever sent to a child
    const live = new Set<string>(); // acknowledged adds, not (yet) known completed
    const completed = new Set<string>(); // acknowledged completions
    const pendingAck = new Map<number, string>(); // take answered, ack sent, not yet acknowledged
    let counter = 0;
    const totals = { acknowledgedAdds: 0, acknowledgedAcks: 0, unacknowledgedAtKill: 0, compactions: 0 };

    for (let iteration = 0; iteration <= iterations; iteration++) {
      const { child, messages, exited } = startChild(file, sync);
      let restoredMessage = await next(messages);
      while (restoredMessage.op === 'compacted') restoredMessage = await next(messages);
      expect(restoredMessage.op).toBe('restored');
      const restored = restoredMessage.keys ?? [];
      // The checks. After a crash, jobs in flight (added but not acknowledged, or acked but
      // not acknowledged) may or may not be there; everything else is exact.
      const restoredSet = new Set(restored);
      expect(restoredSet.size, 'no job twice').toBe(restored.length);
      for (const key of restored) {
        expect(sent.has(key), `${key} was never added`).toBe(true);
        expect(completed.has(key), `${key} was acknowledged completed, then came back`).toBe(false);
      }
      for (const key of live) expect(restoredSet.has(key), `acknowledged add ${key} lost (iteration ${iteration})`).toBe(true);
      // The child acked every restored job before "ready": those completions are acknowledged.
      let ready = await next(messages);
      while (ready.op === 'compacted') ready = await next(messages);
      expect(ready.op).toBe('ready');
      for (const key of restored) {
        live.delete(key);
        completed.add(key);
      }
      if (iteration === iterations) {
        child.stdin!.end();
        await exited;
        break;
      }

      // Traffic: keep adds and take/ack pairs in flight, then kill at a random moment.
      const killAfter = 30 + Math.floor(rand() * 150);
      let killed = false;
      const timer = setTimeout(() => {
        killed = true;
        child.kill('SIGKILL');
      }, killAfter);
      const write = (message: object): void => {
        if (!killed && child.stdin!.writable) child.stdin!.write(`${JSON.stringify(message)}\n`);
      };
      let inFlight = 0;
      const pump = (): void => {
        while (!killed && inFlight < 16) {
          inFlight++;
          if (rand() < 0.6) {
            const key = `k${++counter}`;
            sent.add(key);
            write({ op: 'add', key });
          } else {
            write({ op: 'take' });
          }
        }
      };
      pump();
      try {
        for (;;) {
          const result = await messages.next();
          if (result.done) break;
          const message = result.value;
          if (message.op === 'add') {
            live.add(message.key as string);
            totals.acknowledgedAdds++;
            inFlight--;
          } else if (message.op === 'take') {
            if (message.id === undefined) {
              inFlight--;
            } else {
              pendingAck.set(message.id, message.key as string);
              write({ op: 'ack', id: message.id });
            }
          } else if (message.op === 'ack') {
            const key = pendingAck.get(message.id as number) as string;
            pendingAck.delete(message.id as number);
            live.delete(key);
            completed.add(key);
            totals.acknowledgedAcks++;
            inFlight--;
          } else if (message.op === 'compacted') {
            totals.compactions++;
          } else if (message.op === 'error') {
            throw new Error(`child error: ${message.message}`);
          }
          pump();
        }
      } finally {
        clearTimeout(timer);
      }
      await exited;
      expect(child.signalCode).toBe('SIGKILL');
      // Acks sent but not acknowledged: the job may be gone or may come back; both are right.
      totals.unacknowledgedAtKill += pendingAck.size;
      for (const key of pendingAck.values()) live.delete(key);
      pendingAck.clear();
    }
    // The run must have exercised something.
    expect(totals.acknowledgedAdds).toBeGreaterThan(iterations * 5);
    expect(totals.acknowledgedAcks).toBeGreaterThan(iterations);
    // Compactions ran too (and some crashes may have hit one).
    expect(totals.compactions).toBeGreaterThan(0);
  }, 120_000);
});
