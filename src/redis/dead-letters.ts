import type { Codec } from '../codec.js';
import type { DeadLetterActions } from '../contract.js';
import { InvalidOptionError } from '../errors.js';
import { checkInteger } from '../options.js';
import { parseJob, type RedisJobInfo } from './replies.js';

type Run = (args: string[]) => Promise<unknown>;

/** Dead letters per script call, when acting on all of them (each call is atomic; the batches are not). */
const BATCH = 1000;

/**
 * The queue's dead letters in Redis: buried jobs, each with its payload, its reason and
 * every attempt's error, oldest first.
 * @typeParam T - the payload type
 */
export class RedisDeadLetters<T> implements DeadLetterActions {
  /** @internal */
  constructor(
    private readonly manage: Run,
    private readonly inspect: Run,
    private readonly codec: Codec<T>,
  ) {}

  /** Dead letters, oldest first: `limit` of them from `offset`. @defaultValue all */
  async list(options: { offset?: number; limit?: number } = {}): Promise<RedisJobInfo<T>[]> {
    const offset = checkInteger('offset', options.offset ?? 0, 0, Number.MAX_SAFE_INTEGER);
    const limit = checkInteger('limit', options.limit ?? Infinity, 0, Infinity);
    const jobs: RedisJobInfo<T>[] = [];
    while (jobs.length < limit) {
      const page = Math.min(BATCH, limit - jobs.length);
      const replies = (await this.inspect(['buried', String(offset + jobs.length), String(page)])) as unknown[];
      for (const reply of replies) {
        const job = parseJob(reply, this.codec);
        if (job !== undefined) jobs.push(job);
      }
      if (replies.length < page) break;
    }
    return jobs;
  }

  /** Puts dead letters back to work (ready, with a fresh attempt budget), all or those with these ids. Resolves how many moved. */
  redrive(ids?: Iterable<number>): Promise<number> {
    return this.each('redrive', ids);
  }

  /** Deletes dead letters for good, all or those with these ids. Resolves how many. */
  purge(ids?: Iterable<number>): Promise<number> {
    return this.each('purge', ids);
  }

  private async each(operation: 'redrive' | 'purge', ids: Iterable<number> | undefined): Promise<number> {
    if (ids !== undefined) {
      const list = [...ids].map((id) => {
        if (!Number.isSafeInteger(id) || id < 1) throw new InvalidOptionError(`Expected \`id\` to be a positive integer, got \`${String(id)}\``);
        return String(id);
      });
      let count = 0;
      for (let at = 0; at < list.length; at += BATCH) {
        const batch = list.slice(at, at + BATCH);
        count += Number(await this.manage([operation, String(batch.length), ...batch]));
      }
      return count;
    }
    let count = 0;
    for (;;) {
      const moved = Number(await this.manage([operation, '0']));
      count += moved;
      if (moved < BATCH) return count;
    }
  }
}
