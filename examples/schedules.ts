// Schedules: a cron rule in Berlin time across the night the clocks go back, an `every`
// rule, and a journal restart in the middle that loses and duplicates nothing. A manual
// clock plays two days in a moment.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ManualClock } from 'docket';
import { cron } from 'docket/cron';
import { journalOf, openQueue } from 'docket/journal';

const dir = mkdtempSync(join(tmpdir(), 'docket-schedules-'));
const file = join(dir, 'jobs.journal');
let clock = new ManualClock(Date.parse('2026-10-24T12:00:00Z'));
const hhmm = (at: number) => new Date(at).toLocaleString('en-GB', { timeZone: 'Europe/Berlin', timeZoneName: 'short' });

async function start(): Promise<Awaited<ReturnType<typeof openQueue<{ kind: string }>>>> {
  const q = await openQueue<{ kind: string }>(file, { clock, cron });
  q.process((job) => console.log(`  ${hhmm(clock.now())}  ${job.data.kind}`));
  // What an application does at every start: upsert its schedules. After a restart this adds nothing.
  await q.schedule('nightly', cron('30 2 * * *', { tz: 'Europe/Berlin' }), { kind: 'nightly report' });
  await q.schedule('six-hourly', { every: 6 * 3_600_000 }, { kind: 'six-hourly sync' });
  return q;
}

let q = await start();
for (const s of q.schedules()) console.log(`  ${s.id}: next ${hhmm(s.next ?? 0)}`);
clock.advance(16 * 3_600_000); // to Sunday 06:00 CET, through the fall-back night
await new Promise((resolve) => setImmediate(resolve));

console.log('  -- the process dies; 20 hours pass; it starts again --');
await journalOf(q)?.close(); // what a kill leaves: the journal's files, nothing else
clock = new ManualClock(clock.now() + 20 * 3_600_000); // a new process, a new clock
q = await start();
clock.advance(60_000); // the six-hourly job missed three slots while down: it runs once
await new Promise((resolve) => setImmediate(resolve));
console.log(`  ${q.schedules().length} schedules, ${q.size} pending jobs after the restart`);
for (const s of q.schedules()) console.log(`  ${s.id}: next ${hhmm(s.next ?? 0)}`);

await q.unschedule('nightly');
await q.unschedule('six-hourly');
await q.close();
rmSync(dir, { recursive: true, force: true });
