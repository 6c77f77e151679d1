import { afterEach, describe, expect, it } from 'vitest';
import { InvalidOptionError } from '../src/errors.js';
import { Queue } from '../src/queue.js';

let q: Queue<string>;
afterEach(() => q.close({ timeout: 0 }));

describe('Queue.listJobs', () => {
  it('pages the jobs of one state in id order', async () => {
    q = new Queue<string>({ retry: { attempts: 1 } });
    const ids = [];
    for (let i = 0; i < 7; i++) ids.push((await q.add(String(i), { delay: i % 2 === 0 ? 0 : 60_000 })).id);
    expect(q.listJobs('ready').map((j) => j.id)).toEqual([ids[0], ids[2], ids[4], ids[6]]);
    expect(q.listJobs('ready', { offset: 1, limit: 2 }).map((j) => j.id)).toEqual([ids[2], ids[4]]);
    expect(q.listJobs('delayed', { offset: 2 }).map((j) => j.id)).toEqual([ids[5]]);
    expect(q.listJobs('ready', { limit: 0 })).toEqual([]);
    const lease = await q.reserve({ timeout: 0 });
    expect(q.listJobs('reserved').map((j) => j.id)).toEqual([ids[0]]);
    await lease?.fail(new Error('x'));
    expect(q.listJobs('buried').map((j) => j.id)).toEqual([ids[0]]);
  });

  it('refuses a negative or fractional range, naming it', () => {
    q = new Queue<string>();
    expect(() => q.listJobs('ready', { offset: -1 })).toThrow(InvalidOptionError);
    expect(() => q.listJobs('ready', { limit: 1.5 })).toThrow(/limit/);
  });
});
