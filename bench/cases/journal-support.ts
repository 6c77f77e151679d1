/**
 * Shared by the journal cases (not a case itself): a raw pipelined beanstalkd `put`
 * client, and starting servers in child processes.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { existsSync } from 'node:fs';
import net from 'node:net';

export const BEANSTALKD = '/usr/bin/beanstalkd';
export const hasBeanstalkd = (): boolean => existsSync(BEANSTALKD);

import { canConnect } from '../../test/helpers/net.js';

export { freePort } from '../../test/helpers/net.js';

export interface Child {
  process: ChildProcess;
  stop(): Promise<void>;
}

/** Spawns a server and resolves once `port` accepts connections (polling every 2 ms). */
export async function startServer(command: string, argv: string[], port: number, timeout = 120_000): Promise<Child> {
  const child = spawn(command, argv, { stdio: ['ignore', 'ignore', 'inherit'] });
  const exited = once(child, 'exit');
  const deadline = Date.now() + timeout;
  for (;;) {
    if (child.exitCode !== null) throw new Error(`${command} exited with ${child.exitCode}`);
    if (await canConnect(port)) break;
    if (Date.now() > deadline) throw new Error(`${command} did not listen on ${port}`);
    await new Promise((resolve) => setTimeout(resolve, 2));
  }
  return {
    process: child,
    async stop() {
      if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
      await exited;
    },
  };
}

/**
 * Puts `count` jobs over `connections` connections, each keeping `window` puts in flight
 * (pipelined: the server answers in order). Resolves with the ms from the first write to
 * the last `INSERTED`. The same client feeds docket's server and beanstalkd.
 */
export async function rawPut(port: number, count: number, connections: number, window: number, body: Buffer): Promise<number> {
  const started = performance.now();
  const share = Math.ceil(count / connections);
  await Promise.all(Array.from({ length: connections }, (_, i) => putOver(port, Math.min(share, count - i * share), window, body)));
  return performance.now() - started;
}

async function putOver(port: number, count: number, window: number, body: Buffer): Promise<number> {
  if (count <= 0) return 0;
  const socket = net.connect({ host: '127.0.0.1', port });
  socket.setNoDelay(true);
  await once(socket, 'connect');
  const command = Buffer.concat([Buffer.from(`put 1024 0 60 ${body.length}\r\n`), body, Buffer.from('\r\n')]);
  let sent = 0;
  let answered = 0;
  let pending = '';
  const started = performance.now();
  return new Promise<number>((resolve, reject) => {
    const pump = (): void => {
      const n = Math.min(window - (sent - answered), count - sent);
      if (n <= 0) return;
      socket.write(n === 1 ? command : Buffer.concat(Array.from({ length: n }, () => command)));
      sent += n;
    };
    socket.on('data', (chunk: Buffer) => {
      pending += chunk.toString('latin1');
      let at: number;
      while ((at = pending.indexOf('\r\n')) >= 0) {
        const line = pending.slice(0, at);
        pending = pending.slice(at + 2);
        if (!line.startsWith('INSERTED ')) {
          socket.destroy();
          reject(new Error(`unexpected reply to put: ${line}`));
          return;
        }
        answered++;
      }
      if (answered === count) {
        const ms = performance.now() - started;
        socket.end();
        resolve(ms);
      } else {
        pump();
      }
    });
    socket.on('error', reject);
    pump();
  });
}

/** Sends one command and resolves with the reply (its body too, for `OK <bytes>` replies). */
export async function rawCommand(port: number, line: string): Promise<string> {
  const socket = net.connect({ host: '127.0.0.1', port });
  await once(socket, 'connect');
  socket.write(`${line}\r\n`);
  let text = '';
  for await (const chunk of socket) {
    text += (chunk as Buffer).toString('latin1');
    const end = text.indexOf('\r\n');
    if (end < 0) continue;
    const ok = /^OK (\d+)$/.exec(text.slice(0, end));
    if (ok === null || text.length >= end + 2 + Number(ok[1]) + 2) break;
  }
  socket.destroy();
  return text;
}

/** beanstalkd's flags for a sync policy: `-f 0` fsyncs every write, default `-f` is 50 ms, `-F` never. */
export function beanstalkdSyncFlags(policy: string): string[] {
  if (policy === 'always') return ['-f', '0'];
  if (policy === 'interval') return [];
  return ['-F'];
}
