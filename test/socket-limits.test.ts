/** Per-connection limits: slow senders, clients that never read, many connections. */
import net from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { serve, type SocketServer } from '../src/socket/server/server.js';
import { RawConnection } from './helpers/raw-connection.js';

let server: SocketServer | undefined;
const connections: RawConnection[] = [];
const sockets: net.Socket[] = [];

async function open(): Promise<RawConnection> {
  const c = await RawConnection.open((server as SocketServer).port);
  connections.push(c);
  return c;
}

afterEach(async () => {
  for (const c of connections.splice(0)) c.close();
  for (const s of sockets.splice(0)) s.destroy();
  await server?.close();
  server = undefined;
});

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

describe('slowloris', () => {
  it('closes a client that starts a command and never finishes it; others unaffected', async () => {
    server = await serve({ port: 0, commandTimeout: 300 });
    const slow = await open();
    const good = await open();
    const started = Date.now();
    slow.send('put 0 0 60 10\r\nabc');
    const closed = slow.closed.then(() => Date.now() - started);
    // A well-behaved client keeps being served meanwhile.
    for (let i = 0; i < 10; i++) {
      const id = await good.put(`job ${i}`);
      expect(await good.line('reserve')).toBe(`RESERVED ${id} ${`job ${i}`.length}`);
      expect(await good.line(`delete ${id}`)).toBe('DELETED');
      await sleep(20);
    }
    const after = await closed;
    // Not before its commandTimeout; well before anything else (idleTimeout is 10 minutes).
    expect(after).toBeGreaterThanOrEqual(295);
    expect(after).toBeLessThan(20_000);
    expect(good.isClosed).toBe(false);
  });

  it('closes a client dribbling an endless line, even though bytes keep coming', async () => {
    server = await serve({ port: 0, commandTimeout: 300 });
    const slow = await open();
    const timer = setInterval(() => slow.send('x'), 20);
    try {
      await slow.closed;
    } finally {
      clearInterval(timer);
    }
    expect(slow.isClosed).toBe(true);
  });

  it('keeps a client that pipelines complete commands continuously', async () => {
    // Commands keep completing for well over the commandTimeout in total; a gap between two
    // writes would have to stall for 1.5 s to trip it.
    const commandTimeout = 1500;
    server = await serve({ port: 0, commandTimeout });
    const busy = await open();
    const until = Date.now() + 2.5 * commandTimeout;
    // Every write ends mid-command, so one is always in progress.
    busy.send('list-tu');
    let sent = 0;
    while (Date.now() < until) {
      await sleep(10);
      busy.send('be-used\r\nlist-tu');
      sent++;
    }
    busy.send('be-used\r\n');
    sent++;
    for (let i = 0; i < sent; i++) expect((await busy.reply()).line).toBe('USING default');
    expect(busy.isClosed).toBe(false);
  });
});

describe('a long pipeline behind a waiting reserve', () => {
  it('is held back (reading paused) and answered in full once a job arrives', async () => {
    server = await serve({ port: 0, idleTimeout: 0, commandTimeout: 0, writeTimeout: 0 });
    const waiting = await open();
    const producer = await open();
    waiting.send('reserve\r\n' + 'list-tube-used\r\n'.repeat(20_000));
    expect(await waiting.silentFor(100)).toBe(true);
    const id = await producer.put('go');
    expect((await waiting.reply()).line).toBe(`RESERVED ${id} 2`);
    for (let i = 0; i < 20_000; i++) {
      const { line } = await waiting.reply();
      if (line !== 'USING default') expect.fail(`reply ${i}: ${line}`);
    }
  });
});

describe('a client that never reads', () => {
  it('is disconnected once its unread replies stay backed up; memory stays bounded', async () => {
    const writeTimeout = 1000;
    server = await serve({ port: 0, maxOutputBuffer: 64 * 1024, writeTimeout });
    const producer = await open();
    const id = await producer.put(Buffer.alloc(60_000, 0x62));
    const rssBefore = process.memoryUsage().rss;

    const reader = net.connect({ port: server.port, host: '127.0.0.1' });
    sockets.push(reader);
    await new Promise((resolve) => reader.once('connect', resolve));
    reader.on('error', () => {});
    reader.pause(); // never reads
    // 5,000 peeks: 300 MB of replies if the server buffered them all.
    const peeks = Buffer.from(`peek ${id}\r\n`.repeat(5000));
    const started = Date.now();
    reader.write(peeks);
    // A paused client socket sees no close event: watch the server's side instead.
    while (server.connectionCount > 1 && Date.now() - started < 20_000) await sleep(20);
    expect(server.connectionCount).toBe(1);
    // Backed up for writeTimeout first, not dropped at the first full buffer.
    expect(Date.now() - started).toBeGreaterThanOrEqual(writeTimeout - 5);
    const grown = process.memoryUsage().rss - rssBefore;
    expect(grown).toBeLessThan(64 * 1024 * 1024);
    // Others unaffected.
    expect((await producer.request(`peek ${id}`)).data?.length).toBe(60_000);
  });

  it('keeps a slow reader that does read, however much it asks for', async () => {
    server = await serve({ port: 0, maxOutputBuffer: 64 * 1024, writeTimeout: 2000 });
    const producer = await open();
    const id = await producer.put(Buffer.alloc(60_000, 0x63));
    const c = await open();
    c.send(`peek ${id}\r\n`.repeat(200));
    for (let i = 0; i < 200; i++) expect((await c.reply()).data?.length).toBe(60_000);
    expect(c.isClosed).toBe(false);
  });
});
