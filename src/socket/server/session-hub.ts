// The seam between one connection (Session) and what all connections share (Hub). The
// session asks through SessionHub and never changes the hub's or a tube's counters itself;
// the hub serves waiting sessions through WaitingReserver and knows nothing else of them.
import type { Clock, TimerHandle } from '../../clock.js';
import type { Codec } from '../../codec.js';
import type { Job } from '../../job.js';
import type { Queue } from '../../queue.js';
import type { Reply } from '../protocol.js';

/** A tube: a queue and what the server knows about it. Its counters belong to the hub. */
export interface Tube {
  readonly name: string;
  readonly queue: Queue<unknown>;
  readonly codec: Codec<unknown>;
  /** Created by the server (on demand or by the factory): closed when dropped or at close. */
  readonly owned: boolean;
  /** Never dropped: passed in, or `default`. */
  readonly permanent: boolean;
  using: number;
  watching: number;
  cmdDelete: number;
  cmdPauseTube: number;
  /** The delay of the current pause-tube, seconds; 0 when not paused by the protocol. */
  pauseSeconds: number;
  pauseUntil: number;
  pauseTimer: TimerHandle | undefined;
  readonly onReady: () => void;
}

/** A connection waiting in `reserve`, as the hub sees it. */
export interface WaitingReserver {
  /** Whether the connection watches this tube. */
  watches(tube: Tube): boolean;
  /** Takes a job if one of its watched tubes has one ready; false leaves it waiting. */
  tryDeliver(): boolean;
  /** Called once a delivery took it off the waiting list. */
  delivered(): void;
}

/** What a session asks of the server's shared state. */
export interface SessionHub {
  readonly clock: Clock;
  /** `put` answers DRAINING. */
  readonly isDraining: boolean;

  /** A connection opened; returns the tube it starts out using and watching (`default`). */
  connected(): Tube;
  /** A connection closed: lets go of its tubes and counts its roles down. */
  disconnected(used: Tube, watched: readonly Tube[], roles: { producer: boolean; worker: boolean }): void;
  /** The connection's first `put` (stats' `current-producers`). */
  becameProducer(): void;
  /** The connection's first `reserve` (stats' `current-workers`). */
  becameWorker(): void;
  /** Counts a command for `stats` (`cmd-put`, ...). */
  countCommand(name: string): void;

  /** The tube, created on first use when allowed; otherwise the reply refusing it. */
  tube(name: string): Tube | typeof Reply.NotFound | typeof Reply.OutOfMemory;
  /** A tube that exists now (an empty, unused tube created on demand has disappeared). */
  existingTube(name: string): Tube | undefined;
  /** The connection moved from using `previous` to using `next`. */
  use(next: Tube, previous: Tube): void;
  watch(tube: Tube): void;
  ignore(tube: Tube): void;
  /** A job of this tube was deleted (stats' `cmd-delete`); the tube may disappear. */
  deleted(tube: Tube): void;
  /** `pause-tube`: 0 resumes at once. */
  pause(tube: Tube, delaySeconds: number): void;
  /** The tube holding job `id`, and the job. */
  findJob(id: number): { tube: Tube; job: Job<unknown> } | undefined;

  /** Waits for a job on the reserver's watched tubes, first come, first served. */
  addWaiter(reserver: WaitingReserver): void;
  removeWaiter(reserver: WaitingReserver): void;
  /** Serves earlier waiters first, so that a new reserve cannot overtake them. */
  serveIfPending(): void;

  /** The YAML of `stats`. */
  statsYaml(): string;
  /** The YAML of `stats-tube`. */
  tubeStatsYaml(tube: Tube): string;
  /** The tube names of `list-tubes`. */
  tubeNames(): string[];

  /** Errors with no other channel: a bug, or a queue whose store failed. */
  onError(error: unknown): void;
}
