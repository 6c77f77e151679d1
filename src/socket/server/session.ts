import type { TimerHandle } from '../../clock.js';
import { QueueClosedError, QueueFullError } from '../../errors.js';
import type { Job } from '../../job.js';
import type { ReservedJob } from '../../reserved-job.js';
import type { SessionHub, Tube, WaitingReserver } from './session-hub.js';
import { type Command, Reply, SAFETY_MARGIN_MS } from '../protocol.js';
import { jobStatsYaml, yamlList } from './yaml-writer.js';
import { PendingPuts } from './pending-puts.js';

/**
 * Where a session's replies go. The server batches them per connection; tests can
 * collect them in memory.
 */
export interface SessionTransport {
  /** Queues reply text (ASCII). */
  write(text: string): void;
  /** Queues raw bytes (a job body). */
  writeBytes(bytes: Uint8Array): void;
  /** Flushes what is queued, then closes the connection (quit, or a half-closed client). */
  end(): void;
  /** Every command received so far has run (the transport may read more). */
  caughtUp?(): void;
  /**
   * What is queued may go out now: every command so far is answered, or the rest waits
   * (for the queue, a job or the store). The session calls it after every reply it
   * queues, so a transport that holds replies back sends them here.
   */
  answered?(): void;
}

const ignoreReply = (): void => {};

/** A job a connection holds. */
interface Held {
  lease: ReservedJob<unknown>;
  tube: Tube;
}

/** Puts of one connection awaiting their store at once; past this the connection waits. */
const MAX_PUTS_IN_FLIGHT = 1024;

/**
 * One connection's protocol state: the tube it uses, the tubes it watches, the jobs it
 * holds, whether it waits in reserve. Executes commands strictly in order; a command that
 * waits (for the queue or for a job) holds back the ones behind it. No I/O: replies go to
 * the transport, time comes from the hub's clock.
 */
export class Session implements WaitingReserver {
  private readonly hub: SessionHub;
  private readonly transport: SessionTransport;
  private used: Tube;
  private readonly watched: Tube[] = [];
  /** Jobs this connection reserved, with their tube; leases that ended elsewhere are pruned lazily. */
  private readonly leases = new Map<number, Held>();
  private leasesAtPrune = 64;
  private inbox: Array<Command | undefined> = [];
  private head = 0;
  private busy = false;
  /**
   * Consecutive `put`s run without waiting for each other's store (so that a journal can
   * write them together); their replies go out in command order, as far as the store has
   * answered, and the commands behind them run once all are out.
   */
  private readonly puts = new PendingPuts(() => this.answerPuts());
  private waitTimeout: TimerHandle | undefined = undefined;
  private soonTimer: TimerHandle | undefined = undefined;
  private isWaiting = false;
  private paused = false;
  private ended = false;
  private closed = false;
  private producer = false;
  private worker = false;
  /** Clock time of the last command finished (for the idle timeout). */
  lastActive: number;
  private readonly replyBound = (text: string): void => void this.reply(text);
  private readonly putRefusedBound = (error: unknown): string => this.putRefused(error);
  private readonly resumeBound = (): void => {
    this.busy = false;
    this.lastActive = this.hub.clock.now();
    this.run();
  };

  constructor(hub: SessionHub, transport: SessionTransport) {
    this.hub = hub;
    this.transport = transport;
    const tube = hub.connected();
    this.used = tube;
    this.watched.push(tube);
    this.lastActive = hub.clock.now();
  }

  /** Commands received and not executed yet. */
  get backlog(): number {
    return this.inbox.length - this.head;
  }

  /** Whether the connection is quiet: nothing running, queued, awaited, or held. */
  get isIdle(): boolean {
    return !this.busy && this.puts.count === 0 && !this.isWaiting && this.backlog === 0 && this.heldJobs() === 0;
  }

  /** Whether it waits in reserve. */
  get isReserving(): boolean {
    return this.isWaiting;
  }

  get isClosed(): boolean {
    return this.closed;
  }

  watches(tube: Tube): boolean {
    return this.watched.includes(tube);
  }

  /** Takes the next parsed command. */
  receive(command: Command): void {
    if (this.closed) return;
    this.inbox.push(command);
    this.run();
  }

  /** Holds back execution while the connection's output is backed up (and resumes it). */
  setPaused(paused: boolean): void {
    this.paused = paused;
    if (!paused) this.run();
  }

  /** The client half-closed: finish what was sent, answer a waiting reserve TIMED_OUT, close. */
  endOfInput(): void {
    if (this.closed) return;
    this.ended = true;
    if (this.isWaiting) this.stopWaiting(Reply.TimedOut);
    else this.run();
  }

  /** The connection is gone: its reserved jobs go back at once, uncounted. */
  close(): void {
    if (this.closed) return;
    this.closed = true;
    this.inbox = [];
    this.head = 0;
    if (this.isWaiting) {
      this.clearWait();
      this.hub.removeWaiter(this);
    }
    for (const { lease } of this.leases.values()) {
      if (lease.isCurrent) lease.release({ countAttempt: false }).catch((error: unknown) => this.hub.onError(error));
    }
    this.leases.clear();
    this.hub.disconnected(this.used, this.watched, { producer: this.producer, worker: this.worker });
    this.watched.length = 0;
  }

  private run(): void {
    while (!this.busy && !this.isWaiting && !this.paused && !this.closed && this.head < this.inbox.length) {
      const command = this.inbox[this.head] as Command;
      // Anything else waits until the puts before it are answered (answerPuts runs it).
      if (this.puts.count > 0 && (command.name !== 'put' || this.puts.count >= MAX_PUTS_IN_FLIGHT)) break;
      this.inbox[this.head++] = undefined;
      let result: Promise<void> | undefined;
      try {
        if (command.name === 'put') {
          this.hub.countCommand('put');
          this.startPut(command.pri, command.delay, command.ttr, command.body);
          continue;
        }
        result = this.execute(command);
      } catch (error) {
        // A bug must not take the server down or desynchronize the client.
        this.hub.onError(error);
        this.reply(Reply.InternalError);
      }
      if (result !== undefined) {
        this.busy = true;
        result.then(this.resumeBound, this.resumeBound);
      } else {
        this.lastActive = this.hub.clock.now();
      }
    }
    if (this.head === this.inbox.length) {
      const hadBacklog = this.inbox.length > 0;
      this.inbox.length = 0;
      this.head = 0;
      if (hadBacklog && !this.closed) this.transport.caughtUp?.();
    } else if (this.head > 1024 && this.head * 2 > this.inbox.length) {
      this.inbox = this.inbox.slice(this.head);
      this.head = 0;
    }
    if (this.closed || this.busy || this.puts.count > 0) return;
    if (this.ended && !this.isWaiting && this.backlog === 0) this.transport.end();
    else this.transport.answered?.();
  }

  /** Runs a put; its reply waits for those of the puts before it. */
  private startPut(pri: number, delay: number, ttr: number, body: Uint8Array): void {
    const answer = this.put(pri, delay, ttr, body);
    if (answer === undefined) return;
    if (this.puts.count === 0) {
      this.reply(answer);
      this.lastActive = this.hub.clock.now();
      return;
    }
    // Refused at once, behind puts still waiting for the store: it waits its turn.
    this.puts.queueReply(answer);
  }

  /** Answers the waiting puts, oldest first, as far as the store has answered. */
  private answerPuts(): void {
    // Even on a closed connection: a job never stored must leave its queue.
    const answered = this.puts.answer(this.closed ? ignoreReply : this.replyBound, this.putRefusedBound);
    if (!answered) return;
    this.lastActive = this.hub.clock.now();
    if (this.closed) return;
    // Commands held back behind the puts may run now (or the connection end).
    if (!this.busy) this.run();
    // Still waiting (for more puts, or a command run now): what is answered goes out meanwhile.
    if (this.busy || this.puts.count > 0) this.transport.answered?.();
  }

  // Returns undefined so that `return this.reply(...)` reads as "answered, nothing pending".
  private reply(text: string): undefined {
    this.transport.write(`${text}\r\n`);
    return undefined;
  }

  private sendJob(word: string, id: number, body: Uint8Array): void {
    this.transport.write(`${word} ${id} ${body.length}\r\n`);
    this.transport.writeBytes(body);
    this.transport.write('\r\n');
  }

  private execute(command: Command): Promise<void> | undefined {
    const hub = this.hub;
    if (command.name !== 'error') hub.countCommand(command.name);
    switch (command.name) {
      case 'error':
        this.reply(command.reply);
        return;
      case 'put':
        // Runs through startPut, never here.
        break;
      case 'reserve':
        this.reserve(Infinity);
        return;
      case 'reserve-with-timeout':
        this.reserve(command.timeout * 1000);
        return;
      case 'reserve-job':
        this.reserveJob(command.id);
        return;
      case 'delete':
        return this.delete(command.id);
      case 'release': {
        const lease = this.lease(command.id)?.lease;
        if (lease === undefined) return this.reply(Reply.NotFound);
        return lease.release({ priority: command.pri, delay: command.delay * 1000 }).then(
          // The retry policy may bury a job released once too often.
          () => this.reply(lease.job.state === 'buried' ? Reply.Buried : Reply.Released),
          () => this.reply(Reply.NotFound),
        );
      }
      case 'bury': {
        const lease = this.lease(command.id)?.lease;
        if (lease === undefined) return this.reply(Reply.NotFound);
        return lease.bury(undefined, { priority: command.pri }).then(
          () => this.reply(Reply.Buried),
          () => this.reply(Reply.NotFound),
        );
      }
      case 'touch': {
        const lease = this.lease(command.id)?.lease;
        if (lease === undefined) return this.reply(Reply.NotFound);
        try {
          lease.touch();
        } catch {
          return this.reply(Reply.NotFound);
        }
        return this.reply(Reply.Touched);
      }
      case 'use': {
        const tube = hub.tube(command.tube);
        if (typeof tube === 'string') return this.reply(tube);
        if (tube !== this.used) {
          hub.use(tube, this.used);
          this.used = tube;
        }
        return this.reply(`${Reply.Using} ${tube.name}`);
      }
      case 'watch': {
        if (!this.watched.some((t) => t.name === command.tube)) {
          const tube = hub.tube(command.tube);
          if (typeof tube === 'string') return this.reply(tube);
          this.watched.push(tube);
          hub.watch(tube);
        }
        return this.reply(`${Reply.Watching} ${this.watched.length}`);
      }
      case 'ignore': {
        const at = this.watched.findIndex((t) => t.name === command.tube);
        if (at >= 0) {
          if (this.watched.length === 1) return this.reply(Reply.NotIgnored);
          const [tube] = this.watched.splice(at, 1);
          hub.ignore(tube);
        }
        return this.reply(`${Reply.Watching} ${this.watched.length}`);
      }
      case 'peek': {
        const found = hub.findJob(command.id);
        if (found === undefined) return this.reply(Reply.NotFound);
        return this.sendFound(found.tube, found.job);
      }
      case 'peek-ready':
        return this.sendFound(this.used, this.used.queue.peekReady());
      case 'peek-delayed':
        return this.sendFound(this.used, this.used.queue.peekDelayed());
      case 'peek-buried':
        return this.sendFound(this.used, this.used.queue.peekBuried());
      case 'kick':
        return this.reply(`${Reply.Kicked} ${this.used.queue.kick(command.bound)}`);
      case 'kick-job': {
        const found = hub.findJob(command.id);
        if (found === undefined || !found.tube.queue.kickJob(command.id)) return this.reply(Reply.NotFound);
        return this.reply(Reply.Kicked);
      }
      case 'stats-job': {
        const found = hub.findJob(command.id);
        if (found === undefined) return this.reply(Reply.NotFound);
        return this.sendYaml(jobStatsYaml(found.job, found.tube.name, hub.clock.now()));
      }
      case 'stats-tube': {
        const tube = hub.existingTube(command.tube);
        if (tube === undefined) return this.reply(Reply.NotFound);
        return this.sendYaml(hub.tubeStatsYaml(tube));
      }
      case 'stats':
        return this.sendYaml(hub.statsYaml());
      case 'list-tubes':
        return this.sendYaml(yamlList(hub.tubeNames()));
      case 'list-tube-used':
        return this.reply(`${Reply.Using} ${this.used.name}`);
      case 'list-tubes-watched':
        return this.sendYaml(yamlList(this.watched.map((t) => t.name)));
      case 'pause-tube': {
        const tube = hub.existingTube(command.tube);
        if (tube === undefined) return this.reply(Reply.NotFound);
        hub.pause(tube, command.delay);
        return this.reply(Reply.Paused);
      }
      case 'quit':
        this.transport.end();
        this.close();
        return;
    }
  }

  private sendYaml(text: string): undefined {
    // Plain ASCII apart from os.version() and the hostname: count bytes, not characters.
    const data = Buffer.from(text, 'utf8');
    this.transport.write(`${Reply.Ok} ${data.length}\r\n`);
    this.transport.writeBytes(data);
    this.transport.write('\r\n');
    return undefined;
  }

  private sendFound(tube: Tube, job: Job<unknown> | undefined): undefined {
    if (job === undefined) return this.reply(Reply.NotFound);
    let body: Uint8Array;
    try {
      body = tube.codec.encode(job.data);
    } catch (error) {
      this.hub.onError(error);
      return this.reply(Reply.InternalError);
    }
    this.sendJob(Reply.Found, job.id, body);
    return undefined;
  }

  /**
   * The reply to a put when it is known now: refused, or taken by a queue with nothing to
   * wait for. `undefined`: it waits for the store (see PendingPuts).
   */
  private put(pri: number, delay: number, ttr: number, body: Uint8Array): string | undefined {
    const hub = this.hub;
    if (hub.isDraining) return Reply.Draining;
    if (!this.producer) {
      this.producer = true;
      hub.becameProducer();
    }
    const tube = this.used;
    let data: unknown;
    try {
      data = tube.codec.decode(body);
    } catch {
      // docket's decision: a body the tube's codec cannot read is refused, never lost.
      return Reply.BadFormat;
    }
    // Seconds on the wire, milliseconds in docket; a ttr under a second is raised to one.
    const options = { priority: pri, delay: delay * 1000, ttr: Math.max(ttr, 1) * 1000 };
    const queue = tube.queue;
    try {
      // No promise per put: a job the store has is answered with the others it wrote together.
      const { job, stored } = queue.pushUnwatched(data, options);
      if (stored === undefined) return `${Reply.Inserted} ${job.id}`;
      this.puts.awaitStored(queue, job, stored);
      return undefined;
    } catch (error) {
      return this.putRefused(error);
    }
  }

  private putRefused(error: unknown): string {
    if (error instanceof QueueFullError) return Reply.OutOfMemory;
    if (error instanceof QueueClosedError) return Reply.Draining;
    this.hub.onError(error);
    return Reply.InternalError;
  }

  private delete(id: number): Promise<void> | undefined {
    const held = this.lease(id);
    if (held !== undefined) {
      const tube = held.tube;
      const acked = held.lease.ack();
      if (!held.lease.isCurrent && !tube.queue.hasStore) {
        // No store to wait for: the job is gone now, answered in this run like any command.
        // `acked` is then the queue's settled promise: an ack that fails leaves the lease
        // current, and without a store nothing can fail after the job is gone.
        this.hub.deleted(tube);
        return this.reply(Reply.Deleted);
      }
      return acked.then(
        () => {
          this.hub.deleted(tube);
          this.reply(Reply.Deleted);
        },
        () => this.reply(Reply.NotFound),
      );
    }
    const found = this.hub.findJob(id);
    if (found === undefined || found.job.state === 'reserved' || !found.tube.queue.remove(id)) return this.reply(Reply.NotFound);
    this.hub.deleted(found.tube);
    this.reply(Reply.Deleted);
  }

  /** This connection's current lease on job `id`. */
  private lease(id: number): Held | undefined {
    const held = this.leases.get(id);
    if (held === undefined) return undefined;
    if (held.lease.isCurrent) return held;
    this.leases.delete(id);
    return undefined;
  }

  /** This connection's current leases; those that ended elsewhere (TTR, close) are forgotten on the way. */
  private *liveLeases(): IterableIterator<ReservedJob<unknown>> {
    for (const [id, { lease }] of this.leases) {
      if (lease.isCurrent) yield lease;
      else this.leases.delete(id);
    }
  }

  private heldJobs(): number {
    let held = 0;
    for (const _ of this.liveLeases()) held++;
    return held;
  }

  private hold(tube: Tube, lease: ReservedJob<unknown>): void {
    this.leases.set(lease.id, { lease, tube });
    // Leases that ended elsewhere (TTR, close) are forgotten now and then, keeping the map small.
    if (this.leases.size > this.leasesAtPrune) {
      this.heldJobs();
      this.leasesAtPrune = Math.max(64, this.leases.size * 2);
    }
  }

  private reserve(timeout: number): undefined {
    const hub = this.hub;
    if (!this.worker) {
      this.worker = true;
      hub.becameWorker();
    }
    hub.serveIfPending();
    // A ready job wins over DEADLINE_SOON (the reference's behaviour).
    if (this.reserveReady()) return undefined;
    if (this.deadlineSoon()) return this.reply(Reply.DeadlineSoon);
    // A client that half-closed cannot be waiting for anything (the reference answers so too).
    if (timeout <= 0 || this.ended) return this.reply(Reply.TimedOut);
    this.isWaiting = true;
    hub.addWaiter(this);
    if (timeout !== Infinity) {
      const clock = hub.clock;
      const deadline = clock.now() + timeout;
      const expire = (): void => {
        // Timers top out at about 24.8 days; a longer wait waits again.
        const left = deadline - clock.now();
        if (left > 0) this.waitTimeout = clock.setTimer(expire, left);
        else this.stopWaiting(Reply.TimedOut);
      };
      this.waitTimeout = clock.setTimer(expire, timeout);
    }
    this.armDeadlineSoon();
    return undefined;
  }

  /** Reserves the best ready job of the watched tubes: lowest priority, then lowest id. */
  private reserveReady(): boolean {
    for (let attempt = 0; attempt < 1000; attempt++) {
      let best: Tube | undefined;
      let bestJob: Job<unknown> | undefined;
      for (const tube of this.watched) {
        if (tube.queue.isPaused) continue;
        const job = tube.queue.peekReady();
        if (job !== undefined && (bestJob === undefined || job.priority < bestJob.priority || (job.priority === bestJob.priority && job.id < bestJob.id))) {
          best = tube;
          bestJob = job;
        }
      }
      if (best === undefined) return false;
      const lease = best.queue.tryReserve();
      if (lease === undefined) return false;
      if (this.deliver(best, lease, Reply.Reserved)) return true;
    }
    return false;
  }

  /** Sends a reserved job; a payload the codec cannot encode is buried with the reason. */
  private deliver(tube: Tube, lease: ReservedJob<unknown>, word: string): boolean {
    let body: Uint8Array;
    try {
      body = tube.codec.encode(lease.data);
    } catch (error) {
      lease.bury(`cannot encode for the wire: ${(error as Error).message}`).catch((e: unknown) => this.hub.onError(e));
      return false;
    }
    this.hold(tube, lease);
    this.sendJob(word, lease.id, body);
    return true;
  }

  private reserveJob(id: number): undefined {
    const found = this.hub.findJob(id);
    if (found === undefined || found.job.state === 'reserved') return this.reply(Reply.NotFound);
    let lease: ReservedJob<unknown>;
    try {
      lease = found.tube.queue.reserveJob(id);
    } catch {
      return this.reply(Reply.NotFound);
    }
    if (!this.deliver(found.tube, lease, Reply.Reserved)) this.reply(Reply.InternalError);
    return undefined;
  }

  /** Whether one of this connection's jobs is in the last second of its lease. */
  private deadlineSoon(): boolean {
    if (this.leases.size === 0) return false;
    const now = this.hub.clock.now();
    for (const lease of this.liveLeases()) if (lease.deadline - now <= SAFETY_MARGIN_MS) return true;
    return false;
  }

  private armDeadlineSoon(): void {
    let soonest = Infinity;
    for (const lease of this.liveLeases()) soonest = Math.min(soonest, lease.deadline);
    if (soonest === Infinity) return;
    const clock = this.hub.clock;
    this.soonTimer = clock.setTimer(
      () => {
        this.soonTimer = undefined;
        if (!this.isWaiting) return;
        if (this.deadlineSoon()) this.stopWaiting(Reply.DeadlineSoon);
        else this.armDeadlineSoon();
      },
      Math.max(0, soonest - SAFETY_MARGIN_MS - clock.now()),
    );
  }

  /** Called by the hub for a waiting session: takes a job if one is ready for it. */
  tryDeliver(): boolean {
    if (!this.isWaiting || this.closed) return false;
    if (!this.reserveReady()) return false;
    this.clearWait();
    return true;
  }

  /** Called by the hub once a delivery took this session off the waiting list. */
  delivered(): void {
    this.lastActive = this.hub.clock.now();
    this.run();
  }

  private clearWait(): void {
    const clock = this.hub.clock;
    if (this.waitTimeout !== undefined) clock.clearTimer(this.waitTimeout);
    if (this.soonTimer !== undefined) clock.clearTimer(this.soonTimer);
    this.waitTimeout = undefined;
    this.soonTimer = undefined;
    this.isWaiting = false;
  }

  private stopWaiting(reply: string): void {
    if (!this.isWaiting) return;
    this.clearWait();
    this.hub.removeWaiter(this);
    this.reply(reply);
    this.lastActive = this.hub.clock.now();
    this.run();
  }
}
