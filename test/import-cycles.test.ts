// No runtime import cycles in src/. A cycle makes load order matter: one module of the
// cycle sees the other's bindings before they are initialised, and a bundler may reorder
// it. Type-only imports (`import type`, `export type ... from`) are erased, so they may
// go both ways. Under `verbatimModuleSyntax` every other import stays in the output, which
// is exactly what this reads. Dynamic `import()` loads later and is not an edge.
import { readFileSync, readdirSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import ts from 'typescript';
import { describe, expect, it } from 'vitest';

const src = fileURLToPath(new URL('../src', import.meta.url));

function sourceFiles(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((entry) => {
    const path = join(dir, entry.name);
    if (entry.isDirectory()) return sourceFiles(path);
    return entry.name.endsWith('.ts') && !entry.name.endsWith('.d.ts') ? [path] : [];
  });
}

/** The files `file` imports at run time (relative specifiers only: packages cannot cycle back). */
function runtimeImports(file: string, text: string): string[] {
  const source = ts.createSourceFile(file, text, ts.ScriptTarget.Latest, false, ts.ScriptKind.TS);
  const imports: string[] = [];
  for (const statement of source.statements) {
    let specifier: ts.Expression | undefined;
    if (ts.isImportDeclaration(statement) && !statement.importClause?.isTypeOnly) specifier = statement.moduleSpecifier;
    if (ts.isExportDeclaration(statement) && !statement.isTypeOnly) specifier = statement.moduleSpecifier;
    if (specifier === undefined || !ts.isStringLiteral(specifier) || !specifier.text.startsWith('.')) continue;
    imports.push(resolve(dirname(file), specifier.text.replace(/\.js$/, '.ts')));
  }
  return imports;
}

/** Every strongly connected group of more than one file (or a file importing itself), Tarjan's way. */
function cycles(graph: Map<string, string[]>): string[][] {
  const index = new Map<string, number>();
  const low = new Map<string, number>();
  const stack: string[] = [];
  const onStack = new Set<string>();
  const found: string[][] = [];
  let counter = 0;
  const visit = (node: string): void => {
    index.set(node, counter);
    low.set(node, counter);
    counter++;
    stack.push(node);
    onStack.add(node);
    for (const next of graph.get(node) ?? []) {
      if (!index.has(next)) {
        visit(next);
        low.set(node, Math.min(low.get(node)!, low.get(next)!));
      } else if (onStack.has(next)) {
        low.set(node, Math.min(low.get(node)!, index.get(next)!));
      }
    }
    if (low.get(node) !== index.get(node)) return;
    const group: string[] = [];
    let member: string;
    do {
      member = stack.pop()!;
      onStack.delete(member);
      group.push(member);
    } while (member !== node);
    if (group.length > 1 || (graph.get(node) ?? []).includes(node)) found.push(group.sort());
  };
  for (const node of graph.keys()) if (!index.has(node)) visit(node);
  return found;
}

describe('import graph of src/', () => {
  it('has no runtime import cycles', () => {
    const graph = new Map<string, string[]>();
    for (const file of sourceFiles(src)) graph.set(file, runtimeImports(file, readFileSync(file, 'utf8')));
    expect(graph.size).toBeGreaterThan(20);
    const named = cycles(graph).map((group) => group.map((file) => relative(src, file)).join(' -> '));
    expect(named).toEqual([]);
  });

  it('finds a cycle, and ignores type-only imports', () => {
    const a = '/x/a.ts';
    const b = '/x/b.ts';
    const c = '/x/c.ts';
    expect(runtimeImports(a, "import type { B } from './b.js';\nexport type { C } from './c.js';\nimport { c } from './c.js';")).toEqual([c]);
    expect(runtimeImports(a, "import { type B } from './b.js';")).toEqual([b]); // kept by verbatimModuleSyntax
    expect(
      cycles(
        new Map([
          [a, [b]],
          [b, [c]],
          [c, [a]],
        ]),
      ),
    ).toEqual([[a, b, c]]);
    expect(
      cycles(
        new Map([
          [a, [b]],
          [b, []],
          [c, [c]],
        ]),
      ),
    ).toEqual([[c]]);
  });
});
