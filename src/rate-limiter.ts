/**
 * A rate limit: at most `max` jobs start in any `duration` ms (a sliding window).
 * @example { max: 10, duration: 1000 } // at most 10 starts in any second
 */
export interface RateLimit {
  /** Starts allowed per window: an integer >= 1. */
  max: number;
  /** The window, ms: a finite number >= 1. */
  duration: number;
}

/**
 * The start times that a {@link RateLimit} still counts, and any pause asked for from a
 * handler (`rateLimit(ms)`). A sliding log, not a fixed window: a fixed window lets `2 *
 * max` jobs start around its boundary, which is exactly the burst an upstream's "10 a
 * second" refuses. The log holds at most `max` times (the last `max` starts): a new start
 * at `t` is allowed once the oldest of them is `duration` ms old. Pure: the caller passes
 * `now`.
 */
export class StartWindow {
  /** Ring of the last `max` start times, oldest at `head`; grown on demand up to `max`. */
  private readonly starts: number[] = [];
  private head = 0;
  /** Set by `pauseUntil`: nothing starts before it. */
  private pausedUntil = -Infinity;

  constructor(private readonly limit: RateLimit | undefined) {}

  /** The earliest time >= `now` at which one more job may start. */
  openAt(now: number): number {
    const at = Math.max(this.pausedUntil, now);
    const limit = this.limit;
    if (limit === undefined || this.starts.length < limit.max) return at;
    return Math.max(at, this.starts[this.head] + limit.duration);
  }

  /** Counts a start at `now` (after `openAt(now) <= now` said it may). */
  record(now: number): void {
    const limit = this.limit;
    if (limit === undefined) return;
    if (this.starts.length < limit.max) {
      this.starts.push(now);
      return;
    }
    this.starts[this.head] = now;
    this.head = this.head + 1 === limit.max ? 0 : this.head + 1;
  }

  /** Nothing starts before `until` (a handler's `rateLimit(ms)`); a later pause extends an earlier one. */
  pauseUntil(until: number): void {
    if (until > this.pausedUntil) this.pausedUntil = until;
  }

  /** When this window stops mattering: after it, a fresh window behaves the same (so it can be dropped). */
  quietAt(): number {
    const newest = this.starts.length === 0 ? -Infinity : this.starts[(this.head + this.starts.length - 1) % this.starts.length];
    const windowEnd = this.limit === undefined ? -Infinity : newest + this.limit.duration;
    return Math.max(windowEnd, this.pausedUntil);
  }
}
