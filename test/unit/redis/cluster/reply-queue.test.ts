import { describe, expect, it } from 'vitest';
import { ReplyQueue } from '../../../../src/redis/cluster/reply-queue.js';

const t = (out: Buffer[] | undefined) => out?.map((b) => b.toString()).join('|');

describe('cluster reply queue', () => {
  it('hands out replies in request order although they complete out of order', () => {
    const q = new ReplyQueue();
    const a = q.entry();
    const b = q.entry();
    q.local(Buffer.from('L'));
    q.complete(b, Buffer.from('B'));
    expect(q.take()).toBeUndefined();
    expect(q.pending).toBe(3);
    q.complete(a, Buffer.from('A'));
    expect(t(q.take())).toBe('A|B|L');
    expect(q.pending).toBe(0);
  });

  it('answers a local reply at once when nothing is owed', () => {
    const q = new ReplyQueue();
    q.local(Buffer.from('PONG'));
    expect(q.pending).toBe(0);
    expect(t(q.take())).toBe('PONG');
  });

  it('keeps the place of a silenced request but drops its bytes (CLIENT REPLY OFF)', () => {
    const q = new ReplyQueue();
    q.silent = true;
    const a = q.entry();
    q.local(Buffer.from('dropped'));
    q.silent = false;
    const b = q.entry();
    q.complete(b, Buffer.from('B'));
    expect(q.take()).toBeUndefined();
    q.complete(a, Buffer.from('A'));
    expect(t(q.take())).toBe('B');
  });

  it('puts messages that arrive during a subscription after its confirmations', () => {
    const q = new ReplyQueue();
    const sub = q.entry();
    q.subEntry = sub;
    sub.out = [Buffer.from('confirm1')];
    q.outOfBand(Buffer.from('message'));
    (sub.out as Buffer[]).push(Buffer.from('confirm2'));
    sub.done = true;
    expect(t(q.take())).toBe('confirm1|message|confirm2');
    expect(q.subEntry).toBeUndefined();
    q.outOfBand(Buffer.from('later'));
    expect(t(q.take())).toBe('later');
  });

  it('compacts a long queue without losing order', () => {
    const q = new ReplyQueue();
    const entries = Array.from({ length: 3000 }, () => q.entry());
    entries.forEach((e, i) => {
      if (i < 2000) q.complete(e, Buffer.from(String(i)));
    });
    const first = q.take()!;
    expect(first).toHaveLength(2000);
    expect(q.pending).toBe(1000);
    entries.slice(2000).forEach((e, i) => q.complete(e, Buffer.from(String(2000 + i))));
    const rest = q.take()!;
    expect(rest.map(String)).toEqual(Array.from({ length: 1000 }, (_, i) => String(2000 + i)));
  });
});
