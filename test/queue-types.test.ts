// Compile-time checks of the public types: `npm test` runs tsc over this file first, so a
// regression (an `any` leaking out, an event with the wrong arguments) fails the build.
import { describe, expectTypeOf, it } from 'vitest';
import type { DeadReason, Job, JobContext, QueueStats, ReservedJob } from '../src/index.js';
import { Queue } from '../src/index.js';

interface Email {
  to: string;
}

describe('public types', () => {
  it('carry the payload type through jobs, leases and events', () => {
    const q = new Queue<Email>();
    expectTypeOf(q.add).parameter(0).toEqualTypeOf<Email>();
    expectTypeOf(q.add({ to: 'a' })).resolves.toEqualTypeOf<Job<Email>>();
    expectTypeOf(q.reserve()).resolves.toEqualTypeOf<ReservedJob<Email> | undefined>();
    expectTypeOf<ReservedJob<Email>['data']>().toEqualTypeOf<Email>();
    expectTypeOf(q.stats()).toEqualTypeOf<QueueStats>();
    q.on('dead', (job, reason) => {
      expectTypeOf(job).toEqualTypeOf<Job<Email>>();
      expectTypeOf(reason).toEqualTypeOf<DeadReason>();
    });
    q.on('completed', (job, result) => {
      expectTypeOf(job.data).toEqualTypeOf<Email>();
      expectTypeOf(result).toBeUnknown();
    });
    q.on('retrying', (_job, error, delay) => {
      expectTypeOf(error).toEqualTypeOf<Error>();
      expectTypeOf(delay).toBeNumber();
    });
    // @ts-expect-error: not an event of the queue
    q.on('finished', () => undefined);
    // @ts-expect-error: the payload type is enforced
    void q.add({ to: 1 });
    q.process(async (job, ctx) => {
      expectTypeOf(job.data).toEqualTypeOf<Email>();
      expectTypeOf(ctx).toEqualTypeOf<JobContext>();
      expectTypeOf(ctx.signal).toEqualTypeOf<AbortSignal>();
    });
    void q.close();
  });

  it('keep jobs read-only to callers', () => {
    const job = {} as Job<Email>;
    // @ts-expect-error: state changes go through the queue
    job.state = 'ready';
    // @ts-expect-error: so does the priority
    job.priority = 1;
  });
});
