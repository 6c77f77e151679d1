/**
 * The gate for suites that need a program Node does not bring: found → its path; missing on
 * a developer machine → one line and a skip; missing under CI=true → a failure.
 */
import { chmodSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { binaryPathVariable, findBinary, requireBinary } from './helpers/system-binary.js';

const dir = mkdtempSync(join(tmpdir(), 'docket-bin-'));
const program = join(dir, 'fake-server');
writeFileSync(program, '#!/bin/sh\n');
chmodSync(program, 0o755);
writeFileSync(join(dir, 'not-executable'), '');
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const fake = { name: 'fake-server', install: 'apt-get install -y fake-server', skipped: 'the fake suite' };

describe('requireBinary', () => {
  it('returns the path found on PATH, and logs nothing', () => {
    const lines: string[] = [];
    expect(requireBinary(fake, { PATH: `/nonexistent:${dir}` }, (line) => lines.push(line))).toBe(program);
    expect(lines).toEqual([]);
  });

  it('prefers the <NAME>_PATH variable and refuses one naming no executable', () => {
    expect(binaryPathVariable('redis-server')).toBe('REDIS_SERVER_PATH');
    expect(findBinary('anything', { ANYTHING_PATH: program, PATH: '' })).toBe(program);
    expect(() => findBinary('anything', { ANYTHING_PATH: join(dir, 'not-executable') })).toThrow(/ANYTHING_PATH=.*not an executable/);
  });

  it('skips with exactly one line naming the suite and how to enable it when missing', () => {
    const lines: string[] = [];
    expect(requireBinary(fake, { PATH: '/nonexistent', CI: 'false' }, (line) => lines.push(line))).toBeUndefined();
    expect(lines).toHaveLength(1);
    expect(lines[0]).toContain('skipped the fake suite');
    expect(lines[0]).toContain('apt-get install -y fake-server');
    expect(lines[0]).toContain('FAKE_SERVER_PATH');
    expect(lines[0]).not.toContain('\n');
  });

  it('throws under CI=true when missing, naming the program and the install step', () => {
    const lines: string[] = [];
    expect(() => requireBinary(fake, { PATH: '/nonexistent', CI: 'true' }, (line) => lines.push(line))).toThrow(
      /CI=true requires fake-server for the fake suite.*apt-get install -y fake-server/,
    );
    expect(lines).toEqual([]);
  });
});
