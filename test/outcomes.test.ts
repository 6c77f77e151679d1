// The outcome policy on its own: what follows a failed attempt, a release, a bury and a
// redrive, without a queue, a clock or timers around it.
import { describe, expect, it } from 'vitest';
import { UnrecoverableError } from '../src/errors.js';
import { JobRecord } from '../src/job.js';
import { afterFailure, afterRelease, type OutcomeHost, Outcomes, type RetryPolicy } from '../src/outcomes.js';
import { type DeadReason, type JobEvent, nextState } from '../src/lifecycle.js';

const config = { queueName: 'q', epoch: 0, maxAttempts: 3, ttr: 1_000, timeout: Infinity, ttl: Infinity };
const noRetryIf: RetryPolicy<string> = { backoff: 0, retryIf: undefined, random: () => 0.5 };
const noReport = (error: Error) => {
  throw error;
};

/** A reserved job on its `attempt`-th attempt. */
function reserved(attempt: number, maxAttempts = 3): JobRecord<string> {
  const job = new JobRecord(1, 'payload', { ...config, maxAttempts }, 1024, 0);
  job.state = 'reserved';
  job.attemptsMade = attempt;
  return job;
}

/** A host that applies the lifecycle and records what happened. */
function recordingHost() {
  const log: string[] = [];
  const reported: Error[] = [];
  const host: OutcomeHost<string> = {
    now: () => 5_000,
    move(job, event: JobEvent, dueAt?: number) {
      const next = nextState(job.state, event);
      log.push(dueAt === undefined ? `${event}` : `${event}@${dueAt}`);
      if (next !== 'done') job.state = next;
    },
    failed: (_job, error) => log.push(`failed:${error.message}`),
    retrying: (_job, _error, delay) => log.push(`retrying:${delay}`),
    dead: (_job, reason: DeadReason) => log.push(`dead:${reason}`),
    report: (error) => reported.push(error),
  };
  return { host, log, reported };
}

describe('afterFailure', () => {
  it('retries while attempts remain, after the backoff for that attempt', () => {
    const policy: RetryPolicy<string> = { backoff: { type: 'exponential', delay: 100 }, retryIf: undefined, random: () => 0.5 };
    expect(afterFailure(reserved(1), new Error('x'), 'failed', policy, noReport)).toEqual({ retry: true, delay: 100 });
    expect(afterFailure(reserved(2), new Error('x'), 'failed', policy, noReport)).toEqual({ retry: true, delay: 200 });
  });

  it('buries on the last attempt, for the kind of failure', () => {
    for (const kind of ['failed', 'timeout', 'lease-expired'] as const) {
      expect(afterFailure(reserved(3), new Error('x'), kind, noRetryIf, noReport)).toEqual({ retry: false, reason: kind });
    }
  });

  it('buries an UnrecoverableError (or a subclass) at once, without asking retryIf', () => {
    class BadInput extends UnrecoverableError {}
    let asked = 0;
    const policy: RetryPolicy<string> = { backoff: 0, random: Math.random, retryIf: () => (asked++, true) };
    expect(afterFailure(reserved(1), new BadInput('bad'), 'failed', policy, noReport)).toEqual({ retry: false, reason: 'unrecoverable' });
    expect(asked).toBe(0);
  });

  it('asks retryIf with the error and the job; no means unrecoverable, a throw is reported and means no', () => {
    const seen: Array<[string, number]> = [];
    const no: RetryPolicy<string> = { backoff: 0, random: Math.random, retryIf: (error, job) => (seen.push([error.message, job.attemptsMade]), false) };
    expect(afterFailure(reserved(1), new Error('404'), 'failed', no, noReport)).toEqual({ retry: false, reason: 'unrecoverable' });
    expect(seen).toEqual([['404', 1]]);

    const reported: Error[] = [];
    const throwing: RetryPolicy<string> = {
      backoff: 0,
      random: Math.random,
      retryIf: () => {
        throw new Error('retryIf broke');
      },
    };
    expect(afterFailure(reserved(1), new Error('x'), 'failed', throwing, (e) => reported.push(e))).toEqual({ retry: false, reason: 'unrecoverable' });
    expect(reported.map((e) => e.message)).toEqual(['retryIf broke']);
  });

  it('draws jitter from the injected random', () => {
    const policy: RetryPolicy<string> = { backoff: { type: 'fixed', delay: 1_000, jitter: true }, retryIf: undefined, random: () => 0.25 };
    expect(afterFailure(reserved(1), new Error('x'), 'failed', policy, noReport)).toEqual({ retry: true, delay: 250 });
  });
});

describe('afterRelease', () => {
  it('refunds an uncounted release, buries a counted one that used the last attempt', () => {
    expect(afterRelease(reserved(3), false)).toBe('refund');
    expect(afterRelease(reserved(2), true)).toBe('requeue');
    expect(afterRelease(reserved(3), true)).toBe('bury');
  });
});

describe('Outcomes', () => {
  const options = { ...noRetryIf, onDead: undefined, deadLetterQueue: undefined };

  it('records each failed attempt on the job, then retries with a delay', () => {
    const { host, log } = recordingHost();
    const outcomes = new Outcomes(host, { ...options, backoff: 300 });
    const job = reserved(1);
    const error = Object.assign(new Error('503'), { code: 'E503' });
    outcomes.attemptFailed(job, error, 'failed');
    expect(log).toEqual(['failed:503', 'delay@5300', 'retrying:300']);
    expect(job.state).toBe('delayed');
    expect(job.delay).toBe(300);
    expect(job.errors).toEqual([expect.objectContaining({ attempt: 1, name: 'Error', message: '503', code: 'E503', at: 5_000 })]);
  });

  it('a retry without backoff is ready at once and clears the delay shown', () => {
    const { host, log } = recordingHost();
    const job = reserved(1);
    job.more.delay = 700; // a delay from an earlier attempt
    new Outcomes(host, options).attemptFailed(job, new Error('x'), 'failed');
    expect(log).toEqual(['failed:x', 'release', 'retrying:0']);
    expect(job.delay).toBe(0);
  });

  it('buries on the last attempt and calls onDead once; a throwing onDead is reported, the job stays buried', () => {
    const { host, log, reported } = recordingHost();
    const dead: number[] = [];
    const outcomes = new Outcomes(host, {
      ...options,
      onDead: (job) => {
        dead.push(job.id);
        throw new Error('onDead broke');
      },
    });
    const job = reserved(3);
    outcomes.attemptFailed(job, new Error('x'), 'timeout');
    expect(log).toEqual(['failed:x', 'bury', 'dead:timeout']);
    expect(job.state).toBe('buried');
    expect(job.deadReason).toBe('timeout');
    expect(job.buries).toBe(1);
    expect(job.finishedOn).toBe(5_000);
    expect(dead).toEqual([1]);
    expect(reported.map((e) => e.message)).toEqual(['onDead broke']);
  });

  it('a counted release uses an attempt (buried as released after the last); an uncounted one gives it back', () => {
    const { host, log } = recordingHost();
    const outcomes = new Outcomes(host, options);
    const last = reserved(3);
    outcomes.giveBack(last, { priority: 7 });
    expect([last.state, last.deadReason, last.releases, last.priority]).toEqual(['buried', 'released', 1, 7]);

    const refunded = reserved(3);
    outcomes.giveBack(refunded, { countAttempt: false, delay: 50 });
    expect([refunded.state, refunded.attemptsMade, refunded.reserves, refunded.releases]).toEqual(['delayed', 2, 3, 0]);
    expect(log).toEqual(['bury', 'dead:released', 'delay@5050']);
  });

  it('moves dead letters to the dead-letter queue with payload and priority, but keeps a manual bury here', () => {
    const { host, log } = recordingHost();
    const moved: Array<[string, number]> = [];
    const deadLetterQueue = { add: (data: string, o: { priority: number }) => (moved.push([data, o.priority]), Promise.resolve()) };
    const outcomes = new Outcomes(host, { ...options, deadLetterQueue });
    outcomes.attemptFailed(reserved(3), new Error('x'), 'failed');
    outcomes.bury(reserved(1), 'manual');
    expect(moved).toEqual([['payload', 1024]]);
    expect(log).toEqual(['failed:x', 'bury', 'dead:failed', 'remove', 'bury', 'dead:manual']);
  });

  it('a redrive restores the attempt budget; reserves keeps counting every delivery', () => {
    const { host } = recordingHost();
    const outcomes = new Outcomes(host, options);
    const job = reserved(3);
    outcomes.attemptFailed(job, new Error('x'), 'failed');
    outcomes.kick(job);
    expect([job.state, job.attemptsMade, job.reserves, job.deadReason, job.finishedOn, job.kicks]).toEqual(['ready', 0, 3, undefined, undefined, 1]);
    expect(job.errors).toHaveLength(1); // the history stays
  });
});
