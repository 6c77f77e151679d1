import { describe, expect, it } from 'vitest';
import {
  DocketError,
  ErrorCode,
  LeaseExpiredError,
  QueueClosedError,
  RateLimitError,
  UnrecoverableError,
  WorkerCrashedError,
  deserializeError,
  serializeError,
} from '../src/index.js';
import { toError } from '../src/errors.js';

describe('errors', () => {
  it('carry a stable code, their class name and a cause', () => {
    const cause = new Error('disk');
    const error = new QueueClosedError('closed', { cause });
    expect(error).toBeInstanceOf(DocketError);
    expect(error).toBeInstanceOf(QueueClosedError);
    expect(error).not.toBeInstanceOf(LeaseExpiredError);
    expect(error.code).toBe(ErrorCode.QueueClosed);
    expect(error.name).toBe('QueueClosedError');
    expect(error.cause).toBe(cause);
  });

  it('subclasses of UnrecoverableError stay unrecoverable', () => {
    class PaymentDeclined extends UnrecoverableError {}
    const error = new PaymentDeclined('declined');
    expect(error).toBeInstanceOf(UnrecoverableError);
    expect(error.code).toBe(ErrorCode.Unrecoverable);
  });

  it('round-trip through their serialized form as the same class', () => {
    const original = new UnrecoverableError('bad input');
    const copy = deserializeError(structuredClone(serializeError(original)));
    expect(copy).toBeInstanceOf(UnrecoverableError);
    expect(copy.message).toBe('bad input');
    expect(copy.stack).toBe(original.stack);
    expect(deserializeError(serializeError(new WorkerCrashedError('gone')))).toBeInstanceOf(WorkerCrashedError);
  });

  it('a RateLimitError round-trips with its delay and scope, so that it still holds its group or queue', () => {
    for (const original of [new RateLimitError(250), new RateLimitError(0, { scope: 'queue' })]) {
      const copy = deserializeError(structuredClone(serializeError(original)));
      expect(copy).toBeInstanceOf(RateLimitError);
      expect(copy).toMatchObject({ delay: original.delay, scope: original.scope, message: original.message, stack: original.stack });
    }
  });

  it('keep name, message, stack and code of foreign errors', () => {
    const original = Object.assign(new TypeError('nope'), { code: 'E_NOPE' });
    const copy = deserializeError(serializeError(original));
    expect(copy.name).toBe('TypeError');
    expect(copy.message).toBe('nope');
    expect((copy as Error & { code?: string }).code).toBe('E_NOPE');
    expect(copy).not.toBeInstanceOf(DocketError);
  });

  it('wrap non-Error throwables with the value as cause', () => {
    const error = toError({ reason: 'x' });
    expect(error.message).toContain('{"reason":"x"}');
    expect(error.cause).toEqual({ reason: 'x' });
    expect(toError(undefined).message).toContain('undefined');
    const circular: Record<string, unknown> = {};
    circular.self = circular;
    expect(toError(circular).message).toContain('[object Object]');
  });
});
