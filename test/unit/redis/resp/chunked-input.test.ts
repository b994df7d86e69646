import { describe, expect, it } from 'vitest';
import { RequestParser, coalesceSlices } from '../../../../src/redis/resp/index.js';

describe('coalesceSlices', () => {
  it('merges the raw bytes of pipelined requests back into one write', () => {
    const chunk = Buffer.from('*1\r\n$4\r\nPING\r\n*2\r\n$3\r\nGET\r\n$1\r\nk\r\nPING\r\n');
    const p = new RequestParser();
    p.push(chunk);
    const raws = [...p].map((r) => r.raw);
    expect(raws).toHaveLength(3);
    const merged = coalesceSlices(raws);
    expect(merged).toHaveLength(1);
    expect(merged[0]!.equals(chunk)).toBe(true);
  });

  it('keeps slices apart when a request in between was dropped', () => {
    const chunk = Buffer.from('+A+B+C');
    const merged = coalesceSlices([chunk.subarray(0, 2), chunk.subarray(4, 6)]);
    expect(merged.map(String)).toEqual(['+A', '+C']);
  });

  it('keeps slices of different buffers apart and skips empty ones', () => {
    const a = Buffer.alloc(2, 'ab'); // unpooled: never adjacent to b
    const b = Buffer.alloc(2, 'cd');
    expect(coalesceSlices([a, Buffer.alloc(0), b]).map(String)).toEqual(['ab', 'cd']);
  });
});
