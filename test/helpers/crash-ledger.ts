// What the kill -9 test (journal-crash.test.ts) knows from its child's lines, and the check
// of what each restart restored against it. Jobs are known by key (unique per add), not by
// id: a job whose put never reached the file (added, reserved and acked in memory while
// writes waited, then killed) leaves no record, and should the next process give its id to
// a new job, that is a job under a reused id (`moved`), not the acked one come back.

/** One line of the child (see test/fixtures/journal/crash-child.ts). */
export interface ChildLine {
  op?: string;
  jobs?: Array<[number, string]>;
  total?: number;
  message?: string;
  s?: string;
  a?: string;
  id?: number;
  r?: number;
  key?: string;
  k?: number;
  c?: number;
}

/** What went wrong, one description per job. */
export interface CrashFindings {
  /** An add the child acknowledged, whose ack it never started, is missing. */
  lost: string[];
  /** A job whose ack the child acknowledged is back. */
  resurrected: string[];
  /** A job that was never added appears. */
  phantom: string[];
  /** A job comes back under another id, or a new job takes an id handed out before. */
  moved: string[];
}

export class CrashLedger {
  readonly findings: CrashFindings = { lost: [], resurrected: [], phantom: [], moved: [] };
  /** Acknowledged adds (and jobs a restart showed were stored): key -> id. */
  readonly live = new Map<string, number>();
  /** Acks started and not yet acknowledged: id -> key of the job being acked. */
  private readonly acking = new Map<number, string>();
  /** Keys of the jobs whose ack was acknowledged (or, in flight at a kill, went through). */
  private readonly gone = new Set<string>();
  /** Keys whose add was started. */
  private readonly started = new Set<string>();
  /** Every id handed out (a resolved add, a reserve, a restore), with its job's key. */
  private readonly ids = new Map<number, string>();

  /** The highest id handed out. */
  get maxId(): number {
    let max = 0;
    for (const id of this.ids.keys()) max = Math.max(max, id);
    return max;
  }

  /** A line about one operation (`s`, `a`, `r`, `k`), written during `round`. */
  operation(line: ChildLine, round: number): void {
    if (line.s !== undefined) {
      this.started.add(line.s);
    } else if (line.a !== undefined) {
      const id = line.id!;
      const before = this.ids.get(id);
      if (before !== undefined && before !== line.a) this.findings.moved.push(`new job ${line.a} took id ${id} of ${before} (round ${round})`);
      this.ids.set(id, line.a);
      // Its ack may have resolved first (both in one write).
      if (!this.gone.has(line.a)) this.live.set(line.a, id);
    } else if (line.r !== undefined) {
      // Reserved, so handed out, even if its add never resolves.
      const before = this.ids.get(line.r);
      if (before !== undefined && before !== line.key) this.findings.moved.push(`job ${line.key} reserved under id ${line.r} of ${before} (round ${round})`);
      this.ids.set(line.r, line.key!);
      this.acking.set(line.r, line.key!);
    } else if (line.k !== undefined) {
      const key = this.acking.get(line.k)!;
      this.acking.delete(line.k);
      this.gone.add(key);
      this.live.delete(key);
    }
  }

  /** What a restart restored (`[id, key]` of every job), checked against what is known. */
  restored(jobs: Array<[number, string]>, round: number): void {
    const present = new Map(jobs);
    const { lost, resurrected, phantom, moved } = this.findings;
    for (const [key, id] of this.live) {
      if (present.get(id) !== key && this.acking.get(id) !== key) lost.push(`${key} (id ${id}, round ${round})`);
    }
    for (const [id, key] of present) {
      if (this.gone.has(key)) resurrected.push(`${key} (id ${id}, round ${round})`);
      if (!this.started.has(key)) phantom.push(`${key} (id ${id}, round ${round})`);
      const known = this.ids.get(id);
      if (known !== undefined && known !== key) moved.push(`id ${id} was ${known}, now ${key} (round ${round})`);
      const knownId = this.live.get(key);
      if (knownId !== undefined && knownId !== id) moved.push(`${key} was id ${knownId}, now ${id} (round ${round})`);
    }
    // Acks in flight at the kill: either outcome is right; now it is known which.
    for (const [id, key] of this.acking) {
      if (present.get(id) !== key) {
        this.gone.add(key);
        this.live.delete(key);
      }
    }
    this.acking.clear();
    // Adds in flight at the kill that were stored: jobs like any other from now on.
    for (const [id, key] of present) {
      this.live.set(key, id);
      this.ids.set(id, key);
    }
  }
}
