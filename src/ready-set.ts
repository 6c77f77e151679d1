import { Heap } from './heap/heap.js';

/** What the ready set needs of a job. */
export interface ReadyItem {
  readonly id: number;
  readonly priority: number;
  /** Stamp of the item's live entry; 0 when it is not in the set. Owned by the set. */
  stamp: number;
}

/** Priorities below this count as "urgent" in beanstalkd's stats. */
export const URGENT_BELOW = 1024;

const MAX_IDLE_BUCKETS = 64;

interface OutOfOrder<J> {
  job: J;
  stamp: number;
}

/** The last ring id handed out; ring ids are negative, so they never equal a heap stamp. */
let lastRingId = 0;

/**
 * The jobs of one priority in id order. Ids only grow, so new jobs append to a ring in
 * O(1); the rare job that comes back with a smaller id than the ring's last (a release, a
 * kick, a due delay) goes into a small heap beside it.
 *
 * A job in the ring has the ring's id as its stamp: the ring keeps no stamps of its own.
 * That is enough to tell a live entry from a stale one, because a job enters a ring at
 * most once until the ring empties (only ids above the ring's last may enter), and a
 * stamp names one ring of one set. Heap entries carry their stamp, since a job may leave
 * and re-enter the heap many times.
 */
class Bucket<J extends ReadyItem> {
  jobs: (J | undefined)[] = new Array(8);
  head = 0;
  tail = 0;
  lastId = 0;
  live = 0;
  /** Position in the set's heap of priorities. */
  slot = -1;
  outOfOrder: Heap<OutOfOrder<J>> | undefined = undefined;
  /** The stamp of every job whose live entry is in this ring. */
  readonly ringId = --lastRingId;

  /** Its priority; an empty bucket may be given another (see `ReadySet.onlyFor`). */
  constructor(public priority: number) {}

  /** Adds a job; its new stamp is `stamp` if it goes to the heap. */
  add(job: J, stamp: number): void {
    this.live++;
    if (job.id > this.lastId) {
      if (this.tail - this.head === this.jobs.length) this.grow();
      this.jobs[this.tail & (this.jobs.length - 1)] = job;
      job.stamp = this.ringId;
      this.tail++;
      this.lastId = job.id;
    } else {
      job.stamp = stamp;
      (this.outOfOrder ??= new Heap()).push({ job, stamp }, job.id);
    }
  }

  /** Drops dead entries at the front of the ring and of the heap. */
  private settle(): void {
    const mask = this.jobs.length - 1;
    while (this.head !== this.tail) {
      const job = this.jobs[this.head & mask] as J;
      if (job.stamp === this.ringId) break;
      this.jobs[this.head & mask] = undefined;
      this.head++;
    }
    const heap = this.outOfOrder;
    if (heap !== undefined) {
      for (let top = heap.peek(); top !== undefined && top.job.stamp !== top.stamp; top = heap.peek()) heap.pop();
    }
  }

  peek(): J | undefined {
    this.settle();
    const ringJob = this.head === this.tail ? undefined : this.jobs[this.head & (this.jobs.length - 1)];
    const heapJob = this.outOfOrder?.peek()?.job;
    if (heapJob === undefined) return ringJob;
    return ringJob === undefined || heapJob.id < ringJob.id ? heapJob : ringJob;
  }

  /** Removes and returns the entry `peek()` found (call it right after `peek()`). */
  shift(job: J): void {
    const mask = this.jobs.length - 1;
    if (this.head !== this.tail && this.jobs[this.head & mask] === job) {
      this.jobs[this.head & mask] = undefined;
      this.head++;
    } else {
      this.outOfOrder?.pop();
    }
  }

  /** Forgets every (stale) entry, keeping the allocated ring for reuse. */
  reset(): void {
    const mask = this.jobs.length - 1;
    for (let i = this.head; i !== this.tail; i++) this.jobs[i & mask] = undefined;
    this.head = this.tail = 0;
    this.lastId = 0;
    this.outOfOrder = undefined;
  }

  private grow(): void {
    const size = this.tail - this.head;
    const mask = this.jobs.length - 1;
    const jobs: (J | undefined)[] = new Array(size * 2);
    for (let i = 0; i < size; i++) jobs[i] = this.jobs[(this.head + i) & mask];
    this.jobs = jobs;
    this.head = 0;
    this.tail = size;
  }
}

/** Keeps a bucket's heap position on it; one function for every set (a group has a set of its own). */
function trackBucket(bucket: { slot: number }, index: number): void {
  bucket.slot = index;
}

/**
 * Ready jobs in (priority, id) order: lowest priority first, then oldest. Buckets per
 * distinct priority under a small heap of priorities make the common case (few
 * priorities) O(1); removal of any job is O(1) by invalidating its stamp. While every
 * job has had one priority (most queues, and most groups: a group has a set of its own)
 * there is one bucket and neither the map of buckets nor the heap.
 */
export class ReadySet<J extends ReadyItem> {
  /** The one bucket, until a job of a second priority arrives. */
  private only: Bucket<J> | undefined = undefined;
  /** From then on: the buckets by priority, and the live ones by priority. */
  private buckets: Map<number, Bucket<J>> | undefined = undefined;
  private priorities: Heap<Bucket<J>> | undefined = undefined;
  private nextStamp = 1;
  /** Ready jobs. */
  size = 0;
  /** Ready jobs with priority below {@link URGENT_BELOW}. */
  urgent = 0;

  /** The bucket of the latest add: most adds go to the same priority as the one before. */
  private lastBucket: Bucket<J> | undefined = undefined;

  add(job: J): void {
    const bucket = this.priorities === undefined ? this.onlyFor(job.priority) : this.bucketFor(job.priority, this.priorities);
    bucket.add(job, this.nextStamp++);
    this.size++;
    if (job.priority < URGENT_BELOW) this.urgent++;
  }

  /** The next job, left in place. */
  peek(): J | undefined {
    return (this.priorities === undefined ? this.only : this.priorities.peek())?.peek();
  }

  /** Removes and returns the next job. */
  shift(): J | undefined {
    const bucket = this.priorities === undefined ? this.only : this.priorities.peek();
    const job = bucket?.peek();
    if (job === undefined) return undefined;
    (bucket as Bucket<J>).shift(job);
    this.forget(job, bucket as Bucket<J>);
    return job;
  }

  /** Removes a job that is in the set (its entry goes stale and is skipped later). */
  delete(job: J): void {
    if (job.stamp === 0) return;
    const bucket = this.buckets === undefined ? this.only : this.buckets.get(job.priority);
    if (bucket === undefined || bucket.priority !== job.priority) return;
    this.forget(job, bucket);
  }

  clear(): void {
    this.only = undefined;
    this.buckets = undefined;
    this.priorities = undefined;
    this.lastBucket = undefined;
    this.size = 0;
    this.urgent = 0;
  }

  /** The bucket for `priority` while there is at most one; switches to many at a second live priority. */
  private onlyFor(priority: number): Bucket<J> {
    const only = this.only;
    if (only === undefined) return (this.only = new Bucket(priority));
    if (only.priority === priority) return only;
    if (only.live === 0) {
      // Empty, and reset when it emptied: it may serve the new priority.
      only.priority = priority;
      return only;
    }
    this.only = undefined;
    this.buckets = new Map([[only.priority, only]]);
    const priorities = (this.priorities = new Heap<Bucket<J>>({ trackIndex: trackBucket }));
    priorities.push(only, only.priority);
    this.lastBucket = only;
    return this.bucketFor(priority, priorities);
  }

  private bucketFor(priority: number, priorities: Heap<Bucket<J>>): Bucket<J> {
    let bucket = this.lastBucket;
    if (bucket === undefined || bucket.priority !== priority) {
      const buckets = this.buckets as Map<number, Bucket<J>>;
      bucket = buckets.get(priority);
      if (bucket === undefined) {
        bucket = new Bucket(priority);
        buckets.set(priority, bucket);
      }
      this.lastBucket = bucket;
    }
    if (bucket.live === 0) priorities.push(bucket, priority);
    return bucket;
  }

  private forget(job: J, bucket: Bucket<J>): void {
    job.stamp = 0;
    this.size--;
    if (job.priority < URGENT_BELOW) this.urgent--;
    if (--bucket.live > 0) return;
    bucket.reset();
    const buckets = this.buckets;
    if (buckets === undefined) return;
    (this.priorities as Heap<Bucket<J>>).removeAt(bucket.slot);
    // Empty buckets are kept for reuse (a queue that keeps emptying would otherwise
    // allocate one per job), but not without bound when priorities are many.
    if (buckets.size > MAX_IDLE_BUCKETS) {
      buckets.delete(bucket.priority);
      if (this.lastBucket === bucket) this.lastBucket = undefined;
    }
  }
}
