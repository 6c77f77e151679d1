import { createServer, type RequestListener, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { dashboard } from '../../src/dashboard/handler.js';
import type { DashboardHandler } from '../../src/dashboard/handler.js';
import type { DashboardOptions } from '../../src/dashboard/types.js';

/** An HTTP server on 127.0.0.1 for a test, with its address and an idempotent stop. */
export interface RunningHttp {
  readonly origin: string;
  readonly server: Server;
  stop(): Promise<void>;
}

/** Serves `listener` on a free loopback port. */
export async function listenHttp(listener: RequestListener): Promise<RunningHttp> {
  const server = createServer(listener);
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  let stopped: Promise<void> | undefined;
  return {
    origin: `http://127.0.0.1:${port}`,
    server,
    stop: () =>
      (stopped ??= new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      })),
  };
}

/** A dashboard served on its own loopback server. */
export interface RunningDashboard extends RunningHttp {
  readonly handler: DashboardHandler;
  /** `origin` plus the base path and a trailing slash: where the page is. */
  readonly url: string;
  /** The page's CSRF token, as a browser would read it from the page. */
  token(): Promise<string>;
  /** A POST as the page sends it (same origin, token, JSON). */
  act(path: string, body?: unknown): Promise<Response>;
}

/** Serves a dashboard on its own loopback server; with `cleanups` (see cleanupsAfterEach), stopped after the test. */
export async function startDashboard(options: DashboardOptions, cleanups?: Array<() => unknown>): Promise<RunningDashboard> {
  const handler = dashboard(options);
  const http = await listenHttp(handler);
  const url = `${http.origin}${options.basePath ?? ''}/`;
  let token: string | undefined;
  const readToken = async (): Promise<string> => {
    if (token !== undefined) return token;
    const html = await (await fetch(url)).text();
    const found = /name="docket-token" content="([^"]+)"/.exec(html);
    if (found === null) throw new Error('the page has no token');
    return (token = found[1]);
  };
  const running: RunningDashboard = {
    ...http,
    handler,
    url,
    token: readToken,
    act: async (path, body = {}) =>
      fetch(new URL(path, url), {
        method: 'POST',
        headers: { origin: http.origin, 'content-type': 'application/json', 'x-docket-token': await readToken() },
        body: JSON.stringify(body),
      }),
    stop: async () => {
      handler.close();
      await http.stop();
    },
  };
  cleanups?.push(() => running.stop());
  return running;
}
