/** Starts the reference beanstalkd for the interoperability suites (gate them with `requireBeanstalkd`). */
import { spawn, type ChildProcess } from 'node:child_process';
import { canConnect, freePort } from './net.js';
import { findBinary, requireBinary } from './system-binary.js';
import { watchExit } from './child-exit.js';

/**
 * Whether a real beanstalkd is there for the suite described by `skipped` (e.g. `the
 * differential test against beanstalkd`): false on a machine without one (after one line
 * saying what is skipped), a thrown error under CI=true.
 */
export function requireBeanstalkd(skipped: string): boolean {
  return requireBinary({ name: 'beanstalkd', install: 'apt-get install -y beanstalkd', skipped }) !== undefined;
}

/** A running reference server on 127.0.0.1. */
export interface RunningBeanstalkd {
  readonly host: '127.0.0.1';
  readonly port: number;
  /** The child process, for tests that need its pid. */
  readonly process: ChildProcess;
  /** Kills the server and resolves once it has exited. Safe to call twice. */
  stop(): Promise<void>;
}

export interface StartBeanstalkdOptions {
  /** Port to listen on, e.g. the one a stopped server had. @defaultValue a free one */
  port?: number;
  /** Extra command-line arguments, e.g. `['-z', '1024']` for max-job-size. */
  args?: string[];
  /** How long to wait for the server to accept connections. @defaultValue 5000 */
  timeout?: number;
}

/**
 * Starts `beanstalkd -l 127.0.0.1 -p <port>` (a free port unless given) and resolves once
 * it accepts connections. Always call `stop()` (e.g. in `afterEach`/`afterAll`).
 *
 * @example
 * ```ts
 * const bs = await startBeanstalkd();
 * try { ... connect to bs.port ... } finally { await bs.stop(); }
 * ```
 */
export async function startBeanstalkd(options: StartBeanstalkdOptions = {}): Promise<RunningBeanstalkd> {
  const path = findBinary('beanstalkd');
  if (path === undefined) throw new Error('beanstalkd is not on PATH (apt-get install -y beanstalkd, or set BEANSTALKD_PATH)');
  const deadline = Date.now() + (options.timeout ?? 5000);
  // The port can be taken between closing the probe and the child binding it: retry.
  for (let tries = 0; ; tries++) {
    const port = options.port ?? (await freePort());
    const child = spawn(path, ['-l', '127.0.0.1', '-p', String(port), ...(options.args ?? [])], {
      stdio: ['ignore', 'ignore', 'pipe'],
    });
    const exit = watchExit(child);
    let stderr = '';
    child.stderr?.setEncoding('utf8');
    child.stderr?.on('data', (chunk: string) => {
      if (stderr.length < 4096) stderr += chunk;
    });
    const stop = async (): Promise<void> => {
      if (!exit.exited) child.kill('SIGKILL');
      await exit.done;
    };
    while (!exit.exited && Date.now() < deadline) {
      if (await canConnect(port)) return { host: '127.0.0.1', port, process: child, stop };
      await new Promise((resolve) => setTimeout(resolve, 20));
    }
    await stop();
    if (Date.now() >= deadline || tries >= 5) {
      throw new Error(`beanstalkd did not start on 127.0.0.1:${port}: ${stderr.trim() || 'timed out'}`);
    }
  }
}
