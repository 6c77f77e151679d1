/**
 * Servers for the socket cases, each in its own process on 127.0.0.1: docket's `serve()`
 * (bench/cases/socket-client-server.ts), the Node floor, beanstalkd, redis-server.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { access } from 'node:fs/promises';
import { fileURLToPath } from 'node:url';
import { canConnect, freePort } from '../../test/helpers/net.js';

export interface Server {
  port: number;
  stop(): Promise<void>;
}

async function waitForPort(port: number, child: ChildProcess): Promise<void> {
  const deadline = Date.now() + 10_000;
  while (Date.now() < deadline) {
    if (child.exitCode !== null) throw new Error(`server exited with ${child.exitCode}`);
    if (await canConnect(port)) return;
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
  throw new Error(`server did not listen on ${port}`);
}

export async function startProcess(command: string, argv: string[], port: number): Promise<Server> {
  const child = spawn(command, argv, { stdio: ['ignore', 'ignore', 'ignore'] });
  const exited = once(child, 'exit');
  await waitForPort(port, child);
  return {
    port,
    async stop() {
      if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
      await exited;
    },
  };
}

export async function has(path: string): Promise<boolean> {
  return access(path).then(
    () => true,
    () => false,
  );
}

/** docket's server in a child process. */
export async function startDocket(): Promise<Server> {
  const port = await freePort();
  const script = fileURLToPath(new URL('./socket-client-server.ts', import.meta.url));
  return startProcess(process.execPath, ['--import', 'tsx', script, String(port)], port);
}

/** The Node floor (bench/cases/socket-floor-server.ts) in a child process, started as docket's is. */
export async function startNodeFloor(): Promise<Server> {
  const port = await freePort();
  const script = fileURLToPath(new URL('./socket-floor-server.ts', import.meta.url));
  return startProcess(process.execPath, ['--import', 'tsx', script, String(port)], port);
}

/** beanstalkd 1.12 in a child process, or the reason it cannot run here. */
export async function startBeanstalkd(): Promise<Server | string> {
  if (!(await has('/usr/bin/beanstalkd'))) return 'beanstalkd is not installed';
  const port = await freePort();
  return startProcess('/usr/bin/beanstalkd', ['-l', '127.0.0.1', '-p', String(port)], port);
}
