/**
 * Replies to pipelined puts on a durable tube, through a real server: in command order,
 * each only once its record is durable, the commands behind them run only after them, a
 * failed write answered for exactly the puts it carried, and a closed connection's
 * pending replies dropped quietly. The journal's fdatasync is held and released (or
 * failed) by the test, one call at a time, so no outcome depends on timing.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { rawCodec, type Codec } from '../src/codec.js';
import { StoreFailedError } from '../src/errors.js';
import { journalOf } from '../src/journal/index.js';
import type { Queue } from '../src/queue.js';
import { serve, type SocketServer } from '../src/socket/index.js';
import { flush, trackUnhandledRejections, until } from './helpers/flush.js';
import { useJournalDir } from './helpers/journal.js';
import { HeldFileSystem } from './helpers/held-fs.js';
import { RawConnection } from './helpers/raw-connection.js';

const journal = useJournalDir('docket-put-order-');

const servers: SocketServer[] = [];
const connections: RawConnection[] = [];
const fileSystems: HeldFileSystem[] = [];
afterEach(async () => {
  for (const fs of fileSystems.splice(0)) fs.releaseAll();
  for (const connection of connections.splice(0)) connection.socket.destroy();
  for (const server of servers.splice(0)) await server.close();
});

async function setup() {
  const fs = new HeldFileSystem();
  fileSystems.push(fs);
  const queue = (await journal.start<Uint8Array>({ sync: 'always', fileSystem: fs, codec: rawCodec })) as Queue<unknown>;
  const errors: unknown[] = [];
  const server = await serve({ port: 0, queues: { default: queue }, codec: rawCodec as Codec<unknown>, onError: (error) => errors.push(error) });
  servers.push(server);
  const open = async () => {
    const connection = await RawConnection.open(server.port);
    connections.push(connection);
    return connection;
  };
  const client = await open();
  const bystander = await open();
  /**
   * Whatever the server has written to `client` by now has been read: a round trip on
   * another connection, then the rest of the poll phase that read it (loopback delivers
   * a write at once, so bytes written earlier to `client` are readable by then).
   */
  const barrier = async () => {
    expect(await bystander.line('list-tube-used')).toBe('USING default');
    await flush();
  };
  return { fs, queue, server, errors, client, barrier };
}

/** A put command with its body, as the wire carries it. */
const put = (body: string): string => `put 0 0 60 ${body.length}\r\n${body}\r\n`;

describe('pipelined puts on a durable tube, through the server', () => {
  it('are answered in command order, each only after its fsync, and the commands behind them run after them', async () => {
    const { fs, client, barrier } = await setup();
    fs.holding = true;
    client.send(put('a'));
    await until(() => fs.waiting === 1);
    // A second write batch queues behind the held one; the commands behind its put wait.
    client.send(`${put('b')}stats-tube default\r\npeek-ready\r\nuse other\r\n${put('c')}list-tube-used\r\n`);
    await barrier();
    expect(client.unread).toBe(0);

    // The first fsync done: its put is answered, and only that one.
    fs.releaseOne();
    const first = await client.reply();
    expect(first.line).toMatch(/^INSERTED \d+$/);
    await until(() => fs.waiting === 1);
    await barrier();
    expect(client.unread).toBe(0);

    fs.releaseOne();
    const second = await client.reply();
    expect(second.line).toMatch(/^INSERTED \d+$/);
    const stats = await client.reply();
    expect(stats.line).toMatch(/^OK \d+$/);
    // The stats ran after both puts were stored, and before the put to the other tube.
    expect(RawConnection.yamlDict(stats.data)['current-jobs-ready']).toBe('2');
    const peeked = await client.reply();
    expect(peeked.line).toBe(`FOUND ${first.line.split(' ')[1]} 1`);
    expect(peeked.data?.toString()).toBe('a');
    expect((await client.reply()).line).toBe('USING other');
    expect((await client.reply()).line).toMatch(/^INSERTED \d+$/);
    expect((await client.reply()).line).toBe('USING other');
    await barrier();
    expect(client.unread).toBe(0);
  });

  it('a delete is answered only once its record is durable, and the command behind it runs after it', async () => {
    const { fs, queue, client, barrier } = await setup();
    const id = await client.put('a');
    expect((await client.line('reserve')).startsWith(`RESERVED ${id} `)).toBe(true);
    // The reserve is journaled without waiting: let its write finish before holding.
    await journalOf(queue)?.flush();
    fs.holding = true;
    client.send(`delete ${id}\r\npeek ${id}\r\n`);
    await until(() => fs.waiting === 1);
    await barrier();
    expect(client.unread).toBe(0);
    fs.releaseOne();
    expect((await client.reply()).line).toBe('DELETED');
    expect((await client.reply()).line).toBe('NOT_FOUND');
  });

  it('whose write failed are answered INTERNAL_ERROR, and nothing else on the connection is lost or reordered', async () => {
    const { fs, queue, errors, client, barrier } = await setup();
    queue.on('error', () => {});
    fs.holding = true;
    client.send(put('a'));
    await until(() => fs.waiting === 1);
    client.send(`${put('b')}stats-tube default\r\npeek-ready\r\nuse other\r\n${put('c')}list-tube-used\r\nuse default\r\n${put('d')}`);
    await barrier();
    expect(client.unread).toBe(0);

    // The journal fails closed: the held batch and the one queued behind it are never stored.
    fs.failOne();
    expect((await client.reply()).line).toBe('INTERNAL_ERROR');
    expect((await client.reply()).line).toBe('INTERNAL_ERROR');
    const stats = await client.reply();
    // Both jobs were taken back out: a consumer never sees a job the store never had.
    expect(RawConnection.yamlDict(stats.data)['current-jobs-ready']).toBe('0');
    expect((await client.reply()).line).toBe('NOT_FOUND');
    expect((await client.reply()).line).toBe('USING other');
    // The other tube has no store: its put still works.
    expect((await client.reply()).line).toMatch(/^INSERTED \d+$/);
    expect((await client.reply()).line).toBe('USING other');
    expect((await client.reply()).line).toBe('USING default');
    // The failed store refuses new work, answered at once.
    expect((await client.reply()).line).toBe('INTERNAL_ERROR');
    await barrier();
    expect(client.unread).toBe(0);
    expect(client.isClosed).toBe(false);
    expect(errors).toHaveLength(3);
    for (const error of errors) expect(error).toBeInstanceOf(StoreFailedError);
  });

  it('of a connection that closed are dropped quietly: stored jobs stay, unstored ones leave the queue', async () => {
    const unhandled = trackUnhandledRejections();
    try {
      const { fs, queue, server, errors, client } = await setup();
      queue.on('error', () => {});
      fs.holding = true;
      client.send(`${put('a')}${put('b')}stats\r\n`);
      await until(() => fs.waiting === 1);
      // A reset, not a FIN: a client that only half-closed still gets its answers.
      client.socket.resetAndDestroy();
      await until(() => server.connectionCount === 1);
      fs.releaseOne();
      await until(() => fs.waiting === 0 && queue.size === 2);

      // A second client's puts wait for a fsync that fails after it went away.
      const late = await RawConnection.open(server.port);
      connections.push(late);
      late.send(`${put('c')}${put('d')}`);
      await until(() => fs.waiting === 1 && queue.size === 4);
      late.socket.resetAndDestroy();
      await until(() => server.connectionCount === 1);
      fs.failOne();
      await until(() => queue.size === 2);
      await flush();
      expect(errors).toHaveLength(2);
      expect(unhandled.reasons).toEqual([]);
    } finally {
      unhandled.stop();
    }
  });
});
