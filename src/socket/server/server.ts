import net from 'node:net';
import tls from 'node:tls';
import { type Clock, systemClock } from '../../clock.js';
import { type Codec, jsonCodec } from '../../codec.js';
import { InvalidOptionError } from '../../errors.js';
import type { QueueOptions } from '../../options.js';
import type { Queue } from '../../queue.js';
import { Parser } from './command-parser.js';
import { DEFAULT_MAX_JOB_SIZE, isValidTubeName, U32_MAX } from '../protocol.js';
import { Hub } from './hub.js';
import { Session, type SessionTransport } from './session.js';

/**
 * Options of {@link serve}. Durations are milliseconds; the protocol's seconds are
 * converted at the edge.
 * @typeParam M - tube name to payload type of the queues passed in (inferred)
 * @typeParam C - payload type of the queues `createQueue` makes (inferred)
 */
export interface ServeOptions<M extends Record<string, unknown> = Record<string, unknown>, C = unknown> {
  /**
   * Interface to listen on. Loopback by default: exposing a queue to the network is a
   * decision to make explicitly (and then, probably, with `tls`).
   * @defaultValue '127.0.0.1'
   */
  host?: string;
  /**
   * TCP port; `0` picks a free one (read it back from `server.port`).
   * @defaultValue 11300
   */
  port?: number;
  /**
   * Existing queues to expose, by tube name. They stay yours: `close()` does not close them.
   * @example `{ queues: { emails: emailQueue } }`
   */
  queues?: { [K in keyof M]: Queue<M[K]> };
  /**
   * Makes the queue of a tube that does not exist yet, on first use (`use`, `watch`).
   * Return `undefined` to refuse the name. Without it, tubes created on demand are plain
   * queues with `queueOptions` that keep job bodies as raw bytes, as beanstalkd does.
   * Queues made here are the server's: closed when their tube disappears or at `close()`.
   */
  createQueue?: (name: string) => Queue<C> | undefined;
  /**
   * Whether a client may create tubes by naming them. `false` answers NOT_FOUND to `use`
   * or `watch` of a tube that does not exist.
   * @defaultValue true
   */
  autoCreate?: boolean;
  /**
   * Options of tubes created on demand (when there is no `createQueue`). Their retry
   * policy is beanstalkd's (`attempts: Infinity`, no backoff) unless set here.
   * @defaultValue `{}`
   */
  queueOptions?: QueueOptions<unknown>;
  /**
   * Turns job bodies into `T` and back, for the queues passed in and those `createQueue`
   * makes. A body it cannot decode is answered BAD_FORMAT (never lost silently).
   * @defaultValue jsonCodec
   */
  codec?: Codec<unknown>;
  /**
   * Largest job body accepted, bytes (beanstalkd's `-z`). Larger ones are discarded as
   * they arrive and answered JOB_TOO_BIG.
   * @defaultValue 65535
   */
  maxJobSize?: number;
  /** Connections served at once; further ones are closed at once. @defaultValue 1024 */
  maxConnections?: number;
  /**
   * Tubes at once (each is a queue of a few KB). Creating one more answers OUT_OF_MEMORY,
   * as beanstalkd does when it cannot allocate a tube.
   * @defaultValue 10_000
   */
  maxTubes?: number;
  /**
   * Ms a connection may stay idle (no command, no job held, not waiting in reserve)
   * before it is closed; `0` turns it off.
   * @defaultValue 600_000
   */
  idleTimeout?: number;
  /**
   * Ms a client has to finish a command it started (a line, or a put's body); slower
   * clients (slowloris) are closed. `0` turns it off.
   * @defaultValue 30_000
   */
  commandTimeout?: number;
  /**
   * Bytes of replies a connection may leave unread before the server stops reading its
   * commands. Memory per connection stays near this bound.
   * @defaultValue 1_048_576
   */
  maxOutputBuffer?: number;
  /**
   * Ms the replies of a connection may stay backed up above `maxOutputBuffer` before the
   * client (one that never reads) is disconnected. `0` turns it off.
   * @defaultValue 30_000
   */
  writeTimeout?: number;
  /**
   * Serve over TLS with these `node:tls` options (`key`, `cert`; `requestCert`, `ca` and
   * `rejectUnauthorized` for mutual TLS).
   */
  tls?: tls.TlsOptions;
  /** Time source for protocol timers; queues passed in should use the same. @defaultValue systemClock */
  clock?: Clock;
  /** Errors with no other channel (a failing queue, a bug). @defaultValue a process warning */
  onError?: (error: unknown) => void;
}

interface ResolvedServeOptions {
  host: string;
  port: number;
  maxJobSize: number;
  maxConnections: number;
  maxTubes: number;
  idleTimeout: number;
  commandTimeout: number;
  maxOutputBuffer: number;
  writeTimeout: number;
}

const DEFAULTS = {
  host: '127.0.0.1',
  port: 11300,
  maxJobSize: DEFAULT_MAX_JOB_SIZE,
  maxConnections: 1024,
  maxTubes: 10_000,
  idleTimeout: 600_000,
  commandTimeout: 30_000,
  maxOutputBuffer: 1_048_576,
  writeTimeout: 30_000,
} as const;

function integer(name: string, value: unknown, min: number, max: number): number {
  if (typeof value !== 'number' || !Number.isInteger(value) || value < min || value > max) {
    throw new InvalidOptionError(`Expected \`${name}\` to be an integer from ${min} to ${max}, got \`${String(value)}\` (${typeof value})`);
  }
  return value;
}

// The server handles every queue as Queue<unknown>; types are checked at serve().
type AnyServeOptions = ServeOptions<Record<string, unknown>, unknown>;

function resolveOptions(options: AnyServeOptions): ResolvedServeOptions {
  const host = options.host ?? DEFAULTS.host;
  if (typeof host !== 'string' || host.length === 0) throw new InvalidOptionError(`Expected \`host\` to be a non-empty string, got \`${String(host)}\``);
  return {
    host,
    port: integer('port', options.port ?? DEFAULTS.port, 0, 65_535),
    maxJobSize: integer('maxJobSize', options.maxJobSize ?? DEFAULTS.maxJobSize, 0, U32_MAX),
    maxConnections: integer('maxConnections', options.maxConnections ?? DEFAULTS.maxConnections, 1, Number.MAX_SAFE_INTEGER),
    maxTubes: integer('maxTubes', options.maxTubes ?? DEFAULTS.maxTubes, 1, Number.MAX_SAFE_INTEGER),
    idleTimeout: integer('idleTimeout', options.idleTimeout ?? DEFAULTS.idleTimeout, 0, 2 ** 31 - 1),
    commandTimeout: integer('commandTimeout', options.commandTimeout ?? DEFAULTS.commandTimeout, 0, 2 ** 31 - 1),
    maxOutputBuffer: integer('maxOutputBuffer', options.maxOutputBuffer ?? DEFAULTS.maxOutputBuffer, 1, Number.MAX_SAFE_INTEGER),
    writeTimeout: integer('writeTimeout', options.writeTimeout ?? DEFAULTS.writeTimeout, 0, 2 ** 31 - 1),
  };
}

// By shape, not instanceof: a queue from another copy of docket (ESM next to CJS) is fine.
function isQueue(value: unknown): value is Queue<unknown> {
  const q = value as Partial<Record<'tryAdd' | 'tryReserve' | 'peekReady' | 'on', unknown>> | null;
  return (
    typeof q === 'object' &&
    q !== null &&
    typeof q.tryAdd === 'function' &&
    typeof q.tryReserve === 'function' &&
    typeof q.peekReady === 'function' &&
    typeof q.on === 'function'
  );
}

// Stop reading from a client whose pipelined commands pile up behind a waiting one.
const MAX_BACKLOG = 4096;

/** Bodies up to this many bytes are copied into the reply text rather than written apart. */
const INLINE_BODY = 4096;

/**
 * One client connection: socket glue around a parser and a session. Replies go out as
 * soon as the session has answered everything it received (a lone command at once, a
 * pipelined chunk in one write), enforces the per-connection limits, and never lets
 * anything the client sends throw out of a socket callback.
 */
class Connection implements SessionTransport {
  readonly socket: net.Socket;
  private readonly server: SocketServer;
  private readonly limits: ResolvedServeOptions;
  private readonly hub: Hub;
  readonly session: Session;
  private readonly parser: Parser;
  private text = '';
  private parts: Array<string | Uint8Array> = [];
  // Bytes of replies not yet handed to the socket.
  private queued = 0;
  /** Inside `onData`: replies wait for the whole chunk's commands, then go out together. */
  private reading = false;
  private flushAfterRead = false;
  private ending = false;
  private closed = false;
  private readingPaused = false;
  private outputBlocked = false;
  /** When the unfinished command began (undefined when none is unfinished). */
  private commandSince: number | undefined = undefined;
  private commandsSeen = 0;
  private blockedSince = 0;
  private timer: ReturnType<typeof setTimeout> | undefined = undefined;

  constructor(socket: net.Socket, server: SocketServer, hub: Hub, limits: ResolvedServeOptions) {
    this.socket = socket;
    this.server = server;
    this.limits = limits;
    this.hub = hub;
    this.session = new Session(hub, this);
    this.parser = new Parser(
      (command) => {
        this.commandsSeen++;
        this.session.receive(command);
      },
      { maxJobSize: limits.maxJobSize },
    );
    socket.setNoDelay(true);
    socket.on('data', (chunk: Buffer) => this.onData(chunk));
    socket.on('end', () => this.session.endOfInput());
    socket.on('drain', () => this.onDrain());
    socket.on('error', () => socket.destroy());
    socket.on('close', () => this.onClose());
    this.arm();
  }

  private onData(chunk: Buffer): void {
    if (this.closed) return;
    const seenBefore = this.commandsSeen;
    this.reading = true;
    try {
      this.parser.push(chunk);
    } catch (error) {
      // Unreachable by design; if it happens, this client alone pays for it.
      this.server.reportError(error);
      this.socket.destroy();
      return;
    } finally {
      this.reading = false;
    }
    if (this.flushAfterRead) {
      this.flushAfterRead = false;
      this.flush();
    }
    if (!this.parser.inProgress) this.commandSince = undefined;
    else if (this.commandSince === undefined || this.commandsSeen !== seenBefore) this.commandSince = Date.now();
    if (this.session.backlog > MAX_BACKLOG) this.pauseReading();
  }

  // ── SessionTransport ──────────────────────────────────────────────────

  // Replies are only queued here; they go out when the session says it has answered
  // what it can (answered, end), so a chunk's replies share one write.
  write(text: string): void {
    this.text += text;
    this.queued += text.length;
  }

  writeBytes(bytes: Uint8Array): void {
    if (bytes.length <= INLINE_BODY) {
      // A small body joins the reply text (latin1 maps each byte to one char and back): one
      // plain write instead of a corked writev of three parts.
      this.write(Buffer.from(bytes.buffer, bytes.byteOffset, bytes.length).toString('latin1'));
      return;
    }
    if (this.text.length > 0) {
      this.parts.push(this.text);
      this.text = '';
    }
    this.parts.push(bytes);
    this.queued += bytes.length;
    // A pipelined burst of big replies: hand them over now, so that the backpressure
    // check below can stop the session before it produces more.
    if (this.queued > this.limits.maxOutputBuffer) this.flush();
  }

  answered(): void {
    if (this.queued === 0) return;
    if (this.reading) this.flushAfterRead = true;
    else this.flush();
  }

  caughtUp(): void {
    if (this.readingPaused && !this.outputBlocked) this.resumeReading();
  }

  end(): void {
    if (this.ending || this.closed) return;
    this.ending = true;
    this.flush();
    // End our side, then close once the replies are out: a client that never closes its
    // side must not keep the connection (and a maxConnections slot) forever.
    this.socket.destroySoon();
  }

  // ── output ────────────────────────────────────────────────────────────

  private flush(): void {
    this.queued = 0;
    if (this.closed || this.socket.destroyed) return;
    const parts = this.parts;
    const text = this.text;
    this.text = '';
    if (parts.length === 0) {
      if (text.length > 0) this.socket.write(text, 'latin1');
    } else {
      this.parts = [];
      if (text.length > 0) parts.push(text);
      this.socket.cork();
      for (const part of parts) {
        if (typeof part === 'string') this.socket.write(part, 'latin1');
        else this.socket.write(part);
      }
      this.socket.uncork();
    }
    // writableNeedDrain: the socket promised a 'drain' event, which unblocks.
    if (!this.outputBlocked && this.socket.writableLength > this.limits.maxOutputBuffer && this.socket.writableNeedDrain) {
      // The client does not read fast enough: stop executing its commands (and reading
      // them) until it catches up; writeTimeout decides when to give up on it.
      this.outputBlocked = true;
      this.blockedSince = Date.now();
      this.session.setPaused(true);
      this.pauseReading();
    }
  }

  private onDrain(): void {
    if (!this.outputBlocked) return;
    this.outputBlocked = false;
    this.session.setPaused(false);
    if (this.session.backlog <= MAX_BACKLOG) this.resumeReading();
  }

  private pauseReading(): void {
    if (this.readingPaused) return;
    this.readingPaused = true;
    this.socket.pause();
  }

  private resumeReading(): void {
    if (!this.readingPaused) return;
    this.readingPaused = false;
    this.socket.resume();
  }

  // ── limits ────────────────────────────────────────────────────────────

  /**
   * One lazy timer per connection checks every limit: it fires at the earliest moment a
   * limit could be exceeded, re-checks the actual state, and re-arms. Nothing is touched
   * per byte or per command.
   */
  private arm(): void {
    const { idleTimeout, commandTimeout, writeTimeout } = this.limits;
    const periods = [idleTimeout, commandTimeout, writeTimeout].filter((ms) => ms > 0);
    if (periods.length === 0) return;
    const period = Math.max(5, Math.min(...periods) / 4);
    this.timer = setTimeout(() => this.check(), period);
    this.timer.unref();
  }

  private check(): void {
    this.timer = undefined;
    if (this.closed) return;
    const now = Date.now();
    const { idleTimeout, commandTimeout, writeTimeout } = this.limits;
    if (this.session.backlog <= MAX_BACKLOG && !this.outputBlocked) this.resumeReading();
    if (commandTimeout > 0 && this.commandSince !== undefined && now - this.commandSince >= commandTimeout) return this.kill();
    if (writeTimeout > 0 && this.outputBlocked && now - this.blockedSince >= writeTimeout) return this.kill();
    if (
      idleTimeout > 0 &&
      this.commandSince === undefined &&
      !this.session.isReserving &&
      // The session keeps time by the hub's clock (the same as the queues').
      this.hub.clock.now() - this.session.lastActive >= idleTimeout &&
      this.session.isIdle
    ) {
      return this.kill();
    }
    this.arm();
  }

  private kill(): void {
    this.socket.destroy();
  }

  private onClose(): void {
    if (this.closed) return;
    this.closed = true;
    if (this.timer !== undefined) clearTimeout(this.timer);
    this.timer = undefined;
    this.session.close();
    this.server.forget(this);
  }

  destroy(): void {
    this.socket.destroy();
    this.onClose();
  }
}

/**
 * A running beanstalkd-protocol server (see {@link serve}).
 */
export class SocketServer {
  private readonly net: net.Server;
  private readonly hub: Hub;
  private readonly limits: ResolvedServeOptions;
  private readonly connections = new Set<Connection>();
  private readonly onError: (error: unknown) => void;
  private closePromise: Promise<void> | undefined = undefined;
  private readonly sockets = new Set<net.Socket>();
  private bound: net.AddressInfo | undefined = undefined;

  /** @internal Use {@link serve}. */
  constructor(options: AnyServeOptions) {
    this.limits = resolveOptions(options);
    this.onError =
      options.onError ?? ((error: unknown) => process.emitWarning(error instanceof Error ? error : new Error(String(error)), { code: 'DOCKET_SOCKET' }));
    const queues = new Map<string, Queue<unknown>>();
    for (const [name, queue] of Object.entries(options.queues ?? {}) as Array<[string, Queue<unknown>]>) {
      if (!isValidTubeName(name))
        throw new InvalidOptionError(`Expected \`queues\` keys to be tube names (1-200 of A-Za-z0-9-+/;.$_(), not starting with -), got \`${name}\``);
      if (!isQueue(queue)) throw new InvalidOptionError(`Expected \`queues.${name}\` to be a Queue, got \`${String(queue)}\` (${typeof queue})`);
      queues.set(name, queue);
    }
    if (options.createQueue !== undefined && typeof options.createQueue !== 'function') {
      throw new InvalidOptionError(`Expected \`createQueue\` to be a function, got \`${String(options.createQueue)}\``);
    }
    this.hub = new Hub({
      queues,
      createQueue: options.createQueue,
      autoCreate: options.autoCreate ?? true,
      queueOptions: options.queueOptions ?? {},
      codec: options.codec ?? jsonCodec,
      maxJobSize: this.limits.maxJobSize,
      maxTubes: this.limits.maxTubes,
      clock: options.clock ?? systemClock,
    });
    this.hub.onError = (error) => this.reportError(error);
    const onSocket = (socket: net.Socket): void => this.accept(socket);
    this.net =
      options.tls === undefined ? net.createServer({ allowHalfOpen: true }, onSocket) : tls.createServer({ ...options.tls, allowHalfOpen: true }, onSocket);
    // Also enforced by Node at accept time, so that TLS handshakes in progress count too.
    this.net.maxConnections = this.limits.maxConnections;
    if (options.tls !== undefined) {
      // A failed handshake is the client's problem, not the server's.
      this.net.on('tlsClientError', (_error: Error, socket: tls.TLSSocket) => socket.destroy());
    }
    // Every TCP socket, TLS handshakes still in progress included: close() must end them all,
    // or net.Server#close waits for a half-done handshake forever.
    this.net.on('connection', (socket: net.Socket) => {
      this.sockets.add(socket);
      socket.once('close', () => this.sockets.delete(socket));
    });
  }

  /** @internal */
  listen(): Promise<void> {
    return new Promise((resolve, reject) => {
      const fail = (error: Error): void => reject(error);
      this.net.once('error', fail);
      this.net.listen(this.limits.port, this.limits.host, () => {
        this.net.off('error', fail);
        this.net.on('error', (error) => this.reportError(error));
        this.bound = this.net.address() as net.AddressInfo;
        resolve();
      });
    });
  }

  /** The address the server listens on. */
  get address(): { host: string; port: number; family: string } {
    const bound = this.bound as net.AddressInfo;
    return { host: bound.address, port: bound.port, family: bound.family };
  }

  /** The port the server listens on (useful with `port: 0`). */
  get port(): number {
    return (this.bound as net.AddressInfo).port;
  }

  /** Connections open now. */
  get connectionCount(): number {
    return this.connections.size;
  }

  /** Whether `put` is refused (after {@link SocketServer.drain} or during close). */
  get isDraining(): boolean {
    return this.hub.isDraining;
  }

  /** The queue behind a tube, if the tube exists (for in-process producers and consumers). */
  queue(name: string): Queue<unknown> | undefined {
    return this.hub.tubes.get(name)?.queue;
  }

  /**
   * Drain mode, as beanstalkd's SIGUSR1: `put` answers DRAINING; everything else (reserve,
   * delete...) keeps working so that workers can finish what is queued.
   */
  drain(): void {
    this.hub.drain();
  }

  /**
   * Stops listening, closes every connection (their reserved jobs go back to ready,
   * uncounted), closes the queues the server created (not those passed in), and resolves
   * once no handle is left. Idempotent.
   */
  close(): Promise<void> {
    this.closePromise ??= this.shutDown();
    return this.closePromise;
  }

  private async shutDown(): Promise<void> {
    this.hub.drain();
    const closed = new Promise<void>((resolve) => this.net.close(() => resolve()));
    for (const connection of [...this.connections]) connection.destroy();
    for (const socket of this.sockets) socket.destroy();
    await closed;
    await this.hub.close();
  }

  private accept(socket: net.Socket): void {
    if (this.closePromise !== undefined || this.connections.size >= this.limits.maxConnections) {
      socket.destroy();
      return;
    }
    this.connections.add(new Connection(socket, this, this.hub, this.limits));
  }

  /** @internal */
  forget(connection: Connection): void {
    this.connections.delete(connection);
  }

  /** @internal */
  reportError(error: unknown): void {
    try {
      this.onError(error);
    } catch {
      // An error callback that throws must not take the server down either.
    }
  }
}

/**
 * Serves queues over the beanstalkd protocol: every beanstalkd client (any language) can
 * put and reserve. Resolves once listening.
 *
 * @typeParam M - tube name to payload type of the queues passed in (inferred)
 * @typeParam C - payload type of the queues `createQueue` makes (inferred)
 * @example
 * ```ts
 * const emails = new Queue<Email>({ retry: { attempts: 5 } });
 * const server = await serve({ queues: { emails }, port: 0 });
 * console.log(`beanstalkd protocol on 127.0.0.1:${server.port}`);
 * // ... later
 * await server.close();
 * ```
 */
export async function serve<M extends Record<string, unknown> = Record<string, unknown>, C = unknown>(options: ServeOptions<M, C> = {}): Promise<SocketServer> {
  const server = new SocketServer(options as unknown as AnyServeOptions);
  try {
    await server.listen();
  } catch (error) {
    await server.close();
    throw error;
  }
  return server;
}
