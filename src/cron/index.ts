import { Cron } from 'croner';
import { InvalidOptionError } from '../errors.js';
import type { ScheduleRule } from '../schedule-slots.js';

export type { ScheduleRule, RuleSpec, CronRuleFactory } from '../schedule-slots.js';

/** Options of {@link cron}. */
export interface CronOptions {
  /**
   * IANA time zone the pattern is read in (`'Europe/Berlin'`). Across a DST change, a local
   * time that does not exist runs once at the first instant after the gap, and one that
   * happens twice runs once, the first time.
   * @defaultValue the process's local time zone
   */
  tz?: string;
}

/**
 * A cron rule for `queue.schedule()`: standard 5-field (`minute hour day month weekday`)
 * or 6-field (seconds first) syntax, parsed by croner. Throws `InvalidOptionError` for a
 * pattern croner refuses, an unknown time zone, or a pattern that never matches.
 *
 * @example
 * ```ts
 * await q.schedule('nightly', cron('30 2 * * *', { tz: 'Europe/Berlin' }), { kind: 'report' });
 * ```
 */
export function cron(pattern: string, options: CronOptions = {}): ScheduleRule {
  if (typeof pattern !== 'string') throw new InvalidOptionError(`Expected the cron pattern to be a string, got \`${String(pattern)}\``);
  const { tz } = options;
  if (tz !== undefined && (typeof tz !== 'string' || tz.length === 0))
    throw new InvalidOptionError(`Expected \`tz\` to be an IANA time zone name, got \`${String(tz)}\``);
  let parsed: Cron;
  let first: Date | null;
  try {
    // No callback: croner only computes, it starts no timer.
    parsed = new Cron(pattern, tz === undefined ? {} : { timezone: tz });
    first = parsed.nextRun();
  } catch (error) {
    throw new InvalidOptionError(`cron pattern ${JSON.stringify(pattern)}${tz === undefined ? '' : ` in ${tz}`}: ${(error as Error).message}`, {
      cause: error,
    });
  }
  if (first === null) throw new InvalidOptionError(`cron pattern ${JSON.stringify(pattern)} never matches a future time`);
  return {
    spec: tz === undefined ? { cron: pattern } : { cron: pattern, tz },
    next: (after) => parsed.nextRun(new Date(after))?.getTime() ?? Infinity,
  };
}
