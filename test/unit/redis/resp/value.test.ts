import { describe, expect, it } from 'vitest';
import { RespErrorReply, RespMap, decodeValue, frameHead, valueText } from '../../../../src/redis/resp/value.js';
import { RespProtocolError } from '../../../../src/redis/resp/index.js';

const b = (s: string) => Buffer.from(s, 'latin1');

describe('decodeValue', () => {
  it('decodes RESP2 scalars: simple strings as text, bulk strings as buffers, integers, nulls and errors', () => {
    expect(decodeValue(b('+OK\r\n'))).toBe('OK');
    expect(decodeValue(b('$5\r\nhello\r\n'))).toEqual(Buffer.from('hello'));
    expect(decodeValue(b(':-42\r\n'))).toBe(-42);
    expect(decodeValue(b('$-1\r\n'))).toBeNull();
    expect(decodeValue(b('*-1\r\n'))).toBeNull();
    const e = decodeValue(b('-WRONGTYPE Operation against a key\r\n'));
    expect(e).toBeInstanceOf(RespErrorReply);
    expect((e as RespErrorReply).message).toBe('WRONGTYPE Operation against a key');
  });

  it('returns bulk strings as views of the frame, not copies', () => {
    const frame = b('*2\r\n$3\r\nabc\r\n$1\r\nx\r\n');
    const v = decodeValue(frame) as Buffer[];
    expect(v[0]!.buffer).toBe(frame.buffer);
  });

  it('decodes RESP3 types: maps, sets, pushes, doubles, booleans, big numbers, verbatim and blob errors', () => {
    const m = decodeValue(b('%2\r\n+a\r\n:1\r\n+b\r\n_\r\n')) as RespMap;
    expect(m).toBeInstanceOf(RespMap);
    expect(m.entries).toEqual([['a', 1], ['b', null]]);
    expect(decodeValue(b('~2\r\n+x\r\n+y\r\n'))).toEqual(['x', 'y']);
    expect(decodeValue(b('>3\r\n$7\r\nmessage\r\n$1\r\nc\r\n$1\r\np\r\n'))).toEqual([b('message'), b('c'), b('p')]);
    expect(decodeValue(b(',3.5\r\n'))).toBe(3.5);
    expect(decodeValue(b(',-inf\r\n'))).toBe(-Infinity);
    expect(decodeValue(b('#t\r\n'))).toBe(true);
    expect(decodeValue(b('(12345678901234567890\r\n'))).toBe(12345678901234567890n);
    expect(decodeValue(b('=9\r\ntxt:hello\r\n'))).toBe('hello');
    expect((decodeValue(b('!9\r\nERR oops!\r\n')) as RespErrorReply).message).toBe('ERR oops!');
  });

  it('keeps integers beyond 2^53 exact as bigint', () => {
    expect(decodeValue(b(':9007199254740993\r\n'))).toBe(9007199254740993n);
  });

  it('skips attributes and returns the annotated value', () => {
    expect(decodeValue(b('|1\r\n+ttl\r\n:3\r\n+OK\r\n'))).toBe('OK');
  });

  it('rejects truncated, trailing, malformed and too deeply nested input', () => {
    expect(() => decodeValue(b('$5\r\nhel'))).toThrow(RespProtocolError);
    expect(() => decodeValue(b('+OK\r\n+OK\r\n'))).toThrow(/trailing/);
    expect(() => decodeValue(b('?\r\n'))).toThrow(/type byte/);
    expect(() => decodeValue(b('*1\r\n'.repeat(10) + ':1\r\n'), { maxDepth: 5 })).toThrow(/deeper/);
  });
});

describe('frameHead', () => {
  it('reads the first element and the count of an array or push without decoding the rest', () => {
    expect(frameHead(b('*3\r\n$7\r\nmessage\r\n$1\r\nc\r\n$3\r\nbig\r\n'))).toEqual({ count: 3, first: b('message') });
    expect(frameHead(b('>3\r\n$9\r\nsubscribe\r\n$1\r\na\r\n:1\r\n'))!.count).toBe(3);
    expect(frameHead(b('+OK\r\n'))).toBeUndefined();
    expect(frameHead(b('*0\r\n'))).toBeUndefined();
  });

  it('valueText reads simple and bulk strings only', () => {
    expect(valueText('x')).toBe('x');
    expect(valueText(b('y'))).toBe('y');
    expect(valueText(3)).toBeUndefined();
  });
});
