/**
 * `npm run bench [suite ...] [--rounds N] [--timeout S]`
 *
 * Loads `bench/suites/*.ts` (or the suites named), runs every subject of every row once per
 * round, each run in a fresh node process, rotating the order of the subjects from round to
 * round so that no one always runs first (warm CPU, cold cache...). Prints a markdown table
 * per suite with the median of each subject and the ratio docket/peer, and writes it with
 * the machine and date to `bench/results/<suite>.md`. A case that crashes is reported with
 * its stderr and dropped from the later rounds; the others go on.
 */
import { spawn } from 'node:child_process';
import { mkdirSync, readdirSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import type { CaseResult, Row, Subject, Suite } from './harness.js';

const benchDir = path.dirname(fileURLToPath(import.meta.url));
const rootDir = path.dirname(benchDir);

interface Options {
  rounds: number;
  timeoutMs: number;
  suites: string[];
}

function usage(message?: string): never {
  if (message !== undefined) process.stderr.write(`${message}\n`);
  process.stderr.write('usage: npm run bench -- [suite ...] [--rounds N] [--timeout SECONDS]\n');
  process.stderr.write(`suites: ${allSuites().join(', ')}\n`);
  process.exit(2);
}

function allSuites(): string[] {
  return readdirSync(path.join(benchDir, 'suites'))
    .filter((f) => f.endsWith('.ts'))
    .map((f) => f.slice(0, -3))
    .sort();
}

function parseOptions(argv: string[]): Options {
  const options: Options = { rounds: 5, timeoutMs: 600_000, suites: [] };
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    if (a === '--rounds' || a === '--timeout') {
      const n = Number(argv[++i]);
      if (!Number.isInteger(n) || n < 1) usage(`${a} needs a positive integer, got ${argv[i]}`);
      if (a === '--rounds') options.rounds = n;
      else options.timeoutMs = n * 1000;
    } else if (a === '--help' || a === '-h') {
      usage();
    } else if (a.startsWith('-')) {
      usage(`unknown option ${a}`);
    } else {
      options.suites.push(a);
    }
  }
  const known = allSuites();
  for (const s of options.suites) if (!known.includes(s)) usage(`unknown suite ${s}`);
  if (options.suites.length === 0) options.suites = known;
  return options;
}

type Outcome = { kind: 'value'; value: number; extra?: Record<string, unknown> } | { kind: 'skip'; reason: string } | { kind: 'error'; message: string };

/** Runs one subject in a fresh process and reads its last stdout line. */
function runSubject(subject: Subject, timeoutMs: number): Promise<Outcome> {
  const script = path.join(benchDir, subject.script);
  const argv = [...(subject.nodeArgs ?? []), '--import', 'tsx', script, ...(subject.args ?? [])];
  return new Promise((resolve) => {
    const child = spawn(process.execPath, argv, { cwd: rootDir, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.setEncoding('utf8').on('data', (d: string) => (stdout += d));
    child.stderr.setEncoding('utf8').on('data', (d: string) => (stderr += d));
    let timedOut = false;
    const timer = setTimeout(() => {
      timedOut = true;
      child.kill('SIGKILL');
    }, timeoutMs);
    child.on('error', (error) => {
      clearTimeout(timer);
      resolve({ kind: 'error', message: `cannot start node: ${error.message}` });
    });
    child.on('close', (code, signal) => {
      clearTimeout(timer);
      const tail = stderr.trim().split('\n').slice(-30).join('\n');
      const command = `node ${argv.join(' ')}`;
      if (timedOut) return resolve({ kind: 'error', message: `timed out after ${timeoutMs / 1000}s: ${command}\n${tail}` });
      if (code !== 0) {
        return resolve({ kind: 'error', message: `exited with ${signal ?? `code ${code}`}: ${command}\n${tail}` });
      }
      const last = stdout.trim().split('\n').pop() ?? '';
      let parsed: CaseResult;
      try {
        parsed = JSON.parse(last) as CaseResult;
      } catch {
        return resolve({ kind: 'error', message: `last stdout line is not JSON: ${JSON.stringify(last)}: ${command}\n${tail}` });
      }
      if ('skip' in parsed) return resolve({ kind: 'skip', reason: String(parsed.skip) });
      if (typeof parsed.value !== 'number' || !Number.isFinite(parsed.value)) {
        return resolve({ kind: 'error', message: `no finite "value" in ${last}: ${command}` });
      }
      resolve({ kind: 'value', value: parsed.value, extra: parsed.extra });
    });
  });
}

/** What one subject collected over the rounds. */
interface Tally {
  values: number[];
  flags: Set<string>;
  skip?: string;
  error?: string;
}

function median(values: number[]): number {
  const s = values.slice().sort((a, b) => a - b);
  const mid = s.length >> 1;
  return s.length % 2 === 1 ? s[mid] : (s[mid - 1] + s[mid]) / 2;
}

function formatNumber(n: number): string {
  const abs = Math.abs(n);
  if (abs >= 1e9) return `${(n / 1e9).toFixed(2)}G`;
  if (abs >= 1e6) return `${(n / 1e6).toFixed(2)}M`;
  if (abs >= 1e4) return `${(n / 1e3).toFixed(1)}k`;
  if (abs >= 100) return n.toFixed(0);
  return n.toFixed(2);
}

function cell(text: string): string {
  return text.replace(/\|/g, '\\|').replace(/\n/g, ' ');
}

function machine(): string {
  const cpus = os.cpus();
  return [
    `${os.type()} ${os.release()} ${os.arch()}`,
    `${cpus[0]?.model.trim() ?? 'unknown cpu'}`,
    `${cpus.length} cores`,
    `${Math.round(os.totalmem() / 2 ** 30)} GiB`,
    `node ${process.version}`,
  ].join(', ');
}

function rowTable(row: Row, tallies: Map<Subject, Tally>): string[] {
  const lines: string[] = [];
  const docket = row.subjects.find((s) => s.docket === true);
  const docketTally = docket === undefined ? undefined : tallies.get(docket);
  const docketMedian = docketTally !== undefined && docketTally.values.length > 0 ? median(docketTally.values) : undefined;
  lines.push(`#### ${row.name}`, '');
  if (row.target !== undefined) lines.push(`Target: ${row.target}`, '');
  lines.push(`| subject | median ${row.unit} | spread | runs | docket / subject | notes |`);
  lines.push('| --- | ---: | ---: | ---: | ---: | --- |');
  for (const subject of row.subjects) {
    const t = tallies.get(subject)!;
    const notes = subject.note === undefined ? [] : [subject.note];
    notes.push(...t.flags);
    if (t.skip !== undefined) notes.push(`skipped: ${t.skip}`);
    if (t.error !== undefined) notes.push(`FAILED: ${t.error.split('\n')[0]}`);
    let value = '-';
    let spread = '-';
    let ratio = '';
    if (t.values.length > 0) {
      const m = median(t.values);
      value = formatNumber(m);
      spread = m === 0 ? '-' : `±${((100 * (Math.max(...t.values) - Math.min(...t.values))) / 2 / m).toFixed(0)}%`;
      if (subject !== docket && docketMedian !== undefined && m !== 0) {
        const r = docketMedian / m;
        ratio = `${r.toFixed(2)}x`;
        const want = row.targetRatio?.[subject.label];
        if (want !== undefined) {
          const ok = row.higherIsBetter ? r >= want : r <= want;
          ratio += ok ? ' ok' : ` MISSED (${row.higherIsBetter ? '>=' : '<='} ${want})`;
        }
      }
    }
    const label = subject === docket ? `**${subject.label}**` : subject.label;
    lines.push(`| ${cell(label)} | ${value} | ${spread} | ${t.values.length} | ${ratio} | ${cell(notes.join('; '))} |`);
  }
  lines.push('', `${row.higherIsBetter ? 'Higher' : 'Lower'} is better; docket / subject ${row.higherIsBetter ? '> 1' : '< 1'} means docket wins.`, '');
  return lines;
}

async function runSuite(name: string, options: Options): Promise<void> {
  const url = pathToFileURL(path.join(benchDir, 'suites', `${name}.ts`)).href;
  const suite = ((await import(url)) as { default: Suite }).default;
  const tallies = new Map<Subject, Tally>();
  for (const row of suite.rows) for (const s of row.subjects) tallies.set(s, { values: [], flags: new Set() });
  const started = new Date();
  const log = (line: string): void => void process.stderr.write(`${line}\n`);

  for (let round = 0; round < options.rounds; round++) {
    for (const row of suite.rows) {
      const n = row.subjects.length;
      for (let k = 0; k < n; k++) {
        // Rotate the starting subject each round: interleaved, not back to back.
        const subject = row.subjects[(k + round) % n];
        const t = tallies.get(subject)!;
        if (t.error !== undefined || t.skip !== undefined) continue;
        const outcome = await runSubject(subject, options.timeoutMs);
        const where = `[${name} ${round + 1}/${options.rounds}] ${row.name} / ${subject.label}`;
        if (outcome.kind === 'error') {
          t.error = outcome.message;
          log(`${where}: FAILED (dropped from later rounds)\n${outcome.message.replace(/^/gm, '    ')}`);
        } else if (outcome.kind === 'skip') {
          t.skip = outcome.reason;
          log(`${where}: skipped: ${outcome.reason}`);
        } else {
          t.values.push(outcome.value);
          const problem = row.check !== undefined && outcome.extra !== undefined ? row.check(outcome.extra, subject) : undefined;
          if (row.check !== undefined && outcome.extra === undefined) t.flags.add('no extra reported to check');
          if (problem !== undefined) t.flags.add(problem);
          const extra = outcome.extra === undefined ? '' : ` ${JSON.stringify(outcome.extra)}`;
          log(`${where}: ${formatNumber(outcome.value)} ${row.unit}${extra}${problem === undefined ? '' : ` FLAGGED: ${problem}`}`);
        }
      }
    }
  }

  const lines = [`### ${suite.title}`, ''];
  if (suite.description !== undefined) lines.push(suite.description, '');
  lines.push(
    `Machine: ${machine()}  `,
    `Date: ${started.toISOString()}; ${options.rounds} round(s), median per subject, each run a fresh process` +
      `${process.env.BENCH_SCALE ? `; BENCH_SCALE=${process.env.BENCH_SCALE}` : ''}`,
    '',
  );
  for (const row of suite.rows) lines.push(...rowTable(row, tallies));
  const text = lines.join('\n');
  process.stdout.write(`\n${text}\n`);
  mkdirSync(path.join(benchDir, 'results'), { recursive: true });
  writeFileSync(path.join(benchDir, 'results', `${name}.md`), `${text}\n`);

  const failed = [...tallies.entries()].filter(([, t]) => t.error !== undefined);
  for (const [subject, t] of failed) {
    process.stderr.write(`\n${name}: ${subject.label} (${subject.script} ${(subject.args ?? []).join(' ')}) failed:\n${t.error}\n`);
  }
  // The tables are written anyway; the exit code tells scripts that something did not run.
  if (failed.length > 0) process.exitCode = 1;
}

const options = parseOptions(process.argv.slice(2));
for (const name of options.suites) await runSuite(name, options);
