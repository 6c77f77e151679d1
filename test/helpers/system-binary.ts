/**
 * Gates for tests that need a program Node does not bring (beanstalkd, redis-server, a
 * browser). A developer machine without it skips those suites and says so in one line; under
 * CI=true a missing program fails the run, so CI can never pass by skipping the comparison.
 * No test-runner imports here: bench cases use it too.
 */
import { accessSync, constants } from 'node:fs';
import { delimiter, join } from 'node:path';

/** The environment variable that points at `name` explicitly: `redis-server` → `REDIS_SERVER_PATH`. */
export function binaryPathVariable(name: string): string {
  return `${name.toUpperCase().replace(/[^A-Z0-9]/g, '_')}_PATH`;
}

function isExecutable(path: string): boolean {
  try {
    accessSync(path, constants.X_OK);
    return true;
  } catch {
    return false;
  }
}

/**
 * Where `name` is: the file its `<NAME>_PATH` variable names (which must then exist), else
 * the first executable `name` on PATH, else undefined.
 */
export function findBinary(name: string, env: NodeJS.ProcessEnv = process.env): string | undefined {
  const variable = binaryPathVariable(name);
  const explicit = env[variable];
  if (explicit !== undefined && explicit !== '') {
    if (!isExecutable(explicit)) throw new Error(`${variable}=${explicit} is not an executable file`);
    return explicit;
  }
  for (const dir of (env.PATH ?? '').split(delimiter)) {
    if (dir === '') continue;
    const candidate = join(dir, name);
    if (isExecutable(candidate)) return candidate;
  }
  return undefined;
}

export interface RequiredBinary {
  /** Program name as found on PATH, e.g. `beanstalkd`. */
  name: string;
  /** How to install it on Debian/Ubuntu, e.g. `apt-get install -y beanstalkd`. */
  install: string;
  /** What is skipped without it, e.g. `the differential test against beanstalkd`. */
  skipped: string;
}

/**
 * The path of a program a suite needs. Without it: under CI=true this throws (the suite is
 * required there); otherwise it writes ONE line naming what is skipped and how to enable it,
 * and returns undefined for `describe.skipIf(path === undefined)`.
 *
 * @example
 * ```ts
 * const beanstalkd = requireBinary({ name: 'beanstalkd', install: 'apt-get install -y beanstalkd', skipped: 'the differential test' });
 * describe.skipIf(beanstalkd === undefined)('differential', () => { ... });
 * ```
 */
export function requireBinary(binary: RequiredBinary, env: NodeJS.ProcessEnv = process.env, log: (line: string) => void = writeLine): string | undefined {
  const path = findBinary(binary.name, env);
  if (path !== undefined) return path;
  const enable = `install ${binary.name} (${binary.install}) or set ${binaryPathVariable(binary.name)}`;
  if (env.CI === 'true') throw new Error(`CI=true requires ${binary.name} for ${binary.skipped}, and it is not on PATH: ${enable}`);
  log(`skipped ${binary.skipped}: ${binary.name} is not on PATH; to run it, ${enable} (CI=true requires it)`);
  return undefined;
}

// stderr directly: the runner's console capture would add a header line per message.
function writeLine(line: string): void {
  process.stderr.write(`${line}\n`);
}
