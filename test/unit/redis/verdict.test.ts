import { describe, expect, it } from 'vitest';
import { cstrEqualsIgnoreCase, parseRedisInteger } from '../../../src/redis/commands.js';
import { builtinCommandTable } from '../../../src/redis/engine.js';
import { dbArguments, judgeCommand } from '../../../src/redis/verdict.js';
import type { SessionChecker } from '../../../src/db/session.js';

const argv = (...words: (string | Buffer)[]) => words.map((w) => (Buffer.isBuffer(w) ? w : Buffer.from(w, 'latin1')));
const text = (bufs: readonly Buffer[]) => bufs.map((b) => b.toString('latin1'));

/** A checker that allows every command and db 0 and 1 only (what a db_names: ['0', '1'] role says). */
const db01: SessionChecker = {
  checkDbUser: () => {},
  checkDbName: (n) => {
    if (n !== '0' && n !== '1') throw new Error(`db ${n} denied`);
  },
  commandAllowed: () => true,
};

describe('dbArguments', () => {
  it('reads COPY … DB as Redis does: the last DB wins, options compare as C strings', () => {
    expect(text(dbArguments('copy', argv('COPY', 'a', 'b', 'DB', '0', 'DB', '5')))).toEqual(['5']);
    expect(text(dbArguments('copy', argv('COPY', 'a', 'b', 'db', '5', 'REPLACE', 'Db', '1')))).toEqual(['1']);
    expect(text(dbArguments('copy', argv('COPY', 'a', 'b', Buffer.from('DB\0junk'), '7')))).toEqual(['7']);
    expect(text(dbArguments('copy', argv('COPY', 'a', 'b', 'REPLACE')))).toEqual([]);
    expect(text(dbArguments('copy', argv('COPY', 'a', 'b', 'DB')))).toEqual([]);
  });

  it('names the db arguments of SELECT, MOVE, SWAPDB and MIGRATE', () => {
    expect(text(dbArguments('select', argv('SELECT', '3')))).toEqual(['3']);
    expect(text(dbArguments('move', argv('MOVE', 'k', '4')))).toEqual(['4']);
    expect(text(dbArguments('swapdb', argv('SWAPDB', '0', '9')))).toEqual(['0', '9']);
    expect(text(dbArguments('migrate', argv('MIGRATE', 'h', '6379', 'k', '6', '1000', 'COPY')))).toEqual(['6']);
    expect(dbArguments('get', argv('GET', '5'))).toEqual([]);
  });
});

describe('judgeCommand', () => {
  const table = builtinCommandTable();

  it('checks every db argument in the canonical form Redis reads, and lets non-numbers through to Redis’s error', () => {
    expect(judgeCommand(table, 'copy', argv('COPY', 'a', 'b', 'DB', '0', 'DB', '5'), db01).denied).toBe('access denied to db 5');
    expect(judgeCommand(table, 'copy', argv('COPY', 'a', 'b', 'DB', '5', 'DB', '1'), db01).denied).toBeUndefined();
    expect(judgeCommand(table, 'swapdb', argv('SWAPDB', '1', '2'), db01).denied).toBe('access denied to db 2');
    expect(judgeCommand(table, 'select', argv('SELECT', '05'), db01).denied).toBeUndefined();
  });

  it('refuses a malformed name whatever the roles allow, quoting its bytes', () => {
    const v = judgeCommand(table, 'flushall\u0000', argv(Buffer.from('flushall\0'), 'x'), db01);
    expect(v.cmd.malformed).toBe(true);
    expect(v.denied).toBe('unknown command "flushall\\x00": command names contain no such bytes');
  });
});

describe('Redis argument semantics', () => {
  it('compares keywords like strcasecmp: ASCII case folded, ended by NUL', () => {
    expect(cstrEqualsIgnoreCase(Buffer.from('Db'), 'db')).toBe(true);
    expect(cstrEqualsIgnoreCase(Buffer.from('DB\0x'), 'db')).toBe(true);
    expect(cstrEqualsIgnoreCase(Buffer.from('DBX'), 'db')).toBe(false);
    expect(cstrEqualsIgnoreCase(Buffer.from('D'), 'db')).toBe(false);
  });

  it('reads integers like string2ll: no leading zeros, no plus, no NUL, 64-bit range', () => {
    expect(parseRedisInteger(Buffer.from('0'))).toBe('0');
    expect(parseRedisInteger(Buffer.from('-12'))).toBe('-12');
    for (const bad of ['05', '+5', ' 5', '5\0', '-0', '-', '', '9223372036854775808', '1e3']) expect(parseRedisInteger(Buffer.from(bad)), bad).toBeUndefined();
    expect(parseRedisInteger(Buffer.from('9223372036854775807'))).toBe('9223372036854775807');
  });
});

describe('judgeCommand and redis_keys', () => {
  const table = builtinCommandTable();
  const appOnly: SessionChecker = { ...db01, keyAllowed: (k) => k.toString('latin1').startsWith('app:') };

  it('refuses a command whose key, at the position the command table names, is outside the patterns', () => {
    expect(judgeCommand(table, 'set', argv('SET', 'app:1', 'v'), appOnly).denied).toBeUndefined();
    const v = judgeCommand(table, 'set', argv('SET', 'other', 'app:1'), appOnly);
    expect(v.deniedFor).toBe('key');
    expect(v.denied).toBe('access denied to key other for set');
    // MSET's keys are every other argument: a value that looks like a forbidden key is no key.
    expect(judgeCommand(table, 'mset', argv('MSET', 'app:1', 'other', 'app:2', 'x'), appOnly).denied).toBeUndefined();
    expect(judgeCommand(table, 'mset', argv('MSET', 'app:1', 'x', 'other', 'x'), appOnly).deniedFor).toBe('key');
    // EVAL's declared keys count too.
    expect(judgeCommand(table, 'eval', argv('EVAL', 'return 1', '1', 'other'), appOnly).deniedFor).toBe('key');
  });
});

describe('judgeCommand and redis_channels', () => {
  const table = builtinCommandTable();
  const news: SessionChecker = { ...db01, channelAllowed: (c, pattern) => (pattern ? c.toString() === 'news.*' : c.toString().startsWith('news.')) };

  it('checks PUBLISH’s channel, every SUBSCRIBE channel, and PSUBSCRIBE patterns literally, as Redis’s ACL does', () => {
    expect(judgeCommand(table, 'publish', argv('PUBLISH', 'news.a', 'hi'), news).denied).toBeUndefined();
    expect(judgeCommand(table, 'publish', argv('PUBLISH', 'ops', 'news.a'), news).denied).toBe('access denied to channel ops for publish');
    expect(judgeCommand(table, 'subscribe', argv('SUBSCRIBE', 'news.a', 'ops'), news).deniedFor).toBe('channel');
    expect(judgeCommand(table, 'psubscribe', argv('PSUBSCRIBE', 'news.*'), news).denied).toBeUndefined();
    // news.a* reaches only news channels, but Redis accepts a pattern only when it equals an allowed one.
    expect(judgeCommand(table, 'psubscribe', argv('PSUBSCRIBE', 'news.a*'), news).deniedFor).toBe('channel');
    expect(judgeCommand(table, 'unsubscribe', argv('UNSUBSCRIBE', 'ops'), news).denied).toBeUndefined();
  });
});
