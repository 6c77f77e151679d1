import type { GroupDispatch } from '../../src/group-dispatch.js';
import type { JobRecord } from '../../src/job.js';
import type { Queue } from '../../src/queue.js';
import type { ReservedJob } from '../../src/reserved-job.js';

/** Reserves until nothing more may start; returns the leases, in the order they came. */
export function reserveAll<T>(q: Queue<T>): ReservedJob<T>[] {
  const leases: ReservedJob<T>[] = [];
  for (let lease = q.tryReserve(); lease !== undefined; lease = q.tryReserve()) leases.push(lease);
  return leases;
}

/** The group entries a queue holds (internal): what its groups cost in memory. */
export function groupEntriesOf<T>(q: Queue<T>): number {
  return (q as unknown as { table: { groups: GroupDispatch<JobRecord<T>> } }).table.groups.entryCount;
}
