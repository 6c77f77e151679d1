/**
 * Prometheus metrics: the text exposition checked by Prometheus' own parser and linter
 * (`promtool check metrics`) and by the format's rules, values that follow the queue, and the
 * same metrics through prom-client's registry.
 */
import { spawnSync } from 'node:child_process';
import { Registry } from 'prom-client';
import { describe, expect, it } from 'vitest';
import { ManualClock } from '../src/clock.js';
import { Queue } from '../src/queue.js';
import { serve } from '../src/socket/server/server.js';
import { connect } from '../src/socket/client/remote-queue.js';
import { queueMetrics } from '../src/dashboard/metrics.js';
import { registerQueueMetrics } from '../src/dashboard/prom-client.js';
import { prometheusText } from '../src/dashboard/prometheus-text.js';
import { cleanupsAfterEach } from './helpers/cleanups.js';
import { startDashboard } from './helpers/dashboard.js';
import { requireBinary } from './helpers/system-binary.js';

const promtool = requireBinary({
  name: 'promtool',
  install: 'apt-get install -y --no-install-recommends prometheus',
  skipped: "the check of /metrics by Prometheus' own parser",
});

/** What `promtool check metrics` (Prometheus' text parser and linter) says about `text`: empty when it is valid. */
function promtoolSays(text: string): string {
  if (promtool === undefined) return '';
  const run = spawnSync(promtool, ['check', 'metrics'], { input: text, encoding: 'utf8' });
  return run.status === 0 ? '' : `exit ${run.status}: ${run.stdout}${run.stderr}`;
}

const cleanups = cleanupsAfterEach();

const METRIC_NAME = /^[a-zA-Z_:][a-zA-Z0-9_:]*$/;
const LABEL_NAME = /^[a-zA-Z_][a-zA-Z0-9_]*$/;
const SAMPLE =
  /^([a-zA-Z_:][a-zA-Z0-9_:]*)(\{(?:[a-zA-Z_][a-zA-Z0-9_]*="(?:[^"\\\n]|\\[\\"n])*"(?:,[a-zA-Z_][a-zA-Z0-9_]*="(?:[^"\\\n]|\\[\\"n])*")*)?\})? (\S+)$/;

/**
 * The text format's rules (exposition_formats.md, text format details): HELP and TYPE once per
 * family before its samples, names and labels by the grammar, numbers Go can parse,
 * histogram buckets cumulative with `le="+Inf"` equal to `_count`. Returns every violation.
 */
function violations(text: string): string[] {
  const problems: string[] = [];
  if (!text.endsWith('\n')) problems.push('no final newline');
  const types = new Map<string, string>();
  const seenFamilies = new Set<string>();
  let current = '';
  const buckets = new Map<string, Array<[number, number]>>();
  const counts = new Map<string, number>();
  for (const line of text.split('\n').slice(0, -1)) {
    if (line === '') continue; // blank lines are allowed between families
    const meta = /^# (HELP|TYPE) (\S+) (.*)$/.exec(line);
    if (meta !== null) {
      const [, kind, name, rest] = meta;
      if (!METRIC_NAME.test(name)) problems.push(`bad metric name ${name}`);
      if (kind === 'TYPE') {
        if (types.has(name)) problems.push(`TYPE twice for ${name}`);
        if (!['counter', 'gauge', 'histogram', 'summary', 'untyped'].includes(rest)) problems.push(`bad type ${rest}`);
        types.set(name, rest);
      }
      if (current !== name && seenFamilies.has(name)) problems.push(`family ${name} split`);
      current = name;
      seenFamilies.add(name);
      continue;
    }
    const sample = SAMPLE.exec(line);
    if (sample === null) {
      problems.push(`unparsable line: ${line}`);
      continue;
    }
    const [, name, labels = '', value] = sample;
    const family = types.has(name) ? name : name.replace(/_(bucket|sum|count)$/, '');
    if (family !== current) problems.push(`sample ${name} outside its family block`);
    if (types.get(family) === 'counter' && !name.endsWith('_total')) problems.push(`counter ${name} without _total`);
    if (!/^([+-]?(\d+(\.\d*)?|\.\d+)([eE][+-]?\d+)?|[+-]Inf|NaN)$/.test(value)) problems.push(`bad value ${value}`);
    for (const [, label] of labels.matchAll(/([a-zA-Z_][a-zA-Z0-9_]*)="/g)) if (!LABEL_NAME.test(label)) problems.push(`bad label ${label}`);
    // The series a bucket, _sum or _count belongs to: its labels without `le`, in order.
    const series = [...labels.matchAll(/([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)"/g)]
      .filter(([, key]) => key !== 'le')
      .map(([pair]) => pair)
      .sort()
      .join(',');
    if (name.endsWith('_bucket')) {
      const le = /le="([^"]*)"/.exec(labels)?.[1] ?? 'missing';
      const list = buckets.get(family + series) ?? [];
      list.push([le === '+Inf' ? Infinity : Number(le), Number(value)]);
      buckets.set(family + series, list);
    }
    if (name.endsWith('_count') && types.get(family) === 'histogram') counts.set(family + series, Number(value));
  }
  for (const [series, list] of buckets) {
    for (let i = 1; i < list.length; i++) {
      if (list[i][0] <= list[i - 1][0]) problems.push(`${series}: le not increasing`);
      if (list[i][1] < list[i - 1][1]) problems.push(`${series}: buckets not cumulative`);
    }
    const last = list[list.length - 1];
    if (last[0] !== Infinity) problems.push(`${series}: no +Inf bucket`);
    if (last[1] !== counts.get(series)) problems.push(`${series}: +Inf bucket ${last[1]} != count ${counts.get(series)}`);
  }
  return problems;
}

/** `name{label=value,...}` -> value, by the format's grammar (label values unescaped). */
function flatten(text: string): Map<string, number> {
  const out = new Map<string, number>();
  for (const line of text.split('\n')) {
    const sample = SAMPLE.exec(line);
    if (sample === null) continue;
    const [, name, labels = '', value] = sample;
    const pairs = [...labels.matchAll(/([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)"/g)].map(
      ([, key, raw]) => `${key}=${raw.replace(/\\(.)/g, (_m, c: string) => (c === 'n' ? '\n' : c))}`,
    );
    // Sorted: prom-client writes `le` first, we write it last.
    out.set(
      `${name}{${pairs.sort((a, b) => (a.startsWith('le=') ? 1 : b.startsWith('le=') ? -1 : a.localeCompare(b))).join(',')}}`,
      value === '+Inf' ? Infinity : Number(value),
    );
  }
  return out;
}

/** Every check of an exposition: Prometheus' parser and linter, and the format's rules. */
function expectValid(text: string): void {
  expect(promtoolSays(text)).toBe('');
  expect(violations(text)).toEqual([]);
}

async function drive(q: Queue<string>, clock: ManualClock): Promise<void> {
  await q.add('a');
  clock.advance(20);
  let lease = await q.reserve({ timeout: 0 });
  clock.advance(300);
  await lease?.ack();
  await q.add('b');
  clock.advance(3000);
  lease = await q.reserve({ timeout: 0 });
  clock.advance(40);
  await lease?.ack();
  await q.add('c');
  for (let i = 0; i < 2; i++) await (await q.reserve({ timeout: 0 }))?.fail(new Error('no'));
  await q.add('d');
  await q.add('e', { delay: 60_000 });
}

describe('queueMetrics', () => {
  it('follows the queue: counts per state, totals and wait / run histograms', async () => {
    const clock = new ManualClock(1_000_000);
    const q = new Queue<string>({ name: 'work', clock, retry: { attempts: 2, backoff: { type: 'fixed', delay: 0 } } });
    cleanups.push(() => q.close({ timeout: 0 }));
    const metrics = queueMetrics({ queues: { work: q } });
    cleanups.push(() => metrics.close());
    await drive(q, clock);
    const text = await metrics.text();
    expectValid(text);
    const values = flatten(text);
    expect(values.get('docket_jobs{queue=work,state=ready}')).toBe(1);
    expect(values.get('docket_jobs{queue=work,state=delayed}')).toBe(1);
    expect(values.get('docket_jobs{queue=work,state=reserved}')).toBe(0);
    expect(values.get('docket_jobs{queue=work,state=buried}')).toBe(1);
    expect(values.get('docket_jobs_completed_total{queue=work}')).toBe(2);
    expect(values.get('docket_jobs_failed_total{queue=work}')).toBe(2);
    expect(values.get('docket_jobs_retried_total{queue=work}')).toBe(1);
    expect(values.get('docket_jobs_dead_total{queue=work}')).toBe(1);
    // Waits: 20 ms and 3 s (c's retry is not a first start; c and its wait of 0 count once).
    expect(values.get('docket_job_wait_seconds_count{queue=work}')).toBe(3);
    expect(values.get('docket_job_wait_seconds_bucket{queue=work,le=0.025}')).toBe(2);
    expect(values.get('docket_job_wait_seconds_bucket{queue=work,le=2.5}')).toBe(2);
    expect(values.get('docket_job_wait_seconds_bucket{queue=work,le=5}')).toBe(3);
    expect(values.get('docket_job_wait_seconds_sum{queue=work}')).toBeCloseTo(3.02, 9);
    expect(values.get('docket_job_run_seconds_count{queue=work}')).toBe(2);
    expect(values.get('docket_job_run_seconds_bucket{queue=work,le=0.05}')).toBe(1);
    expect(values.get('docket_job_run_seconds_bucket{queue=work,le=0.25}')).toBe(1);
    expect(values.get('docket_job_run_seconds_bucket{queue=work,le=0.5}')).toBe(2);
    expect(values.get('docket_job_run_seconds_bucket{queue=work,le=+Inf}')).toBe(2);
  });

  it('escapes label values and help text so any queue name survives the parser', async () => {
    const odd = 'we"ird\\name\nline';
    const q = new Queue<string>({ name: 'odd' });
    cleanups.push(() => q.close({ timeout: 0 }));
    await q.add('x');
    const metrics = queueMetrics({ queues: { [odd]: q } });
    cleanups.push(() => metrics.close());
    const text = await metrics.text();
    expectValid(text);
    expect(flatten(text).get(`docket_jobs{queue=${odd},state=ready}`)).toBe(1);
    expect(prometheusText([{ name: 'x', help: 'a\\b\nc', type: 'gauge', samples: [] }])).toBe('# HELP x a\\\\b\\nc\n# TYPE x gauge\n');
  });

  it("reports a beanstalkd tube's counts, and no totals it cannot know", async () => {
    const local = new Queue<string>({ name: 'remote' });
    const server = await serve({ port: 0, queues: { remote: local } });
    cleanups.push(() => server.close());
    const remote = await connect<string>(`beanstalk://127.0.0.1:${server.port}/remote`);
    cleanups.push(() => remote.close({ timeout: 0 }));
    await remote.add('x');
    const metrics = queueMetrics({ queues: { remote } });
    cleanups.push(() => metrics.close());
    const text = await metrics.text();
    expectValid(text);
    const values = flatten(text);
    expect(values.get('docket_jobs{queue=remote,state=ready}')).toBe(1);
    expect([...values.keys()].filter((k) => k.includes('_total'))).toEqual([]);
  });

  it('is served at /metrics by the dashboard with the exposition content type', async () => {
    const q = new Queue<string>({ name: 'q' });
    cleanups.push(() => q.close({ timeout: 0 }));
    await q.add('x');
    const d = await startDashboard({ queues: { q } }, cleanups);
    const res = await fetch(new URL('metrics', d.url));
    expect(res.headers.get('content-type')).toBe('text/plain; version=0.0.4; charset=utf-8');
    const text = await res.text();
    expectValid(text);
    expect(flatten(text).get('docket_jobs{queue=q,state=ready}')).toBe(1);
  });
});

describe('prom-client', () => {
  it('registers the same metrics, with the same values, in a registry of the application', async () => {
    const clock = new ManualClock(1_000_000);
    const q = new Queue<string>({ name: 'work', clock, retry: { attempts: 2, backoff: { type: 'fixed', delay: 0 } } });
    cleanups.push(() => q.close({ timeout: 0 }));
    const registry = new Registry();
    const registered = registerQueueMetrics(registry, { queues: { work: q } });
    const ours = queueMetrics({ queues: { work: q } });
    cleanups.push(() => ours.close());
    await drive(q, clock);
    const theirs = await registry.metrics();
    expectValid(theirs);
    expect(flatten(theirs)).toEqual(flatten(await ours.text()));
    registered.close();
    expect((await registry.metrics()).trim()).toBe('');
  });
});
