import type { SerializedError } from '../errors.js';
import type { MessagePort, TransferListItem } from 'node:worker_threads';
import type { BootstrapConfig, MainToWorker, RunMessage, WorkerToMain } from './messages.js';

/**
 * What a worker module's default export receives besides the payload.
 */
export interface WorkerContext {
  /**
   * Aborted when the job times out, loses its lease, or the queue closes. A task that
   * ignores it past the pool's `abortGrace` has its thread terminated.
   */
  readonly signal: AbortSignal;
  /** Reports progress; the value reaches the job's `'progress'` event. */
  progress(value: unknown): void;
}

/**
 * The shape of a worker module's default export.
 *
 * @typeParam P - the payload (the job's data)
 * @typeParam R - the result; return `transfer(value)` to move its buffers instead of copying
 * @example
 * ```ts
 * // hash.ts
 * import type { WorkerHandler } from 'docket/threads';
 * const handler: WorkerHandler<string, string> = (text) => createHash('sha256').update(text).digest('hex');
 * export default handler;
 * ```
 */
export type WorkerHandler<P = unknown, R = unknown> = (payload: P, ctx: WorkerContext) => R | Promise<R>;

type WorkerThreads = typeof import('node:worker_threads');

/**
 * The code that runs inside each thread.
 *
 * It is shipped to the thread as source text (`workerSource()` below, run with
 * `eval: true`) rather than as a file, so the pool never has to find a sibling file on
 * disk: that works the same from `src/` under tsx or vitest, from tsup's ESM and CJS
 * bundles (which move code between chunks), and from a user's own bundle. The price is
 * that this function must be self-contained: it may use its parameters and globals only,
 * never an import of this module (types excepted) nor `import()` or `require` (vitest
 * rewrites them), which is why the loaders and the message kinds come in as arguments.
 */
export function workerMain(
  threads: WorkerThreads,
  load: (specifier: string) => Promise<unknown>,
  requireModule: (id: string) => unknown,
  config: BootstrapConfig,
): void {
  const port = threads.parentPort as MessagePort;
  if (port === null) throw new Error('docket: the thread bootstrap must run inside a worker thread');
  const Run = config.toWorker.Run;
  const Abort = config.toWorker.Abort;
  const Ready = config.fromWorker.Ready;
  const Done = config.fromWorker.Done;
  const Failed = config.fromWorker.Failed;
  const Progress = config.fromWorker.Progress;
  const kTransfer = Symbol.for('docket.transfer');

  let handler: ((payload: unknown, ctx: WorkerContext) => unknown) | undefined;
  // Messages that arrive while the module is still loading.
  let backlog: RunMessage[] | undefined = [];
  // Only tasks that went async are listed: an abort can only arrive between turns.
  const pending = new Map<number, Context>();

  // `declare` fields and constructor assignments only: field initializers become helper
  // calls outside this function in some builds.
  class Context implements WorkerContext {
    declare readonly id: number;
    declare controller: AbortController | undefined;
    declare reason: unknown;
    declare aborted: boolean;

    constructor(id: number) {
      this.id = id;
      this.controller = undefined;
      this.reason = undefined;
      this.aborted = false;
    }

    // Most tasks never look at their signal; build the controller only when asked.
    get signal(): AbortSignal {
      if (this.controller === undefined) {
        this.controller = new AbortController();
        if (this.aborted) this.controller.abort(this.reason);
      }
      return this.controller.signal;
    }

    progress(value: unknown): void {
      send({ k: Progress, id: this.id, v: value }, value, 'v');
    }

    abort(reason: unknown): void {
      if (this.aborted) return;
      this.aborted = true;
      this.reason = reason;
      if (this.controller !== undefined) this.controller.abort(reason);
    }

    resolve(value: unknown): void {
      pending.delete(this.id);
      send({ k: Done, id: this.id, r: value }, value, 'r');
    }

    reject(error: unknown): void {
      pending.delete(this.id);
      port.postMessage({ k: Failed, id: this.id, e: serialize(error) } satisfies WorkerToMain);
    }
  }

  // Unwraps a transfer() marker into the message field `field`, moving its list.
  function send(message: WorkerToMain, value: unknown, field: 'r' | 'v'): void {
    try {
      if (typeof value === 'object' && value !== null && (value as Record<symbol, unknown>)[kTransfer] === true) {
        const marked = value as { value: unknown; transferList: readonly TransferListItem[] };
        (message as unknown as Record<string, unknown>)[field] = marked.value;
        port.postMessage(message, marked.transferList as TransferListItem[]);
      } else {
        port.postMessage(message);
      }
    } catch (error) {
      // A result that cannot be cloned (a function, a class instance with a port...)
      // fails its task instead of the thread.
      if (message.k === Done) port.postMessage({ k: Failed, id: message.id, e: serialize(error) } satisfies WorkerToMain);
      else throw error;
    }
  }

  // Mirrors serializeError() in src/errors.ts, which this function cannot import.
  function serialize(error: unknown): SerializedError {
    if (error instanceof Error) {
      const code = (error as { code?: unknown }).code;
      const out: SerializedError = { name: error.name, message: error.message };
      if (error.stack !== undefined) out.stack = error.stack;
      if (typeof code === 'string') out.code = code;
      // A RateLimitError (docket's, imported by the worker module) keeps what the queue acts on.
      if (code === config.rateLimitedCode) {
        const { delay, scope } = error as { delay?: unknown; scope?: unknown };
        if (typeof delay === 'number') out.delay = delay;
        if (typeof scope === 'string') out.scope = scope as NonNullable<SerializedError['scope']>;
      }
      return out;
    }
    let text: string;
    try {
      text = typeof error === 'string' ? error : JSON.stringify(error);
      if (text === undefined) text = String(error);
    } catch {
      text = Object.prototype.toString.call(error);
    }
    if (text.length > 200) text = `${text.slice(0, 200)}…`;
    return { name: 'NonErrorThrownError', message: `non-Error thrown: ${text}`, code: config.nonErrorCode };
  }

  function run(id: number, payload: unknown): void {
    const ctx = new Context(id);
    let result: unknown;
    try {
      result = (handler as NonNullable<typeof handler>)(payload, ctx);
    } catch (error) {
      ctx.reject(error);
      return;
    }
    if (result !== null && (typeof result === 'object' || typeof result === 'function') && typeof (result as PromiseLike<unknown>).then === 'function') {
      pending.set(id, ctx);
      (result as PromiseLike<unknown>).then(
        (value) => ctx.resolve(value),
        (error: unknown) => ctx.reject(error),
      );
    } else {
      // The fast path: a synchronous handler allocates no promise and no closure.
      send({ k: Done, id, r: result }, result, 'r');
    }
  }

  port.on('message', (message: MainToWorker) => {
    if (message.k === Run) {
      if (backlog === undefined) run(message.id, message.p);
      else backlog.push(message);
    } else if (message.k === Abort) {
      const reason = new Error(message.e.message);
      reason.name = message.e.name;
      if (message.e.code !== undefined) (reason as Error & { code?: string }).code = message.e.code;
      const ctx = pending.get(message.id);
      if (ctx !== undefined) {
        ctx.abort(reason);
      } else if (backlog !== undefined) {
        // Aborted before the module even loaded: never start it.
        const index = backlog.findIndex((queued) => queued.id === message.id);
        if (index !== -1) {
          backlog.splice(index, 1);
          port.postMessage({ k: Failed, id: message.id, e: serialize(reason) } satisfies WorkerToMain);
        }
      }
    }
  });

  loadWorkerModule(config.moduleUrl)
    .then((namespace) => {
      handler = pickDefault(namespace);
      if (handler === undefined) {
        throw new TypeError(`docket: worker module ${config.moduleUrl} has no default export function`);
      }
      port.postMessage({ k: Ready } satisfies WorkerToMain);
      const queued = backlog as RunMessage[];
      backlog = undefined;
      for (const message of queued) run(message.id, message.p);
    })
    .catch((error: unknown) => {
      // Rethrown outside the promise chain so the thread dies with the load error, which
      // the pool sees as a start-up failure.
      process.nextTick(() => {
        throw error;
      });
    });

  // Node 20 runs `--require` preloads in threads but not `--import` ones
  // (nodejs/node#47747), so a `.ts` module that loads on the main thread under
  // `node --import tsx` is an unknown file extension here. Fall back to what does reach
  // the thread: tsx's ESM hooks registered through its API, or a CommonJS require hook
  // (`--require tsx/cjs`, `ts-node/register`...).
  async function loadWorkerModule(url: string): Promise<unknown> {
    if (!/\.[cm]?tsx?$/.test(url)) return load(url);
    // Register before the first attempt: a failed import stays cached for its URL.
    const tsxApi = findTsxApi(process.execArgv);
    if (tsxApi !== undefined) {
      const api = (await load(tsxApi)) as { register?: () => unknown };
      if (typeof api.register === 'function') api.register();
    }
    try {
      return await load(url);
    } catch (error) {
      if ((error as { code?: unknown }).code !== 'ERR_UNKNOWN_FILE_EXTENSION') throw error;
      try {
        const url_ = requireModule('node:url') as typeof import('node:url');
        return { default: requireModule(url.startsWith('file:') ? url_.fileURLToPath(url) : url) };
      } catch {
        const hint = new Error(
          `${(error as Error).message}: a .ts worker module needs a TypeScript loader inside the thread; ` +
            "start node with --import tsx, or pass execArgv: ['--import', 'tsx'] in the threads options",
        );
        (hint as Error & { code?: unknown }).code = (error as { code?: unknown }).code;
        throw hint;
      }
    }
  }

  // `--import tsx` (or `--import=tsx/esm`), or the tsx CLI's `--import file:///…/tsx/dist/loader.mjs`.
  function findTsxApi(execArgv: readonly string[]): string | undefined {
    for (let i = 0; i < execArgv.length; i++) {
      const arg = execArgv[i] as string;
      let value: string | undefined;
      if (arg === '--import' || arg === '--loader' || arg === '--experimental-loader') value = execArgv[i + 1];
      else if (/^--(import|loader|experimental-loader)=/.test(arg)) value = arg.slice(arg.indexOf('=') + 1);
      if (value === undefined) continue;
      if (value === 'tsx' || value.startsWith('tsx/')) return 'tsx/esm/api';
      const cli = /^(.*[\\/]tsx[\\/]dist[\\/])loader\.mjs$/.exec(value);
      if (cli !== null) {
        const dir = (cli[1] as string).replace(/\\/g, '/');
        return `${dir.startsWith('file:') ? '' : 'file://'}${dir}esm/api/index.mjs`;
      }
    }
    return undefined;
  }

  // ESM: `export default fn`. CJS: `module.exports = fn` (import() wraps it as default), or
  // a transpiled `exports.default = fn` (default of the default).
  function pickDefault(namespace: unknown): typeof handler {
    if (typeof namespace !== 'object' || namespace === null) return undefined;
    const outer = (namespace as { default?: unknown }).default;
    if (typeof outer === 'function') return outer as typeof handler;
    if (typeof outer !== 'object' || outer === null) return undefined;
    const inner = (outer as { default?: unknown }).default;
    if (typeof inner === 'function') return inner as typeof handler;
    return undefined;
  }
}

/**
 * The thread's bootstrap source. `__name` is stubbed because esbuild with `keepNames`
 * (tsx does this) wraps named functions in a helper that lives outside `workerMain`.
 */
export function workerSource(config: BootstrapConfig): string {
  return `"use strict";var __name=(f)=>f;` + `(${workerMain.toString()})(require("node:worker_threads"),(s)=>import(s),require,${JSON.stringify(config)});`;
}
