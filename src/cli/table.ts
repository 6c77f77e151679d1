/** Rows as an aligned text table with a header line; numbers are right-aligned. */
export function formatTable(headers: readonly string[], rows: ReadonlyArray<ReadonlyArray<string | number>>): string {
  const cells = rows.map((row) => row.map(String));
  const widths = headers.map((header, i) => Math.max(header.length, ...cells.map((row) => (row[i] ?? '').length)));
  const numeric = headers.map((_h, i) => rows.length > 0 && rows.every((row) => typeof row[i] === 'number'));
  const line = (values: readonly string[]): string =>
    values
      .map((value, i) => (numeric[i] ? value.padStart(widths[i]) : value.padEnd(widths[i])))
      .join('  ')
      .trimEnd();
  return [line(headers), ...cells.map(line)].join('\n') + '\n';
}

/** Key/value lines, keys aligned. */
export function formatFields(fields: ReadonlyArray<readonly [string, string | number]>): string {
  const width = Math.max(0, ...fields.map(([key]) => key.length));
  return fields.map(([key, value]) => `${key.padEnd(width)}  ${value}`).join('\n') + '\n';
}

/** A job body for a terminal: the text when it is printable UTF-8, else hex. */
export function showBody(body: Uint8Array): { encoding: 'utf8' | 'hex'; text: string } {
  const text = new TextDecoder('utf-8', { fatal: false }).decode(body);
  // Replacement characters mean invalid UTF-8; control characters other than tab and newline would garble the terminal.
  // biome-ignore lint/suspicious/noControlCharactersInRegex: finding control characters is the point
  const printable = !text.includes('\uFFFD') && !/[\u0000-\u0008\u000B-\u001F\u007F]/.test(text);
  return printable ? { encoding: 'utf8', text } : { encoding: 'hex', text: Buffer.from(body).toString('hex') };
}
