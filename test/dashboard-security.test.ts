/** The dashboard is safe by default: read-only, authorize hook, CSRF on every POST, no internals leaked. */
import { describe, expect, it } from 'vitest';
import { Queue } from '../src/queue.js';
import type { JobQueue } from '../src/contract.js';
import { cleanupsAfterEach } from './helpers/cleanups.js';
import { startDashboard, type RunningDashboard } from './helpers/dashboard.js';

const cleanups = cleanupsAfterEach();
const started = (options: Parameters<typeof startDashboard>[0]): Promise<RunningDashboard> => startDashboard(options, cleanups);
async function deadLetter(): Promise<{ q: Queue<string>; id: number }> {
  const q = new Queue<string>({ name: 'mail', retry: { attempts: 1 } });
  cleanups.push(() => q.close({ timeout: 0 }));
  const { id } = await q.add('payload');
  await (await q.reserve({ timeout: 0 }))?.fail(new Error('smtp down'));
  return { q, id };
}

describe('read-only by default', () => {
  it('refuses every action without `actions: true`, even with a valid token and origin', async () => {
    const { q, id } = await deadLetter();
    const d = await started({ queues: { mail: q } });
    const res = await d.act(`api/queues/mail/jobs/${id}/redrive`);
    expect(res.status).toBe(403);
    expect(((await res.json()) as { error: string }).error).toMatch(/actions are disabled/);
    expect(q.stats().buried).toBe(1);
    expect(await (await fetch(d.url)).text()).toContain('name="docket-actions" content="false"');
  });
});

describe('CSRF', () => {
  it('acts only on a same-origin JSON POST carrying the page token', async () => {
    const { q, id } = await deadLetter();
    const d = await started({ queues: { mail: q }, actions: true });
    const token = await d.token();
    const target = new URL(`api/queues/mail/jobs/${id}/redrive`, d.url);
    const post = (headers: Record<string, string>, body = '{}'): Promise<Response> => fetch(target, { method: 'POST', headers, body });
    const json = 'application/json';
    const refused: Array<[Record<string, string>, RegExp]> = [
      [{ 'content-type': json, 'x-docket-token': token }, /missing Origin/],
      [{ origin: 'https://evil.example', 'content-type': json, 'x-docket-token': token }, /cross-origin/],
      [{ origin: 'null', 'content-type': json, 'x-docket-token': token }, /Origin/],
      [{ origin: d.origin, 'content-type': json }, /token/],
      [{ origin: d.origin, 'content-type': json, 'x-docket-token': `${token.slice(0, -1)}${token.endsWith('A') ? 'B' : 'A'}` }, /token/],
      // What a cross-site <form> can send: no custom header, a form content type.
      [{ origin: d.origin, 'content-type': 'application/x-www-form-urlencoded', 'x-docket-token': token }, /Content-Type/],
    ];
    for (const [headers, why] of refused) {
      const res = await post(headers);
      expect(res.status, JSON.stringify(headers)).toBe(403);
      expect(((await res.json()) as { error: string }).error).toMatch(why);
    }
    expect(q.stats().buried).toBe(1);
    expect((await fetch(target)).status).toBe(404); // a GET never acts
    const ok = await post({ origin: d.origin, 'content-type': json, 'x-docket-token': token });
    expect(ok.status).toBe(200);
    expect(q.stats()).toMatchObject({ buried: 0, ready: 1 });
  });

  it('accepts an origin listed in `allowedOrigins` (a proxy that rewrites Host)', async () => {
    const { q, id } = await deadLetter();
    const d = await started({ queues: { mail: q }, actions: true, allowedOrigins: ['https://ops.example.com'] });
    const res = await fetch(new URL(`api/queues/mail/jobs/${id}/redrive`, d.url), {
      method: 'POST',
      headers: { origin: 'https://ops.example.com', 'content-type': 'application/json', 'x-docket-token': await d.token() },
      body: '{}',
    });
    expect(res.status).toBe(200);
  });

  it('hands each dashboard its own unguessable token', async () => {
    const { q } = await deadLetter();
    const a = await started({ queues: { mail: q } });
    const b = await started({ queues: { mail: q } });
    expect(await a.token()).not.toBe(await b.token());
    expect((await a.token()).length).toBeGreaterThanOrEqual(40);
  });
});

describe('authorize', () => {
  it('decides every request, telling reads from actions', async () => {
    const { q, id } = await deadLetter();
    const seen: string[] = [];
    const d = await started({
      queues: { mail: q },
      actions: true,
      authorize: (req, access) => {
        seen.push(`${access} ${req.url}`);
        return req.headers['x-user'] === 'ops' && (access === 'read' || req.headers['x-role'] === 'admin');
      },
    });
    expect((await fetch(d.url)).status).toBe(403);
    expect((await fetch(new URL('metrics', d.url))).status).toBe(403);
    expect((await fetch(new URL('api/queues', d.url), { headers: { 'x-user': 'ops' } })).status).toBe(200);
    const html = await (await fetch(d.url, { headers: { 'x-user': 'ops' } })).text();
    const token = /name="docket-token" content="([^"]+)"/.exec(html)?.[1] ?? '';
    const act = (role: string): Promise<Response> =>
      fetch(new URL(`api/queues/mail/jobs/${id}/redrive`, d.url), {
        method: 'POST',
        headers: { 'x-user': 'ops', 'x-role': role, origin: d.origin, 'content-type': 'application/json', 'x-docket-token': token },
        body: '{}',
      });
    expect((await act('viewer')).status).toBe(403);
    expect(q.stats().buried).toBe(1);
    expect((await act('admin')).status).toBe(200);
    expect(seen).toContain(`act /api/queues/mail/jobs/${id}/redrive`);
  });
});

describe('errors', () => {
  it('answers an unexpected failure with "internal error" only, and reports it to onError', async () => {
    const secret = new Error('password=hunter2 at /srv/app/internal.js');
    // Only the members these reads call: each fails the way a broken backend would.
    const broken = {
      stats: () => Promise.reject(secret),
      peek: () => {
        throw secret;
      },
      deadLetters: { redrive: () => Promise.reject(secret), purge: () => Promise.reject(secret) },
    } as unknown as JobQueue<unknown>;
    const reported: Error[] = [];
    const d = await started({ queues: { broken }, onError: (error) => reported.push(error) });
    for (const path of ['api/queues', 'api/queues/broken/jobs', 'api/queues/broken/jobs/1', 'metrics']) {
      const res = await fetch(new URL(path, d.url));
      const text = await res.text();
      expect(res.status).toBe(500);
      expect(text).toBe('{"error":"internal error"}');
    }
    expect(reported).toHaveLength(4);
    expect(reported[0]).toBe(secret);
  });

  it('answers unknown paths and methods without a stack', async () => {
    const { q } = await deadLetter();
    const d = await started({ queues: { mail: q } });
    const res = await fetch(new URL('nowhere/../api/x', d.url));
    expect(res.status).toBe(404);
    expect(await res.text()).not.toMatch(/\bat\b.*\.(ts|js):\d+/);
    expect((await fetch(d.url, { method: 'DELETE' })).status).toBe(405);
  });
});

describe('the page', () => {
  it('is served with a policy that runs only its own script and style', async () => {
    const { q } = await deadLetter();
    const d = await started({ queues: { mail: q } });
    const res = await fetch(d.url);
    const policy = res.headers.get('content-security-policy') ?? '';
    expect(policy).toContain("script-src 'self'");
    expect(policy).toContain("default-src 'none'");
    expect(policy).not.toContain('unsafe-inline');
    expect(res.headers.get('x-content-type-options')).toBe('nosniff');
    const html = await res.text();
    expect(html).not.toMatch(/<script>|https?:\/\//); // nothing inline, nothing from elsewhere
    const script = await fetch(new URL('assets/app.js', d.url));
    expect(script.headers.get('content-type')).toMatch(/^text\/javascript/);
    expect(await script.text()).not.toMatch(/innerHTML|outerHTML|insertAdjacentHTML|document\.write/);
  });
});
