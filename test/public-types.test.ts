// The published declarations show the API and nothing else: members marked @internal
// (Queue.restore, ReservedJob.record, the constructors users must not call) are stripped
// by the build, and what remains compiles on its own, strict and without skipLibCheck.
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { build } from 'tsup';
import ts from 'typescript';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import config from '../tsup.config.js';

const root = fileURLToPath(new URL('..', import.meta.url));
let dir = '';

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'docket-types-'));
  // The package's own build settings (its dts options included), declarations only, for
  // the entry points whose modules have internals.
  const options = Array.isArray(config) ? config[0] : config;
  if (typeof options === 'function') throw new Error('tsup.config.ts is expected to export an options object');
  const entry = { index: 'src/index.ts', 'socket/index': 'src/socket/index.ts', 'journal/index': 'src/journal/index.ts' };
  await build({ ...options, entry, config: false, outDir: dir, format: ['esm'], clean: false, silent: true, dts: { ...(options.dts as object), only: true } });
}, 120_000);

afterAll(async () => {
  if (dir !== '') await rm(dir, { recursive: true, force: true });
});

/** Type-checks the built declarations and the given user files; diagnostics by file name. */
function compile(files: Record<string, string>): Map<string, string[]> {
  const options: ts.CompilerOptions = {
    strict: true,
    skipLibCheck: false,
    noEmit: true,
    module: ts.ModuleKind.NodeNext,
    moduleResolution: ts.ModuleResolutionKind.NodeNext,
    target: ts.ScriptTarget.ES2022,
    types: ['node'],
    typeRoots: [join(root, 'node_modules/@types')],
  };
  const host = ts.createCompilerHost(options);
  const { readFile: read, fileExists } = host;
  host.readFile = (file) => files[file.slice(dir.length + 1)] ?? read.call(host, file);
  host.fileExists = (file) => file.slice(dir.length + 1) in files || fileExists.call(host, file);
  const program = ts.createProgram(
    Object.keys(files).map((name) => join(dir, name)),
    options,
    host,
  );
  // Only docket's declarations and the user files: checking all of @types/node is slow and not ours.
  const found = new Map<string, string[]>();
  for (const source of program.getSourceFiles()) {
    if (!source.fileName.startsWith(dir)) continue;
    const messages = [...program.getSyntacticDiagnostics(source), ...program.getSemanticDiagnostics(source)].map((d) =>
      ts.flattenDiagnosticMessageText(d.messageText, '\n'),
    );
    if (messages.length > 0) found.set(source.fileName.slice(dir.length + 1), messages);
  }
  return found;
}

describe('the published .d.ts', () => {
  it('leaves the internals out', async () => {
    const core = await readFile(join(dir, 'index.d.ts'), 'utf8');
    expect(core).toMatch(/declare class Queue</);
    expect(core).not.toMatch(/\brestore\(/);
    expect(core).not.toMatch(/\breadonly record\b/);
    expect(core).not.toMatch(/class JobRecord\b/);
    const socket = await readFile(join(dir, 'socket/index.d.ts'), 'utf8');
    expect(socket).toMatch(/declare class RemoteQueue</);
    expect(socket).not.toMatch(/^\s*readonly (host|consumer|epoch): /m);
  });

  it('compiles on its own, and a user cannot reach an internal', () => {
    const user = `
import { Queue } from './index.js';
import { connect, serve } from './socket/index.js';
import { openQueue } from './journal/index.js';
const q = new Queue<{ n: number }>({ retry: { attempts: 2 } });
void q.add({ n: 1 });
void connect; void serve; void openQueue;
`;
    const reach = `import { Queue } from './index.js';\nnew Queue().restore([]);\n`;
    const found = compile({ 'user.mts': user, 'reach.mts': reach });
    expect(found.get('reach.mts')?.join('\n')).toMatch(/Property 'restore' does not exist/);
    found.delete('reach.mts');
    // Every declaration file the user's imports reached, and the user file itself, are clean.
    expect(Object.fromEntries(found)).toEqual({});
  });
});
