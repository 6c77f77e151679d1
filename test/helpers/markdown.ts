// Reading the project's markdown: its pages, their fenced code blocks and heading anchors.
import { readFileSync, readdirSync } from 'node:fs';
import { join, relative } from 'node:path';

export interface CodeBlock {
  /** The markdown file. */
  path: string;
  /** 1-based line of the block's first code line in that file. */
  line: number;
  /** `path:line`, relative to the working directory, for messages. */
  where: string;
  /** First word of the info string (`ts`, `sh`, ...), '' when there is none. */
  language: string;
  /** The rest of the info string, split into words (`continues`). */
  meta: string[];
  code: string;
}

/** README.md and every page of docs/, with their text. */
export function markdownFiles(root: string): Array<{ path: string; text: string }> {
  const docs = readdirSync(join(root, 'docs'))
    .filter((file) => file.endsWith('.md'))
    .sort()
    .map((file) => join(root, 'docs', file));
  return [join(root, 'README.md'), ...docs].map((path) => ({ path, text: readFileSync(path, 'utf8') }));
}

/** The fenced (```) code blocks of a markdown text. */
export function codeBlocks(path: string, text: string): CodeBlock[] {
  const blocks: CodeBlock[] = [];
  const lines = text.split('\n');
  for (let i = 0; i < lines.length; i++) {
    const open = /^```(.*)$/.exec(lines[i]!);
    if (open === null) continue;
    const [language = '', ...meta] = open[1]!.trim().split(/\s+/);
    const start = i + 1;
    let end = start;
    while (end < lines.length && !lines[end]!.startsWith('```')) end++;
    if (end === lines.length) throw new Error(`${path}:${i + 1}: code block is never closed`);
    blocks.push({
      path,
      line: start + 1,
      where: `${relative(process.cwd(), path)}:${start + 1}`,
      language,
      meta,
      code: lines.slice(start, end).join('\n'),
    });
    i = end;
  }
  return blocks;
}

/** The anchors GitHub gives a page's headings (`## Errors` -> `errors`, repeats get `-1`, `-2`). */
export function headingAnchors(text: string): Set<string> {
  const anchors = new Set<string>();
  const seen = new Map<string, number>();
  let inCode = false;
  for (const line of text.split('\n')) {
    if (line.startsWith('```')) inCode = !inCode;
    const heading = inCode ? null : /^#{1,6}\s+(.*)$/.exec(line);
    if (heading === null) continue;
    const slug = heading[1]!
      .trim()
      .toLowerCase()
      .replace(/[^\p{L}\p{N}\s_-]/gu, '')
      .replace(/\s/g, '-');
    const count = seen.get(slug) ?? 0;
    seen.set(slug, count + 1);
    anchors.add(count === 0 ? slug : `${slug}-${count}`);
  }
  return anchors;
}
