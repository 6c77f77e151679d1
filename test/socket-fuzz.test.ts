/**
 * Fuzz: random and mutated input into the parser and into a live server, while
 * well-behaved clients keep working. Seeded, so every failure reproduces.
 */
import net from 'node:net';
import v8 from 'node:v8';
import vm from 'node:vm';
import { afterEach, describe, expect, it } from 'vitest';
import { Parser } from '../src/socket/server/command-parser.js';
import type { Command } from '../src/socket/protocol.js';
import { serve, type SocketServer } from '../src/socket/server/server.js';
import { RawConnection } from './helpers/raw-connection.js';
import { seededRandom } from './helpers/random.js';

const HUGE = ['4294967295', '4294967296', '18446744073709551615', '18446744073709551616', '99999999999999999999999999', '-1', '+7', '0x10', '1e9', ''];
const TUBES = ['default', 'fz', 'fz-2', 'a'.repeat(200), 'a'.repeat(201), '-x', 'bad*name', ''];

function generator(seed: number) {
  const random = seededRandom(seed);
  const int = (n: number) => Math.floor(random() * n);
  const pick = <T>(items: readonly T[]): T => items[int(items.length)];
  const num = () => (random() < 0.2 ? pick(HUGE) : String(random() < 0.5 ? int(10) : int(100_000)));
  const id = () => (random() < 0.3 ? pick(HUGE) : String(1_000_000_000_000 + int(1000)));
  const tube = () => pick(TUBES);

  function command(): string {
    switch (int(22)) {
      case 0:
      case 1: {
        const size = random() < 0.05 ? 70_000 : int(300);
        const declared = random() < 0.1 ? num() : String(size);
        const body = 'b'.repeat(size);
        return `put ${num()} ${random() < 0.8 ? 0 : num()} ${num()} ${declared}\r\n${body}\r\n`;
      }
      case 2:
        return `use ${tube()}\r\n`;
      case 3:
        return `watch ${tube()}\r\n`;
      case 4:
        return `ignore ${tube()}\r\n`;
      case 5:
        return `reserve-with-timeout 0\r\n`;
      case 6:
        return `peek ${id()}\r\n`;
      case 7:
        return `${pick(['peek-ready', 'peek-delayed', 'peek-buried', 'stats', 'list-tubes', 'list-tube-used', 'list-tubes-watched'])}\r\n`;
      case 8:
        return `delete ${id()}\r\n`;
      case 9:
        return `release ${id()} ${num()} ${num()}\r\n`;
      case 10:
        return `bury ${id()} ${num()}\r\n`;
      case 11:
        return `touch ${id()}\r\n`;
      case 12:
        return `kick ${num()}\r\n`;
      case 13:
        return `kick-job ${id()}\r\n`;
      case 14:
        return `stats-job ${id()}\r\n`;
      case 15:
        return `stats-tube ${tube()}\r\n`;
      case 16:
        return `pause-tube ${pick(['fz', 'fz-2', 'nope'])} ${int(2)}\r\n`;
      case 17:
        return `reserve-job ${id()}\r\n`;
      case 18:
        return 'x'.repeat(int(2000)) + '\r\n';
      case 19:
        return Buffer.from(Array.from({ length: int(64) }, () => int(256))).toString('latin1');
      case 20:
        return random() < 0.5 ? '\r\n' : '\n\r\r\n';
      default:
        return `${pick(['PUT', 'reservex', 'stats-job', 'put', 'kick', 'bogus', 'quitx'.slice(0, 4 + int(2))])}\r\n`;
    }
  }

  function mutate(input: string): string {
    let s = input;
    const rounds = 1 + int(3);
    for (let r = 0; r < rounds; r++) {
      const at = int(s.length + 1);
      switch (int(7)) {
        case 0: // flip a byte
          if (s.length > 0) s = s.slice(0, at) + String.fromCharCode(int(256)) + s.slice(at + 1);
          break;
        case 1: // insert control bytes
          s = s.slice(0, at) + pick(['\x00', '\r', '\n', '\r\n', ' ', '\xff']) + s.slice(at);
          break;
        case 2: // delete a range
          s = s.slice(0, at) + s.slice(at + int(10));
          break;
        case 3: // duplicate a range
          s = s.slice(0, at + int(20)) + s.slice(at);
          break;
        case 4: // drop the final CRLF
          s = s.replace(/\r\n$/, '');
          break;
        case 5: // a huge number somewhere
          s = s.slice(0, at) + pick(HUGE) + s.slice(at);
          break;
        default: // a long line
          s = s.slice(0, at) + 'y'.repeat(200 + int(800)) + s.slice(at);
      }
    }
    return s;
  }

  /** One fuzz input: a valid command, a mutated one, or garbage. */
  function input(): Buffer {
    const roll = random();
    let text: string;
    if (roll < 0.3) text = command();
    else if (roll < 0.85) text = mutate(command() + (random() < 0.5 ? command() : ''));
    else text = Buffer.from(Array.from({ length: int(400) }, () => int(256))).toString('latin1');
    // Nobody quits early on purpose: a quit would make the rest of a stream moot.
    return Buffer.from(text.replace(/quit/g, 'qu1t'), 'latin1');
  }

  return { input, random, int };
}

function splitAt(buffer: Buffer, points: number[]): Buffer[] {
  const out: Buffer[] = [];
  let last = 0;
  for (const p of [...points].sort((a, b) => a - b)) {
    out.push(buffer.subarray(last, p));
    last = p;
  }
  out.push(buffer.subarray(last));
  return out;
}

function parse(chunks: Buffer[]): string {
  const out: Command[] = [];
  const parser = new Parser((c) => out.push(c), { maxJobSize: 65_535 });
  for (const chunk of chunks) {
    parser.push(chunk);
    if (parser.buffered > 65_537) throw new Error(`parser holds ${parser.buffered} bytes`);
  }
  return JSON.stringify(out.map((c) => (c.name === 'put' ? { ...c, body: Buffer.from(c.body).toString('latin1') } : c)));
}

describe('parser fuzz', () => {
  it('10,000 random and mutated inputs: never throws, bounded, same commands for any split', () => {
    const { input, int } = generator(0xd0c7e7);
    for (let i = 0; i < 10_000; i++) {
      const data = input();
      const whole = parse([data]);
      const points = Array.from({ length: 1 + int(4) }, () => int(data.length + 1));
      const split = parse(splitAt(data, points));
      if (split !== whole) expect.fail(`input ${i} (${JSON.stringify(data.toString('latin1')).slice(0, 300)}) parsed differently when split at ${points}`);
      if (i % 50 === 0 && data.length < 5000) {
        const bytes = Array.from({ length: data.length }, (_, k) => data.subarray(k, k + 1));
        expect(parse(bytes)).toBe(whole);
      }
    }
  });
});

describe('live server fuzz', () => {
  let server: SocketServer | undefined;
  const sockets: net.Socket[] = [];
  const connections: RawConnection[] = [];
  afterEach(async () => {
    for (const s of sockets.splice(0)) s.destroy();
    for (const c of connections.splice(0)) c.close();
    await server?.close();
    server = undefined;
  });

  it('10,000 inputs from hostile clients: no error, well-behaved clients lose nothing, memory returns near baseline', async () => {
    v8.setFlagsFromString('--expose-gc');
    const gc = vm.runInNewContext('gc') as () => void;
    const memory = () => {
      gc();
      gc();
      const m = process.memoryUsage();
      return m.heapUsed + m.arrayBuffers;
    };

    const errors: unknown[] = [];
    server = await serve({ port: 0, commandTimeout: 2000, onError: (error) => errors.push(error) });
    const port = server.port;

    // Well-behaved clients: their own tubes, every reply checked.
    let fuzzing = true;
    const good = async (n: number): Promise<number> => {
      const c = await RawConnection.open(port);
      connections.push(c);
      expect(await c.line(`use good-${n}`)).toBe(`USING good-${n}`);
      expect(await c.line(`watch good-${n}`)).toBe('WATCHING 2');
      expect(await c.line('ignore default')).toBe('WATCHING 1');
      let done = 0;
      while (fuzzing || done < 20) {
        const body = `good-${n}-${done}`;
        const id = await c.put(body);
        const reply = await c.request('reserve-with-timeout 5', undefined, 10_000);
        expect(reply.line).toBe(`RESERVED ${id} ${body.length}`);
        expect(reply.data?.toString()).toBe(body);
        expect(await c.line(`delete ${id}`)).toBe('DELETED');
        done++;
      }
      return done;
    };

    // Ten inputs per connection (an input that declares a huge body swallows what follows
    // it, as the protocol says), 25 connections at a time. Each client half-closes when it
    // has sent everything; the server finishes its commands and closes.
    // Streams the server never closed after their half-close: each is a hang, so a failure.
    // The wait is wide (the server needs milliseconds) so a loaded machine cannot trip it.
    const hung: string[] = [];
    const fuzzRound = async (seed: number, count: number) => {
      const { input, int } = generator(seed);
      const perConnection = 10;
      let streams: Promise<void>[] = [];
      for (let start = 0; start < count; start += perConnection) {
        const data = Buffer.concat(Array.from({ length: Math.min(perConnection, count - start) }, input));
        const points = Array.from({ length: 4 }, () => int(data.length + 1));
        streams.push(
          new Promise<void>((resolve) => {
            const socket = net.connect({ port, host: '127.0.0.1' });
            sockets.push(socket);
            socket.on('error', () => {});
            socket.on('data', () => {});
            const giveUp = setTimeout(() => {
              hung.push(`seed ${seed}, inputs ${start}..: ${JSON.stringify(data.toString('latin1').slice(0, 200))}`);
              socket.destroy();
            }, 15_000);
            socket.once('close', () => {
              clearTimeout(giveUp);
              resolve();
            });
            socket.once('connect', async () => {
              for (const chunk of splitAt(data, points)) {
                if (socket.destroyed) return;
                socket.write(chunk);
                await new Promise((r) => setImmediate(r));
              }
              socket.end();
            });
          }),
        );
        if (streams.length === 25) {
          await Promise.all(streams);
          streams = [];
        }
      }
      await Promise.all(streams);
    };

    const purge = async () => {
      const admin = await RawConnection.open(port);
      for (const tube of RawConnection.yamlList((await admin.request('list-tubes')).data)) {
        await admin.line(`use ${tube}`);
        await admin.line(`pause-tube ${tube} 0`);
        while ((await admin.line('kick 100000')) !== 'KICKED 0');
        for (;;) {
          const peeked = await admin.line('peek-ready');
          if (peeked === 'NOT_FOUND') break;
          expect(await admin.line(`delete ${/^FOUND (\d+)/.exec(peeked)?.[1]}`)).toBe('DELETED');
        }
      }
      await admin.line('use default');
      admin.close();
      await admin.closed;
    };

    // Warm up (JIT, pools), then measure the baseline.
    await fuzzRound(1, 500);
    await purge();
    await new Promise((r) => setTimeout(r, 100));
    const baseline = memory();

    const workers = [0, 1, 2, 3].map(good);
    await fuzzRound(0xf022, 10_000);
    fuzzing = false;
    const completed = await Promise.all(workers);
    for (const count of completed) expect(count).toBeGreaterThanOrEqual(20);
    expect(errors).toEqual([]);
    expect(hung).toEqual([]);

    for (const s of sockets.splice(0)) s.destroy();
    await purge();
    await new Promise((r) => setTimeout(r, 200));
    const after = memory();
    expect(after - baseline).toBeLessThan(16 * 1024 * 1024);
    // The server still answers.
    const probe = await RawConnection.open(port);
    connections.push(probe);
    expect(await probe.line('list-tube-used')).toBe('USING default');
  }, 120_000);
});
