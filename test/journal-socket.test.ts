import { mkdtempSync, rmSync } from 'node:fs';
import net from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { rawCodec, type Codec } from '../src/codec.js';
import { journalOf, openQueue } from '../src/journal/index.js';
import type { Queue } from '../src/queue.js';
import { serve, type SocketServer } from '../src/socket/index.js';

// A durable queue served over the beanstalkd protocol keeps its jobs, and their ids,
// across a restart of the process (simulated: server and journal closed without closing
// the queue, so nothing is given back or recorded on the way down).

let dir: string;
let file: string;
const servers: SocketServer[] = [];
const queues: Array<Queue<Uint8Array>> = [];
const sockets: net.Socket[] = [];

beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'docket-journal-socket-'));
  file = join(dir, 'tube.journal');
});

afterEach(async () => {
  for (const socket of sockets.splice(0)) socket.destroy();
  for (const server of servers.splice(0)) await server.close();
  for (const queue of queues.splice(0)) await journalOf(queue)?.close();
  rmSync(dir, { recursive: true, force: true });
});

async function start(): Promise<number> {
  const queue = await openQueue<Uint8Array>(file, { codec: rawCodec, retry: { attempts: Infinity } });
  queues.push(queue);
  const server = await serve({ port: 0, queues: { default: queue }, codec: rawCodec as Codec<unknown> });
  servers.push(server);
  return server.port;
}

async function crash(): Promise<void> {
  for (const socket of sockets.splice(0)) socket.destroy();
  for (const server of servers.splice(0)) await server.close();
  for (const queue of queues.splice(0)) await journalOf(queue)?.close();
}

/** A raw protocol client: send a command, read one reply (with its body, if it has one). */
async function client(port: number): Promise<(command: string, body?: string) => Promise<string>> {
  const socket = net.connect({ host: '127.0.0.1', port });
  sockets.push(socket);
  await new Promise<void>((resolve, reject) => {
    socket.once('connect', resolve);
    socket.once('error', reject);
  });
  let buffered = '';
  let waiter: (() => void) | undefined;
  socket.on('data', (chunk: Buffer) => {
    buffered += chunk.toString('latin1');
    waiter?.();
  });
  const reply = async (): Promise<string> => {
    for (;;) {
      const end = buffered.indexOf('\r\n');
      if (end >= 0) {
        const line = buffered.slice(0, end);
        const withBody = /^(?:FOUND|RESERVED) \d+ (\d+)$|^OK (\d+)$/.exec(line);
        const size = withBody === null ? -1 : Number(withBody[1] ?? withBody[2]);
        const total = size < 0 ? end + 2 : end + 2 + size + 2;
        if (buffered.length >= total) {
          const text = buffered.slice(0, total);
          buffered = buffered.slice(total);
          return text;
        }
      }
      await new Promise<void>((resolve) => (waiter = resolve));
    }
  };
  return async (command, body) => {
    socket.write(body === undefined ? `${command}\r\n` : `${command}\r\n${body}\r\n`);
    return reply();
  };
}

describe('journal + socket adapter', () => {
  it('a beanstalkd client sees the same jobs, ids and states after a restart', async () => {
    const send = await client(await start());
    const ids: number[] = [];
    for (const body of ['alpha', 'beta', 'gamma', 'delta']) {
      const reply = await send(`put 100 0 60 ${body.length}`, body);
      expect(reply).toMatch(/^INSERTED \d+\r\n$/);
      ids.push(Number(reply.split(' ')[1]));
    }
    const delayed = Number((await send('put 5 3600 60 7', 'delayed')).split(' ')[1]);
    expect(await send('reserve-with-timeout 0')).toBe(`RESERVED ${ids[0]} 5\r\nalpha\r\n`);
    expect(await send(`bury ${ids[0]} 10`)).toBe('BURIED\r\n');
    expect(await send('reserve-with-timeout 0')).toBe(`RESERVED ${ids[1]} 4\r\nbeta\r\n`);
    expect(await send(`delete ${ids[1]}`)).toBe('DELETED\r\n');
    // Reserved at the crash: it comes back ready.
    expect(await send('reserve-with-timeout 0')).toBe(`RESERVED ${ids[2]} 5\r\ngamma\r\n`);

    await crash();
    const again = await client(await start());
    expect(await again(`peek ${ids[0]}`)).toBe(`FOUND ${ids[0]} 5\r\nalpha\r\n`);
    expect(await again(`peek ${ids[1]}`)).toBe('NOT_FOUND\r\n');
    expect(await again(`peek ${ids[2]}`)).toBe(`FOUND ${ids[2]} 5\r\ngamma\r\n`);
    expect(await again(`peek ${ids[3]}`)).toBe(`FOUND ${ids[3]} 5\r\ndelta\r\n`);
    expect(await again('peek-buried')).toBe(`FOUND ${ids[0]} 5\r\nalpha\r\n`);
    expect(await again('peek-delayed')).toBe(`FOUND ${delayed} 7\r\ndelayed\r\n`);
    expect(await again(`stats-job ${ids[0]}`)).toMatch(/state: buried\n[\s\S]*pri: 10\n/);
    expect(await again(`stats-job ${ids[2]}`)).toMatch(/state: ready\n[\s\S]*reserves: 1\n/);
    expect(await again('peek-ready')).toBe(`FOUND ${ids[2]} 5\r\ngamma\r\n`);
    // New ids continue above the restored ones.
    const fresh = Number((await again('put 100 0 60 3', 'new')).split(' ')[1]);
    expect(fresh).toBeGreaterThan(Math.max(...ids, delayed));
  });
});
