import { availableParallelism } from 'node:os';
import type { ResourceLimits } from 'node:worker_threads';
import { InvalidOptionError } from '../errors.js';

/** Options of {@link threads} and {@link ThreadPool}. All optional. */
export interface ThreadsOptions {
  /**
   * Most threads the pool runs at once. Threads start on demand.
   * @defaultValue `os.availableParallelism()`
   */
  size?: number;
  /**
   * Tasks one thread runs at the same time. Raise it for worker modules that mostly wait
   * (I/O, timers); leave it at 1 for CPU-bound work.
   * @defaultValue 1
   */
  concurrentPerThread?: number;
  /**
   * V8 heap limits of each thread. A thread that runs out dies with
   * `ERR_WORKER_OUT_OF_MEMORY`: its tasks fail with `WorkerCrashedError`.
   * @example `{ maxOldGenerationSizeMb: 64 }`
   */
  resourceLimits?: ResourceLimits;
  /**
   * The threads' `process.env`. `SHARE_ENV` (from `node:worker_threads`) shares the main
   * thread's.
   * @defaultValue a copy of the main thread's `process.env`
   */
  env?: NodeJS.Dict<string> | typeof import('node:worker_threads').SHARE_ENV;
  /** Cloned into each thread as `require('node:worker_threads').workerData`. */
  workerData?: unknown;
  /**
   * Node flags of each thread.
   * @defaultValue the main thread's `process.execArgv` (so `--import tsx` carries over)
   */
  execArgv?: string[];
  /**
   * Milliseconds a thread may sit idle before it is stopped; the next task starts a new
   * one. Idle threads never keep the process alive either way.
   * @defaultValue 30_000
   */
  idleTimeout?: number;
  /**
   * Milliseconds a task may keep running after its signal aborted (job timeout, lease
   * loss, close) before its thread is terminated and replaced. The task's promise rejects
   * at the abort itself; this only bounds how long the thread stays busy.
   * @defaultValue 1_000
   */
  abortGrace?: number;
}

/** {@link ThreadsOptions} with every default filled in. */
export interface ResolvedThreadsOptions {
  size: number;
  concurrentPerThread: number;
  resourceLimits: ResourceLimits | undefined;
  env: ThreadsOptions['env'];
  workerData: unknown;
  execArgv: string[] | undefined;
  idleTimeout: number;
  abortGrace: number;
}

export const DEFAULTS = {
  concurrentPerThread: 1,
  idleTimeout: 30_000,
  abortGrace: 1_000,
} as const;

/** Fills defaults in and validates, naming the option at fault. */
export function resolveOptions(options: ThreadsOptions = {}): ResolvedThreadsOptions {
  const size = options.size ?? availableParallelism();
  positiveInteger('size', size);
  const concurrentPerThread = options.concurrentPerThread ?? DEFAULTS.concurrentPerThread;
  positiveInteger('concurrentPerThread', concurrentPerThread);
  const idleTimeout = options.idleTimeout ?? DEFAULTS.idleTimeout;
  nonNegative('idleTimeout', idleTimeout);
  const abortGrace = options.abortGrace ?? DEFAULTS.abortGrace;
  nonNegative('abortGrace', abortGrace);
  if (options.resourceLimits !== undefined && (typeof options.resourceLimits !== 'object' || options.resourceLimits === null)) {
    throw new InvalidOptionError(`Expected \`resourceLimits\` to be an object, got \`${String(options.resourceLimits)}\``);
  }
  if (options.execArgv !== undefined && !Array.isArray(options.execArgv)) {
    throw new InvalidOptionError(`Expected \`execArgv\` to be an array of strings, got \`${String(options.execArgv)}\``);
  }
  return {
    size,
    concurrentPerThread,
    resourceLimits: options.resourceLimits,
    env: options.env,
    workerData: options.workerData,
    execArgv: options.execArgv,
    idleTimeout,
    abortGrace,
  };
}

function positiveInteger(name: string, value: unknown): void {
  if (typeof value !== 'number' || !Number.isInteger(value) || value < 1) {
    throw new InvalidOptionError(`Expected \`${name}\` to be a positive integer, got \`${String(value)}\` (${typeof value})`);
  }
}

function nonNegative(name: string, value: unknown): void {
  if (typeof value !== 'number' || Number.isNaN(value) || value < 0) {
    throw new InvalidOptionError(`Expected \`${name}\` to be a number >= 0, got \`${String(value)}\` (${typeof value})`);
  }
}
