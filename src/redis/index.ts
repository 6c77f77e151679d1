// 'docket/redis': the queue contract on Redis. An explicit list, no `export *`.

export { openRedisQueue } from './open.js';
export { RedisQueue } from './queue.js';
export type { AddedRedisJob, RedisQueueLocalEvents } from './queue.js';
export { RedisJob } from './job.js';
export type { RedisReleaseOptions } from './job.js';
export { RedisDeadLetters } from './dead-letters.js';
export { MAX_REDIS_CONCURRENCY } from './options.js';
export type { RedisQueueOptions, RedisAddOptions, RedisConnectionOptions } from './options.js';
export type { RedisJobInfo, RedisQueueStats, CompletedJob } from './replies.js';
export { RedisConnectionError, RedisReplyError } from './connection.js';
export type { RedisClientLike, RedisClusterLike } from './connection.js';
export { watchRedisQueue, RedisQueueEvents } from './events.js';
export type { RedisQueueEvent, RedisQueueEventMap, WatchOptions } from './events.js';
