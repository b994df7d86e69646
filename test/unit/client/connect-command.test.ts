/**
 * The redis-cli command line xsh runs and shows, and the PATH lookup that runs before it.
 */
import { chmod, mkdtemp, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { delimiter, join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { findOnPath, formatCommand, redisCliArgs, redisCliCommandLine, shellQuote } from '../../../src/client/connect-command.js';

describe('redisCliArgs', () => {
  it('points redis-cli at the tunnel with no TLS flags', () => {
    expect(redisCliArgs({ host: '127.0.0.1', port: 40123 })).toEqual(['-h', '127.0.0.1', '-p', '40123']);
  });
  it('selects the database number with -n', () => {
    expect(redisCliArgs({ host: '127.0.0.1', port: 1, dbName: '3' })).toEqual(['-h', '127.0.0.1', '-p', '1', '-n', '3']);
  });
  it('asks for RESP3 with -3', () => {
    expect(redisCliArgs({ host: '127.0.0.1', port: 1, resp3: true })).toEqual(['-h', '127.0.0.1', '-p', '1', '-3']);
  });
  it("passes the user's arguments last and untouched", () => {
    expect(redisCliArgs({ host: '127.0.0.1', port: 1, dbName: '2', resp3: true, extra: ['-n', '5', '--raw', 'GET', 'a b'] })).toEqual([
      '-h',
      '127.0.0.1',
      '-p',
      '1',
      '-n',
      '2',
      '-3',
      '-n',
      '5',
      '--raw',
      'GET',
      'a b',
    ]);
  });
});

describe('command display', () => {
  it('renders the redis-cli line of the proxy banner', () => {
    expect(redisCliCommandLine({ host: '127.0.0.1', port: 62652 })).toBe('redis-cli -h 127.0.0.1 -p 62652');
  });
  it('quotes arguments a shell would split or expand', () => {
    expect(shellQuote('plain-word_1.x')).toBe('plain-word_1.x');
    expect(shellQuote('a b')).toBe("'a b'");
    expect(shellQuote("it's")).toBe("'it'\\''s'");
    expect(shellQuote('$HOME')).toBe("'$HOME'");
    expect(shellQuote('')).toBe("''");
    expect(formatCommand('xsh', ['db', 'connect', 'my db'])).toBe("xsh db connect 'my db'");
  });
});

describe('findOnPath', () => {
  it('finds an executable file in a PATH directory and skips non-executable ones', async () => {
    const a = await mkdtemp(join(tmpdir(), 'path-a-'));
    const b = await mkdtemp(join(tmpdir(), 'path-b-'));
    await writeFile(join(a, 'redis-cli'), 'not executable');
    await writeFile(join(b, 'redis-cli'), '#!/bin/sh\n');
    await chmod(join(b, 'redis-cli'), 0o755);
    expect(await findOnPath('redis-cli', [a, b].join(delimiter))).toBe(join(b, 'redis-cli'));
  });
  it('returns undefined when no directory holds it, and ignores relative entries', async () => {
    const a = await mkdtemp(join(tmpdir(), 'path-a-'));
    expect(await findOnPath('redis-cli', ['', '.', a].join(delimiter))).toBeUndefined();
    expect(await findOnPath('redis-cli', undefined)).toBeUndefined();
  });
});
