import { describe, expect, it } from 'vitest';
import {
  aggregateElements,
  mergeAllOk,
  mergeAllTrue,
  mergeAnyOk,
  mergeConcat,
  mergeInKeyOrder,
  mergeMin,
  mergeSum,
  readInteger,
  type NodeReply,
} from '../../../../src/redis/cluster/merge.js';
import { groupBySlot } from '../../../../src/redis/cluster/slots.js';

const r = (s: string): NodeReply => ({ raw: Buffer.from(s, 'latin1'), isError: s.startsWith('-') || s.startsWith('!') });
const text = (b: Buffer) => b.toString('latin1');

describe('splitting aggregates', () => {
  it('returns the raw bytes of each element, nested ones included', () => {
    const els = aggregateElements(Buffer.from('*4\r\n$1\r\na\r\n$-1\r\n*2\r\n:1\r\n_\r\n%1\r\n+k\r\n,1.5\r\n'));
    expect(els!.map(text)).toEqual(['$1\r\na\r\n', '$-1\r\n', '*2\r\n:1\r\n_\r\n', '%1\r\n+k\r\n,1.5\r\n']);
    expect(aggregateElements(Buffer.from('~1\r\n$1\r\nx\r\n'))!.map(text)).toEqual(['$1\r\nx\r\n']);
    expect(aggregateElements(Buffer.from('*0\r\n'))).toEqual([]);
    expect(aggregateElements(Buffer.from('*-1\r\n'))).toBeUndefined();
    expect(aggregateElements(Buffer.from(':1\r\n'))).toBeUndefined();
    expect(readInteger(Buffer.from(':-42\r\n'))).toBe(-42n);
    expect(readInteger(Buffer.from('$2\r\n42\r\n'))).toBeUndefined();
  });
});

describe('fan-out merges', () => {
  it('sums integers (DBSIZE, DEL…), beyond 2^53 too', () => {
    expect(text(mergeSum([r(':3\r\n'), r(':0\r\n'), r(':4\r\n')], 'dbsize'))).toBe(':7\r\n');
    expect(text(mergeSum([r(':9007199254740993\r\n'), r(':1\r\n')], 'dbsize'))).toBe(':9007199254740994\r\n');
    expect(text(mergeSum([r('$1\r\nx\r\n')], 'dbsize'))).toMatch(/^-ERR xport: unexpected reply from a cluster node to dbsize/);
  });

  it('passes the first error through unchanged, in node order', () => {
    const replies = [r(':1\r\n'), r('-NOPERM no\r\n'), r('-ERR other\r\n')];
    for (const merged of [mergeSum(replies, 'x'), mergeConcat(replies, 'x'), mergeAllOk(replies), mergeAllTrue(replies, 'x'), mergeMin(replies, 'x')]) {
      expect(text(merged)).toBe('-NOPERM no\r\n');
    }
  });

  it('concatenates arrays in shard order without re-encoding elements (KEYS)', () => {
    expect(text(mergeConcat([r('*2\r\n$1\r\na\r\n$1\r\nb\r\n'), r('*0\r\n'), r('*1\r\n$3\r\nc\xff\r\r\n')], 'keys'))).toBe('*3\r\n$1\r\na\r\n$1\r\nb\r\n$3\r\nc\xff\r\r\n');
  });

  it('ANDs SCRIPT EXISTS flags: 1 only where every master has the script', () => {
    expect(text(mergeAllTrue([r('*3\r\n:1\r\n:1\r\n:0\r\n'), r('*3\r\n:1\r\n:0\r\n:0\r\n')], 'script|exists'))).toBe('*3\r\n:1\r\n:0\r\n:0\r\n');
    expect(text(mergeAllTrue([r('*1\r\n:1\r\n'), r('*2\r\n:1\r\n:1\r\n')], 'script|exists'))).toMatch(/^-ERR xport:/);
  });

  it('keeps the first reply when all succeed, or the first success for any-ok', () => {
    expect(text(mergeAllOk([r('+OK\r\n'), r('+OK\r\n')]))).toBe('+OK\r\n');
    expect(text(mergeAnyOk([r('-NOTBUSY No scripts in execution right now.\r\n'), r('+OK\r\n')]))).toBe('+OK\r\n');
    expect(text(mergeAnyOk([r('-NOTBUSY a\r\n'), r('-NOTBUSY b\r\n')]))).toBe('-NOTBUSY a\r\n');
    expect(text(mergeMin([r(':2\r\n'), r(':1\r\n'), r(':3\r\n')], 'wait'))).toBe(':1\r\n');
  });
});

describe('mergeInKeyOrder', () => {
  it('puts per-slot MGET values back in the client\'s key order, duplicates and nulls included', () => {
    const keys = ['{a}1', '{b}1', '{a}2', 'missing', '{b}1'].map((k) => Buffer.from(k));
    const groups = groupBySlot(keys);
    // One reply per group, elements in the group's key order.
    const replies = groups.map((g) => {
      const els = g.indexes.map((i) => (keys[i]!.toString() === 'missing' ? '_\r\n' : `$${keys[i]!.length + 2}\r\nv:${keys[i]}\r\n`));
      return r(`*${els.length}\r\n${els.join('')}`);
    });
    expect(text(mergeInKeyOrder(replies, groups, keys.length, 'mget'))).toBe(
      '*5\r\n$6\r\nv:{a}1\r\n$6\r\nv:{b}1\r\n$6\r\nv:{a}2\r\n_\r\n$6\r\nv:{b}1\r\n',
    );
  });

  it('fails clearly when a node answers with the wrong number of elements', () => {
    const keys = ['{a}1', '{b}1'].map((k) => Buffer.from(k));
    const groups = groupBySlot(keys);
    expect(text(mergeInKeyOrder([r('*0\r\n'), r('*1\r\n$1\r\nx\r\n')], groups, 2, 'mget'))).toMatch(/^-ERR xport: unexpected reply/);
  });
});
