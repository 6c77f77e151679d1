import { describe, expect, it } from 'vitest';
import { CrashLedger, type ChildLine } from './helpers/crash-ledger.js';

// The kill -9 test is only as good as its ledger: these feed it the lines of rounds whose
// verdict is known, among them the interleaving a loaded machine produces about every other
// run (a job added, reserved and acked while a compaction held writes, then killed, and its
// id given to a new job by the next process).

function run(ledger: CrashLedger, round: number, lines: ChildLine[]): void {
  for (const line of lines) ledger.operation(line, round);
}

const clean = { lost: [], resurrected: [], phantom: [], moved: [] };

describe('the kill -9 ledger', () => {
  it.each([
    {
      title: 'takes a new job under the id of one that was never stored for a reused id, not for the acked one come back',
      id: 2,
      moved: ['new job 1.0 took id 2 of 0.1 (round 1)'],
    },
    { title: 'has nothing to say about a job whose in-flight ack went through before its put was stored', id: 70_000, moved: [] },
  ])('$title', ({ id, moved }) => {
    const ledger = new CrashLedger();
    ledger.restored([], 0);
    run(ledger, 0, [{ s: '0.0' }, { a: '0.0', id: 1 }, { s: '0.1' }, { r: 2, key: '0.1' }]);
    // Killed: the put of 0.1 (id 2) never reached the file, its ack was in flight. The next
    // process gives its new job id 2 again, or an id above the ones reserved ahead.
    ledger.restored([[1, '0.0']], 1);
    run(ledger, 1, [{ s: '1.0' }, { a: '1.0', id }]);
    ledger.restored(
      [
        [1, '0.0'],
        [id, '1.0'],
      ],
      2,
    );
    expect(ledger.findings).toEqual({ ...clean, moved });
  });

  it.each([
    { title: 'finds an acknowledged ack whose job comes back, also after restarts', acked: [{ k: 1 }] },
    { title: 'finds a job whose in-flight ack went through coming back later', acked: [] },
  ])('$title', ({ acked }) => {
    const ledger = new CrashLedger();
    ledger.restored([], 0);
    run(ledger, 0, [{ s: '0.0' }, { a: '0.0', id: 1 }, { r: 1, key: '0.0' }, ...acked]);
    ledger.restored([], 1);
    ledger.restored([[1, '0.0']], 2);
    expect(ledger.findings.resurrected).toEqual(['0.0 (id 1, round 2)']);
  });

  it('finds an acknowledged add lost, a phantom, and ids that move', () => {
    const ledger = new CrashLedger();
    ledger.restored([], 0);
    run(ledger, 0, [{ s: '0.0' }, { a: '0.0', id: 1 }, { s: '0.1' }, { a: '0.1', id: 2 }, { s: '0.2' }, { a: '0.2', id: 3 }]);
    ledger.restored(
      [
        [2, '0.2'],
        [7, 'never added'],
      ],
      1,
    );
    run(ledger, 1, [{ s: '1.0' }, { a: '1.0', id: 3 }]);
    expect(ledger.findings).toEqual({
      lost: ['0.0 (id 1, round 1)', '0.1 (id 2, round 1)', '0.2 (id 3, round 1)'],
      resurrected: [],
      phantom: ['never added (id 7, round 1)'],
      moved: ['id 2 was 0.1, now 0.2 (round 1)', '0.2 was id 3, now 2 (round 1)', 'new job 1.0 took id 3 of 0.2 (round 1)'],
    });
  });

  it('keeps an ack that resolved before its add as acked', () => {
    const ledger = new CrashLedger();
    ledger.restored([], 0);
    run(ledger, 0, [{ s: '0.0' }, { r: 1, key: '0.0' }, { k: 1 }, { a: '0.0', id: 1 }]);
    ledger.restored([], 1);
    expect(ledger.findings).toEqual(clean);
  });
});
