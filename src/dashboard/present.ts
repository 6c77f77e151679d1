import type { AttemptError } from '../job.js';
import type { DeadReason, JobState } from '../lifecycle.js';
import type { DashboardJob, DashboardJobStats } from './types.js';

/** A payload as the page shows it: always text (the page never parses it as HTML). */
export type PayloadView =
  | { kind: 'json'; text: string; truncated: boolean }
  | { kind: 'text'; text: string; truncated: boolean }
  | { kind: 'bytes'; size: number; hex: string; text: string; truncated: boolean }
  | { kind: 'unserializable'; text: string; truncated: boolean };

/** One moment of a job's life, for the timeline. */
export interface TimelineEntry {
  at: number;
  what: string;
}

/** A job in a list. */
export interface JobSummary {
  id: number;
  state: JobState | undefined;
  priority: number | undefined;
  attemptsMade: number | undefined;
  maxAttempts: number | undefined;
  createdOn: number | undefined;
  dueAt: number | undefined;
  deadReason: DeadReason | undefined;
  lastError: string | undefined;
  preview: string;
}

/** A job's page. */
export interface JobDetail extends JobSummary {
  payload: PayloadView;
  options: Record<string, number | string | null>;
  attempts: Record<string, number>;
  errors: AttemptError[];
  progress: { value: string; at: number } | undefined;
  timeline: TimelineEntry[];
}

/** Payload text beyond this is cut (the page is for looking, not for downloading). */
export const MAX_PAYLOAD_TEXT = 64 * 1024;
/** Bytes shown as hex. */
const MAX_HEX_BYTES = 4096;
const PREVIEW_CHARS = 120;

function cut(text: string, max: number): { text: string; truncated: boolean } {
  return text.length > max ? { text: text.slice(0, max), truncated: true } : { text, truncated: false };
}

function jsonText(value: unknown, indent: number): string | undefined {
  try {
    return JSON.stringify(value, (_key, v: unknown) => (typeof v === 'bigint' ? `${v}n` : v), indent);
  } catch {
    return undefined; // circular, or a toJSON that throws
  }
}

/** Shows a payload: bytes as hex and text, strings as text, anything else as pretty JSON. */
export function presentPayload(data: unknown): PayloadView {
  if (data instanceof Uint8Array) {
    const shown = data.subarray(0, MAX_HEX_BYTES);
    const hex = Array.from(shown, (byte) => byte.toString(16).padStart(2, '0')).join(' ');
    const text = new TextDecoder('utf-8', { fatal: false }).decode(data.subarray(0, MAX_PAYLOAD_TEXT));
    return { kind: 'bytes', size: data.byteLength, hex, text, truncated: data.byteLength > MAX_HEX_BYTES };
  }
  if (typeof data === 'string') return { kind: 'text', ...cut(data, MAX_PAYLOAD_TEXT) };
  const json = jsonText(data, 2);
  if (json === undefined) return { kind: 'unserializable', ...cut(String(data), MAX_PAYLOAD_TEXT) };
  return { kind: 'json', ...cut(json, MAX_PAYLOAD_TEXT) };
}

function preview(data: unknown): string {
  let text: string;
  if (data instanceof Uint8Array) text = `${data.byteLength} bytes`;
  else if (typeof data === 'string') text = data;
  else text = jsonText(data, 0) ?? String(data);
  return text.length > PREVIEW_CHARS ? `${text.slice(0, PREVIEW_CHARS - 1)}…` : text;
}

/** A number for JSON: `Infinity` (no limit) becomes `null`. */
function finite(n: number | undefined): number | undefined {
  return n === undefined || Number.isFinite(n) ? n : undefined;
}

/**
 * Fills the fields a remote queue's `peek` lacks from the server's record of the job
 * (`stats-job`), with times made absolute against `now`.
 */
export function withServerRecord(job: DashboardJob, record: DashboardJobStats | undefined, now: number): DashboardJob {
  if (record === undefined) return job;
  const due = record.state === 'delayed' || record.state === 'reserved' ? now + record.timeLeft : undefined;
  return {
    ...job,
    state: job.state ?? record.state,
    priority: job.priority ?? record.priority,
    attemptsMade: job.attemptsMade ?? record.reserves,
    ttr: job.ttr ?? record.ttr,
    delay: job.delay ?? record.delay,
    createdOn: job.createdOn ?? now - record.age,
    dueAt: job.dueAt ?? due,
    reserves: record.reserves,
    timeouts: record.timeouts,
    releases: record.releases,
    buries: record.buries,
    kicks: record.kicks,
  };
}

/** A job's row in a list. */
export function summarize(job: DashboardJob): JobSummary {
  const errors = job.errors ?? [];
  const last = errors[errors.length - 1];
  return {
    id: job.id,
    state: job.state,
    priority: job.priority,
    attemptsMade: job.attemptsMade,
    maxAttempts: finite(job.maxAttempts),
    createdOn: job.createdOn,
    dueAt: finite(job.dueAt),
    deadReason: job.deadReason,
    lastError: last === undefined ? undefined : `${last.name}: ${last.message}`,
    preview: preview(job.data),
  };
}

function timeline(job: DashboardJob): TimelineEntry[] {
  const entries: TimelineEntry[] = [];
  if (job.createdOn !== undefined) entries.push({ at: job.createdOn, what: 'created' });
  for (const error of job.errors ?? []) entries.push({ at: error.at, what: `attempt ${error.attempt} failed: ${error.name}: ${error.message}` });
  if (job.processedOn !== undefined) entries.push({ at: job.processedOn, what: 'latest attempt started' });
  if (job.finishedOn !== undefined) entries.push({ at: job.finishedOn, what: job.state === 'buried' ? `buried (${job.deadReason ?? 'unknown'})` : 'finished' });
  const due = finite(job.dueAt);
  if (due !== undefined && job.state === 'delayed') entries.push({ at: due, what: 'due' });
  if (due !== undefined && job.state === 'reserved') entries.push({ at: due, what: 'lease ends' });
  return entries.sort((a, b) => a.at - b.at);
}

function defined(entries: Record<string, number | string | undefined>): Record<string, number | string | null> {
  const out: Record<string, number | string | null> = {};
  for (const [key, value] of Object.entries(entries)) {
    if (value === undefined) continue;
    // Infinity (no limit) has no JSON form: null reads as "none".
    out[key] = typeof value === 'number' && !Number.isFinite(value) ? null : value;
  }
  return out;
}

/** A job's page: payload, options, attempt counters, every error with its stack, progress, timeline. */
export function detail(job: DashboardJob, progress: { value: unknown; at: number } | undefined): JobDetail {
  const counters = defined({
    made: job.attemptsMade,
    max: job.maxAttempts,
    reserves: job.reserves,
    timeouts: job.timeouts,
    releases: job.releases,
    buries: job.buries,
    kicks: job.kicks,
  });
  const attempts: Record<string, number> = {};
  for (const [key, value] of Object.entries(counters)) if (typeof value === 'number') attempts[key] = value;
  return {
    ...summarize(job),
    payload: presentPayload(job.data),
    options: defined({ priority: job.priority, ttr: job.ttr, timeout: job.timeout, ttl: job.ttl, delay: job.delay, dedupeId: job.dedupeId, group: job.group }),
    attempts,
    errors: (job.errors ?? []).map((e) => ({ ...e })),
    progress: progress === undefined ? undefined : { value: jsonText(progress.value, 0) ?? String(progress.value), at: progress.at },
    timeline: timeline(job),
  };
}
