import type { DeadLetterActions } from '../../contract.js';
import { InvalidOptionError, QueueClosedError } from '../../errors.js';
import type { ClientConnection, Interpret } from './connection.js';
import { replyError, toJobStats } from './remote-job.js';
import { interpretFound, interpretPeek, interpretStatsTube } from './types.js';
import { parseYamlMap } from './yaml-reader.js';
import { ReplyCode } from './reply-parser.js';

// The tube-wide members of the remote queue (pause, idle, dead letters), built from the
// protocol's commands on the producer connection: the protocol has no command for any of
// them as such.

/** The longest `pause-tube` the protocol carries: u32 seconds (about 136 years), "until resumed". */
const PAUSE_FOREVER = 2 ** 32 - 1;

/** How often `onIdle` asks the server: the protocol cannot notify a client. */
const IDLE_POLL_MS = 50;

const interpretPause: Interpret<void> = (code, _value, _data, _context, error) => {
  if (code !== ReplyCode.Paused) throw replyError(code, 'pause-tube', error);
};

const interpretJobState: Interpret<string | undefined> = (code, _value, data, _context, error) => {
  if (code === ReplyCode.NotFound) return undefined;
  if (code !== ReplyCode.Ok || data === undefined) throw replyError(code, 'stats-job', error);
  return toJobStats(parseYamlMap(data)).state;
};

/** @internal */
export class RemoteTube {
  constructor(
    private readonly conn: ClientConnection,
    private readonly tube: string,
    private readonly isClosed: () => boolean,
  ) {}

  /** `pause-tube` for as long as the protocol allows; `resume` ends it. */
  pause(): Promise<void> {
    return this.pauseFor(PAUSE_FOREVER);
  }

  resume(): Promise<void> {
    return this.pauseFor(0);
  }

  /** Polls `stats-tube` until nothing is ready, delayed or reserved in the tube. */
  async onIdle(): Promise<void> {
    for (;;) {
      if (this.isClosed()) throw new QueueClosedError(`onIdle: the remote queue ${this.tube} is closed`);
      this.conn.text('stats-tube ').text(this.tube).end();
      const map = await this.conn.expect(interpretStatsTube);
      const busy = ['current-jobs-ready', 'current-jobs-delayed', 'current-jobs-reserved'].some((key) => Number(map?.get(key) ?? 0) > 0);
      if (!busy) return;
      await new Promise((resolve) => setTimeout(resolve, IDLE_POLL_MS));
    }
  }

  /** Dead letters are the tube's buried jobs: kicked to redrive them, deleted to purge them. */
  readonly deadLetters: DeadLetterActions = {
    redrive: (ids) => this.eachBuried(ids, 'kick-job ', ReplyCode.Kicked),
    purge: (ids) => this.eachBuried(ids, 'delete ', ReplyCode.Deleted),
  };

  private pauseFor(seconds: number): Promise<void> {
    this.conn.text('pause-tube ').text(this.tube).text(' ').num(seconds).end();
    return this.conn.expect(interpretPause);
  }

  /**
   * Applies `command` to the given buried jobs (others are skipped), or to every buried
   * job of the tube, oldest first (peek-buried until none is left).
   */
  private async eachBuried(ids: Iterable<number> | undefined, command: string, success: number): Promise<number> {
    let count = 0;
    if (ids !== undefined) {
      for (const id of [...ids]) {
        if (!Number.isSafeInteger(id) || id < 1) throw new InvalidOptionError(`Expected \`id\` to be a positive integer, got \`${String(id)}\``);
        this.conn.text('stats-job ').num(id).end();
        if ((await this.conn.expect(interpretJobState)) !== 'buried') continue;
        if (await this.apply(command, id, success)) count++;
      }
      return count;
    }
    for (;;) {
      this.conn.text('peek-buried').end();
      const found = await this.conn.expect(interpretPeek);
      if (found === undefined) return count;
      if (await this.apply(command, found.id, success)) count++;
    }
  }

  private apply(command: string, id: number, success: number): Promise<boolean> {
    this.conn.text(command).num(id).end();
    return this.conn.expect(interpretFound, success);
  }
}
