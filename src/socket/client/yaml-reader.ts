/**
 * The two YAML shapes beanstalkd sends (`stats*` dicts and `list-tubes*` lists), read
 * without a YAML library: `---` then one `key: value` or `- item` per line. Values may
 * be bare (1.12) or double-quoted (1.13+).
 */

function unquote(text: string): string {
  return text.length >= 2 && text.startsWith('"') && text.endsWith('"') ? text.slice(1, -1) : text;
}

function lines(data: Uint8Array): string[] {
  return Buffer.from(data.buffer, data.byteOffset, data.byteLength).toString('utf8').split('\n');
}

/** `key: value` lines to a map of strings. */
export function parseYamlMap(data: Uint8Array): Map<string, string> {
  const map = new Map<string, string>();
  for (const line of lines(data)) {
    const colon = line.indexOf(': ');
    if (colon <= 0 || line.startsWith('---')) continue;
    map.set(line.slice(0, colon), unquote(line.slice(colon + 2).trim()));
  }
  return map;
}

/** `- item` lines to an array. */
export function parseYamlList(data: Uint8Array): string[] {
  const items: string[] = [];
  for (const line of lines(data)) {
    if (line.startsWith('- ')) items.push(unquote(line.slice(2).trim()));
  }
  return items;
}
