/**
 * Error paths against a scripted fake server: each reply is chosen by the test, so bad
 * replies and error replies can be produced at will.
 */
import net from 'node:net';
import { describe, expect, it } from 'vitest';
import { InvalidOptionError, QueueClosedError, QueueFullError } from '../src/errors.js';
import { ConnectionError, ProtocolError } from '../src/socket/client/errors.js';
import { parseUrl, resolveOptions, toSeconds, ttrSeconds } from '../src/socket/client/options.js';
import { connect, type RemoteQueue } from '../src/socket/client/remote-queue.js';
import { cleanupsAfterEach } from './helpers/cleanups.js';

/** Answers each command line with `answer(line, connectionIndex)`; bodies of `put` are skipped. */
class FakeServer {
  private readonly server: net.Server;
  readonly sockets = new Set<net.Socket>();
  readonly lines: string[] = [];
  connections = 0;
  port = 0;

  constructor(answer: (line: string, connection: number) => string | undefined) {
    this.server = net.createServer((socket) => {
      const connection = this.connections++;
      this.sockets.add(socket);
      socket.on('close', () => this.sockets.delete(socket));
      socket.on('error', () => {});
      let buffered = '';
      let skip = 0;
      socket.setEncoding('latin1');
      socket.on('data', (chunk: string) => {
        buffered += chunk;
        for (;;) {
          if (skip > 0) {
            if (buffered.length < skip) return;
            buffered = buffered.slice(skip);
            skip = 0;
          }
          const end = buffered.indexOf('\r\n');
          if (end < 0) return;
          const line = buffered.slice(0, end);
          buffered = buffered.slice(end + 2);
          this.lines.push(line);
          const put = /^put \d+ \d+ \d+ (\d+)$/.exec(line);
          if (put !== null) skip = Number(put[1]) + 2;
          const reply = answer(line, connection);
          if (reply !== undefined) socket.write(reply);
        }
      });
    });
  }

  async listen(): Promise<this> {
    await new Promise<void>((resolve) => this.server.listen(0, '127.0.0.1', resolve));
    this.port = (this.server.address() as net.AddressInfo).port;
    return this;
  }

  async close(): Promise<void> {
    for (const socket of this.sockets) socket.destroy();
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }
}

describe('socket client errors', () => {
  const cleanups = cleanupsAfterEach();

  async function fake(answer: (line: string, connection: number) => string | undefined): Promise<FakeServer> {
    const server = await new FakeServer(answer).listen();
    cleanups.push(() => server.close());
    return server;
  }

  async function open(server: FakeServer, options: Parameters<typeof connect>[1] = {}): Promise<RemoteQueue<unknown>> {
    const q = await connect(`beanstalk://127.0.0.1:${server.port}`, { reconnect: { initialDelay: 5, maxDelay: 20 }, ...options });
    cleanups.push(() => q.close({ timeout: 200 }));
    return q;
  }

  it('rejects connect() with ConnectionError when nothing listens', async () => {
    const server = net.createServer();
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const { port } = server.address() as net.AddressInfo;
    await new Promise<void>((resolve) => server.close(() => resolve()));
    await expect(connect(`beanstalk://127.0.0.1:${port}`)).rejects.toBeInstanceOf(ConnectionError);
  });

  it('maps error replies to named errors and stays usable', async () => {
    const replies = ['OUT_OF_MEMORY\r\n', 'DRAINING\r\n', 'BAD_FORMAT\r\n', 'UNKNOWN_COMMAND\r\n', 'INSERTED 5\r\n'];
    const server = await fake((line) => (line.startsWith('put') ? replies.shift() : undefined));
    const q = await open(server);
    await expect(q.add(1)).rejects.toBeInstanceOf(QueueFullError);
    await expect(q.add(1)).rejects.toBeInstanceOf(QueueClosedError);
    const badFormat = await q.add(1).catch((error: unknown) => error);
    expect(badFormat).toBeInstanceOf(ProtocolError);
    expect((badFormat as ProtocolError).reply).toBe('BAD_FORMAT');
    expect((badFormat as ProtocolError).code).toBe('DOCKET_PROTOCOL');
    await expect(q.add(1)).rejects.toMatchObject({ reply: 'UNKNOWN_COMMAND' });
    expect((await q.add(1)).id).toBe(5);
  });

  it('drops the connection on a reply that is not beanstalkd, fails what was in flight, and reconnects', async () => {
    const server = await fake((line, connection) => {
      if (!line.startsWith('put')) return undefined;
      return connection === 0 ? 'HELLO WORLD\r\n' : 'INSERTED 9\r\n';
    });
    const q = await open(server);
    const error = await q.add('x').catch((e: unknown) => e);
    expect(error).toBeInstanceOf(ProtocolError);
    expect((error as Error).message).toMatch(/HELLO WORLD/);
    expect((await q.add('y')).id).toBe(9);
    expect(server.connections).toBe(2);
  });

  it('treats a reply nobody asked for as a protocol error', async () => {
    let first = true;
    const server = await fake((line) => {
      if (!line.startsWith('put')) return undefined;
      if (first) {
        first = false;
        return 'INSERTED 1\r\nDELETED\r\n';
      }
      return 'INSERTED 2\r\n';
    });
    const q = await open(server);
    const disconnected = new Promise<Error>((resolve) => q.once('disconnected', resolve));
    expect((await q.add('a')).id).toBe(1);
    expect(await disconnected).toBeInstanceOf(ProtocolError);
    expect((await q.add('b')).id).toBe(2);
  });

  it('with reconnect: false, a drop closes the queue and later calls reject', async () => {
    const server = await fake((line) => (line.startsWith('put') ? 'INSERTED 1\r\n' : undefined));
    const q = await open(server, { reconnect: false });
    const errors: Error[] = [];
    q.on('error', (error) => errors.push(error));
    expect((await q.add('a')).id).toBe(1);
    for (const socket of server.sockets) socket.destroy();
    await new Promise<void>((resolve) => q.once('disconnected', () => resolve()));
    await expect(q.add('b')).rejects.toBeInstanceOf(ConnectionError);
    expect(q.isClosed).toBe(true);
    expect(errors[0]).toBeInstanceOf(ConnectionError);
  });

  it('rejects an add in flight when the connection drops, without an unhandled rejection', async () => {
    const server = await fake(() => undefined);
    const q = await open(server);
    const pending = q.add('never answered');
    await new Promise((resolve) => setTimeout(resolve, 20));
    for (const socket of server.sockets) socket.destroy();
    await expect(pending).rejects.toBeInstanceOf(ConnectionError);
  });

  it('sends use, watch and ignore for a named tube', async () => {
    const server = await fake((line) => {
      if (line.startsWith('use ')) return `USING ${line.slice(4)}\r\n`;
      if (line.startsWith('watch ')) return 'WATCHING 2\r\n';
      if (line.startsWith('ignore ')) return 'WATCHING 1\r\n';
      if (line === 'reserve-with-timeout 0') return 'TIMED_OUT\r\n';
      return undefined;
    });
    const q = await connect(`beanstalk://127.0.0.1:${server.port}/mail%2Fout`);
    cleanups.push(() => q.close({ timeout: 200 }));
    expect(q.name).toBe('mail/out');
    expect(await q.reserve({ timeout: 0 })).toBeUndefined();
    expect(server.lines).toEqual(['use mail/out', 'watch mail/out', 'ignore default', 'reserve-with-timeout 0']);
  });
});

describe('socket client options', () => {
  it('reads beanstalk:// URLs', () => {
    expect(parseUrl('beanstalk://10.0.0.5:11301/emails')).toEqual({ host: '10.0.0.5', port: 11301, tube: 'emails' });
    expect(parseUrl('beanstalkd://localhost')).toEqual({ host: 'localhost' });
    expect(parseUrl('beanstalk://[::1]:5/a%2Fb')).toEqual({ host: '::1', port: 5, tube: 'a/b' });
    expect(() => parseUrl('redis://x')).toThrow(InvalidOptionError);
    expect(() => parseUrl('not a url')).toThrow(InvalidOptionError);
  });

  it('rounds ms up to whole protocol seconds; ttr is at least 1 s', () => {
    expect(toSeconds(0)).toBe(0);
    expect(toSeconds(1)).toBe(1);
    expect(toSeconds(1000)).toBe(1);
    expect(toSeconds(1001)).toBe(2);
    expect(toSeconds(Infinity)).toBe(4_294_967_295);
    expect(ttrSeconds(0)).toBe(1);
    expect(ttrSeconds(1)).toBe(1);
    expect(ttrSeconds(60_000)).toBe(60);
  });

  it('names the bad option and echoes its value', () => {
    expect(() => resolveOptions({ priority: -1 })).toThrow(/`priority`.*-1/);
    expect(() => resolveOptions({ tube: 'has space' })).toThrow(/`tube`/);
    expect(() => resolveOptions({ tube: '-dash' })).toThrow(InvalidOptionError);
    expect(() => resolveOptions({ ttr: 0 })).toThrow(/`ttr`/);
    expect(() => resolveOptions({ concurrency: 0 })).toThrow(/`concurrency`/);
    expect(() => resolveOptions({ port: 70000 })).toThrow(/`port`/);
    expect(() => resolveOptions({ reconnect: { factor: 0.5 } })).toThrow(/reconnect.factor/);
    const resolved = resolveOptions({});
    expect(resolved).toMatchObject({ host: '127.0.0.1', port: 11300, tube: 'default', priority: 1024, ttr: 30_000, concurrency: 1 });
  });

  it('rejects bad arguments without sending anything', async () => {
    const server = await new FakeServer(() => 'INSERTED 1\r\n').listen();
    const q = await connect(`beanstalk://127.0.0.1:${server.port}`);
    try {
      await expect(q.add('x', { priority: 2 ** 32 })).rejects.toThrow(/`priority`/);
      await expect(q.add('x', { delay: -5 })).rejects.toThrow(/`delay`/);
      await expect(q.add('x', { group: 'g' } as never)).rejects.toThrow(/`group` is not supported/);
      // Core options a put has no field for: refused, never dropped.
      for (const option of [{ attempts: 3 }, { ttl: 1000 }, { id: 'once' }, { timeout: 1000 }]) {
        await expect(q.add('x', option as never)).rejects.toThrow(`\`${Object.keys(option)[0]}\` is not supported by the beanstalkd protocol`);
      }
      await expect(q.add(undefined)).rejects.toThrow(/encode/);
      await expect(q.peek(0)).rejects.toBeInstanceOf(InvalidOptionError);
      await expect(q.remove(1.5)).rejects.toBeInstanceOf(InvalidOptionError);
      await expect(q.kickJob(-1)).rejects.toBeInstanceOf(InvalidOptionError);
      await expect(q.kick(-1)).rejects.toBeInstanceOf(InvalidOptionError);
      await expect(q.reserve({ timeout: -1 })).rejects.toThrow(/`timeout`/);
      expect(() => q.process(() => {}, { concurrency: 0 })).toThrow(/`concurrency`/);
      expect(server.lines).toEqual([]);
    } finally {
      await q.close({ timeout: 200 });
      await server.close();
    }
  });
});

describe('client connection bookkeeping', () => {
  it('calls each pending command back exactly once with its own context, answered or lost', async () => {
    const { ClientConnection, LOST } = await import('../src/socket/client/connection.js');
    const server = await new FakeServer((line) => (line === 'one' ? 'DELETED\r\n' : undefined)).listen();
    const conn = new ClientConnection({ host: '127.0.0.1', port: server.port, connectTimeout: 1000, reconnect: false, maxReplyData: 1024 }, { setup: [] });
    try {
      await conn.start(false);
      const seen: Array<[number, unknown]> = [];
      const interpret = (code: number, _value: number, _data: Buffer | undefined, context: unknown): string => {
        seen.push([code, context]);
        return String(context);
      };
      const first = conn.text('one').end().expect(interpret, 'ctx-1');
      const second = conn.text('two').end().expect(interpret, 'ctx-2');
      const third = conn.text('three').end().expect(interpret, 'ctx-3');
      expect(await first).toBe('ctx-1');
      expect(conn.pending).toBe(2);
      for (const socket of server.sockets) socket.destroy();
      await expect(second).rejects.toBeInstanceOf(ConnectionError);
      await expect(third).rejects.toBeInstanceOf(ConnectionError);
      expect(seen).toEqual([
        [14, 'ctx-1'],
        [LOST, 'ctx-2'],
        [LOST, 'ctx-3'],
      ]);
      expect(conn.pending).toBe(0);
      // Dead now (reconnect: false): later commands are lost at once, still called back.
      await expect(conn.text('four').end().expect(interpret, 'ctx-4')).rejects.toBeInstanceOf(ConnectionError);
      expect(seen[3]).toEqual([LOST, 'ctx-4']);
    } finally {
      conn.destroy();
      await server.close();
    }
  });

  it('writes numbers in decimal without allocating strings', async () => {
    const { ClientConnection } = await import('../src/socket/client/connection.js');
    const server = await new FakeServer(() => 'DELETED\r\n').listen();
    const conn = new ClientConnection({ host: '127.0.0.1', port: server.port, connectTimeout: 1000, reconnect: false, maxReplyData: 1024 }, { setup: [] });
    try {
      await conn.start(false);
      const values = [0, 7, 10, 99, 1024, 4_294_967_295, 9_007_199_254_740_991];
      await Promise.all(
        values.map((value) =>
          conn
            .text('delete ')
            .num(value)
            .end()
            .expect(() => undefined),
        ),
      );
      expect(server.lines).toEqual(values.map((value) => `delete ${value}`));
    } finally {
      conn.destroy();
      await server.close();
    }
  });
});
