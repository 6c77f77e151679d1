// Runs inside a worker thread: the default export gets each job's data and a context.
// CPU-heavy work here never blocks the main thread's event loop.
import { createHash } from 'node:crypto';
import { UnrecoverableError } from 'docket';
import type { WorkerHandler } from 'docket/threads';

export interface HashJob {
  text: string;
  rounds: number;
}

const hash: WorkerHandler<HashJob, string> = ({ text, rounds }, ctx) => {
  if (rounds < 1) throw new UnrecoverableError(`rounds must be >= 1, got ${rounds}`); // no retry helps
  let digest = Buffer.from(text);
  for (let i = 1; i <= rounds; i++) {
    digest = createHash('sha256').update(digest).digest();
    if (i % 10_000 === 0) {
      if (ctx.signal.aborted) throw ctx.signal.reason; // timed out: stop early, keep the thread
      ctx.progress(i / rounds);
    }
  }
  return digest.toString('hex');
};

export default hash;
