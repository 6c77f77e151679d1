import type { ChildProcess } from 'node:child_process';

/** Whether a spawned server has gone, and a promise for when it goes (exit, or a spawn error). */
export interface ChildExit {
  readonly exited: boolean;
  readonly done: Promise<void>;
}

/** Watches a spawned child from the moment it is spawned, so an early exit is never missed. */
export function watchExit(child: ChildProcess): ChildExit {
  const state = { exited: false, done: Promise.resolve() };
  state.done = new Promise<void>((resolve) => {
    const gone = (): void => {
      state.exited = true;
      resolve();
    };
    child.once('exit', gone);
    child.once('error', gone);
  });
  return state;
}
