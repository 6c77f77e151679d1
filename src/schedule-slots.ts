import { InvalidOptionError } from './errors.js';

// The arithmetic of schedules: which instants (slots) a rule yields, which slot a new or
// successor job takes, and how a job names the schedule and slot it belongs to. Pure: no
// clock (the time is an argument), no I/O.

/**
 * A schedule's rule as plain data: what a stored job keeps of it, so that a queue
 * restored from a journal can rebuild the rule.
 */
export type RuleSpec = { readonly every: number } | { readonly cron: string; readonly tz?: string };

/** When a schedule's jobs fall due: `{ every: ms }`, or a rule such as `cron()` from `docket/cron` returns. */
export interface ScheduleRule {
  /** The rule as plain data (stored with each of the schedule's jobs). */
  readonly spec: RuleSpec;
  /** The first slot strictly after `after` (ms since the epoch); `Infinity` when there is none. */
  next(after: number): number;
}

/** Rebuilds a cron rule from its spec (the `cron` export of `docket/cron` is one). */
export type CronRuleFactory = (pattern: string, options?: { tz?: string }) => ScheduleRule;

/**
 * `{ every: ms }`: slots at whole multiples of `ms` since the Unix epoch, so that every
 * process computes the same slots for the same rule (an upsert after a restart lands on
 * the slot the first one chose).
 */
export function everyRule(every: number): ScheduleRule {
  if (typeof every !== 'number' || !Number.isSafeInteger(every) || every < 1) {
    throw new InvalidOptionError(`Expected \`every\` to be a whole number of milliseconds >= 1, got \`${String(every)}\``);
  }
  return { spec: { every }, next: (after) => (Math.floor(after / every) + 1) * every };
}

/** The slot of a schedule's first job: the first slot at or after `now` (a slot that is now runs now). */
export function firstSlot(rule: ScheduleRule, now: number): number {
  return rule.next(now - 1);
}

/**
 * The slot of the job that follows one for `slot` which started at `startedAt`: the first
 * slot after both. This is the catch-up rule: a job that started late (the process was
 * down, the queue paused or busy) ran once for every slot that passed while it waited,
 * and its successor takes the next slot still ahead, never one per slot missed. A job
 * started early (kicked) still leaves its own slot behind.
 */
export function successorSlot(rule: ScheduleRule, slot: number, startedAt: number): number {
  return rule.next(Math.max(slot, startedAt));
}

/**
 * The slot a changed rule continues from: its first slot after the last slot already
 * started (none: `-Infinity`) that is not in the past. A new rule takes effect from the
 * next slot and never re-runs one that already ran.
 */
export function resumedSlot(rule: ScheduleRule, lastStarted: number, now: number): number {
  return rule.next(Math.max(lastStarted, now - 1));
}

/**
 * Scheduled jobs carry their schedule as their dedupe key: the prefix, then a JSON array
 * of the schedule id, the slot, the rule and, once a job of the schedule has started, the
 * latest slot that started. Keys starting so are reserved for schedules.
 */
export const SCHEDULE_KEY_PREFIX = 'docket:schedule:';

/** What a scheduled job's key says. */
export interface ScheduleLink {
  id: string;
  slot: number;
  rule: RuleSpec;
  /**
   * The latest slot of the schedule whose job had started when this job was created
   * (`-Infinity`: none). The started job may be gone by a restart (acked, deleted), and a
   * new rule must still resume after it.
   */
  lastStarted: number;
}

export function scheduleKey(link: ScheduleLink): string {
  const fields: unknown[] = [link.id, link.slot, link.rule];
  // JSON has no -Infinity: a schedule with no slot started keeps the three-field key.
  if (link.lastStarted > -Infinity) fields.push(link.lastStarted);
  return SCHEDULE_KEY_PREFIX + JSON.stringify(fields);
}

/** The link a dedupe key carries, or `undefined` for an ordinary key (or a damaged one). */
export function parseScheduleKey(key: string | undefined): ScheduleLink | undefined {
  if (key === undefined || !key.startsWith(SCHEDULE_KEY_PREFIX)) return undefined;
  let parsed: unknown;
  try {
    parsed = JSON.parse(key.slice(SCHEDULE_KEY_PREFIX.length));
  } catch {
    return undefined;
  }
  if (!Array.isArray(parsed) || (parsed.length !== 3 && parsed.length !== 4)) return undefined;
  const [id, slot, rule, lastStarted = -Infinity] = parsed as [unknown, unknown, unknown, unknown];
  if (typeof id !== 'string' || typeof slot !== 'number' || !isRuleSpec(rule) || typeof lastStarted !== 'number') return undefined;
  return { id, slot, rule, lastStarted };
}

function isRuleSpec(value: unknown): value is RuleSpec {
  if (typeof value !== 'object' || value === null) return false;
  const spec = value as Record<string, unknown>;
  if (typeof spec.every === 'number') return true;
  return typeof spec.cron === 'string' && (spec.tz === undefined || typeof spec.tz === 'string');
}

/** Whether two specs name the same rule. */
export function sameRule(a: RuleSpec, b: RuleSpec): boolean {
  if ('every' in a) return 'every' in b && a.every === b.every;
  return 'cron' in b && a.cron === b.cron && a.tz === b.tz;
}

/**
 * Checks a rule as `schedule()` takes it: `{ every }`, or a rule object. A plain
 * `{ cron }` is refused with the way to make one: parsing cron needs `docket/cron`.
 */
export function toRule(input: unknown): ScheduleRule {
  if (typeof input !== 'object' || input === null) {
    throw new InvalidOptionError(`Expected the schedule rule to be \`{ every: ms }\` or a rule from \`cron()\`, got \`${String(input)}\``);
  }
  const candidate = input as Partial<ScheduleRule> & { every?: unknown; cron?: unknown };
  if (typeof candidate.next === 'function') {
    // The spec is what a journal keeps and a restart rebuilds the rule from: it must be one the queue can rebuild.
    if (!isRuleSpec(candidate.spec)) {
      throw new InvalidOptionError(`Expected the rule's \`spec\` to be \`{ every }\` or \`{ cron, tz? }\`, got \`${JSON.stringify(candidate.spec)}\``);
    }
    return candidate as ScheduleRule;
  }
  if ('every' in candidate) return everyRule(candidate.every as number);
  if ('cron' in candidate) {
    throw new InvalidOptionError(
      `a cron rule needs \`cron()\` from 'docket/cron': schedule(id, cron(${JSON.stringify(candidate.cron)}), data), got a plain \`{ cron }\` object`,
    );
  }
  throw new InvalidOptionError(`Expected the schedule rule to be \`{ every: ms }\` or a rule from \`cron()\`, got \`${JSON.stringify(input)}\``);
}

/** Checks a schedule id: a non-empty string. */
export function checkScheduleId(id: unknown): string {
  if (typeof id !== 'string' || id.length === 0) {
    throw new InvalidOptionError(`Expected the schedule \`id\` to be a non-empty string, got \`${JSON.stringify(id) ?? String(id)}\``);
  }
  return id;
}
