import type { RedisJob } from './job.js';

/** Weight of the newest sample in the running averages of handler and take times. */
const AVERAGE_WEIGHT = 0.2;

/** Takes a consumer keeps on the wire at once: Redis runs one while this process runs the jobs of the other. */
export const TAKES_ON_WIRE = 2;

/**
 * The jobs a push consumer took ahead of a free slot, oldest first, and the rule that says
 * how many to take. A take asks for one batch at most: the free slots, plus, while the
 * handlers finish faster than a take's round trip, `concurrency` more to prefetch (then the
 * round trip is what keeps slots idle, and a prefetched job waits about a round trip; with
 * slow handlers it would wait a whole handler run while another worker could have run it).
 * With {@link TAKES_ON_WIRE} takes in flight, the jobs a consumer runs, holds and has asked
 * for stay within that many batches. The jobs are leased (their lease runs from the take):
 * the consumer renews them, gives them back at close and pause, and drops those whose lease
 * was lost.
 * @internal
 */
export class Prefetch<T> {
  private readonly jobs: RedisJob<T>[] = [];
  /** Running averages (ms) of a handler's run and of a take's round trip; undefined before the first. */
  private runTime: number | undefined = undefined;
  private takeTime: number | undefined = undefined;

  get size(): number {
    return this.jobs.length;
  }

  /** The prefetched jobs, oldest first. */
  get held(): readonly RedisJob<T>[] {
    return this.jobs;
  }

  /** A handler ran for `ms`. */
  ran(ms: number): void {
    this.runTime = average(this.runTime, ms);
  }

  /** A take's round trip took `ms`. */
  took(ms: number): void {
    this.takeTime = average(this.takeTime, ms);
  }

  /** The most a consumer of `concurrency` slots may prefetch (jobs on the wire when it stops prefetching find room). */
  static capacity(concurrency: number): number {
    return (2 * TAKES_ON_WIRE - 1) * concurrency;
  }

  /**
   * Jobs the next take asks for `concurrency` slots, `running` of them busy, with `asked`
   * jobs asked for by the takes on the wire; no prefetch unless `allowed` and the handlers
   * outpace a round trip.
   */
  wanted(concurrency: number, running: number, asked: number, allowed: boolean): number {
    const outpaced = allowed && this.runTime !== undefined && this.takeTime !== undefined && this.runTime <= this.takeTime;
    const batch = outpaced ? 2 * concurrency : concurrency;
    const window = outpaced ? TAKES_ON_WIRE * batch : concurrency;
    return Math.max(0, Math.min(batch, window - running - this.jobs.length - asked));
  }

  add(job: RedisJob<T>): void {
    this.jobs.push(job);
  }

  /** The oldest job whose lease is still current; the ones before it are dropped (Redis reclaims them). */
  next(): RedisJob<T> | undefined {
    for (let job = this.jobs.shift(); job !== undefined; job = this.jobs.shift()) {
      if (job.isCurrent) return job;
    }
    return undefined;
  }

  /** Forgets a job whose lease was lost: it is not ours to run. */
  drop(job: RedisJob<T>): void {
    const at = this.jobs.indexOf(job);
    if (at >= 0) this.jobs.splice(at, 1);
  }

  /** Empties the prefetch, returning what it held. */
  takeAll(): RedisJob<T>[] {
    return this.jobs.splice(0);
  }
}

function average(current: number | undefined, sample: number): number {
  return current === undefined ? sample : current + (sample - current) * AVERAGE_WEIGHT;
}
