// docket/threads: the worker-thread handler pool. An explicit list, no `export *`.
export { threads } from './handler.js';
export type { ThreadsHandler, ThreadJob, ThreadJobContext } from './handler.js';
export { ThreadPool } from './pool.js';
export type { RunOptions, ThreadPoolStats, ModuleSpecifier } from './pool.js';
export type { ThreadsOptions, ResolvedThreadsOptions } from './options.js';
export { transfer, isTransfer } from './transfer.js';
export type { Transfer, Untransfer } from './transfer.js';
export type { WorkerContext, WorkerHandler } from './worker.js';
