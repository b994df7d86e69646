import { describe, expect, it } from 'vitest';
import { formatDuration, humanDuration, parseDuration } from '../../../src/util/duration.js';
import { parseHostPort, formatHostPort } from '../../../src/util/net.js';
import { escapeControl } from '../../../src/util/escape.js';

describe('durations', () => {
  it('reads bare numbers in the given unit and Go-style durations', () => {
    expect(parseDuration('90')).toBe(90 * 60_000);
    expect(parseDuration('30', 'ttl', 's')).toBe(30_000);
    expect(parseDuration('1h30m')).toBe(90 * 60_000);
    expect(parseDuration('2d')).toBe(2 * 86_400_000);
    expect(parseDuration('1.5h')).toBe(90 * 60_000);
  });
  it('rejects garbage and non-positive values naming the flag', () => {
    expect(() => parseDuration('soon', '--ttl')).toThrow('invalid --ttl "soon"');
    expect(() => parseDuration('0', '--ttl')).toThrow('--ttl must be positive');
    expect(() => parseDuration('5x')).toThrow();
    expect(() => parseDuration('')).toThrow();
  });
  it('formats like tsh and in words', () => {
    expect(formatDuration(11 * 3_600_000 + 59 * 60_000)).toBe('11h59m0s');
    expect(formatDuration(61_000)).toBe('1m1s');
    expect(formatDuration(-5)).toBe('0s');
    expect(humanDuration(3_600_000)).toBe('1 hour');
    expect(humanDuration(8 * 3_600_000)).toBe('8 hours');
    expect(humanDuration(30 * 60_000)).toBe('30 minutes');
  });
});

describe('addresses and escaping', () => {
  it('parses host:port, IPv6 and defaults', () => {
    expect(parseHostPort('localhost:3080')).toEqual({ host: 'localhost', port: 3080 });
    expect(parseHostPort('[::1]:443')).toEqual({ host: '::1', port: 443 });
    expect(parseHostPort('example.com', 3080)).toEqual({ host: 'example.com', port: 3080 });
    expect(formatHostPort({ host: '::1', port: 1 })).toBe('[::1]:1');
    expect(() => parseHostPort('a:b:c')).toThrow('invalid address');
    expect(() => parseHostPort('host:99999')).toThrow();
  });
  it('neutralises terminal escape sequences from servers', () => {
    expect(escapeControl('ok\u001b[31mred')).toBe('ok\\x1b[31mred');
    expect(escapeControl('line\nnext\ttab')).toBe('line\nnext\ttab');
  });
});
