/** How the dashboard shows payloads and jobs (pure), and that the shipped page matches its sources. */
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { assetsModule } from '../src/dashboard/build-assets.js';
import { detail, MAX_PAYLOAD_TEXT, presentPayload, summarize, withServerRecord } from '../src/dashboard/present.js';

describe('presentPayload', () => {
  it('shows JSON pretty, strings as text, bytes as hex and text', () => {
    expect(presentPayload({ a: [1, 2] })).toEqual({ kind: 'json', text: '{\n  "a": [\n    1,\n    2\n  ]\n}', truncated: false });
    expect(presentPayload('<img src=x onerror=alert(1)>')).toEqual({ kind: 'text', text: '<img src=x onerror=alert(1)>', truncated: false });
    expect(presentPayload(Buffer.from([0, 1, 254]))).toMatchObject({ kind: 'bytes', size: 3, hex: '00 01 fe' });
    expect(presentPayload({ big: 10n })).toMatchObject({ kind: 'json', text: '{\n  "big": "10n"\n}' });
  });

  it('copes with values JSON cannot show, and cuts huge ones', () => {
    const circular: Record<string, unknown> = {};
    circular.self = circular;
    expect(presentPayload(circular)).toEqual({ kind: 'unserializable', text: '[object Object]', truncated: false });
    expect(presentPayload(undefined)).toEqual({ kind: 'unserializable', text: 'undefined', truncated: false });
    const huge = presentPayload('x'.repeat(MAX_PAYLOAD_TEXT + 10));
    expect([huge.text.length, huge.truncated]).toEqual([MAX_PAYLOAD_TEXT, true]);
  });
});

describe('jobs', () => {
  it('summarizes with the last error and a short preview', () => {
    const s = summarize({ id: 3, data: 'y'.repeat(500), errors: [{ attempt: 1, name: 'TypeError', message: 'bad', at: 5 }] });
    expect(s.lastError).toBe('TypeError: bad');
    expect(s.preview.length).toBe(120);
  });

  it('fills a remote job from the server record, with times made absolute', () => {
    const job = withServerRecord(
      { id: 9, data: 'x' },
      { state: 'delayed', priority: 7, age: 2000, delay: 5000, ttr: 1000, timeLeft: 3000, reserves: 0, timeouts: 0, releases: 0, buries: 0, kicks: 1 },
      10_000,
    );
    expect(job).toMatchObject({ state: 'delayed', priority: 7, createdOn: 8000, dueAt: 13_000, kicks: 1 });
    expect(detail(job, undefined).timeline).toEqual([
      { at: 8000, what: 'created' },
      { at: 13_000, what: 'due' },
    ]);
  });
});

describe('shipped assets', () => {
  it('assets.ts is generated from static/ as it is now (npm run build:dashboard)', () => {
    expect(readFileSync(new URL('../src/dashboard/assets.ts', import.meta.url), 'utf8')).toBe(assetsModule());
  });
});
