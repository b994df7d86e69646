/**
 * The tunnel's stream multiplexer over real loopback TLS (and, where a test needs exact chunk
 * boundaries, an in-memory Duplex pair): opening and refusing streams, half-close, integrity
 * under 1,000 concurrent streams, per-stream flow control, frame coalescing and protocol errors.
 */
import { once } from 'node:events';
import { randomBytes } from 'node:crypto';
import type { Duplex } from 'node:stream';
import { afterEach, describe, expect, it } from 'vitest';
import { accessDenied, isXError } from '../../../src/errors.js';
import { FrameType, Mux, MuxStream } from '../../../src/mux/index.js';
import { memoryPair, readAll, tlsPair, waitFor } from '../../helpers/tunnel-fixture.js';
import type { TlsPair } from '../../helpers/tunnel-fixture.js';

const cleanups: (() => void)[] = [];
afterEach(() => {
  for (const fn of cleanups.splice(0)) fn();
});

/** muxPair wraps both ends of a loopback TLS connection; the proxy side opens (odd ids). */
async function muxPair(opts: { streamWindow?: number; maxBufferedBytes?: number } = {}): Promise<{ proxy: Mux; agent: Mux; pair: TlsPair }> {
  const pair = await tlsPair();
  const proxy = new Mux(pair.server, { localIds: 'odd', peerName: 'agent', ...opts });
  const agent = new Mux(pair.client, { localIds: 'even', peerName: 'proxy', ...opts });
  cleanups.push(() => {
    proxy.close();
    agent.close();
    pair.close();
  });
  return { proxy, agent, pair };
}

function frame(type: number, id: number, payload: Buffer = Buffer.alloc(0)): Buffer {
  const h = Buffer.alloc(9);
  h[0] = type;
  h.writeUInt32BE(id, 1);
  h.writeUInt32BE(payload.length, 5);
  return Buffer.concat([h, payload]);
}

function echo(stream: Duplex): void {
  stream.pipe(stream);
}

describe('Mux', () => {
  it('opens a stream with a header and carries data both ways with half-close', async () => {
    const { proxy, agent } = await muxPair();
    const seen: unknown[] = [];
    // Accepting is returning from the handler; the session itself runs on afterwards.
    agent.onStream((stream, header) => {
      seen.push(header);
      void readAll(stream).then((got) => stream.end(Buffer.concat([Buffer.from('got:'), got])));
    });
    const stream = await proxy.openStream({ database: 'cache', n: 1 });
    expect(stream).toBeInstanceOf(MuxStream);
    expect(stream.id % 2).toBe(1);
    stream.write('hello ');
    stream.end('world');
    // The agent only answers after our END arrived: half-close works one way, then the other.
    expect((await readAll(stream)).toString()).toBe('got:hello world');
    expect(seen).toEqual([{ database: 'cache', n: 1 }]);
    await waitFor(() => proxy.stats().streams === 0 && agent.stats().streams === 0, 'both sides to forget the stream');
  });

  it('lets the accepting side write before the handler returns, delivering after OPEN_OK', async () => {
    const { proxy, agent } = await muxPair();
    agent.onStream(async (stream) => {
      stream.write('greeting\n');
      await new Promise((r) => setTimeout(r, 20));
      stream.end();
    });
    const stream = await proxy.openStream({});
    stream.end();
    expect((await readAll(stream)).toString()).toBe('greeting\n');
  });

  it('refuses a stream with the handler error, keeping its kind and hint', async () => {
    const { proxy, agent } = await muxPair();
    agent.onStream(() => {
      throw accessDenied('role dev may not use database "cache"', { hint: 'Ask an admin.' });
    });
    const err = await proxy.openStream({ database: 'cache' }).catch((e: unknown) => e);
    expect(isXError(err)).toBe(true);
    expect(err).toMatchObject({ kind: 'access-denied', message: 'role dev may not use database "cache"', hint: 'Ask an admin.' });
    expect(proxy.stats().streams).toBe(0);
    await waitFor(() => agent.stats().streams === 0, 'the refused stream to be dropped');
  });

  it('refuses a stream when the handler rejects asynchronously', async () => {
    const { proxy, agent } = await muxPair();
    agent.onStream(async () => {
      await new Promise((r) => setTimeout(r, 5));
      throw new Error('redis is down');
    });
    await expect(proxy.openStream({})).rejects.toThrow('redis is down');
  });

  it('refuses every open when no handler is set', async () => {
    const { proxy } = await muxPair();
    await expect(proxy.openStream({})).rejects.toThrow('this side accepts no streams');
  });

  it('times out an open the peer never answers and resets the half-opened stream', async () => {
    const { proxy, agent } = await muxPair();
    let accepted: Duplex | undefined;
    agent.onStream((stream) => {
      accepted = stream;
      return new Promise<void>(() => {});
    });
    await expect(proxy.openStream({}, { timeoutMs: 50 })).rejects.toThrow(/did not answer a stream open within 50 ms/);
    await waitFor(() => accepted?.destroyed === true, 'the agent to drop the stream after the RESET');
    expect(agent.stats().streams).toBe(0);
  });

  it('opens streams from either side with distinct id parities', async () => {
    const { proxy, agent } = await muxPair();
    proxy.onStream((s) => echo(s));
    agent.onStream((s) => echo(s));
    const [a, b] = await Promise.all([proxy.openStream({}), agent.openStream({})]);
    expect(a.id % 2).toBe(1);
    expect(b.id % 2).toBe(0);
    a.end('from proxy');
    b.end('from agent');
    expect((await readAll(a)).toString()).toBe('from proxy');
    expect((await readAll(b)).toString()).toBe('from agent');
  });

  it('resets the peer stream when one side destroys its stream', async () => {
    const { proxy, agent } = await muxPair();
    const peer = new Promise<Duplex>((resolve) => agent.onStream((s) => resolve(s)));
    const stream = await proxy.openStream({});
    const agentSide = await peer;
    stream.destroy(new Error('user hung up'));
    await new Promise((resolve) => agentSide.once('close', resolve));
    expect(agentSide.errored?.message).toMatch(/stream reset by proxy: user hung up/);
  });

  it('carries 1,000 concurrent streams of random data (up to 1 MiB each) intact', async () => {
    const { proxy, agent } = await muxPair();
    agent.onStream((s) => echo(s));
    // Mostly small payloads, a few at the full 1 MiB, so the test stays quick but covers both.
    const sizes = Array.from({ length: 1000 }, (_, i) => (i % 100 === 0 ? 1 << 20 : Math.floor(Math.random() ** 6 * (1 << 20))));
    const results = await Promise.all(
      sizes.map(async (size) => {
        const data = randomBytes(size);
        const stream = await proxy.openStream({ size });
        // Read while writing: an echo that cannot deliver stops taking input, as over TCP.
        const back = readAll(stream);
        // Write in uneven pieces to exercise splitting and reassembly.
        for (let off = 0; off < size; ) {
          const n = Math.min(size - off, 1 + Math.floor(Math.random() * 200_000));
          if (!stream.write(data.subarray(off, off + n))) await once(stream, 'drain');
          off += n;
        }
        stream.end();
        return (await back).equals(data);
      }),
    );
    expect(results.filter((ok) => !ok)).toHaveLength(0);
    expect(proxy.stats().streamsOpened).toBe(1000);
    expect(agent.stats().streamsAccepted).toBe(1000);
  }, 60_000);

  it('stops the sender at the window of a stream nobody reads while another stream keeps flowing', async () => {
    const window = 64 * 1024;
    const { proxy, agent } = await muxPair({ streamWindow: window });
    let slowSide: Duplex | undefined;
    agent.onStream((s, header) => {
      if ((header as { name: string }).name === 'slow') slowSide = s; // never read
      else echo(s);
    });
    const slow = await proxy.openStream({ name: 'slow' });
    const total = 4 * 1024 * 1024;
    const payload = randomBytes(total);
    expect(slow.write(payload)).toBe(false);

    // A second stream moves 2 MiB there and back while the first is stuck.
    const fast = await proxy.openStream({ name: 'fast' });
    const data = randomBytes(2 * 1024 * 1024);
    fast.end(data);
    expect((await readAll(fast)).equals(data)).toBe(true);

    // The receiver holds exactly one window for the stuck stream, the sender keeps the rest.
    expect(slowSide!.readableLength).toBe(window);
    expect(agent.stats().bufferedIn).toBe(window);
    expect(slow.writableLength).toBe(total);
    expect(proxy.stats().bufferedOut).toBeLessThan(window);

    // Once the consumer reads, credit flows back and everything arrives intact.
    slow.end();
    expect((await readAll(slowSide!)).equals(payload)).toBe(true);
  }, 30_000);

  it('pauses writers while the connection is backed up, bounding buffered output', async () => {
    const [a, b] = memoryPair();
    // Make `a` report backpressure the way a congested socket does.
    const congested = a as Duplex & { writableNeedDrain: boolean };
    let needDrain = true;
    Object.defineProperty(congested, 'writableNeedDrain', { get: () => needDrain });
    const proxy = new Mux(a, { localIds: 'odd', maxBufferedBytes: 64 * 1024 });
    const agent = new Mux(b, { localIds: 'even' });
    cleanups.push(() => {
      proxy.close();
      agent.close();
    });
    agent.onStream((s) => void s.resume());
    const stream = await Promise.race([proxy.openStream({}), new Promise<never>((_, rej) => setTimeout(() => rej(new Error('open')), 1000))]);
    stream.write(randomBytes(200 * 1024));
    await new Promise((r) => setImmediate(r));
    // Congested: nothing beyond the frames already queued may be framed.
    expect(proxy.stats().bufferedOut).toBe(0);
    expect(stream.writableLength).toBe(200 * 1024);
    needDrain = false;
    a.emit('drain');
    await waitFor(() => stream.writableLength === 0, 'the writer to resume after drain');
  });

  it('coalesces frames written in one tick into one socket write', async () => {
    const [a, b] = memoryPair();
    const proxy = new Mux(a, { localIds: 'odd' });
    const agent = new Mux(b, { localIds: 'even' });
    cleanups.push(() => {
      proxy.close();
      agent.close();
    });
    const received: Buffer[] = [];
    agent.onStream((s) => void s.on('data', (c: Buffer) => received.push(c)));
    const stream = await proxy.openStream({});
    await new Promise((r) => setImmediate(r));
    const writesBefore = a.writes;
    const framesBefore = proxy.stats().framesOut;
    for (let i = 0; i < 100; i++) stream.write(`*1\r\n$4\r\nPING\r\n`);
    await waitFor(() => Buffer.concat(received).length === 100 * 14, 'all 100 messages to arrive');
    expect(proxy.stats().framesOut - framesBefore).toBe(100);
    expect(a.writes - writesBefore).toBe(1);
  });

  it('parses frames split at every byte boundary', async () => {
    const [raw, end] = memoryPair();
    const mux = new Mux(end, { localIds: 'even' });
    cleanups.push(() => mux.close());
    const data: Buffer[] = [];
    const controls: unknown[] = [];
    mux.onControl((m) => controls.push(m));
    mux.onStream((s) => void s.on('data', (c: Buffer) => data.push(c)));
    const bytes = Buffer.concat([
      frame(FrameType.CONTROL, 0, Buffer.from('{"type":"hello"}')),
      frame(FrameType.OPEN, 1, Buffer.from('{}')),
      frame(FrameType.WINDOW, 1, Buffer.from([0, 1, 0, 0])),
    ]);
    for (const byte of bytes) raw.write(Buffer.from([byte]));
    await waitFor(() => mux.stats().streams === 1, 'the stream to open');
    // The acceptor granted its window right after OPEN_OK, so DATA within it is accepted.
    const body = frame(FrameType.DATA, 1, Buffer.from('split'));
    for (const byte of body) raw.write(Buffer.from([byte]));
    raw.write(Buffer.concat([frame(FrameType.DATA, 1, Buffer.from('-and-')), frame(FrameType.DATA, 1, Buffer.from('whole'))]));
    await waitFor(() => Buffer.concat(data).toString() === 'split-and-whole', 'the data');
    expect(controls).toEqual([{ type: 'hello' }]);
    expect(mux.closed).toBe(false);
  });

  it.each([
    ['an unknown frame type', frame(0x7f, 1), /unknown frame type 127/],
    ['a DATA frame over 64 KiB', Buffer.concat([Buffer.from([FrameType.DATA, 0, 0, 0, 1]), Buffer.from([0, 1, 0, 1])]), /65537-byte payload/],
    ['DATA on a stream never opened', frame(FrameType.DATA, 7, Buffer.from('x')), /DATA for stream 7, which was never opened/],
    ['a stream frame on stream 0', frame(FrameType.END, 0), /stream frame of type 6 on stream 0/],
    ['a CONTROL frame that is not JSON', frame(FrameType.CONTROL, 0, Buffer.from('{nope')), /CONTROL frame is not JSON/],
    ['an OPEN with our own id parity', frame(FrameType.OPEN, 2, Buffer.from('{}')), /with our id parity/],
    // The rest of the violations listed in the wire notes (src/mux/frame.ts).
    ['a WINDOW frame whose payload is not 4 bytes', frame(FrameType.WINDOW, 1, Buffer.alloc(8)), /WINDOW frame with a 8-byte payload/],
    ['a PING whose payload is not 8 bytes', frame(FrameType.PING, 0, Buffer.alloc(4)), /PING\/PONG frame with a 4-byte payload/],
    ['an OPEN_OK that carries a payload', frame(FrameType.OPEN_OK, 1, Buffer.from('x')), /frame of type 2 with a 1-byte payload \(limit 0\)/],
    ['a RESET reason over 16 KiB', frame(FrameType.RESET, 1, Buffer.alloc(16 * 1024 + 1)), /16385-byte payload \(limit 16384\)/],
    ['a connection frame on a stream id', frame(FrameType.CONTROL, 5, Buffer.from('{}')), /connection frame of type 8 on stream 5/],
    ['an OPEN header that is not JSON', frame(FrameType.OPEN, 1, Buffer.from('{nope')), /OPEN header of stream 1 is not JSON/],
    ['a CONTROL message that is not a JSON object', frame(FrameType.CONTROL, 0, Buffer.from('[1]')), /CONTROL message is not a JSON object/],
    ['an OPEN that reuses a stream id', Buffer.concat([frame(FrameType.OPEN, 3, Buffer.from('{}')), frame(FrameType.OPEN, 3, Buffer.from('{}'))]), /reused stream id 3/],
    ['DATA after END', Buffer.concat([frame(FrameType.OPEN, 1, Buffer.from('{}')), frame(FrameType.END, 1), frame(FrameType.DATA, 1, Buffer.from('x'))]), /after END/],
  ])('closes the mux on %s', async (_what, bytes, message) => {
    const [raw, end] = memoryPair();
    const mux = new Mux(end, { localIds: 'even' });
    mux.onStream(() => {});
    const closed = once(mux, 'close') as Promise<[Error]>;
    raw.write(bytes);
    const [err] = await closed;
    expect(err.message).toMatch(/tunnel protocol error/);
    expect(err.message).toMatch(message);
    expect(mux.closed).toBe(true);
    expect(end.destroyed).toBe(true);
  });

  it('closes the mux when the peer sends more than the window it was granted', async () => {
    const [raw, end] = memoryPair();
    const mux = new Mux(end, { localIds: 'even', streamWindow: 4 });
    mux.onStream(() => {});
    const closed = once(mux, 'close') as Promise<[Error]>;
    raw.write(frame(FrameType.OPEN, 1, Buffer.from('{}')));
    raw.write(frame(FrameType.DATA, 1, Buffer.from('12345')));
    const [err] = await closed;
    expect(err.message).toMatch(/sent more than its window/);
  });

  it('fails open streams and pending opens when the connection drops', async () => {
    const { proxy, agent, pair } = await muxPair();
    const peer = new Promise<Duplex>((resolve) => agent.onStream((s) => resolve(s)));
    const stream = await proxy.openStream({});
    await peer;
    const pending = proxy.openStream({ late: true });
    agent.onStream(() => new Promise<void>(() => {}));
    const streamClosed = new Promise((resolve) => stream.once('close', resolve));
    pair.client.destroy();
    await expect(pending).rejects.toThrow(/agent closed the tunnel|tunnel to agent/);
    await streamClosed;
    expect(stream.errored?.message).toMatch(/agent closed the tunnel|tunnel to agent/);
    expect(proxy.closed).toBe(true);
  });

  it('answers PING and reports the round-trip time', async () => {
    const { proxy } = await muxPair();
    proxy.ping();
    await waitFor(() => proxy.stats().rttMs !== undefined, 'the PONG');
    expect(proxy.stats().rttMs).toBeGreaterThanOrEqual(0);
  });

  it('keeps an idle connection alive with PINGs and closes a silent one', async () => {
    // `kept` has a live peer that answers PINGs; `lonely` has a peer that never says anything.
    const pair = await tlsPair();
    const kept = new Mux(pair.server, { keepAliveMs: 20, idleTimeoutMs: 80 });
    const responder = new Mux(pair.client, { localIds: 'even' });
    const [silent, end] = memoryPair();
    const lonely = new Mux(end, { keepAliveMs: 20, idleTimeoutMs: 80 });
    cleanups.push(() => {
      kept.close();
      responder.close();
      lonely.close();
      silent.destroy();
      pair.close();
    });
    const [err] = (await once(lonely, 'close')) as [Error];
    expect(err.message).toMatch(/stopped answering/);
    await new Promise((r) => setTimeout(r, 100));
    expect(kept.closed).toBe(false);
    expect(kept.stats().rttMs).toBeDefined();
  });
});
