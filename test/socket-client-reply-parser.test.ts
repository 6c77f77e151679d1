import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { REPLY_NAMES, ReplyCode, ReplyParser, ReplySyntaxError } from '../src/socket/client/reply-parser.js';

type Parsed = [string, number, string | undefined];

function collect(): { parser: ReplyParser; replies: Parsed[] } {
  const replies: Parsed[] = [];
  const parser = new ReplyParser({
    reply(code, value, data) {
      // Copy: data is a view into the pushed bytes.
      replies.push([REPLY_NAMES[code], value, data === undefined ? undefined : Buffer.from(data).toString('latin1')]);
    },
  });
  return { parser, replies };
}

const stream = Buffer.from(
  [
    'INSERTED 1\r\n',
    'BURIED 9\r\n',
    'BURIED\r\n',
    'USING my-tube\r\n',
    'RESERVED 42 7\r\nab\r\ncd\n\r\n',
    'RESERVED 43 0\r\n\r\n',
    'DEADLINE_SOON\r\n',
    'TIMED_OUT\r\n',
    'DELETED\r\n',
    'NOT_FOUND\r\n',
    'RELEASED\r\n',
    'TOUCHED\r\n',
    'WATCHING 2\r\n',
    'NOT_IGNORED\r\n',
    'FOUND 18446744 3\r\nxyz\r\n',
    'KICKED 5\r\n',
    'KICKED\r\n',
    'OK 15\r\n---\nid: 1\nx: y\n\r\n',
    'PAUSED\r\n',
    'EXPECTED_CRLF\r\n',
    'JOB_TOO_BIG\r\n',
    'DRAINING\r\n',
    'BAD_FORMAT\r\n',
    'OUT_OF_MEMORY\r\n',
    'INTERNAL_ERROR\r\n',
    'UNKNOWN_COMMAND\r\n',
  ].join(''),
  'latin1',
);

const expected: Parsed[] = [
  ['INSERTED', 1, undefined],
  ['BURIED', 9, undefined],
  ['BURIED', -1, undefined],
  ['USING', -1, 'my-tube'],
  ['RESERVED', 42, 'ab\r\ncd\n'],
  ['RESERVED', 43, ''],
  ['DEADLINE_SOON', -1, undefined],
  ['TIMED_OUT', -1, undefined],
  ['DELETED', -1, undefined],
  ['NOT_FOUND', -1, undefined],
  ['RELEASED', -1, undefined],
  ['TOUCHED', -1, undefined],
  ['WATCHING', 2, undefined],
  ['NOT_IGNORED', -1, undefined],
  ['FOUND', 18446744, 'xyz'],
  ['KICKED', 5, undefined],
  ['KICKED', -1, undefined],
  ['OK', 15, '---\nid: 1\nx: y\n'],
  ['PAUSED', -1, undefined],
  ['EXPECTED_CRLF', -1, undefined],
  ['JOB_TOO_BIG', -1, undefined],
  ['DRAINING', -1, undefined],
  ['BAD_FORMAT', -1, undefined],
  ['OUT_OF_MEMORY', -1, undefined],
  ['INTERNAL_ERROR', -1, undefined],
  ['UNKNOWN_COMMAND', -1, undefined],
];

describe('reply parser', () => {
  it('parses every beanstalkd reply in one chunk', () => {
    const { parser, replies } = collect();
    parser.push(stream);
    expect(replies).toEqual(expected);
    expect(parser.isIdle).toBe(true);
  });

  it('gives the same replies byte by byte', () => {
    const { parser, replies } = collect();
    for (let i = 0; i < stream.length; i++) parser.push(stream.subarray(i, i + 1));
    expect(replies).toEqual(expected);
  });

  it('gives the same replies at every split point', () => {
    for (let split = 1; split < stream.length; split++) {
      const { parser, replies } = collect();
      parser.push(stream.subarray(0, split));
      parser.push(stream.subarray(split));
      expect(replies, `split at ${split}`).toEqual(expected);
    }
  });

  it('gives the same replies for any chunking (property)', () => {
    fc.assert(
      fc.property(fc.array(fc.integer({ min: 1, max: stream.length }), { maxLength: 40 }), (cuts) => {
        const points = [...new Set(cuts)].sort((a, b) => a - b);
        const { parser, replies } = collect();
        let from = 0;
        for (const point of [...points, stream.length]) {
          parser.push(stream.subarray(from, point));
          from = point;
        }
        expect(replies).toEqual(expected);
        expect(parser.isIdle).toBe(true);
      }),
      { numRuns: 300 },
    );
  });

  it('joins a large body that arrives in many reads', () => {
    const body = Buffer.alloc(200_000, 0x61);
    const bytes = Buffer.concat([Buffer.from(`RESERVED 1 ${body.length}\r\n`), body, Buffer.from('\r\nDELETED\r\n')]);
    const { parser, replies } = collect();
    for (let i = 0; i < bytes.length; i += 1000) parser.push(bytes.subarray(i, i + 1000));
    expect(replies).toHaveLength(2);
    expect(replies[0][2]?.length).toBe(body.length);
    expect(replies[1][0]).toBe('DELETED');
  });

  it.each([
    ['an unknown word', 'HELLO\r\n'],
    ['a lowercase word', 'inserted 1\r\n'],
    ['a missing argument', 'INSERTED\r\n'],
    ['a non-numeric id', 'INSERTED x\r\n'],
    ['a trailing argument', 'DELETED 1\r\n'],
    ['a bare LF', 'DELETED\n'],
    ['a missing data length', 'RESERVED 1\r\n'],
    ['a data block without CRLF', 'RESERVED 1 2\r\nabcd'],
    ['an endless line', 'X'.repeat(400)],
    ['a number past 2^53', 'INSERTED 123456789012345678901\r\n'],
  ])('throws ReplySyntaxError on %s', (_name, input) => {
    const { parser } = collect();
    expect(() => parser.push(Buffer.from(input, 'latin1'))).toThrow(ReplySyntaxError);
  });

  it('refuses a data block over its limit before buffering it', () => {
    const parser = new ReplyParser({ reply() {} }, { maxData: 10 });
    expect(() => parser.push(Buffer.from('OK 11\r\n'))).toThrow(/exceeds the limit/);
  });

  it('exposes reply codes as a const object', () => {
    expect(ReplyCode.Reserved).toBe(11);
    expect(REPLY_NAMES[ReplyCode.Reserved]).toBe('RESERVED');
  });
});
