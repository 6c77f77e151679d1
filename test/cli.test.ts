/**
 * The `docket` command line against docket's own server and a real beanstalkd (the same
 * suite for both), and against Redis: tables and JSON, every command, clear errors.
 */
import { spawnSync } from 'node:child_process';
import { Readable } from 'node:stream';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { run } from '../src/cli/main.js';
import type { Io } from '../src/cli/commands.js';
import { rawCodec } from '../src/codec.js';
import { Queue } from '../src/queue.js';
import { serve } from '../src/socket/server/server.js';
import { connect } from '../src/socket/client/remote-queue.js';
import { openRedisQueue } from '../src/redis/open.js';
import { requireBeanstalkd, startBeanstalkd } from './helpers/beanstalkd.js';
import { requireRedis, startRedis } from './helpers/redis.js';

const hasBeanstalkd = requireBeanstalkd('the command line against beanstalkd');
const hasRedis = requireRedis('the command line against Redis');

interface Ran {
  status: number;
  out: string;
  err: string;
}

/** Runs the command line in this process, with `input` as standard input. */
async function docket(argv: string[], options: { input?: string | Buffer; signal?: AbortSignal } = {}): Promise<Ran> {
  let out = '';
  let err = '';
  const stdin = Readable.from(options.input === undefined ? [] : [Buffer.from(options.input)]) as Io['stdin'];
  const status = await run(argv, { out: (t) => (out += t), err: (t) => (err += t), stdin, signal: options.signal ?? new AbortController().signal });
  return { status, out, err };
}

const servers = [
  [
    'docket serve()',
    async () => {
      // Tubes made on demand have beanstalkd's unlimited attempts; `once` allows one, so
      // anything that gives its job back with an attempt counted buries it.
      const server = await serve({ port: 0, codec: rawCodec, queues: { once: new Queue<Uint8Array>({ name: 'once', retry: { attempts: 1 } }) } });
      return { url: `beanstalk://127.0.0.1:${server.port}`, stop: () => server.close() };
    },
  ],
  [
    'beanstalkd',
    async () => {
      const bs = await startBeanstalkd();
      return { url: `beanstalk://127.0.0.1:${bs.port}`, stop: () => bs.stop() };
    },
  ],
] as const;

for (const [label, start] of servers) {
  describe.skipIf(label === 'beanstalkd' && !hasBeanstalkd)(`docket against ${label}`, () => {
    let url: string;
    let stop: () => Promise<void>;
    beforeEach(async () => {
      ({ url, stop } = await start());
    });
    afterEach(() => stop());
    const u = (): string[] => ['--url', url];

    it('puts standard input as a job and shows the counts of one tube and of all', async () => {
      const put = await docket(['put', 'emails', ...u(), '--priority', '7'], { input: '{"to":"ada"}' });
      expect(put).toMatchObject({ status: 0, err: '' });
      expect(put.out).toMatch(/^inserted \d+ into emails\n$/);
      await docket(['put', 'emails', ...u(), '--delay', '600'], { input: 'later' });
      const one = await docket(['stats', 'emails', ...u(), '--json']);
      expect(JSON.parse(one.out)).toMatchObject({ name: 'emails', ready: 1, delayed: 1, reserved: 0, buried: 0, added: 2 });
      const all = await docket(['stats', ...u()]);
      expect(all.out.split('\n')[0]).toMatch(/^tube\s+ready\s+delayed\s+reserved\s+buried\s+added$/);
      expect(all.out).toMatch(/^emails\s+1\s+1\s+0\s+0\s+2$/m);
      expect(all.out).toMatch(/^default\s+0\s+0\s+0\s+0\s+0$/m);
      expect((await docket(['stats', 'emails', ...u()])).out).toMatch(/^ready\s+1$/m);
    });

    it('peeks the next ready, delayed and buried job with its record and body', async () => {
      const id = Number(/\d+/.exec((await docket(['put', 'jobs', ...u(), '--priority', '3'], { input: 'hello\n' })).out)?.[0]);
      await docket(['put', 'jobs', ...u()], { input: Buffer.from([0, 1, 0xff]) });
      const ready = await docket(['peek', 'ready', 'jobs', ...u()]);
      expect(ready.status).toBe(0);
      expect(ready.out).toMatch(new RegExp(`^id\\s+${id}$`, 'm'));
      expect(ready.out).toMatch(/^priority\s+3$/m);
      expect(ready.out).toMatch(/^body\s+hello$/m);
      const json = JSON.parse((await docket(['peek', 'ready', 'jobs', ...u(), '--json'])).out);
      expect(json).toMatchObject({ id, state: 'ready', priority: 3, body: 'hello\n', encoding: 'utf8' });
      const none = await docket(['peek', 'buried', 'jobs', ...u()]);
      expect([none.status, none.err]).toEqual([1, 'no buried job in jobs\n']);
      expect((await docket(['peek', 'delayed', 'jobs', ...u(), '--json'])).out).toBe('null\n');
      // A binary body shows as hex; the job is buried by a consumer, then kicked back.
      const client = await connect<Uint8Array>(`${url}/jobs`, { codec: rawCodec });
      try {
        await (await client.reserve({ timeout: 1000 }))?.release();
        const first = await client.reserve({ timeout: 1000 });
        const second = await client.reserve({ timeout: 1000 });
        await second?.bury();
        await first?.release();
      } finally {
        await client.close({ timeout: 1000 });
      }
      const buried = await docket(['peek', 'buried', 'jobs', ...u()]);
      expect(buried.out).toMatch(/^body\s+\(hex\) 0001ff$/m);
      expect(buried.out).toMatch(/^state\s+buried$/m);
      const kicked = await docket(['kick', '10', 'jobs', ...u(), '--json']);
      expect(JSON.parse(kicked.out)).toEqual({ tube: 'jobs', kicked: 1 });
      expect(JSON.parse((await docket(['stats', 'jobs', ...u(), '--json'])).out)).toMatchObject({ ready: 2, buried: 0 });
    });

    it('tails jobs: prints each once, then gives them back, or deletes them with --delete', async () => {
      for (const body of ['one', 'two', 'three']) await docket(['put', 'feed', ...u()], { input: body });
      const held = await docket(['tail', 'feed', ...u(), '--count', '3']);
      expect(
        held.out
          .split('\n')
          .filter(Boolean)
          .map((line) => line.replace(/^#\d+\s+/, '')),
      ).toEqual(['one', 'two', 'three']);
      expect(JSON.parse((await docket(['stats', 'feed', ...u(), '--json'])).out)).toMatchObject({ ready: 3, reserved: 0 });
      const deleted = await docket(['tail', 'feed', ...u(), '--delete', '--json', '--timeout', '1']);
      expect(
        deleted.out
          .trim()
          .split('\n')
          .map((line) => (JSON.parse(line) as { body: string }).body),
      ).toEqual(['one', 'two', 'three']);
      expect(JSON.parse((await docket(['stats', 'feed', ...u(), '--json'])).out)).toMatchObject({ ready: 0, reserved: 0 });
    });

    it('gives held jobs back without using an attempt', async () => {
      if (label === 'beanstalkd') return; // no attempt limit there to use up
      await docket(['put', 'once', ...u()], { input: 'precious' });
      expect((await docket(['tail', 'once', ...u(), '--count', '1'])).out).toMatch(/^#\d+\s+precious\n$/);
      expect(JSON.parse((await docket(['stats', 'once', ...u(), '--json'])).out)).toMatchObject({ ready: 1, reserved: 0, buried: 0 });
    });

    it('tails until interrupted, giving back what it held', async () => {
      await docket(['put', 'live', ...u()], { input: 'first' });
      const controller = new AbortController();
      const tailing = docket(['tail', 'live', ...u()], { signal: controller.signal });
      // The tail holds the job once it printed it: wait for the server to see it reserved.
      for (;;) {
        const s = JSON.parse((await docket(['stats', 'live', ...u(), '--json'])).out) as { reserved: number };
        if (s.reserved === 1) break;
        await new Promise((resolve) => setTimeout(resolve, 20));
      }
      controller.abort();
      const done = await tailing;
      expect(done.out).toMatch(/^#\d+\s+first\n$/);
      expect(JSON.parse((await docket(['stats', 'live', ...u(), '--json'])).out)).toMatchObject({ ready: 1, reserved: 0 });
    });

    it('serves the dashboard for the server until interrupted', async () => {
      await docket(['put', 'emails', ...u()], { input: 'x' });
      const controller = new AbortController();
      let printed = '';
      let announce!: () => void;
      const announced = new Promise<void>((resolve) => (announce = resolve));
      const serving = run(['dashboard', ...u(), '--port', '0'], {
        out: (t) => {
          printed += t;
          announce();
        },
        err: (t) => (printed += t),
        stdin: Readable.from([]) as Io['stdin'],
        signal: controller.signal,
      });
      await announced;
      const page = /on (http:\/\/\S+\/)/.exec(printed)?.[1] ?? '';
      const overview = (await (await fetch(`${page}api/queues`)).json()) as { queues: Array<{ name: string; counts: { ready: number } }> };
      expect(overview.queues.find((q) => q.name === 'emails')?.counts.ready).toBe(1);
      controller.abort();
      expect(await serving).toBe(0);
    });
  });
}

describe('errors and help', () => {
  it('names an address it cannot reach', async () => {
    const refused = await docket(['stats', '--url', 'beanstalk://127.0.0.1:1']);
    expect(refused.status).toBe(1);
    expect(refused.err).toMatch(/^docket: cannot connect to 127\.0\.0\.1:1: connect ECONNREFUSED/);
    expect(refused.err).toContain('--url sets the address');
    const scheme = await docket(['stats', '--url', 'http://127.0.0.1:80']);
    expect(scheme.status).toBe(2);
    expect(scheme.err).toMatch(/--url must be beanstalk:\/\/host:port or redis:\/\/host:port, got "http:\/\/127\.0\.0\.1:80"/);
  });

  it('explains a wrong command line with the usage, and has --help for each command', async () => {
    expect(await docket(['kick', 'lots'])).toMatchObject({
      status: 2,
      err: expect.stringMatching(/kick how many: a whole number, got "lots"\nusage: docket kick N/),
    });
    expect(await docket(['frobnicate'])).toMatchObject({ status: 2, err: expect.stringMatching(/unknown command "frobnicate"/) });
    expect(await docket(['put', '--priority', '-1'], { input: 'x' })).toMatchObject({
      status: 2,
      err: expect.stringMatching(/--priority must be a whole number/),
    });
    expect(await docket(['tail', '--count'])).toMatchObject({ status: 2, err: expect.stringMatching(/--count needs a value/) });
    for (const command of ['stats', 'peek', 'kick', 'put', 'tail', 'dashboard']) {
      const help = await docket([command, '--help']);
      expect(help.status).toBe(0);
      expect(help.out).toMatch(new RegExp(`^usage: docket ${command}`));
    }
    expect((await docket(['--help'])).out).toMatch(/^usage: docket <command>/);
    expect((await docket([])).status).toBe(2);
  });

  it('runs as the bin, with exit statuses a script can use', () => {
    const bin = (args: string[]) => spawnSync(process.execPath, ['--import', 'tsx', 'src/cli/docket.ts', ...args], { encoding: 'utf8', timeout: 30_000 });
    const help = bin(['peek', '--help']);
    expect([help.status, help.stdout.startsWith('usage: docket peek')]).toEqual([0, true]);
    const refused = bin(['kick', '1', '--url', 'beanstalk://127.0.0.1:1']);
    expect(refused.status).toBe(1);
    expect(refused.stderr).toMatch(/cannot connect to 127\.0\.0\.1:1/);
  });
});

describe.skipIf(!hasRedis)('docket against Redis', () => {
  it('puts, shows, peeks, kicks and tails a Redis queue', async () => {
    const redis = await startRedis();
    try {
      const u = ['--url', redis.url];
      expect((await docket(['put', 'work', ...u], { input: 'payload' })).out).toMatch(/^inserted \d+ into work\n$/);
      const q = await openRedisQueue<Uint8Array>({ url: redis.url, name: 'work', codec: rawCodec });
      try {
        await docket(['put', 'work', ...u], { input: 'second' });
        await (await q.reserve({ timeout: 1000 }))?.bury();
      } finally {
        await q.close({ timeout: 0 });
      }
      expect(JSON.parse((await docket(['stats', 'work', ...u, '--json'])).out)).toMatchObject({ ready: 1, buried: 1 });
      expect((await docket(['peek', 'buried', 'work', ...u])).out).toMatch(/^body\s+payload$/m);
      expect(JSON.parse((await docket(['kick', '5', 'work', ...u, '--json'])).out)).toEqual({ tube: 'work', kicked: 1 });
      const refused = await docket(['tail', 'work', ...u]);
      expect([refused.status, refused.err]).toEqual([2, expect.stringMatching(/tail on Redis needs --delete/)]);
      const tailed = await docket(['tail', 'work', ...u, '--delete', '--count', '2']);
      expect(
        tailed.out
          .split('\n')
          .filter(Boolean)
          .map((l) => l.replace(/^#\d+\s+/, ''))
          .sort(),
      ).toEqual(['payload', 'second']);
      expect((await docket(['stats', ...u])).err).toMatch(/name the queue/);
    } finally {
      await redis.stop();
    }
  });
});
