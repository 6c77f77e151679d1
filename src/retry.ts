/** How long to wait before the next attempt, by attempt number (1 = after the first failure). */
export type BackoffFunction = (attempt: number, error: Error) => number;

/** A named backoff strategy. */
export interface BackoffStrategy {
  /** `fixed`: `delay` every time; `linear`: `delay * attempt`; `exponential`: `delay * 2^(attempt-1)`. */
  type: 'fixed' | 'linear' | 'exponential';
  /** Base delay in ms. */
  delay: number;
  /** Upper bound in ms, applied before jitter. @defaultValue Infinity */
  max?: number;
  /** "Full jitter": draw uniformly from [0, computed delay]. @defaultValue false */
  jitter?: boolean;
}

/** A backoff: ms as a number (fixed), a strategy, or a function of the attempt. */
export type Backoff = number | BackoffStrategy | BackoffFunction;

/**
 * The delay before retry number `attempt` (1-based), as one pure expression:
 * `min(base * factor, max)`, then full jitter from the injected `random`.
 */
export function nextDelay(attempt: number, backoff: Backoff, error: Error, random: () => number): number {
  if (typeof backoff === 'number') return backoff;
  if (typeof backoff === 'function') {
    const delay = backoff(attempt, error);
    return Number.isFinite(delay) && delay > 0 ? delay : 0;
  }
  const factor = backoff.type === 'fixed' ? 1 : backoff.type === 'linear' ? attempt : 2 ** (attempt - 1);
  const capped = Math.min(backoff.delay * factor, backoff.max ?? Infinity);
  return backoff.jitter === true ? Math.floor(random() * (capped + 1)) : capped;
}
