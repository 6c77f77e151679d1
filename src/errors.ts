/**
 * Stable error codes. Branch on these (or on `instanceof`), never on message text.
 */
export const ErrorCode = {
  QueueClosed: 'DOCKET_QUEUE_CLOSED',
  QueueFull: 'DOCKET_QUEUE_FULL',
  JobTimeout: 'DOCKET_JOB_TIMEOUT',
  LeaseExpired: 'DOCKET_LEASE_EXPIRED',
  InvalidOption: 'DOCKET_INVALID_OPTION',
  Unrecoverable: 'DOCKET_UNRECOVERABLE',
  JobNotFound: 'DOCKET_JOB_NOT_FOUND',
  InvalidState: 'DOCKET_INVALID_STATE',
  WorkerCrashed: 'DOCKET_WORKER_CRASHED',
  StoreFailed: 'DOCKET_STORE_FAILED',
  /** docket/journal: another live process (or another open queue of this one) has the journal open. */
  JournalLocked: 'DOCKET_JOURNAL_LOCKED',
  NonError: 'DOCKET_NON_ERROR',
  /** Thrown by a handler: an upstream asked to slow down; the job goes back without using an attempt. */
  RateLimited: 'DOCKET_RATE_LIMITED',
  /** docket/socket: a reply or byte stream that is not the beanstalkd protocol. */
  Protocol: 'DOCKET_PROTOCOL',
  /** docket/socket: the connection failed or dropped before an answer. */
  Connection: 'DOCKET_CONNECTION',
} as const;
export type ErrorCode = (typeof ErrorCode)[keyof typeof ErrorCode];

// A brand shared through the global symbol registry, so `instanceof` keeps working when
// two copies of docket (ESM and CJS, or two versions) meet in one process.
const brand = Symbol.for('docket.error');

/** Base class of every error docket throws. */
export class DocketError extends Error {
  /** Stable machine-readable code, e.g. `'DOCKET_QUEUE_CLOSED'`. */
  readonly code: ErrorCode;

  constructor(code: ErrorCode, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.code = code;
    this.name = new.target.name;
  }

  get [brand](): true {
    return true;
  }

  static override [Symbol.hasInstance](value: unknown): boolean {
    if (typeof value !== 'object' || value === null || (value as Record<symbol, unknown>)[brand] !== true) return false;
    // Subclasses carry a static `code`; the base class matches every docket error.
    // biome-ignore lint/complexity/noThisInStatic: `this` is the class `instanceof` was asked about, a subclass included
    const code = (this as { code?: string }).code;
    return code === undefined || (value as DocketError).code === code;
  }
}

function defineError<C extends ErrorCode>(code: C, name: string) {
  const Class = class extends DocketError {
    static readonly code: C = code;
    constructor(message: string, options?: { cause?: unknown }) {
      super(code, message, options);
    }
  };
  Object.defineProperty(Class, 'name', { value: name });
  return Class;
}

/** `add` or `reserve` on a queue that is closing or closed. */
export class QueueClosedError extends defineError(ErrorCode.QueueClosed, 'QueueClosedError') {}
/** The queue is at `maxSize` and the producer asked not to wait. */
export class QueueFullError extends defineError(ErrorCode.QueueFull, 'QueueFullError') {}
/** An attempt ran past its `timeout`. */
export class JobTimeoutError extends defineError(ErrorCode.JobTimeout, 'JobTimeoutError') {}
/** The lease (TTR) ran out, or the job was already settled, before this call. */
export class LeaseExpiredError extends defineError(ErrorCode.LeaseExpired, 'LeaseExpiredError') {}
/** An option or argument is out of range; the message names it and echoes the value. */
export class InvalidOptionError extends defineError(ErrorCode.InvalidOption, 'InvalidOptionError') {}
/** No job with that id in this queue. */
export class JobNotFoundError extends defineError(ErrorCode.JobNotFound, 'JobNotFoundError') {}
/** The job exists but is not in a state that allows the operation. */
export class InvalidStateError extends defineError(ErrorCode.InvalidState, 'InvalidStateError') {}
/** The worker thread running an attempt crashed, exited or was terminated. */
export class WorkerCrashedError extends defineError(ErrorCode.WorkerCrashed, 'WorkerCrashedError') {}
/** The queue's store (journal) failed; the queue refuses new work (fail closed). */
export class StoreFailedError extends defineError(ErrorCode.StoreFailed, 'StoreFailedError') {}
/**
 * docket/journal: the journal is already open, in another live process or in this one
 * (its lock file names the owner's pid). One process per journal: two writers would
 * interleave their records.
 */
export class JournalLockedError extends defineError(ErrorCode.JournalLocked, 'JournalLockedError') {}
/** Wraps a non-Error value that a handler threw or rejected with; the value is `cause`. */
export class NonErrorThrownError extends defineError(ErrorCode.NonError, 'NonErrorThrownError') {}

/**
 * Throw (or reject with) this from a handler to skip the remaining attempts: the job goes
 * straight to the dead letters with reason `'unrecoverable'`.
 */
export class UnrecoverableError extends defineError(ErrorCode.Unrecoverable, 'UnrecoverableError') {}

/** Who waits after a {@link RateLimitError} or `rateLimit(ms)`: the job's group, or the whole queue. */
export type RateLimitScope = 'group' | 'queue';

/**
 * Throw (or reject with) this from a handler when an upstream says "too many requests":
 * the job goes back to the queue without using an attempt, and its group (or, for a job
 * without a group or with `scope: 'queue'`, the whole queue) starts nothing for `delay`
 * ms. The same as calling `job.rateLimit(delay)`.
 * @example
 * ```ts
 * if (response.status === 429) throw new RateLimitError(Number(response.headers.get('retry-after')) * 1000);
 * ```
 */
export class RateLimitError extends DocketError {
  static readonly code = ErrorCode.RateLimited;
  /** Ms the group (or queue) waits before it starts more jobs. */
  readonly delay: number;
  /** Who waits; `undefined`: the job's group if it has one, else the queue. */
  readonly scope: RateLimitScope | undefined;

  constructor(delay: number, options: { scope?: RateLimitScope; cause?: unknown } = {}) {
    super(ErrorCode.RateLimited, `rate limited: wait ${delay} ms before starting more jobs`, options);
    this.delay = delay;
    this.scope = options.scope;
  }
}

const classesByCode: Record<string, new (message: string, options?: { cause?: unknown }) => DocketError> = {
  [ErrorCode.QueueClosed]: QueueClosedError,
  [ErrorCode.QueueFull]: QueueFullError,
  [ErrorCode.JobTimeout]: JobTimeoutError,
  [ErrorCode.LeaseExpired]: LeaseExpiredError,
  [ErrorCode.InvalidOption]: InvalidOptionError,
  [ErrorCode.Unrecoverable]: UnrecoverableError,
  [ErrorCode.JobNotFound]: JobNotFoundError,
  [ErrorCode.InvalidState]: InvalidStateError,
  [ErrorCode.WorkerCrashed]: WorkerCrashedError,
  [ErrorCode.StoreFailed]: StoreFailedError,
  [ErrorCode.JournalLocked]: JournalLockedError,
  [ErrorCode.NonError]: NonErrorThrownError,
};

/** The plain shape an error takes to cross a thread, process or disk boundary. */
export interface SerializedError {
  name: string;
  message: string;
  stack?: string;
  code?: string;
  /** A {@link RateLimitError}'s `delay` (ms): it is rebuilt as one, and still holds its group or queue. */
  delay?: number;
  /** A {@link RateLimitError}'s `scope`, when it has one. */
  scope?: RateLimitScope;
}

/** Turns anything thrown into a plain, cloneable record. */
export function serializeError(error: unknown): SerializedError {
  if (error instanceof Error) {
    const code = (error as { code?: unknown }).code;
    const out: SerializedError = { name: error.name, message: error.message };
    if (error.stack !== undefined) out.stack = error.stack;
    if (typeof code === 'string') out.code = code;
    if (error instanceof RateLimitError) {
      out.delay = error.delay;
      if (error.scope !== undefined) out.scope = error.scope;
    }
    return out;
  }
  return { name: 'NonErrorThrownError', message: describeNonError(error), code: ErrorCode.NonError };
}

/**
 * Rebuilds an error from its serialized form: docket's own codes come back as their
 * classes (so `UnrecoverableError` still skips retries, and a `RateLimitError` with its
 * delay still holds its group), anything else as an `Error` with the original name,
 * message and stack.
 */
export function deserializeError(data: SerializedError): Error {
  if (data.code === ErrorCode.RateLimited && typeof data.delay === 'number') {
    const limited = new RateLimitError(data.delay, data.scope === undefined ? {} : { scope: data.scope });
    if (data.stack !== undefined) limited.stack = data.stack;
    return limited;
  }
  const Class = data.code === undefined ? undefined : classesByCode[data.code];
  const error = Class === undefined ? new Error(data.message) : new Class(data.message);
  if (Class === undefined) {
    error.name = data.name;
    if (data.code !== undefined) (error as Error & { code?: string }).code = data.code;
  }
  if (data.stack !== undefined) error.stack = data.stack;
  return error;
}

/** Wraps non-Error throwables so that every failure carries a message and a stack. */
export function toError(thrown: unknown): Error {
  if (thrown instanceof Error) return thrown;
  return new NonErrorThrownError(describeNonError(thrown), { cause: thrown });
}

function describeNonError(value: unknown): string {
  let text: string;
  try {
    text = typeof value === 'string' ? value : (JSON.stringify(value) ?? String(value));
  } catch {
    text = Object.prototype.toString.call(value);
  }
  return `non-Error thrown: ${text.length > 200 ? `${text.slice(0, 200)}…` : text}`;
}
