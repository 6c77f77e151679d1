/**
 * Groups: `node --import tsx bench/cases/queue-groups.ts <subject> <jobs> <groups>`
 *
 * subject:
 * - `throughput`: `jobs` no-op async jobs spread round-robin over `groups` groups
 *   (`groups` 0: no group at all, the plain FIFO path), all queued in a paused queue, then
 *   run by `process()` at concurrency 64 with `groupConcurrency` 1. Jobs per CPU-second over
 *   the whole (add + run); `extra.outOfOrder` counts jobs that ran before an older job of
 *   their group (must be 0).
 * - `limited`: the same as `throughput` with `groups` 0, on a queue with a `limiter` that
 *   never binds (`max` = every job, over an hour): what the sliding window's bookkeeping
 *   costs per start.
 * - `fairness`: `groups` groups with `jobs / groups` jobs each, queued in a paused queue and
 *   run at concurrency 16, each group's handler taking as long (a microtask). When half of
 *   the jobs have completed, each group's share of the completions is taken: the value is
 *   the spread (largest share - smallest) in % of the mean share. Perfect turns give 0.
 * - `starvation`: one group with `jobs` jobs, then `groups` groups of 3 jobs each, added
 *   after it; the value is how many jobs completed before the small groups' last one, as a
 *   multiple of the ideal 3 x (groups + 1): three turns, each one job of every group, the
 *   big one included. 1 is ideal; a FIFO would complete all of the big group first.
 */
import { cpuTimeMs, main, perSecond, pick, report, scaled } from '../harness.js';
import { loadQueue } from './queue-docket.js';

interface Payload {
  i: number;
  group: number;
}

const [, jobsArg = '1000000', groupsArg = '100000'] = process.argv.slice(2);
const jobs = scaled(Number(jobsArg));
const groups = Number(groupsArg);

async function throughput(limited: boolean): Promise<void> {
  const Queue = await loadQueue();
  const names = Array.from({ length: groups }, (_, g) => `tenant-${g}`);
  const lastSeen = new Int32Array(Math.max(groups, 1)).fill(-1);
  let outOfOrder = 0;
  let ran = 0;
  const { cpuMs, wallMs } = await cpuTimeMs(async () => {
    const q = new Queue<Payload>({ concurrency: 64, limiter: limited ? { max: jobs, duration: 3_600_000 } : undefined });
    q.pause();
    q.process(async (job) => {
      const { i, group } = job.data;
      if (group >= 0) {
        if (i < lastSeen[group]) outOfOrder++;
        lastSeen[group] = i;
      }
      ran++;
    });
    if (groups === 0) for (let i = 0; i < jobs; i++) q.push({ i, group: -1 });
    else for (let i = 0; i < jobs; i++) q.push({ i, group: i % groups }, { group: names[i % groups] });
    q.resume();
    await q.onIdle();
    await q.close();
  });
  if (ran !== jobs) throw new Error(`${ran} jobs ran, expected ${jobs}`);
  report(perSecond(jobs, cpuMs), { jobs, groups, limited, outOfOrder, cpuMs: Math.round(cpuMs), wallMs: Math.round(wallMs) });
}

const subjects: Record<string, () => Promise<void>> = {
  throughput: () => throughput(false),
  limited: () => throughput(true),
  fairness: async () => {
    const Queue = await loadQueue();
    const completed = new Array<number>(groups).fill(0);
    let done = 0;
    let spread = Number.NaN;
    const q = new Queue<Payload>({ concurrency: 16 });
    q.pause();
    q.process(async (job) => {
      await Promise.resolve();
      completed[job.data.group]++;
      if (++done === Math.floor(jobs / 2)) {
        const mean = done / groups;
        spread = ((Math.max(...completed) - Math.min(...completed)) / mean) * 100;
      }
    });
    const per = Math.floor(jobs / groups);
    // Added group after group (all of group 0, then all of group 1...): the worst order for a FIFO.
    for (let g = 0; g < groups; g++) for (let k = 0; k < per; k++) q.push({ i: g * per + k, group: g }, { group: `tenant-${g}` });
    q.resume();
    await q.onIdle();
    await q.close();
    report(spread, { jobs: per * groups, groups, perGroup: per });
  },
  starvation: async () => {
    const Queue = await loadQueue();
    let done = 0;
    let smallLeft = groups * 3;
    let before = 0;
    const q = new Queue<Payload>({ concurrency: 1 });
    q.pause();
    q.process(async (job) => {
      done++;
      if (job.data.group >= 0 && --smallLeft === 0) before = done;
    });
    for (let i = 0; i < jobs; i++) q.push({ i, group: -1 }, { group: 'big' });
    for (let g = 0; g < groups; g++) for (let k = 0; k < 3; k++) q.push({ i: k, group: g }, { group: `small-${g}` });
    q.resume();
    await q.onIdle();
    await q.close();
    report(before / (3 * (groups + 1)), { jobs, smallGroups: groups, completedBeforeLastSmall: before });
  },
};

main(async () => {
  await pick(subjects)();
});
