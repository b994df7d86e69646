import { describe, expect, it } from 'vitest';
import { splitInlineArgs } from '../../../../src/redis/resp/index.js';

const split = (s: string) => splitInlineArgs(Buffer.from(s, 'latin1'))?.map((a) => a.toString('latin1')) ?? null;

describe('splitInlineArgs (Redis sdssplitargs rules)', () => {
  it('splits on spaces, tabs and line breaks and skips leading and trailing blanks', () => {
    expect(split('  SET\tk  v \r\n')).toEqual(['SET', 'k', 'v']);
    expect(split('')).toEqual([]);
    expect(split(' \t\r\n')).toEqual([]);
  });

  it('returns plain words as views of the line', () => {
    const line = Buffer.from('GET key');
    const args = splitInlineArgs(line)!;
    expect(args.every((a) => a.buffer === line.buffer)).toBe(true);
  });

  it('decodes double-quoted escapes', () => {
    expect(split('"a\\tb" "\\x00\\xfF" "\\q" "\\\\"')).toEqual(['a\tb', '\x00\xff', 'q', '\\']);
  });

  it('leaves an incomplete \\x escape as plain characters', () => {
    expect(split('"\\x4g"')).toEqual(['x4g']);
  });

  it('keeps backslashes literal inside single quotes except before a quote', () => {
    expect(split("'a\\\"b' 'c\\'d'")).toEqual(['a\\"b', "c'd"]);
  });

  it('joins a quote that starts in the middle of a word', () => {
    expect(split('foo"bar baz" x')).toEqual(['foobar baz', 'x']);
  });

  it('accepts empty quoted words', () => {
    expect(split('SET k ""')).toEqual(['SET', 'k', '']);
  });

  it('stops at a NUL byte, as the C string Redis parses does', () => {
    expect(split('GET a\x00b c')).toEqual(['GET', 'a']);
  });

  it('rejects unterminated quotes and quotes glued to the next word', () => {
    expect(split('"abc')).toBeNull();
    expect(split("'abc")).toBeNull();
    expect(split('"a"b')).toBeNull();
    expect(split("'a'b")).toBeNull();
    expect(split('"abc\\"')).toBeNull();
  });
});
