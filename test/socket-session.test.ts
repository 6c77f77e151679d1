/**
 * The session state machine without sockets: a fake clock drives reserve timeouts,
 * DEADLINE_SOON, TTR and pause-tube, so no test here sleeps.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { ManualClock } from '../src/clock.js';
import { jsonCodec } from '../src/codec.js';
import { Hub } from '../src/socket/server/hub.js';
import { Parser } from '../src/socket/server/command-parser.js';
import { Session, type SessionTransport } from '../src/socket/server/session.js';
import { Queue } from '../src/queue.js';
import type { Store } from '../src/store.js';
import { microtasks } from './helpers/flush.js';

/**
 * Replies in memory, held back as the server holds them: `out` gets only what the session
 * let go (`answered`, `end`), so a reply it queues and never lets go fails the test.
 */
class Memory implements SessionTransport {
  out = '';
  held = '';
  ended = false;
  write(text: string): void {
    this.held += text;
  }
  writeBytes(bytes: Uint8Array): void {
    this.held += Buffer.from(bytes).toString('latin1');
  }
  answered(): void {
    this.out += this.held;
    this.held = '';
  }
  end(): void {
    this.answered();
    this.ended = true;
  }
}

const hubs: Hub[] = [];
afterEach(async () => {
  await Promise.all(hubs.splice(0).map((hub) => hub.close()));
});

/** A hub on `clock` over `queues` (tubes are created as used), closed after the test. */
function newHub(clock: ManualClock, queues = new Map<string, Queue<unknown>>()): Hub {
  const hub = new Hub({
    queues,
    createQueue: undefined,
    autoCreate: true,
    queueOptions: { clock },
    codec: jsonCodec,
    maxJobSize: 65_535,
    maxTubes: 100,
    clock,
  });
  hubs.push(hub);
  return hub;
}

/** One client's session on `hub`, its replies kept in memory, its bytes fed through a parser. */
function sessionOn(hub: Hub): { transport: Memory; session: Session; parser: Parser } {
  const transport = new Memory();
  const session = new Session(hub, transport);
  return { transport, session, parser: new Parser((command) => session.receive(command)) };
}

function setup() {
  const clock = new ManualClock(1_000_000);
  const hub = newHub(clock);
  const client = () => {
    const { transport, session, parser } = sessionOn(hub);
    return {
      session,
      transport,
      /** Sends a command and returns what was answered once the queue settled. */
      async send(text: string): Promise<string> {
        parser.push(Buffer.from(text, 'latin1'));
        return this.take();
      },
      async take(): Promise<string> {
        await microtasks(10);
        const out = transport.out;
        transport.out = '';
        return out;
      },
    };
  };
  return { clock, hub, client };
}

describe('Session timing on a fake clock', () => {
  it('reserve-with-timeout answers TIMED_OUT exactly when its time is up', async () => {
    const { clock, client } = setup();
    const c = client();
    expect(await c.send('reserve-with-timeout 5\r\n')).toBe('');
    clock.advance(4999);
    expect(await c.take()).toBe('');
    clock.advance(1);
    expect(await c.take()).toBe('TIMED_OUT\r\n');
  });

  it('waits longer than a Node timer can (2^31 ms) for reserve-with-timeout and pause-tube', async () => {
    const { clock, client } = setup();
    const c = client();
    const days30 = 30 * 24 * 3600;
    expect(await c.send(`reserve-with-timeout ${days30}\r\n`)).toBe('');
    clock.advance(2 ** 31);
    expect(await c.take()).toBe('');
    clock.advance(days30 * 1000 - 2 ** 31 - 1);
    expect(await c.take()).toBe('');
    clock.advance(1);
    expect(await c.take()).toBe('TIMED_OUT\r\n');
    const id = Number(/INSERTED (\d+)/.exec(await c.send('put 0 0 10 1\r\na\r\n'))?.[1]);
    expect(await c.send(`pause-tube default ${days30}\r\n`)).toBe('PAUSED\r\n');
    expect(await c.send('reserve\r\n')).toBe('');
    clock.advance(2 ** 31);
    expect(await c.take()).toBe('');
    clock.advance(days30 * 1000 - 2 ** 31);
    expect(await c.take()).toBe(`RESERVED ${id} 1\r\na\r\n`);
  });

  it('a waiting reserve gets DEADLINE_SOON when the safety margin of a held job begins', async () => {
    const { clock, client } = setup();
    const c = client();
    expect(await c.send('put 0 0 10 1\r\na\r\n')).toMatch(/^INSERTED \d+\r\n$/);
    expect(await c.send('reserve\r\n')).toMatch(/^RESERVED \d+ 1\r\na\r\n$/);
    expect(await c.send('reserve\r\n')).toBe('');
    clock.advance(8999);
    expect(await c.take()).toBe('');
    clock.advance(1);
    expect(await c.take()).toBe('DEADLINE_SOON\r\n');
    // Inside the margin a new reserve answers at once.
    expect(await c.send('reserve\r\n')).toBe('DEADLINE_SOON\r\n');
  });

  it('a lease that runs out goes to the oldest waiter; touch pushes the deadline back', async () => {
    const { clock, client } = setup();
    const worker = client();
    const waiter = client();
    const id = Number(/INSERTED (\d+)/.exec(await worker.send('put 0 0 10 1\r\na\r\n'))?.[1]);
    await worker.send('reserve\r\n');
    expect(await waiter.send('reserve\r\n')).toBe('');
    clock.advance(5000);
    expect(await worker.send(`touch ${id}\r\n`)).toBe('TOUCHED\r\n');
    clock.advance(9999);
    expect(await waiter.take()).toBe('');
    clock.advance(1);
    expect(await waiter.take()).toBe(`RESERVED ${id} 1\r\na\r\n`);
    expect(await worker.send(`delete ${id}\r\n`)).toBe('NOT_FOUND\r\n');
  });

  it('pause-tube holds a waiting reserve until the pause ends', async () => {
    const { clock, client } = setup();
    const c = client();
    const id = Number(/INSERTED (\d+)/.exec(await c.send('put 0 0 10 1\r\na\r\n'))?.[1]);
    expect(await c.send('pause-tube default 3\r\n')).toBe('PAUSED\r\n');
    expect(await c.send('reserve\r\n')).toBe('');
    clock.advance(2999);
    expect(await c.take()).toBe('');
    clock.advance(1);
    expect(await c.take()).toBe(`RESERVED ${id} 1\r\na\r\n`);
  });

  it('a delayed job becomes ready on time and goes to a waiter', async () => {
    const { clock, client } = setup();
    const producer = client();
    const waiter = client();
    expect(await waiter.send('reserve\r\n')).toBe('');
    const id = Number(/INSERTED (\d+)/.exec(await producer.send('put 0 2 10 1\r\nd\r\n'))?.[1]);
    clock.advance(1999);
    expect(await waiter.take()).toBe('');
    clock.advance(1);
    expect(await waiter.take()).toBe(`RESERVED ${id} 1\r\nd\r\n`);
  });

  it('serves waiters first come, first served, and skips those watching other tubes', async () => {
    const { client } = setup();
    const elsewhere = client();
    await elsewhere.send('watch other\r\nignore default\r\n');
    const first = client();
    const second = client();
    expect(await elsewhere.send('reserve\r\n')).toBe('');
    expect(await first.send('reserve\r\n')).toBe('');
    expect(await second.send('reserve\r\n')).toBe('');
    const producer = client();
    await producer.send('put 0 0 10 1\r\n1\r\nput 0 0 10 1\r\n2\r\n');
    expect(await first.take()).toMatch(/^RESERVED \d+ 1\r\n1\r\n$/);
    expect(await second.take()).toMatch(/^RESERVED \d+ 1\r\n2\r\n$/);
    expect(await elsewhere.take()).toBe('');
  });

  it('a reserve queued behind a pending command of a half-closed client answers TIMED_OUT', async () => {
    const { client } = setup();
    const c = client();
    c.session.receive({ name: 'put', pri: 0, delay: 0, ttr: 10, body: new Uint8Array([0x61]) });
    c.session.receive({ name: 'reserve-with-timeout', timeout: 0 });
    c.session.receive({ name: 'watch', tube: 'empty' });
    c.session.receive({ name: 'ignore', tube: 'default' });
    c.session.receive({ name: 'reserve' });
    c.session.endOfInput();
    const out = await c.take();
    expect(out).toMatch(/^INSERTED \d+\r\nRESERVED \d+ 1\r\na\r\nWATCHING 2\r\nWATCHING 1\r\nTIMED_OUT\r\n$/);
    expect(c.transport.ended).toBe(true);
  });

  it('closing a session gives its jobs back at once and drops its waiting reserve', async () => {
    const { client, hub } = setup();
    const worker = client();
    const other = client();
    const id = Number(/INSERTED (\d+)/.exec(await worker.send('put 0 0 10 1\r\na\r\n'))?.[1]);
    await worker.send('reserve\r\n');
    await worker.send('reserve\r\n'); // waits
    expect(hub.waiting).toBe(1);
    worker.session.close();
    expect(hub.waiting).toBe(0);
    expect(await other.send('reserve-with-timeout 0\r\n')).toBe(`RESERVED ${id} 1\r\na\r\n`);
  });
});

describe('pipelined puts on a durable queue', () => {
  /** A store whose put records stay pending until the test releases them. */
  function slowStore() {
    const pending: Array<() => void> = [];
    const store: Store<unknown> = {
      append: (change) => (change.type === 'put' ? new Promise<void>((resolve) => pending.push(resolve)) : undefined),
      close: async () => undefined,
    };
    return { store, pending };
  }

  function durableSetup() {
    const clock = new ManualClock(1_000_000);
    const { store, pending } = slowStore();
    const queue = new Queue<unknown>({ name: 'jobs', clock, store });
    const { transport, parser } = sessionOn(newHub(clock, new Map([['jobs', queue]])));
    return { queue, pending, transport, parser, settle: () => microtasks() };
  }

  it('hands consecutive puts to the store together, and answers them in order', async () => {
    const { pending, transport, parser, settle } = durableSetup();
    parser.push(Buffer.from('use jobs\r\nput 0 0 10 1\r\n1\r\nput 0 0 10 5\r\nnope!\r\nput 0 0 10 1\r\n3\r\nstats-tube jobs\r\n', 'latin1'));
    await settle();
    // Both valid puts reached the store before either was written; nothing answered yet
    // after USING, not even the refused body in the middle.
    expect(pending).toHaveLength(2);
    expect(transport.out).toBe('USING jobs\r\n');
    // The store finishes out of order: the replies still come in command order.
    pending[1]!();
    await settle();
    expect(transport.out).toBe('USING jobs\r\n');
    pending[0]!();
    await settle();
    const lines = transport.out.split('\r\n');
    expect(lines.slice(0, 4)).toEqual(['USING jobs', expect.stringMatching(/^INSERTED \d+$/), 'BAD_FORMAT', expect.stringMatching(/^INSERTED \d+$/)]);
    // The command after the puts ran only once they were answered.
    expect(lines[4]).toMatch(/^OK \d+$/);
    expect(transport.out).toContain('current-jobs-ready: 2');
  });
});

describe('Session tells its transport when the replies may go out', () => {
  /** Records replies and the moments the session says everything so far is answered. */
  class Marking extends Memory {
    marks: string[] = [];
    override answered(): void {
      super.answered();
      this.marks.push(this.out);
      this.out = '';
    }
  }

  function session() {
    const { hub } = setup();
    const transport = new Marking();
    const s = new Session(hub, transport);
    const feed = new Parser((command) => s.receive(command));
    return { transport, send: (text: string) => feed.push(Buffer.from(text, 'latin1')) };
  }

  it('at once for a command answered synchronously', () => {
    const { transport, send } = session();
    send('put 0 0 60 2\r\nhi\r\n');
    expect(transport.marks).toEqual([expect.stringMatching(/^INSERTED \d+\r\n$/)]);
    send('use other\r\n');
    expect(transport.marks[1]).toBe('USING other\r\n');
  });

  it('only after the reply of a command that settles later (release waits for the queue), not before', async () => {
    const { transport, send } = session();
    send('put 0 0 60 2\r\nhi\r\n');
    send('reserve\r\n');
    const id = /RESERVED (\d+)/.exec(transport.marks.join(''))?.[1];
    transport.marks = [];
    send(`release ${id} 0 0\r\n`);
    // Still waiting for the queue: nothing declared answered yet.
    expect(transport.marks).toEqual([]);
    await microtasks();
    expect(transport.marks).toEqual(['RELEASED\r\n']);
  });

  it('once for a pipelined batch held up by a command that settles later, after its last reply', async () => {
    const { transport, send } = session();
    send('put 0 0 60 1\r\na\r\nput 0 0 60 1\r\nb\r\n');
    transport.marks = [];
    send('reserve\r\nreserve\r\n');
    const ids = [...transport.marks.join('').matchAll(/RESERVED (\d+)/g)].map((m) => m[1]);
    expect(ids).toHaveLength(2);
    transport.marks = [];
    send(`release ${ids[0]} 0 0\r\nrelease ${ids[1]} 0 0\r\nuse other\r\n`);
    await microtasks();
    expect(transport.marks).toEqual(['RELEASED\r\nRELEASED\r\nUSING other\r\n']);
  });

  it('at once for a delete on a tube without a store', () => {
    const { transport, send } = session();
    send('put 0 0 60 1\r\na\r\nreserve\r\n');
    const id = /RESERVED (\d+)/.exec(transport.marks.join(''))?.[1];
    transport.marks = [];
    send(`delete ${id}\r\n`);
    expect(transport.marks).toEqual(['DELETED\r\n']);
    send(`delete ${id}\r\n`);
    expect(transport.marks).toEqual(['DELETED\r\n', 'NOT_FOUND\r\n']);
  });
});
