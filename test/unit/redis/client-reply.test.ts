import { describe, expect, it } from 'vitest';
import { ClientReplyMode } from '../../../src/redis/client-reply.js';

const args = (...xs: string[]) => ['CLIENT', 'REPLY', ...xs].map((x) => Buffer.from(x, 'latin1'));

describe('CLIENT REPLY mode', () => {
  it('answers nothing after OFF until ON, which answers +OK', () => {
    const m = new ClientReplyMode();
    expect(m.apply(args('OFF'))).toBeUndefined();
    m.handled();
    expect(m.silentNow()).toBe(true);
    expect(m.apply(args('on'))?.toString()).toBe('+OK\r\n');
    expect(m.silentNow()).toBe(false);
  });

  it('silences exactly the one command after SKIP', () => {
    const m = new ClientReplyMode();
    expect(m.apply(args('SKIP'))).toBeUndefined();
    expect(m.silentNow()).toBe(false); // SKIP itself gets no reply because Redis sends none, not because it is silenced
    m.handled();
    expect(m.silentNow()).toBe(true);
    m.handled();
    expect(m.silentNow()).toBe(false);
  });

  it('ignores SKIP while OFF, compares options as C strings and answers Redis own errors', () => {
    const m = new ClientReplyMode();
    m.apply(args('OFF'));
    m.apply(args('SKIP'));
    m.handled();
    m.apply(args('ON'));
    m.handled();
    expect(m.silentNow()).toBe(false);
    expect(m.apply(args('OFF\0junk'))).toBeUndefined();
    expect(m.silentNow()).toBe(true);
    expect(m.apply(args())?.toString()).toBe("-ERR wrong number of arguments for 'client|reply' command\r\n");
    expect(m.apply(args('LOUD'))?.toString()).toBe('-ERR syntax error\r\n');
  });

  it('is turned back on by RESET', () => {
    const m = new ClientReplyMode();
    m.apply(args('OFF'));
    m.reset();
    expect(m.silentNow()).toBe(false);
  });
});
