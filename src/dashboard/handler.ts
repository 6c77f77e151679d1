import type { IncomingMessage, ServerResponse } from 'node:http';
import { DocketError, ErrorCode } from '../errors.js';
import type { JobState } from '../lifecycle.js';
import { ASSETS } from './assets.js';
import { refusal, newToken } from './csrf.js';
import { queueMetrics } from './metrics.js';
import { PROMETHEUS_CONTENT_TYPE } from './prometheus-text.js';
import { QueueView, STATES } from './queue-view.js';
import type { Access, DashboardOptions } from './types.js';

/**
 * A `node:http` request handler, with Express's optional `next` (called for paths outside
 * the dashboard), and `close()` to end live streams and stop observing the queues.
 */
export interface DashboardHandler {
  (req: IncomingMessage, res: ServerResponse, next?: (error?: unknown) => void): void;
  /** Ends open live streams and stops listening to the queues' events. */
  close(): void;
}

/** A request answered with a status and a message the client may see. */
class HttpError extends Error {
  constructor(
    readonly status: number,
    message: string,
  ) {
    super(message);
  }
}

const SECURITY_HEADERS = {
  'x-content-type-options': 'nosniff',
  'referrer-policy': 'no-referrer',
  'x-frame-options': 'DENY',
  'cache-control': 'no-store',
} as const;

// The page runs only its own script and style: even text that slipped into the DOM as
// HTML could not run.
const PAGE_POLICY =
  "default-src 'none'; script-src 'self'; style-src 'self'; connect-src 'self'; img-src 'self' data:; base-uri 'none'; form-action 'none'; frame-ancestors 'none'";

const MAX_BODY = 4096;
const MAX_PAGE = 200;

function send(res: ServerResponse, status: number, type: string, body: string, extra: Record<string, string> = {}): void {
  res.writeHead(status, { ...SECURITY_HEADERS, 'content-type': type, 'content-length': Buffer.byteLength(body), ...extra });
  res.end(body);
}

function sendJson(res: ServerResponse, status: number, value: unknown): void {
  send(res, status, 'application/json; charset=utf-8', JSON.stringify(value));
}

function intParam(params: URLSearchParams, name: string, fallback: number, max: number): number {
  const raw = params.get(name);
  if (raw === null) return fallback;
  const value = Number(raw);
  if (!Number.isSafeInteger(value) || value < 0 || value > max)
    throw new HttpError(400, `${name} must be an integer from 0 to ${max}, got ${JSON.stringify(raw)}`);
  return value;
}

function jobId(raw: string): number {
  const id = Number(raw);
  if (!/^[0-9]+$/.test(raw) || !Number.isSafeInteger(id) || id < 1) throw new HttpError(400, `job id must be a positive integer, got ${JSON.stringify(raw)}`);
  return id;
}

function stateParam(raw: string | null): JobState {
  const state = raw ?? 'ready';
  if (!(STATES as readonly string[]).includes(state)) throw new HttpError(400, `state must be one of ${STATES.join(', ')}, got ${JSON.stringify(state)}`);
  return state as JobState;
}

async function readJson(req: IncomingMessage): Promise<Record<string, unknown>> {
  let size = 0;
  const chunks: Buffer[] = [];
  for await (const chunk of req as AsyncIterable<Buffer>) {
    size += chunk.length;
    if (size > MAX_BODY) throw new HttpError(413, `request body over ${MAX_BODY} bytes`);
    chunks.push(chunk);
  }
  const text = Buffer.concat(chunks).toString('utf8');
  if (text === '') return {};
  let body: unknown;
  try {
    body = JSON.parse(text);
  } catch {
    throw new HttpError(400, 'request body is not valid JSON');
  }
  if (typeof body !== 'object' || body === null || Array.isArray(body)) throw new HttpError(400, 'request body must be a JSON object');
  return body as Record<string, unknown>;
}

function normalizeBase(basePath: string): string {
  if (basePath === '' || basePath === '/') return '';
  if (!basePath.startsWith('/')) throw new DocketError(ErrorCode.InvalidOption, `Expected \`basePath\` to start with "/", got \`${basePath}\``);
  return basePath.replace(/\/+$/, '');
}

/**
 * The dashboard: a web page and a JSON API over `queues`, plus Prometheus text at
 * `/metrics`. Read-only unless `actions: true`; every POST needs the page's token and
 * the dashboard's own origin.
 * @example
 * ```ts
 * import { createServer } from 'node:http';
 * import { dashboard } from 'docket/dashboard';
 * createServer(dashboard({ queues: { emails, thumbnails }, actions: true })).listen(3000, '127.0.0.1');
 * ```
 */
export function dashboard(options: DashboardOptions): DashboardHandler {
  const base = normalizeBase(options.basePath ?? '');
  const allowActions = options.actions ?? false;
  const allowedOrigins = options.allowedOrigins ?? [];
  const interval = options.refreshInterval ?? 1000;
  if (!Number.isFinite(interval) || interval < 50)
    throw new DocketError(ErrorCode.InvalidOption, `Expected \`refreshInterval\` to be a number of ms >= 50, got \`${interval}\``);
  const onError = options.onError ?? ((error: Error) => process.emitWarning(error, { code: 'DOCKET_DASHBOARD' }));
  const token = newToken();
  const views = new Map<string, QueueView>();
  for (const [name, queue] of Object.entries(options.queues)) views.set(name, new QueueView(name, queue, Date.now));
  const metrics = queueMetrics({ queues: options.queues });
  const streams = new Set<ServerResponse>();
  const page = ASSETS.page.replace('%TOKEN%', token).replace('%ACTIONS%', String(allowActions));

  function view(name: string): QueueView {
    const found = views.get(decodeURIComponent(name));
    if (found === undefined) throw new HttpError(404, `no queue named ${JSON.stringify(decodeURIComponent(name))}`);
    return found;
  }

  async function overview(): Promise<unknown> {
    return { actions: allowActions, queues: await Promise.all([...views.values()].map((v) => v.summary())) };
  }

  function stream(req: IncomingMessage, res: ServerResponse): void {
    res.writeHead(200, { ...SECURITY_HEADERS, 'content-type': 'text/event-stream; charset=utf-8', connection: 'keep-alive' });
    streams.add(res);
    let busy = false;
    const push = async (): Promise<void> => {
      if (busy) return; // a slow queue must not pile up reads
      busy = true;
      try {
        res.write(`data: ${JSON.stringify(await overview())}\n\n`);
      } catch (error) {
        onError(error instanceof Error ? error : new Error(String(error)), req);
        res.write(`event: failure\ndata: {"error":"internal error"}\n\n`);
      } finally {
        busy = false;
      }
    };
    const timer = setInterval(() => void push(), interval);
    void push();
    const stop = (): void => {
      clearInterval(timer);
      streams.delete(res);
    };
    req.on('close', stop);
    res.on('close', stop);
  }

  async function act(req: IncomingMessage, parts: string[]): Promise<unknown> {
    if (!allowActions) throw new HttpError(403, 'actions are disabled (dashboard option `actions: true` enables them)');
    const why = refusal(req.headers, token, allowedOrigins);
    if (why !== undefined) throw new HttpError(403, `refused: ${why}`);
    const body = await readJson(req);
    const q = view(parts[2]);
    const need = (done: boolean | number, what: string): unknown => {
      if (done === false) throw new HttpError(409, `${what} was not possible (the job is not in a state that allows it, or the queue does not offer it)`);
      return { ok: true, count: typeof done === 'number' ? done : 1 };
    };
    if (parts.length === 6 && parts[3] === 'jobs') {
      const id = jobId(parts[4]);
      switch (parts[5]) {
        case 'redrive':
          return need(await q.redrive(id), `redrive of job ${id}`);
        case 'kick':
          return need(await q.kick(id), `kick of job ${id}`);
        case 'remove':
          return need(await q.remove(id), `removal of job ${id}`);
        case 'priority': {
          const priority = body.priority;
          if (typeof priority !== 'number') throw new HttpError(400, 'body.priority must be a number');
          return need(await q.changePriority(id, priority), `priority change of job ${id}`);
        }
      }
    }
    if (parts.length === 4) {
      switch (parts[3]) {
        case 'pause':
          return need(await q.setPaused(true), 'pause');
        case 'resume':
          return need(await q.setPaused(false), 'resume');
        case 'redrive-dead':
          return need(await q.redriveDead(), 'redrive');
        case 'remove-dead':
          return need(await q.removeDead(), 'removal');
        case 'purge': {
          const state = body.state;
          if (state !== 'ready' && state !== 'delayed' && state !== 'buried') throw new HttpError(400, 'body.state must be "ready", "delayed" or "buried"');
          return need(await q.purge(state), 'purge');
        }
      }
    }
    throw new HttpError(404, 'no such action');
  }

  async function read(req: IncomingMessage, res: ServerResponse, parts: string[], params: URLSearchParams): Promise<void> {
    if (parts.length === 1 && parts[0] === 'metrics') return send(res, 200, PROMETHEUS_CONTENT_TYPE, await metrics.text());
    if (parts[0] === 'assets' && parts.length === 2) {
      const asset = parts[1] === 'app.js' ? ASSETS.script : parts[1] === 'app.css' ? ASSETS.style : undefined;
      if (asset === undefined) throw new HttpError(404, 'no such asset');
      return send(res, 200, parts[1].endsWith('.js') ? 'text/javascript; charset=utf-8' : 'text/css; charset=utf-8', asset);
    }
    if (parts[0] !== 'api') throw new HttpError(404, 'not found');
    if (parts.length === 2 && parts[1] === 'queues') return sendJson(res, 200, await overview());
    if (parts.length === 2 && parts[1] === 'events') return stream(req, res);
    if (parts.length === 4 && parts[1] === 'queues' && parts[3] === 'jobs') {
      const page = await view(parts[2]).list(
        stateParam(params.get('state')),
        intParam(params, 'offset', 0, Number.MAX_SAFE_INTEGER),
        intParam(params, 'limit', 20, MAX_PAGE),
      );
      return sendJson(res, 200, page);
    }
    if (parts.length === 5 && parts[1] === 'queues' && parts[3] === 'jobs') {
      const id = jobId(parts[4]);
      const job = await view(parts[2]).job(id);
      if (job === undefined)
        throw new HttpError(404, `job ${id} is not in queue ${JSON.stringify(decodeURIComponent(parts[2]))} (done, removed, or never added)`);
      return sendJson(res, 200, job);
    }
    throw new HttpError(404, 'not found');
  }

  async function answer(req: IncomingMessage, res: ServerResponse, path: string, params: URLSearchParams): Promise<void> {
    const access: Access = req.method === 'POST' ? 'act' : 'read';
    if (options.authorize !== undefined && !(await options.authorize(req, access))) throw new HttpError(403, 'not authorized');
    if (path === '/' || path === '') {
      // Relative links in the page need the trailing slash; Express hides the mount path in `req.url`.
      const shown = ((req as { originalUrl?: string }).originalUrl ?? req.url ?? '/').split('?')[0];
      if (!shown.endsWith('/')) return send(res, 308, 'text/plain; charset=utf-8', 'moved', { location: `${shown}/` });
      if (req.method !== 'GET' && req.method !== 'HEAD') throw new HttpError(405, 'method not allowed');
      return send(res, 200, 'text/html; charset=utf-8', page, { 'content-security-policy': PAGE_POLICY });
    }
    const parts = path.slice(1).split('/');
    if (req.method === 'POST' && parts[0] === 'api' && parts[1] === 'queues') return sendJson(res, 200, await act(req, parts));
    if (req.method !== 'GET' && req.method !== 'HEAD') throw new HttpError(405, 'method not allowed');
    return read(req, res, parts, params);
  }

  const handler = ((req: IncomingMessage, res: ServerResponse, next?: (error?: unknown) => void): void => {
    const url = new URL(req.url ?? '/', 'http://dashboard.invalid');
    const inside = base === '' || url.pathname === base || url.pathname.startsWith(`${base}/`);
    if (!inside) {
      if (next !== undefined) return next();
      return sendJson(res, 404, { error: 'not found' });
    }
    answer(req, res, url.pathname.slice(base.length), url.searchParams).catch((error: unknown) => {
      if (error instanceof HttpError) return sendJson(res, error.status, { error: error.message });
      if (error instanceof DocketError && (error.code === ErrorCode.InvalidOption || error.code === ErrorCode.InvalidState))
        return sendJson(res, 400, { error: error.message, code: error.code });
      if (error instanceof DocketError && error.code === ErrorCode.JobNotFound) return sendJson(res, 404, { error: error.message, code: error.code });
      onError(error instanceof Error ? error : new Error(String(error)), req);
      if (res.headersSent) return void res.end();
      sendJson(res, 500, { error: 'internal error' });
    });
  }) as DashboardHandler;
  handler.close = () => {
    for (const res of streams) res.end();
    streams.clear();
    metrics.close();
    for (const v of views.values()) v.close();
  };
  return handler;
}
