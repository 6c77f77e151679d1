/**
 * Loads docket's Queue for the queue cases. A dynamic import, so that a missing or broken
 * src/queue.ts fails the docket subjects with a clear message and never the peers' runs.
 */
import type { Queue as QueueClass } from '../../src/queue.js';

export type DocketQueue = typeof QueueClass;

export async function loadQueue(): Promise<DocketQueue> {
  try {
    return (await import('../../src/queue.js')).Queue;
  } catch (error) {
    throw new Error(`docket's Queue (src/queue.ts) cannot be loaded: ${error instanceof Error ? error.message : String(error)}`, {
      cause: error,
    });
  }
}
