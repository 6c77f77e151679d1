/**
 * The swap promise, checked by the type checker (`npm run typecheck` covers test files):
 * code typed against the producer/consumer members works with a local `Queue<T>` and a
 * remote one alike. The runtime part only checks the function exists.
 */
import { describe, expect, expectTypeOf, it } from 'vitest';
import { rawCodec } from '../src/codec.js';
import type { Queue } from '../src/queue.js';
import { connect, type RemoteJob, type RemoteQueue } from '../src/socket/client/remote-queue.js';

interface Email {
  to: string;
}

/** What an application needs from "a queue of T", whichever side of a socket it is on. */
interface WorkQueue<T> {
  add(data: T, options?: { priority?: number; delay?: number; ttr?: number }): Promise<{ id: number }>;
  addBulk(items: Array<{ data: T; options?: { priority?: number } }>): Promise<Array<{ id: number }>>;
  reserve(options?: { timeout?: number; signal?: AbortSignal }): Promise<
    | {
        id: number;
        data: T;
        signal: AbortSignal;
        ack(result?: unknown): Promise<void>;
        release(options?: { delay?: number; priority?: number }): Promise<void>;
        bury(reason?: string): Promise<void>;
        fail(error: unknown): Promise<void>;
      }
    | undefined
  >;
  process(handler: (job: { id: number; data: T; signal: AbortSignal }) => unknown, options?: { concurrency?: number }): void;
  jobs(options?: { signal?: AbortSignal }): AsyncIterable<{ id: number; data: T; ack(): Promise<void> }>;
  close(options?: { timeout?: number }): Promise<void>;
  readonly name: string;
  tryAdd(data: T): Promise<{ id: number }>;
}

describe('socket client types', () => {
  it('a RemoteQueue<T> and a Queue<T> both fit code written for either', () => {
    expectTypeOf<RemoteQueue<Email>>().toMatchTypeOf<WorkQueue<Email>>();
    expectTypeOf<Queue<Email>>().toMatchTypeOf<WorkQueue<Email>>();
    expect(typeof connect).toBe('function');
  });

  it('types payloads from the type argument or the codec', () => {
    expectTypeOf(connect<Email>).returns.resolves.toEqualTypeOf<RemoteQueue<Email>>();
    const rawConnect = (): ReturnType<typeof connect<Uint8Array>> => connect('beanstalk://127.0.0.1/x', { codec: rawCodec });
    expectTypeOf(rawConnect).returns.resolves.toEqualTypeOf<RemoteQueue<Uint8Array>>();
    expectTypeOf<RemoteJob<Email>['data']>().toEqualTypeOf<Email>();
    // @ts-expect-error: a payload of the wrong shape does not compile
    const wrong = (q: RemoteQueue<Email>): unknown => q.add({ from: 'x' });
    expect(typeof wrong).toBe('function');
  });
});
