/** Interoperability: the npm beanstalkd client `jackd` drives docket's server. */
import JackdDefault, * as jackdModule from 'jackd';
import { afterEach, describe, expect, it } from 'vitest';
import { Queue } from '../src/queue.js';
import { serve, type SocketServer } from '../src/socket/server/server.js';

// jackd is CommonJS; depending on the loader its class is the default export or a named one.
type JackdClient = jackdModule.JackdClient;
const JackdClient: typeof jackdModule.JackdClient = typeof JackdDefault === 'function' ? JackdDefault : jackdModule.JackdClient;

interface Email {
  to: string;
  n: number;
}

let server: SocketServer | undefined;
const clients: JackdClient[] = [];
const queues: Queue<unknown>[] = [];

async function client(): Promise<JackdClient> {
  const c = new JackdClient();
  await c.connect({ host: '127.0.0.1', port: (server as SocketServer).port });
  clients.push(c);
  return c;
}

afterEach(async () => {
  await Promise.all(clients.splice(0).map((c) => c.disconnect().catch(() => {})));
  await server?.close();
  server = undefined;
  await Promise.all(queues.splice(0).map((q) => q.close({ timeout: 0 })));
});

describe('jackd against docket', () => {
  it('producer and worker flow through a named queue, with an in-process side', async () => {
    const emails = new Queue<Email>({ retry: { attempts: 3 } });
    queues.push(emails as Queue<unknown>);
    server = await serve({ port: 0, queues: { emails } });
    const producer = await client();
    const worker = await client();
    await producer.use('emails');
    expect(await worker.watch('emails')).toBe(2);
    expect(await worker.ignore('default')).toBe(1);

    const sent: string[] = [];
    for (let n = 0; n < 20; n++) sent.push(await producer.put({ to: `user${n}@example.com`, n }, { priority: 100 - n }));
    // In-process producers are visible to the remote worker too.
    const local = await emails.add({ to: 'local@example.com', n: 99 }, { priority: 0 });

    const got: Email[] = [];
    for (let i = 0; i < 22; i++) {
      const job = await worker.reserve();
      got.push(JSON.parse(job.payload.toString()) as Email);
      if (i === 0) expect(job.id).toBe(String(local.id));
      if (i === 5) {
        // Released once, reserved again later: the retry policy allows it.
        await worker.release(job.id, { priority: 1000 });
        continue;
      }
      await worker.delete(job.id);
    }
    expect(got[0].n).toBe(99);
    // Lowest priority number first: n = 19 (priority 81) down to n = 0.
    expect(got.slice(1, 6).map((e) => e.n)).toEqual([19, 18, 17, 16, 15]);
    expect(got.at(-1)?.n).toBe(15);
    expect(emails.size + emails.pending).toBe(0);
    expect(sent).toHaveLength(20);
  });

  it('covers the rest of the command set on a tube created on demand', async () => {
    server = await serve({ port: 0 });
    const c = await client();
    await c.use('misc');
    await c.watch('misc');
    const id = await c.put('hello world', { delay: 0, ttr: 10 });
    expect((await c.peekReady()).id).toBe(id);
    const job = await c.reserve();
    expect(job.payload.toString()).toBe('hello world');
    await c.touch(id);
    await c.bury(id, 5);
    expect((await c.peekBuried()).id).toBe(id);
    expect(await c.kick(10)).toBe(1);
    const delayed = await c.put('later', { delay: 100 });
    expect((await c.peekDelayed()).id).toBe(delayed);
    await c.kickJob(delayed);
    expect((await c.reserveJob(Number(delayed))).id).toBe(delayed);
    await c.delete(delayed);
    expect(await c.statsJob(id)).toContain('tube: misc');
    expect(await c.statsTube('misc')).toContain('current-jobs-ready: 1');
    expect(await c.stats('')).toContain('current-connections: 1');
    expect(await c.listTubes('')).toContain('- misc');
    expect(await c.listTubesWatched('')).toContain('- misc');
    expect(await c.listTubeUsed()).toBe('misc');
    // Not pauseTube: jackd 2.2.2 sends it without its CRLF, so no server can answer it.
    const again = await c.reserveWithTimeout(1);
    expect(again.id).toBe(id);
    await c.delete(id);
    await expect(c.reserveWithTimeout(0)).rejects.toThrow(/TIMED_OUT/);
    await expect(c.delete('999999')).rejects.toThrow(/NOT_FOUND/);
  });

  it('an in-process consumer processes what jackd puts', async () => {
    const work = new Queue<{ n: number }>();
    queues.push(work as Queue<unknown>);
    server = await serve({ port: 0, queues: { work } });
    const c = await client();
    await c.use('work');
    const seen: number[] = [];
    work.process((job) => {
      seen.push(job.data.n);
    });
    for (let n = 0; n < 50; n++) await c.put({ n });
    await work.onIdle();
    expect(seen).toEqual(Array.from({ length: 50 }, (_, n) => n));
  });
});
