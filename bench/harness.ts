/**
 * The bench convention, shared by `bench/run.ts` (the runner) and the case scripts in
 * `bench/cases/`. A suite (`bench/suites/<name>.ts`) default-exports a {@link Suite}; each
 * {@link Subject} is one case script run in a fresh `node` process, which prints one final
 * JSON line (see {@link report} / {@link skip}). See bench/README.md.
 *
 * This module is imported by every case script, so it holds no heavy imports.
 */
import { seededRandom as mulberry32 } from '../test/helpers/random.js';

/** One side of a comparison: a case script plus its arguments. */
export interface Subject {
  /** Shown in the table, e.g. `'docket'`, `'fastq'`. */
  label: string;
  /** Path of the case script relative to `bench/`, e.g. `'cases/heap-push-pop.ts'`. */
  script: string;
  /** Arguments passed to the script (`process.argv.slice(2)` there). */
  args?: string[];
  /** Extra node flags, e.g. `['--expose-gc']` for memory cases. */
  nodeArgs?: string[];
  /** Marks docket's own subject: every other subject of the row is a peer it is compared with. */
  docket?: boolean;
  /** Shown in the table's notes column, e.g. why this subject runs a smaller size. */
  note?: string;
}

/** One line of comparison: the same work done by docket and its peers. */
export interface Row {
  name: string;
  /** What docket should reach, as text for the table, e.g. `'>= 1.0x tinyqueue'`. */
  target?: string;
  /**
   * Optional machine check of the target: peer label to the ratio docket/peer that docket must
   * reach (at least, when `higherIsBetter`; at most otherwise). Shown as ok / MISSED.
   */
  targetRatio?: Record<string, number>;
  /** Unit of the values the scripts report, e.g. `'ops/s'`, `'bytes/job'`. */
  unit: string;
  higherIsBetter: boolean;
  subjects: Subject[];
  /**
   * Optional check of each run's `extra` (e.g. order violations). Returns a problem to flag in
   * the table, or undefined when the run is fine.
   */
  check?: (extra: Record<string, unknown>, subject: Subject) => string | undefined;
}

export interface Suite {
  title: string;
  /** Printed under the title in the results file: what is measured and how. */
  description?: string;
  rows: Row[];
}

/** What a case script prints as its last stdout line. */
export type CaseResult = { value: number; extra?: Record<string, unknown> } | { skip: string };

// ---------------------------------------------------------------------------------------------
// Helpers for case scripts.

/** Prints the result line. Call once, at the end; nothing may be printed to stdout after it. */
export function report(value: number, extra?: Record<string, unknown>): void {
  const result: CaseResult = extra === undefined ? { value } : { value, extra };
  process.stdout.write(`${JSON.stringify(result)}\n`);
}

/** Prints a refusal (e.g. a server is not installed); the runner shows the reason and moves on. */
export function skip(reason: string): void {
  process.stdout.write(`${JSON.stringify({ skip: reason } satisfies CaseResult)}\n`);
}

/**
 * Runs a case's main function, turning a throw or rejection into a non-zero exit with the
 * stack on stderr (which the runner shows).
 */
export function main(fn: () => unknown): void {
  Promise.resolve()
    .then(fn)
    .catch((error: unknown) => {
      process.stderr.write(`${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`);
      process.exit(1);
    });
}

/**
 * `n` multiplied by the `BENCH_SCALE` environment variable (default 1), at least 1. Lets a
 * smoke run use smaller sizes: `BENCH_SCALE=0.1 npm run bench heap`.
 */
export function scaled(n: number): number {
  const raw = process.env.BENCH_SCALE;
  const factor = raw === undefined || raw === '' ? 1 : Number(raw);
  if (!Number.isFinite(factor) || factor <= 0) throw new Error(`BENCH_SCALE must be a positive number, got ${raw}`);
  return Math.max(1, Math.round(n * factor));
}

/** The case's arguments (after the script path). */
export function args(): string[] {
  return process.argv.slice(2);
}

/**
 * Picks the implementation named by the first argument from `table`; throws listing the known
 * names otherwise.
 */
export function pick<V>(table: Record<string, V>, name: string | undefined = args()[0]): V {
  if (name === undefined || !Object.hasOwn(table, name)) {
    throw new Error(`unknown subject ${JSON.stringify(name)}; expected one of: ${Object.keys(table).join(', ')}`);
  }
  return table[name];
}

/** Milliseconds taken by `fn` (awaited when it returns a promise). */
export async function timeMs(fn: () => unknown): Promise<number> {
  const start = performance.now();
  await fn();
  return performance.now() - start;
}

/**
 * Runs `fn` and returns the CPU time this process spent in it (user + system, every thread:
 * the garbage collector's helpers count), in milliseconds, along with the wall time. For
 * single-process cases on a shared machine: wall time there mostly measures how long the
 * process waited for a core, CPU time what the work cost.
 */
export async function cpuTimeMs(fn: () => unknown): Promise<{ cpuMs: number; wallMs: number }> {
  const wallStart = performance.now();
  const cpuStart = process.cpuUsage();
  await fn();
  const used = process.cpuUsage(cpuStart);
  return { cpuMs: (used.user + used.system) / 1000, wallMs: performance.now() - wallStart };
}

/** Operations per second from a count and milliseconds. */
export function perSecond(count: number, ms: number): number {
  return (count * 1000) / ms;
}

/**
 * A seeded PRNG (mulberry32), so that every subject of a row sees the same random numbers.
 * @returns a function giving floats in [0, 1)
 */
export function seededRandom(seed = 0x9e3779b9): () => number {
  return mulberry32(seed);
}

/**
 * Heap bytes in use after a full collection. Needs `nodeArgs: ['--expose-gc']` on the subject.
 */
export function heapUsedAfterGc(): number {
  const gc = (globalThis as { gc?: () => void }).gc;
  if (gc === undefined) throw new Error('heapUsedAfterGc() needs node --expose-gc (set nodeArgs on the subject)');
  // Several passes: weak callbacks and finalizers can free more on the next one.
  for (let i = 0; i < 3; i++) gc();
  return process.memoryUsage().heapUsed;
}
