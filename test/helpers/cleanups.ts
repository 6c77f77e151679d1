import { afterEach } from 'vitest';

/**
 * Call at the top of a test file (or inside its `describe`): the functions a test pushes
 * onto the returned list run after it, the last pushed first (a dashboard stops before the
 * queue it shows closes), each awaited.
 */
export function cleanupsAfterEach(): Array<() => unknown> {
  const cleanups: Array<() => unknown> = [];
  afterEach(async () => {
    for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
  });
  return cleanups;
}
