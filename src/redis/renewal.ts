import { LeaseExpiredError, toError } from '../errors.js';
import { RedisConnectionError } from './connection.js';
import type { RedisJob } from './job.js';

/** What the renewal needs from its queue. @internal */
export interface RenewalHost<T> {
  /** Renews the given leases; resolves the ones found gone. */
  renew(jobs: readonly RedisJob<T>[]): Promise<RedisJob<T>[]>;
  report(error: Error): void;
}

/**
 * Renews the leases a push consumer holds (its running and its prefetched jobs) every
 * third of a lease while it holds any, so that a long handler, or a job waiting in the
 * prefetch, keeps its job. A lease found gone aborts its job, which is then not ours to run.
 * @internal
 */
export class LeaseRenewal<T> {
  private timer: ReturnType<typeof setInterval> | undefined = undefined;

  constructor(
    private readonly host: RenewalHost<T>,
    private readonly leases: () => RedisJob<T>[],
    private readonly onLost: (job: RedisJob<T>) => void,
  ) {}

  /** Starts renewing (if not already) for leases of `ttr` ms. */
  start(ttr: number): void {
    if (this.timer !== undefined) return;
    // A third of the lease: two renewals can fail (a slow round trip) before it runs out.
    this.timer = setInterval(() => void this.renew(), Math.max(10, Math.floor(ttr / 3)));
    this.timer.unref();
  }

  stop(): void {
    if (this.timer !== undefined) clearInterval(this.timer);
    this.timer = undefined;
  }

  private async renew(): Promise<void> {
    const jobs = this.leases().filter((job) => !job.settled);
    if (jobs.length === 0) return;
    try {
      const lost = await this.host.renew(jobs);
      for (const job of lost) {
        job.abort(new LeaseExpiredError(`job ${job.id}: the lease was lost (it ran out and went to another worker)`));
        this.onLost(job);
      }
    } catch (error) {
      if (!(error instanceof RedisConnectionError)) this.host.report(toError(error));
    }
  }
}
