import { describe, expect, it } from 'vitest';
import type { Session } from '../../../src/db/session.js';
import { CredentialsRefused } from '../../../src/redis/reauth.js';
import { CommandTableCache, retryRefused } from '../../../src/redis/session-setup.js';
import { nullLogger, type Logger } from '../../../src/util/log.js';
import { plainDatabase, StaticCredentials } from '../../helpers/engine-front.js';
import { COMMAND_INFO_RESP2 } from './command-info.fixture.js';

const reply = (raw: Buffer | string) => ({ raw: Buffer.isBuffer(raw) ? raw : Buffer.from(raw), isError: (Buffer.isBuffer(raw) ? raw[0] : raw.charCodeAt(0)) === 0x2d });

function recordingLog(): Logger & { lines: string[] } {
  const lines: string[] = [];
  const log = { ...nullLogger, lines } as Logger & { lines: string[] };
  log.warn = (msg: string) => void lines.push(`warn ${msg}`);
  log.debug = (msg: string) => void lines.push(`debug ${msg}`);
  return log;
}

describe('session-setup: command tables', () => {
  it('lets the first session of a database read the table while the others wait for it', async () => {
    const tables = new CommandTableCache(nullLogger);
    const first = tables.claim('db');
    const second = tables.claim('db');
    expect(first.reads).toBe(true);
    expect(second.reads).toBe(false);
    expect(second.waitFor).toBeDefined();
    const table = tables.parse('db', reply(COMMAND_INFO_RESP2), 'redis 7.0.15');
    first.settle(table);
    expect(await second.waitFor).toBe(table);
    expect(tables.claim('db').cached).toEqual({ version: 'redis 7.0.15', table });
    expect(tables.version('db')).toBe('redis 7.0.15');
  });

  it('lets the next session try again when the first could not read it', async () => {
    const tables = new CommandTableCache(nullLogger);
    const first = tables.claim('db');
    const waiting = tables.claim('db');
    first.settle(undefined);
    expect(await waiting.waitFor).toBeUndefined();
    expect(tables.claim('db').reads).toBe(true);
  });

  it('warns once per database about an unreadable table and says nothing about NOAUTH', () => {
    const log = recordingLog();
    const tables = new CommandTableCache(log);
    expect(tables.parse('db', reply('-NOAUTH Authentication required.\r\n'))).toBeUndefined();
    expect(tables.parse('db', reply('-ERR unknown command\r\n'))).toBeUndefined();
    expect(tables.parse('db', reply('-ERR unknown command\r\n'))).toBeUndefined();
    expect(log.lines.filter((l) => l.startsWith('warn'))).toHaveLength(1);
    expect(log.lines[0]).toMatch(/^debug the command table will be read after the client authenticates/);
  });
});

describe('session-setup: refused credentials', () => {
  const session = { database: plainDatabase(1), dbUser: 'alice' } as Session;

  it('tries once more with fresh credentials after a refusal, and reports a second refusal by its cause', async () => {
    const creds = new StaticCredentials('alice', 'pw');
    let attempts = 0;
    const cause = new Error('WRONGPASS twice');
    await expect(
      retryRefused(creds, session, async () => {
        attempts++;
        throw new CredentialsRefused('refused', cause);
      }),
    ).rejects.toBe(cause);
    expect(attempts).toBe(2);
    expect(creds.invalidated).toBe(1);
  });

  it('does not retry other failures', async () => {
    const creds = new StaticCredentials('alice', 'pw');
    await expect(retryRefused(creds, session, async () => Promise.reject(new Error('connection refused')))).rejects.toThrow('connection refused');
    expect(creds.invalidated).toBe(0);
  });
});
