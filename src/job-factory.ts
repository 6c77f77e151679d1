import { type JobConfig, JobRecord, nextJobId } from './job.js';
import { type AddOptions, DEFAULTS } from './options.js';

/**
 * Makes the record of a new job from the queue's settings and `add`'s options (checked
 * already). Pure: the caller passes the time.
 * @internal
 */
export class JobFactory<T> {
  /** The config of the latest job that overrode the queue's settings. */
  private lastOverride: JobConfig;

  /** `shared`: the queue's settings, the config of every job that overrides none. */
  constructor(readonly shared: JobConfig) {
    this.lastOverride = shared;
  }

  create(data: T, options: AddOptions | undefined, now: number): JobRecord<T> {
    if (options === undefined) return new JobRecord(nextJobId(), data, this.shared, DEFAULTS.priority, now);
    const job = new JobRecord(nextJobId(), data, this.configFor(options), options.priority ?? DEFAULTS.priority, now);
    const delay = options.delay ?? 0;
    if (delay > 0) {
      job.more.delay = delay;
      // Held here until the queue puts the job in its table as delayed until then.
      job.dueAt = now + delay;
    }
    if (options.id !== undefined) job.more.dedupeId = options.id;
    if (options.group !== undefined) job.more.group = options.group;
    return job;
  }

  private configFor(options: AddOptions): JobConfig {
    const { attempts, ttr, timeout, ttl } = options;
    const shared = this.shared;
    if (attempts === undefined && ttr === undefined && timeout === undefined && ttl === undefined) return shared;
    const maxAttempts = attempts ?? shared.maxAttempts;
    const last = this.lastOverride;
    // Producers that override settings mostly override them alike (a socket client sends a
    // ttr with every put): those jobs share one config instead of one each.
    if (
      last.maxAttempts === maxAttempts &&
      last.ttr === (ttr ?? shared.ttr) &&
      last.timeout === (timeout ?? shared.timeout) &&
      last.ttl === (ttl ?? shared.ttl)
    ) {
      return last;
    }
    return (this.lastOverride = {
      queueName: shared.queueName,
      epoch: shared.epoch,
      maxAttempts,
      ttr: ttr ?? shared.ttr,
      timeout: timeout ?? shared.timeout,
      ttl: ttl ?? shared.ttl,
    });
  }
}
