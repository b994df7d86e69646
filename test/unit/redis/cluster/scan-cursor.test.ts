import { describe, expect, it } from 'vitest';
import { scanReply } from '../../../../src/redis/cluster/fan-out.js';
import { decodeScanCursor, encodeScanCursor, MAX_SCAN_SHARDS } from '../../../../src/redis/cluster/scan-cursor.js';

describe('the cluster-wide SCAN cursor', () => {
  it('is 0 at the start of shard 0 and puts the shard in the low 10 bits', () => {
    expect(encodeScanCursor({ shard: 0, nodeCursor: 0n })).toBe('0');
    expect(encodeScanCursor({ shard: 1, nodeCursor: 0n })).toBe('1');
    expect(encodeScanCursor({ shard: 2, nodeCursor: 5n })).toBe(String(5 * 1024 + 2));
  });

  it('round-trips shard and node cursor, up to 2^54 - 1 node cursors', () => {
    const cases = [
      { shard: 0, nodeCursor: 1n },
      { shard: 2, nodeCursor: 1234567n },
      { shard: 1023, nodeCursor: (1n << 54n) - 1n },
      { shard: 7, nodeCursor: 0n },
    ];
    for (const c of cases) expect(decodeScanCursor(encodeScanCursor(c))).toEqual(c);
  });

  it('stays within an unsigned 64-bit integer', () => {
    expect(BigInt(encodeScanCursor({ shard: MAX_SCAN_SHARDS - 1, nodeCursor: (1n << 54n) - 1n }))).toBe((1n << 64n) - 1n);
    expect(() => encodeScanCursor({ shard: 0, nodeCursor: 1n << 54n })).toThrow(RangeError);
    expect(() => encodeScanCursor({ shard: MAX_SCAN_SHARDS, nodeCursor: 0n })).toThrow(RangeError);
  });

  it('refuses what Redis calls an invalid cursor', () => {
    for (const bad of ['', '-1', 'abc', '1.5', ' 1', '18446744073709551616', '1'.repeat(21)]) expect(decodeScanCursor(bad), bad).toBeUndefined();
    expect(decodeScanCursor('18446744073709551615')).toEqual({ shard: 1023, nodeCursor: (1n << 54n) - 1n });
  });
});

describe('scanReply', () => {
  const reply = (cursor: string, keys: string[]) => ({
    raw: Buffer.from(`*2\r\n$${cursor.length}\r\n${cursor}\r\n*${keys.length}\r\n${keys.map((k) => `$${k.length}\r\n${k}\r\n`).join('')}`),
    isError: false,
  });
  const cursorOf = (b: Buffer) => b.toString().split('\r\n')[2]!;

  it('continues on the same shard while its master has more', () => {
    const out = scanReply(reply('17', ['a', 'b']), 1, 3);
    expect(decodeScanCursor(cursorOf(out))).toEqual({ shard: 1, nodeCursor: 17n });
    expect(out.toString()).toBe(`*2\r\n$${cursorOf(out).length}\r\n${cursorOf(out)}\r\n*2\r\n$1\r\na\r\n$1\r\nb\r\n`);
  });

  it('moves to the next shard when one is done, and ends with 0 after the last', () => {
    expect(decodeScanCursor(cursorOf(scanReply(reply('0', ['x']), 0, 3)))).toEqual({ shard: 1, nodeCursor: 0n });
    expect(cursorOf(scanReply(reply('0', []), 2, 3))).toBe('0');
  });

  it('passes errors through and refuses replies that are not SCAN replies', () => {
    const err = { raw: Buffer.from('-NOPERM no\r\n'), isError: true };
    expect(scanReply(err, 0, 3)).toBe(err.raw);
    expect(scanReply({ raw: Buffer.from(':1\r\n'), isError: false }, 0, 3).toString()).toMatch(/^-ERR xport: unexpected reply/);
  });
});
