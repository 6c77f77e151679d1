import type { Clock, TimerHandle } from './clock.js';

interface Waiter<L> {
  resolve(lease: L | undefined): void;
  ttr: number | undefined;
  timer: TimerHandle | undefined;
  signal: AbortSignal | undefined;
  onAbort: (() => void) | undefined;
}

/**
 * The `reserve()` calls waiting for a job, served first come, first served. A waiter gives
 * up when its timeout passes (a ref'd timer: whoever awaits expects an answer) or its
 * signal aborts, and then resolves `undefined`.
 * @typeParam L - the lease a waiter receives
 */
export class ReserveWaiters<L> {
  private readonly waiting: Waiter<L>[] = [];

  constructor(private readonly clock: Clock) {}

  get size(): number {
    return this.waiting.length;
  }

  /** Waits for a lease; `ttr` is the lease length this waiter asked for. */
  wait(timeout: number, signal: AbortSignal | undefined, ttr: number | undefined): Promise<L | undefined> {
    return new Promise((resolve) => {
      const waiter: Waiter<L> = { resolve, ttr, timer: undefined, signal, onAbort: undefined };
      const giveUp = (): void => {
        const at = this.waiting.indexOf(waiter);
        if (at >= 0) this.waiting.splice(at, 1);
        this.settle(waiter, undefined);
      };
      if (timeout !== Infinity) waiter.timer = this.clock.setTimer(giveUp, timeout, true);
      if (signal !== undefined) {
        waiter.onAbort = giveUp;
        signal.addEventListener('abort', giveUp, { once: true });
      }
      this.waiting.push(waiter);
    });
  }

  /** Serves the oldest waiter with the lease `take` makes for its ttr; false when nobody waits or `take` has none. */
  serveNext(take: (ttr: number | undefined) => L | undefined): boolean {
    const waiter = this.waiting[0];
    if (waiter === undefined) return false;
    const lease = take(waiter.ttr);
    if (lease === undefined) return false;
    this.waiting.shift();
    this.settle(waiter, lease);
    return true;
  }

  /** Every waiter resolves `undefined` (the queue is closing). */
  releaseAll(): void {
    for (const waiter of this.waiting.splice(0)) this.settle(waiter, undefined);
  }

  private settle(waiter: Waiter<L>, lease: L | undefined): void {
    if (waiter.timer !== undefined) this.clock.clearTimer(waiter.timer);
    if (waiter.onAbort !== undefined) waiter.signal?.removeEventListener('abort', waiter.onAbort);
    waiter.resolve(lease);
  }
}
