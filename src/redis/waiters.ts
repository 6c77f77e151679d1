import type { RedisJob } from './job.js';

interface Waiter<T> {
  resolve(job: RedisJob<T> | undefined): void;
  /** `timeout: 0`: one take, then give up. */
  once: boolean;
  /** The take on the wire that asks for a job for this caller; 0 while none does. */
  round: number;
  cleanup(): void;
}

/**
 * The `reserve()` callers of one consumer waiting for a job, oldest first. Each is counted
 * in one take on the wire at a time, so that two takes in flight do not both ask for it;
 * when that take comes back without a job for it, the caller is counted again by the next
 * one, or, for a `timeout: 0` caller (one look), given `undefined`.
 * @internal
 */
export class Waiters<T> {
  private readonly list: Waiter<T>[] = [];

  get size(): number {
    return this.list.length;
  }

  /** A caller waiting up to `timeout` ms (`0`: one take); `undefined` on timeout, abort or {@link clear}. */
  wait(timeout: number, signal: AbortSignal | undefined): Promise<RedisJob<T> | undefined> {
    return new Promise((resolve) => {
      let timer: ReturnType<typeof setTimeout> | undefined;
      const onAbort = (): void => giveUp();
      const waiter: Waiter<T> = {
        resolve,
        once: timeout === 0,
        round: 0,
        cleanup: () => {
          if (timer !== undefined) clearTimeout(timer);
          signal?.removeEventListener('abort', onAbort);
        },
      };
      const giveUp = (): void => {
        const at = this.list.indexOf(waiter);
        if (at < 0) return;
        this.list.splice(at, 1);
        waiter.cleanup();
        resolve(undefined);
      };
      if (timeout > 0 && timeout !== Infinity) timer = setTimeout(giveUp, Math.min(timeout, 2 ** 31 - 1));
      signal?.addEventListener('abort', onAbort, { once: true });
      this.list.push(waiter);
    });
  }

  /** Callers no take on the wire asks for. */
  get uncounted(): number {
    let count = 0;
    for (const waiter of this.list) if (waiter.round === 0) count++;
    return count;
  }

  /** Counts the callers no take on the wire asks for into take `round`; returns how many. */
  count(round: number): number {
    let count = 0;
    for (const waiter of this.list) {
      if (waiter.round !== 0) continue;
      waiter.round = round;
      count++;
    }
    return count;
  }

  /** Hands `jobs` to the oldest callers, one each; returns how many it handed out. */
  serve(jobs: readonly RedisJob<T>[]): number {
    let next = 0;
    while (next < jobs.length && this.list.length > 0) {
      const waiter = this.list.shift() as Waiter<T>;
      waiter.cleanup();
      waiter.resolve(jobs[next++]);
    }
    return next;
  }

  /**
   * Take `round` came back (`looked`) or failed: its callers still waiting are counted by
   * the next take, except `timeout: 0` ones after a look, which had it.
   */
  ended(round: number, looked: boolean): void {
    for (let i = this.list.length - 1; i >= 0; i--) {
      const waiter = this.list[i] as Waiter<T>;
      if (waiter.round !== round) continue;
      if (looked && waiter.once) {
        this.list.splice(i, 1);
        waiter.cleanup();
        waiter.resolve(undefined);
      } else {
        waiter.round = 0;
      }
    }
  }

  /** Resolves every caller with `undefined`. */
  clear(): void {
    for (const waiter of this.list.splice(0)) {
      waiter.cleanup();
      waiter.resolve(undefined);
    }
  }
}
