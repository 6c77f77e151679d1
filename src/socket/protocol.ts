/**
 * The beanstalkd 1.12 text protocol as data: byte constants, limits, the command table
 * (in the reference server's matching order) and every reply word. Pure: no I/O.
 */

export const CR = 0x0d;
export const LF = 0x0a;
export const SPACE = 0x20;
export const DIGIT_0 = 0x30;
export const DIGIT_9 = 0x39;
export const MINUS = 0x2d;

/** Longest command line, CRLF included (the reference's LINE_BUF_SIZE). */
export const MAX_LINE = 224;
/** Longest tube name in bytes. */
export const MAX_TUBE_NAME = 200;
/** The reference server's default `-z`: the largest job body accepted. */
export const DEFAULT_MAX_JOB_SIZE = 65_535;
/** Largest value of pri, delay, ttr, bytes. */
export const U32_MAX = 4_294_967_295;
/** Largest job id the grammar accepts (ids are u64 on the wire). */
export const U64_MAX = 18_446_744_073_709_551_615n;
/** The protocol's "urgent" threshold: ready jobs with pri below it count as urgent. */
export const URGENT_PRIORITY = 1024;
/** The last second of a reservation, in which a reserve answers DEADLINE_SOON. */
export const SAFETY_MARGIN_MS = 1000;
/** The tube every connection uses and watches when it connects; it always exists. */
export const DEFAULT_TUBE = 'default';

/** Every reply word the server sends. */
export const Reply = {
  OutOfMemory: 'OUT_OF_MEMORY',
  InternalError: 'INTERNAL_ERROR',
  BadFormat: 'BAD_FORMAT',
  UnknownCommand: 'UNKNOWN_COMMAND',
  ExpectedCrlf: 'EXPECTED_CRLF',
  JobTooBig: 'JOB_TOO_BIG',
  Draining: 'DRAINING',
  Inserted: 'INSERTED',
  Buried: 'BURIED',
  Using: 'USING',
  Reserved: 'RESERVED',
  DeadlineSoon: 'DEADLINE_SOON',
  TimedOut: 'TIMED_OUT',
  Deleted: 'DELETED',
  NotFound: 'NOT_FOUND',
  Released: 'RELEASED',
  Touched: 'TOUCHED',
  Watching: 'WATCHING',
  NotIgnored: 'NOT_IGNORED',
  Found: 'FOUND',
  Kicked: 'KICKED',
  Ok: 'OK',
  Paused: 'PAUSED',
} as const;
export type Reply = (typeof Reply)[keyof typeof Reply];

/** The replies the parser itself produces for input it cannot turn into a command. */
export type ParseErrorReply = typeof Reply.BadFormat | typeof Reply.UnknownCommand | typeof Reply.ExpectedCrlf | typeof Reply.JobTooBig;

/** Command names, exactly as on the wire. */
export const CommandName = {
  Put: 'put',
  PeekJob: 'peek',
  PeekReady: 'peek-ready',
  PeekDelayed: 'peek-delayed',
  PeekBuried: 'peek-buried',
  ReserveWithTimeout: 'reserve-with-timeout',
  ReserveJob: 'reserve-job',
  Reserve: 'reserve',
  Delete: 'delete',
  Release: 'release',
  Bury: 'bury',
  Kick: 'kick',
  KickJob: 'kick-job',
  Touch: 'touch',
  StatsJob: 'stats-job',
  StatsTube: 'stats-tube',
  Stats: 'stats',
  Use: 'use',
  Watch: 'watch',
  Ignore: 'ignore',
  ListTubesWatched: 'list-tubes-watched',
  ListTubeUsed: 'list-tube-used',
  ListTubes: 'list-tubes',
  Quit: 'quit',
  PauseTube: 'pause-tube',
} as const;
export type CommandName = (typeof CommandName)[keyof typeof CommandName];

/** How the text after a command's prefix is read. */
export type ArgumentShape =
  | 'none' // nothing may follow
  | 'put' // <pri> <delay> <ttr> <bytes>, then a body
  | 'id' // <u64>
  | 'tube' // a whole valid tube name
  | 'release' // <id> <pri> <delay>
  | 'bury' // <id> <pri>
  | 'timeout' // strtol-lenient seconds (the reference 1.12)
  | 'kick' // strtoul-lenient bound (the reference 1.12)
  | 'pause' // <tube> <delay>, spaces skipped before the name
  | 'ignored'; // anything may follow (quit)

export interface CommandSpec {
  readonly name: CommandName;
  /** What the line must start with; includes the space for commands with arguments. */
  readonly prefix: string;
  readonly args: ArgumentShape;
}

/**
 * The reference server matches a line against these prefixes in this order and takes the
 * first match (so `stats-job` without an argument is `stats` with trailing bytes, which is
 * BAD_FORMAT, while `put` without one matches nothing, which is UNKNOWN_COMMAND).
 */
export const COMMANDS: readonly CommandSpec[] = [
  { name: CommandName.Put, prefix: 'put ', args: 'put' },
  { name: CommandName.PeekJob, prefix: 'peek ', args: 'id' },
  { name: CommandName.PeekReady, prefix: 'peek-ready', args: 'none' },
  { name: CommandName.PeekDelayed, prefix: 'peek-delayed', args: 'none' },
  { name: CommandName.PeekBuried, prefix: 'peek-buried', args: 'none' },
  { name: CommandName.ReserveWithTimeout, prefix: 'reserve-with-timeout ', args: 'timeout' },
  { name: CommandName.ReserveJob, prefix: 'reserve-job ', args: 'id' },
  { name: CommandName.Reserve, prefix: 'reserve', args: 'none' },
  { name: CommandName.Delete, prefix: 'delete ', args: 'id' },
  { name: CommandName.Release, prefix: 'release ', args: 'release' },
  { name: CommandName.Bury, prefix: 'bury ', args: 'bury' },
  { name: CommandName.Kick, prefix: 'kick ', args: 'kick' },
  { name: CommandName.KickJob, prefix: 'kick-job ', args: 'id' },
  { name: CommandName.Touch, prefix: 'touch ', args: 'id' },
  { name: CommandName.StatsJob, prefix: 'stats-job ', args: 'id' },
  { name: CommandName.StatsTube, prefix: 'stats-tube ', args: 'tube' },
  { name: CommandName.Stats, prefix: 'stats', args: 'none' },
  { name: CommandName.Use, prefix: 'use ', args: 'tube' },
  { name: CommandName.Watch, prefix: 'watch ', args: 'tube' },
  { name: CommandName.Ignore, prefix: 'ignore ', args: 'tube' },
  { name: CommandName.ListTubesWatched, prefix: 'list-tubes-watched', args: 'none' },
  { name: CommandName.ListTubeUsed, prefix: 'list-tube-used', args: 'none' },
  { name: CommandName.ListTubes, prefix: 'list-tubes', args: 'none' },
  { name: CommandName.Quit, prefix: 'quit', args: 'ignored' },
  { name: CommandName.PauseTube, prefix: 'pause-tube', args: 'pause' },
];

/** A parsed command, ready for a session to execute. Durations are in seconds, as on the wire. */
export type Command =
  | { name: 'put'; pri: number; delay: number; ttr: number; body: Uint8Array }
  | { name: 'peek' | 'reserve-job' | 'delete' | 'kick-job' | 'touch' | 'stats-job'; id: number }
  | { name: 'peek-ready' | 'peek-delayed' | 'peek-buried' | 'reserve' | 'stats' | 'list-tubes-watched' | 'list-tube-used' | 'list-tubes' | 'quit' }
  /** `timeout` is Infinity for a negative argument (the reference 1.12 waits forever). */
  | { name: 'reserve-with-timeout'; timeout: number }
  | { name: 'release'; id: number; pri: number; delay: number }
  | { name: 'bury'; id: number; pri: number }
  | { name: 'kick'; bound: number }
  | { name: 'use' | 'watch' | 'ignore' | 'stats-tube'; tube: string }
  | { name: 'pause-tube'; tube: string; delay: number }
  /** Input the parser rejected; the session answers `reply`. `detail` says why, for logs. */
  | { name: 'error'; reply: ParseErrorReply; detail: string };

const NAME_CHARS = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-+/;.$_()';

/** `NAME_BYTE[b] === 1` when byte `b` may appear in a tube name. */
export const NAME_BYTE: Uint8Array = (() => {
  const table = new Uint8Array(256);
  for (let i = 0; i < NAME_CHARS.length; i++) table[NAME_CHARS.charCodeAt(i)] = 1;
  return table;
})();

/** Whether `name` is a valid tube name: 1-200 bytes of the name alphabet, not starting with `-`. */
export function isValidTubeName(name: string): boolean {
  if (name.length === 0 || name.length > MAX_TUBE_NAME || name.charCodeAt(0) === MINUS) return false;
  for (let i = 0; i < name.length; i++) {
    const code = name.charCodeAt(i);
    if (code > 255 || NAME_BYTE[code] !== 1) return false;
  }
  return true;
}
