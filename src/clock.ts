/** An opaque handle returned by {@link Clock.setTimer}. */
export type TimerHandle = unknown;

/**
 * Time as docket sees it: milliseconds since the epoch, and one-shot timers. The queue
 * takes one so that tests drive delays, leases and timeouts with {@link ManualClock}
 * instead of sleeping.
 */
export interface Clock {
  now(): number;
  /**
   * Calls `fn` once after `ms`. Real timers are `unref()`d, so they never keep a process
   * alive, unless `keepAlive` is set: the queue sets it while somebody awaits an outcome
   * that only the timer can bring (`onIdle()` with delayed jobs, `reserve({ timeout })`).
   */
  setTimer(fn: () => void, ms: number, keepAlive?: boolean): TimerHandle;
  clearTimer(handle: TimerHandle): void;
}

/** Node's own timers cap at 2^31-1 ms and fire after 1 ms beyond it (nodejs/node#4541). */
export const MAX_TIMER_MS = 2 ** 31 - 1;

/** Wall-clock time with `unref()`d Node timers. */
export const systemClock: Clock = {
  now: Date.now,
  setTimer(fn, ms, keepAlive = false) {
    const timer = setTimeout(fn, Math.min(Math.max(ms, 0), MAX_TIMER_MS));
    if (!keepAlive) timer.unref();
    return timer;
  },
  clearTimer(handle) {
    clearTimeout(handle as ReturnType<typeof setTimeout>);
  },
};

interface ManualTimer {
  due: number;
  seq: number;
  fn: () => void;
}

/**
 * A clock that only moves when told to. `advance(ms)` fires due timers in order of due
 * time (then creation), each seeing `now()` equal to its own due time.
 *
 * @example
 * ```ts
 * const clock = new ManualClock();
 * const q = new Queue({ clock });
 * await q.add('x', { delay: 1000 });
 * clock.advance(1000); // the job is ready now
 * ```
 */
export class ManualClock implements Clock {
  private time: number;
  private seq = 0;
  private readonly timers = new Set<ManualTimer>();

  constructor(start = 0) {
    this.time = start;
  }

  now(): number {
    return this.time;
  }

  setTimer(fn: () => void, ms: number): TimerHandle {
    const timer: ManualTimer = { due: this.time + Math.min(Math.max(ms, 0), MAX_TIMER_MS), seq: this.seq++, fn };
    this.timers.add(timer);
    return timer;
  }

  clearTimer(handle: TimerHandle): void {
    this.timers.delete(handle as ManualTimer);
  }

  /** Number of timers armed and not yet fired or cleared. */
  get pendingTimers(): number {
    return this.timers.size;
  }

  /** Moves time forward by `ms`, firing every timer that falls due on the way. */
  advance(ms: number): void {
    const end = this.time + ms;
    for (;;) {
      let next: ManualTimer | undefined;
      for (const timer of this.timers) {
        if (timer.due <= end && (next === undefined || timer.due < next.due || (timer.due === next.due && timer.seq < next.seq))) next = timer;
      }
      if (next === undefined) break;
      this.timers.delete(next);
      this.time = Math.max(this.time, next.due);
      next.fn();
    }
    this.time = end;
  }
}
