import net from 'node:net';
import tls from 'node:tls';
import { ConnectionError, ProtocolError } from './errors.js';
import { REPLY_NAMES, ReplyCode, ReplyParser, type ReplySink } from './reply-parser.js';

/**
 * Turns one reply into the command's result; throws to reject the command. Static
 * functions (one per command kind) rather than a closure per command keep the hot path
 * free of allocations.
 */
export type Interpret<R> = (code: ReplyCode | typeof LOST, value: number, data: Buffer | undefined, context: unknown, error?: Error) => R;

/**
 * The code an {@link Interpret} sees when the command will never be answered (the
 * connection dropped or closed first): `error` says why. It is called exactly once per
 * command either way, so bookkeeping in it (leases held, polls in flight) stays right.
 */
export const LOST = 0;

/** How to come back after a dropped connection. */
export interface ReconnectPolicy {
  /** First wait after a drop, in ms. */
  initialDelay: number;
  /** Upper bound of the wait, in ms. */
  maxDelay: number;
  /** Growth of the wait per failed attempt. */
  factor: number;
  /** Failed attempts in a row before giving up; `Infinity` never gives up. */
  attempts: number;
}

export interface ConnectionSettings {
  host: string;
  port: number;
  connectTimeout: number;
  reconnect: ReconnectPolicy | false;
  maxReplyData: number;
  /** Connect over TLS with these options (`ca`, `servername`, client `cert`/`key`...). */
  tls?: tls.ConnectionOptions | undefined;
}

export interface ConnectionHooks {
  /**
   * Commands (without CRLF) sent first on every (re)connection, before anything queued:
   * the tube state (`use`, `watch`, `ignore`) the server forgets when a connection ends.
   */
  readonly setup: readonly string[];
  /** An established connection was lost; `epoch` has already moved on. */
  onDrop?(error: Error): void;
  /** The connection gave up for good (close, destroy, or reconnect attempts exhausted). */
  onDead?(error: Error): void;
}

const INITIAL_OUT = 16 * 1024;
const INITIAL_PENDING = 64;
const CRLF = '\r\n';

type Resolve = (value: unknown) => void;
type Reject = (error: Error) => void;

const ignore = (): void => {};

/**
 * One TCP connection to a beanstalkd-protocol server, pipelined: commands are appended
 * to an output buffer that is written once per event-loop turn while replies are awaited
 * (setImmediate: the commands prompted by every reply read in that turn go out in one
 * write; flushing per tick made several times more, smaller writes and halved
 * throughput), or at the end of the current microtasks when none is (a lone command is
 * not held back for a turn), and replies are matched to
 * commands in order through a ring of pending slots (parallel arrays, reused, so a
 * command allocates nothing but its promise).
 *
 * While disconnected, commands wait in the buffer and go out after the setup commands
 * of the next connection. Commands already written when the connection drops are
 * rejected with {@link ConnectionError}: they may or may not have run.
 */
export class ClientConnection implements ReplySink {
  /** Increases each time an established connection is lost: leases from before are gone. */
  epoch = 0;
  private readonly settings: ConnectionSettings;
  private readonly hooks: ConnectionHooks;
  private readonly parser: ReplyParser;
  private socket: net.Socket | undefined;
  private isOpen = false;
  private dead: Error | undefined;
  private failures = 0;
  private retryTimer: ReturnType<typeof setTimeout> | undefined;
  private pendingFailure: Error | undefined;
  private closeWaiters: Array<() => void> = [];

  // Output buffer: bytes of commands not yet handed to the socket.
  private out = Buffer.allocUnsafe(INITIAL_OUT);
  private outLength = 0;
  private flushScheduled = false;
  private readonly flushBound = (): void => this.flush();

  // Pending commands, a ring of parallel arrays.
  private interprets: Array<Interpret<unknown>> = new Array(INITIAL_PENDING);
  private resolves: Resolve[] = new Array(INITIAL_PENDING);
  private rejects: Reject[] = new Array(INITIAL_PENDING);
  private contexts: unknown[] = new Array(INITIAL_PENDING);
  private head = 0;
  private count = 0;
  // How many of the pending commands (from the head) were written to the current socket.
  private sent = 0;
  // Replies still owed for this connection's setup commands.
  private setupPending = 0;

  constructor(settings: ConnectionSettings, hooks: ConnectionHooks) {
    this.settings = settings;
    this.hooks = hooks;
    this.parser = new ReplyParser(this, { maxData: settings.maxReplyData });
  }

  /** Commands written or waiting, not yet answered. */
  get pending(): number {
    return this.count;
  }

  get connected(): boolean {
    return this.isOpen;
  }

  get isDead(): boolean {
    return this.dead !== undefined;
  }

  /**
   * Opens the first connection. With `retry` false a failure is final (the promise
   * rejects and the connection is dead); otherwise the reconnect policy applies and the
   * promise resolves once connected (or rejects when the policy gives up).
   */
  start(retry: boolean): Promise<void> {
    return new Promise<void>((resolve, reject) => {
      this.attempt(retry ? undefined : { resolve, reject }, retry ? { resolve, reject } : undefined);
    });
  }

  // --- writing commands -------------------------------------------------------------

  /** Appends text (ASCII) to the current command. */
  text(value: string): this {
    this.reserveOut(value.length);
    this.outLength += this.out.write(value, this.outLength, 'latin1');
    return this;
  }

  /** Appends a non-negative integer in decimal. */
  num(value: number): this {
    this.reserveOut(20);
    const out = this.out;
    if (value < 10) {
      out[this.outLength++] = 48 + value;
      return this;
    }
    let digits = 0;
    for (let v = value; v >= 1; v = Math.floor(v / 10)) digits++;
    let pos = this.outLength + digits;
    this.outLength = pos;
    for (let v = value; v >= 1; v = Math.floor(v / 10)) out[--pos] = 48 + (v % 10);
    return this;
  }

  /** Ends the command line, followed by a data block when given. */
  end(data?: Uint8Array): this {
    this.reserveOut(2 + (data === undefined ? 0 : data.length + 2));
    const out = this.out;
    out[this.outLength++] = 13;
    out[this.outLength++] = 10;
    if (data !== undefined) {
      out.set(data, this.outLength);
      this.outLength += data.length;
      out[this.outLength++] = 13;
      out[this.outLength++] = 10;
    }
    return this;
  }

  /**
   * Registers the reply handler of the command just written and schedules the write.
   * Must follow `text`/`num`/`end` in the same synchronous block.
   */
  expect<R>(interpret: Interpret<R>, context?: unknown): Promise<R> {
    return new Promise<R>((resolve, reject) => this.register(interpret as Interpret<unknown>, context, resolve as Resolve, reject));
  }

  /**
   * Like {@link expect} without a promise: `interpret` is the only outcome (a throw from it
   * is dropped), for hot paths whose interpretation does all the work itself.
   */
  fire(interpret: Interpret<unknown>, context: unknown): void {
    this.register(interpret, context, ignore, ignore);
  }

  private register(interpret: Interpret<unknown>, context: unknown, resolve: Resolve, reject: Reject): void {
    if (this.dead !== undefined) {
      this.outLength = 0;
      settleLost(interpret, context, reject, this.dead);
      return;
    }
    this.push(interpret, resolve, reject, context);
    if (this.isOpen) {
      if (!this.flushScheduled) {
        this.flushScheduled = true;
        // Nothing awaits a reply: no reply will come this turn to prompt more commands, so
        // a lone command (a client waiting for each reply) goes out at once, together with
        // whatever else is sent in the same run of microtasks.
        if (this.sent === 0) queueMicrotask(this.flushBound);
        else setImmediate(this.flushBound);
      }
    } else {
      // A command now waits for the reconnect: the process must stay up for it.
      this.retryTimer?.ref();
    }
  }

  // --- lifecycle --------------------------------------------------------------------

  /** Resolves once every pending command is answered, then closes the connection. */
  async close(): Promise<void> {
    if (this.dead !== undefined) return;
    if (this.count > 0 && this.isOpen) {
      await new Promise<void>((resolve) => this.closeWaiters.push(resolve));
    }
    this.destroy(new ConnectionError('connection closed'));
  }

  /** Closes now: every pending command rejects with `error`; no reconnect. */
  destroy(error: Error = new ConnectionError('connection closed')): void {
    if (this.dead !== undefined) return;
    this.dead = error;
    this.isOpen = false;
    if (this.retryTimer !== undefined) clearTimeout(this.retryTimer);
    this.retryTimer = undefined;
    const socket = this.socket;
    this.socket = undefined;
    socket?.destroy();
    this.rejectPending(this.count, error);
    this.outLength = 0;
    this.releaseCloseWaiters();
    this.hooks.onDead?.(error);
  }

  // --- reply side -------------------------------------------------------------------

  /** @internal called by the parser for every reply, in order. */
  reply(code: ReplyCode, value: number, data: Buffer | undefined): void {
    if (this.setupPending > 0) {
      this.setupPending--;
      if (code !== ReplyCode.Using && code !== ReplyCode.Watching) {
        throw new ProtocolError(`setup command refused by the server: ${REPLY_NAMES[code]}`, { reply: REPLY_NAMES[code] });
      }
      return;
    }
    if (this.sent === 0) throw new ProtocolError(`unexpected reply ${REPLY_NAMES[code]} with no command pending`);
    const index = this.head;
    const interpret = this.interprets[index];
    const resolve = this.resolves[index];
    const reject = this.rejects[index];
    const context = this.contexts[index];
    this.interprets[index] = undefined as unknown as Interpret<unknown>;
    this.resolves[index] = undefined as unknown as Resolve;
    this.rejects[index] = undefined as unknown as Reject;
    this.contexts[index] = undefined;
    this.head = (index + 1) & (this.interprets.length - 1);
    this.count--;
    this.sent--;
    let result: unknown;
    try {
      result = interpret(code, value, data, context);
    } catch (error) {
      reject(error as Error);
      this.afterReply();
      return;
    }
    resolve(result);
    this.afterReply();
  }

  private afterReply(): void {
    if (this.count === 0 && this.closeWaiters.length > 0) this.releaseCloseWaiters();
  }

  private releaseCloseWaiters(): void {
    const waiters = this.closeWaiters;
    this.closeWaiters = [];
    for (const waiter of waiters) waiter();
  }

  // --- internals --------------------------------------------------------------------

  private reserveOut(extra: number): void {
    const needed = this.outLength + extra;
    if (needed <= this.out.length) return;
    let size = this.out.length * 2;
    while (size < needed) size *= 2;
    const bigger = Buffer.allocUnsafe(size);
    this.out.copy(bigger, 0, 0, this.outLength);
    this.out = bigger;
  }

  private push(interpret: Interpret<unknown>, resolve: Resolve, reject: Reject, context: unknown): void {
    let capacity = this.interprets.length;
    if (this.count === capacity) {
      // Grow the ring, unrolling it so the head is at 0.
      const grow = <X>(items: X[]): X[] => {
        const next = new Array<X>(capacity * 2);
        for (let i = 0; i < capacity; i++) next[i] = items[(this.head + i) & (capacity - 1)];
        return next;
      };
      this.interprets = grow(this.interprets);
      this.resolves = grow(this.resolves);
      this.rejects = grow(this.rejects);
      this.contexts = grow(this.contexts);
      this.head = 0;
      capacity *= 2;
    }
    const index = (this.head + this.count) & (capacity - 1);
    this.interprets[index] = interpret;
    this.resolves[index] = resolve;
    this.rejects[index] = reject;
    this.contexts[index] = context;
    this.count++;
  }

  private rejectPending(n: number, error: Error): void {
    const mask = this.interprets.length - 1;
    for (let i = 0; i < n; i++) {
      const index = this.head;
      const reject = this.rejects[index];
      const interpret = this.interprets[index];
      const context = this.contexts[index];
      this.resolves[index] = undefined as unknown as Resolve;
      this.rejects[index] = undefined as unknown as Reject;
      this.contexts[index] = undefined;
      this.interprets[index] = undefined as unknown as Interpret<unknown>;
      this.head = (index + 1) & mask;
      this.count--;
      settleLost(interpret, context, reject, error);
    }
    this.sent = 0;
  }

  private flush(): void {
    this.flushScheduled = false;
    const socket = this.socket;
    if (!this.isOpen || socket === undefined || this.outLength === 0) return;
    // Hand the socket a copy: small copies come from Node's shared pool, and the big
    // output buffer is reused for the next tick's commands.
    const chunk = Buffer.allocUnsafe(this.outLength);
    this.out.copy(chunk, 0, 0, this.outLength);
    this.outLength = 0;
    if (this.out.length > 1024 * 1024) this.out = Buffer.allocUnsafe(INITIAL_OUT);
    this.sent = this.count;
    socket.write(chunk);
  }

  private attempt(
    firstTry: { resolve: () => void; reject: (error: Error) => void } | undefined,
    untilOpen: { resolve: () => void; reject: (error: Error) => void } | undefined,
  ): void {
    if (this.dead !== undefined) {
      untilOpen?.reject(this.dead);
      firstTry?.reject(this.dead);
      return;
    }
    const { host, port, connectTimeout } = this.settings;
    const secure = this.settings.tls;
    const socket: net.Socket =
      secure === undefined
        ? net.connect({ host, port, noDelay: true })
        : tls.connect({ servername: net.isIP(host) === 0 ? host : undefined, ...secure, host, port });
    if (secure !== undefined) socket.setNoDelay(true);
    this.socket = socket;
    this.parser.reset();
    let established = false;
    socket.setTimeout(connectTimeout);
    socket.on('timeout', () => {
      if (!established) socket.destroy(new ConnectionError(`connecting to ${host}:${port} timed out after ${connectTimeout} ms`));
    });
    // Over TLS the connection is usable once the handshake is done.
    socket.once(secure === undefined ? 'connect' : 'secureConnect', () => {
      if (this.socket !== socket) return;
      established = true;
      socket.setTimeout(0);
      this.failures = 0;
      this.isOpen = true;
      this.pendingFailure = undefined;
      const setup = this.hooks.setup;
      if (setup.length > 0) {
        this.setupPending = setup.length;
        socket.write(setup.join(CRLF) + CRLF);
      }
      this.flush();
      firstTry?.resolve();
      untilOpen?.resolve();
    });
    socket.on('data', (chunk: Buffer) => {
      if (this.socket !== socket) return;
      try {
        this.parser.push(chunk);
      } catch (error) {
        const failure =
          error instanceof ProtocolError ? error : new ProtocolError(`bad reply from ${host}:${port}: ${(error as Error).message}`, { cause: error });
        this.pendingFailure = failure;
        socket.destroy();
      }
    });
    socket.on('error', (error) => {
      // Reported through 'close'; keep the cause for the commands it fails.
      if (this.pendingFailure === undefined) this.pendingFailure = error;
    });
    socket.once('close', () => {
      if (this.socket !== socket) return;
      this.socket = undefined;
      const wasOpen = this.isOpen;
      this.isOpen = false;
      this.setupPending = 0;
      const cause = this.pendingFailure;
      this.pendingFailure = undefined;
      const error =
        cause instanceof ProtocolError || cause instanceof ConnectionError
          ? cause
          : new ConnectionError(wasOpen ? `connection to ${host}:${port} lost` : `cannot connect to ${host}:${port}: ${cause?.message ?? 'closed'}`, { cause });
      if (wasOpen) {
        this.epoch++;
        this.rejectPending(this.sent, error);
        this.hooks.onDrop?.(error);
        this.releaseCloseWaiters();
      }
      if (this.dead !== undefined) return;
      if (!wasOpen && firstTry !== undefined) {
        this.destroy(error);
        firstTry.reject(error);
        return;
      }
      const policy = this.settings.reconnect;
      if (policy === false || this.failures >= policy.attempts) {
        this.destroy(error);
        untilOpen?.reject(error);
        return;
      }
      const delay = Math.min(policy.initialDelay * policy.factor ** this.failures, policy.maxDelay);
      this.failures++;
      this.retryTimer = setTimeout(() => {
        this.retryTimer = undefined;
        this.attempt(undefined, untilOpen);
      }, delay);
      // An idle connection's reconnect does not keep the process alive; one with
      // commands waiting for it does (see expect()).
      if (this.count === 0) this.retryTimer.unref();
    });
  }
}

function settleLost(interpret: Interpret<unknown>, context: unknown, reject: Reject, error: Error): void {
  try {
    interpret(LOST, -1, undefined, context, error);
  } catch (mapped) {
    reject(mapped as Error);
    return;
  }
  reject(error);
}
