/**
 * Real redis-server processes on 127.0.0.1 free ports for the Redis suites (gate them with
 * `requireRedis`). No test-runner imports: bench cases use it too.
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import net from 'node:net';
import { join } from 'node:path';
import { canConnect, freePort } from './net.js';
import { findBinary, requireBinary } from './system-binary.js';
import { watchExit } from './child-exit.js';

/** Whether redis-server is there for the suite described by `skipped` (see requireBinary). */
export function requireRedis(skipped: string): boolean {
  return requireBinary({ name: 'redis-server', install: 'apt-get install -y redis-server', skipped }) !== undefined;
}

export interface RunningRedis {
  readonly port: number;
  readonly url: string;
  /** Its working directory (the append-only file lives there). */
  readonly dir: string;
  readonly process: ChildProcess;
  /** SIGKILL, and resolves once it exited: a crash, nothing flushed on the way out. */
  kill(): Promise<void>;
  /** Kills it and removes its directory. Safe to call twice. */
  stop(): Promise<void>;
}

export interface StartRedisOptions {
  /** Port, e.g. the one a killed server had. @defaultValue a free one */
  port?: number;
  /** Working directory, e.g. a killed server's (to restart on its files). @defaultValue a new temporary one */
  dir?: string;
  /** Extra `--name value` arguments, e.g. `['--appendonly', 'yes', '--appendfsync', 'always']`. */
  args?: string[];
  timeout?: number;
}

/** Whether a Redis server on `port` answers PING with PONG now (not LOADING, not refused). */
function answersPing(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = net.connect({ host: '127.0.0.1', port });
    let reply = '';
    const done = (ok: boolean): void => {
      socket.destroy();
      resolve(ok);
    };
    socket.setTimeout(1000, () => done(false));
    socket.once('error', () => done(false));
    socket.once('connect', () => socket.write('PING\r\n'));
    socket.on('data', (chunk) => {
      reply += chunk.toString();
      if (reply.includes('\r\n')) done(reply.startsWith('+PONG'));
    });
  });
}

/** Starts `redis-server` without persistence (unless `args` ask for it) and resolves once it accepts connections. */
export async function startRedis(options: StartRedisOptions = {}): Promise<RunningRedis> {
  const path = findBinary('redis-server');
  if (path === undefined) throw new Error('redis-server is not on PATH (apt-get install -y redis-server, or set REDIS_SERVER_PATH)');
  const dir = options.dir ?? mkdtempSync(join(tmpdir(), 'docket-redis-'));
  const deadline = Date.now() + (options.timeout ?? 10_000);
  for (let tries = 0; ; tries++) {
    const port = options.port ?? (await freePort());
    const args = [
      '--port',
      String(port),
      '--bind',
      '127.0.0.1',
      '--dir',
      dir,
      '--save',
      '',
      '--appendonly',
      'no',
      '--daemonize',
      'no',
      ...(options.args ?? []),
    ];
    const child = spawn(path, args, { stdio: ['ignore', 'pipe', 'pipe'] });
    let output = '';
    const keep = (chunk: Buffer): void => {
      if (output.length < 8192) output += chunk.toString();
    };
    child.stdout?.on('data', keep);
    child.stderr?.on('data', keep);
    const exit = watchExit(child);
    const kill = async (): Promise<void> => {
      if (!exit.exited) child.kill('SIGKILL');
      await exit.done;
    };
    const stop = async (): Promise<void> => {
      await kill();
      if (options.dir === undefined) rmSync(dir, { recursive: true, force: true });
    };
    while (!exit.exited && Date.now() < deadline) {
      // Accepting connections is not enough: while it loads its files it answers LOADING.
      if (await answersPing(port)) return { port, url: `redis://127.0.0.1:${port}`, dir, process: child, kill, stop };
      await new Promise((resolve) => setTimeout(resolve, 20));
    }
    await kill();
    if (Date.now() >= deadline || tries >= 5) {
      if (options.dir === undefined) rmSync(dir, { recursive: true, force: true });
      throw new Error(`redis-server did not start on 127.0.0.1:${port}: ${output.trim().slice(-500) || 'timed out'}`);
    }
  }
}

export interface RunningRedisCluster {
  /** The masters, one per node. */
  readonly nodes: readonly RunningRedis[];
  /** `redis://127.0.0.1:<port>` of every node: root nodes for a cluster client. */
  readonly urls: readonly string[];
  stop(): Promise<void>;
}

/** A port whose cluster-bus port (+10000) is free as well. */
async function clusterPort(): Promise<number> {
  for (;;) {
    const port = await freePort();
    if (port + 10_000 < 65_536 && !(await canConnect(port + 10_000))) return port;
  }
}

/**
 * A local Redis Cluster of `masters` nodes (no replicas): `redis-server --cluster-enabled
 * yes` each, joined by `redis-cli --cluster create`, resolved once every slot is served.
 */
export async function startRedisCluster(masters = 3): Promise<RunningRedisCluster> {
  const cli = findBinary('redis-cli');
  if (cli === undefined) throw new Error('redis-cli is not on PATH (apt-get install -y redis-server, or set REDIS_CLI_PATH)');
  const nodes: RunningRedis[] = [];
  const stop = async (): Promise<void> => {
    await Promise.all(nodes.map((node) => node.stop()));
  };
  try {
    for (let i = 0; i < masters; i++) {
      const port = await clusterPort();
      nodes.push(await startRedis({ port, args: ['--cluster-enabled', 'yes', '--cluster-config-file', 'nodes.conf', '--cluster-node-timeout', '5000'] }));
    }
    const addresses = nodes.map((node) => `127.0.0.1:${node.port}`);
    const created = spawnSync(cli, ['--cluster', 'create', ...addresses, '--cluster-replicas', '0', '--cluster-yes'], { encoding: 'utf8', timeout: 60_000 });
    if (created.status !== 0) throw new Error(`redis-cli --cluster create failed: ${created.stdout}${created.stderr}`);
    // Every node must know every slot's owner before a client is pointed at it.
    const deadline = Date.now() + 30_000;
    for (const node of nodes) {
      for (;;) {
        const info = spawnSync(cli, ['-p', String(node.port), 'cluster', 'info'], { encoding: 'utf8' }).stdout;
        if (info.includes('cluster_state:ok')) break;
        if (Date.now() > deadline) throw new Error(`the cluster did not become ready: ${info}`);
        await new Promise((resolve) => setTimeout(resolve, 50));
      }
    }
    return { nodes, urls: nodes.map((node) => node.url), stop };
  } catch (error) {
    await stop();
    throw error;
  }
}
