/** An emitter as far as the dashboard uses one. */
interface Emitter {
  on(event: string, listener: (...args: never[]) => void): unknown;
  off(event: string, listener: (...args: never[]) => void): unknown;
}

function isEmitter(value: unknown): value is Emitter {
  const candidate = value as Partial<Emitter> | null;
  return typeof candidate?.on === 'function' && typeof candidate.off === 'function';
}

/**
 * Listens to `event` of `source` if it is an event emitter (queues of every home are, but
 * the dashboard asks for no more than `stats` and `peek`). Returns the undo.
 */
export function listen<A extends unknown[]>(source: unknown, event: string, listener: (...args: A) => void): () => void {
  if (!isEmitter(source)) return () => {};
  const bound = listener as unknown as (...args: never[]) => void;
  source.on(event, bound);
  return () => void source.off(event, bound);
}
