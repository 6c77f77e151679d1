import type { TransferListItem } from 'node:worker_threads';
import { InvalidOptionError } from '../errors.js';

/**
 * The brand lives in the global symbol registry so that a marker made by one copy of
 * docket (the worker module's own import, ESM or CJS) is recognised by another (the
 * bootstrap inside the thread, the pool on the main thread).
 */
export const kTransfer: unique symbol = Symbol.for('docket.transfer') as never;

/**
 * A value marked to be moved, not copied, across the thread boundary. Made by
 * {@link transfer}; the receiving side sees the bare `value`.
 *
 * @typeParam T - the wrapped value's type
 */
export interface Transfer<T> {
  readonly [kTransfer]: true;
  readonly value: T;
  readonly transferList: readonly TransferListItem[];
}

/** The type the other thread receives for a value that may be marked with {@link transfer}. */
export type Untransfer<T> = T extends Transfer<infer U> ? U : T;

/**
 * Marks `value` so that its `ArrayBuffer`s (or ports) are moved to the other thread instead
 * of copied, as piscina's `move()` does. Works in both directions: wrap a job payload
 * (or a `pool.run()` payload) on the main thread, or wrap the result a worker returns.
 *
 * After the move the sender's buffer is detached (zero length). A payload that is moved
 * into a thread is gone from the job: a retry would see the empty buffer, so move payloads
 * only for single-attempt jobs, or move results instead.
 *
 * @param value - the value to send
 * @param transferList - what to move; defaults to `value` itself when it is an
 *   `ArrayBuffer` or `MessagePort`, and to its `buffer` when it is a typed array or `DataView`
 * @example
 * ```ts
 * // worker module
 * export default (size: number) => transfer(new Float64Array(size));
 * ```
 */
export function transfer<T>(value: T, transferList?: readonly TransferListItem[]): Transfer<T> {
  let list = transferList;
  if (list === undefined) {
    if (value instanceof ArrayBuffer) list = [value];
    else if (ArrayBuffer.isView(value) && value.buffer instanceof ArrayBuffer) list = [value.buffer];
    else if (isPort(value)) list = [value as unknown as TransferListItem];
    else {
      throw new InvalidOptionError('Expected `transferList` when the value is not an ArrayBuffer, typed array, DataView or MessagePort');
    }
  }
  return { [kTransfer]: true, value, transferList: list };
}

/** True for a {@link transfer} marker, from any copy of docket. */
export function isTransfer(value: unknown): value is Transfer<unknown> {
  return typeof value === 'object' && value !== null && (value as { [kTransfer]?: unknown })[kTransfer] === true;
}

function isPort(value: unknown): boolean {
  return (
    typeof value === 'object' &&
    value !== null &&
    typeof (value as { postMessage?: unknown }).postMessage === 'function' &&
    typeof (value as { start?: unknown }).start === 'function'
  );
}
