import { afterEach, describe, expect, it } from 'vitest';
import { ManualClock } from '../src/clock.js';
import { LeaseExpiredError } from '../src/errors.js';
import { Queue } from '../src/queue.js';
import { flush } from './helpers/flush.js';

const queues: Queue<string>[] = [];
afterEach(async () => {
  for (const q of queues.splice(0)) await q.close({ timeout: 0 });
});

function setup(options: { ttr?: number; attempts?: number } = {}) {
  const clock = new ManualClock(10_000);
  const q = new Queue<string>({ clock, ttr: options.ttr ?? 1_000, retry: { attempts: options.attempts ?? 3 } });
  queues.push(q);
  const events = { completed: 0, failed: [] as Error[], dead: [] as string[] };
  q.on('completed', () => events.completed++);
  q.on('failed', (_job, error) => events.failed.push(error));
  q.on('dead', (_job, reason) => events.dead.push(reason));
  return { clock, q, events };
}

describe('queue leases (pull consumers)', () => {
  it('redelivers a job whose lease ran out and refuses the late ack', async () => {
    const { clock, q, events } = setup();
    const added = await q.add('work');
    const first = q.tryReserve()!;
    expect(first.id).toBe(added.id);
    expect(first.deadline).toBe(11_000);
    expect(first.attemptsMade).toBe(1);

    clock.advance(999);
    expect(q.tryReserve()).toBeUndefined();
    expect(first.isCurrent).toBe(true);
    clock.advance(1);

    // The lease ran out: the attempt failed, the job is ready again, the old holder's signal aborted.
    expect(first.isCurrent).toBe(false);
    expect(first.signal.aborted).toBe(true);
    expect(events.failed).toHaveLength(1);
    expect(events.failed[0]).toBeInstanceOf(LeaseExpiredError);
    expect(added.timeouts).toBe(1);
    expect(q.stats().leaseTimeouts).toBe(1);

    const second = q.tryReserve()!;
    expect(second.id).toBe(added.id);
    expect(second.attemptsMade).toBe(2);

    await expect(first.ack()).rejects.toBeInstanceOf(LeaseExpiredError);
    await expect(first.release()).rejects.toBeInstanceOf(LeaseExpiredError);
    expect(() => first.touch()).toThrow(LeaseExpiredError);
    expect(added.state).toBe('reserved');

    await second.ack('done');
    expect(events.completed).toBe(1);
    await expect(second.ack()).rejects.toBeInstanceOf(LeaseExpiredError);
    expect(events.completed).toBe(1);
    expect(q.peek(added.id)).toBeUndefined();
  });

  it('a late ack after redelivery to another consumer does not complete the job twice', async () => {
    const { clock, q, events } = setup();
    await q.add('work');
    const first = await q.reserve();
    clock.advance(1_000);
    const second = await q.reserve({ timeout: 0 });
    expect(second?.id).toBe(first?.id);
    const late = first!.ack();
    const onTime = second!.ack();
    await expect(late).rejects.toMatchObject({ code: 'DOCKET_LEASE_EXPIRED' });
    await expect(onTime).resolves.toBeUndefined();
    expect(events.completed).toBe(1);
  });

  it('touch() renews the lease from now', async () => {
    const { clock, q, events } = setup();
    const job = await q.add('long');
    const lease = q.tryReserve()!;
    clock.advance(900);
    lease.touch();
    expect(lease.deadline).toBe(clock.now() + 1_000);
    clock.advance(900);
    expect(lease.isCurrent).toBe(true);
    lease.touch();
    clock.advance(999);
    expect(lease.isCurrent).toBe(true);
    expect(events.failed).toHaveLength(0);
    clock.advance(1);
    expect(lease.isCurrent).toBe(false);
    expect(job.state).toBe('ready');
    expect(events.failed).toHaveLength(1);
  });

  it('buries the job as lease-expired when the last attempt times out', async () => {
    const { clock, q, events } = setup({ attempts: 2 });
    const job = await q.add('x');
    q.tryReserve();
    clock.advance(1_000);
    q.tryReserve();
    clock.advance(1_000);
    expect(job.state).toBe('buried');
    expect(job.deadReason).toBe('lease-expired');
    expect(events.dead).toEqual(['lease-expired']);
    expect(job.errors.map((e) => [e.attempt, e.name])).toEqual([
      [1, 'LeaseExpiredError'],
      [2, 'LeaseExpiredError'],
    ]);
  });

  it('reserve({ ttr }) and add({ ttr }) set the lease length', async () => {
    const { clock, q } = setup({ ttr: 1_000 });
    await q.add('a', { ttr: 5_000 });
    await q.add('b');
    const a = q.tryReserve()!;
    const b = q.tryReserve({ ttr: 50 })!;
    expect(a.deadline).toBe(clock.now() + 5_000);
    expect(b.deadline).toBe(clock.now() + 50);
    clock.advance(50);
    expect(b.isCurrent).toBe(false);
    expect(a.isCurrent).toBe(true);
  });

  it('a waiting reserve() gets the job redelivered by lease expiry', async () => {
    const { clock, q } = setup();
    const job = await q.add('x');
    q.tryReserve();
    const waiting = q.reserve();
    clock.advance(1_000);
    await flush();
    const lease = await waiting;
    expect(lease?.id).toBe(job.id);
    expect(lease?.attemptsMade).toBe(2);
  });

  it('settled leases refuse every further call', async () => {
    const { q } = setup();
    await q.add('a');
    await q.add('b');
    await q.add('c');
    const a = q.tryReserve()!;
    const b = q.tryReserve()!;
    const c = q.tryReserve()!;
    await a.release();
    await b.bury();
    await c.fail(new Error('x'));
    for (const lease of [a, b, c]) {
      await expect(lease.ack()).rejects.toBeInstanceOf(LeaseExpiredError);
      await expect(lease.fail(new Error('y'))).rejects.toBeInstanceOf(LeaseExpiredError);
      await expect(lease.bury()).rejects.toBeInstanceOf(LeaseExpiredError);
      expect(() => lease.touch()).toThrow(LeaseExpiredError);
      expect(lease.signal.aborted).toBe(true);
    }
  });

  it('reserve({ timeout }) resolves undefined after the timeout, and at once on close', async () => {
    const { clock, q } = setup();
    const timed = q.reserve({ timeout: 500 });
    let settled = false;
    void timed.then(() => (settled = true));
    clock.advance(499);
    await flush();
    expect(settled).toBe(false);
    clock.advance(1);
    await expect(timed).resolves.toBeUndefined();
    const forever = q.reserve();
    await q.close({ timeout: 0 });
    await expect(forever).resolves.toBeUndefined();
  });

  it('reserve({ signal }) resolves undefined when aborted, and the job stays for the next consumer', async () => {
    const { clock, q } = setup();
    const controller = new AbortController();
    const waiting = q.reserve({ signal: controller.signal });
    controller.abort();
    await expect(waiting).resolves.toBeUndefined();
    expect(q.stats().waitingConsumers).toBe(0);
    const job = await q.add('x');
    expect(job.state).toBe('ready');
    const lease = await q.reserve({ signal: AbortSignal.abort() });
    expect(lease).toBeUndefined();
    expect(q.tryReserve()?.id).toBe(job.id);
    expect(clock.now()).toBe(10_000);
  });

  it('the lease signal aborts with LeaseExpiredError when the lease runs out', async () => {
    const { clock, q } = setup();
    await q.add('x');
    const lease = q.tryReserve()!;
    const signal = lease.signal;
    expect(signal.aborted).toBe(false);
    clock.advance(1_000);
    expect(signal.aborted).toBe(true);
    expect(signal.reason).toBeInstanceOf(LeaseExpiredError);
  });
});

describe('a waiting reserve with its own ttr', () => {
  it('gets a lease of that length when the job arrives later, and touch renews that length', async () => {
    const clock = new ManualClock();
    const q = new Queue<string>({ clock, ttr: 60_000, retry: { attempts: 2 } });
    const waiting = q.reserve({ ttr: 500 });
    await q.add('late');
    const lease = (await waiting)!;
    expect(lease.deadline).toBe(clock.now() + 500);
    clock.advance(300);
    lease.touch();
    expect(lease.deadline).toBe(clock.now() + 500);
    clock.advance(500);
    expect(lease.isCurrent).toBe(false);
    await q.close({ timeout: 0 });
  });
});
