import { DocketError, ErrorCode } from '../errors.js';
import { parseArgs, UsageError } from './args.js';
import { kick, peek, put, serveDashboard, stats, tail, type Io } from './commands.js';

const ADDRESS = `  --url URL   beanstalk://host:port (docket's server or beanstalkd) or redis://host:port
              default: $DOCKET_URL, else beanstalk://127.0.0.1:11300
  --json      JSON for scripts instead of a table
  -h, --help  this help`;

/** Each command: what runs it, and its help. */
const COMMANDS = {
  stats: {
    run: stats,
    help: `usage: docket stats [tube] [--url URL] [--json]

Counts per state (ready, delayed, reserved, buried) and jobs added: of one tube, or of every
tube on the server in a table.

${ADDRESS}`,
  },
  peek: {
    run: peek,
    help: `usage: docket peek ready|delayed|buried [tube] [--url URL] [--json]

The next job in that state (ready: the one a reserve would get; delayed: due soonest;
buried: the oldest dead letter): its id, server record and body (text, or hex for binary).
Exit status 1 when there is none.

${ADDRESS}`,
  },
  kick: {
    run: kick,
    help: `usage: docket kick N [tube] [--url URL] [--json]

Moves up to N buried jobs back to ready (or, when none is buried, up to N delayed ones).

${ADDRESS}`,
  },
  put: {
    run: put,
    help: `usage: docket put [tube] [--priority N] [--delay SECONDS] [--ttr SECONDS] [--url URL] [--json] < file

Adds standard input, whole, as one job; prints its id.

  --priority N      0 (most urgent) to 4294967295, default 1024
  --delay SECONDS   before the job is ready, default 0
  --ttr SECONDS     lease length of each reservation, default 60
${ADDRESS}`,
  },
  tail: {
    run: tail,
    help: `usage: docket tail [tube] [--delete] [--count N] [--timeout SECONDS] [--url URL] [--json]

Reserves jobs as they arrive and prints each (one JSON line each with --json), until Ctrl-C.
With --delete each is deleted once printed. Without it the jobs are held and given back
when the tail ends, without using an attempt, so each is printed once (beanstalkd protocol
only: on Redis a give-back uses an attempt, so tail there needs --delete).

  --delete           delete each job after printing it
  --count N          stop after N jobs
  --timeout SECONDS  stop after SECONDS without a job (default: wait forever)
${ADDRESS}`,
  },
  dashboard: {
    run: serveDashboard,
    help: `usage: docket dashboard [tube...] --url URL [--port N] [--host HOST] [--actions]

Serves the web dashboard (and /metrics) over the tubes named, or every tube the server has
now, until Ctrl-C.

  --port N     default 3000 (0: any free port)
  --host HOST  default 127.0.0.1
  --actions    allow redrive, remove, kick, pause, purge from the page
${ADDRESS}`,
  },
} as const;

const USAGE = `usage: docket <command> [arguments] [--url URL] [--json]

Commands:
  stats [tube]                     counts per state, of one tube or all
  peek ready|delayed|buried [tube] the next job in that state
  kick N [tube]                    N buried (or delayed) jobs back to ready
  put [tube] < file                standard input as one job
  tail [tube]                      print jobs as they arrive (--delete, or release)
  dashboard --url URL              the web dashboard for a server

docket <command> --help for each.
`;

const BOOLEAN_FLAGS = new Set(['json', 'help', 'delete', 'actions']);

function isCommand(name: string | undefined): name is keyof typeof COMMANDS {
  return name !== undefined && Object.hasOwn(COMMANDS, name);
}

/**
 * Runs the command line `argv` (without node and the script) and resolves its exit status:
 * 0 done, 1 failed or nothing found, 2 a usage error.
 */
export async function run(argv: readonly string[], io: Io): Promise<number> {
  let command: string | undefined;
  try {
    const args = parseArgs(argv, BOOLEAN_FLAGS);
    command = args.command;
    if (!isCommand(command)) {
      if (command === undefined || command === 'help' || args.flags.has('help')) {
        io.out(USAGE);
        return command === undefined && !args.flags.has('help') ? 2 : 0;
      }
      throw new UsageError(`unknown command ${JSON.stringify(command)}`);
    }
    if (args.flags.has('help')) {
      io.out(`${COMMANDS[command].help}\n`);
      return 0;
    }
    return await COMMANDS[command].run(args, io);
  } catch (error) {
    if (error instanceof UsageError) {
      io.err(`docket: ${error.message}\n${isCommand(command) ? COMMANDS[command].help : USAGE}\n`);
      return 2;
    }
    // Errors of ours carry a message meant for the user (a refused connection names the
    // address); anything else is a bug, and its stack helps the report.
    io.err(`docket: ${error instanceof DocketError ? error.message : error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`);
    if (error instanceof DocketError && error.code === ErrorCode.Connection) io.err('is the server running there? --url sets the address\n');
    return 1;
  }
}
