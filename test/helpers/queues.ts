import { afterEach } from 'vitest';
import { Queue } from '../../src/index.js';

/**
 * A `new Queue` for tests that is closed (without grace) after each test, so that no test
 * leaves a queue's timers behind. Call at the top level of a test file.
 */
export function closingQueues(): <T>(options?: ConstructorParameters<typeof Queue<T>>[0]) => Queue<T> {
  const open: Array<{ close(options?: { timeout?: number }): Promise<void> }> = [];
  afterEach(async () => {
    await Promise.all(open.splice(0).map((q) => q.close({ timeout: 0 })));
  });
  return <T>(options: ConstructorParameters<typeof Queue<T>>[0] = {}): Queue<T> => {
    const q = new Queue<T>(options);
    open.push(q);
    return q;
  };
}
