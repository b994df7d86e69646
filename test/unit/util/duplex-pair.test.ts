import { describe, expect, it } from 'vitest';
import { duplexPair } from '../../../src/util/duplex-pair.js';

describe('duplexPair', () => {
  it('carries bytes both ways and ends each direction on its own', async () => {
    const [a, b] = duplexPair();
    const fromA: Buffer[] = [];
    b.on('data', (d: Buffer) => fromA.push(d));
    const bEnded = new Promise((r) => b.once('end', r));
    a.write('hello ');
    a.end('world');
    await bEnded;
    expect(Buffer.concat(fromA).toString()).toBe('hello world');
    const got = new Promise<string>((r) => a.once('data', (d: Buffer) => r(d.toString())));
    b.write('still open');
    expect(await got).toBe('still open');
  });

  it('holds a writer back until the reader has room (backpressure)', async () => {
    const [a, b] = duplexPair();
    b.pause();
    const chunk = Buffer.alloc(64 * 1024, 1);
    let accepted = 0;
    while (a.write(chunk) && accepted < 100) accepted++;
    // The writer was told to wait long before 100 chunks (6.4 MiB) piled up.
    expect(accepted).toBeLessThan(10);
    const drained = new Promise((r) => a.once('drain', r));
    let read = 0;
    b.on('data', (d: Buffer) => (read += d.length));
    b.resume();
    await drained;
    expect(read).toBeGreaterThan(0);
  });

  it('closes the other end when one is destroyed', async () => {
    const [a, b] = duplexPair();
    const closed = new Promise((r) => b.once('close', r));
    a.destroy();
    await closed;
    expect(b.destroyed).toBe(true);
  });
});
