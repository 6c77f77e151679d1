// The documentation cannot rot: every code block in README.md and docs/*.md is compiled,
// run or checked here, and every relative link points at a page and heading that exist.
//
// Fenced blocks by language:
// - `ts`: type-checked against the sources (strict, as the project), each block as its own
//   module. `ts continues` is checked together with the block before it (a fragment that
//   uses what the previous block declared). The reader's own application functions the
//   examples call (`sendMail`, `resize`, ...) are declared in test/fixtures/docs-ambient.d.ts.
//   `ts run` blocks are also run, each in a fresh process, and must exit with status 0.
// - `python`: the worker of docs/recipes.md, run against a live `serve()`d queue.
// - `sh`: every command must be one this repository provides (an npm script, a file, the bin).
// - `text`: diagrams and file layouts, not code.
import { execFile } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, relative, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import ts from 'typescript';
import { afterAll, describe, expect, it } from 'vitest';
import { ErrorCode, Queue } from '../src/index.js';
import { serve } from '../src/socket/index.js';
import { codeBlocks, headingAnchors, markdownFiles, type CodeBlock } from './helpers/markdown.js';
import { requireBinary } from './helpers/system-binary.js';

const root = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const pages = markdownFiles(root);
const blocks = pages.flatMap((page) => codeBlocks(page.path, page.text));

describe('documentation code blocks', () => {
  it('use only languages the tests know how to check', () => {
    const unknown = blocks.filter((block) => !['ts', 'python', 'sh', 'text'].includes(block.language));
    expect(unknown.map((block) => `${block.where} (${block.language || 'no language'})`)).toEqual([]);
  });

  const checked = typeCheck(blocks.filter((block) => block.language === 'ts'));
  for (const page of pages) {
    const name = relative(root, page.path);
    const count = blocks.filter((block) => block.path === page.path && block.language === 'ts').length;
    if (count === 0) continue;
    it(`type-checks the ${count} TypeScript block(s) of ${name}`, () => {
      expect(checked.get(page.path) ?? []).toEqual([]);
    });
  }

  it('shell blocks run only commands this repository provides', () => {
    const scripts = Object.keys((JSON.parse(readFileSync(join(root, 'package.json'), 'utf8')) as { scripts: object }).scripts);
    const problems: string[] = [];
    for (const block of blocks.filter((b) => b.language === 'sh')) {
      for (const [offset, line] of block.code.split('\n').entries()) {
        const problem = checkShellLine(line, scripts);
        if (problem !== undefined) problems.push(`${block.path}:${block.line + offset}: ${problem}`);
      }
    }
    expect(problems).toEqual([]);
  });
});

describe('documentation code that runs', () => {
  const run = promisify(execFile);
  const scratch = mkdtempSync(join(tmpdir(), 'docket-docs-'));
  afterAll(() => rmSync(scratch, { recursive: true, force: true }));

  for (const [index, block] of blocks.filter((b) => b.language === 'ts' && b.meta.includes('run')).entries()) {
    it(`runs ${block.where}`, async () => {
      // .mts: an ES module wherever it lives; the working directory's tsconfig resolves `docket`.
      const file = join(scratch, `block-${index}.mts`);
      writeFileSync(file, sourceOf(block));
      await run(process.execPath, ['--import', 'tsx', file], { cwd: root, timeout: 30_000 });
    });
  }

  const python3 = requireBinary({ name: 'python3', install: 'apt-get install -y python3', skipped: 'the Python worker of docs/recipes.md' });
  it.skipIf(python3 === undefined)('runs the Python worker of docs/recipes.md against a served queue', async () => {
    const python = blocks.filter((block) => block.language === 'python');
    expect(python.map((block) => relative(root, block.path))).toEqual(['docs/recipes.md']);
    const emails = new Queue<{ to: string }>({ name: 'emails' });
    const server = await serve({ port: 0, queues: { emails } });
    try {
      await emails.add({ to: 'ada@example.com' });
      await emails.add({ to: 'grace@example.com' });
      const file = join(scratch, 'worker.py');
      writeFileSync(file, python[0]!.code);
      const { stdout } = await run(python3!, [file], { env: { ...process.env, DOCKET_PORT: String(server.port) }, timeout: 30_000 });
      expect(stdout).toBe('sending to ada@example.com\nsending to grace@example.com\n');
      expect(emails.stats()).toMatchObject({ ready: 0, reserved: 0, completed: 2 });
    } finally {
      await server.close();
      await emails.close();
    }
  });
});

describe('documentation links', () => {
  it('README links every page of docs/', () => {
    const readme = readFileSync(join(root, 'README.md'), 'utf8');
    const unlinked = readdirSync(join(root, 'docs'))
      .filter((file) => file.endsWith('.md'))
      .filter((file) => !readme.includes(`](docs/${file}`));
    expect(unlinked).toEqual([]);
  });

  it('every relative link points at an existing file and heading', () => {
    const broken: string[] = [];
    for (const page of pages) {
      for (const match of page.text.matchAll(/\]\(([^)\s]+)\)/g)) {
        const target = match[1]!;
        if (/^[a-z]+:/.test(target)) continue; // http:, https:, mailto:
        const [file, anchor] = target.split('#') as [string, string | undefined];
        const path = file === '' ? page.path : resolve(dirname(page.path), file);
        if (!existsSync(path)) {
          broken.push(`${relative(root, page.path)}: ${target} (no such file)`);
        } else if (anchor !== undefined && path.endsWith('.md') && !headingAnchors(readFileSync(path, 'utf8')).has(anchor)) {
          broken.push(`${relative(root, page.path)}: ${target} (no such heading)`);
        }
      }
    }
    expect(broken).toEqual([]);
  });

  it('speak of the project, not of how it was made', () => {
    // Upstream bug references (beanstalkd#359, nodejs/node#4541) are fine; the project's own
    // planning documents and tracker are not part of it.
    const offending = pages.flatMap((page) =>
      page.text
        .split('\n')
        .map((line, i) => ({ line, at: `${relative(root, page.path)}:${i + 1}` }))
        .filter(({ line }) => /DESIGN\.md/.test(line) || /\b(the|an|this) issue\b|issues? (was|were) silent|\bhelpers? own/i.test(line))
        .map(({ at, line }) => `${at}: ${line.trim()}`),
    );
    expect(offending).toEqual([]);
  });

  it('docs/errors.md has a row for every error code', () => {
    const errors = readFileSync(join(root, 'docs', 'errors.md'), 'utf8');
    const missing = Object.values(ErrorCode).filter((code) => !errors.includes(`| \`${code}\` |`));
    expect(missing).toEqual([]);
  });

  it('README stays a landing page (under 20 KB)', () => {
    expect(readFileSync(join(root, 'README.md')).length).toBeLessThan(20_000);
  });
});

/** A block's source with the blocks it continues in front of it; and how many lines they take. */
function withPrefix(block: CodeBlock): { source: string; prefixLines: number } {
  if (!block.meta.includes('continues')) return { source: `${block.code}\n`, prefixLines: 0 };
  const same = blocks.filter((b) => b.path === block.path && b.language === 'ts');
  const before = same[same.indexOf(block) - 1];
  if (before === undefined) throw new Error(`${block.where}: 'ts continues' needs a ts block before it on the same page`);
  const prefix = withPrefix(before).source;
  return { source: `${prefix}${block.code}\n`, prefixLines: prefix.split('\n').length - 1 };
}

function sourceOf(block: CodeBlock): string {
  return withPrefix(block).source;
}

/** Compiles every block in one program; returns the diagnostics per markdown file. */
function typeCheck(tsBlocks: CodeBlock[]): Map<string, string[]> {
  const config = ts.getParsedCommandLineOfConfigFile(
    join(root, 'tsconfig.json'),
    {},
    {
      ...ts.sys,
      onUnRecoverableConfigFileDiagnostic: (diagnostic) => {
        throw new Error(ts.flattenDiagnosticMessageText(diagnostic.messageText, '\n'));
      },
    },
  );
  if (config === undefined) throw new Error('tsconfig.json could not be read');
  // Fragments may declare what they do not use; everything else is as strict as the project.
  const options: ts.CompilerOptions = { ...config.options, noUnusedLocals: false, moduleDetection: ts.ModuleDetectionKind.Force };

  // Each block becomes a virtual file beside the sources, so that `docket` and `docket/*`
  // resolve through tsconfig's paths and the package's `"type": "module"` applies.
  const virtual = new Map<string, { block: CodeBlock; source: string; prefixLines: number }>();
  for (const block of tsBlocks) virtual.set(join(root, 'docs', `.snippet-${virtual.size}.ts`), { block, ...withPrefix(block) });

  const host = ts.createCompilerHost(options);
  const { fileExists, readFile, getSourceFile } = host;
  host.fileExists = (file) => virtual.has(file) || fileExists.call(host, file);
  host.readFile = (file) => virtual.get(file)?.source ?? readFile.call(host, file);
  host.getSourceFile = (file, language, onError) => {
    const snippet = virtual.get(file);
    return snippet === undefined ? getSourceFile.call(host, file, language, onError) : ts.createSourceFile(file, snippet.source, language);
  };
  const ambient = join(root, 'test', 'fixtures', 'docs-ambient.d.ts');
  const program = ts.createProgram([ambient, ...virtual.keys()], options, host);

  const found = new Map<string, string[]>();
  const report = (path: string, message: string) => found.set(path, [...(found.get(path) ?? []), message]);
  for (const diagnostic of ts.getPreEmitDiagnostics(program, program.getSourceFile(ambient))) {
    report(ambient, ts.flattenDiagnosticMessageText(diagnostic.messageText, '\n'));
  }
  for (const [file, { block, prefixLines }] of virtual) {
    for (const diagnostic of ts.getPreEmitDiagnostics(program, program.getSourceFile(file))) {
      const text = ts.flattenDiagnosticMessageText(diagnostic.messageText, '\n');
      if (diagnostic.file === undefined || diagnostic.start === undefined) {
        report(block.path, `${block.where}: ${text}`);
        continue;
      }
      const line = diagnostic.file.getLineAndCharacterOfPosition(diagnostic.start).line - prefixLines;
      const where = line < 0 ? `${block.where} (in the block it continues)` : `${relative(root, block.path)}:${block.line + line}`;
      report(block.path, `${where}: ${text}`);
    }
  }
  if (found.has(ambient)) throw new Error(`docs-ambient.d.ts does not compile: ${found.get(ambient)!.join('; ')}`);
  return found;
}

/** Why a line of a `sh` block is not a command this repository provides, or undefined. */
function checkShellLine(line: string, scripts: string[]): string | undefined {
  const command = line.replace(/#.*$/, '').trim();
  if (command === '') return undefined;
  for (const part of command.split(/&&|;/)) {
    const words = part
      .trim()
      .split(/\s+/)
      .filter((word) => !/^[A-Z_]+=/.test(word)); // drop VAR=value
    const [program, first, second] = words;
    if (program === 'npm') {
      if (first === 'run' && second !== undefined && scripts.includes(second)) continue;
      if (first !== undefined && ['install', 'ci', 'test', 'start'].includes(first)) continue;
      return `${part.trim()}: not an npm command with a script in package.json`;
    }
    if (program === 'npx' && first === 'tsx' && second !== undefined) {
      if (existsSync(join(root, second))) continue;
      return `${part.trim()}: ${second} does not exist`;
    }
    if (program === 'node') {
      const file = words.find((word) => /\.(ts|js|mjs)$/.test(word));
      if (file !== undefined && existsSync(join(root, file))) continue;
      return `${part.trim()}: no such file`;
    }
    if (program === 'docket-journal') {
      if (first !== undefined && ['stats', 'dump', 'verify'].includes(first)) continue;
      return `${part.trim()}: docket-journal has no command ${first ?? ''}`;
    }
    if (program === 'docket') {
      if (first !== undefined && ['stats', 'peek', 'kick', 'put', 'tail', 'dashboard'].includes(first)) continue;
      return `${part.trim()}: docket has no command ${first ?? ''}`;
    }
    if (program === 'apt-get' && first === 'install') continue;
    return `${part.trim()}: not a command the tests know`;
  }
  return undefined;
}
