import { describe, expect, it } from 'vitest';
import { commonSlot, CROSS_SLOT, groupBySlot, keySlot, NO_KEYS } from '../../../../src/redis/cluster/slots.js';

const b = (s: string) => Buffer.from(s);

describe('key slots', () => {
  it('hashes keys with CRC16 mod 16384 and honours hash tags', () => {
    expect(keySlot('foo')).toBe(12182);
    expect(keySlot('123456789')).toBe(0x31c3 % 16384);
    expect(keySlot(b('{user1000}.following'))).toBe(keySlot('user1000'));
    expect(keySlot('{}x')).not.toBe(keySlot('x')); // an empty tag hashes the whole key
  });

  it('finds the one slot of a command\'s keys, or says there are none or several', () => {
    const args = [b('MSET'), b('{t}a'), b('1'), b('{t}b'), b('2'), b('other')];
    expect(commonSlot(args, [1, 3])).toBe(keySlot('t'));
    expect(commonSlot(args, [])).toBe(NO_KEYS);
    expect(commonSlot(args, [1, 5])).toBe(CROSS_SLOT);
  });
});

describe('groupBySlot', () => {
  it('groups keys by slot in order of first appearance, keeping each key\'s index', () => {
    const keys = ['{a}1', '{b}1', '{a}2', '{c}1', '{b}2', '{a}1'].map(b);
    expect(groupBySlot(keys)).toEqual([
      { slot: keySlot('a'), indexes: [0, 2, 5] },
      { slot: keySlot('b'), indexes: [1, 4] },
      { slot: keySlot('c'), indexes: [3] },
    ]);
    expect(groupBySlot([])).toEqual([]);
  });
});
