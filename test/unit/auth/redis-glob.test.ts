import { describe, expect, it } from 'vitest';
import { redisGlobMatch } from '../../../src/auth/redis-glob.js';

const m = (p: string, s: string | Buffer) => redisGlobMatch(Buffer.from(p, 'latin1'), Buffer.isBuffer(s) ? s : Buffer.from(s, 'latin1'));

describe('redisGlobMatch', () => {
  it('matches * and ? as Redis stringmatchlen does, case-sensitively', () => {
    expect(m('app:*', 'app:1')).toBe(true);
    expect(m('app:*', 'app:')).toBe(true);
    expect(m('app:*', 'App:1')).toBe(false);
    expect(m('app:*', 'other:1')).toBe(false);
    expect(m('a?c', 'abc')).toBe(true);
    expect(m('a?c', 'ac')).toBe(false);
    expect(m('*', '')).toBe(true);
    expect(m('a**b', 'axxb')).toBe(true);
    expect(m('*:end', 'x:y:end')).toBe(true);
  });

  it('reads classes, ranges, negation and escapes', () => {
    expect(m('k[abc]', 'kb')).toBe(true);
    expect(m('k[abc]', 'kd')).toBe(false);
    expect(m('k[^abc]', 'kd')).toBe(true);
    expect(m('k[a-c]', 'kb')).toBe(true);
    expect(m('k[c-a]', 'kb')).toBe(true);
    expect(m('k\\*', 'k*')).toBe(true);
    expect(m('k\\*', 'kx')).toBe(false);
  });

  it('compares binary keys byte for byte: a NUL or a longer key does not pass for a matching one', () => {
    expect(m('app:*', Buffer.from('app:\0x'))).toBe(true);
    expect(m('app:1', Buffer.from('app:1\0'))).toBe(false);
    expect(m('app:1', 'app:10')).toBe(false);
  });
});
