import type tls from 'node:tls';
import { jsonCodec, type Codec } from '../../codec.js';
import { InvalidOptionError } from '../../errors.js';
import type { ReconnectPolicy } from './connection.js';
import { DEFAULT_TUBE, isValidTubeName, U32_MAX } from '../protocol.js';

/**
 * Options of {@link connect}. Times are milliseconds, as everywhere in docket; the
 * client converts them to the protocol's whole seconds (see {@link toSeconds}).
 * @typeParam T - the payload type
 */
export interface ConnectOptions<T = unknown> {
  /** Server address. A URL given to `connect` overrides it. @defaultValue `'127.0.0.1'` */
  host?: string;
  /** Server port. @defaultValue `11300` */
  port?: number;
  /**
   * Tube (queue name) to produce into and consume from. The URL's path overrides it.
   * @defaultValue `'default'`
   */
  tube?: string;
  /** Payload to bytes and back. @defaultValue `jsonCodec` (JSON as UTF-8) */
  codec?: Codec<T>;
  /** Priority of added jobs, u32, lower runs first. @defaultValue `1024` */
  priority?: number;
  /** Delay of added jobs, ms (sent rounded up to whole seconds). @defaultValue `0` */
  delay?: number;
  /** Lease (time to run) of added jobs, ms (sent rounded up to whole seconds, at least 1 s). @defaultValue `30_000` */
  ttr?: number;
  /** Handlers run at once by `process()`, unless it is given its own. @defaultValue `1` */
  concurrency?: number;
  /**
   * How `fail()` (and a throwing `process()` handler) treats a job: while the server has
   * reserved it fewer than `attempts` times it is released after `delay` ms, then buried.
   * @defaultValue `{ attempts: 1, delay: 0 }` (a failure buries the job, as the core queue's default)
   */
  retry?: { attempts?: number; delay?: number };
  /** Ms to wait for a TCP connection before trying again. @defaultValue `10_000` */
  connectTimeout?: number;
  /**
   * Reconnection after a dropped connection: the wait starts at `initialDelay` and grows
   * by `factor` up to `maxDelay`; `attempts` failed tries in a row give up. `false`
   * gives up at the first drop.
   * @defaultValue `{ initialDelay: 50, maxDelay: 2_000, factor: 2, attempts: Infinity }`
   */
  reconnect?: Partial<ReconnectPolicy> | false;
  /** Largest reply data block accepted (a job body or stats), bytes. @defaultValue `67_108_864` */
  maxReplySize?: number;
  /**
   * Connect over TLS (to a docket server started with `tls`, or a TLS proxy in front of
   * beanstalkd): `true` for the system's trusted CAs, or `node:tls` connect options.
   * @defaultValue plain TCP
   * @example `{ tls: { ca: readFileSync('ca.pem') } }`
   */
  tls?: boolean | tls.ConnectionOptions;
}

/** {@link ConnectOptions} with every default applied. */
export interface ResolvedConnectOptions<T> {
  host: string;
  port: number;
  tube: string;
  codec: Codec<T>;
  priority: number;
  delay: number;
  ttr: number;
  concurrency: number;
  retry: { attempts: number; delay: number };
  connectTimeout: number;
  reconnect: ReconnectPolicy | false;
  maxReplySize: number;
  tls: tls.ConnectionOptions | undefined;
}

export const DEFAULTS = {
  host: '127.0.0.1',
  port: 11300,
  tube: DEFAULT_TUBE,
  priority: 1024,
  delay: 0,
  ttr: 30_000,
  concurrency: 1,
  retry: { attempts: 1, delay: 0 },
  connectTimeout: 10_000,
  reconnect: { initialDelay: 50, maxDelay: 2_000, factor: 2, attempts: Infinity },
  maxReplySize: 64 * 1024 * 1024,
} as const;

/** Largest u32: the protocol's bound for priority, delay, ttr and timeouts. */
export const MAX_U32 = U32_MAX;

function fail(name: string, expected: string, value: unknown): never {
  throw new InvalidOptionError(`Expected \`${name}\` to be ${expected}, got \`${String(value)}\` (${typeof value})`);
}

export function checkPriority(name: string, value: number): number {
  if (!Number.isInteger(value) || value < 0 || value > MAX_U32) fail(name, 'an integer from 0 to 4294967295', value);
  return value;
}

export function checkMs(name: string, value: number, min = 0): number {
  if (typeof value !== 'number' || Number.isNaN(value) || value < min) fail(name, `a number of ms >= ${min}`, value);
  return value;
}

function checkCount(name: string, value: number, min: number): number {
  if (!(value === Infinity || (Number.isInteger(value) && value >= min))) fail(name, `an integer >= ${min}`, value);
  return value;
}

/** A finite integer >= 1: `process()` starts one slot per unit. */
export function checkConcurrency(value: number): number {
  if (!Number.isInteger(value) || value < 1) fail('concurrency', 'an integer >= 1', value);
  return value;
}

/** Checks a tube name against the protocol's grammar (1-200 bytes, beanstalkd's characters). */
export function checkTube(value: string): string {
  if (typeof value !== 'string' || !isValidTubeName(value))
    fail('tube', 'a beanstalkd tube name (1-200 of A-Z a-z 0-9 - + / ; . $ _ ( ), not starting with -)', value);
  return value;
}

/**
 * Milliseconds to the protocol's whole seconds, rounded up (a 1 ms delay still waits),
 * capped at u32.
 */
export function toSeconds(ms: number): number {
  if (ms === Infinity) return MAX_U32;
  return Math.min(Math.ceil(ms / 1000), MAX_U32);
}

/** A job's ttr in protocol seconds: rounded up, at least 1 (beanstalkd raises 0 to 1 anyway). */
export function ttrSeconds(ms: number): number {
  return Math.max(1, toSeconds(ms));
}

/**
 * Reads `beanstalk://host:port/tube` (also `beanstalkd://`). Missing parts keep their
 * defaults; the tube is URL-decoded.
 */
export function parseUrl(url: string): { host?: string; port?: number; tube?: string } {
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch (error) {
    throw new InvalidOptionError(`Expected \`url\` to be like beanstalk://host:port/tube, got \`${url}\``, { cause: error });
  }
  if (parsed.protocol !== 'beanstalk:' && parsed.protocol !== 'beanstalkd:') {
    throw new InvalidOptionError(`Expected \`url\` to use the beanstalk: scheme, got \`${url}\``);
  }
  const result: { host?: string; port?: number; tube?: string } = {};
  // IPv6 literals come back in brackets; net.connect wants them bare.
  if (parsed.hostname !== '') result.host = parsed.hostname.replace(/^\[(.*)\]$/, '$1');
  if (parsed.port !== '') result.port = Number(parsed.port);
  const path = parsed.pathname.replace(/^\/+/, '');
  if (path !== '') result.tube = decodeURIComponent(path);
  return result;
}

export function resolveOptions<T>(options: ConnectOptions<T>): ResolvedConnectOptions<T> {
  const port = options.port ?? DEFAULTS.port;
  if (!Number.isInteger(port) || port < 0 || port > 65535) fail('port', 'an integer from 0 to 65535', port);
  const reconnect =
    options.reconnect === false
      ? false
      : {
          initialDelay: checkMs('reconnect.initialDelay', options.reconnect?.initialDelay ?? DEFAULTS.reconnect.initialDelay),
          maxDelay: checkMs('reconnect.maxDelay', options.reconnect?.maxDelay ?? DEFAULTS.reconnect.maxDelay),
          factor: checkMs('reconnect.factor', options.reconnect?.factor ?? DEFAULTS.reconnect.factor, 1),
          attempts: checkCount('reconnect.attempts', options.reconnect?.attempts ?? DEFAULTS.reconnect.attempts, 0),
        };
  return {
    host: options.host ?? DEFAULTS.host,
    port,
    tube: checkTube(options.tube ?? DEFAULTS.tube),
    codec: options.codec ?? (jsonCodec as Codec<T>),
    priority: checkPriority('priority', options.priority ?? DEFAULTS.priority),
    delay: checkMs('delay', options.delay ?? DEFAULTS.delay),
    ttr: checkMs('ttr', options.ttr ?? DEFAULTS.ttr, 1),
    concurrency: checkConcurrency(options.concurrency ?? DEFAULTS.concurrency),
    retry: {
      attempts: checkCount('retry.attempts', options.retry?.attempts ?? DEFAULTS.retry.attempts, 1),
      delay: checkMs('retry.delay', options.retry?.delay ?? DEFAULTS.retry.delay),
    },
    connectTimeout: checkMs('connectTimeout', options.connectTimeout ?? DEFAULTS.connectTimeout, 1),
    reconnect,
    maxReplySize: checkCount('maxReplySize', options.maxReplySize ?? DEFAULTS.maxReplySize, 1),
    tls: options.tls === true ? {} : options.tls === false || options.tls === undefined ? undefined : options.tls,
  };
}
