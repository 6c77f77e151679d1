import type { Clock, TimerHandle } from './clock.js';
import { Heap } from './heap/heap.js';

/** What the scheduler needs of an item: a due time, and a field to keep its heap slot. */
export interface Scheduled {
  readonly dueAt: number;
  slot: number;
}

/**
 * Items ordered by due time (ties FIFO), driven by one timer armed for the earliest. The
 * queue has two: delayed jobs and leases. Never one timer per job, whatever the count.
 */
export class Scheduler<J extends Scheduled> {
  private readonly heap = new Heap<J>({ trackIndex: (item, index) => (item.slot = index) });
  private timer: TimerHandle | undefined = undefined;
  private armedFor = Infinity;
  private keepAlive = false;
  private stopped = false;
  private readonly fire = (): void => this.run();

  constructor(
    private readonly clock: Clock,
    private readonly onDue: (item: J) => void,
  ) {}

  get size(): number {
    return this.heap.size;
  }

  add(item: J): void {
    this.heap.push(item, item.dueAt);
    if (item.dueAt < this.armedFor) this.arm();
  }

  /** Removes an item; a timer left armed for it fires harmlessly and re-arms. */
  delete(item: J): void {
    if (item.slot >= 0) this.heap.removeAt(item.slot);
  }

  peek(): J | undefined {
    return this.heap.peek();
  }

  *[Symbol.iterator](): IterableIterator<J> {
    yield* this.heap;
  }

  /** Whether the timer keeps the process alive (somebody awaits what it brings). */
  setKeepAlive(keepAlive: boolean): void {
    if (keepAlive === this.keepAlive) return;
    this.keepAlive = keepAlive;
    if (this.timer !== undefined) this.arm();
  }

  /**
   * Disarms the timer for good (the queue is closing); items stay, and nothing re-arms it,
   * not even a `run()` already under way.
   */
  stop(): void {
    this.stopped = true;
    this.disarm();
  }

  private disarm(): void {
    if (this.timer !== undefined) this.clock.clearTimer(this.timer);
    this.timer = undefined;
    this.armedFor = Infinity;
  }

  /** Fires whatever is due now (also what the timer calls). */
  run(): void {
    this.timer = undefined;
    this.armedFor = Infinity;
    const now = this.clock.now();
    for (let top = this.heap.peek(); top !== undefined && top.dueAt <= now; top = this.heap.peek()) {
      this.heap.pop();
      this.onDue(top);
    }
    this.arm();
  }

  private arm(): void {
    const top = this.heap.peekKey();
    if (this.stopped || top === undefined || top === Infinity) return this.disarm();
    if (this.timer !== undefined) this.clock.clearTimer(this.timer);
    this.armedFor = top;
    this.timer = this.clock.setTimer(this.fire, top - this.clock.now(), this.keepAlive);
  }
}
