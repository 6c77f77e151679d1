import { createHash } from 'node:crypto';
import { ErrorReply } from 'redis';
import { DocketError, ErrorCode } from '../errors.js';

/**
 * The connection to Redis failed or dropped before a command was answered. The command
 * is not resent: one that changes state (an `add`, an `ack`) may or may not have run.
 */
export class RedisConnectionError extends DocketError {
  static readonly code = ErrorCode.Connection;

  constructor(message: string, options?: { cause?: unknown }) {
    super(ErrorCode.Connection, message, options);
  }
}

/** A Redis error reply to one of docket's scripts (a server refusing, a script bug, a wrong key type). */
export class RedisReplyError extends DocketError {
  static readonly code = ErrorCode.Protocol;

  constructor(message: string, options?: { cause?: unknown }) {
    super(ErrorCode.Protocol, message, options);
  }
}

type Argument = string | Buffer;

/** Asks for bulk strings as Buffers (payloads are bytes); integers stay numbers. */
const BUFFERS = { typeMapping: { 36: Buffer } } as const;

/**
 * The members docket uses of a node-redis client (`createClient()` from `redis`).
 * Any connected client fits; docket never closes one it was given.
 */
export interface RedisClientLike {
  sendCommand(args: ReadonlyArray<Argument>, options?: typeof BUFFERS): Promise<unknown>;
  duplicate(): RedisClientLike;
  connect(): Promise<unknown>;
  close(): Promise<void>;
  destroy(): void;
  on(event: 'error', listener: (error: Error) => void): unknown;
  readonly isOpen: boolean;
}

/** The members docket uses of a node-redis cluster (`createCluster()` from `redis`). */
export interface RedisClusterLike {
  sendCommand(firstKey: Argument | undefined, isReadonly: boolean | undefined, args: Argument[], options?: typeof BUFFERS): Promise<unknown>;
  duplicate(): RedisClusterLike;
  connect(): Promise<unknown>;
  close(): Promise<void>;
  destroy(): void;
  on(event: 'error', listener: (error: Error) => void): unknown;
  readonly isOpen: boolean;
}

/** A Lua script and its SHA-1, the name EVALSHA runs it by. @internal */
export interface Script {
  readonly name: string;
  readonly source: string;
  readonly sha: string;
}

/** @internal */
export function defineScript(name: string, source: string): Script {
  return { name, source, sha: createHash('sha1').update(source).digest('hex') };
}

/**
 * One way to talk to Redis: a client, or a cluster routing each command by its first
 * key. Runs docket's scripts by SHA, loading a script the server does not know yet
 * (NOSCRIPT: after a restart, a failover, or on first use) with EVAL.
 * @internal
 */
export class RedisChannel {
  private constructor(
    private readonly send: (key: string, args: Argument[]) => Promise<unknown>,
    readonly target: RedisClientLike | RedisClusterLike,
    private readonly isCluster: boolean,
  ) {}

  static of(target: RedisClientLike | RedisClusterLike, isCluster: boolean): RedisChannel {
    const send = isCluster
      ? (key: string, args: Argument[]) => (target as RedisClusterLike).sendCommand(key, false, args, BUFFERS)
      : (_key: string, args: Argument[]) => (target as RedisClientLike).sendCommand(args, BUFFERS);
    return new RedisChannel(send, target, isCluster);
  }

  /** A new connection (or set of cluster connections) like this one: for blocking commands. */
  async duplicate(onError: (error: Error) => void): Promise<RedisChannel> {
    const copy = this.target.duplicate();
    copy.on('error', onError);
    await copy.connect();
    return RedisChannel.of(copy, this.isCluster);
  }

  /** Runs `script` with `keys` (the first routes it in a cluster) and `args`. */
  async run(script: Script, keys: readonly string[], args: readonly Argument[]): Promise<unknown> {
    const key = keys[0] as string;
    const tail = [String(keys.length), ...keys, ...args];
    try {
      return await this.send(key, ['EVALSHA', script.sha, ...tail]);
    } catch (error) {
      // NOSCRIPT means it did not run: sending the source is not a second execution.
      if (!(error instanceof Error) || !error.message.startsWith('NOSCRIPT')) throw wrap(error, script.name);
    }
    try {
      return await this.send(key, ['EVAL', script.source, ...tail]);
    } catch (error) {
      throw wrap(error, script.name);
    }
  }

  /**
   * A blocking command, pipelined after `CLIENT ID` on the same connection: `id` names
   * the connection, so that `CLIENT UNBLOCK <id>` from another can end the wait early
   * (at close) without the wait taking anything.
   */
  blocking(key: string, args: Argument[], what: string): { id: Promise<unknown>; reply: Promise<unknown> } {
    const id = this.command(key, ['CLIENT', 'ID'], what);
    // A dropped connection rejects both; the reply reports it, and the id (awaited only by
    // a close) must not become an unhandled rejection.
    id.catch(() => undefined);
    return { id, reply: this.command(key, args, what) };
  }

  /** A plain command, routed by `key`. */
  async command(key: string, args: Argument[], what: string): Promise<unknown> {
    try {
      return await this.send(key, args);
    } catch (error) {
      throw wrap(error, what);
    }
  }
}

/** Turns a node-redis failure into a docket error naming the operation. */
function wrap(error: unknown, what: string): Error {
  if (error instanceof DocketError) return error;
  const cause = error instanceof Error ? error : new Error(String(error));
  // Server error replies are ErrorReply (with subclasses); everything else is the
  // connection: closed, dropped, offline, timed out.
  if (cause instanceof ErrorReply) return new RedisReplyError(`${what}: Redis answered ${cause.message}`, { cause });
  return new RedisConnectionError(
    `${what}: the connection to Redis failed before the reply (${cause.message}); the command is not resent and may or may not have run`,
    { cause },
  );
}
