import { Heap } from './heap/heap.js';
import type { NextState } from './lifecycle.js';
import type { RateLimit } from './rate-limiter.js';
import { StartWindow } from './rate-limiter.js';
import type { ReadyItem } from './ready-set.js';
import { ReadySet, URGENT_BELOW } from './ready-set.js';
import type { Scheduled } from './scheduler.js';

// Who starts next when jobs belong to groups. Pure: no clock (callers pass `now`), no timer
// (a gate that must wait is handed to the host's one gate timer, which calls `opened`).
//
// Each group with jobs has an entry: its ready jobs in (priority, id) order, counts of its
// running and delayed jobs, and how many of its slots are held. A job holds a slot of its
// group from its start until it completes, is dead-lettered or removed; in a strict group
// a job that went back (a retry waiting for its backoff, a release) keeps holding it, so
// the group's later jobs wait behind it. Entries that may start a job now take turns in
// one heap keyed by the priority of their best startable job: ties come out first in,
// first out, and an entry that was served goes back in behind its equals (round-robin).
// The jobs without a group are one more entry, with no cap, that joins the turns only
// while some group is in them: without groups the queue takes its next job directly.

/** What the dispatch needs of a job. */
export interface GroupedJob extends ReadyItem {
  readonly attemptsMade: number;
  /** Its group, or `undefined`. */
  readonly group: string | undefined;
  /** Whether it holds a slot of its group. Owned by the dispatch. */
  holdsSlot: boolean;
  /** Its group's entry, kept to spare a lookup by name per move. Owned by the dispatch. */
  groupEntry: unknown;
}

/** Per-group counts, as `Queue.groupStats()` reports them. */
export interface GroupStats {
  /** The group's name. */
  group: string;
  /** Jobs ready to start (some may wait for the group's turn, slot or limit). */
  ready: number;
  /** Jobs reserved now (by a handler or a pull consumer). */
  running: number;
  /** Jobs waiting for a delay or a retry's backoff. */
  delayed: number;
  /** Slots held: running jobs plus, in a strict group, started jobs waiting to run again. */
  held: number;
  /** Jobs of the group allowed to hold a slot at once. */
  concurrency: number;
  isPaused: boolean;
}

/** A group's (or the queue's) place in the gate timer: open again at `dueAt`. */
export interface Gate extends Scheduled {
  dueAt: number;
}

/** What the dispatch tells its queue: gates for the one gate timer, and jobs that may start again. */
export interface DispatchHost {
  /** Arms the gate timer for `gate` (open again at `gate.dueAt`). */
  add(gate: Gate): void;
  delete(gate: Gate): void;
  /** A group (or the queue) that could start nothing may start a job now: outside consumers may look again. */
  startable(): void;
}

/** The dispatch's settings (the queue's options). */
export interface DispatchSettings {
  /** Slots per group unless set per group. */
  groupConcurrency: number;
  /** A started job keeps its slot until it completes, is dead-lettered or removed. */
  strictGroups: boolean;
  /** Starts per window, whole queue. */
  limiter: RateLimit | undefined;
  /** Starts per window, each group. */
  groupLimit: RateLimit | undefined;
}

class Entry<J extends GroupedJob> implements Gate {
  /** Ready jobs holding no slot. */
  readonly fresh: ReadySet<J>;
  /** Ready jobs that hold a slot already (strict groups: went back after a start). */
  returned: ReadySet<J> | undefined = undefined;
  running = 0;
  delayed = 0;
  held = 0;
  /** Position in the turns heap, -1 when out; `key` is the priority it went in with. */
  turn = -1;
  key = 0;
  /** Set while the gate timer holds the entry (a limit or a pause): when it opens. */
  dueAt = Infinity;
  slot = -1;
  /** Starts within its `groupLimit`, and a handler's pause; created on first need. */
  window: StartWindow | undefined = undefined;
  /** Empty, but kept until its window is quiet (listed in `cooling`). */
  cooling = false;
  /** Dropped from the dispatch: a job still pointing here (a dead letter) looks its group up again. */
  forgotten = false;

  constructor(
    readonly name: string | undefined,
    ready: ReadySet<J>,
  ) {
    this.fresh = ready;
  }

  get ready(): number {
    return this.fresh.size + (this.returned?.size ?? 0);
  }

  get isEmpty(): boolean {
    return this.held === 0 && this.running === 0 && this.delayed === 0 && this.ready === 0;
  }
}

/**
 * The groups of one queue and the queue's own rate limit: which job starts next, fair
 * across groups, in order within each, within every cap and limit.
 */
export class GroupDispatch<J extends GroupedJob> {
  private readonly entries = new Map<string, Entry<J>>();
  private readonly turns = new Heap<Entry<J>>({ trackIndex: (entry, index) => (entry.turn = index) });
  private readonly ungrouped: Entry<J>;
  /** Group entries (the ungrouped one aside) in `turns`: with none, the fast path applies. */
  private groupsInTurns = 0;
  private queueWindow: StartWindow | undefined;
  private readonly queueGate: Gate = { dueAt: Infinity, slot: -1 };
  private readonly paused = new Set<string>();
  private readonly concurrencyOf = new Map<string, number>();
  /** Empty entries kept for their windows, roughly in the order they go quiet; `coolingHead` is the first still listed. */
  private readonly cooling: Entry<J>[] = [];
  private coolingHead = 0;
  /** The candidate of the entry `top()` returned last. */
  private topJob: J | undefined = undefined;
  /** Inside `take`: an entry going back into the turns there is no news. */
  private taking = false;
  /** Ready jobs with a group, and those with priority below {@link URGENT_BELOW}. */
  ready = 0;
  urgent = 0;

  constructor(
    ungroupedReady: ReadySet<J>,
    private readonly settings: DispatchSettings,
    private readonly host: DispatchHost,
  ) {
    this.ungrouped = new Entry<J>(undefined, ungroupedReady);
    this.queueWindow = settings.limiter === undefined ? undefined : new StartWindow(settings.limiter);
  }

  /** Entries held, empty ones waiting for a quiet window included: what the groups cost in memory. */
  get entryCount(): number {
    return this.entries.size;
  }

  /** True while the next job is simply the first ungrouped one: no group may start, no queue limit. */
  get simple(): boolean {
    return this.groupsInTurns === 0 && this.queueWindow === undefined;
  }

  // ── taking jobs ───────────────────────────────────────────────────────

  /**
   * Takes out the next job to start at `now`, or `undefined` when none may (what may not
   * start yet is handed to the gate timer). The job holds its group's slot from here on;
   * call {@link GroupDispatch.started} once it really starts.
   */
  take(now: number): J | undefined {
    this.taking = true;
    try {
      return this.takeNext(now);
    } finally {
      this.taking = false;
    }
  }

  private takeNext(now: number): J | undefined {
    this.sweep(now);
    const window = this.queueWindow;
    if (window !== undefined) {
      const at = window.openAt(now);
      if (at > now) {
        this.gate(this.queueGate, at);
        return undefined;
      }
      // A pause from `rateLimit(ms)` on a queue without a limiter: back to the fast path once over.
      if (this.settings.limiter === undefined && window.quietAt() <= now) this.queueWindow = undefined;
    }
    if (this.groupsInTurns === 0) return this.ungrouped.fresh.shift();
    for (;;) {
      const entry = this.top();
      if (entry === undefined) return undefined;
      if (entry.window !== undefined) {
        const at = entry.window.openAt(now);
        if (at > now) {
          this.leaveTurns(entry);
          this.gate(entry, at);
          continue;
        }
      }
      const job = this.topJob as J;
      this.leaveTurns(entry);
      this.deleteReady(entry, job);
      if (entry !== this.ungrouped && !job.holdsSlot) {
        job.holdsSlot = true;
        entry.held++;
      }
      this.offer(entry);
      return job;
    }
  }

  /** The job {@link GroupDispatch.take} would take next if no limit held it back. */
  peek(): J | undefined {
    if (this.groupsInTurns === 0) return this.ungrouped.fresh.peek();
    const entry = this.top();
    return entry === undefined ? undefined : this.topJob;
  }

  /** A taken job starts at `now`: it counts against the queue's and its group's limits. */
  started(job: J, now: number): void {
    this.queueWindow?.record(now);
    const limit = this.settings.groupLimit;
    if (limit === undefined || job.group === undefined) return;
    // `take` gave the job its slot: its entry is live.
    const entry = job.groupEntry as Entry<J>;
    (entry.window ??= new StartWindow(limit)).record(now);
  }

  /** Nothing more of `group` (or, with `undefined`, of the queue) starts before `until`. */
  pauseUntil(group: string | undefined, until: number): void {
    if (group === undefined) {
      (this.queueWindow ??= new StartWindow(this.settings.limiter)).pauseUntil(until);
      return;
    }
    const entry = this.entryFor(group);
    (entry.window ??= new StartWindow(this.settings.groupLimit)).pauseUntil(until);
    if (entry.isEmpty) this.release(entry);
  }

  /** The gate timer reached `gate`: it may start jobs again. */
  opened(gate: Gate): void {
    gate.dueAt = Infinity;
    if (gate === this.queueGate) this.host.startable();
    else this.offer(gate as Entry<J>);
  }

  // ── following the jobs ────────────────────────────────────────────────

  /** A job of a group moved from `from` to `to` (`'new'`: it arrived; `'done'`: it left). */
  moved(job: J, from: NextState | 'new', to: NextState): void {
    let entry = job.groupEntry as Entry<J> | undefined;
    if (entry === undefined || entry.forgotten) job.groupEntry = entry = this.entryFor(job.group as string);
    if (from === 'ready') this.deleteReady(entry, job);
    else if (from === 'delayed') entry.delayed--;
    else if (from === 'reserved') entry.running--;
    const holds = to === 'reserved' || (this.settings.strictGroups && (to === 'ready' || to === 'delayed') && job.attemptsMade > 0);
    let freed = false;
    if (holds !== job.holdsSlot) {
      entry.held += holds ? 1 : -1;
      job.holdsSlot = holds;
      freed = !holds;
    }
    if (to === 'ready') this.addReady(entry, job);
    else if (to === 'delayed') entry.delayed++;
    else if (to === 'reserved') entry.running++;
    if (entry.isEmpty) this.release(entry);
    // Only a new ready job or a freed slot can let the group start one more.
    else if (to === 'ready' || freed) this.offer(entry);
  }

  /** A ready job of a group gets a new priority (and its place in the group's order). */
  reprioritize(job: J & { priority: number }, priority: number): void {
    const entry = this.entryFor(job.group as string);
    this.deleteReady(entry, job);
    job.priority = priority;
    this.addReady(entry, job);
    this.offer(entry);
  }

  // ── settings and views ────────────────────────────────────────────────

  concurrencyFor(group: string): number {
    return this.concurrencyOf.get(group) ?? this.settings.groupConcurrency;
  }

  /** Sets a group's concurrency (`undefined`: back to the queue's `groupConcurrency`). */
  setConcurrency(group: string, concurrency: number | undefined): void {
    if (concurrency === undefined) this.concurrencyOf.delete(group);
    else this.concurrencyOf.set(group, concurrency);
    const entry = this.entries.get(group);
    if (entry !== undefined) this.offer(entry);
  }

  pause(group: string): void {
    this.paused.add(group);
  }

  resume(group: string): void {
    if (!this.paused.delete(group)) return;
    const entry = this.entries.get(group);
    if (entry !== undefined) this.offer(entry);
  }

  isPaused(group: string): boolean {
    return this.paused.has(group);
  }

  stats(group: string): GroupStats {
    const entry = this.entries.get(group);
    return {
      group,
      ready: entry?.ready ?? 0,
      running: entry?.running ?? 0,
      delayed: entry?.delayed ?? 0,
      held: entry?.held ?? 0,
      concurrency: this.concurrencyFor(group),
      isPaused: this.paused.has(group),
    };
  }

  /** Every group that holds jobs, in no particular order. */
  *groups(): IterableIterator<string> {
    for (const entry of this.entries.values()) if (!entry.isEmpty) yield entry.name as string;
  }

  // ── internals ─────────────────────────────────────────────────────────

  private entryFor(group: string): Entry<J> {
    let entry = this.entries.get(group);
    if (entry === undefined) {
      entry = new Entry<J>(group, new ReadySet<J>());
      this.entries.set(group, entry);
    }
    return entry;
  }

  /** The best job `entry` may start now, limits aside: in order, within its slots. */
  private candidate(entry: Entry<J>): J | undefined {
    if (entry !== this.ungrouped && this.paused.size > 0 && this.paused.has(entry.name as string)) return undefined;
    const returned = entry.returned?.peek();
    if (
      entry !== this.ungrouped &&
      entry.held >= (this.concurrencyOf.size === 0 ? this.settings.groupConcurrency : this.concurrencyFor(entry.name as string))
    ) {
      return returned;
    }
    const fresh = entry.fresh.peek();
    if (returned === undefined) return fresh;
    if (fresh === undefined) return returned;
    return returned.priority < fresh.priority || (returned.priority === fresh.priority && returned.id < fresh.id) ? returned : fresh;
  }

  /** The entry whose turn it is, its candidate current: stale entries are dropped or re-keyed on the way. */
  private top(): Entry<J> | undefined {
    const ungrouped = this.ungrouped;
    const first = ungrouped.fresh.peek();
    if (first !== undefined && (ungrouped.turn < 0 || first.priority !== ungrouped.key)) {
      if (ungrouped.turn >= 0) this.leaveTurns(ungrouped);
      this.joinTurns(ungrouped, first.priority);
    }
    for (;;) {
      const entry = this.turns.peek();
      if (entry === undefined) return undefined;
      const job = this.candidate(entry);
      if (job !== undefined && job.priority === entry.key) {
        this.topJob = job;
        return entry;
      }
      this.leaveTurns(entry);
      if (job !== undefined) this.joinTurns(entry, job.priority);
    }
  }

  /** Puts an entry in the turns if it may start a job and is not there (or re-keys it when its best job's priority changed). */
  private offer(entry: Entry<J>): void {
    if (entry.dueAt !== Infinity) return;
    const job = this.candidate(entry);
    if (job === undefined) return;
    if (entry.turn >= 0) {
      // In its place already; a new best job of another priority joins that priority's line at the back.
      if (job.priority === entry.key) return;
      this.leaveTurns(entry);
    } else if (!this.taking) {
      this.host.startable();
    }
    this.joinTurns(entry, job.priority);
  }

  private joinTurns(entry: Entry<J>, key: number): void {
    entry.key = key;
    this.turns.push(entry, key);
    if (entry !== this.ungrouped) this.groupsInTurns++;
  }

  private leaveTurns(entry: Entry<J>): void {
    if (entry.turn < 0) return;
    this.turns.removeAt(entry.turn);
    if (entry !== this.ungrouped) this.groupsInTurns--;
  }

  private gate(gate: Gate, at: number): void {
    if (gate.dueAt !== Infinity) return;
    gate.dueAt = at;
    this.host.add(gate);
  }

  private addReady(entry: Entry<J>, job: J): void {
    const set = job.holdsSlot ? (entry.returned ??= new ReadySet<J>()) : entry.fresh;
    set.add(job);
    this.ready++;
    if (job.priority < URGENT_BELOW) this.urgent++;
  }

  private deleteReady(entry: Entry<J>, job: J): void {
    // Taken out already (by `take`, which counted it).
    if (job.stamp === 0) return;
    const set = job.holdsSlot ? (entry.returned as ReadySet<J>) : entry.fresh;
    set.delete(job);
    if (entry === this.ungrouped) return;
    this.ready--;
    if (job.priority < URGENT_BELOW) this.urgent--;
  }

  /** An entry with no jobs left: forgotten now, or once its window no longer counts. */
  private release(entry: Entry<J>): void {
    this.leaveTurns(entry);
    if (entry.window === undefined) return this.forget(entry);
    if (!entry.cooling) {
      entry.cooling = true;
      this.cooling.push(entry);
    }
  }

  private forget(entry: Entry<J>): void {
    this.leaveTurns(entry);
    if (entry.dueAt !== Infinity) {
      this.host.delete(entry);
      entry.dueAt = Infinity;
    }
    entry.forgotten = true;
    if (this.entries.get(entry.name as string) === entry) this.entries.delete(entry.name as string);
  }

  /**
   * Forgets the cooling entries whose windows are quiet by `now`, from the front of the
   * list: O(1) amortized per take. One that is not quiet yet stops the walk (a later one
   * may wait a little longer to be freed, which costs memory, never correctness).
   */
  private sweep(now: number): void {
    const cooling = this.cooling;
    if (cooling.length === 0) return;
    while (this.coolingHead < cooling.length) {
      const entry = cooling[this.coolingHead];
      const empty = entry.isEmpty;
      if (empty && (entry.window as StartWindow).quietAt() > now) break;
      this.coolingHead++;
      entry.cooling = false;
      if (empty) this.forget(entry);
    }
    if (this.coolingHead === cooling.length) {
      cooling.length = 0;
      this.coolingHead = 0;
    } else if (this.coolingHead > 1024 && this.coolingHead * 2 > cooling.length) {
      cooling.splice(0, this.coolingHead);
      this.coolingHead = 0;
    }
  }
}
