import { describe, expect, it } from 'vitest';
import {
  OK,
  ReplyScanner,
  RequestParser,
  array,
  boolean,
  bulk,
  command,
  double,
  encodeValue,
  error,
  integer,
  map,
  nullValue,
  push,
  set,
  simpleString,
} from '../../../../src/redis/resp/index.js';

const text = (b: Buffer) => b.toString('latin1');

describe('encode: simple replies', () => {
  it('encodes a simple string', () => {
    expect(text(simpleString('OK'))).toBe('+OK\r\n');
    expect(text(OK)).toBe('+OK\r\n');
  });

  it('encodes an error with the message as given', () => {
    expect(text(error('ERR xport: access denied to flushall'))).toBe('-ERR xport: access denied to flushall\r\n');
  });

  it('collapses CR and LF in simple strings and errors so clients never see a broken line', () => {
    expect(text(error('ERR xport: line one\r\nline two\nthree'))).toBe('-ERR xport: line one  line two three\r\n');
    expect(text(simpleString('a\rb'))).toBe('+a b\r\n');
  });

  it('encodes integers, bigints included', () => {
    expect(text(integer(42))).toBe(':42\r\n');
    expect(text(integer(-7))).toBe(':-7\r\n');
    expect(text(integer(2n ** 63n - 1n))).toBe(':9223372036854775807\r\n');
    expect(() => integer(1.5)).toThrow('safe integer');
  });

  it('encodes doubles and booleans per protocol, as Redis does', () => {
    expect(text(double(3.5, true))).toBe(',3.5\r\n');
    expect(text(double(Infinity, true))).toBe(',inf\r\n');
    expect(text(double(3.5, false))).toBe('$3\r\n3.5\r\n');
    expect(text(boolean(true, true))).toBe('#t\r\n');
    expect(text(boolean(false, false))).toBe(':0\r\n');
  });
});

describe('encode: bulk strings and null', () => {
  it('encodes strings as UTF-8 bulk strings with their byte length', () => {
    expect(text(bulk('bar', false))).toBe('$3\r\nbar\r\n');
    expect(bulk('é', true).equals(Buffer.from('$2\r\né\r\n'))).toBe(true);
    expect(text(bulk(Buffer.from([0, 13, 10]), false))).toBe('$3\r\n\x00\r\n\r\n');
    expect(text(bulk('', false))).toBe('$0\r\n\r\n');
  });

  it('encodes null as $-1 in RESP2 and _ in RESP3', () => {
    expect(text(bulk(null, false))).toBe('$-1\r\n');
    expect(text(bulk(null, true))).toBe('_\r\n');
    expect(text(nullValue(false))).toBe('$-1\r\n');
  });
});

describe('encode: aggregates', () => {
  it('encodes an array of mixed values, nested', () => {
    expect(text(array(['a', 1, null, ['b']], false))).toBe('*4\r\n$1\r\na\r\n:1\r\n$-1\r\n*1\r\n$1\r\nb\r\n');
    expect(text(array([], true))).toBe('*0\r\n');
  });

  it('embeds already encoded replies verbatim', () => {
    const upstream = { raw: Buffer.from('+PONG\r\n') };
    expect(text(array([upstream, { raw: OK }], false))).toBe('*2\r\n+PONG\r\n+OK\r\n');
  });

  it('encodes the managed-user AUTH answer Teleport gives, as an array of bulk strings', () => {
    const reply = array(['OK', 'Please note that AUTH commands are ignored.'], false);
    expect(text(reply)).toBe('*2\r\n$2\r\nOK\r\n$43\r\nPlease note that AUTH commands are ignored.\r\n');
  });

  it('encodes a map as % in RESP3 and as a flat array in RESP2', () => {
    const entries: [string, number][] = [['server', 1], ['proto', 3]];
    expect(text(map(entries, true))).toBe('%2\r\n$6\r\nserver\r\n:1\r\n$5\r\nproto\r\n:3\r\n');
    expect(text(map(new Map(entries), false))).toBe('*4\r\n$6\r\nserver\r\n:1\r\n$5\r\nproto\r\n:3\r\n');
  });

  it('encodes a set as ~ in RESP3 and as an array in RESP2', () => {
    expect(text(set(['a'], true))).toBe('~1\r\n$1\r\na\r\n');
    expect(text(set(['a'], false))).toBe('*1\r\n$1\r\na\r\n');
  });

  it('encodes a push as > in RESP3 and as an array in RESP2', () => {
    expect(text(push(['message', 'ch', 'hi']))).toBe('>3\r\n$7\r\nmessage\r\n$2\r\nch\r\n$2\r\nhi\r\n');
    expect(text(push(['pong', ''], false))).toBe('*2\r\n$4\r\npong\r\n$0\r\n\r\n');
  });

  it('encodes RESP3 nulls inside aggregates', () => {
    expect(text(encodeValue([null], true))).toBe('*1\r\n_\r\n');
  });

  it('produces frames the reply scanner reads back whole', () => {
    const s = new ReplyScanner();
    const replies = [OK, error('ERR x'), integer(1), bulk(null, true), array(['a', ['b', 2]], true), map([['k', 'v']], true), push(['x'])];
    s.push(Buffer.concat(replies));
    const frames = [];
    for (let f = s.next(); f; f = s.next()) frames.push(f);
    expect(frames.map((f) => f.raw.toString('latin1'))).toEqual(replies.map(text));
    expect(frames.map((f) => f.type).join('')).toBe('+-:_*%>');
  });
});

describe('encode: commands', () => {
  it('encodes a command as a multibulk request', () => {
    expect(text(command(['AUTH', 'alice', 'secret']))).toBe('*3\r\n$4\r\nAUTH\r\n$5\r\nalice\r\n$6\r\nsecret\r\n');
    expect(text(command(['PING']))).toBe('*1\r\n$4\r\nPING\r\n');
  });

  it('encodes binary and UTF-8 arguments by byte length, and the parser reads them back', () => {
    const args = ['SET', 'clé', Buffer.from([0, 0x0d, 0x0a, 0xff])];
    const wire = command(args);
    const p = new RequestParser();
    p.push(wire);
    const r = p.next()!;
    expect(r.raw.equals(wire)).toBe(true);
    expect(r.args[1]!.toString('utf8')).toBe('clé');
    expect(r.args[2]!.equals(args[2] as Buffer)).toBe(true);
  });

  it('encodes long argument lists with multi-digit counts exactly', () => {
    const args = Array.from({ length: 12 }, (_, k) => 'x'.repeat(k * 10));
    const wire = command(args);
    expect(text(wire)).toBe(`*12\r\n` + args.map((a) => `$${a.length}\r\n${a}\r\n`).join(''));
  });
});
