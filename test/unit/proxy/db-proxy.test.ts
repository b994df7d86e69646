/**
 * The proxy's database front door end to end, in-process over loopback TLS: a user TLS
 * connection (ALPN xport-redis) → the db proxy handler → a tunnel stream → the agent's stream
 * handler, which re-verifies the user's certificate from the header. Also every refusal the
 * user can get before the splice.
 */
import { once } from 'node:events';
import { randomBytes } from 'node:crypto';
import type { Duplex } from 'node:stream';
import net from 'node:net';
import tls from 'node:tls';
import { afterEach, describe, expect, it } from 'vitest';
import { accessDenied, messageOf } from '../../../src/errors.js';
import { verifyCertificate } from '../../../src/pki/index.js';
import type { VerifiedIdentity } from '../../../src/pki/index.js';
import { createDbMuxHandler, createDbProxyHandler, parseReportedClientAddr } from '../../../src/proxy/db-proxy.js';
import type { DatabaseStreamHeader } from '../../../src/proxy/db-proxy.js';
import { ALPN, startListener } from '../../../src/proxy/listener.js';
import { Mux } from '../../../src/mux/index.js';
import { TunnelAgent } from '../../../src/agent/tunnel.js';
import { TunnelServer } from '../../../src/proxy/tunnel-server.js';
import { nullLogger, type Logger } from '../../../src/util/log.js';
import { CLUSTER, agentTls, captureLog, hostLeaf, issueLeaf, memoryPair, proxyTls, readAll, startProxy, testPki, userLeaf, waitFor } from '../../helpers/tunnel-fixture.js';
import type { Leaf, TestProxy } from '../../helpers/tunnel-fixture.js';

const cleanups: (() => Promise<void> | void)[] = [];
afterEach(async () => {
  for (const fn of cleanups.splice(0)) await fn();
});

type Session = { identity: VerifiedIdentity; header: DatabaseStreamHeader; stream: Duplex };
type Serve = (stream: Duplex, session: Session) => Promise<void> | void;

/**
 * setup runs a proxy (tunnel + db handlers) and one agent serving "cache" whose stream handler
 * verifies the user certificate against the user CA, as a real agent must, then calls serve.
 */
async function setup(serve: Serve = (stream) => void stream.pipe(stream)): Promise<{ proxy: TestProxy; sessions: Session[] }> {
  const pki = testPki();
  const tunnels = new TunnelServer({ cluster: CLUSTER, log: nullLogger });
  const handler = createDbProxyHandler({
    tunnels,
    cluster: CLUSTER,
    log: nullLogger,
    userCaPem: pki.userCA.certPem,
    onError: (socket, err) => socket.write(`-ERR xport: ${messageOf(err)}\r\n`),
  });
  const proxy = await startProxy(tunnels, { dbHandler: handler });
  const sessions: Session[] = [];
  const agent = new TunnelAgent({
    proxyAddr: proxy.addr,
    tls: agentTls('agent-1'),
    hostId: 'agent-1',
    version: '0.1.0',
    databases: () => [{ name: 'cache', protocol: 'redis', uri: 'rediss://cache:6379', labels: {}, type: 'self-hosted', mode: 'standalone' }],
    onStream: async (stream, raw) => {
      const header = raw as DatabaseStreamHeader;
      const identity = verifyCertificate(Buffer.from(header.cert, 'base64'), pki.userCA, { now: new Date(), usages: ['user'], cluster: CLUSTER });
      const session = { identity, header, stream };
      sessions.push(session);
      await serve(stream, session);
    },
    log: nullLogger,
  });
  agent.start();
  cleanups.push(async () => {
    await agent.stop();
    await tunnels.close();
    await proxy.close();
  });
  await waitFor(() => tunnels.agents().length === 1, 'the agent to register');
  return { proxy, sessions };
}

/** dial connects to the proxy's database ALPN as a user with leaf (or no certificate). */
async function dial(proxy: TestProxy, leaf: Leaf | null): Promise<tls.TLSSocket> {
  const socket = tls.connect({
    host: '127.0.0.1',
    port: proxy.listener.address.port,
    ca: testPki().hostCA.certPem,
    ALPNProtocols: [ALPN.redis],
    ...(leaf ? { cert: leaf.certPem, key: leaf.keyPem } : {}),
  });
  cleanups.push(() => void socket.destroy());
  await once(socket, 'secureConnect');
  return socket;
}

/** refusal is what a user connection reads before the proxy hangs up. */
async function refusal(proxy: TestProxy, leaf: Leaf | null): Promise<string> {
  const socket = await dial(proxy, leaf);
  socket.write('*1\r\n$4\r\nPING\r\n');
  return (await readAll(socket)).toString();
}

describe('db proxy handler', () => {
  it('carries a user session to the agent, which re-verifies the certificate itself', async () => {
    const { proxy, sessions } = await setup();
    const socket = await dial(proxy, userLeaf({ database: 'cache', dbUser: 'alice' }));
    socket.write('*1\r\n$4\r\nPING\r\n');
    const [echoed] = (await once(socket, 'data')) as [Buffer];
    expect(echoed.toString()).toBe('*1\r\n$4\r\nPING\r\n');
    expect(sessions).toHaveLength(1);
    const { identity, header } = sessions[0]!;
    expect(identity).toMatchObject({ user: 'alice', usage: 'user', route: { database: 'cache', dbUser: 'alice' } });
    expect(header.database).toBe('cache');
    expect(header.clientAddr).toBe(`127.0.0.1:${socket.localPort}`);
  });

  it('moves 8 MiB each way intact, with backpressure', async () => {
    const { proxy } = await setup();
    const socket = await dial(proxy, userLeaf({ database: 'cache' }));
    const data = randomBytes(8 * 1024 * 1024);
    const back = readAll(socket);
    socket.end(data);
    expect((await back).equals(data)).toBe(true);
  });

  it('keeps the bytes a user sends before the agent has accepted the stream', async () => {
    const { proxy } = await setup(async (stream) => {
      await new Promise((r) => setTimeout(r, 50));
      stream.pipe(stream);
    });
    const socket = await dial(proxy, userLeaf({ database: 'cache' }));
    socket.write('early ');
    socket.end('and late');
    expect((await readAll(socket)).toString()).toBe('early and late');
  });

  it('ends the user connection when the agent ends the session', async () => {
    const { proxy } = await setup((stream) => void stream.end('+bye\r\n'));
    const socket = await dial(proxy, userLeaf({ database: 'cache' }));
    expect((await readAll(socket)).toString()).toBe('+bye\r\n');
  });

  it("closes the agent's stream when the user hangs up", async () => {
    const { proxy, sessions } = await setup();
    const socket = await dial(proxy, userLeaf({ database: 'cache' }));
    socket.write('x');
    await once(socket, 'data');
    const stream = sessions[0]!.stream;
    const closed = new Promise((r) => stream.once('close', r));
    socket.destroy();
    await closed;
    expect(stream.destroyed).toBe(true);
  });

  it("resets the agent's stream when the user's connection breaks", async () => {
    const { proxy, sessions } = await setup();
    const leaf = userLeaf({ database: 'cache' });
    const tcp = net.connect(proxy.listener.address.port, '127.0.0.1');
    const socket = tls.connect({ socket: tcp, ca: testPki().hostCA.certPem, ALPNProtocols: [ALPN.redis], cert: leaf.certPem, key: leaf.keyPem, host: '127.0.0.1' });
    socket.on('error', () => {});
    await once(socket, 'secureConnect');
    socket.write('x');
    await once(socket, 'data');
    const stream = sessions[0]!.stream;
    const closed = new Promise((r) => stream.once('close', r));
    tcp.resetAndDestroy(); // TCP RST: no orderly end
    await closed;
    expect(stream.errored?.message).toMatch(/stream reset by proxy/);
  });

  it('answers a certificate that is not routed to a database with an error', async () => {
    const { proxy, sessions } = await setup();
    expect(await refusal(proxy, userLeaf(null))).toBe('-ERR xport: certificate is not routed to a database; run xsh db login <name>\r\n');
    expect(sessions).toEqual([]);
  });

  it('answers when no agent serves the routed database', async () => {
    const { proxy } = await setup();
    expect(await refusal(proxy, userLeaf({ database: 'nope' }))).toBe('-ERR xport: database "nope" is not available: no agent is serving it\r\n');
  });

  it("passes the agent's refusal on to the user", async () => {
    const { proxy } = await setup(() => {
      throw accessDenied('role dev may not use database "cache" as user "root"');
    });
    expect(await refusal(proxy, userLeaf({ database: 'cache', dbUser: 'root' }))).toBe('-ERR xport: role dev may not use database "cache" as user "root"\r\n');
  });

  it('refuses a host certificate on the database port', async () => {
    const { proxy } = await setup();
    expect(await refusal(proxy, hostLeaf('agent-1'))).toBe('-ERR xport: certificate was not issued by a trusted CA\r\n');
  });

  it('refuses a user certificate of another cluster', async () => {
    const { proxy } = await setup();
    expect(await refusal(proxy, userLeaf({ database: 'cache' }, { cluster: 'elsewhere' }))).toBe(
      '-ERR xport: certificate belongs to cluster "elsewhere", not "example"\r\n',
    );
  });

  it('refuses an admin identity, which is not for database access', async () => {
    const { proxy } = await setup();
    expect(await refusal(proxy, userLeaf({ database: 'cache' }, { usage: 'admin' }))).toBe('-ERR xport: certificate is for admin use, not user\r\n');
  });

  it('asks a user without a client certificate to log in', async () => {
    const { proxy } = await setup();
    expect(await refusal(proxy, null)).toBe('-ERR xport: no client certificate was presented\r\n');
  });
});

describe('db proxy handler without a pinned user CA', () => {
  it('checks usage, cluster and route from the TLS-verified certificate alone', async () => {
    const tunnels = new TunnelServer({ cluster: CLUSTER, log: nullLogger });
    const handler = createDbProxyHandler({ tunnels, cluster: CLUSTER, log: nullLogger, onError: (s, err) => s.write(`-ERR xport: ${messageOf(err)}\r\n`) });
    const proxy = await startProxy(tunnels, { dbHandler: handler });
    cleanups.push(async () => {
      await tunnels.close();
      await proxy.close();
    });
    expect(await refusal(proxy, hostLeaf('agent-1'))).toBe('-ERR xport: certificate is for host use, not database access\r\n');
    expect(await refusal(proxy, userLeaf(null))).toBe('-ERR xport: certificate is not routed to a database; run xsh db login <name>\r\n');
    expect(await refusal(proxy, hostLeaf('agent-1', { ca: testPki().foreignHostCA }))).toMatch(/^-ERR xport: client certificate was not accepted: /);
  });
});

/** AuditSink collects the events a handler emits, as the auth service's audit log would get them. */
type Emitted = { type: string; [field: string]: unknown };

/** auditedProxy runs a listener with the redis and redis-mux handlers, both auditing into events. */
async function auditedProxy(opts: { idleTimeoutMs?: number; opened?: Record<string, unknown>[]; log?: Logger } = {}) {
  const pki = testPki();
  const events: Emitted[] = [];
  const [, agentEnd] = memoryPair();
  const handlerOpts = {
    // Tunnels stand-in: records each stream header and hands back one end of an in-memory pair.
    tunnels: {
      openDatabaseStream: async (_db: string, header: object) => {
        opts.opened?.push(header as Record<string, unknown>);
        const [a] = memoryPair();
        return a;
      },
    },
    cluster: CLUSTER,
    log: opts.log ?? nullLogger,
    userCaPem: pki.userCA.certPem,
    onError: (socket: Duplex, err: unknown) => socket.write(`-ERR xport: ${messageOf(err)}\r\n`),
    audit: (e: Emitted) => events.push(e),
    ...(opts.idleTimeoutMs !== undefined ? { idleTimeoutMs: opts.idleTimeoutMs } : {}),
  };
  const listener = await startListener({
    listenAddr: '127.0.0.1:0',
    ...proxyTls(),
    handlers: { [ALPN.redis]: createDbProxyHandler(handlerOpts), [ALPN.redisMux]: createDbMuxHandler(handlerOpts) },
    log: nullLogger,
  });
  cleanups.push(async () => {
    agentEnd.destroy();
    await listener.close();
  });
  return { port: listener.address.port, events };
}

async function refusedAt(port: number, leaf: Leaf | null, localAddress = '127.0.0.1'): Promise<string> {
  const socket = tls.connect({
    socket: net.connect({ host: '127.0.0.1', port, localAddress }),
    ca: testPki().hostCA.certPem,
    ALPNProtocols: [ALPN.redis],
    ...(leaf ? { cert: leaf.certPem, key: leaf.keyPem } : {}),
  });
  cleanups.push(() => void socket.destroy());
  await once(socket, 'secureConnect');
  return (await readAll(socket)).toString();
}

describe('db proxy audit of refused certificates', () => {
  it('audits a missing, expired, foreign, wrong-usage and unrouted certificate as db.connection.refused', async () => {
    const { port, events } = await auditedProxy();
    const expired = issueLeaf(
      testPki().userCA,
      { user: 'alice', roles: ['dev'], traits: { db_users: ['alice'], db_names: [] }, usage: 'user', cluster: CLUSTER, route: { database: 'cache' } },
      { extKeyUsage: ['clientAuth'], names: false, notBefore: new Date(Date.now() - 2 * 3_600_000), ttlMs: 3_600_000 },
    );
    await refusedAt(port, null);
    await refusedAt(port, expired);
    await refusedAt(port, hostLeaf('agent-1', { ca: testPki().foreignHostCA }));
    await refusedAt(port, hostLeaf('agent-1'));
    await refusedAt(port, userLeaf(null, { user: 'bob' }));
    await waitFor(() => events.length === 5, 'five refusal events');
    expect(events.map((e) => e.type)).toEqual(Array(5).fill('db.connection.refused'));
    expect(events.map((e) => e.error)).toEqual([
      'no client certificate was presented',
      'your certificate has expired',
      expect.stringMatching(/^client certificate was not accepted: /),
      'certificate was not issued by a trusted CA',
      'certificate is not routed to a database; run xsh db login <name>',
    ]);
    // Only a certificate the TLS layer verified names a user; a foreign one could claim anyone.
    expect(events.map((e) => e.user)).toEqual([undefined, undefined, undefined, 'agent-1', 'bob']);
    for (const e of events) {
      expect(e.success).toBe(false);
      expect(e['addr.remote']).toMatch(/^127\.0\.0\.1:\d+$/);
    }
  });

  it('writes at most 20 refusal events and log lines a minute per source address, and still audits other addresses', async () => {
    const captured = captureLog();
    const { port, events } = await auditedProxy({ log: captured.log });
    for (let i = 0; i < 30; i++) await refusedAt(port, null, '127.0.0.2');
    await refusedAt(port, null, '127.0.0.3');
    await waitFor(() => events.some((e) => String(e['addr.remote']).startsWith('127.0.0.3:')), 'the other address to be audited');
    expect(events.filter((e) => String(e['addr.remote']).startsWith('127.0.0.2:'))).toHaveLength(20);
    expect(captured.lines.filter((l) => /database connection refused client_addr=127\.0\.0\.2:/.test(l))).toHaveLength(20);
  });

  it('audits a refused tunnel connection (xport-redis-mux) and closes it when it stays idle', async () => {
    const { port, events } = await auditedProxy({ idleTimeoutMs: 300 });
    const socket = tls.connect({ host: '127.0.0.1', port, ca: testPki().hostCA.certPem, ALPNProtocols: [ALPN.redisMux] });
    cleanups.push(() => void socket.destroy());
    await once(socket, 'secureConnect');
    socket.resume();
    await once(socket, 'close');
    expect(events).toEqual([expect.objectContaining({ type: 'db.connection.refused', alpn: 'xport-redis-mux', error: 'no client certificate was presented' })]);
  });
});

describe('db proxy tunnel stream header', () => {
  async function muxClient(port: number): Promise<Mux> {
    const leaf = userLeaf({ database: 'cache' });
    const socket = tls.connect({ host: '127.0.0.1', port, ca: testPki().hostCA.certPem, ALPNProtocols: [ALPN.redisMux], cert: leaf.certPem, key: leaf.keyPem });
    cleanups.push(() => void socket.destroy());
    await once(socket, 'secureConnect');
    return new Mux(socket, { localIds: 'odd', peerName: 'proxy' });
  }

  it('accepts a reported client address that is ip:port (or "local") and passes the address the proxy saw to the agent', async () => {
    const opened: Record<string, unknown>[] = [];
    const { port } = await auditedProxy({ opened });
    const mux = await muxClient(port);
    await mux.openStream({ clientAddr: '127.0.0.1:50123' });
    await mux.openStream({ clientAddr: '[::1]:50124' });
    await mux.openStream({ clientAddr: 'local' });
    // addr.remote is where the tunnel connected from as the proxy saw it; xsh's own loopback
    // address says nothing of who connected.
    expect(opened.map((h) => h.clientAddr)).toEqual([
      expect.stringMatching(/^127\.0\.0\.1:\d+$/),
      expect.stringMatching(/^127\.0\.0\.1:\d+$/),
      expect.stringMatching(/^127\.0\.0\.1:\d+$/),
    ]);
  });

  it('refuses a stream whose reported client address is not ip:port, quoting it escaped and cut short', async () => {
    const opened: Record<string, unknown>[] = [];
    const { port } = await auditedProxy({ opened });
    const mux = await muxClient(port);
    const bad = ['1.2.3.4:5 user=admin', '\x1b[31mred\x1b[0m:1', 'x'.repeat(10_000), '999.1.1.1:80', '127.0.0.1:0', '127.0.0.1:65536', '[1.2.3.4]:80', 42];
    for (const clientAddr of bad) {
      const err = await mux.openStream({ clientAddr }).then(
        () => undefined,
        (e: unknown) => e as Error,
      );
      expect(err?.message).toMatch(/^the stream header's clientAddr must be ip:port, got /);
      expect(err!.message.length).toBeLessThan(200);
      expect(err!.message).not.toContain('\x1b');
    }
    expect(opened).toEqual([]);
  });

  it('validates addresses exactly: IPv4 and bracketed IPv6 with a port from 1 to 65535', () => {
    expect(parseReportedClientAddr('10.0.0.1:1')).toBe('10.0.0.1:1');
    expect(parseReportedClientAddr('[2001:db8::1]:65535')).toBe('[2001:db8::1]:65535');
    expect(parseReportedClientAddr(undefined)).toBe('local');
    for (const v of ['2001:db8::1:80', '10.0.0.1', '10.0.0.1:', 'host:80', '[10.0.0.1]:80', ' 10.0.0.1:80', '10.0.0.1:80\n']) {
      expect(() => parseReportedClientAddr(v)).toThrow(/must be ip:port/);
    }
  });
});
