import { describe, expect, it } from 'vitest';
import { formatAuth, formatHello, formatQuery, keyNames, MASK, quoteArg } from '../../../src/redis/audit-format.js';
import { CommandTable, keyPositions } from '../../../src/redis/commands.js';
import { decodeValue } from '../../../src/redis/resp/value.js';
import { COMMAND_INFO_RESP2 } from './command-info.fixture.js';

const table = CommandTable.parse(decodeValue(COMMAND_INFO_RESP2));
const argv = (...words: (string | Buffer)[]) => words.map((w) => (typeof w === 'string' ? Buffer.from(w) : w));

/** audit renders a command the way the engine does. */
function audit(redact: boolean, ...words: (string | Buffer)[]): string {
  const args = argv(...words);
  const r = table.resolve(args[0]!.toString().toLowerCase(), args);
  return formatQuery(args, keyPositions(r.info, args), redact, r.subcommand);
}

describe('formatQuery', () => {
  it('keeps keys and masks values when redacting', () => {
    expect(audit(true, 'SET', 'user:1', 'secret')).toBe('SET user:1 ******');
    expect(audit(true, 'SET', 'user:1', 'secret', 'EX', '10')).toBe('SET user:1 ****** ****** ******');
    expect(audit(true, 'MSET', 'a', 'x', 'b', 'y')).toBe('MSET a ****** b ******');
    expect(audit(true, 'GET', 'user:1')).toBe('GET user:1');
    expect(audit(true, 'EVAL', 'return redis.call("get", KEYS[1])', '1', 'k', 'argv1')).toBe(`EVAL ${MASK} ${MASK} k ${MASK}`);
  });

  it('keeps the subcommand of a container', () => {
    expect(audit(true, 'OBJECT', 'ENCODING', 'k')).toBe('OBJECT ENCODING k');
    expect(formatQuery(argv('CONFIG', 'SET', 'requirepass', 'hunter2'), [], true, true)).toBe('CONFIG SET ****** ******');
  });

  it('shows every argument in full mode', () => {
    expect(audit(false, 'SET', 'k', 'secret')).toBe('SET k secret');
  });

  it('quotes arguments with spaces, quotes, line breaks or binary bytes so they cannot forge the line', () => {
    expect(audit(false, 'SET', 'my key', 'a"b\r\nc', Buffer.from([0, 0xff]))).toBe('SET "my key" "a\\"b\\r\\nc" "\\x00\\xff"');
    expect(quoteArg(Buffer.alloc(0))).toBe('""');
    expect(quoteArg(Buffer.from('back\\slash'))).toBe('"back\\\\slash"');
  });

  it('cuts huge arguments and long argument lists', () => {
    const big = Buffer.alloc(5000, 0x61);
    const text = audit(false, 'SET', 'k', big);
    expect(text.length).toBeLessThan(1100);
    expect(text).toMatch(/\.\.\.\(5000 bytes\)$/);
    const many = ['MSET', ...Array.from({ length: 1000 }, (_, i) => `k${i}`)];
    expect(audit(true, ...many)).toMatch(/\.\.\.\(745 more arguments\)$/);
  });
});

describe('formatAuth and formatHello', () => {
  it('always masks AUTH passwords and keeps the username', () => {
    expect(formatAuth(argv('AUTH', 'pw'))).toBe('AUTH ******');
    expect(formatAuth(argv('AUTH', 'alice', 'pw'))).toBe('AUTH alice ******');
    expect(formatAuth(argv('AUTH', 'a', 'b', 'c'))).toBe('AUTH ****** ****** ******');
    expect(formatAuth(argv('AUTH'))).toBe('AUTH');
  });

  it('masks the password of HELLO … AUTH in both modes', () => {
    expect(formatHello(argv('HELLO', '3', 'AUTH', 'alice', 'pw', 'SETNAME', 'app'), false)).toBe('HELLO 3 AUTH alice ****** SETNAME app');
    expect(formatHello(argv('hello', '3', 'auth', 'alice', 'pw'), true)).toBe('hello 3 auth alice ******');
    expect(formatHello(argv('HELLO', '3', 'AUTH', 'pw-only'), false)).toBe('HELLO 3 AUTH ******');
    expect(formatHello(argv('HELLO'), true)).toBe('HELLO');
  });
});

describe('keyNames', () => {
  it('lists keys as UTF-8 text, bounded', () => {
    expect(keyNames(argv('MSET', 'a', '1', 'ключ', '2'), [1, 3])).toEqual(['a', 'ключ']);
    expect(keyNames(argv('GET', Buffer.alloc(2000, 0x6b)), [1])[0]).toMatch(/\.\.\.\(2000 bytes\)$/);
  });
});
