/**
 * The YAML replies: `stats`, `stats-tube`, `stats-job` and the lists, with beanstalkd's
 * keys in beanstalkd's order. Pure: callers gather the numbers.
 * Values are written bare, as beanstalkd 1.12 does (`name: foo`); `version` carries its
 * own quotes, as in 1.12.
 */
import type { Job } from '../../job.js';

/** `---\nkey: value\n...` */
export function yamlDict(entries: ReadonlyArray<readonly [string, string | number | boolean]>): string {
  let out = '---\n';
  for (const [key, value] of entries) out += `${key}: ${value}\n`;
  return out;
}

/** `---\n- item\n...` */
export function yamlList(items: Iterable<string>): string {
  let out = '---\n';
  for (const item of items) out += `- ${item}\n`;
  return out;
}

/** Commands `stats` counts, in the order it prints them (reserve-job and kick-job have none). */
export const COMMAND_COUNTERS = [
  'put',
  'peek',
  'peek-ready',
  'peek-delayed',
  'peek-buried',
  'reserve',
  'reserve-with-timeout',
  'delete',
  'release',
  'use',
  'watch',
  'ignore',
  'bury',
  'kick',
  'touch',
  'stats',
  'stats-job',
  'stats-tube',
  'list-tubes',
  'list-tube-used',
  'list-tubes-watched',
  'pause-tube',
] as const;
export type CountedCommand = (typeof COMMAND_COUNTERS)[number];

/** Whole seconds, truncated. */
export function seconds(ms: number): number {
  return ms <= 0 ? 0 : Math.floor(ms / 1000);
}

/**
 * Whole seconds left. beanstalkd measures in nanoseconds, so "100 s from now" reads 99
 * a moment later; with a millisecond clock the same moment can read exactly 100 s.
 */
export function secondsLeft(ms: number): number {
  return ms <= 0 ? 0 : Math.floor((ms - 1) / 1000);
}

/** `sec.micro`, six digits, as rusage is printed. */
export function cpuSeconds(micros: number): string {
  return `${Math.floor(micros / 1e6)}.${String(Math.floor(micros % 1e6)).padStart(6, '0')}`;
}

/** Job counts by state (summed over tubes for `stats`). */
export interface JobCounts {
  urgent: number;
  ready: number;
  reserved: number;
  delayed: number;
  buried: number;
}

/** The `current-jobs-*` keys, in the order both `stats` and `stats-tube` print them. */
function jobCountEntries(jobs: JobCounts): Array<readonly [string, number]> {
  return [
    ['current-jobs-urgent', jobs.urgent],
    ['current-jobs-ready', jobs.ready],
    ['current-jobs-reserved', jobs.reserved],
    ['current-jobs-delayed', jobs.delayed],
    ['current-jobs-buried', jobs.buried],
  ];
}

/** What `stats` reports. */
export interface ServerStats {
  jobs: JobCounts;
  counts: Readonly<Record<CountedCommand, number>>;
  jobTimeouts: number;
  totalJobs: number;
  maxJobSize: number;
  tubes: number;
  connections: number;
  producers: number;
  workers: number;
  waiting: number;
  totalConnections: number;
  pid: number;
  userCpuMicros: number;
  systemCpuMicros: number;
  uptimeMs: number;
  draining: boolean;
  id: string;
  hostname: string;
  os: string;
  platform: string;
}

export function statsYaml(s: ServerStats): string {
  return yamlDict([
    ...jobCountEntries(s.jobs),
    ...COMMAND_COUNTERS.map((name) => [`cmd-${name}`, s.counts[name]] as const),
    ['job-timeouts', s.jobTimeouts],
    ['total-jobs', s.totalJobs],
    ['max-job-size', s.maxJobSize],
    ['current-tubes', s.tubes],
    ['current-connections', s.connections],
    ['current-producers', s.producers],
    ['current-workers', s.workers],
    ['current-waiting', s.waiting],
    ['total-connections', s.totalConnections],
    ['pid', s.pid],
    ['version', '"1.12-docket"'],
    ['rusage-utime', cpuSeconds(s.userCpuMicros)],
    ['rusage-stime', cpuSeconds(s.systemCpuMicros)],
    ['uptime', seconds(s.uptimeMs)],
    // No binlog: durability is docket/journal's business.
    ['binlog-oldest-index', 0],
    ['binlog-current-index', 0],
    ['binlog-records-migrated', 0],
    ['binlog-records-written', 0],
    ['binlog-max-size', 0],
    ['draining', s.draining],
    ['id', s.id],
    ['hostname', s.hostname],
    ['os', s.os],
    ['platform', s.platform],
  ]);
}

/** What `stats-tube` reports. */
export interface TubeStats {
  name: string;
  jobs: JobCounts;
  totalJobs: number;
  using: number;
  watching: number;
  waiting: number;
  cmdDelete: number;
  cmdPauseTube: number;
  /** The current pause-tube delay, seconds (0 when not paused). */
  pauseSeconds: number;
  pauseLeftMs: number;
}

export function tubeStatsYaml(s: TubeStats): string {
  return yamlDict([
    ['name', s.name],
    ...jobCountEntries(s.jobs),
    ['total-jobs', s.totalJobs],
    ['current-using', s.using],
    ['current-watching', s.watching],
    ['current-waiting', s.waiting],
    ['cmd-delete', s.cmdDelete],
    ['cmd-pause-tube', s.cmdPauseTube],
    ['pause', s.pauseSeconds],
    ['pause-time-left', secondsLeft(s.pauseLeftMs)],
  ]);
}

/** `stats-job` of `job` in tube `tube` at clock time `now`, plus docket's retry fields. */
export function jobStatsYaml(job: Job<unknown>, tube: string, now: number): string {
  const timed = (job.state === 'reserved' || job.state === 'delayed') && job.dueAt !== Infinity;
  return yamlDict([
    ['id', job.id],
    ['tube', tube],
    ['state', job.state],
    ['pri', job.priority],
    ['age', seconds(now - job.createdOn)],
    ['delay', seconds(job.delay)],
    ['ttr', seconds(job.ttr)],
    ['time-left', timed ? secondsLeft(job.dueAt - now) : 0],
    ['file', 0],
    ['reserves', job.reserves],
    ['timeouts', job.timeouts],
    ['releases', job.releases],
    ['buries', job.buries],
    ['kicks', job.kicks],
    // docket's own: the retry policy's view of the job.
    ['docket-attempts', job.attemptsMade],
    ['docket-max-attempts', job.maxAttempts === Infinity ? 'inf' : job.maxAttempts],
    ['docket-dead-reason', job.deadReason ?? 'none'],
    // Only for a job in a group (read-only: the protocol's put has no field for one).
    ...(job.group === undefined ? [] : [['docket-group', yamlScalar(job.group)] as const]),
  ]);
}

/** A string as a YAML scalar: plain when that reads back the same, else double-quoted (JSON's escapes are YAML's). */
export function yamlScalar(text: string): string {
  return /^[A-Za-z0-9_][A-Za-z0-9_./@:+-]*$/.test(text) && !/^(true|false|null|yes|no|on|off|~)$/i.test(text) && !/^[-+]?[0-9.]/.test(text)
    ? text
    : JSON.stringify(text);
}
