export { Queue } from './queue.js';
export type {
  JobQueue,
  LeasedJob,
  JobView,
  JobHandler,
  LeaseContext,
  JobAddOptions,
  JobReleaseOptions,
  JobReserveOptions,
  JobQueueStats,
  JobQueueEvents,
  DeadLetterActions,
  Awaitable,
} from './contract.js';
export type { Handler, ClosableHandler } from './handler-slots.js';
export type { QueueStats } from './queue-stats.js';
export { ReservedJob } from './reserved-job.js';
export type { JobContext, ReleaseOptions } from './reserved-job.js';
export type { Job, JobSnapshot, AttemptError } from './job.js';
export { JobState, DeadReason } from './lifecycle.js';
export { DeadLetters } from './dead-letter.js';
export type { QueueEvents } from './events.js';
export type { ScheduleOptions, ScheduleInfo } from './schedules.js';
export type { ScheduleRule, RuleSpec, CronRuleFactory } from './schedule-slots.js';
export type { QueueOptions, AddOptions, RetryOptions, DeadLetterOptions, ReserveOptions, CloseOptions } from './options.js';
export type { RateLimit } from './rate-limiter.js';
export type { GroupStats } from './group-dispatch.js';
export { DEFAULTS, DEFAULT_PRIORITY, MAX_PRIORITY } from './options.js';
export type { Backoff, BackoffStrategy, BackoffFunction } from './retry.js';
export { nextDelay } from './retry.js';
export type { Store, JobChange, ChangeType } from './store.js';
export type { Clock, TimerHandle } from './clock.js';
export { systemClock, ManualClock } from './clock.js';
export type { Codec } from './codec.js';
export { jsonCodec, rawCodec, textCodec } from './codec.js';
export type { Percentiles } from './latency.js';
export {
  DocketError,
  ErrorCode,
  QueueClosedError,
  QueueFullError,
  JobTimeoutError,
  LeaseExpiredError,
  InvalidOptionError,
  JobNotFoundError,
  InvalidStateError,
  WorkerCrashedError,
  StoreFailedError,
  JournalLockedError,
  NonErrorThrownError,
  UnrecoverableError,
  RateLimitError,
  serializeError,
  deserializeError,
} from './errors.js';
export type { SerializedError, RateLimitScope } from './errors.js';
