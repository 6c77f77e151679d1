import { randomBytes } from 'node:crypto';
import os from 'node:os';
import type { Clock } from '../../clock.js';
import { type Codec, jsonCodec } from '../../codec.js';
import { QueueClosedError } from '../../errors.js';
import type { Job } from '../../job.js';
import type { QueueOptions } from '../../options.js';
import { Queue } from '../../queue.js';
import { DEFAULT_TUBE, Reply } from '../protocol.js';
import type { SessionHub, Tube, WaitingReserver } from './session-hub.js';
import { COMMAND_COUNTERS, type CountedCommand, type JobCounts, statsYaml, tubeStatsYaml } from './yaml-writer.js';

export type { Tube } from './session-hub.js';

/** How job bodies in tubes created on demand are kept: the bytes as they came. */
export const bytesCodec: Codec<unknown> = {
  encode(value) {
    if (value instanceof Uint8Array) return value;
    // Jobs added in-process to such a tube: text as UTF-8, anything else as JSON.
    if (typeof value === 'string') return Buffer.from(value, 'utf8');
    return jsonCodec.encode(value);
  },
  decode: (bytes) => bytes,
};

/** The hub's resolved options. */
export interface HubOptions {
  queues: ReadonlyMap<string, Queue<unknown>>;
  createQueue: ((name: string) => Queue<unknown> | undefined) | undefined;
  autoCreate: boolean;
  queueOptions: QueueOptions<unknown>;
  codec: Codec<unknown>;
  maxJobSize: number;
  maxTubes: number;
  clock: Clock;
}

const COUNTED = new Set<string>(COMMAND_COUNTERS);

function buriedCount(queue: Queue<unknown>): number {
  return queue.deadLetters.size;
}

/**
 * What all connections of one server share: the tubes, the reservers waiting for jobs
 * (served first come, first served), the global counters and the drain flag. No I/O.
 */
export class Hub implements SessionHub {
  readonly tubes = new Map<string, Tube>();
  readonly options: HubOptions;
  readonly clock: Clock;
  private readonly counts: Record<CountedCommand, number>;
  private draining = false;
  private connections = 0;
  private totalConnections = 0;
  private producers = 0;
  private workers = 0;
  private readonly waiters: WaitingReserver[] = [];
  private serveScheduled = false;
  private serving = false;
  private readonly startedAt: number;
  private readonly instanceId = randomBytes(8).toString('hex');
  // Counters of tubes that are gone, so that global totals never go down.
  private retiredTimeouts = 0;
  private retiredTotal = 0;
  private readonly serveBound = (): void => this.serve();
  /** Called with errors that have no other channel (a bug, a failing queue). */
  onError: (error: unknown) => void = () => {};

  constructor(options: HubOptions) {
    this.options = options;
    this.clock = options.clock;
    this.startedAt = options.clock.now();
    this.counts = Object.fromEntries(COMMAND_COUNTERS.map((name) => [name, 0])) as Record<CountedCommand, number>;
    for (const [name, queue] of options.queues) this.addTube(name, queue, options.codec, false, true);
    if (!this.tubes.has(DEFAULT_TUBE)) {
      const created = this.createQueue(DEFAULT_TUBE);
      this.addTube(DEFAULT_TUBE, created.queue, created.codec, true, true);
    }
  }

  get isDraining(): boolean {
    return this.draining;
  }

  /** Drain mode (beanstalkd's SIGUSR1): `put` answers DRAINING from now on. */
  drain(): void {
    this.draining = true;
  }

  // ── connections ─────────────────────────────────────────────────────────

  connected(): Tube {
    this.connections++;
    this.totalConnections++;
    const tube = this.tubes.get(DEFAULT_TUBE) as Tube;
    tube.using++;
    tube.watching++;
    return tube;
  }

  disconnected(used: Tube, watched: readonly Tube[], roles: { producer: boolean; worker: boolean }): void {
    used.using--;
    this.maybeDrop(used);
    for (const tube of watched) {
      tube.watching--;
      this.maybeDrop(tube);
    }
    this.connections--;
    if (roles.producer) this.producers--;
    if (roles.worker) this.workers--;
  }

  becameProducer(): void {
    this.producers++;
  }

  becameWorker(): void {
    this.workers++;
  }

  countCommand(name: string): void {
    if (COUNTED.has(name)) this.counts[name as CountedCommand]++;
  }

  // ── tubes ───────────────────────────────────────────────────────────────

  private createQueue(name: string): { queue: Queue<unknown>; codec: Codec<unknown> } {
    if (this.options.createQueue !== undefined) {
      const queue = this.options.createQueue(name);
      if (queue !== undefined) return { queue, codec: this.options.codec };
      throw new QueueClosedError(`tube ${name} refused`);
    }
    // As in beanstalkd: no attempt limit and no backoff unless the server's defaults say so.
    // The server's clock, so a tube's leases and the protocol's timers keep the same time.
    const defaults = this.options.queueOptions;
    const queue = new Queue<unknown>({ clock: this.clock, ...defaults, name, retry: { attempts: Infinity, ...defaults.retry } });
    return { queue, codec: bytesCodec };
  }

  private addTube(name: string, queue: Queue<unknown>, codec: Codec<unknown>, owned: boolean, permanent: boolean): Tube {
    const tube: Tube = {
      name,
      queue,
      codec,
      owned,
      permanent,
      using: 0,
      watching: 0,
      cmdDelete: 0,
      cmdPauseTube: 0,
      pauseSeconds: 0,
      pauseUntil: 0,
      pauseTimer: undefined,
      onReady: () => this.scheduleServe(),
    };
    queue.on('ready', tube.onReady);
    // A queue resumed in-process must wake the clients waiting in reserve.
    queue.on('resumed', tube.onReady);
    // So must a group's freed slot or an opened rate-limit window.
    queue.on('unblocked', tube.onReady);
    this.tubes.set(name, tube);
    return tube;
  }

  /**
   * The tube, created on first use when allowed; otherwise the reply: NOT_FOUND for a
   * name refused (autoCreate off, or the factory said no), OUT_OF_MEMORY at `maxTubes`.
   */
  tube(name: string): Tube | typeof Reply.NotFound | typeof Reply.OutOfMemory {
    const existing = this.tubes.get(name);
    if (existing !== undefined) return existing;
    if (!this.options.autoCreate) return Reply.NotFound;
    // Each tube is a queue (a few KB): without a bound, `watch` alone could exhaust memory.
    if (this.tubes.size >= this.options.maxTubes) {
      this.sweep();
      if (this.tubes.size >= this.options.maxTubes) return Reply.OutOfMemory;
    }
    let created: { queue: Queue<unknown>; codec: Codec<unknown> };
    try {
      created = this.createQueue(name);
    } catch (error) {
      if (!(error instanceof QueueClosedError)) this.onError(error);
      return Reply.NotFound;
    }
    return this.addTube(name, created.queue, created.codec, true, false);
  }

  existingTube(name: string): Tube | undefined {
    const tube = this.tubes.get(name);
    return tube === undefined || this.maybeDrop(tube) ? undefined : tube;
  }

  use(next: Tube, previous: Tube): void {
    next.using++;
    previous.using--;
    this.maybeDrop(previous);
  }

  watch(tube: Tube): void {
    tube.watching++;
  }

  ignore(tube: Tube): void {
    tube.watching--;
    this.maybeDrop(tube);
  }

  deleted(tube: Tube): void {
    tube.cmdDelete++;
    this.maybeDrop(tube);
  }

  /** Drops a tube that holds no job and that no connection uses or watches. */
  private maybeDrop(tube: Tube): boolean {
    if (tube.permanent || tube.using > 0 || tube.watching > 0 || this.tubes.get(tube.name) !== tube) return false;
    const queue = tube.queue;
    if (queue.size + queue.pending + buriedCount(queue) > 0) return false;
    this.dropTube(tube);
    return true;
  }

  private dropTube(tube: Tube): void {
    const stats = tube.queue.stats();
    this.retiredTimeouts += stats.leaseTimeouts;
    this.retiredTotal += stats.added;
    this.tubes.delete(tube.name);
    this.stopPause(tube);
    tube.queue.off('ready', tube.onReady);
    tube.queue.off('resumed', tube.onReady);
    tube.queue.off('unblocked', tube.onReady);
    if (tube.owned) tube.queue.close({ timeout: 0 }).catch((error: unknown) => this.onError(error));
  }

  /** Drops every droppable tube (before listing them). */
  private sweep(): void {
    for (const tube of [...this.tubes.values()]) this.maybeDrop(tube);
  }

  /** The tube holding job `id`, and the job. */
  findJob(id: number): { tube: Tube; job: Job<unknown> } | undefined {
    if (id <= 0) return undefined;
    for (const tube of this.tubes.values()) {
      const job = tube.queue.peek(id);
      if (job !== undefined) return { tube, job };
    }
    return undefined;
  }

  pause(tube: Tube, delaySeconds: number): void {
    tube.cmdPauseTube++;
    this.stopPause(tube);
    if (delaySeconds === 0) {
      tube.queue.resume();
      this.scheduleServe();
      return;
    }
    tube.pauseSeconds = delaySeconds;
    tube.pauseUntil = this.clock.now() + delaySeconds * 1000;
    tube.queue.pause();
    const end = (): void => {
      // Timers top out at about 24.8 days; a longer pause waits again.
      const left = tube.pauseUntil - this.clock.now();
      if (left > 0) {
        tube.pauseTimer = this.clock.setTimer(end, left);
        return;
      }
      tube.pauseTimer = undefined;
      tube.pauseSeconds = 0;
      tube.queue.resume();
      this.scheduleServe();
    };
    tube.pauseTimer = this.clock.setTimer(end, delaySeconds * 1000);
  }

  private stopPause(tube: Tube): void {
    if (tube.pauseTimer !== undefined) {
      this.clock.clearTimer(tube.pauseTimer);
      tube.pauseTimer = undefined;
      // Only undo a pause the protocol made.
      tube.queue.resume();
    }
    tube.pauseSeconds = 0;
  }

  // ── waiting reservers ───────────────────────────────────────────────────

  addWaiter(reserver: WaitingReserver): void {
    this.waiters.push(reserver);
  }

  removeWaiter(reserver: WaitingReserver): void {
    const at = this.waiters.indexOf(reserver);
    if (at >= 0) this.waiters.splice(at, 1);
  }

  get waiting(): number {
    return this.waiters.length;
  }

  private waitingOn(tube: Tube): number {
    let count = 0;
    for (const session of this.waiters) if (session.watches(tube)) count++;
    return count;
  }

  /**
   * A job became ready somewhere. Waiters are served in a microtask, never inside the
   * queue's own event (the queue is mid-change then).
   */
  private scheduleServe(): void {
    if (this.serveScheduled || this.waiters.length === 0) return;
    this.serveScheduled = true;
    queueMicrotask(this.serveBound);
  }

  /** Runs a pending serve now, so that a new reserve cannot overtake earlier waiters. */
  serveIfPending(): void {
    if (this.serveScheduled) this.serve();
  }

  private serve(): void {
    this.serveScheduled = false;
    if (this.serving) return;
    this.serving = true;
    try {
      // First come, first served: the oldest waiter that can take a job gets it.
      for (let i = 0; i < this.waiters.length; ) {
        const session = this.waiters[i];
        let delivered = false;
        try {
          delivered = session.tryDeliver();
        } catch (error) {
          // Runs in a microtask: a throw here would take the process down.
          this.onError(error);
        }
        if (delivered) {
          this.waiters.splice(i, 1);
          session.delivered();
        } else {
          i++;
        }
      }
    } finally {
      this.serving = false;
    }
  }

  // ── stats ───────────────────────────────────────────────────────────────

  statsYaml(): string {
    const jobs: JobCounts = { urgent: 0, ready: 0, reserved: 0, delayed: 0, buried: 0 };
    let jobTimeouts = this.retiredTimeouts;
    let totalJobs = this.retiredTotal;
    for (const tube of this.tubes.values()) {
      const s = tube.queue.stats();
      jobs.urgent += s.urgent;
      jobs.ready += s.ready;
      jobs.reserved += s.reserved;
      jobs.delayed += s.delayed;
      jobs.buried += s.buried;
      jobTimeouts += s.leaseTimeouts;
      totalJobs += s.added;
    }
    const usage = process.resourceUsage();
    return statsYaml({
      jobs,
      counts: this.counts,
      jobTimeouts,
      totalJobs,
      maxJobSize: this.options.maxJobSize,
      tubes: this.tubes.size,
      connections: this.connections,
      producers: this.producers,
      workers: this.workers,
      waiting: this.waiters.length,
      totalConnections: this.totalConnections,
      pid: process.pid,
      userCpuMicros: usage.userCPUTime,
      systemCpuMicros: usage.systemCPUTime,
      uptimeMs: this.clock.now() - this.startedAt,
      draining: this.draining,
      id: this.instanceId,
      hostname: os.hostname(),
      os: os.version(),
      platform: os.machine(),
    });
  }

  tubeStatsYaml(tube: Tube): string {
    const s = tube.queue.stats();
    const paused = tube.pauseTimer !== undefined;
    return tubeStatsYaml({
      name: tube.name,
      jobs: s,
      totalJobs: s.added,
      using: tube.using,
      watching: tube.watching,
      waiting: this.waitingOn(tube),
      cmdDelete: tube.cmdDelete,
      cmdPauseTube: tube.cmdPauseTube,
      pauseSeconds: paused ? tube.pauseSeconds : 0,
      pauseLeftMs: paused ? tube.pauseUntil - this.clock.now() : 0,
    });
  }

  tubeNames(): string[] {
    this.sweep();
    return [...this.tubes.keys()];
  }

  /** Stops serving: forgets every tube, closes the queues the server created. */
  async close(): Promise<void> {
    const closing: Promise<void>[] = [];
    for (const tube of this.tubes.values()) {
      this.stopPause(tube);
      tube.queue.off('ready', tube.onReady);
      tube.queue.off('resumed', tube.onReady);
      tube.queue.off('unblocked', tube.onReady);
      if (tube.owned) closing.push(tube.queue.close({ timeout: 0 }));
    }
    this.tubes.clear();
    this.waiters.length = 0;
    await Promise.all(closing);
  }
}
