import { describe, expect, it } from 'vitest';
import {
  CommandTable,
  formatCompact,
  keyPositions,
  parseCompactTable,
  type CommandInfo,
} from '../../../src/redis/commands.js';
import { builtinCommandTable } from '../../../src/redis/engine.js';
import { RespErrorReply, decodeValue } from '../../../src/redis/resp/value.js';
import { COMMAND_INFO_RESP2, COMMAND_INFO_RESP3 } from './command-info.fixture.js';

const argv = (...words: string[]) => words.map((w) => Buffer.from(w));
const keysOf = (table: CommandTable, ...words: string[]) => {
  const args = argv(...words);
  const r = table.resolve(words[0]!.toLowerCase(), args);
  return keyPositions(r.info, args).map((i) => words[i]);
};

describe('CommandTable.parse', () => {
  const table = CommandTable.parse(decodeValue(COMMAND_INFO_RESP2));

  it('reads names, arity, flags and ACL categories from a real RESP2 COMMAND INFO reply', () => {
    expect(table.size).toBe(10); // the unknown command's null entry is skipped
    const get = table.get('get')!;
    expect(get.arity).toBe(2);
    expect(get.flags).toEqual(['readonly', 'fast']);
    expect(get.categories).toEqual(['@read', '@string', '@fast']);
    expect([get.firstKey, get.lastKey, get.step]).toEqual([1, 1, 1]);
    expect(get.keySpecs).toEqual([{ begin: { kind: 'index', index: 1 }, find: { kind: 'range', lastKey: 0, step: 1, limit: 0 } }]);
  });

  it('reads container subcommands with their own categories', () => {
    const object = table.get('object')!;
    expect(object.subcommands).toBeDefined();
    expect(table.get('object|encoding')!.categories).toContain('@read');
    expect(table.get('object|help')!.categories).not.toContain('@read');
  });

  it('reads the same table from a RESP3 reply with maps and sets', () => {
    const t3 = CommandTable.parse(decodeValue(COMMAND_INFO_RESP3));
    expect(t3.get('get')).toEqual(table.get('get'));
    expect(t3.get('xread')!.keySpecs).toEqual(table.get('xread')!.keySpecs);
    expect(t3.get('xread')!.keySpecs[0]!.begin).toEqual({ kind: 'keyword', keyword: 'STREAMS', startFrom: 1 });
  });

  it('throws the server message when COMMAND was refused', () => {
    expect(() => CommandTable.parse(new RespErrorReply("NOPERM this user has no permissions to run the 'command' command"))).toThrow(/NOPERM/);
  });

  it('skips entries it cannot read instead of failing the whole table', () => {
    const t = CommandTable.parse([null, 'junk', [Buffer.from('ping'), -1, [], 0, 0, 0, ['@fast', '@connection']]]);
    expect(t.names()).toEqual(['ping']);
    expect(t.get('ping')!.categories).toEqual(['@fast', '@connection']);
  });
});

describe('CommandTable.resolve', () => {
  const table = CommandTable.parse(decodeValue(COMMAND_INFO_RESP2));

  it('names a container command by its subcommand, in lower case', () => {
    const r = table.resolve('object', argv('OBJECT', 'ENCODING', 'k'));
    expect(r.name).toBe('object|encoding');
    expect(r.subcommand).toBe(true);
    expect(r.categories).toEqual(table.get('object|encoding')!.categories);
  });

  it('takes a subcommand only for commands the table describes as containers, as Redis does (DEBUG is none)', () => {
    const builtin = builtinCommandTable();
    expect(builtin.resolve('debug', argv('DEBUG', 'SLEEP', '0'))).toMatchObject({ name: 'debug', subcommand: false });
    expect(builtin.resolve('debug', argv('DEBUG', 'SLEEP', '0')).categories).toContain('@dangerous');
    // A table that knows nothing makes nothing a container: CONFIG is then an unknown command.
    expect(CommandTable.empty().resolve('config', argv('CONFIG', 'SET', 'maxmemory', '1'))).toMatchObject({ name: 'config', subcommand: false, categories: [] });
  });

  it('names a Redis 6 container by its first argument, with the container\'s own categories', () => {
    const redis6 = CommandTable.fromInfos([
      { name: 'config', arity: -2, flags: [], categories: ['@admin', '@slow', '@dangerous'], firstKey: 0, lastKey: 0, step: 0, keySpecs: [] },
      { name: 'debug', arity: -2, flags: [], categories: ['@admin', '@slow', '@dangerous'], firstKey: 0, lastKey: 0, step: 0, keySpecs: [] },
    ]);
    expect(redis6.resolve('config', argv('CONFIG', 'SET', 'maxmemory', '1'))).toMatchObject({ name: 'config|set', subcommand: true, categories: ['@admin', '@slow', '@dangerous'] });
    expect(redis6.resolve('config', argv('CONFIG', 'set\0x'))).toMatchObject({ malformed: true });
    expect(redis6.resolve('debug', argv('DEBUG', 'SLEEP', '0'))).toMatchObject({ name: 'debug', subcommand: false });
  });

  it('flags names with bytes no command name has, and quotes them byte for byte', () => {
    const builtin = builtinCommandTable();
    const nul = builtin.resolve('config\u0000x', [Buffer.from('config\0x'), Buffer.from('get'), Buffer.from('maxmemory')]);
    expect(nul).toMatchObject({ malformed: true, name: '"config\\x00x"', categories: [] });
    expect(builtin.resolve('config', argv('CONFIG', 'get\0x', 'maxmemory'))).toMatchObject({ malformed: true, name: 'config|"get\\x00x"' });
    expect(builtin.resolve('config|get', argv('config|get', 'maxmemory')).malformed).toBe(true);
    expect(builtin.resolve('get', argv('GET', 'k')).malformed).toBe(false);
    expect(builtin.resolve('', [Buffer.alloc(0)]).malformed).toBe(true);
  });

  it('keeps a container name when no subcommand was given', () => {
    expect(table.resolve('object', argv('OBJECT')).name).toBe('object');
  });

  it('gives an unknown command no categories', () => {
    expect(table.resolve('nosuchcmd', argv('NOSUCHCMD', 'x'))).toMatchObject({ name: 'nosuchcmd', info: undefined, categories: [] });
  });

  it('caps a long subcommand name instead of copying it whole', () => {
    const r = builtinCommandTable().resolve('client', [Buffer.from('CLIENT'), Buffer.alloc(100_000, 0x41)]);
    expect(r).toMatchObject({ subcommand: true, info: undefined, categories: [], malformed: false });
    expect(r.name.length).toBeLessThan(200);
  });
});

describe('keyPositions', () => {
  const table = CommandTable.parse(decodeValue(COMMAND_INFO_RESP2));

  it('finds single and interleaved keys', () => {
    expect(keysOf(table, 'GET', 'user:1')).toEqual(['user:1']);
    expect(keysOf(table, 'SET', 'user:1', 'v', 'EX', '10')).toEqual(['user:1']);
    expect(keysOf(table, 'MSET', 'a', '1', 'b', '2', 'c', '3')).toEqual(['a', 'b', 'c']);
  });

  it('follows key counts (numkeys) and keywords', () => {
    expect(keysOf(table, 'EVAL', 'return 1', '2', 'k1', 'k2', 'arg')).toEqual(['k1', 'k2']);
    expect(keysOf(table, 'ZUNIONSTORE', 'dest', '2', 's1', 's2', 'WEIGHTS', '1', '2')).toEqual(['dest', 's1', 's2']);
    expect(keysOf(table, 'XREAD', 'COUNT', '2', 'STREAMS', 's1', 's2', '0', '0')).toEqual(['s1', 's2']);
    expect(keysOf(table, 'xread', 'block', '0', 'streams', 'only', '$')).toEqual(['only']);
    expect(keysOf(table, 'GEORADIUS', 'geo', '1', '2', '3', 'km', 'STORE', 'dst')).toEqual(['geo', 'dst']);
    // The empty key placeholder of MIGRATE … KEYS is a key position in the spec, as in Redis.
    expect(keysOf(table, 'MIGRATE', 'h', '1', '', '0', '5000', 'KEYS', 'a', 'b')).toEqual(['', 'a', 'b']);
    expect(keysOf(table, 'BLPOP', 'l1', 'l2', '0')).toEqual(['l1', 'l2']);
  });

  it('finds the key of a subcommand', () => {
    expect(keysOf(table, 'OBJECT', 'ENCODING', 'k')).toEqual(['k']);
  });

  it('yields nothing when the arguments do not fit the spec', () => {
    expect(keysOf(table, 'EVAL', 'return 1', 'x', 'k1')).toEqual([]);
    expect(keysOf(table, 'EVAL', 'return 1', '5', 'k1')).toEqual(['k1']);
    expect(keysOf(table, 'XREAD', 'COUNT', '2')).toEqual([]);
    expect(keyPositions(undefined, argv('X', 'y'))).toEqual([]);
  });

  it('uses first/last/step when a server gives no key specs (Redis 6)', () => {
    const info: CommandInfo = { name: 'mset', arity: -3, flags: [], categories: [], firstKey: 1, lastKey: -1, step: 2, keySpecs: [] };
    expect(keyPositions(info, argv('MSET', 'a', '1', 'b', '2'))).toEqual([1, 3]);
  });
});

describe('compact form and the built-in table', () => {
  it('round-trips commands with every kind of key spec', () => {
    const table = CommandTable.parse(decodeValue(COMMAND_INFO_RESP2));
    const lines: string[] = [];
    for (const name of table.names()) {
      const info = table.get(name)!;
      lines.push(formatCompact(info));
      for (const sub of info.subcommands?.values() ?? []) lines.push(formatCompact(sub));
    }
    const back = parseCompactTable(lines);
    for (const name of ['get', 'mset', 'eval', 'xread', 'zunionstore', 'georadius', 'migrate', 'object|encoding']) {
      const a = table.get(name)!;
      const b = back.get(name)!;
      expect({ ...b, flags: a.flags, subcommands: undefined }).toEqual({ ...a, subcommands: undefined });
    }
  });

  it('knows the dangerous and admin commands of Redis 7, so deny rules by category hold without COMMAND', () => {
    const t = builtinCommandTable();
    expect(t.size).toBeGreaterThan(200);
    expect(t.get('flushall')!.categories).toContain('@dangerous');
    expect(t.get('config|set')!.categories).toEqual(['@admin', '@slow', '@dangerous']);
    expect(t.get('get')!.categories).toEqual(['@read', '@string', '@fast']);
    expect(keysOf(t, 'XREADGROUP', 'GROUP', 'g', 'c', 'STREAMS', 's', '>')).toEqual(['s']);
  });
});
