import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { JobQueue } from '../contract.js';
import { dashboard } from '../dashboard/handler.js';
import type { DashboardJobStats } from '../dashboard/types.js';
import { intFlag, stringFlag, UsageError, type ParsedArgs } from './args.js';
import { listTubes, openQueue, targetOf, type CliQueue, type Target } from './open-queue.js';
import { formatFields, formatTable, showBody } from './table.js';

/** Where a command reads and writes: the process's streams, or a test's. */
export interface Io {
  out(text: string): void;
  err(text: string): void;
  stdin: AsyncIterable<Uint8Array | string> & { isTTY?: boolean };
  /** Ends a command that runs until interrupted (`tail`, `dashboard`): Ctrl-C, or a test. */
  signal: AbortSignal;
}

type Command = (args: ParsedArgs, io: Io) => Promise<number>;

const STATE_COUNTS = ['ready', 'delayed', 'reserved', 'buried'] as const;

function json(io: Io, value: unknown): void {
  io.out(`${JSON.stringify(value, null, 2)}\n`);
}

function targetFrom(args: ParsedArgs): Target {
  return targetOf(args.flags.has('url') ? stringFlag(args, 'url', '') : undefined);
}

async function withQueue<R>(args: ParsedArgs, tube: string | undefined, use: (queue: CliQueue) => Promise<R>): Promise<R> {
  const queue = await openQueue(targetFrom(args), tube);
  try {
    return await use(queue);
  } finally {
    await queue.close({ timeout: 0 });
  }
}

/** `stats [tube]`: one tube's counts, or every tube's (beanstalkd protocol) in a table. */
export const stats: Command = async (args, io) => {
  const [tube] = args.positionals;
  const tubes = tube !== undefined ? [tube] : await listTubes(targetFrom(args));
  const all = [];
  for (const name of tubes) all.push(await withQueue(args, name, async (q) => q.stats()));
  if (args.flags.has('json')) {
    json(io, tube !== undefined ? all[0] : all);
  } else if (tube !== undefined) {
    io.out(
      formatFields(Object.entries(all[0]).filter((entry): entry is [string, string | number] => typeof entry[1] === 'string' || typeof entry[1] === 'number')),
    );
  } else {
    io.out(
      formatTable(
        ['tube', ...STATE_COUNTS, 'added'],
        all.map((s) => [s.name, s.ready, s.delayed, s.reserved, s.buried, s.added]),
      ),
    );
  }
  return 0;
};

const PEEKS = { ready: 'peekReady', delayed: 'peekDelayed', buried: 'peekBuried' } as const;

function recordFields(record: DashboardJobStats | undefined): Array<[string, string | number]> {
  if (record === undefined) return [];
  return [
    ['state', record.state],
    ['priority', record.priority],
    ['age', `${Math.round(record.age / 1000)}s`],
    ['delay', `${Math.round(record.delay / 1000)}s`],
    ['ttr', `${Math.round(record.ttr / 1000)}s`],
    ['time-left', `${Math.round(record.timeLeft / 1000)}s`],
    ['reserves', record.reserves],
    ['timeouts', record.timeouts],
    ['releases', record.releases],
    ['buries', record.buries],
    ['kicks', record.kicks],
  ];
}

/** `peek ready|delayed|buried [tube]`: the next job in that state, with its record and body. */
export const peek: Command = async (args, io) => {
  const [state, tube] = args.positionals;
  if (state !== 'ready' && state !== 'delayed' && state !== 'buried')
    throw new UsageError(`peek what: ready, delayed or buried, got ${JSON.stringify(state ?? '')}`);
  return withQueue(args, tube, async (q) => {
    const job = await q[PEEKS[state]]();
    if (job === undefined) {
      if (args.flags.has('json')) json(io, null);
      else io.err(`no ${state} job in ${q.name}\n`);
      return 1;
    }
    const record = await q.jobStats?.(job.id);
    const body = showBody(job.data);
    if (args.flags.has('json')) {
      json(io, {
        id: job.id,
        tube: q.name,
        ...record,
        body: body.encoding === 'utf8' ? body.text : Buffer.from(job.data).toString('base64'),
        encoding: body.encoding === 'utf8' ? 'utf8' : 'base64',
      });
    } else {
      io.out(
        formatFields([
          ['id', job.id],
          ['tube', q.name],
          ...recordFields(record),
          ['body', body.encoding === 'utf8' ? body.text.replace(/\n$/, '') : `(hex) ${body.text}`],
        ]),
      );
    }
    return 0;
  });
};

/** `kick N [tube]`: up to N buried jobs (or, when none is buried, delayed ones) back to ready. */
export const kick: Command = async (args, io) => {
  const [count, tube] = args.positionals;
  const bound = Number(count);
  if (count === undefined || !Number.isSafeInteger(bound) || bound < 0)
    throw new UsageError(`kick how many: a whole number, got ${JSON.stringify(count ?? '')}`);
  return withQueue(args, tube, async (q) => {
    const kicked = await q.kick(bound);
    if (args.flags.has('json')) json(io, { tube: q.name, kicked });
    else io.out(`kicked ${kicked} job${kicked === 1 ? '' : 's'} in ${q.name}\n`);
    return 0;
  });
};

async function readAll(stdin: Io['stdin']): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for await (const chunk of stdin) chunks.push(typeof chunk === 'string' ? Buffer.from(chunk) : Buffer.from(chunk));
  return Buffer.concat(chunks);
}

/** `put [tube] < file`: standard input, whole, as one job. */
export const put: Command = async (args, io) => {
  const [tube] = args.positionals;
  if (io.stdin.isTTY === true) throw new UsageError('put reads the job from standard input: docket put [tube] < file');
  const priority = intFlag(args, 'priority', 1024);
  const delay = intFlag(args, 'delay', 0);
  const ttr = intFlag(args, 'ttr', 60, 1);
  const body = await readAll(io.stdin);
  return withQueue(args, tube, async (q) => {
    const job = await q.add(body, { priority, delay: delay * 1000, ttr: ttr * 1000 });
    if (args.flags.has('json')) json(io, { tube: q.name, id: job.id });
    else io.out(`inserted ${job.id} into ${q.name}\n`);
    return 0;
  });
};

/**
 * `tail [tube]`: reserves jobs as they come and prints each. With `--delete` each is deleted
 * once printed. Otherwise they are held until the tail ends and given back by closing the
 * connection, which the protocol does without counting an attempt (a `release` would count
 * one on a docket queue with limited attempts); each is printed once. Redis has no uncounted
 * give-back, so there `--delete` is required.
 */
export const tail: Command = async (args, io) => {
  const [tube] = args.positionals;
  const remove = args.flags.has('delete');
  const limit = intFlag(args, 'count', Number.MAX_SAFE_INTEGER, 1, Number.MAX_SAFE_INTEGER);
  const idle = intFlag(args, 'timeout', 0, 0);
  if (!remove && targetFrom(args).kind === 'redis') {
    throw new UsageError('tail on Redis needs --delete: giving a job back there uses one of its attempts (docket peek shows a job without taking it)');
  }
  return withQueue(args, tube, async (q) => {
    const printed = new Set<number>();
    while (printed.size < limit && !io.signal.aborted) {
      const job = await q.reserve({ signal: io.signal, timeout: idle === 0 ? undefined : idle * 1000 });
      if (job === undefined) break;
      // A job seen before came back because its lease ran out: it is held again, not printed again.
      if (!printed.has(job.id)) {
        printed.add(job.id);
        const body = showBody(job.data);
        if (args.flags.has('json'))
          io.out(
            `${JSON.stringify({ id: job.id, body: body.encoding === 'utf8' ? body.text : Buffer.from(job.data).toString('base64'), encoding: body.encoding === 'utf8' ? 'utf8' : 'base64' })}\n`,
          );
        else io.out(`#${job.id}  ${body.encoding === 'utf8' ? body.text.replace(/\n$/, '') : `(hex) ${body.text}`}\n`);
      }
      if (remove) await job.ack();
    }
    return 0;
  });
};

/** `dashboard`: serves the web dashboard over the server's tubes until Ctrl-C. */
export const serveDashboard: Command = async (args, io) => {
  const target = targetFrom(args);
  const port = intFlag(args, 'port', 3000, 0, 65535);
  const host = stringFlag(args, 'host', '127.0.0.1');
  const names = args.positionals.length > 0 ? args.positionals : await listTubes(target);
  const queues: Record<string, JobQueue<unknown>> = {};
  try {
    for (const name of names) queues[name] = await openQueue(target, name);
    const handler = dashboard({ queues, actions: args.flags.has('actions') });
    const server = createServer(handler);
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(port, host, resolve);
    });
    const { port: bound } = server.address() as AddressInfo;
    io.out(`docket dashboard for ${target.url} (${names.join(', ')}) on http://${host}:${bound}/ — Ctrl-C to stop\n`);
    await new Promise<void>((resolve) => {
      if (io.signal.aborted) resolve();
      io.signal.addEventListener('abort', () => resolve(), { once: true });
    });
    handler.close();
    server.closeAllConnections();
    await new Promise<void>((resolve) => server.close(() => resolve()));
    return 0;
  } finally {
    await Promise.all(Object.values(queues).map((q) => q.close({ timeout: 0 })));
  }
};
