import { describe, expect, it } from 'vitest';
import { InvalidOptionError, Queue } from '../src/index.js';

describe('queue options are validated at construction', () => {
  const bad: Array<[string, object, RegExp]> = [
    ['concurrency 0', { concurrency: 0 }, /`concurrency`.*got `0`/],
    ['concurrency 1.5', { concurrency: 1.5 }, /`concurrency`.*got `1.5`/],
    ['attempts 0', { retry: { attempts: 0 } }, /`retry.attempts`.*got `0`/],
    ['negative ttr', { ttr: -1 }, /`ttr`.*got `-1`/],
    ['NaN timeout', { timeout: NaN }, /`timeout`.*got `NaN`/],
    ['maxSize 0', { maxSize: 0 }, /`maxSize`.*got `0`/],
    ['unknown onFull', { onFull: 'drop' }, /`onFull`.*got `"drop"`/],
    ['backoff type', { retry: { backoff: { type: 'cubic', delay: 1 } } }, /`retry.backoff.type`.*got `"cubic"`/],
    ['negative backoff', { retry: { backoff: -5 } }, /`retry.backoff`.*got `-5`/],
    ['retryIf not a function', { retry: { retryIf: 3 } }, /`retry.retryIf`.*got `3`/],
    ['empty name', { name: '' }, /`name`.*got `""`/],
  ];
  for (const [label, options, message] of bad) {
    it(`rejects ${label}, naming the option and echoing the value`, () => {
      expect(() => new Queue(options as never)).toThrow(InvalidOptionError);
      expect(() => new Queue(options as never)).toThrow(message);
    });
  }

  it('accepts Infinity attempts and the documented defaults', () => {
    const q = new Queue({ retry: { attempts: Infinity } });
    expect(q.stats().concurrency).toBe(1);
    expect(q.name).toBe('default');
  });

  it('validates concurrency set at run time', () => {
    const q = new Queue();
    expect(() => (q.concurrency = 0)).toThrow(/`concurrency`.*got `0`/);
    q.concurrency = 4;
    expect(q.concurrency).toBe(4);
  });
});

describe('job options are validated at add', () => {
  const bad: Array<[string, object, RegExp]> = [
    ['negative priority', { priority: -1 }, /`priority`.*got `-1`/],
    ['priority above 2^32-1', { priority: 2 ** 32 }, /`priority`.*got `4294967296`/],
    ['fractional priority', { priority: 1.5 }, /`priority`/],
    ['NaN delay', { delay: NaN }, /`delay`.*got `NaN`/],
    ['negative delay', { delay: -1 }, /`delay`/],
    ['attempts 0', { attempts: 0 }, /`attempts`.*got `0`/],
    ['ttr 0', { ttr: 0 }, /`ttr`/],
    ['empty dedupe id', { id: '' }, /`id`/],
  ];
  for (const [label, options, message] of bad) {
    it(`rejects ${label} and adds nothing`, async () => {
      const q = new Queue();
      await expect(q.add('x', options)).rejects.toThrow(InvalidOptionError);
      await expect(q.add('x', options)).rejects.toThrow(message);
      expect(q.stats().total).toBe(0);
    });
  }

  it('checks every item of addBulk before adding any', async () => {
    const q = new Queue<number>();
    await expect(q.addBulk([{ data: 1 }, { data: 2, options: { priority: -3 } }])).rejects.toThrow(/`priority`/);
    expect(q.stats().total).toBe(0);
  });

  it('accepts the full u32 priority range', async () => {
    const q = new Queue();
    await q.add('low', { priority: 0 });
    await q.add('high', { priority: 2 ** 32 - 1 });
    expect(q.size).toBe(2);
  });
});
