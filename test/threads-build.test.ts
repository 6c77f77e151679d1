import { execFile } from 'node:child_process';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { build } from 'tsup';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

// The thread bootstrap travels as the source text of workerMain(), so a build step that
// injects helpers outside that function (tsup's CJS output does, for `?.` and `??`) would
// break it. Build docket/threads as the package does and run a pool from each format.
const run = promisify(execFile);
const root = fileURLToPath(new URL('..', import.meta.url));
const fixtures = fileURLToPath(new URL('./fixtures/threads/', import.meta.url));
let dir = '';

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'docket-threads-build-'));
  await build({
    config: false,
    entry: { 'threads/index': join(root, 'src/threads/index.ts') },
    outDir: dir,
    format: ['esm', 'cjs'],
    target: 'node20',
    platform: 'node',
    splitting: true,
    silent: true,
  });
}, 60_000);

afterAll(async () => {
  if (dir !== '') await rm(dir, { recursive: true, force: true });
});

const script = (load: string) => `
${load}
const pool = new ThreadPool(${JSON.stringify(join(fixtures, 'behaviours.mjs'))}, { size: 1 });
Promise.all([
  pool.run({ op: 'echo', value: 'hi' }),
  pool.run({ op: 'unrecoverable' }).catch((e) => e.code),
  pool.run({ op: 'abortable' }, { signal: AbortSignal.timeout(50) }).catch((e) => e.name),
]).then(async (results) => {
  console.log(JSON.stringify(results));
  await pool.close();
});
`;

describe('docket/threads as built by tsup', () => {
  it('runs a pool from the ESM build', async () => {
    const file = join(dir, 'esm.mjs');
    await writeFile(file, script(`import { ThreadPool } from ${JSON.stringify(join(dir, 'threads/index.js'))};`));
    const { stdout } = await run(process.execPath, [file], { timeout: 20_000 });
    expect(JSON.parse(stdout)).toEqual(['hi', 'DOCKET_UNRECOVERABLE', 'TimeoutError']);
  });

  it('runs a pool from the CommonJS build', async () => {
    const file = join(dir, 'cjs.cjs');
    await writeFile(file, script(`const { ThreadPool } = require(${JSON.stringify(join(dir, 'threads/index.cjs'))});`));
    const { stdout } = await run(process.execPath, [file], { timeout: 20_000 });
    expect(JSON.parse(stdout)).toEqual(['hi', 'DOCKET_UNRECOVERABLE', 'TimeoutError']);
  });
});
