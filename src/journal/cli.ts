#!/usr/bin/env node
// docket-journal: look inside a journal without opening the queue (read-only).
//
//   docket-journal stats <file> [--json]
//   docket-journal dump  <file> [--codec json|text|raw]     one JSON line per live job
//   docket-journal verify <file>                             exit 0 if clean, 1 if damaged
import { jsonCodec, rawCodec, textCodec, type Codec } from '../codec.js';
import { inspectJournal, type JournalInspection } from './inspect.js';

const USAGE = `usage: docket-journal <stats|dump|verify> <file> [--json] [--codec json|text|raw]

  stats   file size, records, live jobs per state, damage (read-only)
  dump    every live job as one JSON line (payload decoded with --codec, default json)
  verify  exit status 0 if every byte is a valid record, 1 otherwise
`;

function codecOf(name: string | undefined): Codec<unknown> {
  if (name === undefined || name === 'json') return jsonCodec;
  if (name === 'text') return textCodec as Codec<unknown>;
  if (name === 'raw') return rawCodec as Codec<unknown>;
  throw new Error(`unknown codec ${name}`);
}

function describe(info: JournalInspection): string {
  const lines = [
    `file      ${info.path}${info.exists ? '' : ' (does not exist)'}`,
    `bytes     ${info.bytes} (valid prefix ${info.validBytes})`,
    `header    ${info.header}`,
    `records   ${info.records} (last sequence number ${info.lastSeq}; ${info.orphans} for jobs no longer present)`,
    `jobs      ${info.jobs.length}: ready ${info.states.ready}, delayed ${info.states.delayed}, reserved ${info.states.reserved} (come back ready), buried ${info.states.buried}`,
  ];
  const d = info.damage;
  lines.push(
    d === undefined
      ? 'damage    none'
      : `damage    ${d.kind} at offset ${d.offset} (${d.reason}), ${d.droppedBytes} bytes would be dropped on open` +
          (d.nextValidOffset === undefined ? '' : `; valid records resume at ${d.nextValidOffset}`),
  );
  return `${lines.join('\n')}\n`;
}

function replacer(_key: string, value: unknown): unknown {
  if (value === Infinity) return 'Infinity';
  if (value instanceof Uint8Array) return { base64: Buffer.from(value).toString('base64') };
  return value;
}

async function main(argv: string[]): Promise<number> {
  const [command, file, ...rest] = argv;
  const flag = (name: string): string | undefined => {
    const at = rest.indexOf(name);
    return at < 0 ? undefined : rest[at + 1];
  };
  if (command === undefined || file === undefined || !['stats', 'dump', 'verify'].includes(command)) {
    process.stderr.write(USAGE);
    return 2;
  }
  const info = await inspectJournal(file, { codec: codecOf(flag('--codec')) });
  if (command === 'stats') {
    if (rest.includes('--json')) {
      const { jobs, ...summary } = info;
      process.stdout.write(`${JSON.stringify({ ...summary, liveJobs: jobs.length }, replacer)}\n`);
    } else {
      process.stdout.write(describe(info));
    }
    return 0;
  }
  if (command === 'dump') {
    for (const job of info.jobs) process.stdout.write(`${JSON.stringify(job, replacer)}\n`);
    return 0;
  }
  const clean = info.exists && info.header === 'ok' && info.damage === undefined;
  process.stdout.write(describe(info));
  return clean ? 0 : 1;
}

// `docket-journal dump file | head`: a closed pipe ends the output, not with a crash.
process.stdout.on('error', (error: NodeJS.ErrnoException) => {
  if (error.code === 'EPIPE') process.exit(0);
  throw error;
});

main(process.argv.slice(2)).then(
  (code) => {
    process.exitCode = code;
  },
  (error: unknown) => {
    process.stderr.write(`docket-journal: ${error instanceof Error ? error.message : String(error)}\n`);
    process.exitCode = 2;
  },
);
