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

/**
 * The state after `event`, or an {@link InvalidStateError} naming both when the lifecycle
 * forbids it: the lifecycle as a table, (state, event) -> next state, anything absent
 * refused. Written as switches because every job change goes through it (two lookups in
 * nested records cost a measurable share of a no-op job).
 */
export function nextState(from: JobState | 'new', event: JobEvent): NextState {
  let to: NextState | undefined;
  switch (from) {
    case 'new':
      to = event === 'delay' ? 'delayed' : event === 'ready' ? 'ready' : event === 'bury' ? 'buried' : undefined;
      break;
    case 'delayed':
      to =
        event === 'ready' || event === 'kick'
          ? 'ready'
          : event === 'reserve'
            ? 'reserved'
            : event === 'bury'
              ? 'buried'
              : event === 'remove'
                ? 'done'
                : undefined;
      break;
    case 'ready':
      to = event === 'reserve' ? 'reserved' : event === 'bury' ? 'buried' : event === 'remove' ? 'done' : event === 'delay' ? 'delayed' : undefined;
      break;
    case 'reserved':
      to = event === 'ack' ? 'done' : event === 'release' ? 'ready' : event === 'delay' ? 'delayed' : event === 'bury' ? 'buried' : undefined;
      break;
    case 'buried':
      to = event === 'kick' ? 'ready' : event === 'reserve' ? 'reserved' : event === 'remove' ? 'done' : undefined;
      break;
  }
  if (to === undefined) throw new InvalidStateError(`a ${from} job cannot ${event}`);
  return to;
}
