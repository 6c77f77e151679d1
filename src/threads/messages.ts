import type { SerializedError } from '../errors.js';

/**
 * Kinds of message the main thread sends to a worker thread. Small integers keep the
 * structured clone of the envelope cheap on the hot path.
 */
export const ToWorker = {
  /** Run the module's default export on a payload. */
  Run: 1,
  /** Abort the task's `ctx.signal` (job timeout, lease loss, queue close). */
  Abort: 2,
} as const;
export type ToWorker = (typeof ToWorker)[keyof typeof ToWorker];

/** Kinds of message a worker thread sends to the main thread. */
export const FromWorker = {
  /** The worker module loaded; the thread survived start-up. */
  Ready: 11,
  /** A task returned (or resolved) a value. */
  Done: 12,
  /** A task threw (or rejected). */
  Failed: 13,
  /** A task called `ctx.progress(value)`. */
  Progress: 14,
} as const;
export type FromWorker = (typeof FromWorker)[keyof typeof FromWorker];

export interface RunMessage {
  k: typeof ToWorker.Run;
  /** Task id, unique within the pool. */
  id: number;
  /** The payload, structured-cloned (transferables moved when marked). */
  p: unknown;
}

export interface AbortMessage {
  k: typeof ToWorker.Abort;
  id: number;
  /** The abort reason, serialized so it survives the clone. */
  e: SerializedError;
}

export type MainToWorker = RunMessage | AbortMessage;

export interface ReadyMessage {
  k: typeof FromWorker.Ready;
}

export interface DoneMessage {
  k: typeof FromWorker.Done;
  id: number;
  /** The result. */
  r: unknown;
}

export interface FailedMessage {
  k: typeof FromWorker.Failed;
  id: number;
  e: SerializedError;
}

export interface ProgressMessage {
  k: typeof FromWorker.Progress;
  id: number;
  /** The progress value. */
  v: unknown;
}

export type WorkerToMain = ReadyMessage | DoneMessage | FailedMessage | ProgressMessage;

/**
 * What the pool bakes into each thread's bootstrap source: JSON, so it is known before the
 * thread can receive a message, and so the user's `workerData` stays the user's own.
 */
export interface BootstrapConfig {
  /** `file:` URL (or bare specifier) of the worker module. */
  moduleUrl: string;
  /** The kinds above, handed over as data: the bootstrap cannot import this module. */
  toWorker: typeof ToWorker;
  fromWorker: typeof FromWorker;
  /** `ErrorCode.NonError`, for values thrown that are not `Error`s. */
  nonErrorCode: string;
  /** `ErrorCode.RateLimited`: a `RateLimitError` crosses with its delay and scope. */
  rateLimitedCode: string;
}
