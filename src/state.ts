import { InvalidStateError } from './errors.js';

/** The four states of a live job, named as in beanstalkd. */
export const JobState = {
  Delayed: 'delayed',
  Ready: 'ready',
  Reserved: 'reserved',
  Buried: 'buried',
} as const;
export type JobState = (typeof JobState)[keyof typeof JobState];

/** Why a job was buried (became a dead letter). */
export const DeadReason = {
  /** Its attempts ran out on failures. */
  Failed: 'failed',
  /** It threw `UnrecoverableError`, or `retryIf` said no. */
  Unrecoverable: 'unrecoverable',
  /** Its last lease ran out unacknowledged. */
  LeaseExpired: 'lease-expired',
  /** Its last attempt ran past `timeout`. */
  Timeout: 'timeout',
  /** It waited past its `ttl` before it started. */
  Expired: 'expired',
  /** Buried on purpose (`job.bury()`, the protocol's `bury`). */
  Manual: 'manual',
  /** Released once more than its attempts allow. */
  Released: 'released',
} as const;
export type DeadReason = (typeof DeadReason)[keyof typeof DeadReason];

/** Everything that moves a job, as data. */
export const JobEvent = {
  Delay: 'delay',
  Ready: 'ready',
  Reserve: 'reserve',
  Release: 'release',
  Bury: 'bury',
  Kick: 'kick',
  Ack: 'ack',
  Remove: 'remove',
} as const;
export type JobEvent = (typeof JobEvent)[keyof typeof JobEvent];

/** `done` means the job leaves the queue. */
export type NextState = JobState | 'done';

// The job lifecycle as a table: (state, event) -> next state. Anything absent is refused.
const transitions: Record<JobState | 'new', Partial<Record<JobEvent, NextState>>> = {
  new: { delay: 'delayed', ready: 'ready', bury: 'buried' },
  delayed: { ready: 'ready', kick: 'ready', reserve: 'reserved', bury: 'buried', remove: 'done' },
  ready: { reserve: 'reserved', bury: 'buried', remove: 'done', delay: 'delayed' },
  reserved: { release: 'ready', delay: 'delayed', bury: 'buried', ack: 'done' },
  buried: { kick: 'ready', reserve: 'reserved', remove: 'done' },
};

/** The state after `event`, or an {@link InvalidStateError} naming both when the lifecycle forbids it. */
export function nextState(from: JobState | 'new', event: JobEvent): NextState {
  const to = transitions[from][event];
  if (to === undefined) throw new InvalidStateError(`a ${from} job cannot ${event}`);
  return to;
}
