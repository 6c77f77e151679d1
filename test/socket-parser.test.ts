import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { Parser, ParserState } from '../src/socket/server/command-parser.js';
import type { Command } from '../src/socket/protocol.js';

function parseAll(chunks: Uint8Array[], maxJobSize?: number): Command[] {
  const out: Command[] = [];
  const parser = new Parser((command) => out.push(command), maxJobSize === undefined ? {} : { maxJobSize });
  for (const chunk of chunks) parser.push(chunk);
  return out;
}

const bytes = (text: string): Buffer => Buffer.from(text, 'latin1');
const parse = (text: string, maxJobSize?: number): Command[] => parseAll([bytes(text)], maxJobSize);
const one = (text: string): Command => {
  const commands = parse(text);
  expect(commands).toHaveLength(1);
  return commands[0];
};
// Commands compared by value, with bodies as plain strings.
const plain = (commands: Command[]): unknown[] =>
  commands.map((c) => (c.name === 'put' ? { ...c, body: Buffer.from(c.body).toString('latin1') } : c.name === 'error' ? { name: c.name, reply: c.reply } : c));

const err = (reply: string) => ({ name: 'error', reply });

// One of everything, bodies with CRLF, NUL and high bytes inside, and each kind of error.
const STREAM = [
  'put 1 2 3 5\r\nhe\r\nl\r\n',
  'put 0 0 60 0\r\n\r\n',
  'put 4294967295 4294967295 4294967295 3\r\n\x00\xff\n\r\n',
  'use emails\r\n',
  'reserve\r\n',
  'reserve-with-timeout 5\r\n',
  'reserve-job 7\r\n',
  'delete 18446744073709551615\r\n',
  'release 3 10 20\r\n',
  'bury 3 99\r\n',
  'touch 3\r\n',
  'watch a-b+c/d;e.f$g_h(i)\r\n',
  'ignore default\r\n',
  'peek 42\r\n',
  'peek-ready\r\n',
  'peek-delayed\r\n',
  'peek-buried\r\n',
  'kick 10\r\n',
  'kick-job 4\r\n',
  'stats\r\n',
  'stats-job 4\r\n',
  'stats-tube emails\r\n',
  'list-tubes\r\n',
  'list-tube-used\r\n',
  'list-tubes-watched\r\n',
  'pause-tube emails 30\r\n',
  'put 0 0 60 3\r\nabcde\r\n', // EXPECTED_CRLF, then an empty line
  'put 0 0 60 1500\r\n' + 'z'.repeat(1502), // JOB_TOO_BIG (maxJobSize 1000 below), body discarded
  'x'.repeat(300) + '\r\n', // overlong line
  'bogus\r\n',
  'put 0 0 60 1x\r\n', // BAD_FORMAT: the body line that follows is a command
  'quit\r\n',
].join('');

const EXPECTED = [
  { name: 'put', pri: 1, delay: 2, ttr: 3, body: 'he\r\nl' },
  { name: 'put', pri: 0, delay: 0, ttr: 60, body: '' },
  { name: 'put', pri: 4294967295, delay: 4294967295, ttr: 4294967295, body: '\x00\xff\n' },
  { name: 'use', tube: 'emails' },
  { name: 'reserve' },
  { name: 'reserve-with-timeout', timeout: 5 },
  { name: 'reserve-job', id: 7 },
  { name: 'delete', id: 0 },
  { name: 'release', id: 3, pri: 10, delay: 20 },
  { name: 'bury', id: 3, pri: 99 },
  { name: 'touch', id: 3 },
  { name: 'watch', tube: 'a-b+c/d;e.f$g_h(i)' },
  { name: 'ignore', tube: 'default' },
  { name: 'peek', id: 42 },
  { name: 'peek-ready' },
  { name: 'peek-delayed' },
  { name: 'peek-buried' },
  { name: 'kick', bound: 10 },
  { name: 'kick-job', id: 4 },
  { name: 'stats' },
  { name: 'stats-job', id: 4 },
  { name: 'stats-tube', tube: 'emails' },
  { name: 'list-tubes' },
  { name: 'list-tube-used' },
  { name: 'list-tubes-watched' },
  { name: 'pause-tube', tube: 'emails', delay: 30 },
  err('EXPECTED_CRLF'),
  err('UNKNOWN_COMMAND'),
  err('JOB_TOO_BIG'),
  err('BAD_FORMAT'),
  err('UNKNOWN_COMMAND'),
  err('BAD_FORMAT'),
  { name: 'quit' },
];

describe('Parser: any split of the input gives the same commands', () => {
  const stream = bytes(STREAM);
  const LIMIT = 1000;

  it('parses a pipelined stream in one chunk', () => {
    expect(plain(parseAll([stream], LIMIT))).toEqual(EXPECTED);
  });

  it('parses it byte by byte', () => {
    const chunks = Array.from({ length: stream.length }, (_, i) => stream.subarray(i, i + 1));
    expect(plain(parseAll(chunks, LIMIT))).toEqual(EXPECTED);
  });

  it('parses it split in two at every point', () => {
    for (let at = 0; at <= stream.length; at++) {
      const commands = parseAll([stream.subarray(0, at), stream.subarray(at)], LIMIT);
      if (JSON.stringify(plain(commands)) !== JSON.stringify(EXPECTED)) {
        expect.fail(`split at ${at} gave ${JSON.stringify(plain(commands)).slice(0, 500)}`);
      }
    }
  });

  it('parses it at random multi-way splits (property)', () => {
    fc.assert(
      fc.property(fc.array(fc.integer({ min: 1, max: 400 }), { minLength: 1, maxLength: 40 }), (sizes) => {
        const chunks: Uint8Array[] = [];
        let at = 0;
        let i = 0;
        while (at < stream.length) {
          const size = sizes[i++ % sizes.length];
          chunks.push(stream.subarray(at, at + size));
          at += size;
        }
        expect(plain(parseAll(chunks, LIMIT))).toEqual(EXPECTED);
      }),
      { numRuns: 200 },
    );
  });

  it('accepts Uint8Array chunks that are not Buffers', () => {
    expect(plain(parseAll([new Uint8Array(bytes('use x\r\n'))]))).toEqual([{ name: 'use', tube: 'x' }]);
  });
});

describe('Parser: command grammar (as the reference 1.12 reads it)', () => {
  it.each([
    ['put', 'UNKNOWN_COMMAND'],
    ['peek', 'UNKNOWN_COMMAND'],
    ['delete', 'UNKNOWN_COMMAND'],
    ['release', 'UNKNOWN_COMMAND'],
    ['bury', 'UNKNOWN_COMMAND'],
    ['kick', 'UNKNOWN_COMMAND'],
    ['kick-job', 'UNKNOWN_COMMAND'],
    ['touch', 'UNKNOWN_COMMAND'],
    ['use', 'UNKNOWN_COMMAND'],
    ['watch', 'UNKNOWN_COMMAND'],
    ['ignore', 'UNKNOWN_COMMAND'],
    ['', 'UNKNOWN_COMMAND'],
    ['PUT 0 0 1 1', 'UNKNOWN_COMMAND'],
    ['stats-job', 'BAD_FORMAT'],
    ['stats-tube', 'BAD_FORMAT'],
    ['reserve-with-timeout', 'BAD_FORMAT'],
    ['reserve-job', 'BAD_FORMAT'],
    ['pause-tube', 'BAD_FORMAT'],
    ['statsx', 'BAD_FORMAT'],
    ['reservex', 'BAD_FORMAT'],
    ['list-tubesx', 'BAD_FORMAT'],
    ['stats ', 'BAD_FORMAT'],
    ['peek-ready ', 'BAD_FORMAT'],
    ['stats\n', 'BAD_FORMAT'],
    ['stats\rstats', 'BAD_FORMAT'],
    ['put 4294967296 0 60 1', 'BAD_FORMAT'],
    ['put 0 4294967296 60 1', 'BAD_FORMAT'],
    ['put 0 0 4294967296 1', 'BAD_FORMAT'],
    ['put 0 0 60 4294967296', 'BAD_FORMAT'],
    ['put 0 0 60 99999999999999999999999999999999999', 'BAD_FORMAT'],
    ['put -1 0 60 1', 'BAD_FORMAT'],
    ['put +1 0 60 1', 'BAD_FORMAT'],
    ['put 0x1 0 60 1', 'BAD_FORMAT'],
    ['put 1.5 0 60 1', 'BAD_FORMAT'],
    ['put 0 0 60 1 ', 'BAD_FORMAT'],
    ['put 0 0 60', 'BAD_FORMAT'],
    ['put 0 0 60 1\x00', 'BAD_FORMAT'],
    ['peek 18446744073709551616', 'BAD_FORMAT'],
    ['peek 1 ', 'BAD_FORMAT'],
    ['peek x', 'BAD_FORMAT'],
    ['release 1 2', 'BAD_FORMAT'],
    ['release 1 2 3 ', 'BAD_FORMAT'],
    ['bury 1', 'BAD_FORMAT'],
    ['kick ', 'BAD_FORMAT'],
    ['kick x', 'BAD_FORMAT'],
    ['kick 99999999999999999999', 'BAD_FORMAT'],
    ['use ', 'BAD_FORMAT'],
    ['use  foo', 'BAD_FORMAT'],
    ['use foo ', 'BAD_FORMAT'],
    ['use -foo', 'BAD_FORMAT'],
    ['use a*b', 'BAD_FORMAT'],
    ['use a\x00b', 'BAD_FORMAT'],
    ['use ' + 'a'.repeat(201), 'BAD_FORMAT'],
    ['watch ' + 'a'.repeat(201), 'BAD_FORMAT'],
    ['stats-tube default ', 'BAD_FORMAT'],
    ['pause-tube default', 'BAD_FORMAT'],
    ['pause-tube default x', 'BAD_FORMAT'],
    ['pause-tube default 1 ', 'BAD_FORMAT'],
    ['pause-tube default 4294967296', 'BAD_FORMAT'],
    ['reserve-with-timeout 9223372036854775808', 'BAD_FORMAT'],
  ])('%j -> %s', (line, reply) => {
    expect(plain(parse(`${line}\r\n`))).toEqual([err(reply)]);
  });

  it('reads the reference quirks the same way', () => {
    expect(one('put  1 0  60  1\r\nA\r\n')).toMatchObject({ name: 'put', pri: 1, delay: 0, ttr: 60 });
    expect(one('peek  12\r\n')).toEqual({ name: 'peek', id: 12 });
    expect(one('delete 007\r\n')).toEqual({ name: 'delete', id: 7 });
    expect(one('quitx\r\n')).toEqual({ name: 'quit' });
    expect(one('pause-tubedefault 1\r\n')).toEqual({ name: 'pause-tube', tube: 'default', delay: 1 });
    expect(one('pause-tube   x 2\r\n')).toEqual({ name: 'pause-tube', tube: 'x', delay: 2 });
    // Spaces are skipped before the name, but the name itself is checked as use checks it.
    expect(one('pause-tube   -x 2\r\n')).toMatchObject({ name: 'error', reply: 'BAD_FORMAT' });
    expect(one(`pause-tube ${'p'.repeat(201)} 2\r\n`)).toMatchObject({ name: 'error', reply: 'BAD_FORMAT' });
    expect(one('use a-\r\n')).toEqual({ name: 'use', tube: 'a-' });
    expect(one('use ' + 'a'.repeat(200) + '\r\n')).toEqual({ name: 'use', tube: 'a'.repeat(200) });
    // reserve-with-timeout is strtol-lenient in 1.12.
    expect(one('reserve-with-timeout x\r\n')).toEqual({ name: 'reserve-with-timeout', timeout: 0 });
    expect(one('reserve-with-timeout 3x\r\n')).toEqual({ name: 'reserve-with-timeout', timeout: 3 });
    expect(one('reserve-with-timeout  +4\r\n')).toEqual({ name: 'reserve-with-timeout', timeout: 4 });
    expect(one('reserve-with-timeout -1\r\n')).toEqual({ name: 'reserve-with-timeout', timeout: Infinity });
    expect(one('reserve-with-timeout -0\r\n')).toEqual({ name: 'reserve-with-timeout', timeout: 0 });
    // kick is strtoul-lenient into an unsigned int.
    expect(one('kick 1x\r\n')).toEqual({ name: 'kick', bound: 1 });
    expect(one('kick 1 2\r\n')).toEqual({ name: 'kick', bound: 1 });
    expect(one('kick -1\r\n')).toEqual({ name: 'kick', bound: 4294967295 });
    expect(one('kick 4294967296\r\n')).toEqual({ name: 'kick', bound: 0 });
    expect(one('kick 0\r\n')).toEqual({ name: 'kick', bound: 0 });
  });

  it('reads ids up to u64 and maps ids no docket job can have to 0', () => {
    expect(one('peek 9007199254740991\r\n')).toEqual({ name: 'peek', id: 9007199254740991 });
    expect(one('peek 9007199254740993\r\n')).toEqual({ name: 'peek', id: 0 });
    expect(one('peek 18446744073709551615\r\n')).toEqual({ name: 'peek', id: 0 });
    expect(one('peek 000000000000000000000000000001\r\n')).toEqual({ name: 'peek', id: 1 });
  });
});

describe('Parser: limits and framing errors', () => {
  it('accepts a line of exactly 224 bytes and refuses 225 without swallowing the next line', () => {
    const ok = 'use ' + 'a'.repeat(200); // 204 bytes: under the limit
    expect(one(`${ok}\r\n`)).toEqual({ name: 'use', tube: 'a'.repeat(200) });
    expect(plain(parse('x'.repeat(222) + '\r\nstats\r\n'))).toEqual([err('UNKNOWN_COMMAND'), { name: 'stats' }]);
    expect(plain(parse('x'.repeat(223) + '\r\nstats\r\n'))).toEqual([err('BAD_FORMAT'), { name: 'stats' }]);
    // The CRLF of a 225-byte line straddling two chunks.
    expect(plain(parseAll([bytes('x'.repeat(223) + '\r'), bytes('\nstats\r\n')]))).toEqual([err('BAD_FORMAT'), { name: 'stats' }]);
  });

  it('discards an endless line without buffering it, then resyncs at CRLF', () => {
    const out: Command[] = [];
    const parser = new Parser((c) => out.push(c));
    for (let i = 0; i < 1000; i++) {
      parser.push(bytes('y'.repeat(1000)));
      expect(parser.buffered).toBeLessThanOrEqual(224);
    }
    expect(parser.state).toBe(ParserState.Discard);
    expect(parser.inProgress).toBe(true);
    parser.push(bytes('\r\nstats\r\n'));
    expect(plain(out)).toEqual([err('BAD_FORMAT'), { name: 'stats' }]);
    expect(parser.inProgress).toBe(false);
  });

  it('treats a bare LF and a lone CR as ordinary bytes of the line (no stall)', () => {
    expect(plain(parse('use a\nb\r\nstats\r\n'))).toEqual([err('BAD_FORMAT'), { name: 'stats' }]);
    expect(plain(parse('use a\rb\r\nstats\r\n'))).toEqual([err('BAD_FORMAT'), { name: 'stats' }]);
    expect(plain(parse('\n\n\r\nstats\r\n'))).toEqual([err('UNKNOWN_COMMAND'), { name: 'stats' }]);
  });

  it('accepts a body of exactly maxJobSize and discards a larger one as it arrives', () => {
    expect(parse(`put 0 0 1 10\r\n${'a'.repeat(10)}\r\n`, 10)[0]).toMatchObject({ name: 'put' });
    const out: Command[] = [];
    const parser = new Parser((c) => out.push(c), { maxJobSize: 10 });
    parser.push(bytes('put 0 0 1 1000000\r\n'));
    for (let i = 0; i < 1000; i++) {
      parser.push(bytes('b'.repeat(1000)));
      expect(parser.buffered).toBe(0);
    }
    expect(out).toEqual([]); // the reply waits for the whole body, as in the reference
    parser.push(bytes('\r\nstats\r\n'));
    expect(plain(out)).toEqual([err('JOB_TOO_BIG'), { name: 'stats' }]);
  });

  it('answers JOB_TOO_BIG before looking at trailing bytes, as the reference does', () => {
    expect(plain(parse('put 0 0 1 11x\r\n' + 'c'.repeat(11) + '\r\nstats\r\n', 10))).toEqual([err('JOB_TOO_BIG'), { name: 'stats' }]);
  });

  it('answers EXPECTED_CRLF when the body is not followed by CRLF and keeps in sync', () => {
    expect(plain(parse('put 0 0 1 2\r\nab\rX\r\nstats\r\n'))).toEqual([err('EXPECTED_CRLF'), err('UNKNOWN_COMMAND'), { name: 'stats' }]);
    expect(plain(parse('put 0 0 1 2\r\nabcd'))).toEqual([err('EXPECTED_CRLF')]);
  });

  it('leaves the body of a malformed put to be read as commands', () => {
    expect(plain(parse('put 0 0 1\r\nstats\r\n'))).toEqual([err('BAD_FORMAT'), { name: 'stats' }]);
  });

  it('never holds more than one line or one bounded body (property)', () => {
    fc.assert(
      fc.property(fc.array(fc.uint8Array({ maxLength: 600 }), { maxLength: 30 }), (chunks) => {
        const parser = new Parser(() => {}, { maxJobSize: 1000 });
        for (const chunk of chunks) {
          parser.push(chunk);
          expect(parser.buffered).toBeLessThanOrEqual(1002);
        }
      }),
      { numRuns: 2000 },
    );
  });

  it('gives the same commands for garbage at every split (property)', () => {
    const alphabet = [
      'put 0 0 1 3\r\n',
      'abc',
      '\r\n',
      '\r',
      '\n',
      ' ',
      '1',
      'use ',
      'reserve',
      '\x00',
      'x'.repeat(120),
      'put 0 0 1 2000\r\n',
      'kick -9',
      '99999999999999999999',
    ];
    fc.assert(
      fc.property(fc.array(fc.constantFrom(...alphabet), { maxLength: 40 }), fc.nat(), (parts, seed) => {
        const input = bytes(parts.join(''));
        const whole = plain(parseAll([input], 1000));
        const at = input.length === 0 ? 0 : seed % input.length;
        expect(plain(parseAll([input.subarray(0, at), input.subarray(at)], 1000))).toEqual(whole);
      }),
      { numRuns: 3000 },
    );
  });
});
