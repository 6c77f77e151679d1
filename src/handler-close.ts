/**
 * Closes a `process()` handler that owns resources (a `threads()` pool has `close()`), as
 * every queue does when it closes. Other handlers are plain functions: nothing to do.
 * @internal
 */
export async function closeHandler(handler: unknown): Promise<void> {
  const close = (handler as { close?: unknown } | undefined)?.close;
  if (typeof close === 'function') await (close as () => Promise<void>).call(handler);
}
