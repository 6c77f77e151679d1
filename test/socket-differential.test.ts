/**
 * Differential test: the same random command sequences, one command at a time, against
 * docket and the reference beanstalkd 1.12; every reply must match (job ids are compared
 * by order of creation, so each server may number its jobs its own way).
 */
import { describe, expect, it } from 'vitest';
import { serve, type SocketServer } from '../src/socket/server/server.js';
import { requireBeanstalkd, type RunningBeanstalkd, startBeanstalkd } from './helpers/beanstalkd.js';
import { RawConnection } from './helpers/raw-connection.js';
import { seededRandom } from './helpers/random.js';

/** A command with `#k` standing for the k-th job created (translated per server). */
type Step = { line: string; body?: string; conn: number };

function script(seed: number, length: number): Step[] {
  const random = seededRandom(seed);
  const int = (n: number) => Math.floor(random() * n);
  const pick = <T>(items: readonly T[]): T => items[int(items.length)];
  const tubes = ['default', 't1', 't2'];
  const steps: Step[] = [];
  let jobs = 0;
  const job = () => (jobs === 0 || random() < 0.1 ? '99999' : `#${int(jobs)}`);
  for (let i = 0; i < length; i++) {
    const conn = int(2);
    const pri = pick(['0', '5', '1024', '4294967295']);
    switch (int(20)) {
      case 0:
      case 1:
      case 2: {
        const body = pick(['a', '', 'hello\r\nworld', 'x'.repeat(int(100))]);
        // TTRs no script outlives: the two servers run a script at different times, so a
        // lease running out mid-script would land at different steps (ttr 0 raised to 1 s,
        // expiry and DEADLINE_SOON are the protocol suite's, on both servers).
        steps.push({ line: `put ${pri} ${pick(['0', '0', '100'])} ${pick(['30', '60', '3600'])} ${body.length}`, body, conn });
        jobs++;
        break;
      }
      case 3:
        steps.push({ line: `use ${pick(tubes)}`, conn });
        break;
      case 4:
        steps.push({ line: `watch ${pick(tubes)}`, conn });
        break;
      case 5:
        steps.push({ line: `ignore ${pick(tubes)}`, conn });
        break;
      case 6:
        steps.push({ line: 'reserve-with-timeout 0', conn });
        break;
      case 7:
        steps.push({ line: `reserve-job ${job()}`, conn });
        break;
      case 8:
        steps.push({ line: `delete ${job()}`, conn });
        break;
      case 9:
        steps.push({ line: `release ${job()} ${pri} ${pick(['0', '100'])}`, conn });
        break;
      case 10:
        steps.push({ line: `bury ${job()} ${pri}`, conn });
        break;
      case 11:
        steps.push({ line: `touch ${job()}`, conn });
        break;
      case 12:
        steps.push({ line: `peek ${job()}`, conn });
        break;
      case 13:
        steps.push({ line: pick(['peek-ready', 'peek-delayed', 'peek-buried']), conn });
        break;
      case 14:
        steps.push({ line: `kick ${pick(['0', '1', '5', '1x'])}`, conn });
        break;
      case 15:
        steps.push({ line: `kick-job ${job()}`, conn });
        break;
      case 16:
        steps.push({ line: `stats-job ${job()}`, conn });
        break;
      case 17:
        steps.push({ line: `stats-tube ${pick(tubes)}`, conn });
        break;
      case 18:
        steps.push({ line: pick(['list-tube-used', 'list-tubes-watched', 'list-tubes']), conn });
        break;
      default: {
        const odd = [
          'bogus',
          'put 1',
          'stats-job',
          'use -x',
          'peek x',
          'release 1 2',
          'kick -1',
          'kick 4294967296',
          'reserve-with-timeout x',
          'reserve-with-timeout -0',
          'stats-tube default ',
          `use ${'u'.repeat(200)}`,
          `watch ${'w'.repeat(201)}`,
          'ignore default',
          'pause-tube nope 1',
          'pause-tube',
          'pause-tube -x 0',
          `pause-tube ${'p'.repeat(201)} 1`,
          'use a*b',
          'watch a b',
          'reservex',
          'list-tubesx',
          'peek 18446744073709551616',
          'delete 0',
          'x'.repeat(230),
        ];
        steps.push({ line: pick(odd), conn });
      }
    }
  }
  return steps;
}

/** Runs a script; returns each reply with ids replaced by creation indexes. */
async function run(port: number, steps: Step[]): Promise<string[]> {
  const conns = [await RawConnection.open(port), await RawConnection.open(port)];
  const ids: number[] = [];
  const toIndex = (id: string) => {
    const at = ids.indexOf(Number(id));
    return at === -1 ? `?${id}` : `#${at}`;
  };
  const out: string[] = [];
  try {
    for (const step of steps) {
      const line = step.line.replace(/#(\d+)/, (_, k: string) => String(ids[Number(k)]));
      const reply = await conns[step.conn].request(line, step.body);
      const inserted = /^INSERTED (\d+)$/.exec(reply.line);
      if (inserted !== null) ids.push(Number(inserted[1]));
      let text = reply.line.replace(/^(INSERTED|RESERVED|FOUND) (\d+)/, (_, word: string, id: string) => `${word} ${toIndex(id)}`);
      if (reply.data !== undefined) {
        let data = reply.data.toString('latin1');
        if (line.startsWith('stats-job')) {
          // Keep the reference keys; ids by index; age and time-left are wall-clock.
          data = data
            .split('\n')
            .filter((row) => !row.startsWith('docket-') && !row.startsWith('age:') && !row.startsWith('time-left:'))
            .map((row) => (row.startsWith('id: ') ? `id: ${toIndex(row.slice(4))}` : row))
            .join('\n');
          text = 'OK';
        } else if (line.startsWith('list-tubes')) {
          data = [...data.split('\n')].sort().join('\n');
          text = 'OK';
        } else if (text.startsWith('OK')) {
          text = 'OK';
        }
        text += ` ${JSON.stringify(data)}`;
      }
      out.push(`${step.conn}> ${step.line} => ${text}`);
    }
  } finally {
    for (const c of conns) c.close();
  }
  return out;
}

/** Runs `steps` on a fresh beanstalkd and a fresh docket server, so no script sees another's state. */
async function expectSameReplies(steps: Step[]): Promise<void> {
  let reference: RunningBeanstalkd | undefined;
  let docket: SocketServer | undefined;
  try {
    reference = await startBeanstalkd();
    docket = await serve({ port: 0 });
    const expected = await run(reference.port, steps);
    const actual = await run(docket.port, steps);
    for (let i = 0; i < expected.length; i++) {
      if (actual[i] !== expected[i]) {
        expect.fail(
          `step ${i} differs\n  beanstalkd: ${expected[i]}\n  docket:     ${actual[i]}\n  before: ${expected.slice(Math.max(0, i - 8), i).join('\n          ')}`,
        );
      }
    }
  } finally {
    await reference?.stop();
    await docket?.close();
  }
}

/**
 * Every command that takes a tube name, given names beanstalkd 1.12 refuses (too long, a
 * leading `-`, bytes outside its alphabet, surrounding spaces) and the longest it accepts.
 */
function tubeNameScript(): Step[] {
  const names = ['t'.repeat(200), 't'.repeat(201), '-x', '-', 'a*b', 'a b', 'ab ', ' ab', 'a\tb', 'caf\u00e9', '', 'a-b+c/d;e.f$g_h(i)', 'nosuch'];
  const steps: Step[] = [];
  for (const name of names) {
    steps.push(
      { line: `use ${name}`, conn: 0 },
      { line: `watch ${name}`, conn: 1 },
      { line: `stats-tube ${name}`, conn: 0 },
      { line: `pause-tube ${name} 0`, conn: 0 },
      { line: `pause-tube  ${name} 0`, conn: 1 },
      { line: `pause-tube ${name}`, conn: 1 },
      { line: `ignore ${name}`, conn: 1 },
      { line: 'list-tube-used', conn: 0 },
      { line: 'list-tubes-watched', conn: 1 },
      { line: 'list-tubes', conn: 0 },
    );
  }
  return steps;
}

describe.skipIf(!requireBeanstalkd('the differential test against a real beanstalkd'))('docket answers like beanstalkd 1.12 (differential)', () => {
  it('tube names: every command that takes one refuses the same names', async () => {
    await expectSameReplies(tubeNameScript());
  });

  it.each(Array.from({ length: 30 }, (_, i) => i + 1))('random script %i (400 commands on 2 connections)', async (seed) => {
    await expectSameReplies(script(seed, 400));
  });
});
