/**
 * The public port's own limits, in-process over loopback: handshake deadline, anonymous
 * connection caps per source and in total, and verified connections not counting against them.
 */
import { once } from 'node:events';
import net from 'node:net';
import tls from 'node:tls';
import { afterEach, describe, expect, it } from 'vitest';
import { ALPN, startListener, type Listener, type ListenerLimits } from '../../../src/proxy/listener.js';
import { nullLogger } from '../../../src/util/log.js';
import { proxyTls, testPki, userLeaf, waitFor } from '../../helpers/tunnel-fixture.js';

const cleanups: (() => Promise<void> | void)[] = [];
afterEach(async () => {
  for (const fn of cleanups.splice(0).reverse()) await fn();
});

async function listen(limits: Partial<ListenerLimits>): Promise<Listener> {
  const l = await startListener({
    listenAddr: '127.0.0.1:0',
    ...proxyTls(),
    // The handler keeps the connection open and silent, as a stalled client's would stay.
    handlers: { [ALPN.http]: () => {} },
    log: nullLogger,
    limits,
  });
  cleanups.push(() => l.close());
  return l;
}

/** rawConnect opens a TCP connection from localAddress and tracks whether it is still open. */
function rawConnect(l: Listener, localAddress = '127.0.0.1'): { socket: net.Socket; closed: () => boolean } {
  const socket = net.connect({ host: '127.0.0.1', port: l.address.port, localAddress });
  socket.on('error', () => {});
  let closed = false;
  socket.once('close', () => (closed = true));
  cleanups.push(() => void socket.destroy());
  return { socket, closed: () => closed };
}

describe('listener limits', () => {
  it('closes a connection that has not finished its handshake in time (Node only reports it)', async () => {
    const l = await listen({ handshakeTimeoutMs: 200 });
    const c = rawConnect(l);
    await once(c.socket, 'close');
    await waitFor(() => l.stats().open === 0, 'the server side to close');
    expect(l.stats().handshakeTimeouts).toBe(1);
  });

  it('resets new anonymous connections from an address that holds its share, and only from there', async () => {
    const l = await listen({ maxAnonymousPerSource: 3 });
    const mine = Array.from({ length: 5 }, () => rawConnect(l, '127.0.0.2'));
    await waitFor(() => mine.filter((c) => c.closed()).length === 2 && l.stats().anonymous === 3, 'two resets');
    const other = rawConnect(l, '127.0.0.3');
    await waitFor(() => l.stats().anonymous === 4, 'the other address to be admitted');
    expect(other.closed()).toBe(false);
    expect(l.stats().refusedByCap).toBe(2);
  });

  it('drops the oldest anonymous connection to admit a new one when the total cap is reached', async () => {
    const l = await listen({ maxAnonymousConnections: 3 });
    const first = rawConnect(l, '127.0.0.4');
    await waitFor(() => l.stats().anonymous === 1, 'the first connection');
    const rest = Array.from({ length: 3 }, (_, i) => rawConnect(l, `127.0.0.${5 + i}`));
    await waitFor(() => first.closed(), 'the oldest to be dropped');
    await waitFor(() => l.stats().anonymous === 3, 'three anonymous connections');
    expect(rest.every((c) => !c.closed())).toBe(true);
    expect(l.stats().evicted).toBe(1);
  });

  it('stops counting a connection as anonymous once its client certificate verifies', async () => {
    const l = await listen({ maxAnonymousPerSource: 1 });
    const leaf = userLeaf({ database: 'cache' });
    const verified = tls.connect({ host: '127.0.0.1', port: l.address.port, ca: testPki().hostCA.certPem, cert: leaf.certPem, key: leaf.keyPem, ALPNProtocols: [ALPN.http] });
    cleanups.push(() => void verified.destroy());
    await once(verified, 'secureConnect');
    await waitFor(() => l.stats().open === 1 && l.stats().anonymous === 0, 'the verified connection to be released');
    // The address's one anonymous slot is still free.
    const anon = tls.connect({ host: '127.0.0.1', port: l.address.port, ca: testPki().hostCA.certPem, ALPNProtocols: [ALPN.http] });
    cleanups.push(() => void anon.destroy());
    await once(anon, 'secureConnect');
    await waitFor(() => l.stats().anonymous === 1, 'the anonymous connection to be counted');
    expect(verified.destroyed).toBe(false);
  });
});
