import { PassThrough } from 'node:stream';
import { describe, expect, it } from 'vitest';
import { BUDGET, ClientPause, ClientWriter, HELD, UPSTREAM_FULL, writeBatch } from '../../../src/redis/backpressure.js';

const counters = () => ({ upstreamPauses: 0, clientPauses: 0 });

describe('backpressure', () => {
  it('pauses the client once and resumes it only when every reason is gone', () => {
    const client = new PassThrough();
    const c = counters();
    const p = new ClientPause(client, c);
    p.pause(UPSTREAM_FULL);
    p.pause(HELD);
    expect(client.isPaused()).toBe(true);
    expect(c.clientPauses).toBe(1);
    expect(p.unpause(UPSTREAM_FULL, false)).toBe(false);
    expect(client.isPaused()).toBe(true);
    expect(p.unpause(BUDGET, false)).toBe(false);
    expect(p.unpause(HELD, false)).toBe(true);
    expect(client.isPaused()).toBe(false);
  });

  it('does not resume a finished session', () => {
    const client = new PassThrough();
    const p = new ClientPause(client, counters());
    p.pause(HELD);
    expect(p.unpause(HELD, true)).toBe(false);
    expect(client.isPaused()).toBe(true);
  });

  it('writes small batches as one buffer and stops reading upstream until a full client drains', async () => {
    const client = new PassThrough({ highWaterMark: 16 });
    const c = counters();
    let paused = 0;
    let resumed = 0;
    const w = new ClientWriter(client, c, () => paused++, () => resumed++);
    w.write([Buffer.from('+OK\r\n'), Buffer.from(':1\r\n')]);
    expect(client.read()?.toString()).toBe('+OK\r\n:1\r\n');
    w.write([Buffer.alloc(64, 0x61)]);
    w.write([Buffer.alloc(64, 0x62)]);
    expect(w.upstreamPaused).toBe(true);
    expect(paused).toBe(1);
    expect(c.upstreamPauses).toBe(1);
    while (client.read() !== null);
    await new Promise((r) => setImmediate(r));
    expect(resumed).toBe(1);
    expect(w.upstreamPaused).toBe(false);
  });

  it('corks a large batch instead of copying it', () => {
    const client = new PassThrough({ highWaterMark: 1 << 20 });
    const parts = [Buffer.alloc(40_000, 1), Buffer.alloc(40_000, 2)];
    writeBatch(client, parts);
    const out = client.read() as Buffer;
    expect(out.length).toBe(80_000);
    expect(out[0]).toBe(1);
    expect(out[79_999]).toBe(2);
  });
});
