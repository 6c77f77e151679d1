import type { RedisJob } from './job.js';

/** Weight of the newest sample in the running averages of handler and take times. */
const AVERAGE_WEIGHT = 0.2;

/**
 * The jobs a push consumer took ahead of a free slot, oldest first, and the rule that says
 * whether to take any: only while its handlers finish faster than a take's round trip.
 * Then the round trip is what keeps slots idle, and a prefetched job waits about a round
 * trip; with slow handlers it would wait a whole handler run while another worker could
 * have run it. The jobs are leased (their lease runs from the take): the consumer renews
 * them, gives them back at close and pause, and drops those whose lease was lost.
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

  /** Jobs the next take may bring for a prefetch of `capacity` (0 unless handlers outpace a round trip). */
  room(capacity: number): number {
    if (this.runTime === undefined || this.takeTime === undefined || this.runTime > this.takeTime) return 0;
    return Math.max(0, capacity - this.jobs.length);
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
