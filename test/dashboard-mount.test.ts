/** The handler under node:http with a base path, and mounted in Express. */
import { serve as serveHono, type HttpBindings } from '@hono/node-server';
import { RESPONSE_ALREADY_SENT } from '@hono/node-server/utils/response';
import express from 'express';
import Fastify from 'fastify';
import { Hono } from 'hono';
import type { AddressInfo } from 'node:net';
import { describe, expect, it } from 'vitest';
import { Queue } from '../src/queue.js';
import { dashboard } from '../src/dashboard/handler.js';
import { cleanupsAfterEach } from './helpers/cleanups.js';
import { listenHttp, type RunningHttp } from './helpers/dashboard.js';

const cleanups = cleanupsAfterEach();
async function serveWith(listener: Parameters<typeof listenHttp>[0]): Promise<RunningHttp> {
  const http = await listenHttp(listener);
  cleanups.push(() => http.stop());
  return http;
}
function setup(): { q: Queue<string>; handlerOptions: { queues: { jobs: Queue<string> }; actions: true } } {
  const q = new Queue<string>({ name: 'jobs', retry: { attempts: 1 } });
  cleanups.push(() => q.close({ timeout: 0 }));
  return { q, handlerOptions: { queues: { jobs: q }, actions: true } };
}

/** Loads the page under `pageUrl` as a browser would, then acts through the links it uses (relative ones). */
async function exercise(origin: string, pageUrl: string, q: Queue<string>): Promise<void> {
  const page = await fetch(pageUrl);
  expect(page.status).toBe(200);
  const html = await page.text();
  expect(html).toContain('<script src="assets/app.js"');
  expect((await fetch(new URL('assets/app.js', pageUrl))).status).toBe(200);
  expect((await fetch(new URL('assets/app.css', pageUrl))).status).toBe(200);
  const overview = (await (await fetch(new URL('api/queues', pageUrl))).json()) as { queues: Array<{ counts: { buried: number } }> };
  expect(overview.queues[0].counts.buried).toBe(1);
  const token = /name="docket-token" content="([^"]+)"/.exec(html)?.[1] ?? '';
  const res = await fetch(new URL('api/queues/jobs/redrive-dead', pageUrl), {
    method: 'POST',
    headers: { origin, 'content-type': 'application/json', 'x-docket-token': token },
    body: '{}',
  });
  expect(res.status).toBe(200);
  expect(q.stats().ready).toBe(1);
  expect(await (await fetch(new URL('metrics', pageUrl))).text()).toContain('docket_jobs{queue="jobs",state="ready"} 1');
}

async function oneDeadLetter(q: Queue<string>): Promise<void> {
  await q.add('x');
  await (await q.reserve({ timeout: 0 }))?.fail(new Error('boom'));
}

describe('node:http', () => {
  it('serves under basePath, redirects the bare path to the slash, and 404s outside it', async () => {
    const { q, handlerOptions } = setup();
    await oneDeadLetter(q);
    const handler = dashboard({ ...handlerOptions, basePath: '/ops/queues/' });
    cleanups.push(() => handler.close());
    const http = await serveWith(handler);
    const bare = await fetch(`${http.origin}/ops/queues`, { redirect: 'manual' });
    expect([bare.status, bare.headers.get('location')]).toEqual([308, '/ops/queues/']);
    expect((await fetch(`${http.origin}/elsewhere`)).status).toBe(404);
    expect((await fetch(`${http.origin}/ops/queuesx/api/queues`)).status).toBe(404);
    await exercise(http.origin, `${http.origin}/ops/queues/`, q);
  });

  it('rejects a base path without a leading slash', () => {
    expect(() => dashboard({ queues: {}, basePath: 'ops' })).toThrow(/basePath/);
  });
});

describe('Express', () => {
  it('mounts with app.use(path, handler) and passes other paths on with next()', async () => {
    const { q, handlerOptions } = setup();
    await oneDeadLetter(q);
    const handler = dashboard(handlerOptions);
    cleanups.push(() => handler.close());
    const app = express();
    app.use('/admin/queues', handler);
    app.get('/health', (_req, res) => {
      res.send('fine');
    });
    const http = await serveWith(app);
    const bare = await fetch(`${http.origin}/admin/queues`, { redirect: 'manual' });
    expect([bare.status, bare.headers.get('location')]).toEqual([308, '/admin/queues/']);
    await exercise(http.origin, `${http.origin}/admin/queues/`, q);
    expect(await (await fetch(`${http.origin}/health`)).text()).toBe('fine');
  });

  it('passes requests outside its base path on to the next middleware', async () => {
    const { handlerOptions } = setup();
    const handler = dashboard({ ...handlerOptions, basePath: '/queues' });
    cleanups.push(() => handler.close());
    const app = express();
    app.use(handler);
    app.get('/other', (_req, res) => {
      res.send('other route');
    });
    const http = await serveWith(app);
    expect(await (await fetch(`${http.origin}/other`)).text()).toBe('other route');
    expect((await fetch(`${http.origin}/queues/api/queues`)).status).toBe(200);
  });
});

describe('Fastify', () => {
  it('runs from an onRequest hook (before Fastify reads the body) with basePath', async () => {
    const { q, handlerOptions } = setup();
    await oneDeadLetter(q);
    const handler = dashboard({ ...handlerOptions, basePath: '/queues' });
    cleanups.push(() => handler.close());
    const app = Fastify();
    app.addHook('onRequest', (req, reply, done) => {
      if (req.url !== '/queues' && !req.url.startsWith('/queues/')) return done();
      reply.hijack();
      handler(req.raw, reply.raw);
    });
    app.get('/ping', async () => 'pong');
    await app.listen({ port: 0, host: '127.0.0.1' });
    cleanups.push(() => app.close());
    const origin = `http://127.0.0.1:${(app.server.address() as AddressInfo).port}`;
    await exercise(origin, `${origin}/queues/`, q);
    expect(await (await fetch(`${origin}/ping`)).text()).toBe('pong');
  });
});

describe('Hono (@hono/node-server)', () => {
  it('hands the raw request and response over with basePath', async () => {
    const { q, handlerOptions } = setup();
    await oneDeadLetter(q);
    const handler = dashboard({ ...handlerOptions, basePath: '/queues' });
    cleanups.push(() => handler.close());
    const app = new Hono<{ Bindings: HttpBindings }>();
    app.all('/queues/*', (c) => {
      handler(c.env.incoming, c.env.outgoing);
      return RESPONSE_ALREADY_SENT;
    });
    app.get('/ping', (c) => c.text('pong'));
    const server = await new Promise<ReturnType<typeof serveHono>>((resolve) => {
      const s = serveHono({ fetch: app.fetch, port: 0, hostname: '127.0.0.1' }, () => resolve(s));
    });
    cleanups.push(() => new Promise<void>((resolve) => server.close(() => resolve())));
    const origin = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
    await exercise(origin, `${origin}/queues/`, q);
    expect(await (await fetch(`${origin}/ping`)).text()).toBe('pong');
  });
});
