import type { Clock } from './clock.js';

interface Condition {
  test(): boolean;
  resolve(): void;
}

/**
 * Promises that resolve once a predicate over the queue holds (`onIdle`, `onEmpty`,
 * `onSizeLessThan`, close's wait): re-tested after every change, resolved at once when
 * already true.
 */
export class Conditions {
  private waiting: Condition[] = [];

  /** Whether anybody awaits: the queue's timers then keep the process alive. */
  get size(): number {
    return this.waiting.length;
  }

  when(test: () => boolean): Promise<void> {
    if (test()) return Promise.resolve();
    return new Promise((resolve) => this.waiting.push({ test, resolve }));
  }

  /**
   * Like {@link when}, but gives up after `ms` on `clock` (a ref'd timer: whoever awaits
   * expects an answer). Resolves `true` if the condition came true.
   */
  within(test: () => boolean, ms: number, clock: Clock): Promise<boolean> {
    if (test()) return Promise.resolve(true);
    return new Promise((resolve) => {
      const condition: Condition = {
        test,
        resolve: () => {
          clock.clearTimer(timer);
          resolve(true);
        },
      };
      const timer = clock.setTimer(
        () => {
          this.waiting = this.waiting.filter((c) => c !== condition);
          resolve(false);
        },
        ms,
        true,
      );
      this.waiting.push(condition);
    });
  }

  /** Resolves every condition that now holds. */
  check(): void {
    if (this.waiting.length === 0) return;
    const waiting = this.waiting;
    this.waiting = [];
    for (const condition of waiting) {
      if (condition.test()) condition.resolve();
      else this.waiting.push(condition);
    }
  }
}
