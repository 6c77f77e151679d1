import { afterEach, describe, expect, it } from 'vitest';
import { ManualClock } from '../src/clock.js';
import { textCodec } from '../src/codec.js';
import { Queue } from '../src/queue.js';
import { serve, type ServeOptions, type SocketServer } from '../src/socket/server/server.js';
import { RawConnection } from './helpers/raw-connection.js';

const servers: SocketServer[] = [];
const queues: Queue<unknown>[] = [];
const connections: RawConnection[] = [];

async function start<M extends Record<string, unknown>, C>(options: ServeOptions<M, C> = {}): Promise<SocketServer> {
  const server = await serve<M, C>({ port: 0, ...options });
  servers.push(server);
  return server;
}
function queue<T>(options: ConstructorParameters<typeof Queue<T>>[0] = {}): Queue<T> {
  const q = new Queue<T>(options);
  queues.push(q as Queue<unknown>);
  return q;
}
async function open(server: SocketServer): Promise<RawConnection> {
  const connection = await RawConnection.open(server.port);
  connections.push(connection);
  return connection;
}
const idOf = (line: string): number => Number(/^(?:RESERVED|INSERTED|FOUND) (\d+)/.exec(line)?.[1]);

afterEach(async () => {
  for (const c of connections.splice(0)) c.close();
  await Promise.all(servers.splice(0).map((s) => s.close()));
  await Promise.all(queues.splice(0).map((q) => q.close({ timeout: 0 })));
});

describe('serve', () => {
  it('resolves once listening on 127.0.0.1 and reports the bound port', async () => {
    const server = await start();
    expect(server.address.host).toBe('127.0.0.1');
    expect(server.port).toBeGreaterThan(0);
    const c = await open(server);
    expect(await c.line('list-tube-used')).toBe('USING default');
  });

  it('rejects invalid options by name', async () => {
    await expect(serve({ port: 0, maxJobSize: -1 })).rejects.toThrow(/maxJobSize/);
    await expect(serve({ port: 0, queues: { 'bad name': new Queue() } })).rejects.toThrow(/tube names/);
  });

  it('rejects when the port is taken', async () => {
    const server = await start();
    await expect(serve({ port: server.port })).rejects.toThrow(/EADDRINUSE/);
  });
});

describe('named queues and codecs', () => {
  it('types: queues of different payload types and a typed factory are accepted', async () => {
    const emails = queue<{ to: string }>();
    const orders = queue<{ id: number }>();
    const server = await start({ queues: { emails, orders }, createQueue: (name) => new Queue<{ id: number }>({ name }) });
    expect(server.queue('orders')).toBe(orders);
    // @ts-expect-error a queue map holds queues
    await expect(serve({ port: 0, queues: { emails: 5 } })).rejects.toThrow(/queues.emails/);
  });

  it('shares jobs both ways with in-process producers and consumers (JSON)', async () => {
    const emails = queue<{ to: string }>();
    const server = await start({ queues: { emails } });
    const c = await open(server);
    expect(await c.line('watch emails')).toBe('WATCHING 2');
    expect(await c.line('ignore default')).toBe('WATCHING 1');
    const added = await emails.add({ to: 'ada@example.com' }, { priority: 3 });
    const reply = await c.request('reserve');
    expect(reply.line).toBe(`RESERVED ${added.id} ${reply.data?.length}`);
    expect(JSON.parse(reply.data?.toString() ?? '')).toEqual({ to: 'ada@example.com' });
    expect(await c.line(`delete ${added.id}`)).toBe('DELETED');
    expect(emails.size + emails.pending).toBe(0);

    expect(await c.line('use emails')).toBe('USING emails');
    const id = await c.put('{"to":"bob@example.com"}', { pri: 9, ttr: 5 });
    const lease = await emails.reserve({ timeout: 1000 });
    expect(lease?.id).toBe(id);
    expect(lease?.data).toEqual({ to: 'bob@example.com' });
    expect(lease?.priority).toBe(9);
    expect(lease?.job.ttr).toBe(5000);
    await lease?.ack();
  });

  it('answers BAD_FORMAT to a body the codec cannot read, and keeps the stream in sync', async () => {
    const emails = queue();
    const server = await start({ queues: { emails } });
    const c = await open(server);
    expect(await c.line('use emails')).toBe('USING emails');
    expect(await c.line('put 0 0 60 8', 'not json')).toBe('BAD_FORMAT');
    expect(await c.line('list-tube-used')).toBe('USING emails');
    expect(emails.size).toBe(0);
  });

  it('keeps raw bytes in tubes created on demand, whatever they contain', async () => {
    const server = await start();
    const c = await open(server);
    expect(await c.line('use blobs')).toBe('USING blobs');
    const body = Buffer.from([0, 1, 2, 255, 13, 10]);
    const id = await c.put(body);
    const lease = await server.queue('blobs')?.reserve({ timeout: 100 });
    expect(lease?.id).toBe(id);
    expect(Buffer.from(lease?.data as Uint8Array).equals(body)).toBe(true);
    await lease?.release();
    const reply = await c.request(`peek ${id}`);
    expect(reply.data?.equals(body)).toBe(true);
  });

  it('uses a custom codec for the queues passed in', async () => {
    const notes = queue<string>();
    const server = await start({ queues: { notes }, codec: textCodec });
    const c = await open(server);
    expect(await c.line('use notes')).toBe('USING notes');
    await c.put('plain text');
    expect((await notes.reserve({ timeout: 100 }))?.data).toBe('plain text');
  });

  it('creates unknown tubes through createQueue, and closes them when they disappear', async () => {
    const made: Array<Queue<unknown>> = [];
    const server = await start({
      createQueue: (name) => {
        if (name.startsWith('no')) return undefined;
        const q = new Queue({ name, retry: { attempts: 7 } });
        made.push(q);
        return q;
      },
    });
    const c = await open(server);
    expect(await c.line('use work')).toBe('USING work');
    // The factory makes every tube the server creates, default included.
    expect(made.map((q) => q.name)).toEqual(['default', 'work']);
    const id = await c.put('"x"');
    expect(await c.line('use nope')).toBe('NOT_FOUND');
    expect(await c.line('watch nope')).toBe('NOT_FOUND');
    expect((await c.request(`stats-job ${id}`)).data?.toString()).toContain('docket-max-attempts: 7');
    expect(await c.line('use default')).toBe('USING default');
    expect(await c.line(`delete ${id}`)).toBe('DELETED');
    expect(await c.line('stats-tube work')).toBe('NOT_FOUND');
    await new Promise((resolve) => setImmediate(resolve));
    expect(made[1].isClosed).toBe(true);
    expect(made[0].isClosed).toBe(false);
  });

  it('answers OUT_OF_MEMORY past maxTubes, and creates again once a tube is gone', async () => {
    const server = await start({ maxTubes: 3 });
    const c = await open(server);
    expect(await c.line('watch a')).toBe('WATCHING 2');
    expect(await c.line('watch b')).toBe('WATCHING 3');
    expect(await c.line('watch c')).toBe('OUT_OF_MEMORY');
    expect(await c.line('use c')).toBe('OUT_OF_MEMORY');
    expect(await c.line('use a')).toBe('USING a');
    expect(await c.line('ignore b')).toBe('WATCHING 2');
    expect(await c.line('use c')).toBe('USING c');
  });

  it('refuses unknown tubes with autoCreate: false; default always exists', async () => {
    const emails = queue();
    const server = await start({ queues: { emails }, autoCreate: false });
    const c = await open(server);
    expect(await c.line('use other')).toBe('NOT_FOUND');
    expect(await c.line('watch other')).toBe('NOT_FOUND');
    expect(await c.line('use emails')).toBe('USING emails');
    expect(await c.line('use default')).toBe('USING default');
    expect(RawConnection.yamlList((await c.request('list-tubes')).data).sort()).toEqual(['default', 'emails']);
  });
});

describe('retry policy on the server', () => {
  it('buries a job released more times than its queue allows, with the reason', async () => {
    const jobs = queue({ retry: { attempts: 2 } });
    const server = await start({ queues: { jobs } });
    const c = await open(server);
    await c.line('use jobs');
    await c.line('watch jobs');
    await c.line('ignore default');
    const id = await c.put('1');
    expect(await c.line('reserve')).toBe(`RESERVED ${id} 1`);
    expect(await c.line(`release ${id} 0 0`)).toBe('RELEASED');
    expect(await c.line('reserve')).toBe(`RESERVED ${id} 1`);
    expect(await c.line(`release ${id} 0 0`)).toBe('BURIED');
    const stats = RawConnection.yamlDict((await c.request(`stats-job ${id}`)).data);
    expect(stats).toMatchObject({ state: 'buried', 'docket-attempts': '2', 'docket-dead-reason': 'released' });
    expect(jobs.deadLetters.list().map((j) => j.id)).toEqual([id]);
  });

  it('buries a job whose last lease ran out (attempts: 1), as an in-process consumer would', async () => {
    const jobs = queue({ retry: { attempts: 1 } });
    const server = await start({ queues: { jobs } });
    const c = await open(server);
    await c.line('use jobs');
    await c.line('watch jobs');
    const id = await c.put('1', { ttr: 1 });
    expect(await c.line('reserve')).toBe(`RESERVED ${id} 1`);
    const dead = await new Promise<string>((resolve) => jobs.once('dead', (_job, reason) => resolve(reason)));
    expect(dead).toBe('lease-expired');
    expect(RawConnection.yamlDict((await c.request(`stats-job ${id}`)).data)).toMatchObject({ state: 'buried', timeouts: '1' });
  });

  it('leaves tubes created on demand without an attempt limit, like beanstalkd', async () => {
    const server = await start();
    const c = await open(server);
    const id = await c.put('x');
    for (let i = 0; i < 20; i++) {
      expect(await c.line('reserve')).toBe(`RESERVED ${id} 1`);
      expect(await c.line(`release ${id} 0 0`)).toBe('RELEASED');
    }
  });

  it('applies the server default queue options to tubes created on demand', async () => {
    const server = await start({ queueOptions: { retry: { attempts: 1 } } });
    const c = await open(server);
    const id = await c.put('x');
    expect(await c.line('reserve')).toBe(`RESERVED ${id} 1`);
    expect(await c.line(`release ${id} 0 0`)).toBe('BURIED');
  });

  it('a disconnect gives the job back without using an attempt', async () => {
    const jobs = queue({ retry: { attempts: 1 } });
    const server = await start({ queues: { jobs } });
    const first = await open(server);
    await first.line('watch jobs');
    await jobs.add('x');
    expect(await first.line('reserve')).toMatch(/^RESERVED/);
    first.close();
    const lease = await jobs.reserve({ timeout: 1000 });
    expect(lease?.attemptsMade).toBe(1);
    expect(lease?.job.releases).toBe(0);
  });
});

describe('server-side conditions', () => {
  it('drain(): put answers DRAINING, the rest keeps working', async () => {
    const server = await start();
    const c = await open(server);
    const id = await c.put('before');
    server.drain();
    expect(server.isDraining).toBe(true);
    expect(await c.line('put 0 0 60 1', 'x')).toBe('DRAINING');
    expect(await c.line('reserve')).toBe(`RESERVED ${id} 6`);
    expect(await c.line(`delete ${id}`)).toBe('DELETED');
    expect(RawConnection.yamlDict((await c.request('stats')).data).draining).toBe('true');
  });

  it('a full queue (maxSize) answers OUT_OF_MEMORY', async () => {
    const small = queue({ maxSize: 1 });
    const server = await start({ queues: { small } });
    const c = await open(server);
    await c.line('use small');
    await c.put('1');
    expect(await c.line('put 0 0 60 1', '2')).toBe('OUT_OF_MEMORY');
  });

  it('serves waiting reservers first come, first served', async () => {
    const server = await start();
    const workers: RawConnection[] = [];
    for (let i = 0; i < 5; i++) {
      const w = await open(server);
      w.send('reserve\r\n');
      expect(await w.silentFor(20)).toBe(true);
      workers.push(w);
    }
    const producer = await open(server);
    const ids: number[] = [];
    for (let i = 0; i < 5; i++) ids.push(await producer.put(String(i)));
    for (let i = 0; i < 5; i++) expect(idOf((await workers[i].reply()).line)).toBe(ids[i]);
  });

  it('closes connections beyond maxConnections at once, others unaffected', async () => {
    const server = await start({ maxConnections: 2 });
    const a = await open(server);
    const b = await open(server);
    const extra = await open(server);
    await extra.closed;
    expect(await a.line('list-tube-used')).toBe('USING default');
    expect(await b.line('list-tube-used')).toBe('USING default');
  });

  it('close() ends connections, closes the queues it made, not those passed in, and leaves no handle', async () => {
    const handles = (kind: string) => process.getActiveResourcesInfo().filter((r) => r === kind).length;
    // Let sockets of earlier tests finish closing.
    await new Promise((resolve) => setTimeout(resolve, 50));
    const servers = handles('TCPServerWrap');
    const sockets = handles('TCPSocketWrap');
    const timers = handles('Timeout');
    const mine = queue();
    const server = await serve({ port: 0, queues: { mine } });
    const c = await RawConnection.open(server.port);
    await c.line('use created');
    const created = server.queue('created');
    const id = await c.put('x');
    expect(await c.line('watch created')).toBe('WATCHING 2');
    expect(await c.line('reserve')).toBe(`RESERVED ${id} 1`);
    await server.close();
    await c.closed;
    expect(created?.isClosed).toBe(true);
    expect(mine.isClosed).toBe(false);
    expect(await server.close()).toBeUndefined();
    await new Promise((resolve) => setImmediate(resolve));
    expect(handles('TCPServerWrap')).toBe(servers);
    expect(handles('TCPSocketWrap')).toBeLessThanOrEqual(sockets);
    expect(handles('Timeout')).toBeLessThanOrEqual(timers);
  });

  it('expires a lease on time while its worker stays silent (a reference bug not copied)', async () => {
    const clock = new ManualClock();
    const server = await start({ clock });
    const worker = await open(server);
    const watcher = await open(server);
    const id = await worker.put('idle', { ttr: 1 });
    expect(await worker.line('reserve')).toBe(`RESERVED ${id} 4`);
    clock.advance(999);
    expect(RawConnection.yamlDict((await watcher.request(`stats-job ${id}`)).data)).toMatchObject({ state: 'reserved', timeouts: '0' });
    // The deadline passes with no byte from the worker: nothing but the timer can notice.
    clock.advance(1);
    expect(RawConnection.yamlDict((await watcher.request(`stats-job ${id}`)).data)).toMatchObject({ state: 'ready', timeouts: '1' });
  });

  it('does not count a connection waiting in reserve as idle', async () => {
    const server = await start({ idleTimeout: 150 });
    const idle = await open(server);
    const waiting = await open(server);
    waiting.send('reserve\r\n');
    await idle.closed;
    expect(waiting.isClosed).toBe(false);
    const producer = await open(server);
    const id = await producer.put('late');
    expect(idOf((await waiting.reply()).line)).toBe(id);
  });
});

describe('groups over the protocol', () => {
  it('stats-job shows docket-group for a job in a group; reserve keeps the group order and wakes when the slot frees', async () => {
    const jobs = queue<string>({ name: 'jobs' });
    const server = await start({ queues: { jobs }, codec: textCodec });
    const a1 = jobs.push('a1', { group: 'tenant-42' });
    const a2 = jobs.push('a2', { group: 'tenant-42' });
    const plain = jobs.push('plain');
    const spaced = jobs.push('s', { group: 'tenant 42', delay: 60_000 });
    const c = await open(server);
    await c.line('watch jobs');
    await c.line('ignore default');
    expect(RawConnection.yamlDict((await c.request(`stats-job ${a1.id}`)).data)).toMatchObject({ 'docket-group': 'tenant-42' });
    expect(RawConnection.yamlDict((await c.request(`stats-job ${plain.id}`)).data)).not.toHaveProperty('docket-group');
    // A name YAML would misread is double-quoted.
    expect((await c.request(`stats-job ${spaced.id}`)).data?.toString()).toContain('docket-group: "tenant 42"\n');
    const other = await open(server);
    await other.line('watch jobs');
    expect(await other.line('reserve')).toBe(`RESERVED ${a1.id} 2`);
    expect(await c.line('reserve')).toBe(`RESERVED ${plain.id} 5`);
    // a2 waits for a1's slot: a reserve waiting on the server gets it once a1 is deleted.
    expect(await c.line('reserve-with-timeout 0')).toBe('TIMED_OUT');
    const waiting = c.line('reserve-with-timeout 10');
    while (RawConnection.yamlDict((await other.request('stats')).data)['current-waiting'] !== '1') await other.line('list-tube-used');
    expect(await other.line(`delete ${a1.id}`)).toBe('DELETED');
    expect(await waiting).toBe(`RESERVED ${a2.id} 2`);
  });
});
